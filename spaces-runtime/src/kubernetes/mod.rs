//! The Kubernetes backend, behind the `kubernetes` feature: Spaces as Deployments placed by our
//! own scheduler.
//!
//! - [`runtime`]: `KubernetesRuntime`, the [`Runtime`](crate::Runtime) backend.
//! - [`scheduler`]: a Kubernetes scheduler (`schedulerName: spaces`) placing pods with
//!   [`crate::scheduler`].

pub mod runtime;
pub mod scheduler;
