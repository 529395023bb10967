//! The local runtime with a GPU allocator over a [`FakeInventory`] (a test double, not NVML):
//! a GPU flavor's app gets its GPUs by UUID in `CUDA_VISIBLE_DEVICES` and
//! `NVIDIA_VISIBLE_DEVICES` and the flavor in `ACCELERATOR`; a second Space asking for the same
//! GPU is refused while the first holds it; a stop releases it; a CPU flavor sees no GPU; a
//! restarted runtime keeps the leases of live instances and drops those of vanished ones.
//!
//! Without `python3` on `PATH` these tests print `skipped: <reason>` and pass.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use spaces_core::{AppEnvironment, Catalog, Flavor, Revision, Sdk, Space, Visibility};
use spaces_runtime::nvidia::{FakeInventory, GpuAllocator};
use spaces_runtime::{
    http_get, wait_healthy, BuildRequest, Error, Image, InstanceSpec, LocalRuntime, Runtime,
};

const ENV_APP: &str = r#"
import http.server, os
keys = ["CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "ACCELERATOR"]
body = ";".join("%s=%s" % (k, os.environ.get(k, "<unset>")) for k in keys).encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

struct Setup {
    _root: tempfile::TempDir,
    state: tempfile::TempDir,
    _src: tempfile::TempDir,
    inventory: Arc<FakeInventory>,
    gpus: Arc<GpuAllocator>,
    rt: LocalRuntime,
}

fn setup() -> Option<Setup> {
    let root = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::new(root.path()).unwrap();
    if rt.python().is_none() {
        eprintln!("skipped: no python3 on PATH");
        return None;
    }
    let state = tempfile::tempdir().unwrap();
    let inventory = Arc::new(FakeInventory::of(&[("Tesla T4", 15), ("NVIDIA A10G", 22)]));
    let gpus = Arc::new(GpuAllocator::open(state.path(), inventory.clone()).unwrap());
    let rt = rt.with_gpus(gpus.clone()).unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("app.py"), ENV_APP).unwrap();
    Some(Setup {
        _root: root,
        state,
        _src: src,
        inventory,
        gpus,
        rt,
    })
}

async fn image(rt: &LocalRuntime, src: &std::path::Path, space: &str) -> Image {
    rt.build(BuildRequest {
        space: space.parse().unwrap(),
        revision: Revision::new("abcd").unwrap(),
        sdk: Sdk::Gradio,
        source: src.into(),
        app_file: "app.py".parse().unwrap(),
        no_cache: false,
    })
    .await
    .unwrap()
    .image
}

fn spec(image: &Image, flavor: Flavor) -> InstanceSpec {
    let catalog = Catalog::seed();
    let hw = catalog.flavor(&flavor).cloned();
    let now = "2026-11-01T00:00:00Z".parse().unwrap();
    let space = Space::new(image.space.clone(), Sdk::Gradio, Visibility::Public, now);
    InstanceSpec {
        image: image.clone(),
        env: AppEnvironment::for_space(&space, hw.as_ref()),
        hardware: hw,
        app_port: 7860,
        volume: None,
    }
}

async fn body(rt: &LocalRuntime, inst: &spaces_runtime::Instance) -> String {
    wait_healthy(rt, inst, Duration::from_secs(30))
        .await
        .unwrap();
    let r = http_get(inst.address, "/", Duration::from_secs(5))
        .await
        .unwrap();
    String::from_utf8_lossy(&r.body).into_owned()
}

#[tokio::test]
async fn a_gpu_space_gets_its_gpu_by_uuid_and_a_second_is_refused() {
    let Some(s) = setup() else { return };
    let a = image(&s.rt, s._src.path(), "alice/gpu").await;
    let b = image(&s.rt, s._src.path(), "bob/gpu").await;
    let first = s.rt.start(spec(&a, Flavor::T4Small)).await.unwrap();
    assert_eq!(
        body(&s.rt, &first).await,
        "CUDA_VISIBLE_DEVICES=GPU-fake-0;NVIDIA_VISIBLE_DEVICES=GPU-fake-0;ACCELERATOR=t4-small"
    );
    // The one T4 is held: bob's t4-medium is refused and starts nothing.
    let err = s.rt.start(spec(&b, Flavor::T4Medium)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unavailable { backend: "nvidia", reason } if reason.contains("held by alice/gpu")),
        "{err}"
    );
    assert_eq!(s.rt.running().await.unwrap().len(), 1);
    // An A10G flavor takes the A10G.
    let c = s.rt.start(spec(&b, Flavor::A10gSmall)).await.unwrap();
    assert!(body(&s.rt, &c)
        .await
        .starts_with("CUDA_VISIBLE_DEVICES=GPU-fake-1;"));
    // The stop releases; then bob gets the T4.
    s.rt.stop(&first.id).await.unwrap();
    s.rt.stop(&c.id).await.unwrap();
    assert!(s.gpus.leases().unwrap().is_empty());
    let second = s.rt.start(spec(&b, Flavor::T4Medium)).await.unwrap();
    assert!(body(&s.rt, &second)
        .await
        .starts_with("CUDA_VISIBLE_DEVICES=GPU-fake-0;"));
    s.rt.stop(&second.id).await.unwrap();
}

