//! Fault injection: a seeded workload over 20+ Spaces drives the supervisor in a child process
//! that is SIGKILLed at random points (mid-operation and mid-open) and reopened, again and again.
//!
//! After every reopen and at the end it checks that
//! - no instance runs that the state does not know (processes under the runtime's folder, or
//!   containers by label on Docker) and nothing is billable without an instance;
//! - state and ledger agree on every Space's stage, hardware and storage, and the outbox is empty;
//! - no usage id was reused (the ledger refuses a different event under a known id);
//! - the invoice priced from the ledger equals the invoice computed from the workload's own record
//!   of what really ran: the statuses the supervisor acknowledged, each serving instance checked
//!   over HTTP when it was acknowledged.
//!
//! The clock is a manual one set by each command, so every event of a killed command carries that
//! command's instant, and the child is reopened at that same instant: what the workload could not
//! see (the inside of a killed command) lasts zero minutes.
//!
//! `SPACES_FAULT_SEED`, `SPACES_FAULT_STEPS` change the workload. The Docker run needs the engine
//! (skipped with a reason without it, failed under `SPACES_REQUIRE_DOCKER=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod child;
mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use spaces_billing::ledger::Ledger;
use spaces_core::{Catalog, Timestamp};

use self::model::{Model, Rng};

const CHILD_ENV: &str = "SPACES_FAULT_CHILD";

/// Not a test: the child process's entry point (does nothing unless started as the child).
#[test]
fn fault_child() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child::run(PathBuf::from(dir));
    }
}

#[test]
fn supervisor_survives_sigkill_at_random_points_on_the_local_runtime() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let python =
        which("python3") && std::env::var("SPACES_FAULT_PYTHON").map_or(true, |v| v != "0");
    let required = std::env::var("SPACES_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    assert!(
        python || !required,
        "SPACES_REQUIRE_PYTHON=1 but python3 is not on PATH"
    );
    if !python {
        println!("note: no python3 on PATH: Python Spaces are left out of the workload");
    }
    run(Backend::Local { python });
}

#[cfg(feature = "docker")]
#[test]
fn supervisor_survives_sigkill_at_random_points_on_docker() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let required = std::env::var("SPACES_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    let engine = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !engine {
        assert!(
            !required,
            "SPACES_REQUIRE_DOCKER=1 but no Docker engine answers"
        );
        println!("SKIPPED: no Docker engine answers");
        return;
    }
    if let Err(e) = spaces_runtime::docker::fixtures::busybox_path() {
        assert!(!required, "SPACES_REQUIRE_DOCKER=1 but: {e}");
        println!("SKIPPED: {e}");
        return;
    }
    run(Backend::Docker {
        prefix: format!("spaces-fault-{}", std::process::id()),
    });
}

#[derive(Clone, Debug)]
pub enum Backend {
    Local { python: bool },
    Docker { prefix: String },
}

