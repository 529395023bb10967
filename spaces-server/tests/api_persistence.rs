//! Persistence through the binary: every acknowledged request survives `kill -9` of the server
//! and a restart serves every Space as before; SIGTERM stops it cleanly (exit 0); the command
//! line prints only the token and `listening on http://ADDR`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_spaces-server");

fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Starts `serve` and returns the child and its base URL.
fn serve(data: &Path, listen: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            listen,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    (child, url)
}

async fn call(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn kill_9_loses_no_acknowledged_request_and_sigterm_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    assert_eq!(
        cli(&["users", "add", "--data", data, "alice", "--org", "acme"]),
        ""
    );
    let token = cli(&["tokens", "create", "--data", data, "alice"])
        .trim()
        .to_owned();
    assert!(token.starts_with("hf_") && !token.contains(char::is_whitespace));
    let read = cli(&["tokens", "create", "--data", data, "alice", "--read-only"])
        .trim()
        .to_owned();

    let (mut child, base) = serve(dir.path(), "127.0.0.1:0");
    let post = reqwest::Method::POST;
    let (s, _) = call(
        post.clone(),
        &format!("{base}/api/repos/create"),
        &token,
        Some(json!({"name": "site", "type": "space", "sdk": "static"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(post.clone(), &format!("{base}/api/repos/create"), &token,
        Some(json!({"name": "app", "organization": "acme", "type": "space", "sdk": "gradio", "private": true,
            "hardware": "cpu-upgrade", "sleepTimeSeconds": 900,
            "secrets": [{"key": "API_KEY", "value": "v", "description": "d"}],
            "variables": [{"key": "MODEL", "value": "m"}]}))).await;
    assert_eq!(s, 200);
    let (s, _) = call(
        post.clone(),
        &format!("{base}/api/spaces/acme/app/variables"),
        &token,
        Some(json!({"key": "EXTRA", "value": "1", "description": "later"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        post.clone(),
        &format!("{base}/api/spaces/acme/app/storage"),
        &token,
        Some(json!({"tier": "small"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, before) = call(
        reqwest::Method::GET,
        &format!("{base}/api/spaces/acme/app"),
        &read,
        None,
    )
    .await;
    assert_eq!(s, 200);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let addr = base.trim_start_matches("http://");
    let (child, base) = serve(dir.path(), addr);
    let get = reqwest::Method::GET;
    let (s, after) = call(
        get.clone(),
        &format!("{base}/api/spaces/acme/app"),
        &read,
        None,
    )
    .await;
    assert_eq!(s, 200);
    for key in ["_id", "sha", "createdAt", "private", "cardData", "siblings"] {
        assert_eq!(after[key], before[key], "{key}");
    }
    assert_eq!(after["runtime"]["hardware"]["requested"], "cpu-upgrade");
    assert_eq!(after["runtime"]["gcTimeout"], 900);
    assert_eq!(after["runtime"]["storage"], "small");
    let (_, vars) = call(
        get.clone(),
        &format!("{base}/api/spaces/acme/app/variables"),
        &read,
        None,
    )
    .await;
    assert_eq!(vars["MODEL"]["value"], "m");
    assert_eq!(vars["EXTRA"]["description"], "later");
    let (_, secrets) = call(
        get.clone(),
        &format!("{base}/api/spaces/acme/app/secrets"),
        &read,
        None,
    )
    .await;
    assert_eq!(secrets["API_KEY"]["description"], "d");
    let (_, list) = call(get.clone(), &format!("{base}/api/spaces"), &read, None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // The static Space's files are there.
    let (_, site) = call(
        get.clone(),
        &format!("{base}/api/spaces/alice/site"),
        &read,
        None,
    )
    .await;
    assert_eq!(site["siblings"].as_array().unwrap().len(), 3);
    // It served before the kill: the new server starts it again.
    let mut stage = Value::Null;
    for _ in 0..200 {
        let (_, rt) = call(
            get.clone(),
            &format!("{base}/api/spaces/alice/site/runtime"),
            &read,
            None,
        )
        .await;
        stage = rt["stage"].clone();
        if stage == "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stage, "RUNNING");
    // A visit reaches its app.
    let page = reqwest::get(format!("{base}/spaces/alice/site"))
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("alice/site"));
    let missing = reqwest::get(format!("{base}/spaces/alice/site/no-such-file.txt"))
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let (_, rt) = call(
        reqwest::Method::GET,
        &format!("{base}/api/spaces/alice/site/runtime"),
        &read,
        None,
    )
    .await;
    assert_eq!(rt["stage"], "RUNNING");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = child;
    assert!(child.wait().unwrap().success());
}
