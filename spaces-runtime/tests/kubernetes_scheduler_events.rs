//! A pod the `spaces` scheduler cannot place gets a `FailedScheduling` event explaining why,
//! and `PodScheduled=False`; it is bound once capacity appears.
//!
//! Needs `$KUBECONFIG`; prints `SKIPPED:` without one unless `SPACES_REQUIRE_KUBERNETES=1`.
#![cfg(feature = "kubernetes")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kubernetes_sched;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::ListParams;
use kube::Api;
use kubernetes_sched as k;
use spaces_runtime::kubernetes::scheduler::{SchedulerConfig, SpacesScheduler};

async fn failed_scheduling(events: &Api<Event>, pod: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = events
            .list(&ListParams::default().fields(&format!("involvedObject.name={pod}")))
            .await
            .unwrap();
        if let Some(e) = list
            .items
            .iter()
            .find(|e| e.reason.as_deref() == Some("FailedScheduling"))
        {
            assert_eq!(e.type_.as_deref(), Some("Warning"));
            return e.message.clone().unwrap_or_default();
        }
        assert!(
            Instant::now() < deadline,
            "no FailedScheduling event for {pod}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unschedulable_pod_gets_an_event_explaining_why() {
    let Some(client) = k::cluster("unschedulable_pod_gets_an_event_explaining_why").await else {
        return;
    };
    let tag = format!("spe{}", std::process::id());
    let ns = format!("{tag}-pods");
    k::namespace(&client, &ns).await;
    let nodes = k::node_specs(&tag, 10); // nine CPU nodes (at most 32 cpu) and one T4 node
    k::create_nodes(&client, &tag, &nodes).await;
    let config = SchedulerConfig::new("spaces").in_namespace(ns.clone());
    let scheduler = tokio::spawn(SpacesScheduler::new(client.clone(), config).run());

    let huge = k::PodSpec {
        name: "huge".into(),
        cpu_m: 64_000,
        memory_mi: 1024,
        product: None,
    };
    let h100 = k::PodSpec {
        name: "h100".into(),
        cpu_m: 1000,
        memory_mi: 1024,
        product: Some("NVIDIA-H100-80GB-HBM3"),
    };
    let fits = k::PodSpec {
        name: "fits".into(),
        cpu_m: 1000,
        memory_mi: 1024,
        product: None,
    };
    k::create_pods(&client, &ns, &[huge, h100, fits], "spaces").await;

    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let msg = failed_scheduling(&events, "huge").await;
    println!("huge: {msg}");
    assert!(
        msg.contains("Insufficient cpu") && msg.contains("64 cpu"),
        "{msg}"
    );
    assert!(
        msg.contains("more than any eligible node's allocatable (31900m cpu)"),
        "{msg}"
    );
    let msg = failed_scheduling(&events, "h100").await;
    println!("h100: {msg}");
    // The selector names a model no node has.
    assert!(msg.contains("no schedulable node has H100 GPUs"), "{msg}");

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pod = pods.get("huge").await.unwrap();
        let cond = pod
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == "PodScheduled");
        if let Some(c) = cond {
            assert_eq!(
                (c.status.as_str(), c.reason.as_deref()),
                ("False", Some("Unschedulable"))
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no PodScheduled condition on huge"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_, bound) = k::wait_bound(&client, &ns, 1, Duration::from_secs(60)).await;
    assert_eq!(k::names(&bound), ["fits".to_owned()].into());

    // Capacity appears: a 64-cpu node; the huge pod is bound to it.
    let big = k::NodeSpec {
        name: format!("{tag}-big"),
        cpu_m: 64_000,
        memory_mi: 65_536,
        gpus: 0,
        product: None,
    };
    k::create_nodes(&client, &tag, std::slice::from_ref(&big)).await;
    let (_, bound) = k::wait_bound(&client, &ns, 2, Duration::from_secs(60)).await;
    let huge = bound
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("huge"))
        .unwrap();
    assert_eq!(
        huge.spec.as_ref().unwrap().node_name.as_deref(),
        Some(big.name.as_str())
    );
    scheduler.abort();
    k::delete_namespace(&client, &ns).await;
    k::delete_nodes(&client, &tag).await;
}
