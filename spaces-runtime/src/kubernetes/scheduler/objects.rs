//! Nodes and pods as the scheduler sees them: a node's allocatable as a
//! [`HostSpec`](crate::scheduler::HostSpec), a pod's requests as a [`Demand`], and the rules
//! (node selector, required node affinity, taints) that can keep a pod off a node.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, Node, NodeSelector, NodeSelectorRequirement, Pod, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use spaces_core::GpuModel;

use super::config::SchedulerConfig;
use super::quantity::{parse, Round, Unit};
use crate::scheduler::{Demand, HostSpec, Resources};

/// The GPU model a label value names: read like an NVML device name, so `NVIDIA-A100-SXM4-80GB`,
/// `A100` and `nvidia a100` are all [`GpuModel::A100`]; unknown names are kept, normalised.
///
/// ```
/// use spaces_core::GpuModel;
/// use spaces_runtime::kubernetes::scheduler::gpu_model_from_label;
/// assert_eq!(gpu_model_from_label("NVIDIA-A100-SXM4-80GB"), GpuModel::A100);
/// assert_eq!(gpu_model_from_label("Tesla-T4"), GpuModel::T4);
/// assert_eq!(gpu_model_from_label("L4"), GpuModel::L4);
/// ```
pub fn gpu_model_from_label(value: &str) -> GpuModel {
    crate::nvidia::match_model(value, 0).model
}

/// A node: what it offers in scheduler units, and what can keep pods off it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NodeView {
    /// Allocatable, rounded down: millicores, MiB of memory, MiB of ephemeral storage, GPUs.
    pub(crate) spec: HostSpec,
    /// `allocatable.pods`.
    pub(crate) max_pods: u32,
    /// `spec.unschedulable` (cordoned).
    pub(crate) cordoned: bool,
    /// Its `NoSchedule` and `NoExecute` taints.
    pub(crate) taints: Vec<Taint>,
    /// Its labels.
    pub(crate) labels: BTreeMap<String, String>,
}

impl NodeView {
    /// Reads a node. A node without a status yet offers nothing (and takes no pods).
    pub(crate) fn from_node(node: &Node, config: &SchedulerConfig) -> NodeView {
        let labels = node.metadata.labels.clone().unwrap_or_default();
        let alloc = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref().or(s.capacity.as_ref()));
        let amount = |name: &str, unit: Unit| {
            alloc
                .and_then(|a| a.get(name))
                .and_then(|q| parse(&q.0, unit, Round::Down))
                .unwrap_or(0)
        };
        let mut spec = HostSpec::cpu(
            amount("cpu", Unit::Millicores),
            amount("memory", Unit::Mebibytes),
            amount("ephemeral-storage", Unit::Mebibytes),
        );
        let gpus = amount(&config.gpu_resource, Unit::Whole);
        if gpus > 0 {
            let model = config
                .gpu_model_labels
                .iter()
                .find_map(|l| labels.get(l))
                .map_or_else(
                    || GpuModel::Other("unlabelled".to_owned()),
                    |v| gpu_model_from_label(v),
                );
            spec = spec.with_gpus(model, gpus);
        }
        let spec_ref = node.spec.as_ref();
        let taints = spec_ref
            .and_then(|s| s.taints.as_ref())
            .map(|t| {
                t.iter()
                    .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        NodeView {
            spec,
            max_pods: amount("pods", Unit::Whole),
            cordoned: spec_ref.and_then(|s| s.unschedulable).unwrap_or(false),
            taints,
            labels,
        }
    }
}

/// A pod: who schedules it, where it is bound, what it asks for and where it may go.
#[derive(Clone, Debug)]
pub(crate) struct PodView {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) scheduler_name: String,
    pub(crate) node_name: Option<String>,
    /// Succeeded or Failed: holds nothing any more.
    pub(crate) terminated: bool,
    /// Requests in scheduler units (rounded up), or why they cannot be read.
    pub(crate) need: Result<Resources, String>,
    /// The GPU model its node selector names, if any.
    pub(crate) gpu_model: Option<GpuModel>,
    pub(crate) node_selector: BTreeMap<String, String>,
    pub(crate) affinity: Option<NodeSelector>,
    pub(crate) tolerations: Vec<Toleration>,
}

impl PodView {
    /// Reads a pod (`None` when it has no name, namespace or uid).
    pub(crate) fn from_pod(pod: &Pod, config: &SchedulerConfig) -> Option<PodView> {
        let meta = &pod.metadata;
        let spec = pod.spec.as_ref();
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        let node_selector = spec
            .and_then(|s| s.node_selector.clone())
            .unwrap_or_default();
        let gpu_model = config
            .gpu_model_labels
            .iter()
            .find_map(|l| node_selector.get(l))
            .map(|v| gpu_model_from_label(v));
        Some(PodView {
            namespace: meta.namespace.clone()?,
            name: meta.name.clone()?,
            uid: meta.uid.clone()?,
            scheduler_name: spec
                .and_then(|s| s.scheduler_name.clone())
                .unwrap_or_else(|| "default-scheduler".to_owned()),
            node_name: spec
                .and_then(|s| s.node_name.clone())
                .filter(|n| !n.is_empty()),
            terminated: matches!(phase, Some("Succeeded" | "Failed")),
            need: spec
                .map(|s| pod_requests(s, config))
                .unwrap_or(Ok(Resources::ZERO)),
            gpu_model,
            node_selector,
            affinity: spec
                .and_then(|s| s.affinity.as_ref())
                .and_then(|a| a.node_affinity.as_ref())
                .and_then(|a| {
                    a.required_during_scheduling_ignored_during_execution
                        .clone()
                }),
            tolerations: spec.and_then(|s| s.tolerations.clone()).unwrap_or_default(),
        })
    }

