//! Fork servers: a pre-imported interpreter per Python environment, so that waking a sleeping
//! Space does not pay the interpreter's start and the SDK's import again.
//!
//! A fork server (`fork_server.py`) runs the environment's interpreter with an environment of
//! its own (`PATH`, locale, time zone, `HOME` in its folder; no Space's variables), imports the
//! SDK and the modules named in the environment's `requirements.txt` once, then forks a child per
//! start that becomes the app: it starts its own session (leading its own process group, so a
//! stop reaches all of it), takes the Space's variables, folder and arguments, and runs the app
//! file as `__main__`. The server reads only a one-line header of each request; the Space's
//! variables are read by the child after the fork, so no Space's secret ever enters the server,
//! and no Space's state reaches another Space forked from it.
//!
//! The first start of an environment is cold (a new interpreter) and starts its fork server in
//! the background; later starts are forked once the server is ready. At most
//! `DEFAULT_FORK_SERVERS` servers run (least recently used stopped first), and a server whose
//! resident memory passes the limit after its imports is stopped and not used. A server stops
//! when its runtime is dropped (its stdin closes); apps it forked keep running until stopped.
//! Any failure falls back to a cold start. The sockets live in `<root>/forks`, a folder only this
//! user may enter (a request starts any code), each socket mode 0600.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, ChildStdin, Command};

use super::build::PASSED_VARIABLES;
use super::python_env::{EnvLease, PythonEnv};

/// The fork server's program.
const SCRIPT: &str = include_str!("fork_server.py");

/// How many fork servers run at most by default.
pub const DEFAULT_FORK_SERVERS: usize = 2;

/// The resident memory a fork server may use after its imports, by default (2 GiB).
pub const DEFAULT_FORK_SERVER_MEMORY: u64 = 2 << 30;

/// How long a forked child may take to report its pid.
const PID_WAIT: Duration = Duration::from_secs(10);

/// Longest Unix socket path (`sun_path` holds 108 bytes with the terminating zero).
const MAX_SOCKET_PATH: usize = 100;

/// The fork servers of one runtime.
#[derive(Debug)]
pub(super) struct ForkServers {
    dir: PathBuf,
    limit: usize,
    memory_limit: u64,
    /// Least recently used first.
    servers: Mutex<Vec<Arc<ForkServer>>>,
}

/// One fork server.
#[derive(Debug)]
pub(super) struct ForkServer {
    key: String,
    socket: PathBuf,
    ready: Arc<AtomicBool>,
    failed: Arc<AtomicBool>,
    pid: Option<u32>,
    /// Dropped with the server: its stdin closes and it exits.
    _stdin: Mutex<Option<ChildStdin>>,
    _child: Mutex<Child>,
    _lease: EnvLease,
}

/// An app forked by a fork server: its pid and its stdout and stderr.
pub(super) struct Forked {
    /// The app's pid (its process group's id).
    pub pid: i32,
    /// The app's stdout.
    pub stdout: BufReader<UnixStream>,
    /// The app's stderr.
    pub stderr: UnixStream,
}

static TOKENS: AtomicU64 = AtomicU64::new(1);

impl ForkServers {
    /// Fork servers with their sockets under `<root>/forks`.
    pub fn new(root: &Path) -> Self {
        Self {
            dir: root.join("forks"),
            limit: DEFAULT_FORK_SERVERS,
            memory_limit: DEFAULT_FORK_SERVER_MEMORY,
            servers: Mutex::default(),
        }
    }

    /// Sets how many servers may run (0: none, every start is cold) and their memory limit.
    pub fn set_limits(&mut self, count: usize, memory_bytes: u64) {
        self.limit = count;
        self.memory_limit = memory_bytes;
    }

