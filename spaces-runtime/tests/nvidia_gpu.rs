//! Checks on a real NVIDIA GPU, through NVML and the local runtime. They run only with
//! `SPACES_GPU_TESTS=1` (on a machine with a GPU, a driver and a `python3` that has torch; see
//! `scripts/gpu-check.sh`); otherwise they print `skipped: ...` and pass (CI has no GPU).
//!
//! - the inventory reports the real devices (name, UUID, memory);
//! - a Python Space started by the local runtime on a flavor of the device's model (from
//!   `tests/nvidia/gpu-catalog.yaml`: `h200x1` on an H200) answers with what
//!   `torch.cuda.get_device_name()` sees, through the GPU named in its `CUDA_VISIBLE_DEVICES`;
//! - a second Space asking for the same GPU is refused while the first holds it.
//!
//! Without the flag, one check runs everywhere: opening NVML without a driver is `Unavailable`
//! carrying the load error.
#![cfg(feature = "nvidia")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use spaces_core::{AppEnvironment, Flavor, HardwareSpec, Revision, Sdk, Space, Visibility};
use spaces_runtime::nvidia::{GpuAllocator, GpuDevice, GpuInventory, GpuReport, NvmlInventory};
use spaces_runtime::{
    http_get, wait_healthy, BuildRequest, Error, Image, InstanceSpec, LocalRuntime, Runtime,
};

const CATALOG: &str = include_str!("nvidia/gpu-catalog.yaml");

fn gpu_tests_enabled() -> bool {
    if std::env::var("SPACES_GPU_TESTS").is_ok_and(|v| v == "1") {
        true
    } else {
        eprintln!("skipped: set SPACES_GPU_TESTS=1 on a machine with an NVIDIA GPU to run this");
        false
    }
}

#[test]
fn nvml_without_a_driver_is_unavailable_with_the_load_error() {
    match NvmlInventory::open() {
        Ok(nvml) => eprintln!(
            "skipped: this machine has an NVIDIA driver ({})",
            nvml.driver_version().unwrap_or_default()
        ),
        Err(Error::Unavailable { backend, reason }) => {
            assert_eq!(backend, "nvidia");
            assert!(reason.contains("libnvidia-ml"), "{reason}");
            eprintln!("NVML unavailable as expected: {reason}");
        }
        Err(e) => panic!("expected Unavailable, got {e}"),
    }
}

#[test]
fn gpu_inventory_reports_the_real_devices() {
    if !gpu_tests_enabled() {
        return;
    }
    let nvml = NvmlInventory::open().unwrap();
    println!("driver: {}", nvml.driver_version().unwrap());
    let devices = nvml.devices().unwrap();
    assert!(!devices.is_empty(), "NVML lists no device");
    for d in &devices {
        println!(
            "GPU {}: name={:?} uuid_prefix={} model={} ({} GB) memory_total={} MiB used={} MiB util={:?} mig={:?} processes={:?}",
            d.index,
            d.name,
            d.uuid.get(..12).unwrap_or(&d.uuid),
            d.model,
            d.memory_gb,
            d.memory_total_bytes >> 20,
            d.memory_used_bytes >> 20,
            d.utilization_percent,
            d.mig,
            d.processes.as_ref().map(Vec::len)
        );
        assert!(d.uuid.starts_with("GPU-"), "{}", d.uuid);
        assert!(!d.name.is_empty());
        assert!(d.memory_total_bytes > 0);
    }
    let report = GpuReport::from_inventory(&nvml, Vec::new()).unwrap();
    print!("{}", report.to_table());
    let spec = spaces_runtime::scheduler::HostSpec::cpu(16, 128, 64).with_gpu_devices(&devices);
    println!(
        "scheduler host: {:?} x{}",
        spec.gpu_model(),
        spec.capacity().gpus
    );
    assert_eq!(spec.gpu_model(), Some(&devices[0].model));
}

