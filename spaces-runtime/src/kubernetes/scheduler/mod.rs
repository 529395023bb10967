//! `spaces`, a Kubernetes scheduler built on [`crate::scheduler`].
//!
//! [`SpacesScheduler`] watches the pods whose `spec.schedulerName` is its name (`spaces`; the
//! Deployments of the Kubernetes runtime name it) and binds each to a node chosen by
//! [`crate::scheduler::Scheduler`], with the same rules as on our own fleet: never
//! oversubscribed, GPU pods only on nodes of the GPU model they ask for, CPU pods kept off idle
//! GPU nodes, first fit to pack pods onto few nodes. The binary `spaces-kube-scheduler` runs it.
//!
//! # How the cluster maps onto the fleet
//!
//! - **Nodes are hosts.** A node's `status.allocatable` (capacity if absent) becomes a
//!   [`HostSpec`](crate::scheduler::HostSpec): `cpu` in millicores, `memory` and
//!   `ephemeral-storage` in MiB, `nvidia.com/gpu` (configurable) as whole GPUs of the model its
//!   GPU model label names ([`SchedulerConfig::gpu_model_labels`], default
//!   `nvidia.com/gpu.product`, read like NVML names: `NVIDIA-A100-SXM4-80GB` is an A100).
//! - **Units.** Our scheduler counts whole units, so a pod's requests are rounded **up** and a
//!   node's allocatable **down** ([`quantity`]): whatever fits in units fits exactly, and the
//!   requests bound to a node never sum above its allocatable. A 100m pod takes 100 units of a
//!   node's 4000; nothing is lost to rounding but a fraction of a millicore or MiB.
//! - **A pod's requests** are the sum of its containers' (a limit stands for a missing request),
//!   at least each init container's, plus its overhead; a GPU pod's model is the value of its
//!   `nodeSelector` on a GPU model label (none: any model).
//! - **Every pod bound to a node counts against it**, whoever bound it (kube-scheduler, a
//!   `nodeName` set by hand), until it is deleted or Succeeded/Failed. A bound pod that does not
//!   fit the node's accounts (a node that shrank) closes the node to new pods until it does.
//! - **Nodes that take no new pods are drained**: cordoned (`spec.unschedulable`), at their
//!   `allocatable.pods` limit, or over-committed. Deleted nodes are removed; a changed
//!   allocatable or GPU model re-adds the node with its pods re-counted.
//! - **Taints, node selectors and required node affinity** are honoured as kube-scheduler does:
//!   a pod goes only to nodes whose `NoSchedule`/`NoExecute` taints it tolerates and whose labels
//!   match. Our scheduler is label-blind, so the controller checks the host it picks and, if the
//!   pod may not go there, hides that host for the rest of this pod's search and asks again: no
//!   node that could take the pod is missed, and clusters whose pods fit their nodes' rules pay
//!   nothing.
//!
//! # The loop
//!
//! One task owns the state (`state`) and reads three things: node and pod watches (with
//! relists reconciled: what a relist no longer shows is forgotten) and the outcomes of
//! bindings. Placement starts once both initial lists are complete. Each pending pod is placed at
//! once in memory (its requests taken, so the next pod sees them) and bound by a detached task,
//! at most [`SchedulerConfig::concurrency`] in flight; a failed binding gives the requests back
//! and places the pod again. A pod that fits nowhere gets a `FailedScheduling` event whose
//! message names the short resource and the nearest node (our
//! [`Reason`](crate::scheduler::Reason)) and `PodScheduled=False`; it is tried again when
//! capacity changes (a pod leaves, a node comes or changes; checked twice a second) and every
//! [`SchedulerConfig::retry_every`].
//!
//! # Example
//!
//! ```no_run
//! use spaces_runtime::kubernetes::scheduler::{SchedulerConfig, SpacesScheduler};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let client = kube::Client::try_default().await?; // $KUBECONFIG or in-cluster
//! let config = SchedulerConfig::new("spaces").with_gpu_model_label("example.com/gpu-model");
//! // Runs until dropped; pods with `schedulerName: spaces` are bound as they come.
//! SpacesScheduler::new(client, config).run().await?;
//! # Ok(())
//! # }
//! ```

mod api;
mod config;
mod controller;
mod explain;
mod objects;
pub mod quantity;
mod state;

pub use config::{SchedulerConfig, NVIDIA_GPU_PRODUCT_LABEL, NVIDIA_GPU_RESOURCE};
pub use controller::SpacesScheduler;
pub use objects::gpu_model_from_label;