#[tokio::test]
async fn cpu_flavors_see_no_gpu_and_unknown_processes_block_a_gpu() {
    let Some(s) = setup() else { return };
    let a = image(&s.rt, s._src.path(), "alice/cpu").await;
    let cpu = s.rt.start(spec(&a, Flavor::CpuBasic)).await.unwrap();
    assert_eq!(
        body(&s.rt, &cpu).await,
        "CUDA_VISIBLE_DEVICES=;NVIDIA_VISIBLE_DEVICES=void;ACCELERATOR=none"
    );
    s.rt.stop(&cpu.id).await.unwrap();
    // A process nobody holds uses the T4: it is not handed out.
    let mut devices = spaces_runtime::nvidia::GpuInventory::devices(s.inventory.as_ref()).unwrap();
    devices[0].processes = Some(vec![spaces_runtime::nvidia::GpuProcess {
        pid: 999_999,
        used_memory_bytes: None,
    }]);
    s.inventory.set(devices);
    let err = s.rt.start(spec(&a, Flavor::T4Small)).await.unwrap_err();
    assert!(
        err.to_string().contains("used by a process no Space holds"),
        "{err}"
    );
}

#[tokio::test]
async fn a_restarted_runtime_keeps_live_leases_and_drops_vanished_ones() {
    let Some(s) = setup() else { return };
    let a = image(&s.rt, s._src.path(), "alice/gpu").await;
    let inst = s.rt.start(spec(&a, Flavor::T4Small)).await.unwrap();
    // A lease whose instance never got a record (a crash between the two).
    s.gpus
        .assign(
            &"carol/gpu".parse().unwrap(),
            "local:vanished",
            &spaces_core::GpuSpec {
                model: spaces_core::GpuModel::A10G,
                count: 1,
                memory_gb: 24,
            },
        )
        .unwrap();
    // A new allocator and runtime over the same state and root (a restart).
    let gpus = Arc::new(GpuAllocator::open(s.state.path(), s.inventory.clone()).unwrap());
    let again = LocalRuntime::new(s._root.path())
        .unwrap()
        .with_gpus(gpus.clone())
        .unwrap();
    let leases = gpus.leases().unwrap();
    assert_eq!(leases.len(), 1, "{leases:?}");
    assert_eq!(leases[0].space.as_str(), "alice/gpu");
    // The running app is found and stopped by the new runtime, which releases its GPU.
    let found = again.running().await.unwrap();
    assert_eq!(found.len(), 1);
    again.stop(&found[0].id).await.unwrap();
    assert!(gpus.leases().unwrap().is_empty());
    let _ = s.rt.stop(&inst.id).await;
}

#[tokio::test]
async fn a_runtime_reopened_in_the_same_process_releases_the_gpu_of_an_app_that_died() {
    let Some(s) = setup() else { return };
    let a = image(&s.rt, s._src.path(), "alice/gpu").await;
    let inst = s.rt.start(spec(&a, Flavor::T4Small)).await.unwrap();
    // The app dies while its runtime is gone (dropped, as by an embedder that reopens it).
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(s._root.path().join(format!("instances/{}.json", inst.id))).unwrap(),
    )
    .unwrap();
    let pid = record["app"]["pid"].as_i64().unwrap();
    let Setup {
        _root: root,
        state,
        inventory,
        rt,
        ..
    } = s;
    drop(rt);
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    while std::path::Path::new(&format!("/proc/{pid}/stat")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Reopened over the same root and state, in this same process: the record names an app that
    // is gone, so the first look at what runs drops it and its lease.
    let gpus = Arc::new(GpuAllocator::open(state.path(), inventory).unwrap());
    let again = LocalRuntime::new(root.path())
        .unwrap()
        .with_gpus(gpus.clone())
        .unwrap();
    assert!(again.running().await.unwrap().is_empty());
    assert!(gpus.leases().unwrap().is_empty(), "{:?}", gpus.leases());
}

#[tokio::test]
async fn without_an_allocator_a_gpu_flavor_names_what_is_missing() {
    let root = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::new(root.path()).unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("index.html"), "hi").unwrap();
    let img = rt
        .build(BuildRequest {
            space: "alice/page".parse().unwrap(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Static,
            source: src.path().into(),
            app_file: Sdk::Static.default_app_path(),
            no_cache: false,
        })
        .await
        .unwrap()
        .image;
    let err = rt.start(spec(&img, Flavor::A100Large)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { backend: "local", what } if what.contains("no GPU allocator") && what.contains("with_gpus")),
        "{err}"
    );
}
