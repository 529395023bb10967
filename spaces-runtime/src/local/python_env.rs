//! Python environments of the local runtime: a virtual environment per set of installed things,
//! built with pip like the Hub's builds, cached by the hash of what it installs.
//!
//! A gradio or streamlit Space gets an environment when its README sets `sdk_version` or its
//! repository has a `requirements.txt` or `pre-requirements.txt`. The environment holds the SDK
//! (`gradio==<sdk_version>`, `streamlit==<sdk_version>`, the latest release when no version is
//! set), with `pre-requirements.txt` installed first, then the SDK and `requirements.txt` in one
//! pip call. A Space with none of these runs on the machine's Python as it is (a standard-library
//! app needs nothing installed).
//!
//! Layout: `<root>/envs/<key>/venv` (the environment), `<root>/envs/<key>/ready` (written last:
//! an environment without it is unfinished and rebuilt), `<root>/envs/<key>/last_used` (touched at
//! every build and start; eviction removes the least recently used). The key is a hash of the
//! interpreter's version and path, the SDK requirement and both requirement files' bytes, so an
//! unchanged rebuild, or a second Space with the same requirements, installs nothing. pip's
//! downloads are cached in `SPACES_PIP_CACHE` when set (tests and CI share one), else in
//! `<root>/pip-cache`; a built environment needs no network to run.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use spaces_core::{Sdk, SpaceId};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::records::remove_dir_if_present;
use super::{blocking, LocalRuntime};
use crate::Error;

/// How many environments are kept by default; more are evicted, least recently used first.
pub const DEFAULT_ENV_LIMIT: usize = 8;

/// The variable naming a pip download cache shared across runtime roots.
pub const PIP_CACHE_VARIABLE: &str = "SPACES_PIP_CACHE";

/// The file, at the top of an image, naming the image's environment (never copied into an
/// instance).
pub(super) const IMAGE_ENV_FILE: &str = ".spaces-python-env";

/// Variables of this process that pip may see besides the locale and `PATH`: its own
/// configuration (`PIP_*`) and the proxy and certificate settings of the machine.
const PIP_PASSED_VARIABLES: [&str; 8] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
];

/// The environments of one runtime root, with the leases of running instances.
#[derive(Debug)]
pub(super) struct PythonEnvs {
    dir: PathBuf,
    pip_cache: PathBuf,
    limit: usize,
    leases: Arc<Mutex<HashMap<String, usize>>>,
    building: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// What an environment installs; its hash is the environment's key.
#[derive(Clone, Debug)]
pub(super) struct EnvSpec {
    /// The interpreter the environment is made from.
    pub python: PathBuf,
    /// Its full version, `3.11.7`.
    pub python_version: String,
    /// The SDK requirement, `gradio==5.9.1`.
    pub sdk_requirement: String,
    /// `pre-requirements.txt`, when present.
    pub pre_requirements: Option<Vec<u8>>,
    /// `requirements.txt`, when present.
    pub requirements: Option<Vec<u8>>,
}

impl EnvSpec {
    /// The hash of everything installed, 24 hex digits.
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"spaces-python-env v1\n");
        h.update(self.python_version.as_bytes());
        h.update(b"\n");
        h.update(self.python.as_os_str().as_encoded_bytes());
        h.update(b"\n");
        h.update(self.sdk_requirement.as_bytes());
        for file in [&self.pre_requirements, &self.requirements] {
            match file {
                Some(bytes) => {
                    h.update(format!("\nfile {}\n", bytes.len()).as_bytes());
                    h.update(bytes);
                }
                None => h.update(b"\nnone\n"),
            }
        }
        h.finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A running instance's hold on its environment: held environments are never evicted.
#[derive(Debug)]
pub(super) struct EnvLease {
    key: String,
    leases: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for EnvLease {
    fn drop(&mut self) {
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = leases.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                leases.remove(&self.key);
            }
        }
    }
}

