//! The Docker backend: runs Docker Spaces on a Docker engine through the Engine API (bollard),
//! behind the `docker` feature.
//!
//! - **Connection**: [`DockerRuntime::connect`] uses `DOCKER_HOST` or the default socket
//!   (`unix:///var/run/docker.sock`), [`DockerConfig::endpoint`] an explicit `unix://`, `tcp://`
//!   or `http://` endpoint. The API version is negotiated down to the engine's (Docker 20.10
//!   speaks 1.41, older than bollard's default). No engine answering is [`Error::Unavailable`];
//!   a root [`DockerConfig::user`] is [`Error::Unsupported`] before the engine is asked.
//! - **Names** ([`names`]): image tags, volume and container names are injective and
//!   deterministic in the Space id (an escaping of each part, or one base-36 number for very long
//!   ids): `<prefix>/<owner>/<name>:<revision>`, `<prefix>_data_<owner>_<name>`,
//!   `<prefix>_<owner>_<name>_<revision>_<unique>`. Everything created carries the labels
//!   `io.spaces.managed=<prefix>`, the Space id and the revision, plus
//!   [`DockerConfig::extra_labels`]; never a secret.
//! - **Build** ([`build`]): the Space's folder is sent as a tar context to the classic
//!   builder; the build log is streamed into [`BuildOutput::log`](crate::BuildOutput); a failed
//!   step is [`Error::BuildFailed`] with the log tail; `no_cache` (factory reboot) builds without
//!   cache. Rebuilding a tag removes the image it replaced, [`Runtime::remove_image`] removes the
//!   tag. The backend appends one step to the `Dockerfile` it sends (the repository is not
//!   changed): `COPY --chown=1000:1000 <empty folder> /data/`, so that `/data` belongs to the
//!   app's user and a fresh persistent volume inherits that owner (see "User" below). The
//!   classic builder has no build-time secrets (`RUN --mount=type=secret` needs BuildKit), and
//!   `.dockerignore` is not applied (the CLI applies it, not the engine).
//! - **Run** ([`container`]): one container per instance, labelled as above plus its app port
//!   (`io.spaces.app-port`, which marks app containers); the app's environment (helper
//!   variables, variables, secrets) goes only into the container's `Env`, never into a label,
//!   the name or the command line; `NanoCpus` and `Memory` (no swap) from the flavor when there
//!   is one; the app port published on `127.0.0.1` on an ephemeral host port read back by
//!   inspecting the container; the Space's named volume at `/data` when storage is attached,
//!   kept across restarts and removed only by [`Runtime::delete_volume`] (its size limit is not
//!   enforced: the engine's `local` volume driver has no quota); `--init` (docker-init as PID 1:
//!   signals reach the app and zombies are reaped). A fresh container at every start;
//!   [`Runtime::stop`] stops and removes it, so its ephemeral disk is gone.
//! - **Hardening** ([`security`]): every container drops all capabilities, has
//!   `no-new-privileges`, at most [`security::PIDS_LIMIT`] (512) processes, and never runs as
//!   root. A flavor with GPUs is [`Error::Unsupported`] unless a GPU allocator was given
//!   ([`DockerRuntime::with_gpus`]: `DeviceRequests` by UUID through the engine's `nvidia`
//!   runtime, refused naming it when the engine has none), checked before anything is created.
//! - **User**: apps run as uid:gid `1000:1000`, as on the Hub, whatever the image's `USER` says;
//!   with [`DockerConfig::user`] `None` the image's `USER` is kept unless it is root (then
//!   `1000:1000`). Persistent storage is writable by uid 1000 because the image's `/data` (added
//!   at build, above) is owned by 1000 and the engine copies its owner into an empty named
//!   volume the first time it is mounted.
//! - **Standby containers**: when an instance stops, the next container of its Space is created
//!   (not started) for the same spec, so that the wake only starts it: the create cost leaves the
//!   wake path, and the ephemeral disk is still fresh. It holds the Space's secrets, so it is for
//!   sleeping Spaces only: [`Runtime::discard_prepared`] (pause, delete, secret change) removes
//!   it, from memory and from the engine; a start with a spec that differs in anything (a secret
//!   value included) never uses it. See [`DockerConfig::standby`] and
//!   [`DockerRuntime::discard_standbys`].
//! - **Orphans**: [`Runtime::running`] lists the app containers of this runtime's namespace on
//!   the engine (its prefix, narrowed by its extra labels), whoever created them, except
//!   standbys never started; [`Runtime::stop`] removes any of them. A runtime with another
//!   prefix never sees them. Standbys an ended process left are removed at connect.
//! - **State and logs**: the state comes from inspecting the container (running, exited with its
//!   code, OOM-killed); a container killed or removed from outside is [`InstanceState::Exited`];
//!   [`InstanceState::Stopped`] is reported for the last [`recent::STOPPED_REMEMBERED`] (4096)
//!   instances stopped through this runtime (their containers are gone; older ones read as
//!   exited, like any container that is gone). Logs are read from the engine, stdout and stderr
//!   demultiplexed, preceded by runtime lines derived from the container's inspection (never its
//!   environment); lines are cut at [`logs::MAX_LINE`] (16 KiB) and at most
//!   [`logs::CHANNEL_LINES`] wait for a slow reader (see [`logs`]).
//! - **Egress** ([`egress`]): containers join a bridge network of their own
//!   ([`DockerConfig::network`]) with inter-container traffic disabled, so Spaces cannot reach
//!   each other, and only the app port is published, on the loopback address. The ports
//!   80/443/8080 rule for outbound traffic is **not** enforced by the engine API: it needs a
//!   host firewall rule on the network's bridge, which [`egress::host_rule`] spells out.
//! - **Test Spaces** ([`fixtures`]): `FROM scratch` plus a static busybox, which is fetched with
//!   `apt-get download busybox-static` when the machine has none.
//!
//! ```no_run
//! # async fn demo() -> Result<(), spaces_runtime::Error> {
//! use std::sync::Arc;
//! use spaces_runtime::docker::{DockerConfig, DockerRuntime};
//! use spaces_runtime::Runtime;
//!
//! let runtime: Arc<dyn Runtime> = Arc::new(DockerRuntime::connect(DockerConfig::default()).await?);
//! assert_eq!(runtime.name(), "docker");
//! # Ok(()) }
//! ```