    fn servers(&self) -> std::sync::MutexGuard<'_, Vec<Arc<ForkServer>>> {
        self.servers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The ready server of environment `key` (marked most recently used), if any. When there is
    /// none yet, one is started in the background for the next start (with `lease` on the
    /// environment, importing `preload`); `None` means a cold start now.
    pub fn get_or_warm(
        &self,
        env: &PythonEnv,
        lease: impl FnOnce() -> EnvLease,
        preload: &[String],
    ) -> Option<Arc<ForkServer>> {
        if self.limit == 0 {
            return None;
        }
        let mut servers = self.servers();
        servers.retain(|s| !s.failed.load(Ordering::SeqCst));
        if let Some(i) = servers.iter().position(|s| s.key == env.key) {
            let server = servers.remove(i);
            servers.push(Arc::clone(&server));
            return server.ready.load(Ordering::SeqCst).then_some(server);
        }
        let socket = self.dir.join(format!("{}.sock", env.key));
        if socket.as_os_str().len() > MAX_SOCKET_PATH || private_dir(&self.dir).is_err() {
            return None;
        }
        match ForkServer::spawn(env, socket, lease(), preload, self.memory_limit) {
            Ok(server) => {
                servers.push(Arc::new(server));
                while servers.len() > self.limit {
                    servers.remove(0); // dropped: its stdin closes and it exits
                }
            }
            Err(e) => tracing::warn!("fork server of environment {} not started: {e}", env.key),
        }
        None
    }

    /// The pid and resident memory (bytes) of each running server, for reports.
    pub fn memory(&self) -> Vec<(String, u32, u64)> {
        self.servers()
            .iter()
            .filter_map(|s| {
                let pid = s.pid?;
                Some((s.key.clone(), pid, resident_bytes(pid)?))
            })
            .collect()
    }
}

impl super::LocalRuntime {
    /// Keeps at most `count` fork servers (0: none, every start of a Python Space is cold), each
    /// using at most `memory_bytes` of resident memory after its imports. The default is 2
    /// servers of at most 2 GiB each.
    pub fn with_fork_servers(mut self, count: usize, memory_bytes: u64) -> Self {
        self.fork_servers.set_limits(count, memory_bytes);
        self
    }

    /// The resident memory of each running fork server, in bytes, with its pid.
    pub fn fork_server_memory(&self) -> Vec<(u32, u64)> {
        self.fork_servers
            .memory()
            .into_iter()
            .map(|(_, pid, bytes)| (pid, bytes))
            .collect()
    }
}

