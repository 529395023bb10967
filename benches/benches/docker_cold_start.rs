//! Cold start of a sleeping Docker Space on the real engine, against `docker start` of the same
//! stopped container, in the same run.
//!
//! - **ours, fresh container**: `Runtime::start` with standby containers off: create a fresh
//!   container, start it, read its published port back, then a readiness poll until the first
//!   HTTP 200 (create + start to first 200).
//! - **ours, wake** (the default configuration): the Space was put to sleep with `Runtime::stop`,
//!   which prepared its next container; `Runtime::start` starts it, reads its port back, then the
//!   same poll. The ephemeral disk is fresh in both of ours.
//! - **baseline**: the engine's floor: `docker start` (Engine API `POST /containers/{id}/start`)
//!   of the same container once stopped (it keeps its old disk), reading its new port back, then
//!   the same readiness poll.
//!
//! The Space is `examples/spaces/docker-hello` (FROM scratch + static busybox; `busybox httpd`).
//! Each round measures the three in turn, so that drift on the machine hits all of them. Prints
//! the median, p90 and mean of each, and the ratios of the medians to the baseline's.
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
    let config = DockerConfig {
        prefix: prefix.clone(),
        extra_labels: BTreeMap::from([(LABEL.to_owned(), prefix.clone())]),
        stop_grace: Duration::from_secs(2),
        ..DockerConfig::default()
    };
    let rt = match DockerRuntime::connect(config.clone()).await {
        Ok(rt) => rt,
        Err(e) => {
            println!("SKIPPED: no Docker engine answers: {e}");
            return;
        }
    };
    // The same engine, names and labels, without standby containers.
    let fresh = DockerRuntime::connect(DockerConfig {
        standby: false,
        ..config
    })
    .await
    .unwrap();
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
            app_file: Sdk::Docker.default_app_path(),
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

    // Put the Space to sleep once, so that the first wake finds its prepared container.
    let first = rt.start(spec.clone()).await.unwrap();
    until_200(first.address).await;
    rt.stop(&first.id).await.unwrap();

    // Round 0 is a warm-up, not counted.
    let (mut created, mut woken, mut base) = (Vec::new(), Vec::new(), Vec::new());
    let (mut created_poll, mut woken_poll, mut base_poll) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=rounds {
        // Ours, fresh container: create + start + inspect + poll.
        let t = Instant::now();
        let instance = fresh.start(spec.clone()).await.unwrap();
        let c_poll = until_200(instance.address).await;
        let c_total = t.elapsed();

        // Baseline: docker start of that same container, stopped.
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
        let b_poll = until_200(addr).await;
        let b_total = t.elapsed();
        fresh.stop(&instance.id).await.unwrap();

        // Ours, wake: start the container prepared when the Space went to sleep.
        let t = Instant::now();
        let instance = rt.start(spec.clone()).await.unwrap();
        let w_poll = until_200(instance.address).await;
        let w_total = t.elapsed();
        rt.stop(&instance.id).await.unwrap();

        if round > 0 {
            created.push(c_total);
            created_poll.push(c_poll);
            base.push(b_total);
            base_poll.push(b_poll);
            woken.push(w_total);
            woken_poll.push(w_poll);
        }
    }
    let base_median = stats("baseline: docker start + inspect + poll to 200", base);
    stats("  of which the readiness poll", base_poll);
    let created_median = stats(
        "ours, fresh: create + start + inspect + poll to 200",
        created,
    );
    stats("  of which the readiness poll", created_poll);
    let woken_median = stats("ours, wake: start prepared + inspect + poll to 200", woken);
    stats("  of which the readiness poll", woken_poll);
    for (name, median) in [("fresh", created_median), ("wake", woken_median)] {
        let ratio = median.as_secs_f64() / base_median.as_secs_f64();
        println!(
            "ratio of medians ours ({name}) / baseline: {ratio:.3} (overhead {:+.1}%; target under 10%)",
            (ratio - 1.0) * 100.0
        );
    }
    rt.remove_image(&built.image).await.unwrap();
    rt.shutdown().await.unwrap();
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
