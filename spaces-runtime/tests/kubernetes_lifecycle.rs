//! A Space's whole life on the Kubernetes backend, against a real cluster with a kubelet: build
//! (pushed to the registry when `SPACES_K8S_REGISTRY` is set, pulled with `Always`), run (HTTP
//! 200 through its pod), sleep (0 replicas), wake, storage upgrade (the claim grows), delete
//! (nothing labelled with the Space is left). Prints the apply → ready and wake → first 200
//! times (`FIGURE` lines; no timed assertion). Skips like `kubernetes_conformance.rs`.
#![cfg(feature = "kubernetes")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "kubernetes/support.rs"]
mod support;

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{DeleteParams, PostParams};
use kube::Api;
use spaces_core::Sdk;
use spaces_runtime::conformance::{Fixtures, CANARY_SECRET};
use spaces_runtime::kubernetes::runtime::{names, KubernetesRuntime};
use spaces_runtime::{
    http_get, wait_healthy, BuildRequest, Instance, InstanceSpec, InstanceState, Runtime,
    VolumeSpec,
};
use support::{env_with_secret, leftovers, space, with_kube, TEST_LABEL};

async fn first_200(instance: &Instance, limit: Duration) -> Duration {
    let t = Instant::now();
    loop {
        if let Ok(r) = http_get(instance.address, "/", Duration::from_millis(500)).await {
            if r.status == 200 {
                return t.elapsed();
            }
        }
        assert!(
            t.elapsed() < limit,
            "no 200 from {} within {limit:?}",
            instance.address
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn deployment_of(rt: &KubernetesRuntime, instance: &Instance) -> Deployment {
    let (name, _) = names::split_instance(&instance.id.0).unwrap();
    Api::<Deployment>::namespaced(rt.client().clone(), &rt.config().namespace)
        .get(name)
        .await
        .unwrap()
}

fn class_name() -> String {
    format!("kt{}-expandable", std::process::id() % 10_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_lives_and_leaves_nothing() {
    let class = class_name();
    let tweak = |c: &mut spaces_runtime::kubernetes::runtime::KubernetesConfig| {
        c.storage_class = Some(class.clone());
        if c.registry.is_some() {
            c.image_pull_policy = "Always".into();
        }
    };
    with_kube("life", tweak, |rt, fx| async move {
        let classes = Api::<StorageClass>::all(rt.client().clone());
        let sc: StorageClass = serde_json::from_value(serde_json::json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": { "name": class_name(), "labels": { TEST_LABEL: "lifecycle" } },
            "provisioner": "kubernetes.io/host-path",
            "allowVolumeExpansion": true,
        }))
        .unwrap();
        let _ = classes.create(&PostParams::default(), &sc).await;
        let result = tokio::spawn(lifecycle(rt.clone(), fx)).await;
        let _ = classes
            .delete(&class_name(), &DeleteParams::default())
            .await;
        if let Err(e) = result {
            std::panic::resume_unwind(e.into_panic());
        }
    })
    .await;
}

async fn lifecycle(rt: std::sync::Arc<KubernetesRuntime>, fx: support::KubeFixtures) {
    let space = space("life");
    let dir = tempfile::tempdir().unwrap();
    let app = fx.serving(dir.path()).unwrap();
    let t = Instant::now();
    let built = rt
        .build(BuildRequest {
            space: space.clone(),
            revision: spaces_core::Revision::new("1f0e0001").unwrap(),
            sdk: Sdk::Docker,
            source: dir.path().into(),
            app_file: spaces_core::AppPath::new(&app.app_file).unwrap(),
            no_cache: false,
        })
        .await
        .unwrap();
    println!("FIGURE build+push: {} ms", t.elapsed().as_millis());
    if let Some(registry) = &rt.config().registry {
        assert!(
            built.image.reference.starts_with(registry.as_str()),
            "{}",
            built.image.reference
        );
        assert!(
            built.image.reference.contains("@sha256:"),
            "{}",
            built.image.reference
        );
    }
    let spec = |size_gb: u32| InstanceSpec {
        image: built.image.clone(),
        env: env_with_secret(&space),
        hardware: None,
        app_port: app.app_port,
        volume: Some(VolumeSpec { size_gb }),
    };

    // Run: apply -> ready (first 200).
    let t = Instant::now();
    let first = rt.start(spec(20)).await.unwrap();
    let started = t.elapsed();
    first_200(&first, Duration::from_secs(90)).await;
    let ready = t.elapsed();
    println!(
        "FIGURE apply->running: {} ms, apply->first 200: {} ms",
        started.as_millis(),
        ready.as_millis()
    );
    let page = http_get(first.address, "/", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        String::from_utf8_lossy(&page.body).trim(),
        "persistent=no ephemeral=no"
    );
    let d = deployment_of(&rt, &first).await;
    let text = serde_json::to_string(&d).unwrap();
    assert!(
        !text.contains(CANARY_SECRET),
        "a secret is in the Deployment"
    );
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(1));

    // Sleep: 0 replicas, the pod gone, nothing answers.
    let t = Instant::now();
    rt.stop(&first.id).await.unwrap();
    println!(
        "FIGURE stop (scale 1->0, pod gone): {} ms",
        t.elapsed().as_millis()
    );
    assert_eq!(rt.state(&first.id).await.unwrap(), InstanceState::Stopped);
    assert_eq!(
        deployment_of(&rt, &first).await.spec.unwrap().replicas,
        Some(0)
    );
    assert!(http_get(first.address, "/", Duration::from_millis(500))
        .await
        .is_err());

    // Wake: the same Deployment scales 0 -> 1; /data kept, ephemeral disk fresh.
    let t = Instant::now();
    let woken = rt.start(spec(20)).await.unwrap();
    first_200(&woken, Duration::from_secs(60)).await;
    let wake = t.elapsed();
    println!(
        "FIGURE wake (scale 0->1) -> first 200: {} ms",
        wake.as_millis()
    );
    assert_ne!(woken.id, first.id);
    assert_eq!(
        deployment_of(&rt, &woken).await.metadata.name,
        deployment_of(&rt, &first).await.metadata.name
    );
    assert_eq!(rt.state(&first.id).await.unwrap(), InstanceState::Stopped);
    let page = http_get(woken.address, "/", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&page.body).trim(),
        "persistent=yes ephemeral=no"
    );
    rt.stop(&woken.id).await.unwrap();

    // Storage upgrade: the claim grows; a smaller size later keeps it.
    let upgraded = rt.start(spec(150)).await.unwrap();
    wait_healthy(rt.as_ref(), &upgraded, Duration::from_secs(90))
        .await
        .unwrap();
    let (requested, capacity) = rt.claim_sizes(&space).await.unwrap().unwrap();
    println!(
        "FIGURE claim after upgrade: spec request {requested:?}, status capacity {capacity:?}"
    );
    assert_eq!(requested.as_deref(), Some("150Gi"));
    rt.stop(&upgraded.id).await.unwrap();
    let smaller = rt.start(spec(20)).await.unwrap();
    wait_healthy(rt.as_ref(), &smaller, Duration::from_secs(90))
        .await
        .unwrap();
    let (requested, _) = rt.claim_sizes(&space).await.unwrap().unwrap();
    assert_eq!(requested.as_deref(), Some("150Gi"));

    // Delete: the supervisor's sequence leaves nothing labelled with the Space.
    rt.stop(&smaller.id).await.unwrap();
    rt.remove_image(&built.image).await.unwrap();
    rt.discard_prepared(&space).await.unwrap();
    rt.delete_volume(&space).await.unwrap();
    let left = leftovers(&rt, &rt.selector(Some(&space))).await;
    assert!(left.is_empty(), "left after delete: {left:?}");
    assert!(rt.running().await.unwrap().iter().all(|i| i.space != space));
}

/// A container killed for memory (a 1 GiB flavor, an app reading 1.5 GB into one buffer as PID 1: the kernel kills the
/// biggest process of the cgroup, which must be the container's main one) is
/// `Exited { oom_killed: true }`, and its pod runs hardened: uid 1000, no capabilities, no
/// privilege escalation, the environment only through the Secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oom_kill_is_reported_and_pods_are_hardened() {
    with_kube("oom", |_| {}, |rt, fx| async move {
        let space = space("oom");
        let dir = tempfile::tempdir().unwrap();
        fx.exiting(dir.path()).unwrap(); // busybox and the base Dockerfile
        let dockerfile = std::fs::read_to_string(dir.path().join("Dockerfile")).unwrap();
        let hungry = "CMD [\"/bin/sh\", \"-c\", \"echo eating; exec dd if=/dev/zero of=/dev/null bs=1500M count=1\"]";
        let dockerfile = dockerfile.replace("CMD [\"/bin/sh\", \"-c\", \"echo bye; exit 3\"]", hungry);
        assert!(dockerfile.contains("dd if=/dev/zero"), "{dockerfile}");
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
        let built = rt
            .build(BuildRequest {
                space: space.clone(),
                revision: spaces_core::Revision::new("00e0001").unwrap(),
                sdk: Sdk::Docker,
                source: dir.path().into(),
                app_file: Sdk::Docker.default_app_path(),
                no_cache: false,
            })
            .await
            .unwrap();
        let mut hardware = spaces_core::Catalog::seed()
            .flavor(&spaces_core::Flavor::CpuBasic)
            .cloned()
            .unwrap();
        hardware.vcpu = 1;
        hardware.memory_gb = 1;
        let instance = rt
            .start(InstanceSpec {
                image: built.image.clone(),
                env: env_with_secret(&space),
                hardware: Some(hardware),
                app_port: 7860,
                volume: None,
            })
            .await
            .unwrap();
        let mut state = rt.state(&instance.id).await.unwrap();
        for _ in 0..300 {
            if state != InstanceState::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            state = rt.state(&instance.id).await.unwrap();
        }
        assert_eq!(
            state,
            InstanceState::Exited { code: Some(137), oom_killed: true }
        );
        let lines = rt.logs(&instance.id, false).await.unwrap().collect_for(Duration::from_secs(1)).await;
        assert!(lines.iter().any(|l| l.text.contains("killed for memory")), "{lines:?}");
        assert!(lines.iter().any(|l| l.text.contains("eating")), "{lines:?}");
        assert!(!lines.iter().any(|l| l.text.contains(CANARY_SECRET)), "{lines:?}");

        let d = deployment_of(&rt, &instance).await;
        let pod = d.spec.unwrap().template.spec.unwrap();
        let app = &pod.containers[0];
        let sc = app.security_context.clone().unwrap();
        assert_eq!((sc.run_as_user, sc.run_as_non_root), (Some(1000), Some(true)));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.capabilities.unwrap().drop, Some(vec!["ALL".to_owned()]));
        let limits = app.resources.clone().unwrap().limits.unwrap();
        assert_eq!(limits.get("memory").map(|q| q.0.as_str()), Some("1Gi"));
        assert!(app.env.iter().flatten().all(|e| e.name == "PORT"));
        rt.stop(&instance.id).await.unwrap();
        rt.remove_image(&built.image).await.unwrap();
        rt.discard_prepared(&space).await.unwrap();
        let left = leftovers(&rt, &rt.selector(Some(&space))).await;
        assert!(left.is_empty(), "left: {left:?}");
    })
    .await;
}

