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

#[path = "git_push/access.rs"]
mod access;
#[path = "git_push/docker.rs"]
mod docker;
#[path = "git_push/lfs.rs"]
mod lfs;
#[path = "git_push/rebuilds.rs"]
mod rebuilds;
