//! Support for the Kubernetes scheduler tests and bench: a cluster from `$KUBECONFIG`, fake
//! nodes (no kubelet: status written through the status subresource), pods, and the checks.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ServiceAccount};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::json;
use spaces_runtime::kubernetes::scheduler::quantity::{parse, Round, Unit};

pub const GPU_LABEL: &str = "nvidia.com/gpu.product";
/// Label values of the GPU node models, as NVIDIA's GPU feature discovery writes them.
pub const GPU_PRODUCTS: [&str; 4] = [
    "Tesla-T4",
    "NVIDIA-A10G",
    "NVIDIA-A100-SXM4-80GB",
    "NVIDIA-L4",
];

/// A client for `$KUBECONFIG`, or `None` (after printing `SKIPPED: ...`) when there is no
/// cluster; with `SPACES_REQUIRE_KUBERNETES=1` a missing cluster fails the test.
pub async fn cluster(test: &str) -> Option<Client> {
    let required = std::env::var("SPACES_REQUIRE_KUBERNETES").as_deref() == Ok("1");
    let skip = |why: String| {
        assert!(!required, "{test}: SPACES_REQUIRE_KUBERNETES=1 but {why}");
        println!("SKIPPED: {test}: {why}");
        None
    };
    if std::env::var_os("KUBECONFIG").is_none() {
        return skip("no cluster configured ($KUBECONFIG unset; see spaces-runtime/scripts/k8s-scheduler-test.sh)".into());
    }
    let client = match Client::try_default().await {
        Ok(c) => c,
        Err(e) => return skip(format!("cannot read $KUBECONFIG: {e}")),
    };
    match client.apiserver_version().await {
        Ok(_) => Some(client),
        Err(e) => skip(format!("the API server does not answer: {e}")),
    }
}

/// A fresh namespace whose `default` service account exists (bare pods need it).
pub async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
    let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), name);
    let deadline = Instant::now() + Duration::from_secs(60);
    while sa.get_opt("default").await.unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "no default service account in {name}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Deletes a namespace's pods at once (no kubelet will confirm a graceful deletion) and the
/// namespace.
pub async fn delete_namespace(client: &Client, name: &str) {
    delete_pods(client, name).await;
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::default()).await;
}

/// Deletes every pod of a namespace with grace period 0 and waits until none is left.
pub async fn delete_pods(client: &Client, ns: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let dp = DeleteParams::default().grace_period(0);
    let _ = pods.delete_collection(&dp, &ListParams::default()).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let left = pods
            .list_metadata(&ListParams::default().limit(1))
            .await
            .map(|l| l.items.len());
        if matches!(left, Ok(0)) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One fake node.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub cpu_m: u64,
    pub memory_mi: u64,
    pub gpus: u64,
    pub product: Option<&'static str>,
}

/// `n` nodes named `<prefix>-<i>`: every tenth a GPU node (32 cpu, 256Gi, 4 or 8 GPUs of one of
/// four models, by turns), the others CPU nodes of 4, 8, 16 or 32 cpu with 4Gi per cpu; the
/// allocatable is the capacity less 100m cpu and 512Mi.
pub fn node_specs(prefix: &str, n: usize) -> Vec<NodeSpec> {
    (0..n)
        .map(|i| {
            let name = format!("{prefix}-{i}");
            if i % 10 == 9 {
                let m = (i / 10) % GPU_PRODUCTS.len();
                NodeSpec {
                    name,
                    cpu_m: 32_000 - 100,
                    memory_mi: 256 * 1024 - 512,
                    gpus: if m == 2 { 8 } else { 4 },
                    product: Some(GPU_PRODUCTS[m]),
                }
            } else {
                let cpu = [4u64, 8, 16, 32][i % 4];
                NodeSpec {
                    name,
                    cpu_m: cpu * 1000 - 100,
                    memory_mi: cpu * 4 * 1024 - 512,
                    gpus: 0,
                    product: None,
                }
            }
        })
        .collect()
}