/// Figures only (no assertion on time): apply → first 200 and three wakes (scale 0 → 1 → first
/// 200) of a Space without storage, image pinned by digest with `IfNotPresent` (the defaults:
/// no init container, no registry round trip).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_figures_without_storage() {
    with_kube("wake", |_| {}, |rt, fx| async move {
        let space = space("wake");
        let dir = tempfile::tempdir().unwrap();
        let app = fx.serving(dir.path()).unwrap();
        let built = rt
            .build(BuildRequest {
                space: space.clone(),
                revision: spaces_core::Revision::new("0a0e0001").unwrap(),
                sdk: Sdk::Docker,
                source: dir.path().into(),
                app_file: Sdk::Docker.default_app_path(),
                no_cache: false,
            })
            .await
            .unwrap();
        let spec = || InstanceSpec {
            image: built.image.clone(),
            env: env_with_secret(&space),
            hardware: None,
            app_port: app.app_port,
            volume: None,
        };
        let t = Instant::now();
        let mut instance = rt.start(spec()).await.unwrap();
        first_200(&instance, Duration::from_secs(90)).await;
        println!("FIGURE no storage: apply->first 200: {} ms", t.elapsed().as_millis());
        for round in 1..=3 {
            let t = Instant::now();
            rt.stop(&instance.id).await.unwrap();
            let stopped = t.elapsed();
            let t = Instant::now();
            instance = rt.start(spec()).await.unwrap();
            let running = t.elapsed();
            first_200(&instance, Duration::from_secs(60)).await;
            println!(
                "FIGURE no storage: stop {round}: {} ms; wake {round}: running after {} ms, first 200 after {} ms",
                stopped.as_millis(),
                running.as_millis(),
                t.elapsed().as_millis()
            );
        }
        rt.stop(&instance.id).await.unwrap();
        rt.remove_image(&built.image).await.unwrap();
        rt.discard_prepared(&space).await.unwrap();
    })
    .await;
}