const TORCH_APP: &str = r#"
import http.server, json, os
import torch
ok = torch.cuda.is_available()
x = torch.ones(1 << 20, device="cuda") if ok else None  # shows the process to NVML
info = {
    "device_name": torch.cuda.get_device_name(0) if ok else None,
    "device_count": torch.cuda.device_count(),
    "sum": float(x.sum().item()) if ok else None,
    "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
    "NVIDIA_VISIBLE_DEVICES": os.environ.get("NVIDIA_VISIBLE_DEVICES"),
    "ACCELERATOR": os.environ.get("ACCELERATOR"),
}
body = json.dumps(info).encode()
print("serving", body.decode(), flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

/// The catalog flavor for one GPU of `device`'s model; built from `h200x1` when the catalog has
/// none.
fn flavor_for(device: &GpuDevice) -> HardwareSpec {
    let catalog = spaces_config::catalog_file::parse_catalog(CATALOG).unwrap();
    let found = catalog.hardware().iter().find(|h| {
        h.gpu.as_ref().is_some_and(|g| {
            g.model == device.model && g.count == 1 && g.memory_gb <= device.memory_gb
        })
    });
    match found {
        Some(hw) => hw.clone(),
        None => {
            let mut hw = catalog
                .flavor(&Flavor::from_wire("h200x1"))
                .unwrap()
                .clone();
            hw.id = Flavor::from_wire(&format!("{}x1", device.model.as_str().to_lowercase()));
            if let Some(g) = hw.gpu.as_mut() {
                g.model = device.model.clone();
                g.memory_gb = device.memory_gb;
            }
            hw
        }
    }
}

async fn build(rt: &LocalRuntime, src: &std::path::Path, space: &str) -> Image {
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

fn spec(image: &Image, hw: &HardwareSpec) -> InstanceSpec {
    let now = "2026-11-01T00:00:00Z".parse().unwrap();
    let space = Space::new(image.space.clone(), Sdk::Gradio, Visibility::Public, now);
    InstanceSpec {
        image: image.clone(),
        env: AppEnvironment::for_space(&space, Some(hw)),
        hardware: Some(hw.clone()),
        app_port: 7860,
        volume: None,
    }
}

#[tokio::test]
async fn gpu_local_python_space_sees_its_gpu_and_a_second_is_refused() {
    if !gpu_tests_enabled() {
        return;
    }
    let nvml: Arc<dyn GpuInventory> = Arc::new(NvmlInventory::open().unwrap());
    let devices = nvml.devices().unwrap();
    let device = devices.first().expect("NVML lists no device").clone();
    if device.in_use_by_processes() {
        println!(
            "note: before any Space, NVML lists processes on GPU 0: {:?}",
            device.processes
        );
    }
    let hw = flavor_for(&device);
    println!(
        "flavor {} ({}x {} {} GB) for device {:?}",
        hw.id,
        hw.gpu.as_ref().unwrap().count,
        device.model,
        device.memory_gb,
        device.name
    );
    let state = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let gpus = Arc::new(GpuAllocator::open(state.path(), nvml.clone()).unwrap());
    let rt = LocalRuntime::new(root.path())
        .unwrap()
        .with_gpus(gpus.clone())
        .unwrap();
    println!("python: {:?}", rt.python());
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("app.py"), TORCH_APP).unwrap();
    let first_image = build(&rt, src.path(), "alice/torch").await;
    let second_image = build(&rt, src.path(), "bob/torch").await;

    let first = rt.start(spec(&first_image, &hw)).await.unwrap();
    let healthy = wait_healthy(&rt, &first, Duration::from_secs(150)).await;
    if let Err(e) = &healthy {
        let mut log = rt.logs(&first.id, false).await.unwrap();
        for line in log.collect_for(Duration::from_millis(500)).await {
            println!("app log: {:?} {}", line.source, line.text);
        }
        panic!("the torch Space did not become healthy: {e}");
    }
    let answer = http_get(first.address, "/", Duration::from_secs(10))
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    println!("Space alice/torch answered: {body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let seen = json["device_name"].as_str().unwrap_or_default();
    println!(
        "torch sees {seen:?}; NVML names the assigned device {:?}",
        device.name
    );
    assert_eq!(
        spaces_runtime::nvidia::normalise_name(seen),
        spaces_runtime::nvidia::normalise_name(&device.name)
    );
    assert_eq!(json["device_count"], 1);
    assert_eq!(json["CUDA_VISIBLE_DEVICES"], device.uuid.as_str());
    assert_eq!(json["ACCELERATOR"], hw.id.as_str());

    let report = GpuReport::from_inventory(nvml.as_ref(), gpus.leases().unwrap()).unwrap();
    print!("while held:\n{}", report.to_table());

    let refused = rt.start(spec(&second_image, &hw)).await;
    match &refused {
        Err(e @ Error::Unavailable { .. }) => println!("second Space refused: {e}"),
        Err(e) => panic!("second Space: expected Unavailable, got {e}"),
        Ok(i) => {
            let _ = rt.stop(&i.id).await;
            panic!("a second Space got the GPU the first holds");
        }
    }
    rt.stop(&first.id).await.unwrap();
    assert!(gpus.leases().unwrap().is_empty());
    println!("after the stop: no leases");
}
