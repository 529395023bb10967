//! The local runtime: runs Spaces on this machine with no container engine. Always compiled; the
//! embedded default.
//!
//! - `static` Spaces are served by an HTTP server inside this process.
//! - `gradio` and `streamlit` Spaces run `python3 <app_file>` as a child process in the instance's
//!   folder, with the port in `PORT` and `GRADIO_SERVER_PORT` (and `GRADIO_SERVER_NAME=127.0.0.1`).
//!   The build checks that the app file compiles (`python3 -m py_compile`); dependencies in
//!   `requirements.txt` are not installed (the machine's Python is used as it is).
//! - `docker` Spaces are [`Error::Unsupported`]: use the Docker backend.
//!
//! Layout under the runtime's root folder: `images/<owner>/<name>/<revision>/` (a built image is a
//! copy of the revision's files), `instances/<id>/` (an instance's ephemeral disk: a fresh copy of
//! the image, wiped at every start and removed at stop), `volumes/<owner>/<name>/` (persistent
//! storage, kept across restarts, removed only by [`Runtime::delete_volume`]).
//!
//! There is no `/data` mount without a container: the instance's folder has a `data` link to the
//! Space's volume, the app gets `SPACE_DATA_DIR` with its absolute path, and an `HF_HOME` of
//! `/data/.huggingface` (the platform default) is pointed at `<volume>/.huggingface`.
//!
//! Limits not enforced here: CPU and memory limits of the flavor, the storage tier's size, and the
//! egress rule (a child process has the machine's network). They are reported in the instance's
//! runtime log. Use the Docker backend where they matter.

mod logbook;
mod static_server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use spaces_core::{Sdk, SpaceId, HF_HOME_ON_STORAGE};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use self::logbook::Logbook;
use crate::runtime::{
    BuildOutput, BuildRequest, Image, Instance, InstanceId, InstanceSpec, InstanceState, LogSource,
    LogStream, Runtime,
};
use crate::Error;

const BACKEND: &str = "local";

/// How long a stopped app gets to exit after SIGKILL is sent.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Runs Spaces on this machine, without a container engine: static Spaces in-process, Python
/// Spaces as child processes, Docker Spaces unsupported.
///
/// Layout under the root folder: `images/<owner>/<name>/<revision>/` (a built image is a copy of
/// the revision's files), `instances/<id>/` (an instance's ephemeral disk, fresh at every start,
/// removed at stop), `volumes/<owner>/<name>/` (persistent storage, linked into the instance as
/// `./data` and named in `SPACE_DATA_DIR`; an `HF_HOME` of `/data/.huggingface` is pointed
/// there). Not enforced here: the flavor's CPU and memory limits, the storage size and the
/// egress rule (a child process has the machine's network); use the Docker backend where they
/// matter.
#[derive(Debug)]
pub struct LocalRuntime {
    root: PathBuf,
    python: Option<PathBuf>,
    next_id: AtomicU64,
    instances: Mutex<HashMap<InstanceId, Arc<LocalInstance>>>,
}

#[derive(Debug)]
enum Work {
    Server(JoinHandle<()>),
    Process(Box<tokio::sync::Mutex<Child>>),
}

#[derive(Debug)]
struct LocalInstance {
    space: SpaceId,
    dir: PathBuf,
    work: Work,
    log: Arc<Logbook>,
    stopped: Mutex<bool>,
}

