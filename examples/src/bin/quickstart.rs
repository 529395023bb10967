//! The quickstart: real Spaces on the local runtime, through their whole life, then the month's
//! invoice. No network, no container engine.
//!
//! ```text
//! cargo run -p spaces-examples --bin quickstart
//! ```
//!
//! 1. A static Space (`examples/spaces/hello-static`): build, start, fetch its page over HTTP,
//!    48 idle hours on a manual clock → asleep, a visit wakes it (the cold start is timed).
//! 2. A Python Space (`examples/spaces/hello-python`, when `python3` is on PATH): pause, a visit
//!    that does not wake it, restart, persistent storage attached and upgraded, a refused
//!    downgrade, paid hardware.
//! 3. The usage events the supervisor recorded into spaces-billing's SQLite ledger, priced for
//!    November 2026.
//!
//! Everything it creates lives in a temporary folder that is removed at the end.

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
}

/// Prints each stage, hardware and storage change as the supervisor records it, and appends it
/// to the durable usage ledger of spaces-billing (the log format is the interface between them).
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
        let event = spaces_billing::UsageEvent::parse_line(&e.to_json_line()).map_err(|p| {
            spaces_runtime::Error::Io {
                context: "converting a usage event for the ledger".into(),
                source: std::io::Error::other(p.to_string()),
            }
        })?;
        self.ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(&event)
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

fn section(title: &str) {
    println!("\n== {title}");
}

async fn run(args: Args) -> Result<(), Failure> {
    let temp = tempfile::tempdir()?;
    let root = args
        .state
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    // 2026-11-02T09:00:00Z: the manual clock decides idle time and usage timestamps.
    let clock = Arc::new(ManualClock::new(Timestamp::constant(1_793_610_000, 0)));
    let runtime: Arc<dyn Runtime> = match args.runtime {
        RuntimeKind::Local => Arc::new(LocalRuntime::new(root.join("runtime"))?),
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

    // 1. A static Space.
    section("1. a static Space: build, run, fetch, sleep, wake");
    let site: SpaceId = "alice/hello-static".parse()?;
    sup.create(site.clone(), Sdk::Static, Visibility::Public)?;
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
    println!("   ... 48 hours without a visit (manual clock)");
    clock.advance(Duration::from_secs(48 * 3600));
    sup.tick().await?;
    let visit = sup.visit(&site).await?;
    let cold = visit.cold_start.ok_or("the visit did not wake the Space")?;
    let addr = visit.address.ok_or("the woken Space is not serving")?;
    println!(
        "   a visitor woke it: cold start {}.{:03} ms, GET -> {}",
        cold.as_micros() / 1000,
        cold.as_micros() % 1000,
        fetch(addr).await?
    );
    match sup.pause(&site).await {
        Err(e) => println!("   pause refused: {e}"),
        Ok(_) => println!("   (unexpected: a static Space was paused)"),
    }

    // 2. A Python Space.
    section("2. a Python Space: pause, restart, storage, hardware");
    let app: SpaceId = "alice/hello-python".parse()?;
    let has_python = LocalRuntime::new(root.join("probe"))
        .map(|r| r.python().is_some())
        .unwrap_or(false);
    if args.runtime == RuntimeKind::Local && !has_python {
        println!("   skipped: no python3 on PATH (the local runtime runs Python Spaces with it)");
    } else {
        sup.create(app.clone(), Sdk::Gradio, Visibility::Public)?;
        sup.set_secret(
            &app,
            "HF_TOKEN",
            spaces_core::Secret::new("hf_quickstart_example"),
        )?;
        let st = sup
            .push(
                &app,
                &examples_dir().join("hello-python"),
                Revision::new("9d0e4f2")?,
                PushSettings::default(),
            )
            .await?;
        println!(
            "   GET -> {}",
            fetch(st.address.ok_or("not serving")?).await?
        );
        clock.advance(Duration::from_secs(2 * 3600));
        sup.pause(&app).await?;
        clock.advance(Duration::from_secs(3600));
        let v = sup.visit(&app).await?;
        println!(
            "   a visit while paused: stage stays {}, nothing served: {}",
            v.stage,
            v.address.is_none()
        );
        clock.advance(Duration::from_secs(1800));
        let st = sup.restart(&app, false).await?;
        println!("   owner restarted it: {}", st.stage);
        sup.request_storage(&app, StorageTier::Small).await?;
        clock.advance(Duration::from_secs(600));
        let st = sup.request_storage(&app, StorageTier::Medium).await?;
        println!(
            "   GET -> {}",
            fetch(st.address.ok_or("not serving")?).await?
        );
        match sup.request_storage(&app, StorageTier::Small).await {
            Err(e) => println!("   downgrade refused: {e}"),
            Ok(_) => println!("   (unexpected: the downgrade was accepted)"),
        }
        let st = sup.change_hardware(&app, "t4-small").await?;
        println!(
            "   GET -> {}",
            fetch(st.address.ok_or("not serving")?).await?
        );
        println!("   ... 3 hours on t4-small");
        clock.advance(Duration::from_secs(3 * 3600));
        sup.pause(&app).await?;
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
    println!("   (run with --state DIR to keep it, then: spaces bill --ledger DIR/usage-ledger.sqlite --period 2026-11)");

    sup.shutdown().await?;
    if args.state.is_none() {
        println!("\nDone. Removed the temporary state folder.");
    } else {
        println!("\nDone. State kept in {}.", root.display());
    }
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
