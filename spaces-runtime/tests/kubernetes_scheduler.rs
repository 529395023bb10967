//! The `spaces` Kubernetes scheduler against a real API server (no kubelet): 1,000 fake nodes,
//! 10,000 pods, every pod bound within its node's allocatable and GPU model.
//!
//! Needs `$KUBECONFIG` (see spaces-runtime/scripts/k8s-scheduler-test.sh); prints `SKIPPED:`
//! without one unless `SPACES_REQUIRE_KUBERNETES=1`.
#![cfg(feature = "kubernetes")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kubernetes_sched;

use std::time::Duration;

use kubernetes_sched as k;
use spaces_runtime::kubernetes::scheduler::{SchedulerConfig, SpacesScheduler};

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_every_pod_within_allocatable_and_gpu_model() {
    let Some(client) = k::cluster("binds_every_pod_within_allocatable_and_gpu_model").await else {
        return;
    };
    let nodes_n = count("SPACES_K8S_SCHED_TEST_NODES", 1000);
    let pods_n = count("SPACES_K8S_SCHED_TEST_PODS", 10_000);
    let tag = format!("spt{}", std::process::id());
    let ns = format!("{tag}-pods");
    k::namespace(&client, &ns).await;
    let nodes = k::node_specs(&tag, nodes_n);
    k::create_nodes(&client, &tag, &nodes).await;

    let config = SchedulerConfig::new("spaces").in_namespace(ns.clone());
    let scheduler = tokio::spawn(SpacesScheduler::new(client.clone(), config).run());
    let pods = k::pod_specs("p", pods_n);
    k::create_pods(&client, &ns, &pods, "spaces").await;
    let (_, bound) = k::wait_bound(&client, &ns, pods_n, Duration::from_secs(900)).await;
    scheduler.abort();

    assert_eq!(bound.len(), pods_n);
    let util = k::check_fit(&nodes, &bound);
    let gpu_pods = bound
        .iter()
        .filter(|p| p.spec.as_ref().unwrap().node_selector.is_some())
        .count();
    println!(
        "{pods_n} pods bound on {} of {nodes_n} nodes ({gpu_pods} GPU pods), all within allocatable",
        util.len()
    );
    k::delete_namespace(&client, &ns).await;
    k::delete_nodes(&client, &tag).await;
}
