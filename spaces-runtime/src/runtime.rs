//! The [`Runtime`] trait: what a backend must do to run Spaces.
//!
//! One small object-safe async trait (callers hold `Arc<dyn Runtime>`), modelled on object_store's
//! `ObjectStore`: build a revision into an image, start an instance of it, report its state, stream
//! its logs, stop and remove it, and delete a Space's persistent volume. Everything a backend needs
//! to know arrives in the request values; a backend keeps no lifecycle state of its own (that is
//! spaces-core's and the supervisor's).

use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use spaces_core::{AppEnvironment, AppPath, HardwareSpec, Revision, Sdk, SpaceId};
use tokio::sync::mpsc;

use crate::Error;

/// What to build: a revision of a Space's files.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    /// The Space.
    pub space: SpaceId,
    /// The revision being built.
    pub revision: Revision,
    /// The SDK (decides how it is built and run).
    pub sdk: Sdk,
    /// The folder holding the repository's files at that revision.
    pub source: PathBuf,
    /// The app file (`app.py`, `index.html`; the `Dockerfile` for Docker Spaces), a path that
    /// cannot leave `source`.
    pub app_file: AppPath,
    /// Build without any cache (a factory reboot).
    pub no_cache: bool,
}

/// A built image of one revision, ready to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The backend's reference to the image (a folder, an image tag).
    pub reference: String,
    /// The Space.
    pub space: SpaceId,
    /// The revision.
    pub revision: Revision,
    /// The SDK it was built for.
    pub sdk: Sdk,
    /// The app file it runs.
    pub app_file: AppPath,
}

/// The outcome of a successful build.
#[derive(Clone, Debug)]
pub struct BuildOutput {
    /// The image.
    pub image: Image,
    /// The build log, line by line.
    pub log: Vec<String>,
}

/// Persistent storage attached to an instance, mounted at `/data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeSpec {
    /// Size limit in GB (the storage tier's size); backends that cannot enforce it say so.
    pub size_gb: u32,
}

/// What to start: an image, with its environment, resources, port and volume.
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    /// The image to run.
    pub image: Image,
    /// The app's environment (secrets stay redacted in `Debug`).
    pub env: AppEnvironment,
    /// The flavor's resources (`None` for static Spaces: no hardware).
    pub hardware: Option<HardwareSpec>,
    /// The port the app listens on inside the instance.
    pub app_port: u16,
    /// Persistent storage, when the Space holds a tier.
    pub volume: Option<VolumeSpec>,
}

/// A started instance: its id and where it answers HTTP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// The backend's id for it.
    pub id: InstanceId,
    /// The Space.
    pub space: SpaceId,
    /// Where the app answers HTTP, on this machine.
    pub address: SocketAddr,
}

/// A backend's id of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub String);

impl std::fmt::Display for InstanceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The state of an instance, as the backend sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// The process or container runs (health is checked separately, over HTTP).
    Running,
    /// It exited by itself or was killed from outside.
    Exited {
        /// The exit code, when known.
        code: Option<i32>,
        /// Whether the kernel killed it for memory.
        oom_killed: bool,
    },
    /// It was stopped through [`Runtime::stop`].
    Stopped,
}

/// Where a log line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// The app's standard output.
    Stdout,
    /// The app's standard error.
    Stderr,
    /// The runtime itself (starting, stopping, health). Never contains a secret value.
    Runtime,
}

/// One line of an instance's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Its source.
    pub source: LogSource,
    /// The text, without the newline.
    pub text: String,
}

/// A stream of log lines: what was logged so far, then (when following) new lines as they come.
#[derive(Debug)]
pub struct LogStream {
    rx: mpsc::Receiver<LogLine>,
}

impl LogStream {
    /// A stream fed by `rx`.
    pub fn new(rx: mpsc::Receiver<LogLine>) -> Self {
        Self { rx }
    }

    /// The next line; `None` when the stream ends (the instance stopped, or not following and
    /// everything was read).
    pub async fn next(&mut self) -> Option<LogLine> {
        self.rx.recv().await
    }

    /// Reads lines until the stream ends or `idle` passes without a line.
    pub async fn collect_for(&mut self, idle: Duration) -> Vec<LogLine> {
        let mut out = Vec::new();
        while let Ok(Some(line)) = tokio::time::timeout(idle, self.rx.recv()).await {
            out.push(line);
        }
        out
    }
}

/// A backend that runs Spaces. Object-safe: hold it as `Arc<dyn Runtime>`.
#[async_trait]
pub trait Runtime: Send + Sync + Debug + 'static {
    /// A short name (`local`, `docker`), used in errors.
    fn name(&self) -> &'static str;

    /// Builds a revision into an image. A failure is [`Error::BuildFailed`] with the log tail.
    async fn build(&self, request: BuildRequest) -> Result<BuildOutput, Error>;

    /// Starts a fresh instance (a fresh ephemeral disk) of an image. Returns once the process or
    /// container runs; health is for the caller to wait for ([`crate::wait_healthy`]).
    async fn start(&self, spec: InstanceSpec) -> Result<Instance, Error>;

    /// The instance's state.
    async fn state(&self, instance: &InstanceId) -> Result<InstanceState, Error>;

    /// The instance's log: what was logged so far and, with `follow`, what comes next.
    async fn logs(&self, instance: &InstanceId, follow: bool) -> Result<LogStream, Error>;

    /// Stops an instance; its ephemeral disk is gone afterwards. Stopping a stopped or exited
    /// instance is not an error.
    async fn stop(&self, instance: &InstanceId) -> Result<(), Error>;

    /// Removes an image the Space no longer needs.
    async fn remove_image(&self, image: &Image) -> Result<(), Error>;

    /// Deletes a Space's persistent volume and all its data. Deleting a volume that does not exist
    /// is not an error.
    async fn delete_volume(&self, space: &SpaceId) -> Result<(), Error>;

    /// Every instance of this backend that runs now, whether this process started it or an
    /// earlier one that crashed (containers found by label, processes by pid file), limited to
    /// what this backend's own state (its root folder, its label namespace) holds. A supervisor
    /// calls it when it opens and stops what its state does not know; [`Runtime::stop`] accepts
    /// every id returned here.
    async fn running(&self) -> Result<Vec<Instance>, Error>;

    /// Drops whatever the backend prepared for the Space's next start (a standby container
    /// holding its environment and secrets). The supervisor calls it when a Space is paused or
    /// deleted and when its secrets change, so that no prepared instance keeps secrets at rest.
    /// Nothing prepared is not an error.
    async fn discard_prepared(&self, space: &SpaceId) -> Result<(), Error>;
}
