//! Issue 13 through the front door: one listener, each request routed to its Space by host
//! (`<subdomain>.spaces.test`), a sleeping Space woken by its first request (which answers 200
//! with the app's content), one wake for 50 concurrent first requests, 503 for a paused Space,
//! 404 for a private one without its token, WebSocket and SSE through the proxy. The apps are
//! real Spaces on the local runtime (a static Space, a stdlib-only Python app) and on Docker
//! (skipped with a printed reason when no engine answers, unless `SPACES_REQUIRE_DOCKER=1`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod front_door_common;

use std::time::Duration;

use front_door_common::*;
use reqwest::Method;
use serde_json::json;
use spaces_core::Stage;
use spaces_server::FrontDoorConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_space_sleeps_wakes_and_hides_when_private() {
    let d = start(
        false,
        FrontDoorConfig {
            // Browsers get the "waking up" page at once (the wake goes on).
            browser_hold: Duration::ZERO,
            ..FrontDoorConfig::default()
        },
    )
    .await;
    let page = "<!doctype html><p>static front door page</p>";
    d.create(json!({"name": "site", "type": "space", "sdk": "static",
                    "files": [{"path": "index.html", "content": page, "encoding": "utf-8"}]}))
        .await;
    let host = d.host("alice/site").await;
    assert_eq!(host, "alice-site.spaces.test");
    d.wait_stage("alice/site", Stage::Running, 60).await;

    // Running: the host serves the app; the bare domain serves the API.
    let r = d.space(Method::GET, &host, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), page);
    let r = d.api("/api/spaces/alice/site").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let info: serde_json::Value = r.json().await.unwrap();
    assert_eq!(info["host"], "http://alice-site.spaces.test");
    // An unknown Space host is 404.
    let r = d
        .space(Method::GET, "nobody-nothing.spaces.test", "/")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Asleep: the first request wakes it and answers with the app's content.
    d.sleep("alice/site").await;
    let wakes = d.front.wakes();
    let r = d.space(Method::GET, &host, "/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), page);
    assert_eq!(d.stage("alice/site"), Stage::Running);
    assert_eq!(d.front.wakes(), wakes + 1);

    // A browser hitting a sleeping Space gets the self-reloading "waking up" page.
    d.sleep("alice/site").await;
    let r = d
        .space(Method::GET, &host, "/")
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("waking up") && text.contains("http-equiv=\"refresh\""),
        "{text}"
    );
    d.wait_stage("alice/site", Stage::Running, 60).await;
    let r = d
        .space(Method::GET, &host, "/")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), page);

    // A private Space: 404 without the token (and with another user's), 200 with the owner's,
    // in the header or in the dashboard's cookie.
    d.create(json!({"name": "secret", "type": "space", "sdk": "static", "private": true,
                    "files": [{"path": "index.html", "content": "private page", "encoding": "utf-8"}]}))
        .await;
    d.wait_stage("alice/secret", Stage::Running, 60).await;
    let secret = d.host("alice/secret").await;
    let r = d.space(Method::GET, &secret, "/").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = d
        .space(Method::GET, &secret, "/")
        .bearer_auth(&d.bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = d
        .space(Method::GET, &secret, "/")
        .bearer_auth(&d.alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "private page");
    let r = d
        .space(Method::GET, &secret, "/")
        .header("cookie", format!("spaces_token={}", d.alice))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colliding_space_ids_get_distinct_hosts() {
    let d = start(false, FrontDoorConfig::default()).await;
    d.app.db.add_user("alice-my", &[]).unwrap();
    let alice_my = d
        .app
        .db
        .create_token("alice-my", spaces_server::Role::Write)
        .unwrap();
    d.create(json!({"name": "my-app", "type": "space", "sdk": "static",
                    "files": [{"path": "index.html", "content": "first", "encoding": "utf-8"}]}))
        .await;
    d.wait_stage("alice/my-app", Stage::Running, 60).await;
    let r = d
        .http
        .post(format!("http://{}/api/repos/create", d.addr))
        .header("host", DOMAIN)
        .bearer_auth(&alice_my)
        .json(&json!({"name": "app", "type": "space", "sdk": "static",
                      "files": [{"path": "index.html", "content": "second", "encoding": "utf-8"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    d.wait_stage("alice-my/app", Stage::Running, 60).await;
    let first = d.host("alice/my-app").await;
    let second = d.host("alice-my/app").await;
    assert_eq!(first, "alice-my-app.spaces.test");
    assert_ne!(first, second, "two Spaces share a host");
    for (host, body) in [(&first, "first"), (&second, "second")] {
        let r = d.space(Method::GET, host, "/").send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), body, "{host}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_space_wakes_once_for_50_requests_proxies_websocket_and_sse_and_pauses() {
    if !python_or_skip() {
        return;
    }
    let d = start(false, FrontDoorConfig::default()).await;
    let starts = d.dir.path().join("starts.log");
    let body = "python app behind the front door";
    d.create(python_space("app", body, &starts)).await;
    d.wait_stage("alice/app", Stage::Running, 120).await;
    let host = d.host("alice/app").await;

    // The caller's token never reaches the app; the forwarded headers do.
    let r = d
        .space(Method::GET, &host, "/headers")
        .bearer_auth(&d.alice)
        .header("cookie", format!("theme=dark; spaces_token={}", d.alice))
        .send()
        .await
        .unwrap();
    let seen = r.text().await.unwrap();
    assert!(
        !seen.contains(&d.alice),
        "the token reached the app:\n{seen}"
    );
    assert!(!seen.contains("authorization"), "{seen}");
    assert!(seen.contains("cookie: theme=dark"), "{seen}");
    assert!(seen.contains("x-forwarded-for: 127.0.0.1"), "{seen}");
    assert!(seen.contains("x-forwarded-proto: http"), "{seen}");
    assert!(
        seen.contains(&format!("x-forwarded-host: {host}")),
        "{seen}"
    );
    // A streamed request body.
    let big = "x".repeat(300_000);
    let r = d
        .space(Method::POST, &host, "/echo")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap().len(), big.len());

    // Asleep: 50 concurrent first requests, one wake, all 200 with the app's content.
    d.sleep("alice/app").await;
    let before = std::fs::read_to_string(&starts).unwrap().lines().count();
    let wakes = d.front.wakes();
    let mut all = Vec::new();
    for _ in 0..50 {
        let req = d.space(Method::GET, &host, "/");
        all.push(tokio::spawn(async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    for h in all {
        let (status, text) = h.await.unwrap();
        assert_eq!((status, text.as_str()), (200, body));
    }
    assert_eq!(d.front.wakes(), wakes + 1, "wakes");
    let after = std::fs::read_to_string(&starts).unwrap().lines().count();
    assert_eq!(
        after,
        before + 1,
        "app starts for 50 concurrent first requests"
    );

    // WebSocket echo through the proxy.
    let mut ws = ws_connect(d.addr, &host).await;
    assert_eq!(ws_echo(&mut ws, "hello").await, "hello");
    assert_eq!(ws_echo(&mut ws, "again").await, "again");
    drop(ws);

    // SSE: the first event arrives while the stream is still open (streamed, not buffered).
    let mut sse = d.space(Method::GET, &host, "/sse").send().await.unwrap();
    assert_eq!(sse.status(), 200);
    assert_eq!(
        sse.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let first = sse.chunk().await.unwrap().unwrap();
    assert_eq!(&first[..], b"data: 1\n\n");
    let r = d
        .space(Method::GET, &host, "/sse-next")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    let second = sse.chunk().await.unwrap().unwrap();
    assert_eq!(&second[..], b"data: 2\n\n");
    assert!(sse.chunk().await.unwrap().is_none());

    // The path route on the API's host goes through the same proxy.
    let r = d.api("/spaces/alice/app/").send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), body);

    // Paused by its owner: 503 with a page that says so, and no wake.
    let r = d
        .http
        .post(format!("http://{}/api/spaces/alice/app/pause", d.addr))
        .header("host", DOMAIN)
        .bearer_auth(&d.alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    d.wait_stage("alice/app", Stage::Paused, 30).await;
    let r = d.space(Method::GET, &host, "/").send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("paused by its owner"));
    assert_eq!(d.stage("alice/app"), Stage::Paused);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_space_answers_its_first_request_after_sleep() {
    if !docker_or_skip() {
        return;
    }
    let d = start(true, FrontDoorConfig::default()).await;
    let tag = format!("front-door-{}", std::process::id());
    push_docker_space(&d, &d.dir.path().join("work"), &tag).await;
    let result = async {
        d.wait_stage("alice/dock", Stage::Running, 300).await;
        let host = d.host("alice/dock").await;
        let r = d.space(Method::GET, &host, "/").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let before = r.text().await.unwrap();
        assert!(before.contains("persistent="), "{before}");
        d.sleep("alice/dock").await;
        let r = d.space(Method::GET, &host, "/").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(text.contains("persistent="), "{text}");
    };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(result)).await;
    d.stop().await;
    remove_images(&tag);
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

/// Removes the images the Docker test built (by the fixture's label).
fn remove_images(tag: &str) {
    let out = std::process::Command::new("docker")
        .args([
            "images",
            "-q",
            "--filter",
            &format!(
                "label={}={tag}",
                spaces_runtime::docker::fixtures::LABEL_FIXTURE
            ),
        ])
        .output();
    if let Ok(out) = out {
        for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", id])
                .output();
        }
    }
}
