//! The remote commands of the `spaces` binary against spaces-server started in-process: the
//! end-to-end flow (create, wait, status, info, list, variables, secrets from stdin, upload,
//! logs, hardware, sleep time, pause, restart, storage, duplicate, delete), `--json` output,
//! the token from `--token`, `HF_TOKEN` or the token file, and the exit codes (0, 1 on an API
//! error with its message on stderr, 2 on a usage error).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The same in-process server as spaces-client's end-to-end tests.
#[path = "../../spaces-client/tests/spaces_server_env/mod.rs"]
mod spaces_server_env;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use spaces_server_env::ServerEnv;

struct Cli<'a> {
    env: &'a ServerEnv,
    home: &'a Path,
}

impl Cli<'_> {
    /// Runs `spaces args...` with `HF_ENDPOINT` and `HF_TOKEN` set (token `None`: not set).
    fn run(&self, token: Option<&str>, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_spaces"));
        cmd.args(args)
            .env_remove("HF_TOKEN")
            .env_remove("HUGGING_FACE_HUB_TOKEN")
            .env_remove("HF_TOKEN_PATH")
            .env("HF_HOME", self.home)
            .env("HF_ENDPOINT", &self.env.url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = token {
            cmd.env("HF_TOKEN", t);
        }
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// As alice; asserts exit 0 and parses stdout as JSON.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(Some(&self.env.alice), &all, None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out.stdout)))
    }

    /// As alice, human output; asserts exit 0.
    fn human(&self, args: &[&str]) -> String {
        let out = self.run(Some(&self.env.alice), args, None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_commands_end_to_end() {
    let env = ServerEnv::start().await;
    let home = tempfile::tempdir().unwrap();
    let cli = Cli {
        env: &env,
        home: home.path(),
    };

    // create, then the same again: 409 → exit 1 with the server's message.
    let v = cli.json(&["create", "alice/site", "--sdk", "static"]);
    assert!(
        v["url"].as_str().unwrap().ends_with("/spaces/alice/site"),
        "{v}"
    );
    let out = cli.run(
        Some(&env.alice),
        &["create", "alice/site", "--sdk", "static"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("conflict"),
        "{}",
        text(&out.stderr)
    );

    let v = cli.json(&["wait", "alice/site", "--timeout", "120"]);
    assert_eq!(v["stage"], "RUNNING", "{v}");
    let v = cli.json(&["status", "alice/site"]);
    assert_eq!(v["stage"], "RUNNING");
    assert!(cli
        .human(&["status", "alice/site"])
        .starts_with("alice/site: RUNNING"));
    let v = cli.json(&["info", "alice/site"]);
    assert_eq!(v["id"], "alice/site");
    assert!(cli.human(&["info", "alice/site"]).contains("static"));
    let v = cli.json(&["list", "--author", "alice", "--limit", "10"]);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert!(cli
        .human(&["list", "--search", "site"])
        .contains("alice/site"));

    // Variables and secrets (the secret's value from stdin, never printed).
    let v = cli.json(&["variables", "set", "alice/site", "MODEL", "org/model"]);
    assert_eq!(v[0]["key"], "MODEL");
    assert_eq!(v[0]["value"], "org/model");
    assert!(cli
        .human(&["variables", "list", "alice/site"])
        .contains("org/model"));
    let v = cli.json(&["variables", "delete", "alice/site", "MODEL"]);
    assert_eq!(v, serde_json::json!([]));
    let out = cli.run(
        Some(&env.alice),
        &["secrets", "set", "alice/site", "API_KEY"],
        Some("very-secret-value\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = cli.run(
        Some(&env.alice),
        &["secrets", "list", "alice/site", "--json"],
        None,
    );
    let listed = text(&out.stdout);
    assert!(
        listed.contains("API_KEY") && !listed.contains("very-secret-value"),
        "{listed}"
    );
    cli.human(&["secrets", "delete", "alice/site", "API_KEY"]);
    assert_eq!(
        cli.json(&["secrets", "list", "alice/site"]),
        serde_json::json!([])
    );

    // upload, wait, build logs.
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("index.html"),
        "<h1>from the spaces CLI</h1>",
    )
    .unwrap();
    std::fs::write(site.path().join("blob.bin"), vec![1u8; 3000]).unwrap();
    let v = cli.json(&[
        "upload",
        "alice/site",
        site.path().to_str().unwrap(),
        "--message",
        "CLI upload",
    ]);
    let oid = v["commitOid"].as_str().unwrap().to_owned();
    assert_eq!(cli.json(&["info", "alice/site"])["sha"], oid.as_str());
    assert_eq!(cli.json(&["wait", "alice/site"])["stage"], "RUNNING");
    let logs = cli.human(&["logs", "alice/site", "--build"]);
    assert!(!logs.trim().is_empty());
    let out = cli.run(
        Some(&env.alice),
        &["logs", "alice/site", "--build", "--json"],
        None,
    );
    let first: Value = serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert!(first["text"].is_string());

    // A gradio Space: hardware, sleep time, pause, restart, storage.
    let v = cli.json(&[
        "create",
        "alice/g",
        "--sdk",
        "gradio",
        "--hardware",
        "cpu-upgrade",
        "--sleep-time",
        "3600",
    ]);
    assert!(v["url"].is_string());
    let v = cli.json(&["status", "alice/g"]);
    assert_eq!(v["hardware"]["requested"], "cpu-upgrade");
    assert_eq!(v["gcTimeout"], 3600);
    let v = cli.json(&["hardware", "alice/g", "t4-small", "--sleep-time", "600"]);
    assert_eq!(v["hardware"]["requested"], "t4-small");
    assert_eq!(v["gcTimeout"], 600);
    let v = cli.json(&["sleep-time", "alice/g", "never"]);
    assert!(v["gcTimeout"].is_null(), "{v}");
    assert!(cli
        .human(&["sleep-time", "alice/g", "7200"])
        .contains("sleeps after 7200 s"));
    assert_eq!(cli.json(&["pause", "alice/g"])["stage"], "PAUSED");
    let v = cli.json(&["restart", "alice/g", "--factory"]);
    assert_ne!(v["stage"], "PAUSED");
    assert_eq!(
        cli.json(&["storage", "request", "alice/g", "small"])["storage"],
        "small"
    );
    let out = cli.run(Some(&env.alice), &["storage", "delete", "alice/g"], None);
    assert_eq!(out.status.code(), Some(2), "no --yes-delete-data");
    let v = cli.json(&["storage", "delete", "alice/g", "--yes-delete-data"]);
    assert!(v["storage"].is_null());

    // duplicate, delete.
    let v = cli.json(&["duplicate", "alice/site", "alice/copy", "--private"]);
    assert!(v["url"].as_str().unwrap().ends_with("/spaces/alice/copy"));
    assert_eq!(cli.json(&["info", "alice/copy"])["private"], true);
    let out = cli.run(Some(&env.alice), &["delete", "alice/copy"], None);
    assert_eq!(out.status.code(), Some(2), "no --yes");
    assert!(text(&out.stderr).contains("--yes"));
    cli.human(&["delete", "alice/copy", "--yes"]);
    let out = cli.run(Some(&env.alice), &["info", "alice/copy"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );

    // Access errors: bob's token → 403, exit 1, the server's message on stderr.
    let out = cli.run(Some(&env.bob), &["pause", "alice/g"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("forbidden"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains(&env.bob),
        "the token is never printed"
    );
    // No token at all → 401 on create.
    let out = cli.run(None, &["create", "alice/x", "--sdk", "static"], None);
    assert_eq!(out.status.code(), Some(1));

    // --token, and the token file under HF_HOME.
    let out = cli.run(
        None,
        &["pause", "alice/g", "--token", &env.alice, "--json"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::write(home.path().join("token"), format!("{}\n", env.alice)).unwrap();
    let out = cli.run(None, &["restart", "alice/g", "--json"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::remove_file(home.path().join("token")).unwrap();
    // --endpoint wins over HF_ENDPOINT.
    let out = cli.run(
        Some(&env.alice),
        &[
            "status",
            "alice/g",
            "--endpoint",
            "http://127.0.0.1:9",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "nothing listens on port 9");

    // Usage errors: exit 2.
    for args in [
        vec!["status", "not-an-id"],
        vec!["sleep-time", "alice/g", "soon"],
        vec!["create", "alice/y", "--sdk", "cobol"],
        vec!["storage", "request", "alice/g", "huge"],
        vec!["hardware", "alice/g"],
    ] {
        let out = cli.run(Some(&env.alice), &args, None);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = cli.run(
        Some(&env.alice),
        &["status", "alice/g", "--endpoint", "ftp://x"],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