pub mod build;
mod busybox;
pub mod container;
pub mod egress;
pub mod fixtures;
mod inventory;
pub mod logs;
pub mod names;
pub mod recent;
pub mod security;
mod standby;

/// The Engine API client this backend is built on, re-exported for callers that inspect, stop or
/// kill containers directly (tests, measurements, operators) without a dependency of their own.
pub use bollard;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use spaces_core::SpaceId;

use crate::runtime::{
    BuildOutput, BuildRequest, Image, Instance, InstanceId, InstanceSpec, InstanceState, LogStream,
    Runtime,
};
use crate::Error;

const BACKEND: &str = "docker";

/// How the backend connects and names what it creates.
#[derive(Clone, Debug)]
pub struct DockerConfig {
    /// The engine's endpoint (`unix:///var/run/docker.sock`, `tcp://host:2375`); `None`:
    /// `DOCKER_HOST`, or the default socket.
    pub endpoint: Option<String>,
    /// Prefix of image repositories, container, volume and network names (`spaces`). A Docker
    /// path component: lower-case letters, digits and `-`.
    pub prefix: String,
    /// The bridge network Spaces' containers join (`<prefix>-apps` when `None`); created with
    /// inter-container traffic off when missing.
    pub network: Option<String>,
    /// The user apps run as (`1000:1000`, as on the Hub); `None` keeps the image's `USER`
    /// unless it is root (then `1000:1000`). A root user here is refused at connect (see
    /// [`security`]).
    pub user: Option<String>,
    /// How long a stopped app gets between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
    /// Labels added to every image, container, volume and network the backend creates (on top of
    /// its own `io.spaces.*` labels): for an operator's or a test's bookkeeping.
    pub extra_labels: BTreeMap<String, String>,
    /// Timeout of one Engine API request (a build's or a log's stream is not limited by it).
    pub request_timeout: Duration,
    /// Create the next container of a Space when it stops, so that its wake only starts it
    /// (see "Standby containers" in the [module docs](crate::docker)).
    pub standby: bool,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            prefix: "spaces".into(),
            network: None,
            user: Some("1000:1000".into()),
            stop_grace: Duration::from_secs(5),
            extra_labels: BTreeMap::new(),
            request_timeout: Duration::from_secs(120),
            standby: true,
        }
    }
}

