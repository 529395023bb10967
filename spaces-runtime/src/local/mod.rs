//! The local runtime: runs Spaces on this machine with no container engine. Always compiled; the
//! embedded default.
//!
//! - `static` Spaces are served by an HTTP server inside this process (they stop with it).
//! - `gradio` and `streamlit` Spaces run `python3 -u ./<app_file>` as a child process in the
//!   instance's folder, as the leader of its own process group, with the port in `PORT` and
//!   `GRADIO_SERVER_PORT` (and `GRADIO_SERVER_NAME=127.0.0.1`). The app's environment is its
//!   variables and secrets plus `PATH`, locale and time zone, nothing else of this process. A stop
//!   sends SIGTERM to the whole group, waits a short grace, then sends SIGKILL, so nothing the app
//!   forked survives it. The build checks that the app file compiles (`python3 -I -m
//!   py_compile`) and, when the Space sets `sdk_version` or has a `requirements.txt` (or
//!   `pre-requirements.txt`), installs them with pip into a cached virtual environment (see
//!   `python_env`); the app then runs in it as the Hub runs it (see `sdk_run`), forked from a
//!   pre-imported interpreter once one is ready (see `fork_server`). Without these the machine's
//!   Python is used as it is.
//! - `docker` Spaces are [`Error::Unsupported`]: use the Docker backend. GPU flavors are
//!   [`Error::Unsupported`] unless the runtime was given a GPU allocator
//!   ([`LocalRuntime::with_gpus`]): then each start of a GPU flavor takes whole GPUs of the
//!   flavor's model and count from it (refused with [`Error::Unavailable`] when too few are free)
//!   and the app gets them by UUID in `CUDA_VISIBLE_DEVICES` and `NVIDIA_VISIBLE_DEVICES`; the
//!   stop releases them. Apps of CPU flavors get `CUDA_VISIBLE_DEVICES=` (empty) and
//!   `NVIDIA_VISIBLE_DEVICES=void`: they see no GPU.
//!
//! Layout under the runtime's root folder: `images/<owner>/<name>/<revision>/` (a built image is a
//! copy of the revision's files without links; see `build`), `instances/<id>/` (an instance's
//! ephemeral disk: a fresh copy of the image, removed at stop), `instances/<id>.json` (the
//! instance's record: its Space, address, the process that started it and the app's pid, process
//! group and start time; see `records`), `volumes/<owner>/<name>/` (persistent storage, kept across
//! restarts, removed only by [`Runtime::delete_volume`]).
//!
//! **Reconciliation.** When this process dies without stopping its Python apps (SIGKILL, a
//! crash), the apps keep running. A later [`LocalRuntime`] over the same root finds them through
//! their records: [`Runtime::running`] lists every app whose leader still runs with its recorded
//! start time, and [`Runtime::stop`] stops such an app's process group and removes its folder and
//! record. Records of apps that are gone, and of static Spaces whose serving process is gone, are
//! removed (with their folders) by `running()`, and so are those this same process left through a
//! runtime it dropped (its apps gone since); the GPU leases of all of them are released. Instances of another live process using the same
//! root are neither listed nor touched: one root belongs to one supervisor. Instance ids hold this
//! process's pid and start, so they never repeat across processes. Not covered: a crash in the
//! instant between an app's spawn and its record (the record then names no app, and the app is
//! not found); forked processes whose group leader already exited when the earlier process died
//! (a group is only signalled while its id is provably the app's).
//!
//! **Memory.** A stopped instance leaves the runtime's table at once; only the last
//! [`STOPPED_KEPT`] stopped ids are remembered so that [`Runtime::state`] answers `Stopped`
//! for them. Logs are bounded (see `logbook`): lines cut at 16 KiB, 10,000 lines and 4 MiB kept,
//! followers that fall behind lose lines with a marker.
//!
//! There is no `/data` mount without a container: the instance's folder has a `data` link to the
//! Space's volume, the app gets `SPACE_DATA_DIR` with its absolute path, and an `HF_HOME` of
//! `/data/.huggingface` (the platform default) is pointed at `<volume>/.huggingface`.
//!
//! Limits not enforced here: CPU and memory limits of the flavor, the storage tier's size, and the
//! egress rule (a child process has the machine's network). They are reported in the instance's
//! runtime log. Use the Docker backend where they matter.

