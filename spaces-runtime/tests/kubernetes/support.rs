//! What the Kubernetes tests share: the cluster check (skip or fail), a runtime per test (its
//! own prefix and label), fixtures that listen on `$PORT`, the cleanup by label.
#![allow(dead_code)] // each test target uses a part of it

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use kube::api::{DeleteParams, ListParams};
use kube::Api;
use spaces_core::{AppEnvironment, Sdk, Secret as CoreSecret, Space, SpaceId, Visibility};
use spaces_runtime::conformance::{FixtureApp, Fixtures, CANARY_SECRET};
use spaces_runtime::docker::{fixtures, DockerConfig};
use spaces_runtime::kubernetes::runtime::{KubernetesConfig, KubernetesRuntime};

/// Label every object of one test carries, with the test's prefix as value.
pub const TEST_LABEL: &str = "spaces.io/test";

/// The Docker fixtures, changed to listen on `$PORT` (7860 without it): with host networking
/// every instance gets its own port.
pub struct KubeFixtures {
    pub tag: String,
}

fn app() -> FixtureApp {
    FixtureApp {
        sdk: Sdk::Docker,
        app_file: "Dockerfile".into(),
        app_port: fixtures::APP_PORT,
    }
}

fn edit(path: &Path, from: &str, to: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replace(from, to))
}

pub const PORT_ARG: &str = "${PORT:-7860}";

impl Fixtures for KubeFixtures {
    fn serving(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        fixtures::write_serving(dir, Some(&self.tag))?;
        edit(&dir.join("start.sh"), "-p 7860", &format!("-p {PORT_ARG}"))?;
        Ok(app())
    }
    fn failing_build(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        fixtures::write_failing_build(dir, Some(&self.tag)).map(|()| app())
    }
    fn exiting(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        fixtures::write_exiting(dir, Some(&self.tag)).map(|()| app())
    }
    fn never_healthy(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        fixtures::write_never_healthy(dir, Some(&self.tag))?;
        edit(
            &dir.join("Dockerfile"),
            "CMD [\"/bin/httpd\", \"-f\", \"-p\", \"7860\", \"-h\", \"/www\"]",
            &format!("CMD [\"/bin/sh\", \"-c\", \"exec /bin/httpd -f -p {PORT_ARG} -h /www\"]"),
        )?;
        Ok(app())
    }
    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(90)
    }
}

pub fn required() -> bool {
    std::env::var("SPACES_REQUIRE_KUBERNETES").is_ok_and(|v| v == "1")
}

pub fn skip(reason: String) {
    if required() {
        panic!("SPACES_REQUIRE_KUBERNETES=1 and the Kubernetes tests cannot run: {reason}");
    }
    println!("SKIPPED: {reason}");
}

/// The configuration of a test's runtime: the cluster and registry from the environment
/// (`KUBECONFIG`, `SPACES_K8S_REGISTRY`, `SPACES_K8S_STORAGE_CLASS`), host networking, its
/// prefix and label.
pub fn test_config(prefix: &str) -> KubernetesConfig {
    let labels = BTreeMap::from([(TEST_LABEL.to_owned(), prefix.to_owned())]);
    KubernetesConfig {
        kubeconfig: std::env::var_os("KUBECONFIG").map(Into::into),
        prefix: prefix.to_owned(),
        extra_labels: labels.clone(),
        registry: std::env::var("SPACES_K8S_REGISTRY")
            .ok()
            .filter(|r| !r.is_empty()),
        storage_class: std::env::var("SPACES_K8S_STORAGE_CLASS")
            .ok()
            .filter(|c| !c.is_empty()),
        host_network: true,
        docker: DockerConfig {
            extra_labels: labels,
            standby: false,
            ..DockerConfig::default()
        },
        ..KubernetesConfig::default()
    }
}

/// A runtime for `test`, or `None` (after printing why) when the tests cannot run here.
pub async fn connect(
    test: &str,
    tweak: impl FnOnce(&mut KubernetesConfig),
) -> Option<(Arc<KubernetesRuntime>, String)> {
    if std::env::var_os("KUBECONFIG").is_none() {
        skip("no cluster configured (KUBECONFIG is not set; see spaces-runtime/scripts/k8s-runtime-tests.sh)".into());
        return None;
    }
    if std::env::var_os("SPACES_K8S_NODE").is_none() {
        skip(
            "the cluster has no kubelet (SPACES_K8S_NODE is not set: start it with `up --kubelet`)"
                .into(),
        );
        return None;
    }
    if let Err(e) = fixtures::busybox_path() {
        skip(format!("{e}"));
        return None;
    }
    let prefix = format!("kt{}-{}", std::process::id() % 10_000, test);
    let mut config = test_config(&prefix);
    tweak(&mut config);
    match KubernetesRuntime::connect(config).await {
        Ok(rt) => Some((Arc::new(rt), prefix)),
        Err(e) => {
            skip(format!("no cluster answers: {e}"));
            None
        }
    }
}

