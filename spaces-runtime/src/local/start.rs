//! Starting an instance: checks, the record, a fresh folder, then the in-process server or the
//! app's process group.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use spaces_core::{Sdk, HF_HOME_ON_STORAGE};
use tokio::net::TcpListener;
use tokio::process::Command;

use super::build::{copy_image, PASSED_VARIABLES};
use super::logbook::{pipe_lines, Logbook};
use super::process::{AppProcess, ProcessRef};
use super::records::{new_id, remove_dir_if_present, AppRecord, Record};
use super::sdk_run::Launch;
use super::{blocking, static_server, LocalInstance, LocalRuntime, Work, BACKEND};
use crate::nvidia::{GpuAllocator, GpuAssignment};
use crate::runtime::{Instance, InstanceId, InstanceSpec, LogSource};
use crate::Error;

impl LocalRuntime {
    /// [`crate::Runtime::start`] of the local runtime.
    pub(super) async fn start_instance(&self, spec: InstanceSpec) -> Result<Instance, Error> {
        let space = spec.image.space.clone();
        if spec.image.sdk == Sdk::Docker {
            return Err(Error::Unsupported {
                backend: BACKEND,
                what: "docker Spaces".into(),
            });
        }
        let gpu_want = match &spec.hardware {
            Some(hw) => match (&hw.gpu, &self.gpus) {
                (Some(gpu), None) => {
                    return Err(Error::Unsupported {
                        backend: BACKEND,
                        what: format!(
                            "GPU flavor {} ({}x {}) for {space}: this local runtime has no GPU \
                             allocator (give it one with LocalRuntime::with_gpus over an NVIDIA \
                             inventory, feature `nvidia`)",
                            hw.id, gpu.count, gpu.model
                        ),
                    });
                }
                (Some(gpu), Some(gpus)) => Some((gpu.clone(), Arc::clone(gpus))),
                (None, _) => None,
            },
            None => None,
        };
        let python = match spec.image.sdk {
            Sdk::Static => None,
            sdk => Some(self.python_for(sdk)?.to_path_buf()),
        };

        let id = new_id();
        // GPUs first: a crash before the record leaves a lease that `with_gpus` releases.
        let gpu = match &gpu_want {
            Some((want, gpus)) => Some(gpus.assign(&space, &super::gpu_holder(&id), want)?),
            None => None,
        };
        let release = |gpus: &Option<(spaces_core::GpuSpec, Arc<GpuAllocator>)>| {
            if let Some((_, gpus)) = gpus {
                let _ = gpus.release(&super::gpu_holder(&id));
            }
        };
        let (listener, address) = if python.is_none() {
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(Error::io("binding a port for the static server"))?;
            let address = listener
                .local_addr()
                .map_err(Error::io("reading the static server's address"))?;
            (Some(listener), address)
        } else {
            // Take a free port from the kernel, then hand it to the app.
            let probe = std::net::TcpListener::bind(("127.0.0.1", 0))
                .map_err(Error::io("finding a free port"))?;
            let address = probe
                .local_addr()
                .map_err(Error::io("finding a free port"))?;
            (None, address)
        };
        let mut record = Record {
            id: id.clone(),
            space: space.clone(),
            address,
            owner: ProcessRef::current(),
            app: None,
        };
        // The record comes before the folder, so a crash from here on leaves nothing unrecorded.
        let records = self.records.clone();
        let written = record.clone();
        if let Err(e) = blocking(format!("writing the record of instance {id}"), move || {
            records.write(&written)
        })
        .await
        {
            release(&gpu_want);
            return Err(e);
        }

        let launched = self
            .launch(&spec, &id, python, listener, address, gpu.as_ref())
            .await;
        let instance = match launched {
            Ok(instance) => Arc::new(instance),
            Err(e) => {
                let records = self.records.clone();
                let gone = id.clone();
                let _ = blocking("cleaning up a failed start", move || records.remove(&gone)).await;
                release(&gpu_want);
                return Err(e);
            }
        };
        let app = match &instance.work {
            Work::Process(app) => Some((app.pid(), app.start_time())),
            Work::Server(_) => None,
        };
        let instance_id = InstanceId(id.clone());
        // In the table before the record names the app: `running()` reads records first, then
        // the table, so it never takes an instance being started for an orphan.
        self.table().live.insert(instance_id.clone(), instance);
        if let Some((pid, start_time)) = app {
            record.app = Some(AppRecord {
                pid,
                pgid: pid,
                start_time,
            });
            let records = self.records.clone();
            let written = blocking(format!("writing the record of instance {id}"), move || {
                records.write(&record)
            })
            .await;
            if let Err(e) = written {
                let _ = crate::Runtime::stop(self, &instance_id).await;
                return Err(e);
            }
        }
        Ok(Instance {
            id: instance_id,
            space,
            address,
        })
    }