mod build;
mod fork_server;
mod interpreter;
mod logbook;
mod process;
mod python_env;
mod records;
mod sdk_run;
mod start;
mod static_server;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use spaces_core::{Sdk, SpaceId};
use tokio::task::JoinHandle;

use self::logbook::Logbook;
use self::process::{AppProcess, ProcessRef};
use self::records::{is_valid_id, remove_dir_if_present, Record, Records};
use crate::nvidia::GpuAllocator;
use crate::runtime::{
    BuildOutput, BuildRequest, Image, Instance, InstanceId, InstanceSpec, InstanceState, LogSource,
    LogStream, Runtime,
};
use crate::Error;

const BACKEND: &str = "local";

/// The prefix of this runtime's GPU holders (`local:<instance id>`).
const GPU_HOLDER_PREFIX: &str = "local:";

/// The GPU holder name of an instance.
fn gpu_holder(id: &str) -> String {
    format!("{GPU_HOLDER_PREFIX}{id}")
}

/// How many stopped instance ids are remembered (to answer [`InstanceState::Stopped`]).
const STOPPED_KEPT: usize = 4096;

/// Runs Spaces on this machine, without a container engine: static Spaces in-process, Python
/// Spaces as child processes (each leading its own process group), Docker Spaces unsupported, GPU
/// flavors only with a GPU allocator ([`LocalRuntime::with_gpus`]).
///
/// Layout under the root folder: `images/<owner>/<name>/<revision>/` (a built image is a copy of
/// the revision's files), `instances/<id>/` (an instance's ephemeral disk, fresh at every start,
/// removed at stop) with its record `instances/<id>.json`, `volumes/<owner>/<name>/` (persistent
/// storage, linked into the instance as `./data` and named in `SPACE_DATA_DIR`; an `HF_HOME` of
/// `/data/.huggingface` is pointed there). Python apps left running by an earlier process over
/// the same root (one killed before it could stop them) are listed by [`Runtime::running`] and
/// stopped by [`Runtime::stop`]. Not enforced here: the flavor's CPU and memory limits, the
/// storage size and the egress rule (a child process has the machine's network); use the Docker
/// backend where they matter.
#[derive(Debug)]
pub struct LocalRuntime {
    root: PathBuf,
    python: Option<PathBuf>,
    records: Records,
    table: Mutex<Table>,
    gpus: Option<Arc<GpuAllocator>>,
    python_envs: python_env::PythonEnvs,
    fork_servers: fork_server::ForkServers,
}

/// The instances this runtime started and has not stopped, and the ids it stopped lately.
#[derive(Debug, Default)]
struct Table {
    live: HashMap<InstanceId, Arc<LocalInstance>>,
    stopped: StoppedIds,
}

/// The last [`STOPPED_KEPT`] stopped ids.
#[derive(Debug, Default)]
struct StoppedIds {
    order: VecDeque<InstanceId>,
    set: HashSet<InstanceId>,
}