/// Names of the objects of the namespace carrying `selector`, by kind.
pub async fn leftovers(rt: &KubernetesRuntime, selector: &str) -> Vec<String> {
    let lp = ListParams::default().labels(selector);
    let ns = rt.config().namespace.clone();
    let c = rt.client().clone();
    let mut out = Vec::new();
    macro_rules! kind {
        ($t:ty, $n:literal) => {
            for o in Api::<$t>::namespaced(c.clone(), &ns)
                .list(&lp)
                .await
                .unwrap()
                .items
            {
                out.push(format!("{} {}", $n, o.metadata.name.unwrap_or_default()));
            }
        };
    }
    kind!(Deployment, "deployment");
    kind!(ReplicaSet, "replicaset");
    kind!(Pod, "pod");
    kind!(Secret, "secret");
    kind!(PersistentVolumeClaim, "claim");
    out
}

/// Removes every object labelled with the test's prefix, and its images.
pub async fn cleanup(rt: &KubernetesRuntime, prefix: &str) {
    let lp = ListParams::default().labels(&format!("{TEST_LABEL}={prefix}"));
    let ns = rt.config().namespace.clone();
    let c = rt.client().clone();
    let dp = DeleteParams::background();
    let _ = Api::<Deployment>::namespaced(c.clone(), &ns)
        .delete_collection(&dp, &lp)
        .await;
    let _ = Api::<Secret>::namespaced(c.clone(), &ns)
        .delete_collection(&dp, &lp)
        .await;
    let _ = Api::<PersistentVolumeClaim>::namespaced(c.clone(), &ns)
        .delete_collection(&dp, &lp)
        .await;
    let pods = Api::<Pod>::namespaced(c.clone(), &ns);
    for _ in 0..300 {
        match pods.list(&lp).await {
            Ok(l) if !l.items.is_empty() => tokio::time::sleep(Duration::from_millis(200)).await,
            _ => break,
        }
    }
    docker_cleanup(rt, prefix).await;
}

async fn docker_cleanup(rt: &KubernetesRuntime, prefix: &str) {
    use spaces_runtime::docker::bollard::query_parameters::{
        ListImagesOptions, RemoveImageOptions,
    };
    let docker = rt.builder().client();
    for _ in 0..10 {
        let mut images = Vec::new();
        for label in [TEST_LABEL, fixtures::LABEL_FIXTURE] {
            let filters = std::collections::HashMap::from([(
                "label".to_owned(),
                vec![format!("{label}={prefix}")],
            )]);
            images.extend(
                docker
                    .list_images(Some(ListImagesOptions {
                        all: true,
                        filters: Some(filters),
                        ..Default::default()
                    }))
                    .await
                    .unwrap_or_default(),
            );
        }
        if images.is_empty() {
            break;
        }
        for image in &images {
            let _ = docker
                .remove_image(
                    &image.id,
                    Some(RemoveImageOptions {
                        force: true,
                        ..Default::default()
                    }),
                    None,
                )
                .await;
        }
    }
}

/// Runs `body` with a runtime for `test` and cleans up after it, even when it panics.
pub async fn with_kube<F, Fut>(test: &str, tweak: impl FnOnce(&mut KubernetesConfig), body: F)
where
    F: FnOnce(Arc<KubernetesRuntime>, KubeFixtures) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((rt, prefix)) = connect(test, tweak).await else {
        return;
    };
    let result = tokio::spawn(body(
        Arc::clone(&rt),
        KubeFixtures {
            tag: prefix.clone(),
        },
    ))
    .await;
    cleanup(&rt, &prefix).await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

pub fn space(name: &str) -> SpaceId {
    SpaceId::from_parts("kubetest", name).unwrap()
}

pub fn env_with_secret(space: &SpaceId) -> AppEnvironment {
    let now = "2026-11-01T00:00:00Z".parse().unwrap();
    let mut s = Space::new(space.clone(), Sdk::Docker, Visibility::Private, now);
    s.set_secret("CANARY_TOKEN", CoreSecret::new(CANARY_SECRET), None, now)
        .unwrap();
    AppEnvironment::for_space(&s, None)
}