fn which(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// A running child and its reply lines.
struct Proc {
    child: Child,
    stdin: ChildStdin,
    replies: mpsc::Receiver<Value>,
}

impl Proc {
    fn spawn(dir: &Path, at: Timestamp, backend: &Backend) -> Proc {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["fault_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir)
            .env("SPACES_FAULT_START", at.to_string())
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Backend::Docker { prefix } = backend {
            cmd.env("SPACES_FAULT_DOCKER_PREFIX", prefix);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest's "test fault_child ... " may stand before the first answer; a child
                // killed while writing leaves half a line, never read as an answer.
                let Some(at) = line.find("@@ ") else { continue };
                let Ok(answer) = serde_json::from_str(&line[at + 3..]) else {
                    continue;
                };
                if tx.send(answer).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            stdin,
            replies,
        }
    }

    fn reply(&mut self) -> Value {
        match self.replies.recv_timeout(Duration::from_secs(120)) {
            Ok(v) => v,
            Err(e) => panic!(
                "the child gave no answer ({e}); exit status {:?}",
                self.child.try_wait()
            ),
        }
    }

    fn send(&mut self, cmd: &Value) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn close(mut self) {
        drop(self.stdin);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "child exited with {status}");
        let mut rest = String::new();
        let _ = self
            .child
            .stdout
            .take()
            .map(|mut s| s.read_to_string(&mut rest));
    }
}

/// The workload's figures, printed at the end.
#[derive(Default)]
struct Figures {
    kills: usize,
    kills_in_open: usize,
    steps: usize,
    refused: usize,
    served_checks: usize,
}

fn run(backend: Backend) {
    let seed: u64 = std::env::var("SPACES_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    let steps: usize = std::env::var("SPACES_FAULT_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(match backend {
            Backend::Local { .. } => 320,
            Backend::Docker { .. } => 110,
        });
    println!("fault injection on {backend:?}: seed {seed}, {steps} steps");
    let dir = tempfile::tempdir().unwrap();
    // Whatever happens, nothing of this run is left behind on the machine or the engine.
    let _cleanup = Cleanup(dir.path().to_path_buf(), backend.clone());
    let fixtures = dir.path().join("fixtures");
    model::write_fixtures(&fixtures, &backend);
    let mut rng = Rng(seed);
    let mut model = Model::new(&backend, fixtures);
    let mut at: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    let mut fig = Figures::default();
    // About one command in five is killed (one in two on Docker, whose steps are slower).
    let kill_every = match backend {
        Backend::Local { .. } => 5,
        Backend::Docker { .. } => 2,
    };

    let mut proc = reopen(dir.path(), at, &backend, &mut rng, &mut model, &mut fig);
    for _ in 0..steps {
        at = model.advance(&mut rng, at);
        let cmd = model.next_command(&mut rng, at);
        fig.steps += 1;
        proc.send(&cmd);
        if rng.below(kill_every) == 0 {
            std::thread::sleep(Duration::from_micros(rng.below(30_000)));
            proc.kill();
            fig.kills += 1;
            proc = reopen(dir.path(), at, &backend, &mut rng, &mut model, &mut fig);
            continue;
        }
        let reply = proc.reply();
        if reply["ok"] != json!(true) {
            fig.refused += 1;
        }
        assert_eq!(
            reply["pending"],
            json!(0),
            "usage left in the outbox: {reply}"
        );
        fig.served_checks += model.observe(at, &reply["spaces"]);
    }
    // The end: one more crash and reopen, the checks, then a clean close.
    proc.kill();
    fig.kills += 1;
    let proc = reopen(dir.path(), at, &backend, &mut rng, &mut model, &mut fig);
    let events = check_ledger(dir.path(), &model, true);
    proc.close();
    assert!(fig.kills >= 50, "only {} kills", fig.kills);
    println!(
        "fault injection on {backend:?}: {} kills survived ({} of them during open), {} steps ({} refused), {} usage events in the ledger, {} Spaces checked, {} serving instances answered over HTTP; invoices from the ledger and from the workload's record agree",
        fig.kills, fig.kills_in_open, fig.steps, fig.refused, events, model.spaces_seen(), fig.served_checks
    );
}

/// Starts a child over the state (sometimes killing it during its open, too), then checks
/// everything after the reopen.
fn reopen(
    dir: &Path,
    at: Timestamp,
    backend: &Backend,
    rng: &mut Rng,
    model: &mut Model,
    fig: &mut Figures,
) -> Proc {
    loop {
        let mut proc = Proc::spawn(dir, at, backend);
        if rng.below(6) == 0 {
            std::thread::sleep(Duration::from_micros(rng.below(150_000)));
            proc.kill();
            fig.kills += 1;
            fig.kills_in_open += 1;
            continue;
        }
        let ready = proc.reply();
        assert_eq!(
            ready["pending"],
            json!(0),
            "usage left in the outbox after open: {ready}"
        );
        fig.served_checks += model.observe(at, &ready["spaces"]);
        check_instances(dir, backend, &ready["spaces"]);
        check_ledger(dir, model, false);
        return proc;
    }
}

/// Nothing runs that the state does not know: exactly the serving Spaces have an instance.
fn check_instances(dir: &Path, backend: &Backend, spaces: &Value) {
    let serving: BTreeSet<String> = spaces
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["address"].is_null())
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let billable: BTreeSet<String> = spaces
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| model::billable(s["stage"].as_str().unwrap()))
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(billable, serving, "a billable Space without an instance");
    match backend {
        Backend::Local { .. } => {
            let python_serving = spaces
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["python"] == json!(true) && !s["address"].is_null())
                .count();
            let procs = processes_under(&dir.join("rt"));
            if procs.len() != python_serving {
                let describe: Vec<String> = procs
                    .iter()
                    .map(|p| {
                        let cwd = std::fs::read_link(format!("/proc/{p}/cwd")).unwrap_or_default();
                        let stat =
                            std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                        format!(
                            "{p} in {} ({})",
                            cwd.display(),
                            stat.split_whitespace()
                                .take(8)
                                .collect::<Vec<_>>()
                                .join(" ")
                        )
                    })
                    .collect();
                let records: Vec<String> = std::fs::read_dir(dir.join("rt/instances"))
                    .map(|d| {
                        d.flatten()
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                panic!(
                    "app processes {describe:?} for {python_serving} serving Python Spaces; instance records and folders: {records:?}"
                );
            }
        }
        Backend::Docker { prefix } => {
            let running = containers(prefix, false);
            assert_eq!(
                running.len(),
                serving.len(),
                "containers {running:?} for serving Spaces {serving:?}"
            );
        }
    }
}

/// Processes whose working folder is below `root` (the local runtime's instances).
fn processes_under(root: &Path) -> Vec<u32> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) {
            if cwd.starts_with(&root) {
                out.push(pid);
            }
        }
    }
    out
}

