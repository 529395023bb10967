#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn node(name: &str, cpu: &str, mem: &str, gpus: Option<(&str, &str)>) -> Node {
    let mut alloc = serde_json::json!({"cpu": cpu, "memory": mem, "pods": "110"});
    let mut labels = serde_json::json!({});
    if let Some((model, n)) = gpus {
        alloc["nvidia.com/gpu"] = n.into();
        labels["nvidia.com/gpu.product"] = model.into();
    }
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": labels},
        "status": {"allocatable": alloc, "capacity": alloc},
    }))
    .unwrap()
}

fn pod(name: &str, cpu: &str, mem: &str, gpu: Option<&str>) -> Pod {
    let mut limits = serde_json::json!({});
    let mut selector = serde_json::json!({});
    if let Some(model) = gpu {
        limits["nvidia.com/gpu"] = "1".into();
        selector["nvidia.com/gpu.product"] = model.into();
    }
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
        "spec": {
            "schedulerName": "spaces",
            "nodeSelector": selector,
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}, "limits": limits}}],
        },
    }))
    .unwrap()
}

fn bind_all(state: &mut ClusterState) -> Vec<(String, Result<String, String>)> {
    let mut out = Vec::new();
    while let Some(next) = state.next() {
        match next {
            Next::Bind(job) => {
                state.bind_done(&job, BindOutcome::Bound);
                out.push((job.name.clone(), Ok(job.node.clone())));
            }
            Next::Failed(f) => out.push((f.name.clone(), Err(f.message))),
        }
    }
    out
}

#[test]
fn packs_pods_respects_models_and_explains() {
    let mut s = ClusterState::new(SchedulerConfig::default());
    s.apply_node(&node("cpu-1", "1500m", "2Gi", None));
    s.apply_node(&node("t4-1", "8", "32Gi", Some(("Tesla-T4", "1"))));
    s.apply_pod(&pod("a", "1", "1Gi", None));
    s.apply_pod(&pod("b", "500m", "1Gi", None));
    s.apply_pod(&pod("g", "1", "1Gi", Some("Tesla-T4")));
    s.apply_pod(&pod("g2", "1", "1Gi", Some("Tesla-T4")));
    s.apply_pod(&pod("h", "1", "1Gi", Some("A100")));
    let out = bind_all(&mut s);
    assert_eq!(out[0], ("a".into(), Ok("cpu-1".into())));
    assert_eq!(out[1], ("b".into(), Ok("cpu-1".into())));
    assert_eq!(out[2], ("g".into(), Ok("t4-1".into())));
    let (_, g2) = &out[3];
    let msg = g2.clone().unwrap_err();
    assert!(
        msg.contains("Insufficient nvidia.com/gpu (T4)") && msg.contains("t4-1"),
        "{msg}"
    );
    let msg = out[4].1.clone().unwrap_err();
    assert!(msg.contains("no schedulable node has A100 GPUs"), "{msg}");
    // Deleting g frees the T4: g2 goes there on retry.
    s.delete_pod("ns/g");
    assert!(s.capacity_changed);
    s.retry_waiting();
    let out = bind_all(&mut s);
    assert!(out.contains(&("g2".into(), Ok("t4-1".into()))), "{out:?}");
}

#[test]
fn pods_bound_elsewhere_count_and_cordoned_nodes_are_skipped() {
    let mut s = ClusterState::new(SchedulerConfig::default());
    s.apply_node(&node("n1", "2", "4Gi", None));
    s.apply_node(&node("n2", "2", "4Gi", None));
    let mut other = pod("other", "2", "1Gi", None);
    other.spec.as_mut().unwrap().node_name = Some("n1".into());
    other.spec.as_mut().unwrap().scheduler_name = Some("default-scheduler".into());
    s.apply_pod(&other);
    s.apply_pod(&pod("a", "1", "1Gi", None));
    assert_eq!(bind_all(&mut s), [("a".into(), Ok("n2".into()))]);
    let mut cordoned = node("n2", "2", "4Gi", None);
    cordoned.spec =
        Some(serde_json::from_value(serde_json::json!({"unschedulable": true})).unwrap());
    s.apply_node(&cordoned);
    s.apply_pod(&pod("b", "1", "1Gi", None));
    let out = bind_all(&mut s);
    assert!(out[0].1.is_err(), "{out:?}");
    s.delete_pod("ns/other");
    s.retry_waiting();
    assert_eq!(bind_all(&mut s), [("b".into(), Ok("n1".into()))]);
}

#[test]
fn untolerated_taints_are_avoided() {
    let mut s = ClusterState::new(SchedulerConfig::default());
    let mut tainted = node("t", "4", "4Gi", None);
    tainted.spec = Some(
        serde_json::from_value(
            serde_json::json!({"taints": [{"key": "dedicated", "effect": "NoSchedule"}]}),
        )
        .unwrap(),
    );
    s.apply_node(&tainted);
    s.apply_pod(&pod("a", "1", "1Gi", None));
    let out = bind_all(&mut s);
    let msg = out[0].1.clone().unwrap_err();
    assert!(msg.contains("taint") && msg.contains("dedicated"), "{msg}");
    s.apply_node(&node("free", "4", "4Gi", None));
    s.retry_waiting();
    assert_eq!(bind_all(&mut s), [("a".into(), Ok("free".into()))]);
}