/// Runs Docker Spaces on a Docker engine. See the [module docs](self).
#[derive(Debug)]
pub struct DockerRuntime {
    docker: Docker,
    config: DockerConfig,
    prefix: String,
    network: String,
    api_version: String,
    /// The last instances stopped through this runtime (their containers are removed).
    stopped: Mutex<recent::RecentSet<InstanceId>>,
    /// Whether the network is known to exist; held while it is checked and created.
    network_lock: tokio::sync::Mutex<bool>,
    /// The specs of the instances this runtime started and has not stopped (for their standby):
    /// one per container on the engine; forgotten at stop, and when the container is found gone.
    running: Mutex<HashMap<InstanceId, InstanceSpec>>,
    /// Each Space's standby container.
    standbys: Mutex<HashMap<SpaceId, standby::Standby>>,
    /// Moved by every discard of standbys (a standby created meanwhile is not kept).
    discard_epoch: AtomicU64,
    /// How many log copies run (see [`DockerRuntime::log_tasks`]).
    log_tasks: Arc<AtomicUsize>,
    /// Where GPU flavors take their GPUs (see [`DockerRuntime::with_gpus`]).
    gpus: Option<Arc<crate::nvidia::GpuAllocator>>,
}

impl DockerRuntime {
    /// Connects to the engine named by `config` (or `DOCKER_HOST`, or the default socket),
    /// negotiates the API version and checks that the engine answers.
    ///
    /// Fails with [`Error::Unavailable`] when no engine answers.
    pub async fn connect(config: DockerConfig) -> Result<Self, Error> {
        let unavailable = |reason: String| Error::Unavailable {
            backend: BACKEND,
            reason,
        };
        security::check_config_user(config.user.as_deref())?;
        let timeout = config.request_timeout.as_secs().max(1);
        let docker = match config.endpoint.as_deref() {
            None => Docker::connect_with_defaults(),
            Some(e) if e.starts_with("unix://") || e.starts_with('/') => {
                Docker::connect_with_unix(e, timeout, bollard::API_DEFAULT_VERSION)
            }
            Some(e) => Docker::connect_with_http(e, timeout, bollard::API_DEFAULT_VERSION),
        }
        .map_err(|e| unavailable(format!("cannot connect to {}: {e}", endpoint_name(&config))))?
        .with_timeout(config.request_timeout);
        let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| {
                unavailable(format!(
                    "no answer from {} within 10s",
                    endpoint_name(&config)
                ))
            })?
            .map_err(|e| unavailable(format!("no engine at {}: {e}", endpoint_name(&config))))?;
        let version = docker
            .version()
            .await
            .map_err(|e| unavailable(format!("no engine at {}: {e}", endpoint_name(&config))))?;
        let prefix = names::component(&config.prefix);
        let network = config
            .network
            .clone()
            .unwrap_or_else(|| format!("{prefix}-apps"));
        let rt = Self {
            api_version: format!(
                "{} (engine {})",
                docker.client_version(),
                version.version.unwrap_or_else(|| "unknown".into())
            ),
            docker,
            config,
            prefix,
            network,
            stopped: Mutex::new(recent::RecentSet::new(recent::STOPPED_REMEMBERED)),
            network_lock: tokio::sync::Mutex::new(false),
            running: Mutex::new(HashMap::new()),
            standbys: Mutex::new(HashMap::new()),
            discard_epoch: AtomicU64::new(0),
            log_tasks: Arc::new(AtomicUsize::new(0)),
            gpus: None,
        };
        // Standbys left by an earlier process: nobody can start them; they only keep secrets.
        // (Failing to list them is not a reason to refuse the connection.)
        let _ = standby::remove_on_engine(&rt, None).await;
        Ok(rt)
    }

    /// This runtime, giving GPU flavors whole GPUs from `gpus`: each start takes the flavor's
    /// model and count (holder `docker:<container>`), passes them to the engine as a
    /// `DeviceRequest` by UUID (driver `nvidia`, capabilities `gpu`, `utility`, `compute`), and
    /// the stop releases them. A GPU flavor is [`Error::Unsupported`] when the engine has no
    /// `nvidia` runtime. Leases of this runtime's containers that no longer exist are released
    /// now. GPU instances get no standby container (it would hold GPUs while asleep).
    pub async fn with_gpus(
        mut self,
        gpus: Arc<crate::nvidia::GpuAllocator>,
    ) -> Result<Self, Error> {
        let live = inventory::running(&self)
            .await?
            .into_iter()
            .map(|i| container::gpu_holder(&i.id))
            .collect();
        gpus.release_all_but(container::GPU_HOLDER_PREFIX, &live)?;
        self.gpus = Some(gpus);
        Ok(self)
    }

    /// Connects with the default configuration (`DOCKER_HOST` or the default socket).
    pub async fn connect_default() -> Result<Self, Error> {
        Self::connect(DockerConfig::default()).await
    }

    /// The bollard client (for operators and tests that inspect or kill containers directly).
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// The negotiated API version and the engine's version, e.g. `1.41 (engine 20.10.24)`.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The configuration in use.
    pub fn config(&self) -> &DockerConfig {
        &self.config
    }

    /// The network Spaces' containers join.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The name of a Space's persistent volume on the engine (see [`names`]). Fails only when
    /// the configured prefix is too long for the Space's id (over Docker's 255 characters).
    pub fn volume_name(&self, space: &SpaceId) -> Result<String, Error> {
        names::volume_name(&self.prefix, space)
    }

    /// How many log copies ([`Runtime::logs`]) run now: each ends when its instance stops, its
    /// log ends or its reader drops the [`LogStream`].
    pub fn log_tasks(&self) -> usize {
        self.log_tasks.load(Ordering::SeqCst)
    }

    /// The `label` filters that select this runtime's namespace: its prefix and its extra labels.
    fn namespace_filter(&self) -> Vec<String> {
        let mut labels = vec![format!("{}={}", names::LABEL_MANAGED, self.prefix)];
        labels.extend(
            self.config
                .extra_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}")),
        );
        labels
    }

    /// The labels put on everything created for `space` (none of them holds a secret).
    fn labels(
        &self,
        space: Option<&SpaceId>,
        revision: Option<&str>,
    ) -> std::collections::HashMap<String, String> {
        let mut labels: std::collections::HashMap<String, String> = self
            .config
            .extra_labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.insert(names::LABEL_MANAGED.into(), self.prefix.clone());
        if let Some(space) = space {
            labels.insert(names::LABEL_SPACE.into(), space.as_str().into());
        }
        if let Some(revision) = revision {
            labels.insert(names::LABEL_REVISION.into(), revision.into());
        }
        labels
    }

    /// Removes every standby container of this runtime (call before the runtime ends; a runtime
    /// with the same prefix that connects later removes leftovers too).
    pub async fn discard_standbys(&self) {
        standby::discard_where(self, |_, _| true).await;
    }

    /// What a caller does when it is done with the engine: discards the standby containers and
    /// removes the Spaces' network unless a container still uses it. Instances, images and
    /// volumes are the caller's to stop, remove and delete first.
    pub async fn shutdown(&self) -> Result<(), Error> {
        self.discard_standbys().await;
        match self.docker.remove_network(&self.network).await {
            Ok(()) => {
                egress::forget_network(self).await;
                Ok(())
            }
            // Already gone, or still in use by another instance: both fine.
            Err(e) if matches!(status_of(&e), Some(404 | 403 | 409)) => Ok(()),
            Err(e) => Err(engine_error(format!("removing network {}", self.network))(
                e,
            )),
        }
    }

    fn is_stopped(&self, id: &InstanceId) -> bool {
        self.stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    fn mark_stopped(&self, id: &InstanceId) {
        self.stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
    }
}