/// A Space whose Deployments name our scheduler (`KubernetesConfig::scheduler_name`) is placed
/// by `SpacesScheduler` running beside it: the pod names the scheduler, is bound to the kubelet's
/// node with a `Scheduled` event from it, and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_is_placed_by_the_spaces_scheduler() {
    use k8s_openapi::api::core::v1::{Event, Pod};
    use kube::api::ListParams;
    use spaces_runtime::kubernetes::scheduler::{SchedulerConfig, SpacesScheduler};

    let name = format!("spaces-kt{}", std::process::id() % 10_000);
    let for_config = name.clone();
    with_kube(
        "sched",
        move |c| c.scheduler_name = Some(for_config),
        |rt, fx| async move {
            let config = SchedulerConfig::new(name.clone()).in_namespace(&rt.config().namespace);
            let scheduler = tokio::spawn(SpacesScheduler::new(rt.client().clone(), config).run());
            let space = space("placed");
            let dir = tempfile::tempdir().unwrap();
            let app = fx.serving(dir.path()).unwrap();
            let built = rt
                .build(BuildRequest {
                    space: space.clone(),
                    revision: spaces_core::Revision::new("5c4ed001").unwrap(),
                    sdk: Sdk::Docker,
                    source: dir.path().into(),
                    app_file: Sdk::Docker.default_app_path(),
                    no_cache: false,
                })
                .await
                .unwrap();
            let instance = rt
                .start(InstanceSpec {
                    image: built.image.clone(),
                    env: env_with_secret(&space),
                    hardware: None,
                    app_port: app.app_port,
                    volume: None,
                })
                .await
                .unwrap();
            first_200(&instance, Duration::from_secs(90)).await;
            let deployment = deployment_of(&rt, &instance).await;
            let template = deployment.spec.unwrap().template.spec.unwrap();
            assert_eq!(template.scheduler_name.as_deref(), Some(name.as_str()));
            let ns = rt.config().namespace.clone();
            let pods = Api::<Pod>::namespaced(rt.client().clone(), &ns)
                .list(&ListParams::default().labels(TEST_LABEL))
                .await
                .unwrap();
            let pod = pods
                .items
                .iter()
                .find(|p| {
                    p.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()) == Some(name.as_str())
                })
                .expect("the Space's pod");
            let node = std::env::var("SPACES_K8S_NODE").unwrap();
            assert_eq!(
                pod.spec.as_ref().and_then(|s| s.node_name.as_deref()),
                Some(node.as_str())
            );
            let pod_name = pod.metadata.name.clone().unwrap();
            let events = Api::<Event>::namespaced(rt.client().clone(), &ns)
                .list(&ListParams::default().fields(&format!("involvedObject.name={pod_name}")))
                .await
                .unwrap();
            assert!(
                events
                    .items
                    .iter()
                    .any(|e| e.reason.as_deref() == Some("Scheduled")
                        && e.source.as_ref().and_then(|s| s.component.as_deref())
                            == Some(name.as_str())),
                "no Scheduled event from {name}: {:?}",
                events
                    .items
                    .iter()
                    .map(|e| (&e.reason, &e.message))
                    .collect::<Vec<_>>()
            );
            println!("placed by {name} on {node}: {pod_name}");
            rt.stop(&instance.id).await.unwrap();
            rt.remove_image(&built.image).await.unwrap();
            rt.discard_prepared(&space).await.unwrap();
            scheduler.abort();
        },
    )
    .await;
}