impl StoppedIds {
    fn insert(&mut self, id: InstanceId) {
        if self.set.insert(id.clone()) {
            self.order.push_back(id);
        }
        while self.order.len() > STOPPED_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    fn contains(&self, id: &InstanceId) -> bool {
        self.set.contains(id)
    }
}

#[derive(Debug)]
enum Work {
    Server(JoinHandle<()>),
    Process(Box<AppProcess>),
}

#[derive(Debug)]
struct LocalInstance {
    space: SpaceId,
    address: std::net::SocketAddr,
    work: Work,
    log: Arc<Logbook>,
    /// A stop has begun: the instance answers `Stopped` from now on.
    stopping: AtomicBool,
    /// The Python environment it runs in, held while it lives.
    _env: Option<python_env::EnvLease>,
}

impl LocalInstance {
    fn state(&self, id: &InstanceId) -> Result<InstanceState, Error> {
        if self.stopping.load(Ordering::SeqCst) {
            return Ok(InstanceState::Stopped);
        }
        match &self.work {
            Work::Server(task) if task.is_finished() => Ok(InstanceState::Exited {
                code: None,
                oom_killed: false,
            }),
            Work::Server(_) => Ok(InstanceState::Running),
            Work::Process(app) => Ok(
                match app
                    .exit_status()
                    .map_err(Error::io(format!("checking instance {id}")))?
                {
                    None => InstanceState::Running,
                    Some(code) => InstanceState::Exited {
                        code,
                        oom_killed: false,
                    },
                },
            ),
        }
    }
}

impl Drop for LocalInstance {
    /// A dropped runtime stops serving its static Spaces (an app process kills its own group).
    fn drop(&mut self) {
        if let Work::Server(task) = &self.work {
            task.abort();
        }
    }
}

/// Runs blocking file work off the async threads; `what` is the error's context.
async fn blocking<T, F>(what: impl Into<String>, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> std::io::Result<T> + Send + 'static,
{
    let what = what.into();
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::io(what.clone())(std::io::Error::other(e)))?
        .map_err(Error::io(what))
}

/// A log that has ended, with one runtime line.
fn ended_log(text: String) -> LogStream {
    let log = Logbook::default();
    log.push(LogSource::Runtime, text);
    log.close();
    log.stream(false)
}

impl LocalRuntime {
    /// A runtime keeping its images, instances and volumes under `root` (made absolute). Finds
    /// `python3` (or `python`) on `PATH` for Python Spaces.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        let root = std::path::absolute(&root)
            .map_err(Error::io(format!("resolving {}", root.display())))?;
        for sub in ["images", "instances", "volumes"] {
            std::fs::create_dir_all(root.join(sub))
                .map_err(Error::io(format!("creating {}", root.join(sub).display())))?;
        }
        Ok(Self {
            python_envs: python_env::PythonEnvs::new(&root),
            fork_servers: fork_server::ForkServers::new(&root),
            records: Records::new(root.join("instances")),
            root,
            python: find_python(),
            table: Mutex::new(Table::default()),
            gpus: None,
        })
    }

    /// This runtime, giving GPU flavors whole GPUs from `gpus`: each start of a GPU flavor takes
    /// the flavor's model and count (refused with [`Error::Unavailable`] when too few are free),
    /// the app gets them by UUID in `CUDA_VISIBLE_DEVICES` and `NVIDIA_VISIBLE_DEVICES` (and
    /// `LD_LIBRARY_PATH` of this process, where the driver's libraries may be), and the stop
    /// releases them. Leases of this runtime's instances that have no record under its root any more (a crash
    /// between the lease and the record) are released now. One allocator serves one local
    /// runtime root.
    pub fn with_gpus(mut self, gpus: Arc<GpuAllocator>) -> Result<Self, Error> {
        let scan = self
            .records
            .scan()
            .map_err(Error::io("reading the instance records"))?;
        let live = scan.records.iter().map(|r| gpu_holder(&r.id)).collect();
        for lease in gpus.release_all_but(GPU_HOLDER_PREFIX, &live)? {
            tracing::info!(gpu = %lease.uuid, space = %lease.space, "released the GPU of a vanished instance");
        }
        self.gpus = Some(gpus);
        Ok(self)
    }

    /// The GPU allocator, when one was given.
    pub fn gpus(&self) -> Option<&Arc<GpuAllocator>> {
        self.gpus.as_ref()
    }