/// A built environment.
#[derive(Clone, Debug)]
pub(super) struct PythonEnv {
    /// Its key.
    pub key: String,
    /// The virtual environment's folder.
    pub venv: PathBuf,
}

impl PythonEnv {
    /// The environment's interpreter.
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    /// The environment's `bin` folder, first on the app's `PATH`.
    pub fn bin(&self) -> PathBuf {
        self.venv.join("bin")
    }
}

fn touch(path: &Path) -> io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.set_modified(SystemTime::now())
}

impl PythonEnvs {
    /// The environments under `<root>/envs`.
    pub fn new(root: &Path) -> Self {
        let pip_cache = std::env::var_os(PIP_CACHE_VARIABLE)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("pip-cache"));
        Self {
            dir: root.join("envs"),
            pip_cache,
            limit: DEFAULT_ENV_LIMIT,
            leases: Arc::default(),
            building: Mutex::default(),
        }
    }

    fn env_dir(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    /// The built environment `key`, if it is ready.
    pub fn ready(&self, key: &str) -> Option<PythonEnv> {
        let dir = self.env_dir(key);
        dir.join("ready").is_file().then(|| PythonEnv {
            key: key.to_owned(),
            venv: dir.join("venv"),
        })
    }

    /// Takes a lease on `env` (it is not evicted while held) and marks it used now.
    pub fn lease(&self, env: &PythonEnv) -> EnvLease {
        let _ = touch(&self.env_dir(&env.key).join("last_used"));
        *self
            .leases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(env.key.clone())
            .or_default() += 1;
        EnvLease {
            key: env.key.clone(),
            leases: Arc::clone(&self.leases),
        }
    }

    /// The environment for `spec`: reused when built already (logged as such), else built with
    /// pip, its output appended to `log` line by line (and traced as it comes). A failing pip is
    /// [`Error::BuildFailed`] with the log's tail.
    pub async fn ensure(
        &self,
        space: &SpaceId,
        spec: &EnvSpec,
        log: &mut Vec<String>,
    ) -> Result<PythonEnv, Error> {
        let key = spec.key();
        let gate = Arc::clone(
            self.building
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key.clone())
                .or_default(),
        );
        let _building = gate.lock().await;
        if let Some(env) = self.ready(&key) {
            log.push(format!(
                "python environment {key} reused ({}; nothing installed)",
                spec.sdk_requirement
            ));
            let _ = touch(&self.env_dir(&key).join("last_used"));
            return Ok(env);
        }
        let dir = self.env_dir(&key);
        let venv = dir.join("venv");
        {
            let (dir, cache) = (dir.clone(), self.pip_cache.clone());
            blocking(format!("preparing {}", dir.display()), move || {
                remove_dir_if_present(&dir)?;
                std::fs::create_dir_all(&dir)?;
                std::fs::create_dir_all(cache)
            })
            .await?;
        }
        log.push(format!(
            "creating python environment {key} (Python {} at {})",
            spec.python_version,
            spec.python.display()
        ));
        let failed = |reason: String, log: &Vec<String>| Error::BuildFailed {
            space: space.clone(),
            reason,
            log_tail: super::build::tail(log, 40),
        };
        let mut venv_cmd = Command::new(&spec.python);
        venv_cmd.args(["-I", "-m", "venv"]).arg(&venv);
        if let Err(reason) = self.run_logged(venv_cmd, &dir, log).await? {
            let _ = remove_dir_if_present(&dir);
            return Err(failed(
                format!("creating the virtual environment: {reason}"),
                log,
            ));
        }
        let pip = |args: &[OsString]| {
            let mut cmd = Command::new(venv.join("bin").join("python"));
            cmd.args([
                "-m",
                "pip",
                "install",
                "--no-input",
                "--progress-bar",
                "off",
            ])
            .args(args);
            cmd
        };
        if let Some(pre) = &spec.pre_requirements {
            let file = dir.join("pre-requirements.txt");
            write_file(&file, pre).await?;
            log.push("installing pre-requirements.txt".into());
            let cmd = pip(&["-r".into(), file.into_os_string()]);
            if let Err(reason) = self.run_logged(cmd, &dir, log).await? {
                let _ = remove_dir_if_present(&dir);
                return Err(failed(
                    format!("pip install -r pre-requirements.txt {reason}"),
                    log,
                ));
            }
        }
        let mut args: Vec<OsString> = vec![spec.sdk_requirement.clone().into()];
        if let Some(req) = &spec.requirements {
            let file = dir.join("requirements.txt");
            write_file(&file, req).await?;
            args.push("-r".into());
            args.push(file.into_os_string());
        }
        log.push(format!(
            "installing {}{}",
            spec.sdk_requirement,
            if spec.requirements.is_some() {
                " and requirements.txt"
            } else {
                ""
            }
        ));
        if let Err(reason) = self.run_logged(pip(&args), &dir, log).await? {
            let _ = remove_dir_if_present(&dir);
            return Err(failed(format!("pip install {reason}"), log));
        }
        {
            let dir = dir.clone();
            blocking("marking the environment ready", move || {
                touch(&dir.join("last_used"))?;
                std::fs::write(dir.join("ready"), b"ready\n")
            })
            .await?;
        }
        log.push(format!("python environment {key} ready"));
        self.evict(&key, log).await;
        Ok(PythonEnv { key, venv })
    }

    /// Runs `cmd` with only pip's variables, its output appended to `log`. `Ok(Err(why))` when
    /// it ran and failed.
    async fn run_logged(
        &self,
        mut cmd: Command,
        home: &Path,
        log: &mut Vec<String>,
    ) -> Result<Result<(), String>, Error> {
        cmd.env_clear()
            .current_dir(home)
            .env("HOME", home)
            .env("PIP_CACHE_DIR", &self.pip_cache)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for key in super::build::PASSED_VARIABLES
            .iter()
            .chain(PIP_PASSED_VARIABLES.iter())
        {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        for (key, value) in std::env::vars_os() {
            let is_pip = key
                .to_str()
                .is_some_and(|k| k.starts_with("PIP_") && k != "PIP_CACHE_DIR");
            if is_pip {
                cmd.env(key, value);
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(Error::io("starting python for the environment"))?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        if let Some(out) = child.stdout.take() {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = tx.send(line);
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = tx.send(line);
                }
            });
        }
        drop(tx);
        while let Some(line) = rx.recv().await {
            tracing::info!(target: "spaces_runtime::local::build", "{line}");
            log.push(line);
        }
        let status = child
            .wait()
            .await
            .map_err(Error::io("waiting for python"))?;
        Ok(if status.success() {
            Ok(())
        } else {
            Err(match status.code() {
                Some(code) => format!("failed with exit code {code}"),
                None => "was killed by a signal".to_owned(),
            })
        })
    }

    /// Removes the least recently used environments beyond the limit, never `keep` nor one a
    /// running instance holds.
    async fn evict(&self, keep: &str, log: &mut Vec<String>) {
        let held: Vec<String> = self
            .leases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        let (dir, limit, keep) = (self.dir.clone(), self.limit, keep.to_owned());
        let removed = blocking("evicting python environments", move || {
            let mut envs = Vec::new();
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let path = entry.path();
                let used = std::fs::metadata(path.join("last_used"))
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                envs.push((used, entry.file_name().to_string_lossy().into_owned(), path));
            }
            envs.sort();
            let mut removed = Vec::new();
            let mut left = envs.len();
            for (_, name, path) in envs {
                if left <= limit {
                    break;
                }
                if name == keep || held.contains(&name) {
                    continue;
                }
                remove_dir_if_present(&path)?;
                removed.push(name);
                left -= 1;
            }
            Ok(removed)
        })
        .await;
        match removed {
            Ok(removed) => log.extend(
                removed
                    .into_iter()
                    .map(|k| format!("evicted python environment {k} (least recently used)")),
            ),
            Err(e) => log.push(format!("evicting python environments: {e}")),
        }
    }
}

async fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let (p, b) = (path.to_path_buf(), bytes.to_vec());
    blocking(format!("writing {}", path.display()), move || {
        std::fs::write(p, b)
    })
    .await
}

/// The SDK's package name on PyPI.
pub(super) fn sdk_package(sdk: Sdk) -> Option<&'static str> {
    match sdk {
        Sdk::Gradio => Some("gradio"),
        Sdk::Streamlit => Some("streamlit"),
        _ => None,
    }
}

impl LocalRuntime {
    /// Keeps at most `limit` Python environments (at least 1) under `<root>/envs`; more are
    /// evicted after a build, least recently used first, except those running instances use.
    pub fn with_python_env_limit(mut self, limit: usize) -> Self {
        self.python_envs.limit = limit.max(1);
        self
    }

    /// Caches pip's downloads in `dir` (shared by runtimes with other roots), instead of
    /// `SPACES_PIP_CACHE` or `<root>/pip-cache`.
    pub fn with_pip_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.python_envs.pip_cache = dir.into();
        self
    }

    /// The folder pip's downloads are cached in (`SPACES_PIP_CACHE`, else `<root>/pip-cache`).
    pub fn pip_cache(&self) -> &Path {
        &self.python_envs.pip_cache
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn spec(req: Option<&str>) -> EnvSpec {
        EnvSpec {
            python: PathBuf::from("/usr/bin/python3"),
            python_version: "3.11.7".into(),
            sdk_requirement: "gradio==5.9.1".into(),
            pre_requirements: None,
            requirements: req.map(|r| r.as_bytes().to_vec()),
        }
    }

    #[test]
    fn the_key_is_the_hash_of_what_is_installed() {
        assert_eq!(spec(Some("numpy\n")).key(), spec(Some("numpy\n")).key());
        assert_ne!(
            spec(Some("numpy\n")).key(),
            spec(Some("numpy\npandas\n")).key()
        );
        assert_ne!(spec(None).key(), spec(Some("")).key());
        let mut other = spec(None);
        other.sdk_requirement = "gradio==5.9.0".into();
        assert_ne!(spec(None).key(), other.key());
        let mut pre = spec(Some("numpy\n"));
        pre.pre_requirements = Some(b"numpy\n".to_vec());
        assert_ne!(pre.key(), spec(Some("numpy\n")).key());
        assert_eq!(spec(None).key().len(), 24);
    }

    #[tokio::test]
    async fn eviction_removes_the_least_recently_used_but_not_held_ones() {
        let root = tempfile::tempdir().unwrap();
        let mut envs = PythonEnvs::new(root.path());
        envs.limit = 2;
        for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
            let dir = envs.env_dir(key);
            std::fs::create_dir_all(dir.join("venv")).unwrap();
            std::fs::write(dir.join("ready"), "").unwrap();
            let file = std::fs::File::create(dir.join("last_used")).unwrap();
            let when = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i as u64);
            file.set_modified(when).unwrap();
        }
        let a = envs.ready("a").unwrap();
        let lease = envs.lease(&a); // "a" is now the most recent, and held
        let file = std::fs::File::options()
            .write(true)
            .open(envs.env_dir("a").join("last_used"))
            .unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH).unwrap(); // oldest, but held
        let mut log = Vec::new();
        envs.evict("d", &mut log).await;
        assert!(envs.ready("a").is_some(), "held");
        assert!(
            envs.ready("b").is_none() && envs.ready("c").is_none(),
            "{log:?}"
        );
        assert!(envs.ready("d").is_some());
        drop(lease);
        assert!(envs.leases.lock().unwrap().is_empty());
    }
}
