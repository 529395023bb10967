//! The message of a `FailedScheduling` event: our [`Reason`] in Kubernetes words and units.

use std::fmt::Write as _;

use crate::scheduler::{Reason, Resource, Resources, ScheduleError};

use super::quantity::{format, Unit};

/// Nodes a pod was refused before capacity was even looked at, by cause.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rejected {
    /// Nodes whose labels do not match the pod's node selector or required affinity.
    pub(crate) selector: u32,
    /// Nodes with a taint the pod does not tolerate, and one such taint's key.
    pub(crate) taint: u32,
    pub(crate) taint_key: Option<String>,
}

/// `amount` of `resource` in Kubernetes units.
fn amount(resource: &Resource, amount: u32, gpu_resource: &str) -> String {
    match resource {
        Resource::Vcpu => format!("{} cpu", format(amount, Unit::Millicores)),
        Resource::Memory => format!("{} memory", format(amount, Unit::Mebibytes)),
        Resource::Disk => format!("{} ephemeral-storage", format(amount, Unit::Mebibytes)),
        Resource::Gpu(model) => format!("{amount} {gpu_resource} ({model})"),
    }
}

/// Every non-zero amount of `r` (GPUs of `model`), comma separated.
fn amounts(r: &Resources, model: Option<&spaces_core::GpuModel>, gpu_resource: &str) -> String {
    let mut parts = Vec::new();
    if r.vcpu > 0 {
        parts.push(amount(&Resource::Vcpu, r.vcpu, gpu_resource));
    }
    if r.memory_gb > 0 {
        parts.push(amount(&Resource::Memory, r.memory_gb, gpu_resource));
    }
    if r.disk_gb > 0 {
        parts.push(amount(&Resource::Disk, r.disk_gb, gpu_resource));
    }
    if r.gpus > 0 {
        let model = model
            .cloned()
            .unwrap_or(spaces_core::GpuModel::Other("any".into()));
        parts.push(amount(&Resource::Gpu(model), r.gpus, gpu_resource));
    }
    if parts.is_empty() {
        "nothing".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The `FailedScheduling` message for a pod our scheduler could not place, in the shape
/// kube-scheduler uses (`0/N nodes are available: ...`). `node_name` turns a host id into its
/// node's name.
pub(crate) fn explain(
    error: &ScheduleError,
    nodes: usize,
    rejected: &Rejected,
    gpu_resource: &str,
    node_name: impl Fn(crate::scheduler::HostId) -> String,
) -> String {
    let mut msg = format!("0/{nodes} nodes are available: ");
    match error.unschedulable() {
        Some(u) => {
            let demand = u.demand();
            let _ = write!(
                msg,
                "the pod requests {}; ",
                amounts(&demand.resources(), demand.gpu_model(), gpu_resource)
            );
            match u.reason() {
                Reason::NoActiveHosts => msg.push_str(
                    "no node takes new pods (every node is cordoned, at its pod limit, or \
                     excluded below)",
                ),
                Reason::NoHostWithGpu { model } => {
                    let _ = write!(msg, "no schedulable node has {model} GPUs ({gpu_resource})");
                }
                Reason::LargerThanAnyHost {
                    resource,
                    requested,
                    largest,
                } => {
                    let _ = write!(
                        msg,
                        "Insufficient {}: it requests {}, more than any eligible node's \
                         allocatable ({})",
                        resource_name(resource, gpu_resource),
                        amount(resource, *requested, gpu_resource),
                        amount(resource, *largest, gpu_resource),
                    );
                }
                Reason::Full {
                    resource,
                    nearest,
                    lacking,
                } => {
                    let model = match resource {
                        Resource::Gpu(m) => Some(m),
                        _ => None,
                    };
                    let _ = write!(
                        msg,
                        "Insufficient {}: every eligible node is too full; the nearest, node {}, \
                         lacks {}",
                        resource_name(resource, gpu_resource),
                        node_name(*nearest),
                        amounts(lacking, model, gpu_resource),
                    );
                }
            }
        }
        None => {
            let _ = write!(msg, "{error}");
        }
    }
    if rejected.selector > 0 {
        let _ = write!(
            msg,
            "; {} node(s) didn't match the pod's node selector or affinity",
            rejected.selector
        );
    }
    if rejected.taint > 0 {
        let _ = write!(
            msg,
            "; {} node(s) had a taint the pod didn't tolerate ({})",
            rejected.taint,
            rejected.taint_key.as_deref().unwrap_or("?")
        );
    }
    msg.push('.');
    msg
}

fn resource_name(resource: &Resource, gpu_resource: &str) -> String {
    match resource {
        Resource::Vcpu => "cpu".to_owned(),
        Resource::Memory => "memory".to_owned(),
        Resource::Disk => "ephemeral-storage".to_owned(),
        Resource::Gpu(model) => format!("{gpu_resource} ({model})"),
    }
}