    /// Releases the GPUs an instance held (nothing without an allocator).
    fn release_gpus(&self, id: &InstanceId) -> Result<(), Error> {
        if let Some(gpus) = &self.gpus {
            gpus.release(&gpu_holder(&id.0))?;
        }
        Ok(())
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

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn python_for(&self, sdk: Sdk) -> Result<&Path, Error> {
        self.python.as_deref().ok_or_else(|| Error::Unsupported {
            backend: BACKEND,
            what: format!("{sdk} Spaces on a machine without python3 on PATH"),
        })
    }

    async fn read_record(&self, id: &InstanceId) -> Result<Option<Record>, Error> {
        if !is_valid_id(&id.0) {
            return Ok(None);
        }
        let (records, key) = (self.records.clone(), id.0.clone());
        blocking(format!("reading the record of instance {id}"), move || {
            records.read(&key)
        })
        .await
    }

    async fn remove_record(&self, id: &InstanceId) -> Result<(), Error> {
        let (records, key) = (self.records.clone(), id.0.clone());
        blocking(format!("removing instance {id}"), move || {
            records.remove(&key)
        })
        .await
    }

    /// Stops an instance this runtime started. It stays in the table until it is stopped (a
    /// failed stop can be tried again), answering `Stopped` meanwhile.
    async fn stop_own(&self, id: &InstanceId, inst: &LocalInstance) -> Result<(), Error> {
        inst.stopping.store(true, Ordering::SeqCst);
        match &inst.work {
            Work::Server(task) => task.abort(),
            Work::Process(app) => {
                if let Err(e) = app.stop().await {
                    inst.log
                        .push(LogSource::Runtime, format!("stopping failed: {e}"));
                    // The record stays, so that a later `running()` or `stop()` finds it.
                    return Err(Error::io(format!("stopping instance {id}"))(e));
                }
            }
        }
        inst.log
            .push(LogSource::Runtime, format!("{} stopped", inst.space));
        inst.log.close();
        self.remove_record(id).await?;
        self.release_gpus(id)?;
        let mut table = self.table();
        table.live.remove(id);
        table.stopped.insert(id.clone());
        Ok(())
    }

    /// Stops an instance known only by its record (an earlier process started it).
    async fn stop_recorded(&self, id: &InstanceId) -> Result<(), Error> {
        let record = self.read_record(id).await?.ok_or_else(|| Error::NotFound {
            what: format!("instance {id}"),
        })?;
        let here = ProcessRef::current();
        let owner_elsewhere = record.owner != here && record.owner.is_alive();
        match record.app {
            _ if owner_elsewhere => {
                return Err(Error::Conflict {
                    what: format!(
                        "instance {id} belongs to process {}, which still runs; stop it there",
                        record.owner.pid
                    ),
                })
            }
            Some(app) => process::terminate_recorded(app.leader(), app.pgid)
                .await
                .map_err(Error::io(format!(
                    "stopping process group {} of instance {id}",
                    app.pgid
                )))?,
            None if record.owner == here => {
                return Err(Error::Conflict {
                    what: format!(
                        "instance {id} is served (or being started) by another runtime of this \
                         process; stop it there"
                    ),
                })
            }
            None => {} // served by a process that is gone: only its folder is left
        }
        self.remove_record(id).await?;
        self.release_gpus(id)?;
        self.table().stopped.insert(id.clone());
        Ok(())
    }
}

fn find_python() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = ["python3", "python"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })?;
    Some(real_interpreter(&found).unwrap_or(found))
}