fn endpoint_name(config: &DockerConfig) -> String {
    config.endpoint.clone().unwrap_or_else(|| {
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
    })
}

/// The HTTP status of an engine's error answer, if it was one.
pub(crate) fn status_of(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// Maps an engine error: 404 is [`Error::NotFound`], a transport failure is
/// [`Error::Unavailable`], anything else an [`Error::Io`] with `context`.
pub(crate) fn engine_error(
    context: impl Into<String>,
) -> impl FnOnce(bollard::errors::Error) -> Error {
    let context = context.into();
    move |e| match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            message,
        } => Error::NotFound {
            what: format!("{context}: {message}"),
        },
        bollard::errors::Error::DockerResponseServerError { .. }
        | bollard::errors::Error::DockerStreamError { .. }
        | bollard::errors::Error::JsonDataError { .. }
        | bollard::errors::Error::JsonSerdeError { .. } => Error::Io {
            context: format!("docker: {context}"),
            source: std::io::Error::other(e.to_string()),
        },
        other => Error::Unavailable {
            backend: BACKEND,
            reason: format!("{context}: {other}"),
        },
    }
}

#[async_trait]
impl Runtime for DockerRuntime {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn build(&self, request: BuildRequest) -> Result<BuildOutput, Error> {
        build::build(self, request).await
    }