/// Containers of this run (running ones, or all with `all`), standbys excluded unless `all`.
fn containers(prefix: &str, all: bool) -> Vec<String> {
    let mut args = vec!["ps", "-q", "--filter"];
    let label = format!("label=io.spaces.managed={prefix}");
    args.push(&label);
    if all {
        args.push("-a");
    } else {
        args.extend(["--filter", "status=running"]);
    }
    let out = Command::new("docker").args(&args).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// State and ledger agree; ids are unique; with `invoices`, the ledger's invoices equal the
/// workload's. Returns the number of events in the ledger.
fn check_ledger(dir: &Path, model: &Model, invoices: bool) -> usize {
    let ledger = Ledger::open(dir.join("ledger.sqlite")).unwrap();
    let events = ledger.events().unwrap();
    let ids: BTreeSet<_> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), events.len(), "a usage id appears twice");
    let mut last: BTreeMap<String, model::Track> = BTreeMap::new();
    for e in &events {
        let t = last.entry(e.space.as_str().to_owned()).or_default();
        match &e.change {
            spaces_billing::Change::Stage(s) => t.stage = s.as_str().to_owned(),
            spaces_billing::Change::Hardware(f) => t.hw = Some(f.as_str().to_owned()),
            spaces_billing::Change::Storage(s) => t.storage = s.map(|t| t.as_str().to_owned()),
        }
    }
    model.agrees_with_ledger(&last);
    if invoices {
        let catalog = Catalog::seed();
        let from_ledger = ledger.usage_log(&catalog).unwrap();
        let from_model = spaces_billing::UsageLog::parse(&model.usage_jsonl(), &catalog).unwrap();
        for period in ["2026-11", "2026-12"] {
            let p = period.parse().unwrap();
            let a = from_ledger.invoice(p).unwrap().to_json();
            let b = from_model.invoice(p).unwrap().to_json();
            assert_eq!(a, b, "invoice {period}: ledger vs the workload's record");
        }
    }
    events.len()
}

struct Cleanup(PathBuf, Backend);

impl Drop for Cleanup {
    fn drop(&mut self) {
        cleanup(&self.0, &self.1);
    }
}

fn cleanup(dir: &Path, backend: &Backend) {
    match backend {
        Backend::Local { .. } => {
            for pid in processes_under(&dir.join("rt")) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
        Backend::Docker { prefix } => {
            let ids = containers(prefix, true);
            if !ids.is_empty() {
                let _ = Command::new("docker")
                    .arg("rm")
                    .arg("-f")
                    .args(&ids)
                    .output();
            }
            let out = Command::new("docker")
                .args([
                    "volume",
                    "ls",
                    "-q",
                    "--filter",
                    &format!("label=io.spaces.managed={prefix}"),
                ])
                .output()
                .unwrap();
            for v in String::from_utf8_lossy(&out.stdout).lines() {
                let _ = Command::new("docker")
                    .args(["volume", "rm", "-f", v])
                    .output();
            }
            let out = Command::new("docker")
                .args([
                    "images",
                    "-q",
                    "--filter",
                    &format!("label=io.spaces.managed={prefix}"),
                ])
                .output()
                .unwrap();
            for i in String::from_utf8_lossy(&out.stdout).lines() {
                let _ = Command::new("docker").args(["rmi", "-f", i]).output();
            }
            let out = Command::new("docker")
                .args([
                    "network",
                    "ls",
                    "-q",
                    "--filter",
                    &format!("label=io.spaces.managed={prefix}"),
                ])
                .output()
                .unwrap();
            for n in String::from_utf8_lossy(&out.stdout).lines() {
                let _ = Command::new("docker").args(["network", "rm", n]).output();
            }
        }
    }
}
