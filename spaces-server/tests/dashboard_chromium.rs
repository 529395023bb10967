//! The dashboard in a real browser: headless Chromium (Debian's `chromium`) logs in through the
//! dashboard's form, loads the dashboard and a Space page, and the DOM is checked for each
//! Space's stage (the supervisor's) and this month's cost (the billing API's); screenshots are
//! saved under `target/tmp/front-door/` for people to look at. Skipped with a printed reason
//! when `chromium` is missing, unless `SPACES_REQUIRE_CHROMIUM=1` (CI).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod front_door_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use front_door_common::*;
use serde_json::{json, Value};
use spaces_core::Stage;
use spaces_server::FrontDoorConfig;

fn chromium_or_skip() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser"] {
        if Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(name);
        }
    }
    assert!(
        std::env::var("SPACES_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
        "SPACES_REQUIRE_CHROMIUM=1 and no chromium (apt-get install -y chromium)"
    );
    eprintln!("skipped: no chromium (apt-get install -y chromium; SPACES_REQUIRE_CHROMIUM=1 makes this a failure)");
    None
}

/// A page that logs in through the dashboard's form and goes on to `next`.
fn login_page(dir: &Path, d: &Door, next: &str) -> String {
    let path = dir.join(format!("login-{}.html", next.len()));
    std::fs::write(
        &path,
        format!(
            "<!doctype html><form id=f method=post action=\"http://localhost:{port}/login\">\
             <input name=token value=\"{token}\"><input name=next value=\"{next}\"></form>\
             <script>document.getElementById('f').submit()</script>",
            port = d.addr.port(),
            token = d.alice,
        ),
    )
    .unwrap();
    format!("file://{}", path.display())
}

/// Runs headless Chromium on `url` with `args`; its stdout.
fn chromium(bin: &str, profile: &Path, url: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=5000",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium {args:?} {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("front-door");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The text of the first `attr="..."` after `from` in `dom`.
fn attr_after<'a>(dom: &'a str, from: &str, attr: &str) -> &'a str {
    let at = dom
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in the DOM:\n{dom}"));
    let rest = &dom[at..];
    let key = format!("{attr}=\"");
    let start = rest
        .find(&key)
        .unwrap_or_else(|| panic!("no {attr} after {from}"))
        + key.len();
    let end = rest[start..].find('"').unwrap() + start;
    &rest[start..end]
}

async fn month_cost(d: &Door, id: &str) -> String {
    let r = d
        .api("/api/billing/alice/2026-11")
        .bearer_auth(&d.alice)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let invoice: Value = r.json().await.unwrap();
    let mut total = rust_decimal::Decimal::ZERO;
    for line in invoice["lines"].as_array().unwrap() {
        if line["space"] == id {
            total += line["amount"]
                .as_str()
                .unwrap()
                .parse::<rust_decimal::Decimal>()
                .unwrap();
        }
    }
    format!("{:.2}", total.round_dp(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_space_page_in_headless_chromium() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let d = start_on("localhost", false, FrontDoorConfig::default()).await;
    d.create(json!({"name": "site", "type": "space", "sdk": "static",
                    "files": [{"path": "index.html",
                               "content": "<!doctype html><h1 id=hello>Hello from alice/site</h1>",
                               "encoding": "utf-8"}]}))
        .await;
    let mut ids = vec!["alice/site"];
    if python_or_skip() {
        // A Python Space on paid hardware for two hours, then paused: a cost this month.
        let starts = d.dir.path().join("starts.log");
        d.create(python_space("app", "python app", &starts)).await;
        d.wait_stage("alice/app", Stage::Running, 120).await;
        let r = d
            .http
            .post(format!("http://{}/api/spaces/alice/app/hardware", d.addr))
            .header("host", "localhost")
            .bearer_auth(&d.alice)
            .json(&json!({"flavor": "cpu-upgrade"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        d.wait_stage("alice/app", Stage::Running, 120).await;
        d.clock.advance(Duration::from_secs(2 * 3600));
        let r = d
            .http
            .post(format!("http://{}/api/spaces/alice/app/pause", d.addr))
            .header("host", "localhost")
            .bearer_auth(&d.alice)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        d.wait_stage("alice/app", Stage::Paused, 60).await;
        ids.push("alice/app");
    }
    d.wait_stage("alice/site", Stage::Running, 60).await;
    // The ledger has every usage event (delivery runs on the ticker).
    tokio::time::sleep(Duration::from_millis(300)).await;

    let tmp = d.dir.path().join("chromium");
    std::fs::create_dir_all(&tmp).unwrap();
    let shots = screenshots();

    // The dashboard.
    let dom = chromium(
        bin,
        &tmp.join("p1"),
        &login_page(&tmp, &d, "/"),
        &["--dump-dom"],
    );
    assert!(dom.contains("Spaces of alice"), "not the dashboard:\n{dom}");
    for id in &ids {
        let row = format!("data-id=\"{id}\"");
        let stage = d.stage(id);
        assert_eq!(
            attr_after(&dom, &row, "data-stage"),
            stage.as_str(),
            "{id}'s stage"
        );
        let cost = month_cost(&d, id).await;
        assert_eq!(attr_after(&dom, &row, "data-cost"), cost, "{id}'s cost");
        eprintln!("dashboard: {id} {} ${cost}", stage.as_str());
    }
    assert!(dom.contains("alice-site.localhost"), "no host link");
    let shot = shots.join("dashboard.png");
    chromium(
        bin,
        &tmp.join("p2"),
        &login_page(&tmp, &d, "/"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,600",
        ],
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

    // A Space page: the stage, the cost, the app in an iframe, the logs.
    let next = "/spaces/alice/site";
    let dom = chromium(
        bin,
        &tmp.join("p3"),
        &login_page(&tmp, &d, next),
        &["--dump-dom"],
    );
    assert_eq!(attr_after(&dom, "id=\"stage\"", "data-stage"), "RUNNING");
    assert_eq!(
        attr_after(&dom, "id=\"cost\"", "data-cost"),
        month_cost(&d, "alice/site").await
    );
    assert_eq!(
        attr_after(&dom, "<iframe", "src"),
        format!("http://alice-site.localhost:{}/", d.addr.port())
    );
    assert!(dom.contains("id=\"build-log\""), "no logs:\n{dom}");
    let shot = shots.join("space-page.png");
    chromium(
        bin,
        &tmp.join("p4"),
        &login_page(&tmp, &d, next),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
        ],
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
    eprintln!("screenshots: {}", shots.display());
    d.stop().await;
}
