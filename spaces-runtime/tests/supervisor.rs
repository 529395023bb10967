//! The supervisor on the local runtime and a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use spaces_core::{
    Catalog, DataLossAck, ManualClock, Revision, Sdk, SpaceId, Stage, StorageTier, Timestamp,
    Visibility,
};
use spaces_runtime::supervisor::{MemorySink, PushSettings, Supervisor, UsageChange};
use spaces_runtime::{
    http_get, BuildOutput, BuildRequest, Error, Image, Instance, InstanceId, InstanceSpec,
    InstanceState, LocalRuntime, LogStream, Runtime,
};
use tokio::sync::Semaphore;

fn start_time() -> Timestamp {
    "2026-11-02T09:00:00Z".parse().unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    state: std::path::PathBuf,
    runtime: Arc<LocalRuntime>,
    clock: Arc<ManualClock>,
    sink: Arc<MemorySink>,
    sup: Supervisor,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let runtime = Arc::new(LocalRuntime::new(dir.path().join("runtime")).unwrap());
    let clock = Arc::new(ManualClock::new(start_time()));
    let sink = Arc::new(MemorySink::new());
    let sup = Supervisor::open(
        &state,
        runtime.clone(),
        clock.clone(),
        Catalog::seed(),
        sink.clone(),
    )
    .await
    .unwrap();
    Setup {
        _dir: dir,
        state,
        runtime,
        clock,
        sink,
        sup,
    }
}

fn static_site(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), text).unwrap();
    dir
}

fn rev(r: &str) -> Revision {
    Revision::new(r).unwrap()
}

async fn page(addr: std::net::SocketAddr) -> String {
    let r = http_get(addr, "/", Duration::from_secs(2)).await.unwrap();
    assert_eq!(r.status, 200);
    String::from_utf8(r.body.to_vec()).unwrap()
}

