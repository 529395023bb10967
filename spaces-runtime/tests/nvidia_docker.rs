//! The Docker backend with a GPU allocator over a [`FakeInventory`] (a test double, not NVML):
//! on an engine without the `nvidia` runtime a GPU flavor is `Unsupported` naming it, and no GPU
//! stays held; without an allocator it is `Unsupported` naming the allocator.
//!
//! Without a Docker engine these tests print `skipped: <reason>` and pass.
#![cfg(feature = "docker")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use spaces_core::{AppEnvironment, Catalog, Flavor, Revision, Sdk};
use spaces_runtime::docker::{DockerConfig, DockerRuntime};
use spaces_runtime::nvidia::{FakeInventory, GpuAllocator};
use spaces_runtime::{Error, Image, InstanceSpec, Runtime};

async fn engine() -> Option<DockerRuntime> {
    let config = DockerConfig {
        prefix: "spaces-nvtest".into(),
        standby: false,
        ..DockerConfig::default()
    };
    match DockerRuntime::connect(config).await {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("skipped: no Docker engine ({e})");
            None
        }
    }
}

fn gpu_spec() -> InstanceSpec {
    let hw = Catalog::seed().flavor(&Flavor::T4Small).cloned();
    InstanceSpec {
        image: Image {
            reference: "spaces-nvtest/none:0".into(),
            space: "alice/gpu".parse().unwrap(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Docker,
            app_file: "Dockerfile".parse().unwrap(),
        },
        env: AppEnvironment::default(),
        hardware: hw,
        app_port: 7860,
        volume: None,
    }
}

#[tokio::test]
async fn a_gpu_flavor_names_the_missing_nvidia_runtime() {
    let Some(rt) = engine().await else { return };
    let info = rt.client().info().await.unwrap();
    if info.runtimes.unwrap_or_default().contains_key("nvidia") {
        eprintln!("skipped: this engine has the nvidia runtime (the refusal cannot be shown)");
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let gpus = Arc::new(
        GpuAllocator::open(
            state.path(),
            Arc::new(FakeInventory::of(&[("Tesla T4", 15)])),
        )
        .unwrap(),
    );
    let rt = rt.with_gpus(gpus.clone()).await.unwrap();
    let err = rt.start(gpu_spec()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { backend: "docker", what } if what.contains("`nvidia` runtime")),
        "{err}"
    );
    assert!(gpus.leases().unwrap().is_empty());
}

#[tokio::test]
async fn without_an_allocator_a_gpu_flavor_names_it() {
    let Some(rt) = engine().await else { return };
    let err = rt.start(gpu_spec()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { backend: "docker", what } if what.contains("no GPU allocator")),
        "{err}"
    );
}