/// Makes `dir` readable by this user only (the sockets in it start apps with any code).
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// `VmRSS` of a process, in bytes.
fn resident_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl ForkServer {
    fn spawn(
        env: &PythonEnv,
        socket: PathBuf,
        lease: EnvLease,
        preload: &[String],
        memory_limit: u64,
    ) -> std::io::Result<Self> {
        let home = socket.with_extension("home");
        std::fs::create_dir_all(&home)?;
        let mut cmd = Command::new(env.python());
        cmd.args(["-I", "-u", "-B", "-c", SCRIPT])
            .arg(&socket)
            .args(preload)
            .current_dir(&home)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for key in PASSED_VARIABLES {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        let mut path = OsString::from(env.bin());
        if let Some(outer) = std::env::var_os("PATH") {
            path.push(":");
            path.push(outer);
        }
        cmd.env("PATH", path)
            .env("VIRTUAL_ENV", &env.venv)
            .env("HOME", &home)
            .env("GRADIO_ANALYTICS_ENABLED", "False");
        let mut child = cmd.spawn()?;
        let pid = child.id();
        let (ready, failed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let key = env.key.clone();
        if let Some(out) = child.stdout.take() {
            let (ready, failed, key) = (Arc::clone(&ready), Arc::clone(&failed), key.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.trim() != "ready" {
                        continue;
                    }
                    let rss = pid.and_then(resident_bytes).unwrap_or(0);
                    if rss > memory_limit {
                        tracing::warn!(
                            "fork server {key}: {} MiB resident after its imports, over the \
                             limit of {} MiB; not used",
                            rss >> 20,
                            memory_limit >> 20
                        );
                        failed.store(true, Ordering::SeqCst);
                    } else {
                        tracing::info!(
                            "fork server {key} ready in {:?} ({} MiB resident)",
                            started.elapsed(),
                            rss >> 20
                        );
                        ready.store(true, Ordering::SeqCst);
                    }
                }
                // The server is gone.
                ready.store(false, Ordering::SeqCst);
                failed.store(true, Ordering::SeqCst);
            });
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::debug!("fork server {key}: {line}");
                }
            });
        }
        Ok(Self {
            key: env.key.clone(),
            socket,
            ready,
            failed,
            pid,
            _stdin: Mutex::new(child.stdin.take()),
            _child: Mutex::new(child),
            _lease: lease,
        })
    }

    /// Forks an app: `argv` (the app file and its arguments, or `-m module ...`) run in `cwd`
    /// with exactly `env`. Fails (the caller then starts cold) when the server does not answer.
    pub async fn fork(
        &self,
        cwd: &Path,
        argv: &[OsString],
        env: &[(OsString, OsString)],
    ) -> std::io::Result<Forked> {
        let token = format!(
            "{}-{}",
            std::process::id(),
            TOKENS.fetch_add(1, Ordering::SeqCst)
        );
        let text = |s: &OsString| s.to_string_lossy().into_owned();
        let request = serde_json::json!({
            "cwd": cwd.to_string_lossy(),
            "argv": argv.iter().map(text).collect::<Vec<_>>(),
            "env": env.iter().map(|(k, v)| (text(k), text(v))).collect::<HashMap<_, _>>(),
        });
        let mut message = format!("start {token}\n").into_bytes();
        message.extend(serde_json::to_vec(&request).map_err(std::io::Error::other)?);
        message.push(b'\n');
        let exchange = async {
            let mut first = UnixStream::connect(&self.socket).await?;
            first.write_all(&message).await?;
            let mut second = UnixStream::connect(&self.socket).await?;
            second
                .write_all(format!("attach {token}\n").as_bytes())
                .await?;
            let mut stdout = BufReader::new(first);
            let mut line = String::new();
            stdout.read_line(&mut line).await?;
            let pid = line
                .trim()
                .strip_prefix("pid ")
                .and_then(|p| p.parse::<i32>().ok())
                .filter(|p| *p > 1)
                .ok_or_else(|| {
                    std::io::Error::other(format!("the fork server answered {line:?}"))
                })?;
            Ok::<_, std::io::Error>(Forked {
                pid,
                stdout,
                stderr: second,
            })
        };
        let result = tokio::time::timeout(PID_WAIT, exchange)
            .await
            .map_err(|_| std::io::Error::other("the fork server did not answer in time"))
            .and_then(|r| r);
        if result.is_err() {
            self.failed.store(true, Ordering::SeqCst);
        }
        result
    }
}

/// The modules a fork server imports for an environment of `sdk_package`: the SDK's, then the
/// distributions named in `requirements.txt` as modules (`scikit-learn` is tried as
/// `scikit_learn`; names that are no module are skipped by the server).
pub(super) fn preload_modules(sdk_package: &str, requirements: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = match sdk_package {
        "streamlit" => ["streamlit", "streamlit.web.cli", "streamlit.web.bootstrap"]
            .map(String::from)
            .to_vec(),
        other => vec![other.to_owned()],
    };
    for line in requirements.unwrap_or_default().lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() || line.starts_with('-') {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let module = name.to_ascii_lowercase().replace(['-', '.'], "_");
        if !module.is_empty() && !out.contains(&module) {
            out.push(module);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preloads_are_the_sdk_then_the_requirements() {
        assert_eq!(
            preload_modules("gradio", Some("# c\nnumpy>=1\nscikit-learn==1.5 ; python_version>'3'\n-r x.txt\nPillow[all]\n")),
            ["gradio", "numpy", "scikit_learn", "pillow"]
        );
        assert_eq!(preload_modules("streamlit", None)[0], "streamlit");
    }
}