fn stages(sink: &MemorySink, id: &SpaceId) -> Vec<String> {
    sink.events()
        .into_iter()
        .filter(|e| &e.space == id)
        .filter_map(|e| match e.change {
            UsageChange::Stage(s) => Some(s.as_str().to_owned()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn push_build_run_sleep_wake_pause_restart_with_usage_events() {
    let s = setup().await;
    let id: SpaceId = "alice/site".parse().unwrap();
    s.sup
        .create(id.clone(), Sdk::Static, Visibility::Public)
        .unwrap();
    let site = static_site("<h1>v1</h1>");
    let st = s
        .sup
        .push(&id, site.path(), rev("aaaa111"), PushSettings::default())
        .await
        .unwrap();
    assert_eq!(st.stage, Stage::Running);
    assert_eq!(page(st.address.unwrap()).await, "<h1>v1</h1>");

    // Static Spaces have no runtime controls, but sleep after 48 h idle and wake on a visit.
    let err = s.sup.pause(&id).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("static Spaces have no runtime controls"),
        "{err}"
    );
    s.clock.advance(Duration::from_secs(48 * 3600));
    s.sup.tick().await.unwrap();
    assert_eq!(s.sup.status(&id).unwrap().stage, Stage::Sleeping);
    let visit = s.sup.visit(&id).await.unwrap();
    assert!(visit.cold_start.is_some());
    assert_eq!(page(visit.address.unwrap()).await, "<h1>v1</h1>");

    assert_eq!(
        stages(&s.sink, &id),
        [
            "NO_APP_FILE",
            "BUILDING",
            "APP_STARTING",
            "RUNNING",
            "SLEEPING",
            "APP_STARTING",
            "RUNNING"
        ]
    );
    // No hardware event for a static Space: it has no hardware.
    assert!(!s
        .sink
        .events()
        .iter()
        .any(|e| matches!(e.change, UsageChange::Hardware(_))));
}

async fn python_space(s: &Setup, id: &SpaceId) -> Option<tempfile::TempDir> {
    if s.runtime.python().is_none() {
        println!("SKIPPED: no python3 on PATH");
        return None;
    }
    s.sup
        .create(id.clone(), Sdk::Gradio, Visibility::Public)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), PY_APP).unwrap();
    Some(dir)
}

const PY_APP: &str = r#"
import http.server, os
data = os.environ.get("SPACE_DATA_DIR")
had = bool(data) and os.path.exists(os.path.join(data, "marker"))
if data:
    open(os.path.join(data, "marker"), "w").write("x")
body = ("persistent=%s accel=%s" % ("yes" if had else "no", os.environ.get("ACCELERATOR"))).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

#[tokio::test]
async fn idle_cpu_basic_sleeps_at_exactly_48h_and_a_visit_wakes_it() {
    let s = setup().await;
    let id: SpaceId = "alice/py".parse().unwrap();
    let Some(files) = python_space(&s, &id).await else {
        return;
    };
    let st = s
        .sup
        .push(&id, files.path(), rev("bbbb222"), PushSettings::default())
        .await
        .unwrap();
    assert_eq!(st.stage, Stage::Running);
    assert_eq!(st.current_hardware, Some(spaces_core::Flavor::CpuBasic));

    s.clock.advance(Duration::from_secs(48 * 3600 - 1));
    s.sup.tick().await.unwrap();
    assert_eq!(
        s.sup.status(&id).unwrap().stage,
        Stage::Running,
        "asleep one second early"
    );
    s.clock.advance(Duration::from_secs(1));
    s.sup.tick().await.unwrap();
    let st = s.sup.status(&id).unwrap();
    assert_eq!(st.stage, Stage::Sleeping);
    assert_eq!(st.address, None);

    let visit = s.sup.visit(&id).await.unwrap();
    assert_eq!(visit.stage, Stage::Running);
    assert!(visit.cold_start.is_some());
    assert!(page(visit.address.unwrap())
        .await
        .starts_with("persistent=no"));

    // Paused: a visit does not wake it.
    s.sup.pause(&id).await.unwrap();
    let visit = s.sup.visit(&id).await.unwrap();
    assert_eq!((visit.stage, visit.address), (Stage::Paused, None));
    let st = s.sup.restart(&id, false).await.unwrap();
    assert_eq!(st.stage, Stage::Running);

    assert_eq!(
        stages(&s.sink, &id),
        [
            "NO_APP_FILE",
            "BUILDING",
            "APP_STARTING",
            "RUNNING",
            "SLEEPING",
            "APP_STARTING",
            "RUNNING",
            "PAUSED",
            "APP_STARTING",
            "RUNNING"
        ]
    );
    // The sleep event is stamped exactly 48 h after the Space became healthy.
    let events = s.sink.events();
    let running_at = events
        .iter()
        .find(|e| e.change == UsageChange::Stage(Stage::Running))
        .unwrap()
        .at;
    let sleeping_at = events
        .iter()
        .find(|e| e.change == UsageChange::Stage(Stage::Sleeping))
        .unwrap()
        .at;
    assert_eq!(
        spaces_core::elapsed(running_at, sleeping_at),
        Duration::from_secs(48 * 3600)
    );
    // Every usage event has a unique id.
    let mut ids: Vec<_> = events.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events.len());
    s.sup.shutdown().await.unwrap();
}

#[tokio::test]
async fn hardware_and_storage_changes_restart_and_are_recorded() {
    let s = setup().await;
    let id: SpaceId = "alice/gpu".parse().unwrap();
    let Some(files) = python_space(&s, &id).await else {
        return;
    };
    s.sup
        .push(&id, files.path(), rev("cccc333"), PushSettings::default())
        .await
        .unwrap();
    let st = s.sup.change_hardware(&id, "cpu-upgrade").await.unwrap();
    assert_eq!(
        (st.stage.clone(), st.current_hardware.clone()),
        (Stage::Running, Some(spaces_core::Flavor::CpuUpgrade))
    );
    assert_eq!(page(st.address.unwrap()).await, "persistent=no accel=none");
    assert!(
        s.sup.change_hardware(&id, "h100x9").await.is_err(),
        "unknown flavors are refused"
    );

    let st = s
        .sup
        .request_storage(&id, StorageTier::Medium)
        .await
        .unwrap();
    assert_eq!(page(st.address.unwrap()).await, "persistent=no accel=none");
    let st = s.sup.restart(&id, false).await.unwrap();
    assert_eq!(page(st.address.unwrap()).await, "persistent=yes accel=none");
    let err = s
        .sup
        .request_storage(&id, StorageTier::Small)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("delete the storage first"),
        "{err}"
    );
    assert_eq!(
        s.sup.status(&id).unwrap().storage,
        Some(StorageTier::Medium)
    );

    let st = s
        .sup
        .delete_storage(&id, DataLossAck::i_understand_all_data_is_lost())
        .await
        .unwrap();
    assert_eq!(st.storage, None);
    let kinds: Vec<_> = s
        .sink
        .events()
        .into_iter()
        .filter(|e| !matches!(e.change, UsageChange::Stage(_)))
        .map(|e| e.change)
        .collect();
    assert_eq!(
        kinds,
        [
            UsageChange::Hardware(spaces_core::Flavor::CpuBasic),
            UsageChange::Hardware(spaces_core::Flavor::CpuUpgrade),
            UsageChange::Storage(Some(StorageTier::Medium)),
            UsageChange::Storage(None),
        ]
    );
    s.sup.delete(&id).await.unwrap();
    assert!(s.sup.status(&id).is_err());
    assert!(!s.runtime.volume_dir(&id).exists());
}

