//! Wake of a sleeping Gradio Space on the local runtime, cold (a new interpreter imports Gradio)
//! against warm (forked from the environment's fork server), side by side in one run: from the
//! start (the visit that wakes it) to its first HTTP 200. Prints median and p90 of each, their
//! ratio, and the resident memory of the warm interpreter.
//!
//! `cargo run -p spaces-runtime --example warm_wake -- [rounds]` (20 by default); needs
//! python3 and PyPI (or a filled pip cache in `SPACES_PIP_CACHE`). See `scripts/warm-wake.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Timing figures, not money: floats are fine here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::time::{Duration, Instant};

use spaces_core::{AppEnvironment, Revision, Sdk};
use spaces_runtime::{wait_healthy, BuildRequest, Image, InstanceSpec, LocalRuntime, Runtime};

const APP: &str = r#"import gradio as gr


def greet(name):
    return "Hello, " + name + "!"


gr.Interface(fn=greet, inputs="text", outputs="text", api_name="greet").launch()
"#;

const README: &str = "---\ntitle: Wake\nsdk: gradio\nsdk_version: 5.50.0\napp_file: app.py\n---\n";

fn spec(image: &Image) -> InstanceSpec {
    InstanceSpec {
        image: image.clone(),
        env: AppEnvironment::default(),
        hardware: None,
        app_port: 7860,
        volume: None,
    }
}

/// Start to first healthy answer; the instance is stopped (put back to sleep) after.
async fn wake(rt: &LocalRuntime, image: &Image) -> (Duration, bool) {
    let t0 = Instant::now();
    let instance = rt.start(spec(image)).await.unwrap();
    wait_healthy(rt, &instance, Duration::from_secs(300))
        .await
        .unwrap();
    let took = t0.elapsed();
    let mut logs = rt.logs(&instance.id, false).await.unwrap();
    let lines = logs.collect_for(Duration::from_millis(20)).await;
    let warm = lines.iter().any(|l| l.text.contains("warm: forked"));
    rt.stop(&instance.id).await.unwrap();
    (took, warm)
}

fn summary(name: &str, mut v: Vec<Duration>) -> Duration {
    v.sort();
    let pick = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    let (median, p90) = (pick(0.5), pick(0.9));
    println!(
        "{name}: median {:.0} ms, p90 {:.0} ms, min {:.0} ms, max {:.0} ms ({} rounds)",
        median.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3,
        v[0].as_secs_f64() * 1e3,
        v[v.len() - 1].as_secs_f64() * 1e3,
        v.len()
    );
    median
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let root = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("README.md"), README).unwrap();
    std::fs::write(src.path().join("app.py"), APP).unwrap();
    let cold = LocalRuntime::new(root.path())
        .unwrap()
        .with_fork_servers(0, 0);
    let warm = LocalRuntime::new(root.path()).unwrap();
    let t = Instant::now();
    let image = cold
        .build(BuildRequest {
            space: "bench/wake".parse().unwrap(),
            revision: Revision::new("c0ffee1").unwrap(),
            sdk: Sdk::Gradio,
            source: src.path().to_path_buf(),
            app_file: "app.py".parse().unwrap(),
            no_cache: false,
        })
        .await
        .unwrap()
        .image;
    println!("built in {:.1} s", t.elapsed().as_secs_f64());
    // The first warm-runtime start is cold and starts the fork server; wait until it forks.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !wake(&warm, &image).await.1 {
        assert!(
            Instant::now() < deadline,
            "the fork server never became ready"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (mut cold_times, mut warm_times) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (c, was_warm) = wake(&cold, &image).await;
        assert!(!was_warm);
        let (w, was_warm) = wake(&warm, &image).await;
        assert!(was_warm, "round {round}: the warm start was not forked");
        cold_times.push(c);
        warm_times.push(w);
    }
    let c = summary("cold wake (new interpreter)", cold_times);
    let w = summary("warm wake (fork server)", warm_times);
    println!(
        "warm/cold median: {:.1}% (goal: under 15%)",
        100.0 * w.as_secs_f64() / c.as_secs_f64()
    );
    for (pid, bytes) in warm.fork_server_memory() {
        println!(
            "fork server pid {pid}: {:.0} MiB resident (one per environment)",
            bytes as f64 / (1 << 20) as f64
        );
    }
}
