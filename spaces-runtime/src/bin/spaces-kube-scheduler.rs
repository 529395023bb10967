//! `spaces-kube-scheduler`: the `spaces` Kubernetes scheduler as a process.
//!
//! Run it next to the cluster's default scheduler; pods with `schedulerName: spaces` are placed
//! by [`spaces_runtime::kubernetes::scheduler::SpacesScheduler`]. `--help` says how.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use spaces_runtime::kubernetes::scheduler::{
    SchedulerConfig, SpacesScheduler, NVIDIA_GPU_PRODUCT_LABEL, NVIDIA_GPU_RESOURCE,
};

/// A Kubernetes scheduler placing pods with the Spaces scheduler.
///
/// It binds every pending pod whose `spec.schedulerName` is NAME (default `spaces`) to a node:
/// never beyond the node's allocatable cpu, memory, ephemeral-storage, GPUs and pod count; GPU
/// pods only on nodes of the GPU model their nodeSelector names (label `nvidia.com/gpu.product`,
/// or --gpu-model-label); CPU pods off idle GPU nodes; pods packed onto few nodes (first fit).
/// Taints (NoSchedule, NoExecute), nodeSelector, required node affinity and cordoned nodes are
/// honoured. A pod that fits nowhere gets a FailedScheduling event saying which resource is
/// short and which node came nearest, and is tried again when capacity changes.
///
/// The cluster is found like kubectl does: $KUBECONFIG (or ~/.kube/config), else the in-cluster
/// service account. It needs to get/list/watch nodes and pods, create pods/binding and events,
/// and patch pods/status (the rights of the `system:kube-scheduler` ClusterRole).
///
/// Example: make a pod use it, then run it:
///
///   spec: { schedulerName: spaces, containers: [...] }
///
///   KUBECONFIG=~/.kube/config RUST_LOG=info spaces-kube-scheduler --scheduler-name spaces
///
/// Logs go to stderr; RUST_LOG sets the level (default info).
#[derive(Debug, Parser)]
#[command(name = "spaces-kube-scheduler", version, verbatim_doc_comment)]
struct Args {
    /// The schedulerName of the pods to place.
    #[arg(long, default_value = "spaces", value_name = "NAME")]
    scheduler_name: String,
    /// A node label naming the model of its GPUs, read like NVML names (NVIDIA-A100-SXM4-80GB,
    /// Tesla-T4, A10G); may be repeated. nvidia.com/gpu.product is always read first.
    #[arg(long = "gpu-model-label", value_name = "KEY")]
    gpu_model_labels: Vec<String>,
    /// The extended resource counting GPUs.
    #[arg(long, default_value = NVIDIA_GPU_RESOURCE, value_name = "NAME")]
    gpu_resource: String,
    /// Bindings in flight at once.
    #[arg(long, default_value_t = 32, value_name = "N")]
    concurrency: usize,
    /// Only place pods of this namespace (default: every namespace); bound pods of every
    /// namespace still count against their nodes.
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Do not record a `Scheduled` event for each pod bound (kube-scheduler records one).
    #[arg(long)]
    no_scheduled_events: bool,
    /// Seconds between retries of pods that fit nowhere, even when no capacity change was seen.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    retry_every: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = SchedulerConfig::new(args.scheduler_name).with_concurrency(args.concurrency);
    config.gpu_model_labels = vec![NVIDIA_GPU_PRODUCT_LABEL.to_owned()];
    for label in args.gpu_model_labels {
        config = config.with_gpu_model_label(label);
    }
    config.gpu_resource = args.gpu_resource;
    config.scheduled_events = !args.no_scheduled_events;
    config.namespace = args.namespace;
    config.retry_every = Duration::from_secs(args.retry_every.max(1));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spaces-kube-scheduler: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let client = match kube::Client::try_default().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "spaces-kube-scheduler: no cluster found ($KUBECONFIG, ~/.kube/config or \
                     in-cluster): {e}"
                );
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(scheduler = %config.scheduler_name, "spaces-kube-scheduler starting");
        // Runs until killed (SIGTERM/SIGINT end the process; a restart relists and carries on).
        match SpacesScheduler::new(client, config).run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("spaces-kube-scheduler: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
