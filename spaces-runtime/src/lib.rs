//! # spaces-runtime
//!
//! Where Spaces run.
//!
//! - [`Runtime`]: one small object-safe async trait that every backend implements (build a
//!   revision, start an instance with env, resources, a port and a `/data` volume, report state,
//!   stream logs, stop, remove images, delete volumes). Callers hold `Arc<dyn Runtime>`.
//! - [`LocalRuntime`]: the embedded default, always compiled: static Spaces served in-process,
//!   Python Spaces as child processes, no container engine.
//! - [`SdkRouter`]: one runtime over the local one and a Docker backend, chosen by SDK.
//! - [`conformance`] (feature `conformance`): the suite every backend must pass.
//! - [`wait_healthy`] / [`http_get`]: health is an HTTP GET answering below 500.
//! - [`supervisor`]: owns Spaces and drives their lifecycle with a runtime and a clock, emitting
//!   usage events.
//! - [`scheduler`]: pure placement of Spaces on a fleet of hosts.
//! - [`nvidia`]: the GPU inventory (NVML behind feature `nvidia`), model matching, the GPU
//!   allocator the local runtime takes ([`LocalRuntime::with_gpus`]) and the `spaces gpus` report.
//! - `kubernetes` (feature `kubernetes`): Spaces as Deployments on a Kubernetes cluster, and a
//!   Kubernetes scheduler placing pods with [`scheduler`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use spaces_runtime::{LocalRuntime, Runtime};
//!
//! let runtime: Arc<dyn Runtime> = Arc::new(LocalRuntime::new("/tmp/spaces-local")?);
//! assert_eq!(runtime.name(), "local");
//! # Ok::<(), spaces_runtime::Error>(())
//! ```

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(feature = "docker")]
pub mod docker;
mod error;
mod health;
#[cfg(feature = "kubernetes")]
pub mod kubernetes;
mod local;
pub mod nvidia;
mod routed;
mod runtime;
pub mod scheduler;
pub mod supervisor;

pub use error::Error;
pub use health::{http_get, is_healthy, wait_healthy, HttpResponse};
pub use local::LocalRuntime;
pub use routed::SdkRouter;
pub use runtime::{
    BuildOutput, BuildRequest, Image, Instance, InstanceId, InstanceSpec, InstanceState, LogLine,
    LogSource, LogStream, Runtime, VolumeSpec,
};
