//! The quickstart: real Spaces on the local runtime, through their whole life, then the month's
//! invoice. No container engine. The Python Space is a real Gradio app: its first build installs
//! `gradio` from PyPI (later ones reuse pip's cache, `SPACES_PIP_CACHE`, by default
//! `<temp>/spaces-pip-cache`).
//!
//! ```text
//! cargo run -p spaces-examples --bin quickstart
//! cargo run -p spaces-examples --bin quickstart -- --runtime docker
//! ```
//!
//! 1. A static Space (`examples/spaces/hello-static`): build, start, fetch its page over HTTP,
//!    48 idle hours on a manual clock → asleep, a visit wakes it (the cold start is timed).
//! 2. A Gradio Space (`examples/spaces/hello-python`, when `python3` is on PATH) — or with
//!    `--runtime docker` the Docker Space `examples/spaces/docker-hello` on the Docker engine:
//!    sleep and wake, pause, a visit that does not wake it, restart, persistent storage attached
//!    and upgraded, a refused downgrade, paid hardware (`cpu-upgrade`, local only: the local
//!    runtime runs no GPU flavor).
//! 3. The usage events the supervisor recorded into spaces-billing's SQLite ledger, priced for
//!    November 2026.
//!
//! 4. Everything it created is deleted (containers, images and volumes too), and the temporary
//!    folder removed; `--state DIR` keeps it all instead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use spaces_billing::ledger::Ledger;
use spaces_core::{
    Catalog, ManualClock, Revision, Sdk, SpaceId, Stage, StorageTier, Timestamp, Visibility,
};
use spaces_runtime::supervisor::{PushSettings, Supervisor, UsageChange, UsageEvent, UsageSink};
use spaces_runtime::{http_get, LocalRuntime, Runtime};

/// Run Spaces through their life on this machine and print the month's invoice.
#[derive(Parser, Debug)]
#[command(name = "quickstart", version)]
struct Args {
    /// Which runtime runs the Spaces.
    #[arg(long, value_enum, default_value_t = RuntimeKind::Local)]
    runtime: RuntimeKind,
    /// Keep the state and runtime folders here instead of a temporary folder (kept afterwards).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum RuntimeKind {
    /// Static Spaces in-process, Python Spaces as child processes.
    Local,
    /// Docker Spaces on the Docker engine (DOCKER_HOST or the default socket).
    #[cfg(feature = "docker")]
    Docker,
}

/// Prints each stage, hardware and storage change as the supervisor records it, and appends it
/// to the durable usage ledger of spaces-billing (both speak spaces-core's `UsageEvent`).
#[derive(Debug)]
struct PrintingSink {
    ledger: Mutex<Ledger>,
    stages: Mutex<HashMap<SpaceId, Stage>>,
}

impl UsageSink for PrintingSink {
    fn record(&self, e: &UsageEvent) -> Result<(), spaces_runtime::Error> {
        let when = e.at.strftime("%b %d %H:%M");
        match &e.change {
            UsageChange::Stage(to) => {
                let mut stages = self.stages.lock().unwrap_or_else(|p| p.into_inner());
                let from = stages.insert(e.space.clone(), to.clone());
                let from = from.map_or_else(|| "(new)".to_owned(), |s| s.to_string());
                println!("   [{when}] {:<20} {from:>20} -> {to}", e.space.as_str());
            }
            UsageChange::Hardware(f) => {
                println!("   [{when}] {:<20} runs on {f}", e.space.as_str())
            }
            UsageChange::Storage(Some(t)) => {
                println!("   [{when}] {:<20} storage {t}", e.space.as_str())
            }
            UsageChange::Storage(None) => {
                println!("   [{when}] {:<20} storage deleted", e.space.as_str())
            }
        }
        self.ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(e)
            .map(|_| ())
            .map_err(|err| spaces_runtime::Error::Io {
                context: "appending to the usage ledger".into(),
                source: std::io::Error::other(err.to_string()),
            })
    }
}

type Failure = Box<dyn std::error::Error>;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spaces")
}

async fn fetch(addr: std::net::SocketAddr) -> Result<String, Failure> {
    let r = http_get(addr, "/", Duration::from_secs(5)).await?;
    let body = String::from_utf8_lossy(&r.body).into_owned();
    let first = body
        .lines()
        .find(|l| l.contains("<h1>"))
        .or_else(|| body.lines().next())
        .unwrap_or("")
        .trim()
        .to_owned();
    Ok(format!("HTTP {} {first}", r.status))
}

