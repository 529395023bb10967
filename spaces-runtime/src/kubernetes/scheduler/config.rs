//! What the Kubernetes scheduler is told: its name, how GPUs are named, how much it does at once.

use std::time::Duration;

/// The label that NVIDIA's GPU feature discovery puts on nodes: the product name of their GPUs
/// (`NVIDIA-A100-SXM4-80GB`, `Tesla-T4`).
pub const NVIDIA_GPU_PRODUCT_LABEL: &str = "nvidia.com/gpu.product";

/// The extended resource the NVIDIA device plugin advertises.
pub const NVIDIA_GPU_RESOURCE: &str = "nvidia.com/gpu";

/// Settings of a [`SpacesScheduler`](super::SpacesScheduler).
///
/// ```
/// use spaces_runtime::kubernetes::scheduler::SchedulerConfig;
/// let config = SchedulerConfig::new("spaces")
///     .with_gpu_model_label("example.com/gpu-model")
///     .with_concurrency(64);
/// assert_eq!(config.scheduler_name, "spaces");
/// assert_eq!(config.gpu_model_labels, ["nvidia.com/gpu.product", "example.com/gpu-model"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// The `spec.schedulerName` of the pods this scheduler places (`spaces`).
    pub scheduler_name: String,
    /// Node labels naming the model of a node's GPUs, first present wins; a GPU pod picks its
    /// model with a `nodeSelector` on one of them. Values are read like NVML device names
    /// (`NVIDIA-A10G`, `Tesla-T4` and `T4` are all [`GpuModel`](spaces_core::GpuModel) names).
    pub gpu_model_labels: Vec<String>,
    /// The extended resource counting GPUs (`nvidia.com/gpu`).
    pub gpu_resource: String,
    /// How many bindings (each with its `Scheduled` event) may be in flight at once.
    pub concurrency: usize,
    /// Whether a successful binding also records a `Scheduled` event, as kube-scheduler does.
    pub scheduled_events: bool,
    /// Place pods of this namespace only (`None`: every namespace). Pods of every namespace bound
    /// to nodes still count against them.
    pub namespace: Option<String>,
    /// How often pods that did not fit are tried again even if no capacity change was seen.
    pub retry_every: Duration,
}

impl SchedulerConfig {
    /// Defaults for a scheduler named `name`: the NVIDIA product label and resource, 32 bindings
    /// in flight, `Scheduled` events, every namespace, a retry every 30 s.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            scheduler_name: name.into(),
            gpu_model_labels: vec![NVIDIA_GPU_PRODUCT_LABEL.to_owned()],
            gpu_resource: NVIDIA_GPU_RESOURCE.to_owned(),
            concurrency: 32,
            scheduled_events: true,
            namespace: None,
            retry_every: Duration::from_secs(30),
        }
    }

    /// Also reads a node's GPU model from `label` (after the ones already known).
    pub fn with_gpu_model_label(mut self, label: impl Into<String>) -> Self {
        let label = label.into();
        if !self.gpu_model_labels.contains(&label) {
            self.gpu_model_labels.push(label);
        }
        self
    }

    /// At most `n` bindings in flight (at least 1).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Places pods of `namespace` only.
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self::new("spaces")
    }
}