/// A runtime that holds every build until the test lets it go, around the real local runtime.
#[derive(Debug)]
struct GatedBuilds {
    inner: Arc<LocalRuntime>,
    gate: Semaphore,
}

#[async_trait]
impl Runtime for GatedBuilds {
    fn name(&self) -> &'static str {
        "gated-local"
    }
    async fn build(&self, request: BuildRequest) -> Result<BuildOutput, Error> {
        let _permit = self.gate.acquire().await.unwrap();
        self.inner.build(request).await
    }
    async fn start(&self, spec: InstanceSpec) -> Result<Instance, Error> {
        self.inner.start(spec).await
    }
    async fn state(&self, id: &InstanceId) -> Result<InstanceState, Error> {
        self.inner.state(id).await
    }
    async fn logs(&self, id: &InstanceId, follow: bool) -> Result<LogStream, Error> {
        self.inner.logs(id, follow).await
    }
    async fn stop(&self, id: &InstanceId) -> Result<(), Error> {
        self.inner.stop(id).await
    }
    async fn remove_image(&self, image: &Image) -> Result<(), Error> {
        self.inner.remove_image(image).await
    }
    async fn delete_volume(&self, space: &SpaceId) -> Result<(), Error> {
        self.inner.delete_volume(space).await
    }
    async fn running(&self) -> Result<Vec<Instance>, Error> {
        self.inner.running().await
    }
    async fn discard_prepared(&self, space: &SpaceId) -> Result<(), Error> {
        self.inner.discard_prepared(space).await
    }
}

/// A supervisor over [`GatedBuilds`], a manual clock and a memory sink.
struct Gated {
    _dir: tempfile::TempDir,
    runtime: Arc<GatedBuilds>,
    clock: Arc<ManualClock>,
    sink: Arc<MemorySink>,
    sup: Supervisor,
}

async fn gated() -> Gated {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Arc::new(GatedBuilds {
        inner: Arc::new(LocalRuntime::new(dir.path().join("rt")).unwrap()),
        gate: Semaphore::new(1),
    });
    let clock = Arc::new(ManualClock::new(start_time()));
    let sink = Arc::new(MemorySink::new());
    let sup = Supervisor::open(
        &dir.path().join("state"),
        runtime.clone(),
        clock.clone(),
        Catalog::seed(),
        sink.clone(),
    )
    .await
    .unwrap();
    Gated {
        _dir: dir,
        runtime,
        clock,
        sink,
        sup,
    }
}