    /// Makes the instance's folder and starts its server or process.
    async fn launch(
        &self,
        spec: &InstanceSpec,
        id: &str,
        python: Option<PathBuf>,
        listener: Option<TcpListener>,
        address: SocketAddr,
        gpu: Option<&GpuAssignment>,
    ) -> Result<LocalInstance, Error> {
        let image = &spec.image;
        let dir = self.records.folder(id);
        let volume = spec.volume.as_ref().map(|_| self.volume_dir(&image.space));
        {
            let (target, volume) = (dir.clone(), volume.clone());
            let image_dir = PathBuf::from(&image.reference);
            blocking(
                format!("preparing instance folder {}", dir.display()),
                move || {
                    // A fresh ephemeral disk: a new copy of the image.
                    remove_dir_if_present(&target)?;
                    copy_image(&image_dir, &target)?;
                    if let Some(volume) = volume {
                        std::fs::create_dir_all(&volume)?;
                        let link = target.join("data");
                        remove_dir_if_present(&link)?;
                        std::os::unix::fs::symlink(&volume, link)?;
                    }
                    Ok(())
                },
            )
            .await?;
        }
        let log = Arc::new(Logbook::default());
        if let Some(hw) = &spec.hardware {
            log.push(
                LogSource::Runtime,
                format!(
                    "flavor {}: {} vCPU, {} GB (not enforced by the local runtime)",
                    hw.id, hw.vcpu, hw.memory_gb
                ),
            );
        }
        let mut env_lease = None;
        let work = match (python, listener) {
            (Some(python), _) => {
                let image_dir = PathBuf::from(&image.reference);
                let mut plan = self.launch_plan(
                    &image_dir,
                    image.sdk,
                    &image.app_file,
                    address.port(),
                    &python,
                )?;
                env_lease = plan.lease.take();
                let app =
                    spawn_app(spec, &plan, &dir, volume.as_deref(), address, gpu, &log).await?;
                Work::Process(Box::new(app))
            }
            (None, Some(listener)) => {
                log.push(
                    LogSource::Runtime,
                    format!("serving static files on http://{address}"),
                );
                Work::Server(static_server::serve(listener, dir.clone()))
            }
            (None, None) => {
                return Err(Error::io("starting the static server")(
                    std::io::Error::other("no listener"),
                ))
            }
        };
        if volume.is_some() {
            log.push(
                LogSource::Runtime,
                "persistent storage linked at ./data".to_string(),
            );
        }
        Ok(LocalInstance {
            space: image.space.clone(),
            address,
            work,
            log,
            stopping: AtomicBool::new(false),
            _env: env_lease,
        })
    }
}