    /// `namespace/name`.
    pub(crate) fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The demand on a node with GPUs of `model` (a bound pod's GPUs are its node's).
    pub(crate) fn demand_on(&self, model: Option<&GpuModel>) -> Option<Demand> {
        let need = self.need.as_ref().ok()?;
        Some(Demand::new(*need, model.cloned()))
    }

    /// Why this pod may not go to `node`, or `None` if it may (selector, affinity, taints).
    pub(crate) fn mismatch(&self, node_name: &str, node: &NodeView) -> Option<Mismatch> {
        let selected = self
            .node_selector
            .iter()
            .all(|(k, v)| node.labels.get(k) == Some(v));
        if !selected {
            return Some(Mismatch::Selector);
        }
        if let Some(affinity) = &self.affinity {
            let any = affinity
                .node_selector_terms
                .iter()
                .any(|term| term_matches(term, node_name, &node.labels));
            if !any {
                return Some(Mismatch::Affinity);
            }
        }
        node.taints
            .iter()
            .find(|t| !self.tolerations.iter().any(|tol| tolerates(tol, t)))
            .map(|t| Mismatch::Taint(t.key.clone()))
    }
}

/// Why a pod may not go to a node whatever its free capacity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mismatch {
    /// The pod's `nodeSelector` does not match the node's labels.
    Selector,
    /// The pod's required node affinity does not match.
    Affinity,
    /// The node has a `NoSchedule`/`NoExecute` taint with this key the pod does not tolerate.
    Taint(String),
}

/// Whether `toleration` tolerates `taint` (Kubernetes' `ToleratesTaint`).
fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect = toleration.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = toleration.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => {
            !key.is_empty()
                && toleration.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or("")
        }
        _ => false,
    }
}

/// One term of a required node affinity: all its expressions hold (an empty term matches none).
fn term_matches(
    term: &k8s_openapi::api::core::v1::NodeSelectorTerm,
    node_name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs
        .iter()
        .all(|r| requirement_holds(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| {
            let value = (r.key == "metadata.name").then_some(node_name);
            requirement_holds(r, value)
        })
}

fn requirement_holds(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| values.iter().all(|x| x != v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(number),
                values.first().and_then(|s| number(s)),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// What a pod asks for, in scheduler units rounded up: the sum of its containers' requests (a
/// limit stands for a missing request, as the API server's defaulting does), at least each init
/// container's, plus the pod overhead.
fn pod_requests(
    spec: &k8s_openapi::api::core::v1::PodSpec,
    config: &SchedulerConfig,
) -> Result<Resources, String> {
    let mut sum = Resources::ZERO;
    for c in &spec.containers {
        sum = saturating_add(&sum, &container_requests(c, config)?);
    }
    for c in spec.init_containers.as_deref().unwrap_or_default() {
        sum = sum.max(&container_requests(c, config)?);
    }
    if let Some(overhead) = &spec.overhead {
        let o = amounts(|n| overhead.get(n), config)?;
        sum = saturating_add(&sum, &o);
    }
    Ok(sum)
}

fn container_requests(c: &Container, config: &SchedulerConfig) -> Result<Resources, String> {
    let res = c.resources.as_ref();
    let requests = res.and_then(|r| r.requests.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    amounts(
        |n| {
            requests
                .and_then(|r| r.get(n))
                .or_else(|| limits.and_then(|l| l.get(n)))
        },
        config,
    )
}

fn amounts<'a>(
    get: impl Fn(&str) -> Option<&'a Quantity>,
    config: &SchedulerConfig,
) -> Result<Resources, String> {
    let one = |name: &str, unit: Unit| match get(name) {
        None => Ok(0),
        Some(q) => parse(&q.0, unit, Round::Up)
            .ok_or_else(|| format!("cannot read {name} quantity {:?}", q.0)),
    };
    Ok(Resources::new(
        one("cpu", Unit::Millicores)?,
        one("memory", Unit::Mebibytes)?,
        one("ephemeral-storage", Unit::Mebibytes)?,
        one(&config.gpu_resource, Unit::Whole)?,
    ))
}

fn saturating_add(a: &Resources, b: &Resources) -> Resources {
    Resources::new(
        a.vcpu.saturating_add(b.vcpu),
        a.memory_gb.saturating_add(b.memory_gb),
        a.disk_gb.saturating_add(b.disk_gb),
        a.gpus.saturating_add(b.gpus),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            effect: effect.into(),
            ..Default::default()
        }
    }

    #[test]
    fn tolerations_follow_kubernetes() {
        let t = taint("node.kubernetes.io/unreachable", "NoSchedule");
        let exists_key = Toleration {
            key: Some("node.kubernetes.io/unreachable".into()),
            operator: Some("Exists".into()),
            ..Default::default()
        };
        let exists_all = Toleration {
            operator: Some("Exists".into()),
            ..Default::default()
        };
        let other_effect = Toleration {
            effect: Some("NoExecute".into()),
            ..exists_key.clone()
        };
        assert!(tolerates(&exists_key, &t));
        assert!(tolerates(&exists_all, &t));
        assert!(!tolerates(&other_effect, &t));
        let equal = Toleration {
            key: Some("k".into()),
            value: Some("v".into()),
            ..Default::default()
        };
        let mut kv = taint("k", "NoExecute");
        kv.value = Some("v".into());
        assert!(tolerates(&equal, &kv));
        kv.value = Some("w".into());
        assert!(!tolerates(&equal, &kv));
    }
}
