//! Cold start of a sleeping Docker Space on the real engine, against `docker start` of the same
//! stopped container, in the same run.
//!
//! - **ours**: what waking a sleeping Space costs with `DockerRuntime`: `Runtime::start` (create
//!   a fresh container, start it, read its published port back) then a readiness poll until the
//!   first HTTP 200.
//! - **baseline**: the engine's floor for the same app: `docker start` (Engine API
//!   `POST /containers/{id}/start`) of that same container once stopped, reading its new port
//!   back, then the same readiness poll.
//!
//! The Space is `examples/spaces/docker-hello` (FROM scratch + static busybox; `busybox httpd`).
//! Rounds alternate ours and the baseline so that drift on the machine hits both. Prints the
//! median, p90 and mean of each, and the ratio of the medians (our overhead).
//!
//! Run: `cargo bench -p spaces-benches --bench docker_cold_start` (`SPACES_BENCH_ROUNDS`, 15 by
//! default). Without an engine or a static busybox it prints `SKIPPED: <reason>` and exits 0.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic,
    missing_docs
)]

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use spaces_core::{AppEnvironment, Revision, Sdk, SpaceId};
use spaces_runtime::docker::bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptions, ListImagesOptions, ListNetworksOptions,
    RemoveContainerOptions, RemoveImageOptions, StartContainerOptions, StopContainerOptions,
};
use spaces_runtime::docker::{fixtures, DockerConfig, DockerRuntime};
use spaces_runtime::{http_get, BuildRequest, InstanceSpec, Runtime};

const LABEL: &str = "io.spaces.bench";

/// Polls `GET /` until it answers 200; the same poll for both sides.
async fn until_200(addr: SocketAddr) -> Duration {
    let start = Instant::now();
    loop {
        if let Ok(r) = http_get(addr, "/", Duration::from_secs(1)).await {
            if r.status == 200 {
                return start.elapsed();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no 200 from {addr} within 60s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn published(rt: &DockerRuntime, id: &str) -> SocketAddr {
    let info = rt
        .client()
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .unwrap();
    let port = info
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|mut p| p.remove(&format!("{}/tcp", fixtures::APP_PORT)))
        .flatten()
        .and_then(|b| b.into_iter().next())
        .and_then(|b| b.host_port)
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap();
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn stats(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = v[v.len() / 2];
    let p90 = v[(v.len() * 9 / 10).min(v.len() - 1)];
    let mean = v.iter().sum::<Duration>() / u32::try_from(v.len()).unwrap();
    println!(
        "{name:<52} median {:>7.1} ms  p90 {:>7.1} ms  mean {:>7.1} ms  min {:>7.1} ms  (n={})",
        ms(median),
        ms(p90),
        ms(mean),
        ms(v[0]),
        v.len()
    );
    median
}

async fn cleanup(rt: &DockerRuntime, prefix: &str) {
    let docker = rt.client();
    let filters = HashMap::from([("label".to_owned(), vec![format!("{LABEL}={prefix}")])]);
    for c in docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
        .unwrap_or_default()
    {
        if let Some(id) = c.id {
            let _ = docker
                .remove_container(
                    &id,
                    Some(RemoveContainerOptions {
                        force: true,
                        v: true,
                        ..Default::default()
                    }),
                )
                .await;
        }
    }
    for image in docker
        .list_images(Some(ListImagesOptions {
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await
        .unwrap_or_default()
    {
        let _ = docker
            .remove_image(
                &image.id,
                Some(RemoveImageOptions {
                    force: true,
                    ..Default::default()
                }),
                None,
            )
            .await;
    }
    for n in docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await
        .unwrap_or_default()
    {
        if let Some(id) = n.id {
            let _ = docker.remove_network(&id).await;
        }
    }
}

async fn run() {
    let rounds: usize = std::env::var("SPACES_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15)
        .max(1);
    if let Err(e) = fixtures::busybox_path() {
        println!("SKIPPED: {e}");
        return;
    }
    let prefix = format!("spaces-bench-{}", std::process::id());
    let rt = match DockerRuntime::connect(DockerConfig {
        prefix: prefix.clone(),
        extra_labels: BTreeMap::from([(LABEL.to_owned(), prefix.clone())]),
        stop_grace: Duration::from_secs(2),
        ..DockerConfig::default()
    })
    .await
    {
        Ok(rt) => rt,
        Err(e) => {
            println!("SKIPPED: no Docker engine answers: {e}");
            return;
        }
    };
    println!(
        "docker cold start: engine API {}, {rounds} rounds",
        rt.api_version()
    );

    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/spaces/docker-hello");
    let dir = tempfile::tempdir().unwrap();
    fixtures::stage_space(&repo, dir.path()).unwrap();
    let space: SpaceId = "bench/docker-hello".parse().unwrap();
    let built = rt
        .build(BuildRequest {
            space: space.clone(),
            revision: Revision::new("c01d57a7").unwrap(),
            sdk: Sdk::Docker,
            source: dir.path().into(),
            app_file: "Dockerfile".into(),
            no_cache: false,
        })
        .await
        .unwrap();
    let spec = InstanceSpec {
        image: built.image.clone(),
        env: AppEnvironment::default(),
        hardware: None,
        app_port: fixtures::APP_PORT,
        volume: None,
    };

    // One warm-up round of each, not counted (first container on the network, page cache).
    let mut ours = Vec::new();
    let mut ours_ready = Vec::new();
    let mut base = Vec::new();
    let mut base_ready = Vec::new();
    for round in 0..=rounds {
        let t = Instant::now();
        let instance = rt.start(spec.clone()).await.unwrap();
        let ready = until_200(instance.address).await;
        let total = t.elapsed();

        rt.client()
            .stop_container(
                &instance.id.0,
                Some(StopContainerOptions {
                    t: Some(2),
                    ..Default::default()
                }),
            )
            .await
            .unwrap();
        let t = Instant::now();
        rt.client()
            .start_container(&instance.id.0, None::<StartContainerOptions>)
            .await
            .unwrap();
        let addr = published(&rt, &instance.id.0).await;
        let b_ready = until_200(addr).await;
        let b_total = t.elapsed();
        rt.stop(&instance.id).await.unwrap();
        if round > 0 {
            ours.push(total);
            ours_ready.push(ready);
            base.push(b_total);
            base_ready.push(b_ready);
        }
    }
    let ours_median = stats("ours: create + start + inspect + poll to first 200", ours);
    stats("  of which the readiness poll", ours_ready);
    let base_median = stats("baseline: docker start + inspect + poll to first 200", base);
    stats("  of which the readiness poll", base_ready);
    let ratio = ours_median.as_secs_f64() / base_median.as_secs_f64();
    println!(
        "ratio of medians ours/baseline: {ratio:.3} (overhead {:+.1}%; target under 10%)",
        (ratio - 1.0) * 100.0
    );
    rt.remove_image(&built.image).await.unwrap();
    cleanup(&rt, &prefix).await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}
