//! Issue 12 with the real `git` command line against the real server binary: each Space is a
//! git repository at `http://HOST/spaces/{owner}/{name}` (HTTP Basic, any user name, the token as
//! password). Clone a Space, edit its files, push: the runtime goes `RUNNING_BUILDING` (the old
//! revision keeps serving) then `RUNNING` on the pushed sha, and a visit
//! (`GET /spaces/{owner}/{name}/`) returns the new content: a static Space and a Python Space on
//! the local runtime, a Docker Space on the Docker engine (skipped with a printed reason when no
//! engine answers, unless `SPACES_REQUIRE_DOCKER=1`). Pushes without write access are refused,
//! a private Space cannot be cloned by others, and a README with `colorFrom: orange` ends in
//! `CONFIG_ERROR` with `README.md:LINE:COL` in `errorMessage`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// A running `spaces-server serve` over a temporary data folder, users `alice` (member of `acme`)
/// and `bob`; stopped with SIGTERM (then SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    alice: String,
    alice_read: String,
    bob: String,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let data_s = data.to_str().unwrap();
        cli(&["users", "add", "--data", data_s, "alice", "--org", "acme"]);
        cli(&["users", "add", "--data", data_s, "bob"]);
        let token = |args: &[&str]| cli(args).trim().to_owned();
        let alice = token(&["tokens", "create", "--data", data_s, "alice"]);
        let alice_read = token(&["tokens", "create", "--data", data_s, "alice", "--read-only"]);
        let bob = token(&["tokens", "create", "--data", data_s, "bob"]);
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        // Without the per-token rate limit: the stage watchers poll every few milliseconds.
        let help = Command::new(BIN)
            .args(["serve", "--help"])
            .output()
            .unwrap();
        let unlimited: &[&str] = if String::from_utf8_lossy(&help.stdout).contains("--rate-limit") {
            &["--rate-limit", "0"]
        } else {
            &[]
        };
        let mut child = Command::new(BIN)
            .args(["serve", "--data", data_s, "--listen", "127.0.0.1:0"])
            .args(unlimited)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("serve printed {line:?}"))
            .to_owned();
        // Keep draining stdout so that the server never writes into a closed pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        });
        Server {
            child,
            base,
            dir,
            alice,
            alice_read,
            bob,
        }
    }

    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The git URL of a Space with `user:token@` (none when `token` is `None`).
    fn git_url(&self, id: &str, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("http://user:{t}@{}/spaces/{id}", self.addr()),
            None => format!("{}/spaces/{id}", self.base),
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// A fresh folder under the temp dir.
    fn folder(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------ git

/// Runs `git` in `cwd` with no user or system configuration and no prompt.
fn git(cwd: &Path, args: &[&str]) -> Output {
    let home = cwd.parent().unwrap_or(cwd);
    Command::new("git")
        .args(["-c", "credential.helper=", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .env("GIT_AUTHOR_NAME", "Alice")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn git_ok(cwd: &Path, args: &[&str]) -> String {
    let out = git(cwd, args);
    assert!(
        out.status.success(),
        "git {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Clones `url` into `parent/name` and returns the work tree.
fn clone(parent: &Path, url: &str, name: &str) -> PathBuf {
    git_ok(parent, &["clone", "-q", url, name]);
    parent.join(name)
}

fn head(work: &Path) -> String {
    git_ok(work, &["rev-parse", "HEAD"]).trim().to_owned()
}

fn commit_all(work: &Path, message: &str) -> String {
    git_ok(work, &["add", "-A"]);
    git_ok(work, &["commit", "-q", "-m", message]);
    head(work)
}

/// `git push origin HEAD:main`, on a blocking thread.
async fn push(work: &Path) -> Output {
    let work = work.to_path_buf();
    tokio::task::spawn_blocking(move || git(&work, &["push", "-q", "origin", "HEAD:main"]))
        .await
        .unwrap()
}

async fn push_ok(work: &Path) {
    let out = push(work).await;
    assert!(
        out.status.success(),
        "git push failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{:x}{:x}", t.as_secs(), t.subsec_nanos())
}

// ------------------------------------------------------------------------------------ HTTP

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn api(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, String) {
    let mut req = client().request(method, &url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

async fn create(s: &Server, body: Value) {
    let (status, _, text) = api(
        reqwest::Method::POST,
        format!("{}/api/repos/create", s.base),
        Some(&s.alice),
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 200, "POST /api/repos/create {body}: {text}");
}

async fn runtime(s: &Server, id: &str) -> Value {
    let (status, body, text) = api(
        reqwest::Method::GET,
        format!("{}/api/spaces/{id}/runtime", s.base),
        Some(&s.alice),
        None,
    )
    .await;
    assert_eq!(status, 200, "GET /api/spaces/{id}/runtime: {text}");
    body
}

/// Polls the runtime until `done` holds; panics (with the last runtime and the server's log)
/// after `secs` seconds.
async fn wait_until(
    s: &Server,
    id: &str,
    secs: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let rt = runtime(s, id).await;
        if done(&rt) {
            return rt;
        }
        if Instant::now() > deadline {
            panic!(
                "{id}: no {what} after {secs} s; last runtime: {rt}\nserver log:\n{}",
                s.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Space's `sha` from `space_info` (`GET /api/spaces/{id}`).
async fn info_sha(s: &Server, id: &str) -> String {
    let (status, info, text) = api(
        reqwest::Method::GET,
        format!("{}/api/spaces/{id}", s.base),
        Some(&s.alice),
        None,
    )
    .await;
    assert_eq!(status, 200, "GET /api/spaces/{id}: {text}");
    info["sha"]
        .as_str()
        .unwrap_or_else(|| panic!("GET /api/spaces/{id} has no sha: {info}"))
        .to_owned()
}

/// Waits for the Space to be `RUNNING` on the pushed `sha`: the runtime's `sha` when it has one
/// (`runtime_sha_follows_each_push` checks that it does), else `space_info`'s `sha` and a stage
/// other than `RUNNING` seen since the call (the rebuild).
async fn wait_running_on(s: &Server, id: &str, sha: &str, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut rebuilt = false;
    loop {
        let rt = runtime(s, id).await;
        let running = rt["stage"] == "RUNNING";
        rebuilt |= !running;
        match rt.get("sha") {
            Some(got) if running && got == sha => return rt,
            None if running && rebuilt && info_sha(s, id).await == sha => return rt,
            _ => {}
        }
        if Instant::now() > deadline {
            panic!(
                "{id}: no RUNNING on {sha} after {secs} s; last runtime: {rt}\nserver log:\n{}",
                s.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `GET /spaces/{id}/{path}` through the server (the visit forwarder); `/spaces/{id}` for the
/// root (`a_visit_with_a_trailing_slash_reaches_the_app` checks `/spaces/{id}/`).
async fn visit(s: &Server, id: &str, path: &str) -> (u16, String) {
    let url = if path.is_empty() {
        format!("{}/spaces/{id}", s.base)
    } else {
        format!("{}/spaces/{id}/{path}", s.base)
    };
    let r = client()
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = r.status().as_u16();
    (status, r.text().await.unwrap_or_default())
}

/// Records every change of the runtime's `(stage, sha)` until stopped.
struct Watch {
    stop: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<Vec<(String, String)>>,
}

fn watch(s: &Server, id: &str) -> Watch {
    let stop = Arc::new(AtomicBool::new(false));
    let url = format!("{}/api/spaces/{id}/runtime", s.base);
    let token = s.alice.clone();
    let flag = Arc::clone(&stop);
    let handle = tokio::spawn(async move {
        let c = client();
        let mut seen: Vec<(String, String)> = Vec::new();
        loop {
            // One more poll after the stop: the state the caller waited for is the last one.
            let last = flag.load(Ordering::SeqCst);
            if let Ok(r) = c.get(&url).bearer_auth(&token).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    let now = (
                        v["stage"].as_str().unwrap_or("?").to_owned(),
                        v["sha"].as_str().unwrap_or("").to_owned(),
                    );
                    if seen.last() != Some(&now) {
                        seen.push(now);
                    }
                }
            }
            if last {
                break;
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        seen
    });
    Watch { stop, handle }
}

impl Watch {
    async fn finish(self) -> Vec<(String, String)> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.await.unwrap()
    }
}

fn short(seen: &[(String, String)]) -> String {
    seen.iter()
        .map(|(stage, sha)| format!("{stage}@{}", &sha[..sha.len().min(7)]))
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// The stages seen after a push of `new` to a Space that served `old`: `RUNNING_BUILDING`, then
/// `RUNNING` on `new` as the last one, and never a stage that stops serving.
fn assert_rebuilt(seen: &[(String, String)], old: &str, new: &str) {
    let trail = short(seen);
    let building = seen
        .iter()
        .position(|(stage, _)| stage == "RUNNING_BUILDING");
    assert!(
        building.is_some(),
        "no RUNNING_BUILDING seen after the push of {new} (old {old}): {trail}"
    );
    let last = seen.last().unwrap();
    assert_eq!(last.0, "RUNNING", "last stage after the push: {trail}");
    if !last.1.is_empty() {
        assert_eq!(last.1, new, "the runtime's sha after the push: {trail}");
    }
    for (stage, _) in seen {
        assert!(
            ["RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"].contains(&stage.as_str()),
            "the old revision stopped serving during the rebuild: {trail}"
        );
    }
}

// ------------------------------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_space_clone_edit_push_serves_the_new_revision() {
    let s = Server::start(&[]);
    let id = "alice/site";
    create(
        &s,
        json!({"name": "site", "type": "space", "sdk": "static"}),
    )
    .await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let old = info_sha(&s, id).await;

    let work = s.folder("w");
    // `.git` is accepted at the end of the URL.
    let tree = clone(
        &work,
        &format!("{}.git", s.git_url(id, Some(&s.alice))),
        "site",
    );
    assert_eq!(head(&tree), old, "the clone's HEAD is the runtime's sha");
    assert!(
        tree.join("index.html").is_file(),
        "no index.html in the clone"
    );
    assert!(
        tree.join("README.md").is_file(),
        "no README.md in the clone"
    );

    let marker = format!("static v2 {}", nonce());
    write(
        &tree,
        "index.html",
        &format!("<!doctype html><p>{marker}</p>\n"),
    );
    // Enough files that the build (a copy of the revision) lasts long enough to be seen.
    for i in 0..400 {
        write(
            &tree,
            &format!("assets/f{i}.txt"),
            &format!("file {i} {marker}\n"),
        );
    }
    let new = commit_all(&tree, "new page");
    let w = watch(&s, id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    push_ok(&tree).await;
    let remote = git_ok(&tree, &["ls-remote", "origin", "refs/heads/main"]);
    assert!(
        remote.starts_with(&new),
        "ls-remote after the push: {remote}"
    );
    wait_running_on(&s, id, &new, 60).await;
    let seen = w.finish().await;
    assert_rebuilt(&seen, &old, &new);

    let (status, body) = visit(&s, id, "").await;
    assert_eq!(status, 200, "GET /spaces/{id}/ after the push: {body}");
    assert!(
        body.contains(&marker),
        "GET /spaces/{id}/ serves {body:?}, expected {marker:?}"
    );
    let (status, body) = visit(&s, id, "assets/f7.txt").await;
    assert_eq!(
        (status, body.trim()),
        (200, format!("file 7 {marker}").as_str())
    );

    assert_eq!(info_sha(&s, id).await, new, "space_info sha after the push");

    // Anyone may clone a public Space and gets the new revision.
    let other = clone(&work, &s.git_url(id, Some(&s.bob)), "bob-site");
    assert_eq!(head(&other), new);
    let anon = clone(&work, &s.git_url(id, None), "anon-site");
    assert_eq!(
        std::fs::read_to_string(anon.join("index.html")).unwrap(),
        format!("<!doctype html><p>{marker}</p>\n")
    );
}

/// A Python app serving `text` on `$PORT`; `padding` lines of data make its compile (the build's
/// check) last long enough for the rebuild to be seen.
fn app_py(text: &str, padding: usize) -> String {
    let mut data = String::from("DATA = [");
    for i in 0..padding {
        data.push_str(&i.to_string());
        data.push(',');
    }
    data.push_str("]\n");
    format!(
        r#"import http.server
import os

{data}
BODY = {text:?}.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_space_push_rebuilds_while_the_old_revision_serves() {
    let s = Server::start(&[]);
    let id = "alice/app";
    let v1 = format!("python v1 {}", nonce());
    create(
        &s,
        json!({"name": "app", "type": "space", "sdk": "gradio",
               "files": [{"path": "app.py", "content": app_py(&v1, 0), "encoding": "utf-8"}]}),
    )
    .await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let old = info_sha(&s, id).await;
    let (status, body) = visit(&s, id, "").await;
    assert_eq!((status, body.as_str()), (200, v1.as_str()));

    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "app");
    assert_eq!(head(&tree), old);
    let readme = std::fs::read_to_string(tree.join("README.md")).unwrap();
    assert!(
        readme.contains("sdk: gradio"),
        "README of the clone: {readme}"
    );

    let v2 = format!("python v2 {}", nonce());
    write(&tree, "app.py", &app_py(&v2, 150_000));
    let new = commit_all(&tree, "v2");
    let w = watch(&s, id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    push_ok(&tree).await;

    // While the new revision builds, the old one answers.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut old_served_while_building = 0;
    let mut rebuilt = false;
    loop {
        let before = runtime(&s, id).await;
        let running = before["stage"] == "RUNNING";
        rebuilt |= !running;
        let on_new = match before.get("sha") {
            Some(sha) => sha == new.as_str(),
            None => rebuilt && info_sha(&s, id).await == new,
        };
        if running && on_new {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{id}: no RUNNING on {new}: {before}\n{}",
            s.log_tail()
        );
        if before["stage"] == "RUNNING_BUILDING" {
            let (status, body) = visit(&s, id, "").await;
            let after = runtime(&s, id).await;
            if after["stage"] == "RUNNING_BUILDING" {
                assert_eq!(
                    (status, body.as_str()),
                    (200, v1.as_str()),
                    "a visit during RUNNING_BUILDING must reach the old revision"
                );
                old_served_while_building += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = w.finish().await;
    assert_rebuilt(&seen, &old, &new);
    assert!(
        old_served_while_building > 0,
        "no visit landed during RUNNING_BUILDING: {}",
        short(&seen)
    );
    let (status, body) = visit(&s, id, "").await;
    assert_eq!(
        (status, body.as_str()),
        (200, v2.as_str()),
        "GET /spaces/{id}/ after the push"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_without_write_access_are_refused_and_private_spaces_are_not_cloned_by_others() {
    let s = Server::start(&[]);
    create(&s, json!({"name": "pub", "type": "space", "sdk": "static"})).await;
    create(
        &s,
        json!({"name": "priv", "type": "space", "sdk": "static", "private": true}),
    )
    .await;
    wait_until(&s, "alice/pub", 60, "RUNNING", |rt| {
        rt["stage"] == "RUNNING"
    })
    .await;
    let sha = info_sha(&s, "alice/pub").await;
    let work = s.folder("w");

    // bob (another user), alice's read-only token and no token at all: each push is refused.
    let cases: [(&str, Option<&str>); 3] = [
        ("bob", Some(&s.bob)),
        ("alice-read", Some(&s.alice_read)),
        ("anonymous", None),
    ];
    for (who, token) in cases {
        let tree = clone(&work, &s.git_url("alice/pub", token), &format!("pub-{who}"));
        write(&tree, "index.html", &format!("<p>defaced by {who}</p>\n"));
        commit_all(&tree, "deface");
        let out = push(&tree).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "a push by {who} to alice/pub was accepted: {err}"
        );
        let remote = git_ok(
            &tree,
            &[
                "ls-remote",
                &s.git_url("alice/pub", Some(&s.alice)),
                "refs/heads/main",
            ],
        );
        assert!(
            remote.starts_with(&sha),
            "main moved after {who}'s refused push: {remote}"
        );
        eprintln!("push by {who} refused: {}", err.trim().replace('\n', " | "));
    }
    assert_eq!(info_sha(&s, "alice/pub").await, sha);
    let (_, body) = visit(&s, "alice/pub", "").await;
    assert!(
        !body.contains("defaced"),
        "a refused push is served: {body}"
    );

    // The private Space: bob and anonymous clones fail (ls-remote too), alice's works.
    for (who, token) in [("bob", Some(s.bob.as_str())), ("anonymous", None)] {
        let url = s.git_url("alice/priv", token);
        let out = git(&work, &["clone", "-q", &url, &format!("priv-{who}")]);
        assert!(
            !out.status.success(),
            "{who} cloned the private alice/priv: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!work.join(format!("priv-{who}")).join("README.md").exists());
        let out = git(&work, &["ls-remote", &url]);
        assert!(
            !out.status.success(),
            "{who} listed the refs of the private alice/priv"
        );
        eprintln!(
            "clone by {who} refused: {}",
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " | ")
        );
    }
    let tree = clone(
        &work,
        &s.git_url("alice/priv", Some(&s.alice)),
        "priv-alice",
    );
    assert!(tree.join("README.md").is_file());
    // bob cannot push to it either.
    let out = git(
        &tree,
        &[
            "push",
            "-q",
            &s.git_url("alice/priv", Some(&s.bob)),
            "HEAD:main",
        ],
    );
    assert!(
        !out.status.success(),
        "bob pushed to the private alice/priv"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_readme_with_a_bad_color_is_a_config_error_with_its_line_and_column() {
    let s = Server::start(&[]);
    let id = "alice/cfg";
    create(&s, json!({"name": "cfg", "type": "space", "sdk": "static"})).await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "cfg");
    let good = std::fs::read_to_string(tree.join("README.md")).unwrap();
    // `colorFrom: orange` on line 4.
    write(
        &tree,
        "README.md",
        "---\ntitle: Cfg\nemoji: 🚀\ncolorFrom: orange\ncolorTo: blue\nsdk: static\npinned: false\n---\n\nBad colour.\n",
    );
    let bad = commit_all(&tree, "orange");
    push_ok(&tree).await;
    let rt = wait_until(&s, id, 60, "CONFIG_ERROR", |rt| {
        rt["stage"] == "CONFIG_ERROR"
    })
    .await;
    let message = rt["errorMessage"].as_str().unwrap_or("").to_owned();
    let at = message
        .find("README.md:")
        .unwrap_or_else(|| panic!("errorMessage without README.md:LINE:COL: {rt}"));
    let mut parts = message[at + "README.md:".len()..].split(':');
    let line: u32 = parts.next().unwrap_or("").parse().unwrap_or(0);
    let col: u32 = parts
        .next()
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    eprintln!("CONFIG_ERROR errorMessage: {message}");
    assert_eq!(line, 4, "line in errorMessage {message:?}");
    // `colorFrom: orange`: the value starts at column 12.
    assert_eq!(col, 12, "column in errorMessage {message:?}");
    assert!(
        message.contains("orange") || message.contains("colorFrom"),
        "{message:?}"
    );
    assert_eq!(
        info_sha(&s, id).await,
        bad,
        "space_info follows the pushed commit"
    );

    // Fixing the README builds and serves again.
    write(&tree, "README.md", &good);
    let fixed = commit_all(&tree, "fix");
    push_ok(&tree).await;
    wait_running_on(&s, id, &fixed, 60).await;
    let (status, _) = visit(&s, id, "").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_sha_follows_each_push() {
    let s = Server::start(&[]);
    let id = "alice/sha";
    create(&s, json!({"name": "sha", "type": "space", "sdk": "static"})).await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let first = info_sha(&s, id).await;
    let rt = runtime(&s, id).await;
    assert_eq!(
        rt["sha"],
        first.as_str(),
        "GET /api/spaces/{id}/runtime sha before any push: {rt}"
    );
    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "sha");
    for i in 0..2 {
        let marker = format!("sha {i} {}", nonce());
        write(&tree, "index.html", &format!("<p>{marker}</p>\n"));
        let new = commit_all(&tree, &marker);
        push_ok(&tree).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = visit(&s, id, "").await;
            if status == 200 && body.contains(&marker) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{id}: push {i} not served: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let rt = wait_until(&s, id, 10, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
        assert_eq!(
            rt["sha"],
            new.as_str(),
            "GET /api/spaces/{id}/runtime sha after push {i} (serving it): {rt}"
        );
        assert_eq!(info_sha(&s, id).await, new);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_with_a_trailing_slash_reaches_the_app() {
    let s = Server::start(&[]);
    let id = "alice/slash";
    create(
        &s,
        json!({"name": "slash", "type": "space", "sdk": "static"}),
    )
    .await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let (_, plain) = visit(&s, id, "").await;
    let url = format!("{}/spaces/{id}/", s.base);
    let r = client().get(&url).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, 200, "GET /spaces/{id}/: {body}");
    assert_eq!(body, plain, "GET /spaces/{id}/ and GET /spaces/{id} differ");
}

fn docker_answers() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|st| st.success())
        .unwrap_or(false)
}

/// The fixture's serving Space (busybox `httpd`), its page replaced by `text`.
fn docker_space(dir: &Path, tag: &str, text: &str) {
    spaces_runtime::docker::fixtures::write_serving(dir, Some(tag)).unwrap();
    let script = spaces_runtime::docker::fixtures::serving_script();
    let script = script.replace(
        "echo \"persistent=$persistent ephemeral=$ephemeral\" > /app/www/index.html",
        &format!("echo '{text}' > /app/www/index.html"),
    );
    assert!(
        script.contains(text),
        "the fixture's start.sh changed shape"
    );
    write(dir, "start.sh", &script);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_space_push_rebuilds_on_the_docker_engine() {
    if !docker_answers() {
        assert!(
            std::env::var("SPACES_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "SPACES_REQUIRE_DOCKER=1 and no Docker engine answers `docker version`"
        );
        eprintln!("skipped: no Docker engine answers `docker version` (SPACES_REQUIRE_DOCKER=1 makes this a failure)");
        return;
    }
    let s = Server::start(&["--docker"]);
    let id = "alice/dock";
    let tag = format!("git-push-{}", nonce());
    create(
        &s,
        json!({"name": "dock", "type": "space", "sdk": "docker"}),
    )
    .await;
    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "dock");
    write(
        &tree,
        "README.md",
        "---\ntitle: Dock\nemoji: 🐳\ncolorFrom: blue\ncolorTo: green\nsdk: docker\napp_port: 7860\npinned: false\n---\n",
    );
    let v1 = format!("docker v1 {}", nonce());
    docker_space(&tree, &tag, &v1);
    let first = commit_all(&tree, "docker v1");
    push_ok(&tree).await;
    let result = async {
        wait_running_on(&s, id, &first, 300).await;
        let (status, body) = visit(&s, id, "").await;
        assert_eq!(
            (status, body.trim()),
            (200, v1.as_str()),
            "GET /spaces/{id}/ after the first push"
        );

        let v2 = format!("docker v2 {}", nonce());
        docker_space(&tree, &tag, &v2);
        let new = commit_all(&tree, "docker v2");
        let w = watch(&s, id);
        tokio::time::sleep(Duration::from_millis(50)).await;
        push_ok(&tree).await;
        wait_running_on(&s, id, &new, 300).await;
        let seen = w.finish().await;
        assert_rebuilt(&seen, &first, &new);
        let (status, body) = visit(&s, id, "").await;
        assert_eq!(
            (status, body.trim()),
            (200, v2.as_str()),
            "GET /spaces/{id}/ after the second push"
        );
    };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(result)).await;
    // Clean up: the Space (its containers) and every image of the fixture's tag.
    let _ = api(
        reqwest::Method::DELETE,
        format!("{}/api/repos/delete", s.base),
        Some(&s.alice),
        Some(json!({"name": "dock", "type": "space"})),
    )
    .await;
    drop(s);
    let ids = Command::new("docker")
        .args([
            "images",
            "-q",
            "--filter",
            &format!("label=io.spaces.fixture={tag}"),
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let _ = Command::new("docker")
            .args(["rmi", "-f"])
            .args(&ids)
            .output();
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

#[path = "git_push/lfs.rs"]
mod lfs;