/// Starts the app as `plan` says (`python3 -u ./<app_file>` without an environment; see
/// `sdk_run`) as the leader of a new process group, with only the app's environment (plus
/// `PATH`, locale and time zone), its output piped into `log`. With a ready fork server the app
/// is forked from it (see `fork_server`); if that fails, it starts cold.
async fn spawn_app(
    spec: &InstanceSpec,
    plan: &Launch,
    dir: &Path,
    volume: Option<&Path>,
    address: SocketAddr,
    gpu: Option<&GpuAssignment>,
    log: &Arc<Logbook>,
) -> Result<AppProcess, Error> {
    let image = &spec.image;
    let port = address.port().to_string();
    let mut vars: Vec<(OsString, OsString)> = Vec::new();
    let mut set = |k: &str, v: OsString| {
        vars.retain(|(old, _)| old != k);
        vars.push((k.into(), v));
    };
    for key in PASSED_VARIABLES {
        if let Some(v) = std::env::var_os(key) {
            set(key, v);
        }
    }
    set("HOME", dir.into());
    for (k, v) in &plan.env {
        set(k, v.clone());
    }
    for (name, value) in spec.env.entries() {
        set(name, value.expose().into());
    }
    if let Some(volume) = volume {
        set("SPACE_DATA_DIR", volume.into());
        if spec.env.get("HF_HOME") == Some(HF_HOME_ON_STORAGE) {
            set("HF_HOME", volume.join(".huggingface").into());
        }
    }
    // The app sees exactly its GPUs, by UUID, or none.
    match gpu {
        Some(gpu) => {
            let devices = gpu.visible_devices();
            log.push(LogSource::Runtime, format!("GPUs: {devices}"));
            set("CUDA_VISIBLE_DEVICES", devices.clone().into());
            set("NVIDIA_VISIBLE_DEVICES", devices.into());
            // Where the driver's libraries are found when they are off the loader's default
            // paths (a driver mounted under /usr/local/nvidia).
            if let Some(v) = std::env::var_os("LD_LIBRARY_PATH") {
                set("LD_LIBRARY_PATH", v);
            }
        }
        None => {
            set("CUDA_VISIBLE_DEVICES", "".into());
            set("NVIDIA_VISIBLE_DEVICES", "void".into());
        }
    }
    set("PORT", port.clone().into());
    set("GRADIO_SERVER_PORT", port.clone().into());
    set("GRADIO_SERVER_NAME", "127.0.0.1".into());
    set("PYTHONDONTWRITEBYTECODE", "1".into());
    set("PYTHONUNBUFFERED", "1".into());
    let secrets = spec
        .env
        .entries()
        .iter()
        .filter(|(_, v)| v.is_secret())
        .count();
    let started = |how: &str, pid: i32| {
        format!(
            "started `{}` ({how}, pid {pid}, leading its own process group) on port {port} with \
             {} variables ({secrets} secret, not shown)",
            plan.shown,
            spec.env.entries().len()
        )
    };
    if let Some(server) = &plan.fork_server {
        match server.fork(dir, &plan.args, &vars).await {
            Ok(forked) => match AppProcess::forked(forked.pid) {
                Ok(app) => {
                    log.push(
                        LogSource::Runtime,
                        started("warm: forked from the fork server", app.pid()),
                    );
                    pipe_lines(forked.stdout, LogSource::Stdout, Arc::clone(log));
                    pipe_lines(forked.stderr, LogSource::Stderr, Arc::clone(log));
                    return Ok(app);
                }
                Err(e) => log.push(
                    LogSource::Runtime,
                    format!("forked app lost ({e}); starting cold"),
                ),
            },
            Err(e) => log.push(
                LogSource::Runtime,
                format!("fork server failed ({e}); starting cold"),
            ),
        }
    }
    let mut cmd = Command::new(&plan.program);
    cmd.args(&plan.flags)
        .args(&plan.args)
        .current_dir(dir)
        .env_clear()
        .envs(vars)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let mut child = cmd.spawn().map_err(Error::io(format!(
        "starting {} {}",
        plan.program.display(),
        image.app_file
    )))?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let app = AppProcess::new(child).map_err(Error::io(format!("starting {}", image.app_file)))?;
    log.push(LogSource::Runtime, started("cold", app.pid()));
    if let Some(out) = stdout {
        pipe_lines(out, LogSource::Stdout, Arc::clone(log));
    }
    if let Some(err) = stderr {
        pipe_lines(err, LogSource::Stderr, Arc::clone(log));
    }
    Ok(app)
}