/// The interpreter behind `python` (`sys.executable`), when `python` is a launcher such as a
/// pyenv shim: a shell script that costs about 100 ms on every start, and that would pick its
/// version from a `.python-version` in the app's folder. Resolved once, so builds and apps run
/// the interpreter directly. `None` (keep `python`) when it does not answer within 5 s.
fn real_interpreter(python: &std::path::Path) -> Option<PathBuf> {
    let mut child = std::process::Command::new(python)
        .args(["-I", "-c", "import sys; print(sys.executable)"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut()?, &mut out).ok()?;
    let real = PathBuf::from(out.trim());
    (real.is_absolute() && real.is_file()).then_some(real)
}

#[async_trait]
impl Runtime for LocalRuntime {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn build(&self, req: BuildRequest) -> Result<BuildOutput, Error> {
        build::build(&self.root, self.python.as_deref(), &self.python_envs, req).await
    }

    async fn start(&self, spec: InstanceSpec) -> Result<Instance, Error> {
        self.start_instance(spec).await
    }

    async fn state(&self, id: &InstanceId) -> Result<InstanceState, Error> {
        let live = {
            let table = self.table();
            if table.stopped.contains(id) {
                return Ok(InstanceState::Stopped);
            }
            table.live.get(id).cloned()
        };
        if let Some(inst) = live {
            return inst.state(id);
        }
        let record = self.read_record(id).await?.ok_or_else(|| Error::NotFound {
            what: format!("instance {id}"),
        })?;
        let alive = match record.app {
            Some(app) => app.leader().is_alive(),
            None => record.owner.is_alive(),
        };
        Ok(if alive {
            InstanceState::Running
        } else {
            InstanceState::Exited {
                code: None,
                oom_killed: false,
            }
        })
    }

    async fn logs(&self, id: &InstanceId, follow: bool) -> Result<LogStream, Error> {
        let live = {
            let table = self.table();
            if table.stopped.contains(id) {
                return Ok(ended_log(format!(
                    "instance {id} was stopped; its log went with it"
                )));
            }
            table.live.get(id).cloned()
        };
        if let Some(inst) = live {
            return Ok(inst.log.stream(follow));
        }
        match self.read_record(id).await? {
            Some(record) => Ok(ended_log(format!(
                "instance {id} was started by process {}; its log was kept there",
                record.owner.pid
            ))),
            None => Err(Error::NotFound {
                what: format!("instance {id}"),
            }),
        }
    }

    async fn stop(&self, id: &InstanceId) -> Result<(), Error> {
        let own = {
            let table = self.table();
            if table.stopped.contains(id) {
                return Ok(());
            }
            table.live.get(id).cloned()
        };
        match own {
            Some(inst) => self.stop_own(id, &inst).await,
            None => self.stop_recorded(id).await,
        }
    }

    async fn remove_image(&self, image: &Image) -> Result<(), Error> {
        let root = self.root.clone();
        let checked = image.clone();
        let dir = blocking("checking an image folder", move || {
            Ok(build::owned_image_dir(&root, &checked))
        })
        .await?
        .ok_or_else(|| Error::NotFound {
            what: format!(
                "image {} (not an image folder of this runtime: <root>/images/<owner>/<name>/<revision>)",
                image.reference
            ),
        })?;
        blocking(format!("removing image {}", image.reference), move || {
            remove_dir_if_present(&dir)
        })
        .await
    }

    async fn delete_volume(&self, space: &SpaceId) -> Result<(), Error> {
        let dir = self.volume_dir(space);
        blocking(format!("deleting the volume of {space}"), move || {
            remove_dir_if_present(&dir)
        })
        .await
    }

    async fn running(&self) -> Result<Vec<Instance>, Error> {
        // Records first, then the table (see `start_instance` for why this order).
        let records = self.records.clone();
        let scan = blocking("reading the instance records", move || records.scan()).await?;
        let (live, stopped): (Vec<_>, HashSet<_>) = {
            let table = self.table();
            (
                table
                    .live
                    .iter()
                    .map(|(id, inst)| (id.clone(), Arc::clone(inst)))
                    .collect(),
                table.stopped.set.clone(),
            )
        };
        let mut out = Vec::new();
        for (id, inst) in &live {
            // An app whose state cannot be read is listed, so that it can still be stopped.
            if matches!(inst.state(id), Ok(InstanceState::Running) | Err(_)) {
                out.push(Instance {
                    id: id.clone(),
                    space: inst.space.clone(),
                    address: inst.address,
                });
            }
        }
        let here = ProcessRef::current();
        let mut stale = Vec::new();
        for record in scan.records {
            let id = InstanceId(record.id.clone());
            if stopped.contains(&id) || live.iter().any(|(known, _)| *known == id) {
                continue;
            }
            let owner_alive = record.owner == here || record.owner.is_alive();
            let app_alive = record.app.is_some_and(|app| app.leader().is_alive());
            if app_alive && (record.owner == here || !owner_alive) {
                // Left by a process that is gone (or by another runtime of this one).
                out.push(Instance {
                    id,
                    space: record.space,
                    address: record.address,
                });
            } else if !app_alive && (!owner_alive || (record.owner == here && record.app.is_some()))
            {
                // Gone, and either its process is gone too or it was this process's own: a
                // runtime over this root that was dropped (this one does not know the id), whose
                // app has exited since. Its GPU lease goes with it.
                if record.app.is_none() {
                    // Killed between the spawn and the record: find the app by its folder.
                    let _ = process::terminate_working_in(&self.records.folder(&record.id)).await;
                }
                stale.push(id);
            }
            // Otherwise it belongs to another live process, which cleans up after it.
        }
        for dir in &scan.unrecorded {
            let _ = process::terminate_working_in(dir).await;
        }
        let stale_ids = stale.clone();
        let records = self.records.clone();
        let unrecorded = scan.unrecorded;
        // Cleaning up is best effort: what stays is tried again next time.
        let _ = blocking("removing stale instances", move || {
            for id in &stale {
                let _ = records.remove(&id.0);
            }
            for dir in &unrecorded {
                let _ = remove_dir_if_present(dir);
            }
            Ok(())
        })
        .await;
        for id in &stale_ids {
            let _ = self.release_gpus(id);
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn discard_prepared(&self, _space: &SpaceId) -> Result<(), Error> {
        // Nothing is prepared ahead of a start here.
        Ok(())
    }
}

#[cfg(test)]
mod tests;