impl LocalRuntime {
    /// A runtime keeping its images, instances and volumes under `root`. Finds `python3` (or
    /// `python`) on `PATH` for Python Spaces.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        for sub in ["images", "instances", "volumes"] {
            std::fs::create_dir_all(root.join(sub))
                .map_err(Error::io(format!("creating {}", root.join(sub).display())))?;
        }
        Ok(Self {
            root,
            python: find_python(),
            next_id: AtomicU64::new(1),
            instances: Mutex::new(HashMap::new()),
        })
    }

    /// The Python interpreter used for gradio and streamlit Spaces, if one was found.
    pub fn python(&self) -> Option<&Path> {
        self.python.as_deref()
    }

    /// The folder of a Space's persistent volume.
    pub fn volume_dir(&self, space: &SpaceId) -> PathBuf {
        self.root
            .join("volumes")
            .join(space.owner())
            .join(space.name())
    }

    fn instance(&self, id: &InstanceId) -> Result<Arc<LocalInstance>, Error> {
        self.instances
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: format!("instance {id}"),
            })
    }

    fn python_for(&self, sdk: Sdk) -> Result<&Path, Error> {
        self.python.as_deref().ok_or_else(|| Error::Unsupported {
            backend: BACKEND,
            what: format!("{sdk} Spaces on a machine without python3 on PATH"),
        })
    }
}

fn find_python() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["python3", "python"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Copies a folder tree, skipping `.git`. Returns the number of files copied.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(to)?;
    let mut files = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(&name);
        if kind.is_dir() {
            files += copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
            files += 1;
        }
    }
    Ok(files)
}