    async fn start(&self, spec: InstanceSpec) -> Result<Instance, Error> {
        container::start(self, spec).await
    }

    async fn state(&self, instance: &InstanceId) -> Result<InstanceState, Error> {
        if self.is_stopped(instance) {
            return Ok(InstanceState::Stopped);
        }
        container::state(self, instance).await
    }

    async fn logs(&self, instance: &InstanceId, follow: bool) -> Result<LogStream, Error> {
        logs::stream(self, instance, follow).await
    }

    async fn stop(&self, instance: &InstanceId) -> Result<(), Error> {
        container::stop(self, instance).await?;
        if let Some(gpus) = &self.gpus {
            gpus.release(&container::gpu_holder(instance))?;
        }
        self.mark_stopped(instance);
        let spec = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(instance);
        if let Some(spec) = spec {
            standby::prepare(self, spec).await;
        }
        Ok(())
    }

    async fn remove_image(&self, image: &Image) -> Result<(), Error> {
        standby::discard_where(self, |_, s| s.spec.image.reference == image.reference).await;
        build::remove_image(self, &image.reference).await
    }

    async fn delete_volume(&self, space: &SpaceId) -> Result<(), Error> {
        // A standby mounts the volume: it goes first.
        standby::discard_space(self, space).await?;
        container::delete_volume(self, space).await
    }

    async fn running(&self) -> Result<Vec<Instance>, Error> {
        inventory::running(self).await
    }

    async fn discard_prepared(&self, space: &SpaceId) -> Result<(), Error> {
        standby::discard_space(self, space).await
    }
}