#[tokio::test]
async fn the_old_instance_keeps_answering_while_a_new_revision_builds() {
    let Gated {
        _dir,
        runtime,
        sink,
        sup,
        ..
    } = gated().await;
    let id: SpaceId = "alice/site".parse().unwrap();
    sup.create(id.clone(), Sdk::Static, Visibility::Public)
        .unwrap();
    let v1 = static_site("v1");
    let st = sup
        .push(&id, v1.path(), rev("aaaa"), PushSettings::default())
        .await
        .unwrap();
    let old = st.address.unwrap();

    // Hold the next build.
    let held = runtime.gate.acquire().await.unwrap();
    let v2 = static_site("v2");
    let pushing = {
        let (sup, id, path) = (sup.clone(), id.clone(), v2.path().to_path_buf());
        tokio::spawn(async move {
            sup.push(&id, &path, rev("bbbb"), PushSettings::default())
                .await
        })
    };
    for _ in 0..200 {
        if sup.status(&id).unwrap().stage == Stage::RunningBuilding {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let st = sup.status(&id).unwrap();
    assert_eq!(st.stage, Stage::RunningBuilding);
    assert_eq!(st.address, Some(old));
    for _ in 0..5 {
        assert_eq!(
            page(old).await,
            "v1",
            "the old revision stopped serving during the build"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(held);
    let st = pushing.await.unwrap().unwrap();
    assert_eq!(st.stage, Stage::Running);
    assert_eq!(page(st.address.unwrap()).await, "v2");
    assert!(
        http_get(old, "/", Duration::from_millis(300))
            .await
            .is_err(),
        "the old instance was not retired"
    );
    assert_eq!(
        stages(&sink, &id),
        [
            "NO_APP_FILE",
            "BUILDING",
            "APP_STARTING",
            "RUNNING",
            "RUNNING_BUILDING",
            "RUNNING_APP_STARTING",
            "RUNNING"
        ]
    );
}

#[tokio::test]
async fn a_new_supervisor_over_the_same_state_loses_no_space_and_no_data() {
    let s = setup().await;
    let id: SpaceId = "alice/keep".parse().unwrap();
    let Some(files) = python_space(&s, &id).await else {
        return;
    };
    s.sup
        .create(
            "bob/page".parse().unwrap(),
            Sdk::Static,
            Visibility::Private,
        )
        .unwrap();
    s.sup
        .push(&id, files.path(), rev("dddd444"), PushSettings::default())
        .await
        .unwrap();
    s.sup
        .set_secret(&id, "HF_TOKEN", spaces_core::Secret::new("hf_kept"))
        .await
        .unwrap();
    s.sup
        .request_storage(&id, StorageTier::Small)
        .await
        .unwrap();
    assert_eq!(
        page(s.sup.status(&id).unwrap().address.unwrap()).await,
        "persistent=no accel=none"
    );
    s.sup.shutdown().await.unwrap();
    let before: Vec<_> = s.sup.list().into_iter().map(|st| st.id).collect();
    drop(s.sup);

    let sink = Arc::new(MemorySink::new());
    let sup2 = Supervisor::open(
        &s.state,
        s.runtime.clone(),
        s.clock.clone(),
        Catalog::seed(),
        sink.clone(),
    )
    .await
    .unwrap();
    let after: Vec<_> = sup2.list().into_iter().map(|st| st.id).collect();
    assert_eq!(after, before);
    let st = sup2.status(&id).unwrap();
    assert_eq!(
        (st.stage, st.storage),
        (Stage::Sleeping, Some(StorageTier::Small))
    );
    let visit = sup2.visit(&id).await.unwrap();
    assert_eq!(visit.stage, Stage::Running);
    assert_eq!(
        page(visit.address.unwrap()).await,
        "persistent=yes accel=none"
    );
    // Usage ids of the new supervisor never reuse the first one's.
    let first: std::collections::BTreeSet<_> = s.sink.events().into_iter().map(|e| e.id).collect();
    assert!(
        sink.events().iter().all(|e| !first.contains(&e.id)),
        "{:?}",
        sink.events()
    );
    sup2.shutdown().await.unwrap();
}

#[tokio::test]
async fn operations_on_different_spaces_do_not_wait_for_each_other() {
    let Gated {
        _dir, runtime, sup, ..
    } = gated().await;
    let (a, b): (SpaceId, SpaceId) = ("alice/a".parse().unwrap(), "alice/b".parse().unwrap());
    sup.create(a.clone(), Sdk::Static, Visibility::Public)
        .unwrap();
    sup.create(b.clone(), Sdk::Static, Visibility::Public)
        .unwrap();
    let site = static_site("x");
    sup.push(&b, site.path(), rev("bbbb"), PushSettings::default())
        .await
        .unwrap();
    // a's build is held; b can still be visited and deleted meanwhile.
    let held = runtime.gate.acquire().await.unwrap();
    let pushing = {
        let (sup, a, path) = (sup.clone(), a.clone(), site.path().to_path_buf());
        tokio::spawn(async move {
            sup.push(&a, &path, rev("aaaa"), PushSettings::default())
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let visit = tokio::time::timeout(Duration::from_secs(5), sup.visit(&b))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(visit.stage, Stage::Running);
    assert_eq!(sup.status(&a).unwrap().stage, Stage::Building);
    drop(held);
    assert_eq!(pushing.await.unwrap().unwrap().stage, Stage::Running);
}

#[tokio::test]
async fn billing_the_usage_events_gives_no_hardware_minutes_for_building_paused_or_sleeping() {
    let Gated {
        _dir,
        runtime,
        clock,
        sink,
        sup,
        ..
    } = gated().await;
    if runtime.inner.python().is_none() {
        println!("SKIPPED: no python3 on PATH");
        return;
    }
    let id: SpaceId = "alice/billed".parse().unwrap();
    sup.create(id.clone(), Sdk::Gradio, Visibility::Public)
        .unwrap();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("app.py"), PY_APP).unwrap();
    let minutes = |m: u64| Duration::from_secs(m * 60);

    // 30 minutes of building (free).
    let held = runtime.gate.acquire().await.unwrap();
    let pushing = {
        let (sup, id, path) = (sup.clone(), id.clone(), files.path().to_path_buf());
        tokio::spawn(async move {
            sup.push(&id, &path, rev("eeee555"), PushSettings::default())
                .await
        })
    };
    for _ in 0..200 {
        if sup.status(&id).unwrap().stage == Stage::Building {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    clock.advance(minutes(30));
    drop(held);
    assert_eq!(pushing.await.unwrap().unwrap().stage, Stage::Running);
    clock.advance(minutes(60)); // 60 min on cpu-basic
    sup.change_hardware(&id, "cpu-upgrade").await.unwrap();
    clock.advance(minutes(120)); // 120 min on cpu-upgrade
    sup.pause(&id).await.unwrap();
    clock.advance(minutes(300)); // paused: free
    sup.restart(&id, false).await.unwrap();
    sup.set_sleep_time(&id, Some(minutes(60))).await.unwrap();
    clock.advance(minutes(60)); // 60 min on cpu-upgrade, then asleep
    sup.tick().await.unwrap();
    assert_eq!(sup.status(&id).unwrap().stage, Stage::Sleeping);
    clock.advance(minutes(600)); // sleeping: free
    let v = sup.visit(&id).await.unwrap();
    assert_eq!(v.stage, Stage::Running);
    clock.advance(minutes(30)); // 30 min on cpu-upgrade
    sup.pause(&id).await.unwrap();
    sup.shutdown().await.unwrap();

    let invoice = spaces_billing::UsageLog::parse(&sink.to_jsonl(), &Catalog::seed())
        .unwrap()
        .invoice("2026-11".parse().unwrap())
        .unwrap();
    let lines: Vec<_> = invoice
        .lines
        .iter()
        .map(|l| (l.item.to_string(), l.minutes, l.amount.to_string()))
        .collect();
    assert_eq!(
        lines,
        [
            ("hardware/cpu-basic".to_owned(), 60, "0.00".to_owned()),
            ("hardware/cpu-upgrade".to_owned(), 210, "0.11".to_owned()),
        ]
    );
}

#[tokio::test]
async fn visitors_arriving_during_a_wake_wait_for_it_too() {
    let s = setup().await;
    let id: SpaceId = "alice/busy".parse().unwrap();
    s.sup
        .create(id.clone(), Sdk::Static, Visibility::Public)
        .unwrap();
    let site = static_site("busy");
    s.sup
        .push(&id, site.path(), rev("abab"), PushSettings::default())
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(48 * 3600));
    s.sup.tick().await.unwrap();
    assert_eq!(s.sup.status(&id).unwrap().stage, Stage::Sleeping);
    let visits: Vec<_> = (0..8)
        .map(|_| {
            let (sup, id) = (s.sup.clone(), id.clone());
            tokio::spawn(async move { sup.visit(&id).await })
        })
        .collect();
    for v in visits {
        let v = v.await.unwrap().unwrap();
        assert_eq!(v.stage, Stage::Running);
        assert_eq!(page(v.address.unwrap()).await, "busy");
    }
    // One wake, not eight.
    assert_eq!(
        stages(&s.sink, &id),
        [
            "NO_APP_FILE",
            "BUILDING",
            "APP_STARTING",
            "RUNNING",
            "SLEEPING",
            "APP_STARTING",
            "RUNNING"
        ]
    );
}
