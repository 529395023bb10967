//! The child: a supervisor over a state folder, driven by JSON commands on stdin, answering one
//! `@@ `-prefixed JSON line per command on stdout (libtest prints its own lines too).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use spaces_billing::ledger::Ledger;
use spaces_core::{Catalog, DataLossAck, ManualClock, Revision, Sdk, SpaceId, Stage, Visibility};
use spaces_runtime::supervisor::{PushSettings, SpaceStatus, Supervisor, UsageEvent, UsageSink};
use spaces_runtime::{Error, LocalRuntime, Runtime};

/// The usage sink of the child: spaces-billing's durable ledger.
#[derive(Debug)]
pub struct LedgerSink(Mutex<Ledger>);

impl LedgerSink {
    pub fn open(path: &Path) -> Self {
        Self(Mutex::new(Ledger::open(path).unwrap()))
    }
}

impl UsageSink for LedgerSink {
    fn record(&self, event: &UsageEvent) -> Result<(), Error> {
        self.0
            .lock()
            .unwrap()
            .append(event)
            .map(|_| ())
            .map_err(|err| Error::Io {
                context: "appending to the ledger".into(),
                source: std::io::Error::other(err.to_string()),
            })
    }
}

pub fn status_json(s: &SpaceStatus) -> Value {
    json!({
        "id": s.id.as_str(),
        "stage": s.stage.as_str(),
        "hw": s.current_hardware.as_ref().map(|f| f.as_str().to_owned()),
        "storage": s.storage.map(|t| t.as_str().to_owned()),
        "address": s.address.map(|a| a.to_string()),
        "python": s.sdk == Sdk::Gradio,
    })
}

fn reply(v: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "@@ {v}");
    let _ = out.flush();
}

/// Waits until no Space builds, starts or deletes (work resumed at open runs in the background).
async fn settle(sup: &Supervisor) {
    for _ in 0..600 {
        let busy = sup.list().iter().any(|s| {
            matches!(
                s.stage,
                Stage::Building
                    | Stage::AppStarting
                    | Stage::RunningBuilding
                    | Stage::RunningAppStarting
                    | Stage::Deleting
            )
        });
        if !busy && sup.pending_usage().unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn runtime(dir: &Path) -> Arc<dyn Runtime> {
    #[cfg(feature = "docker")]
    if let Ok(prefix) = std::env::var("SPACES_FAULT_DOCKER_PREFIX") {
        use spaces_runtime::docker::{DockerConfig, DockerRuntime};
        let config = DockerConfig {
            prefix,
            stop_grace: Duration::from_secs(1),
            ..DockerConfig::default()
        };
        return Arc::new(DockerRuntime::connect(config).await.unwrap());
    }
    Arc::new(LocalRuntime::new(dir.join("rt")).unwrap())
}

pub fn run(dir: PathBuf) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let start = std::env::var("SPACES_FAULT_START")
            .unwrap()
            .parse()
            .unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let sink = Arc::new(LedgerSink::open(&dir.join("ledger.sqlite")));
        let sup = Supervisor::open(
            &dir.join("state"),
            runtime(&dir).await,
            clock.clone(),
            Catalog::seed(),
            sink,
        )
        .await
        .unwrap();
        settle(&sup).await;
        reply(json!({
            "ok": true,
            "pending": sup.pending_usage().unwrap(),
            "spaces": sup.list().iter().map(status_json).collect::<Vec<_>>(),
        }));
        let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        while let Some(line) = lines.recv().await {
            let cmd: Value = serde_json::from_str(&line).unwrap();
            clock.set(cmd["at"].as_str().unwrap().parse().unwrap());
            let result = exec(&sup, &cmd).await;
            reply(json!({
                "ok": result.is_ok(),
                "error": result.err().map(|e| e.to_string()),
                "pending": sup.pending_usage().unwrap(),
                "spaces": sup.list().iter().map(status_json).collect::<Vec<_>>(),
            }));
        }
        sup.shutdown().await.unwrap();
    });
    std::process::exit(0);
}

async fn exec(sup: &Supervisor, cmd: &Value) -> Result<(), Error> {
    let s = |k: &str| cmd[k].as_str().unwrap_or_default().to_owned();
    let id: SpaceId = s("space")
        .parse()
        .unwrap_or_else(|_| "x/x".parse().unwrap());
    match s("op").as_str() {
        "create" => {
            let sdk: Sdk = s("sdk").parse().unwrap();
            sup.create(id, sdk, Visibility::Public).map(|_| ())
        }
        "push" => sup
            .push(
                &id,
                Path::new(&s("files")),
                Revision::new(&s("rev")).unwrap(),
                PushSettings::default(),
            )
            .await
            .map(|_| ()),
        "visit" => sup.visit(&id).await.map(|_| ()),
        "tick" => sup.tick().await,
        "pause" => sup.pause(&id).await.map(|_| ()),
        "restart" => sup.restart(&id, false).await.map(|_| ()),
        "hardware" => sup.change_hardware(&id, &s("flavor")).await.map(|_| ()),
        "sleep_time" => sup
            .set_sleep_time(
                &id,
                cmd["minutes"].as_u64().map(|m| Duration::from_secs(m * 60)),
            )
            .await
            .map(|_| ()),
        "storage" => sup
            .request_storage(&id, s("tier").parse().unwrap())
            .await
            .map(|_| ()),
        "delete_storage" => sup
            .delete_storage(&id, DataLossAck::i_understand_all_data_is_lost())
            .await
            .map(|_| ()),
        "delete" => sup.delete(&id).await,
        _ => Ok(()),
    }
}