fn remove_dir_if_present(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn tail(log: &[String], n: usize) -> String {
    log[log.len().saturating_sub(n)..].join("\n")
}

#[async_trait]
impl Runtime for LocalRuntime {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn build(&self, req: BuildRequest) -> Result<BuildOutput, Error> {
        if req.sdk == Sdk::Docker {
            return Err(Error::Unsupported {
                backend: BACKEND,
                what: "docker Spaces (enable the `docker` feature and use DockerRuntime)".into(),
            });
        }
        let mut log = vec![format!(
            "building {} at {} ({} SDK){}",
            req.space,
            req.revision.short(),
            req.sdk,
            if req.no_cache {
                ", without cache (the local runtime keeps no build cache)"
            } else {
                ""
            }
        )];
        let failed = |reason: String, log: &Vec<String>| Error::BuildFailed {
            space: req.space.clone(),
            reason,
            log_tail: tail(log, 40),
        };
        if !req.source.join(&req.app_file).is_file() {
            log.push(format!(
                "error: app file `{}` not found in the repository",
                req.app_file
            ));
            return Err(failed(
                format!("app file `{}` not found", req.app_file),
                &log,
            ));
        }
        let dir = self
            .root
            .join("images")
            .join(req.space.owner())
            .join(req.space.name())
            .join(req.revision.as_str());
        let (source, target) = (req.source.clone(), dir.clone());
        let copied = tokio::task::spawn_blocking(move || {
            remove_dir_if_present(&target)?;
            copy_tree(&source, &target)
        })
        .await
        .map_err(|e| Error::io("copying the revision")(std::io::Error::other(e)))?
        .map_err(Error::io(format!(
            "copying the revision into {}",
            dir.display()
        )))?;
        log.push(format!("copied {copied} files"));

        if matches!(req.sdk, Sdk::Gradio | Sdk::Streamlit) {
            let python = self.python_for(req.sdk)?;
            log.push(format!("checking that {} compiles", req.app_file));
            let out = Command::new(python)
                .args(["-m", "py_compile", req.app_file.as_str()])
                .current_dir(&dir)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .output()
                .await
                .map_err(Error::io("running python -m py_compile"))?;
            for text in [&out.stdout, &out.stderr] {
                log.extend(String::from_utf8_lossy(text).lines().map(str::to_owned));
            }
            if !out.status.success() {
                let _ = remove_dir_if_present(&dir);
                return Err(failed(format!("{} does not compile", req.app_file), &log));
            }
            if dir.join("requirements.txt").is_file() {
                log.push("requirements.txt present: not installed by the local runtime".into());
            }
        }
        log.push(format!("image ready: {}", dir.display()));
        Ok(BuildOutput {
            image: Image {
                reference: dir.display().to_string(),
                space: req.space,
                revision: req.revision,
                sdk: req.sdk,
                app_file: req.app_file,
            },
            log,
        })
    }

    async fn start(&self, spec: InstanceSpec) -> Result<Instance, Error> {
        let image = &spec.image;
        if image.sdk == Sdk::Docker {
            return Err(Error::Unsupported {
                backend: BACKEND,
                what: "docker Spaces".into(),
            });
        }
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = InstanceId(format!("local-{}-{n}", std::process::id()));
        let dir = self.root.join("instances").join(&id.0);
        let image_dir = PathBuf::from(&image.reference);
        let volume = spec.volume.as_ref().map(|_| self.volume_dir(&image.space));
        {
            let (target, volume) = (dir.clone(), volume.clone());
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                // A fresh ephemeral disk: a new copy of the image.
                remove_dir_if_present(&target)?;
                copy_tree(&image_dir, &target)?;
                if let Some(volume) = volume {
                    std::fs::create_dir_all(&volume)?;
                    let link = target.join("data");
                    remove_dir_if_present(&link)?;
                    std::os::unix::fs::symlink(&volume, link)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| Error::io("preparing the instance")(std::io::Error::other(e)))?
            .map_err(Error::io(format!(
                "preparing instance folder {}",
                dir.display()
            )))?;
        }
        let log = Arc::new(Logbook::default());
        let secrets = spec
            .env
            .entries()
            .iter()
            .filter(|(_, v)| v.is_secret())
            .count();
        if let Some(hw) = &spec.hardware {
            log.push(
                LogSource::Runtime,
                format!(
                    "flavor {}: {} vCPU, {} GB (not enforced by the local runtime)",
                    hw.id, hw.vcpu, hw.memory_gb
                ),
            );
        }

        let (work, address) = match image.sdk {
            Sdk::Static => {
                let listener = TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .map_err(Error::io("binding a port for the static server"))?;
                let address = listener
                    .local_addr()
                    .map_err(Error::io("reading the static server's address"))?;
                log.push(
                    LogSource::Runtime,
                    format!("serving static files on http://{address}"),
                );
                (
                    Work::Server(static_server::serve(listener, dir.clone())),
                    address,
                )
            }
            sdk => {
                let python = self.python_for(sdk)?;
                // Take a free port from the kernel, then hand it to the app.
                let address = {
                    let probe = std::net::TcpListener::bind(("127.0.0.1", 0))
                        .map_err(Error::io("finding a free port"))?;
                    probe
                        .local_addr()
                        .map_err(Error::io("finding a free port"))?
                };
                let port = address.port().to_string();
                let mut cmd = Command::new(python);
                cmd.arg("-u")
                    .arg(&image.app_file)
                    .current_dir(&dir)
                    .env_clear()
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true);
                for key in ["PATH", "LANG", "LC_ALL", "TZ"] {
                    if let Some(v) = std::env::var_os(key) {
                        cmd.env(key, v);
                    }
                }
                cmd.env("HOME", &dir);
                for (name, value) in spec.env.entries() {
                    cmd.env(name, value.expose());
                }
                if let Some(volume) = &volume {
                    cmd.env("SPACE_DATA_DIR", volume);
                    if spec.env.get("HF_HOME") == Some(HF_HOME_ON_STORAGE) {
                        cmd.env("HF_HOME", volume.join(".huggingface"));
                    }
                }
                cmd.env("PORT", &port)
                    .env("GRADIO_SERVER_PORT", &port)
                    .env("GRADIO_SERVER_NAME", "127.0.0.1")
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                let mut child = cmd.spawn().map_err(Error::io(format!(
                    "starting {} {}",
                    python.display(),
                    image.app_file
                )))?;
                log.push(
                    LogSource::Runtime,
                    format!(
                        "started `python3 {}` (pid {}) on port {port} with {} variables ({secrets} secret, not shown)",
                        image.app_file,
                        child.id().unwrap_or(0),
                        spec.env.entries().len()
                    ),
                );
                if let Some(out) = child.stdout.take() {
                    pipe_lines(out, LogSource::Stdout, Arc::clone(&log));
                }
                if let Some(err) = child.stderr.take() {
                    pipe_lines(err, LogSource::Stderr, Arc::clone(&log));
                }
                (
                    Work::Process(Box::new(tokio::sync::Mutex::new(child))),
                    address,
                )
            }
        };
        if volume.is_some() {
            log.push(
                LogSource::Runtime,
                "persistent storage linked at ./data".to_string(),
            );
        }
        let instance = Arc::new(LocalInstance {
            space: image.space.clone(),
            dir,
            work,
            log,
            stopped: Mutex::new(false),
        });
        self.instances
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), instance);
        Ok(Instance {
            id,
            space: image.space.clone(),
            address,
        })
    }

    async fn state(&self, id: &InstanceId) -> Result<InstanceState, Error> {
        let inst = self.instance(id)?;
        if *inst.stopped.lock().unwrap_or_else(|e| e.into_inner()) {
            return Ok(InstanceState::Stopped);
        }
        match &inst.work {
            Work::Server(task) if task.is_finished() => Ok(InstanceState::Exited {
                code: None,
                oom_killed: false,
            }),
            Work::Server(_) => Ok(InstanceState::Running),
            Work::Process(child) => {
                let status = child
                    .lock()
                    .await
                    .try_wait()
                    .map_err(Error::io(format!("checking instance {id}")))?;
                Ok(match status {
                    None => InstanceState::Running,
                    Some(s) => InstanceState::Exited {
                        code: s.code(),
                        oom_killed: false,
                    },
                })
            }
        }
    }

    async fn logs(&self, id: &InstanceId, follow: bool) -> Result<LogStream, Error> {
        Ok(self.instance(id)?.log.stream(follow))
    }

    async fn stop(&self, id: &InstanceId) -> Result<(), Error> {
        let inst = self.instance(id)?;
        {
            let mut stopped = inst.stopped.lock().unwrap_or_else(|e| e.into_inner());
            if *stopped {
                return Ok(());
            }
            *stopped = true;
        }
        match &inst.work {
            Work::Server(task) => task.abort(),
            Work::Process(child) => {
                let mut child = child.lock().await;
                if child.try_wait().ok().flatten().is_none() {
                    let _ = child.start_kill();
                    let _ = tokio::time::timeout(KILL_WAIT, child.wait()).await;
                }
            }
        }
        inst.log
            .push(LogSource::Runtime, format!("{} stopped", inst.space));
        inst.log.close();
        let dir = inst.dir.clone();
        tokio::task::spawn_blocking(move || remove_dir_if_present(&dir))
            .await
            .map_err(|e| Error::io("removing the instance folder")(std::io::Error::other(e)))?
            .map_err(Error::io(format!("removing {}", inst.dir.display())))?;
        Ok(())
    }

    async fn remove_image(&self, image: &Image) -> Result<(), Error> {
        let dir = PathBuf::from(&image.reference);
        if !dir.starts_with(self.root.join("images")) {
            return Err(Error::NotFound {
                what: format!("image {}", image.reference),
            });
        }
        tokio::task::spawn_blocking(move || remove_dir_if_present(&dir))
            .await
            .map_err(|e| Error::io("removing an image")(std::io::Error::other(e)))?
            .map_err(Error::io(format!("removing image {}", image.reference)))
    }

    async fn delete_volume(&self, space: &SpaceId) -> Result<(), Error> {
        let dir = self.volume_dir(space);
        tokio::task::spawn_blocking(move || remove_dir_if_present(&dir))
            .await
            .map_err(|e| Error::io("deleting a volume")(std::io::Error::other(e)))?
            .map_err(Error::io(format!("deleting the volume of {space}")))
    }

    async fn running(&self) -> Result<Vec<Instance>, Error> {
        // Placeholder until instances of earlier processes are recorded.
        Ok(Vec::new())
    }

    async fn discard_prepared(&self, _space: &SpaceId) -> Result<(), Error> {
        // Nothing is prepared ahead of a start here.
        Ok(())
    }
}

fn pipe_lines<R>(reader: R, source: LogSource, log: Arc<Logbook>)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.push(source, line);
        }
    });
}
