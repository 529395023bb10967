//! Figures, not a test (ignored by default; `spaces-server/scripts/front-door-bench.sh` runs it
//! in release): the first-request latency of a sleeping Space through the front door (the
//! request is held while the Space wakes, then proxied) against starting the same app directly
//! and polling it until it answers: a static Space (directly: nginx serving the same file), a
//! Python Space on the local runtime (directly: `python3 app.py`) and a Docker Space (directly:
//! `docker run` of the image the platform built). Median and p90 over `FRONT_DOOR_ROUNDS`
//! rounds (20 by default). Nothing is asserted about time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod front_door_common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use front_door_common::*;
use reqwest::Method;
use serde_json::json;
use spaces_core::Stage;
use spaces_server::FrontDoorConfig;

fn rounds() -> usize {
    std::env::var("FRONT_DOOR_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn summary(name: &str, mut times: Vec<Duration>) -> String {
    times.sort();
    // Milliseconds with one decimal, in integers (no float arithmetic in this workspace).
    let ms = |d: Duration| format!("{}.{}", d.as_millis(), d.as_micros() % 1000 / 100);
    let median = ms(times[times.len() / 2]);
    let p90 = ms(times[(times.len() * 9 / 10).min(times.len() - 1)]);
    format!(
        "{name:<48} median {median:>9} ms   p90 {p90:>9} ms   ({} rounds)",
        times.len()
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `http://127.0.0.1:port/` until it answers 200; the time from `t0`.
async fn until_200(port: u16, t0: Instant) -> Duration {
    let c = reqwest::Client::new();
    loop {
        if let Ok(r) = c.get(format!("http://127.0.0.1:{port}/")).send().await {
            if r.status() == 200 {
                return t0.elapsed();
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no answer on {port}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Sleeps the Space `rounds` times, timing its first request through the front door.
async fn through_front_door(d: &Door, id: &str, host: &str) -> Vec<Duration> {
    let mut out = Vec::new();
    for _ in 0..rounds() {
        d.sleep(id).await;
        let t0 = Instant::now();
        let r = d.space(Method::GET, host, "/").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        out.push(t0.elapsed());
    }
    out
}

async fn direct(mut start: impl FnMut(u16) -> std::process::Child) -> Vec<Duration> {
    let mut out = Vec::new();
    for _ in 0..rounds() {
        let port = free_port();
        let t0 = Instant::now();
        let mut child = start(port);
        out.push(until_200(port, t0).await);
        let _ = child.kill();
        let _ = child.wait();
    }
    out
}

fn nginx_conf(dir: &Path, root: &Path, port: u16) -> std::path::PathBuf {
    let conf = dir.join(format!("nginx-{port}.conf"));
    std::fs::write(
        &conf,
        format!(
            "daemon off; master_process off; worker_processes 1; pid {d}/nginx-{port}.pid;\n\
             error_log {d}/nginx-error.log; events {{ worker_connections 1024; }}\n\
             http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d};\n\
             fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n\
             server {{ listen 127.0.0.1:{port}; root {r}; index index.html; }} }}\n",
            d = dir.display(),
            r = root.display()
        ),
    )
    .unwrap();
    conf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "figures: run by spaces-server/scripts/front-door-bench.sh"]
async fn first_request_latency_of_sleeping_spaces() {
    let docker = docker_or_skip();
    let d = start(docker, FrontDoorConfig::default()).await;
    let tmp = d.dir.path().to_owned();
    let mut lines = Vec::new();

    // Static.
    let page = "<!doctype html><p>static bench page</p>";
    d.create(json!({"name": "site", "type": "space", "sdk": "static",
                    "files": [{"path": "index.html", "content": page, "encoding": "utf-8"}]}))
        .await;
    d.wait_stage("alice/site", Stage::Running, 60).await;
    let host = d.host("alice/site").await;
    lines.push(summary(
        "static: first request through the front door",
        through_front_door(&d, "alice/site", &host).await,
    ));
    let www = tmp.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), page).unwrap();
    if Command::new("nginx").arg("-v").output().is_ok() {
        let times = direct(|port| {
            let conf = nginx_conf(&tmp, &www, port);
            Command::new("nginx")
                .args(["-c", conf.to_str().unwrap(), "-p", tmp.to_str().unwrap()])
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .await;
        lines.push(summary("static: nginx started directly", times));
    }

    // Python.
    let starts = tmp.join("starts.log");
    d.create(python_space("app", "python bench app", &starts))
        .await;
    d.wait_stage("alice/app", Stage::Running, 120).await;
    let host = d.host("alice/app").await;
    lines.push(summary(
        "python: first request through the front door",
        through_front_door(&d, "alice/app", &host).await,
    ));
    let app = tmp.join("app.py");
    std::fs::write(&app, app_py("python bench app", &starts)).unwrap();
    let times = direct(|port| {
        Command::new("python3")
            .arg(&app)
            .env("PORT", port.to_string())
            .spawn()
            .unwrap()
    })
    .await;
    lines.push(summary("python: python3 app.py started directly", times));

    // Docker.
    if docker {
        let tag = format!("front-door-bench-{}", std::process::id());
        push_docker_space(&d, &tmp.join("work"), &tag).await;
        d.wait_stage("alice/dock", Stage::Running, 300).await;
        let host = d.host("alice/dock").await;
        lines.push(summary(
            "docker: first request through the front door",
            through_front_door(&d, "alice/dock", &host).await,
        ));
        let image = String::from_utf8(
            Command::new("docker")
                .args([
                    "images",
                    "-q",
                    "--filter",
                    &format!(
                        "label={}={tag}",
                        spaces_runtime::docker::fixtures::LABEL_FIXTURE
                    ),
                ])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let image = image.split_whitespace().next().unwrap().to_owned();
        let mut names = Vec::new();
        let times = direct(|port| {
            let name = format!("front-door-bench-{port}");
            names.push(name.clone());
            Command::new("docker")
                .args([
                    "run",
                    "--rm",
                    "--name",
                    &name,
                    "-p",
                    &format!("127.0.0.1:{port}:7860"),
                    &image,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .await;
        for n in names {
            let _ = Command::new("docker").args(["rm", "-f", &n]).output();
        }
        lines.push(summary("docker: docker run of the same image", times));
        d.stop().await;
        let ids = Command::new("docker")
            .args([
                "images",
                "-q",
                "--filter",
                &format!(
                    "label={}={tag}",
                    spaces_runtime::docker::fixtures::LABEL_FIXTURE
                ),
            ])
            .output()
            .unwrap();
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = Command::new("docker").args(["rmi", "-f", id]).output();
        }
    } else {
        d.stop().await;
    }
    println!("\nfirst request to a sleeping Space (wake + proxy) vs the app started directly:");
    for l in lines {
        println!("{l}");
    }
}
