//! The supervisor with a local runtime given a GPU allocator over a [`FakeInventory`] (a test
//! double, not NVML), its leases in the supervisor's own `supervisor.sqlite`: a Space moved to
//! `t4-small` gets the one T4, a second Space asking for it goes to `RUNTIME_ERROR` naming who
//! holds it, a pause releases it, and a reopened supervisor (a restart) finds no stale lease.
//!
//! Without `python3` on `PATH` it prints `skipped: <reason>` and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use spaces_core::{Catalog, ManualClock, Revision, Sdk, SpaceId, Stage, Visibility};
use spaces_runtime::nvidia::{FakeInventory, GpuAllocator};
use spaces_runtime::supervisor::{MemorySink, PushSettings, Supervisor};
use spaces_runtime::{http_get, LocalRuntime};

const APP: &str = r#"
import http.server, os
body = ("gpus=%s accel=%s" % (os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("ACCELERATOR"))).encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

async fn open(
    dir: &std::path::Path,
    inventory: Arc<FakeInventory>,
) -> (Supervisor, Arc<GpuAllocator>) {
    let state = dir.join("state");
    let gpus = Arc::new(GpuAllocator::open(&state, inventory).unwrap());
    let runtime = Arc::new(
        LocalRuntime::new(dir.join("runtime"))
            .unwrap()
            .with_gpus(gpus.clone())
            .unwrap(),
    );
    let sup = Supervisor::open(
        &state,
        runtime,
        Arc::new(ManualClock::new("2026-11-02T09:00:00Z".parse().unwrap())),
        Catalog::seed(),
        Arc::new(MemorySink::new()),
    )
    .await
    .unwrap();
    (sup, gpus)
}

async fn page(addr: std::net::SocketAddr) -> String {
    let r = http_get(addr, "/", Duration::from_secs(5)).await.unwrap();
    String::from_utf8_lossy(&r.body).into_owned()
}

#[tokio::test]
async fn gpu_spaces_share_no_gpu_and_a_pause_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = Arc::new(FakeInventory::of(&[("Tesla T4", 15)]));
    let (sup, gpus) = open(dir.path(), inventory.clone()).await;
    if LocalRuntime::new(dir.path().join("probe"))
        .unwrap()
        .python()
        .is_none()
    {
        eprintln!("skipped: no python3 on PATH");
        return;
    }
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("app.py"), APP).unwrap();
    let (alice, bob): (SpaceId, SpaceId) =
        ("alice/gpu".parse().unwrap(), "bob/gpu".parse().unwrap());
    for id in [&alice, &bob] {
        sup.create(id.clone(), Sdk::Gradio, Visibility::Public)
            .unwrap();
        sup.push(
            id,
            files.path(),
            Revision::new("aaaa111").unwrap(),
            PushSettings::default(),
        )
        .await
        .unwrap();
    }
    let st = sup.change_hardware(&alice, "t4-small").await.unwrap();
    assert_eq!(st.stage, Stage::Running);
    assert_eq!(
        page(st.address.unwrap()).await,
        "gpus=GPU-fake-0 accel=t4-small"
    );

    let st = sup.change_hardware(&bob, "t4-medium").await.unwrap();
    assert_eq!(st.stage, Stage::RuntimeError);
    let reason = st.runtime_error.unwrap_or_default();
    assert!(reason.contains("held by alice/gpu"), "{reason}");
    assert_eq!(gpus.leases().unwrap().len(), 1);

    sup.pause(&alice).await.unwrap();
    assert!(
        gpus.leases().unwrap().is_empty(),
        "a pause releases the GPU"
    );
    let st = sup.restart(&bob, false).await.unwrap();
    assert_eq!(st.stage, Stage::Running);
    assert_eq!(
        page(st.address.unwrap()).await,
        "gpus=GPU-fake-0 accel=t4-medium"
    );
    assert_eq!(gpus.leases().unwrap()[0].space, bob);

    // A restart: the new supervisor stops what ran, which releases its GPU.
    drop(sup);
    let (sup, gpus) = open(dir.path(), inventory).await;
    assert!(gpus.leases().unwrap().is_empty(), "{:?}", gpus.leases());
    drop(sup);
}
