//! `spaces-server`: the Hub-compatible control plane.
//!
//! ```text
//! spaces-server serve --data DIR [--listen ADDR] [--docker] [--catalog FILE] [--domain D]
//!                      [--threads N] [--no-pin]
//! spaces-server users add --data DIR NAME [--org ORG]...
//! spaces-server tokens create --data DIR NAME [--read-only]
//! spaces-server seed --data DIR --owner NAME --count N     # benchmark aid
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use spaces_core::{Sdk, SpaceId, Visibility};
use spaces_server::{CoreListeners, Db, Error, Limits, Role, ServerBuilder};

/// mimalloc: glibc's malloc and free took about 13% of the front door's CPU per proxied request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A Hub-compatible control plane for Spaces: point `HF_ENDPOINT` (or `HfApi(endpoint=...)`)
/// at it.
#[derive(Parser, Debug)]
#[command(name = "spaces-server", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serves the API; prints `listening on http://ADDR` once it accepts requests.
    Serve(Serve),
    /// Manages users.
    Users {
        #[command(subcommand)]
        command: Users,
    },
    /// Manages tokens.
    Tokens {
        #[command(subcommand)]
        command: Tokens,
    },
    /// Benchmark aid: registers N Spaces (no files) in bulk, named `<owner>/<prefix>-<n>`. Run it
    /// while no server uses the data folder.
    Seed(Seed),
}

#[derive(Args, Debug)]
struct Serve {
    /// The data folder (created if needed).
    #[arg(long)]
    data: PathBuf,
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Runs Docker Spaces on the Docker engine (`DOCKER_HOST` or the default socket).
    #[arg(long)]
    docker: bool,
    /// A catalog YAML file of flavors, storage tiers and prices (the built-in seed by default).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Requests per second per token (or per address, anonymous); 0 turns the limit off.
    #[arg(long, default_value_t = Limits::default().rate_per_second)]
    rate_limit: u32,
    /// The burst allowed above the rate.
    #[arg(long, default_value_t = Limits::default().rate_burst)]
    rate_burst: u32,
    /// The largest request body, in bytes.
    #[arg(long, default_value_t = Limits::default().body_bytes)]
    body_limit: usize,
    /// The largest file of a Space (an LFS object), in bytes: above it, 413 naming the limit.
    #[arg(long, default_value_t = Limits::default().max_file_bytes)]
    max_file_size: u64,
    /// Seconds an API request may take until its response starts (git, LFS and Xet transfers
    /// are bounded by their size limits instead).
    #[arg(long, default_value_t = 60)]
    request_timeout: u64,
    /// The domain Space hosts are under: the front door sends `<owner>-<name>.<domain>` to the
    /// Space's app (so `http://alice-demo.localhost:PORT/` works from a browser and curl), and
    /// the bare domain (or any other host) to the API, git and the dashboard. The runtime's
    /// `domains` field reports each Space's host under it.
    #[arg(long, alias = "spaces-domain", default_value = "localhost")]
    domain: String,
    /// Connection threads: each serves the connections handed to it (to the thread with the
    /// fewest), Space traffic included, on a runtime of its own, as nginx's workers do; API
    /// requests run on the main runtime. 0: one per core.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Leaves the connection threads unpinned (by default each is pinned to a CPU of its own
    /// when there are no more threads than CPUs, as nginx's `worker_cpu_affinity auto`).
    #[arg(long)]
    no_pin: bool,
}

#[derive(Subcommand, Debug)]
enum Users {
    /// Adds a user (and the organisations it joins, created as needed).
    Add {
        /// The data folder.
        #[arg(long)]
        data: PathBuf,
        /// The user's name.
        name: String,
        /// An organisation the user joins (repeatable).
        #[arg(long = "org")]
        orgs: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum Tokens {
    /// Creates a token for a user and prints only the token.
    Create {
        /// The data folder.
        #[arg(long)]
        data: PathBuf,
        /// The user's name.
        name: String,
        /// A `read` token instead of a `write` one.
        #[arg(long)]
        read_only: bool,
    },
}

#[derive(Args, Debug)]
struct Seed {
    /// The data folder.
    #[arg(long)]
    data: PathBuf,
    /// The owner of the Spaces.
    #[arg(long)]
    owner: String,
    /// How many Spaces to register.
    #[arg(long)]
    count: usize,
    /// The Spaces' name prefix.
    #[arg(long, default_value = "space")]
    prefix: String,
    /// Their SDK.
    #[arg(long, default_value = "static")]
    sdk: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spaces-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Users {
            command: Users::Add { data, name, orgs },
        } => {
            Db::open(&data)?.add_user(&name, &orgs)?;
            Ok(())
        }
        Command::Tokens {
            command:
                Tokens::Create {
                    data,
                    name,
                    read_only,
                },
        } => {
            let role = if read_only { Role::Read } else { Role::Write };
            let token = Db::open(&data)?.create_token(&name, role)?;
            println!("{token}");
            Ok(())
        }
        Command::Serve(args) => runtime()?.block_on(serve(args)),
        Command::Seed(args) => runtime()?.block_on(seed(args)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            context: "starting the async runtime".into(),
            source,
        })
}

async fn serve(args: Serve) -> Result<(), Error> {
    let mut builder = ServerBuilder::new(&args.data)
        .docker(args.docker)
        .limits(Limits {
            body_bytes: args.body_limit,
            request_timeout: Duration::from_secs(args.request_timeout.max(1)),
            rate_per_second: args.rate_limit,
            rate_burst: args.rate_burst,
            max_file_bytes: args.max_file_size,
        });
    if let Some(path) = &args.catalog {
        builder = builder.catalog(spaces_config::catalog_file::load_catalog(path)?);
    }
    builder = builder.spaces_domain(args.domain);
    let server = builder.build().await?;
    let listeners = CoreListeners::bind(args.listen, args.threads)?.pinned(!args.no_pin);
    println!("listening on http://{}", listeners.local_addr());
    let _ = std::io::stdout().flush();
    server.serve_per_core(listeners, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    tracing::info!("shutting down: no new requests; stopping every Space");
}

async fn seed(args: Seed) -> Result<(), Error> {
    let sdk: Sdk = args
        .sdk
        .parse()
        .map_err(|e: spaces_core::Error| Error::InvalidName {
            name: args.sdk.clone(),
            why: e.to_string(),
        })?;
    let mut server = ServerBuilder::new(&args.data).build().await?;
    let sup = server.supervisor().clone();
    let mut made = 0usize;
    let mut batch = Vec::new();
    for n in 0..args.count {
        let id =
            SpaceId::from_parts(&args.owner, &format!("{}-{n:07}", args.prefix)).map_err(|e| {
                Error::InvalidName {
                    name: args.owner.clone(),
                    why: e.to_string(),
                }
            })?;
        if sup.status(&id).is_ok() {
            continue;
        }
        batch.push((id, sdk, Visibility::Public));
        if batch.len() == 50_000 {
            made += sup.create_many(std::mem::take(&mut batch))?;
            eprintln!("seeded {made}");
        }
    }
    made += sup.create_many(batch)?;
    server.shutdown().await?;
    println!("seeded {made} Spaces ({} held)", sup.len());
    Ok(())
}