/// The endpoints Gradio's API lists.
async fn gradio_api(addr: std::net::SocketAddr) -> Result<String, Failure> {
    let r = http_get(addr, "/gradio_api/info", Duration::from_secs(10)).await?;
    let info: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    let names: Vec<String> = info["named_endpoints"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    Ok(format!(
        "HTTP {} (endpoints: {})",
        r.status,
        names.join(", ")
    ))
}

fn section(title: &str) {
    println!("\n== {title}");
}

/// The Space of section 2 and how to run it on the chosen runtime.
struct AppSpace {
    id: SpaceId,
    sdk: Sdk,
    folder: PathBuf,
    paid_flavor: Option<&'static str>,
}

async fn run(args: Args) -> Result<(), Failure> {
    let temp = tempfile::tempdir()?;
    let root = args
        .state
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&root)?;
    // 2026-11-02T09:00:00Z: the manual clock decides idle time and usage timestamps.
    let clock = Arc::new(ManualClock::new(Timestamp::constant(1_793_610_000, 0)));
    #[cfg(feature = "docker")]
    let mut docker_handle: Option<Arc<spaces_runtime::docker::DockerRuntime>> = None;
    let runtime: Arc<dyn Runtime> = match args.runtime {
        RuntimeKind::Local => Arc::new(
            LocalRuntime::new(root.join("runtime"))?.with_pip_cache(
                std::env::var_os("SPACES_PIP_CACHE")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| std::env::temp_dir().join("spaces-pip-cache")),
            ),
        ),
        #[cfg(feature = "docker")]
        RuntimeKind::Docker => {
            let docker = Arc::new(
                spaces_runtime::docker::DockerRuntime::connect(Default::default())
                    .await
                    .map_err(|e| {
                        format!("{e}\nhint: is the Docker engine running? try `docker info`")
                    })?,
            );
            docker_handle = Some(Arc::clone(&docker));
            docker
        }
    };
    let ledger_path = root.join("usage-ledger.sqlite");
    let sink = Arc::new(PrintingSink {
        ledger: Mutex::new(Ledger::open(&ledger_path)?),
        stages: Mutex::new(HashMap::new()),
    });
    let catalog = Catalog::seed();
    let sup = Supervisor::open(
        &root.join("state"),
        Arc::clone(&runtime),
        clock.clone(),
        catalog.clone(),
        sink.clone(),
    )
    .await?;
    println!(
        "spaces quickstart: {} runtime, state in {}",
        runtime.name(),
        root.display()
    );
    let mut created = Vec::new();

    // 1. A static Space (served in-process by the local runtime).
    if args.runtime == RuntimeKind::Local {
        section("1. a static Space: build, run, fetch, sleep, wake");
        let site: SpaceId = "alice/hello-static".parse()?;
        sup.create(site.clone(), Sdk::Static, Visibility::Public)?;
        created.push(site.clone());
        let st = sup
            .push(
                &site,
                &examples_dir().join("hello-static"),
                Revision::new("5a7c11e")?,
                PushSettings::default(),
            )
            .await?;
        let addr = st.address.ok_or("the static Space is not serving")?;
        println!("   GET http://{addr}/ -> {}", fetch(addr).await?);
        sleep_and_wake(&sup, &clock, &site).await?;
        match sup.pause(&site).await {
            Err(e) => println!("   pause refused: {e}"),
            Ok(_) => println!("   (unexpected: a static Space was paused)"),
        }
    }

    // 2. A Space with a runtime: Python on the local runtime, Docker on the Docker engine.
    let app = match args.runtime {
        RuntimeKind::Local => AppSpace {
            id: "alice/hello-python".parse()?,
            sdk: Sdk::Gradio,
            folder: examples_dir().join("hello-python"),
            // Paid CPU hardware: the local runtime runs no GPU flavor (it answers `Unsupported`).
            paid_flavor: Some("cpu-upgrade"),
        },
        #[cfg(feature = "docker")]
        RuntimeKind::Docker => {
            // The Dockerfile is FROM scratch plus Debian's static busybox, copied in here.
            let folder = root.join("docker-hello");
            spaces_runtime::docker::fixtures::stage_space(
                examples_dir().join("docker-hello"),
                &folder,
            )
            .map_err(|e| {
                format!(
                    "{e}\nhint: install Debian's busybox-static (apt-get install busybox-static)"
                )
            })?;
            AppSpace {
                id: "alice/hello-docker".parse()?,
                sdk: Sdk::Docker,
                folder,
                // This machine's CPUs may be fewer than a paid flavor's vCPUs; the engine refuses
                // such a limit, so the Docker walk stays on cpu-basic.
                paid_flavor: None,
            }
        }
    };
    section(&format!(
        "2. a {} Space: sleep, wake, pause, restart, storage, hardware",
        app.sdk
    ));
    let has_python = LocalRuntime::new(root.join("probe"))
        .map(|r| r.python().is_some())
        .unwrap_or(false);
    if app.sdk == Sdk::Gradio && !has_python {
        println!("   skipped: no python3 on PATH (the local runtime runs Python Spaces with it)");
    } else {
        let id = &app.id;
        sup.create(id.clone(), app.sdk, Visibility::Public)?;
        created.push(id.clone());
        sup.set_secret(
            id,
            "HF_TOKEN",
            spaces_core::Secret::new("hf_quickstart_example"),
        )
        .await?;
        let st = sup
            .push(
                id,
                &app.folder,
                Revision::new("9d0e4f2")?,
                PushSettings::default(),
            )
            .await?;
        if let Some(err) = &st.build_error {
            let hint = if app.sdk == Sdk::Gradio {
                "\nhint: the Gradio Space installs gradio with pip: its first build needs PyPI (or \
                 a pip cache holding the wheels in SPACES_PIP_CACHE)"
            } else {
                ""
            };
            return Err(format!("the build failed:\n{err}{hint}").into());
        }
        println!(
            "   GET -> {}",
            fetch(st.address.ok_or("not serving")?).await?
        );
        if app.sdk == Sdk::Gradio {
            let addr = st.address.ok_or("not serving")?;
            println!("   GET /gradio_api/info -> {}", gradio_api(addr).await?);
        }
        sleep_and_wake(&sup, &clock, id).await?;
        clock.advance(Duration::from_secs(2 * 3600));
        sup.pause(id).await?;
        clock.advance(Duration::from_secs(3600));
        let v = sup.visit(id).await?;
        println!(
            "   a visit while paused: stage stays {}, nothing served: {}",
            v.stage,
            v.address.is_none()
        );
        clock.advance(Duration::from_secs(1800));
        let st = sup.restart(id, false).await?;
        println!("   owner restarted it: {}", st.stage);
        sup.request_storage(id, StorageTier::Small).await?;
        clock.advance(Duration::from_secs(600));
        let st = sup.request_storage(id, StorageTier::Medium).await?;
        println!(
            "   GET -> {}",
            fetch(st.address.ok_or("not serving")?).await?
        );
        match sup.request_storage(id, StorageTier::Small).await {
            Err(e) => println!("   downgrade refused: {e}"),
            Ok(_) => println!("   (unexpected: the downgrade was accepted)"),
        }
        if let Some(flavor) = app.paid_flavor {
            let st = sup.change_hardware(id, flavor).await?;
            println!(
                "   GET -> {}",
                fetch(st.address.ok_or("not serving")?).await?
            );
            println!("   ... 3 hours on {flavor}");
        } else {
            println!("   ... 3 more hours on cpu-basic");
        }
        clock.advance(Duration::from_secs(3 * 3600));
        sup.pause(id).await?;
    }

    // 3. The invoice.
    section("3. the month's invoice, from the usage ledger");
    let (events, invoice) = {
        let ledger = sink.ledger.lock().unwrap_or_else(|p| p.into_inner());
        (
            ledger.len()?,
            ledger.usage_log(&catalog)?.invoice("2026-11".parse()?)?,
        )
    };
    for line in &invoice.lines {
        println!(
            "   {:<20} {:<22} {:>6} min  ${:>8}",
            line.space.as_str(),
            line.item.to_string(),
            line.minutes,
            line.amount
        );
    }
    println!("   {:<55} ${:>8}", "total", invoice.total);
    println!("   (storage is billed until it is deleted: the medium tier is held to the end of the month)");
    println!(
        "   ({events} usage events in the ledger {})",
        ledger_path.display()
    );

    // 4. Clean up: delete the Spaces (instances, images, volumes) unless asked to keep them.
    if args.state.is_none() {
        section("4. clean up");
        for id in &created {
            sup.delete(id).await?;
            println!("   deleted {id} (instances, images and persistent storage)");
        }
        #[cfg(feature = "docker")]
        if let Some(docker) = &docker_handle {
            // Prepared standby containers and the Spaces' network go too.
            docker.shutdown().await?;
        }
        println!("\nDone. Removed the temporary state folder.");
    } else {
        sup.shutdown().await?;
        println!("\nDone. State kept in {}; price it with:", root.display());
        println!(
            "   spaces bill --ledger {} --period 2026-11",
            ledger_path.display()
        );
    }
    Ok(())
}

/// 48 idle hours on the manual clock, the idle timer puts the Space to sleep, a visit wakes it.
async fn sleep_and_wake(
    sup: &Supervisor,
    clock: &ManualClock,
    id: &SpaceId,
) -> Result<(), Failure> {
    println!("   ... 48 hours without a visit (manual clock)");
    clock.advance(Duration::from_secs(48 * 3600));
    sup.tick().await?;
    let visit = sup.visit(id).await?;
    let cold = visit.cold_start.ok_or("the visit did not wake the Space")?;
    let addr = visit.address.ok_or("the woken Space is not serving")?;
    println!(
        "   a visitor woke it: cold start {}.{:03} ms, GET -> {}",
        cold.as_micros() / 1000,
        cold.as_micros() % 1000,
        fetch(addr).await?
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("quickstart: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}