/// Creates the nodes (label `spaces-sched-test=<prefix>`) and writes their status: capacity,
/// allocatable and a Ready condition.
pub async fn create_nodes(client: &Client, prefix: &str, specs: &[NodeSpec]) {
    let api: Api<Node> = Api::all(client.clone());
    futures_util::stream::iter(specs.iter().cloned())
        .map(|spec| {
            let api = api.clone();
            let prefix = prefix.to_owned();
            async move {
                let mut labels = json!({"spaces-sched-test": prefix, "kubernetes.io/hostname": spec.name});
                if let Some(p) = spec.product {
                    labels[GPU_LABEL] = p.into();
                }
                let node: Node = serde_json::from_value(json!({
                    "metadata": {"name": spec.name, "labels": labels}
                }))
                .unwrap();
                api.create(&PostParams::default(), &node).await.unwrap();
                let mut cap = json!({"cpu": format!("{}m", spec.cpu_m + 100), "memory": format!("{}Mi", spec.memory_mi + 512), "pods": "110", "ephemeral-storage": "100Gi"});
                let mut alloc = json!({"cpu": format!("{}m", spec.cpu_m), "memory": format!("{}Mi", spec.memory_mi), "pods": "110", "ephemeral-storage": "90Gi"});
                if spec.gpus > 0 {
                    cap["nvidia.com/gpu"] = spec.gpus.to_string().into();
                    alloc["nvidia.com/gpu"] = spec.gpus.to_string().into();
                }
                let now = jiff::Timestamp::now().to_string();
                let status = json!({"status": {
                    "capacity": cap, "allocatable": alloc,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "fake node (no kubelet)", "lastHeartbeatTime": now, "lastTransitionTime": now}],
                }});
                api.patch_status(&spec.name, &PatchParams::default(), &Patch::Merge(&status))
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// Deletes the nodes labelled `spaces-sched-test=<prefix>`.
pub async fn delete_nodes(client: &Client, prefix: &str) {
    let api: Api<Node> = Api::all(client.clone());
    let lp = ListParams::default().labels(&format!("spaces-sched-test={prefix}"));
    let _ = api.delete_collection(&DeleteParams::default(), &lp).await;
}

/// One test pod: requests (cpu millicores, memory MiB), and a GPU product for GPU pods.
#[derive(Clone, Debug)]
pub struct PodSpec {
    pub name: String,
    pub cpu_m: u64,
    pub memory_mi: u64,
    pub product: Option<&'static str>,
}

/// `n` pods named `<prefix>-<i>`: mixed CPU/memory requests; every fiftieth asks for one GPU
/// of one of the four models (a limit, and a nodeSelector on the product label).
pub fn pod_specs(prefix: &str, n: usize) -> Vec<PodSpec> {
    (0..n)
        .map(|i| {
            let name = format!("{prefix}-{i}");
            if i % 50 == 49 {
                PodSpec {
                    name,
                    cpu_m: 4000,
                    memory_mi: 16 * 1024,
                    product: Some(GPU_PRODUCTS[(i / 50) % GPU_PRODUCTS.len()]),
                }
            } else {
                PodSpec {
                    name,
                    cpu_m: [100, 250, 500, 1000, 2000][i % 5],
                    memory_mi: [128, 256, 512, 1024, 4096][(i / 5) % 5],
                    product: None,
                }
            }
        })
        .collect()
}

/// The pod object: never runs (no kubelet); tolerates the taints the node lifecycle controller
/// puts on nodes without heartbeats.
pub fn pod_object(spec: &PodSpec, scheduler: &str) -> Pod {
    let mut limits = json!({});
    let mut selector = json!({});
    if let Some(p) = spec.product {
        limits["nvidia.com/gpu"] = "1".into();
        selector[GPU_LABEL] = p.into();
    }
    serde_json::from_value(json!({
        "metadata": {"name": spec.name},
        "spec": {
            "schedulerName": scheduler,
            "nodeSelector": selector,
            "automountServiceAccountToken": false,
            "tolerations": [
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists"},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists"},
            ],
            "containers": [{
                "name": "app", "image": "spaces-k8s/pause:1",
                "resources": {
                    "requests": {"cpu": format!("{}m", spec.cpu_m), "memory": format!("{}Mi", spec.memory_mi)},
                    "limits": limits,
                },
            }],
        },
    }))
    .unwrap()
}

/// Creates the pods, `concurrency` at a time.
pub async fn create_pods(client: &Client, ns: &str, specs: &[PodSpec], scheduler: &str) {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    futures_util::stream::iter(specs.iter().map(|s| pod_object(s, scheduler)))
        .map(|pod| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &pod).await.unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// Waits until `n` pods of `ns` are bound (watching them), or `timeout`; returns when the last
/// bind was seen and the pods.
pub async fn wait_bound(
    client: &Client,
    ns: &str,
    n: usize,
    timeout: Duration,
) -> (Instant, Vec<Pod>) {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let mut bound: HashMap<String, Pod> = HashMap::new();
    let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
    let deadline = tokio::time::Instant::now() + timeout;
    while bound.len() < n {
        let event = tokio::time::timeout_at(deadline, stream.try_next()).await;
        let Ok(Ok(Some(event))) = event else {
            panic!(
                "only {} of {n} pods bound in {ns} after {timeout:?}",
                bound.len()
            );
        };
        if let watcher::Event::Apply(p) | watcher::Event::InitApply(p) = event {
            if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
                bound.insert(p.metadata.name.clone().unwrap(), p);
            }
        }
    }
    (Instant::now(), bound.into_values().collect())
}

/// What the pods bound to each node request, checked against its allocatable; GPU pods only on
/// nodes of their product. Returns per-node cpu and memory use in per mille of allocatable.
pub fn check_fit(nodes: &[NodeSpec], pods: &[Pod]) -> Vec<(u64, u64)> {
    let by_name: HashMap<&str, &NodeSpec> = nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut used: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for pod in pods {
        let spec = pod.spec.as_ref().unwrap();
        let node_name = spec.node_name.as_deref().unwrap();
        let node = by_name
            .get(node_name)
            .unwrap_or_else(|| panic!("pod on unknown node {node_name}"));
        let c = &spec.containers[0];
        let res = c.resources.as_ref().unwrap();
        let req = res.requests.as_ref().unwrap();
        let cpu = u64::from(parse(&req["cpu"].0, Unit::Millicores, Round::Up).unwrap());
        let mem = u64::from(parse(&req["memory"].0, Unit::Mebibytes, Round::Up).unwrap());
        let gpu = res
            .limits
            .as_ref()
            .and_then(|l| l.get("nvidia.com/gpu"))
            .map_or(0, |_| 1);
        if gpu > 0 {
            let want = spec.node_selector.as_ref().unwrap()[GPU_LABEL].as_str();
            assert_eq!(
                node.product,
                Some(want),
                "GPU pod {:?} on {node_name}",
                pod.metadata.name
            );
        }
        let u = used.entry(node.name.as_str()).or_default();
        *u = (u.0 + cpu, u.1 + mem, u.2 + gpu);
    }
    let mut util = Vec::new();
    for (name, (cpu, mem, gpu)) in used {
        let n = by_name[name];
        assert!(
            cpu <= n.cpu_m,
            "{name}: {cpu}m cpu requested, {}m allocatable",
            n.cpu_m
        );
        assert!(
            mem <= n.memory_mi,
            "{name}: {mem}Mi requested, {}Mi allocatable",
            n.memory_mi
        );
        assert!(
            gpu <= n.gpus,
            "{name}: {gpu} GPUs requested, {} allocatable",
            n.gpus
        );
        util.push((cpu * 1000 / n.cpu_m, mem * 1000 / n.memory_mi));
    }
    util
}

/// Pods with a name in `names`.
pub fn names(pods: &[Pod]) -> HashSet<String> {
    pods.iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}
