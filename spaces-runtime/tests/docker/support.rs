//! What every Docker test shares: a runtime per test (its own prefix and label), the fixtures,
//! the cleanup, the engine queries.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::ContainerSummary;
use bollard::query_parameters::{
    ListContainersOptions, ListImagesOptions, ListNetworksOptions, ListVolumesOptions,
    RemoveContainerOptions, RemoveImageOptions, RemoveVolumeOptions,
};
use spaces_core::{AppEnvironment, Revision, Sdk, Secret, Space, SpaceId, Visibility};
use spaces_runtime::conformance::{FixtureApp, Fixtures, CANARY_SECRET};
use spaces_runtime::docker::bollard;
use spaces_runtime::docker::{fixtures, DockerConfig, DockerRuntime};
use spaces_runtime::{BuildRequest, Runtime};

/// Label every object of one test carries, with the test's prefix as value.
pub const TEST_LABEL: &str = "io.spaces.test";

/// The test Spaces, each built with the test's fixture label on every layer.
pub struct DockerFixtures {
    pub tag: String,
}

fn docker_app() -> FixtureApp {
    FixtureApp {
        sdk: Sdk::Docker,
        app_file: "Dockerfile".into(),
        app_port: fixtures::APP_PORT,
    }
}

impl Fixtures for DockerFixtures {
    fn serving(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        fixtures::write_serving(dir, Some(&self.tag)).map(|()| docker_app())
    }
    fn failing_build(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        fixtures::write_failing_build(dir, Some(&self.tag)).map(|()| docker_app())
    }
    fn exiting(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        fixtures::write_exiting(dir, Some(&self.tag)).map(|()| docker_app())
    }
    fn never_healthy(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        fixtures::write_never_healthy(dir, Some(&self.tag)).map(|()| docker_app())
    }
    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }
}

pub fn required() -> bool {
    std::env::var("SPACES_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

pub fn skip(reason: String) {
    if required() {
        panic!("SPACES_REQUIRE_DOCKER=1 and the Docker tests cannot run: {reason}");
    }
    println!("SKIPPED: {reason}");
}

/// The configuration of a test's runtime: its prefix, and its label with the prefix as value.
pub fn test_config(prefix: &str) -> DockerConfig {
    DockerConfig {
        prefix: prefix.to_owned(),
        extra_labels: BTreeMap::from([(TEST_LABEL.to_owned(), prefix.to_owned())]),
        stop_grace: Duration::from_secs(2),
        ..DockerConfig::default()
    }
}

/// A runtime for `test`, or `None` (after printing why) when the tests cannot run here.
async fn connect(test: &str) -> Option<(Arc<DockerRuntime>, String)> {
    if let Err(e) = fixtures::busybox_path() {
        skip(format!("{e}"));
        return None;
    }
    let prefix = format!(
        "spaces-test-{}-{}",
        std::process::id(),
        test.replace('_', "-")
    );
    match DockerRuntime::connect(test_config(&prefix)).await {
        Ok(rt) => Some((Arc::new(rt), prefix)),
        Err(e) => {
            skip(format!("no Docker engine answers: {e}"));
            None
        }
    }
}

/// Removes every container, image, volume and network labelled with `prefix`.
pub async fn cleanup(rt: &DockerRuntime, prefix: &str) {
    let docker = rt.client();
    let by = |label: &str| HashMap::from([("label".to_owned(), vec![format!("{label}={prefix}")])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(by(TEST_LABEL)),
            ..Default::default()
        }))
        .await
        .unwrap_or_default();
    for c in containers.iter().filter_map(|c| c.id.as_deref()) {
        let _ = docker
            .remove_container(
                c,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
    }
    // Images: the tagged ones (backend label) and every layer of the fixtures' builds (fixture
    // label); children before parents, so a few rounds.
    for _ in 0..10 {
        let mut images = Vec::new();
        for label in [TEST_LABEL, fixtures::LABEL_FIXTURE] {
            images.extend(
                docker
                    .list_images(Some(ListImagesOptions {
                        all: true,
                        filters: Some(by(label)),
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
    let volumes = docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(by(TEST_LABEL)),
        }))
        .await
        .ok()
        .and_then(|v| v.volumes)
        .unwrap_or_default();
    for v in volumes {
        let _ = docker
            .remove_volume(&v.name, Some(RemoveVolumeOptions { force: true }))
            .await;
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(by(TEST_LABEL)),
        }))
        .await
        .unwrap_or_default();
    for n in networks.iter().filter_map(|n| n.id.as_deref()) {
        let _ = docker.remove_network(n).await;
    }
}

/// Runs `body` with a runtime for `test` and cleans up after it, even when it panics.
pub async fn with_docker<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Arc<DockerRuntime>, DockerFixtures) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some((rt, prefix)) = connect(test).await else {
        return;
    };
    let result = tokio::spawn(body(
        Arc::clone(&rt),
        DockerFixtures {
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
    SpaceId::from_parts("dockertest", name).unwrap()
}

pub fn rev(r: &str) -> Revision {
    Revision::new(r).unwrap()
}

pub async fn build_serving(
    rt: &DockerRuntime,
    fx: &DockerFixtures,
    space: &SpaceId,
    revision: &str,
    no_cache: bool,
) -> (tempfile::TempDir, spaces_runtime::BuildOutput) {
    let dir = tempfile::tempdir().unwrap();
    fx.serving(dir.path()).unwrap();
    let built = rt
        .build(BuildRequest {
            space: space.clone(),
            revision: rev(revision),
            sdk: Sdk::Docker,
            source: dir.path().into(),
            app_file: Sdk::Docker.default_app_path(),
            no_cache,
        })
        .await
        .unwrap();
    (dir, built)
}

pub fn env_with_secret(space: &SpaceId) -> AppEnvironment {
    let now = "2026-11-01T00:00:00Z".parse().unwrap();
    let mut s = Space::new(space.clone(), Sdk::Docker, Visibility::Private, now);
    s.set_secret("CANARY_TOKEN", Secret::new(CANARY_SECRET), None, now)
        .unwrap();
    AppEnvironment::for_space(&s, None)
}

/// Builds the Space in `dir` (its `Dockerfile`) at `revision`.
pub async fn build_dir(
    rt: &DockerRuntime,
    space: &SpaceId,
    dir: &Path,
    revision: &str,
) -> spaces_runtime::BuildOutput {
    rt.build(BuildRequest {
        space: space.clone(),
        revision: rev(revision),
        sdk: Sdk::Docker,
        source: dir.into(),
        app_file: Sdk::Docker.default_app_path(),
        no_cache: false,
    })
    .await
    .unwrap()
}

/// Writes a Space whose `Dockerfile` is the fixtures' base (busybox, the fixture label `tag`)
/// followed by `rest`.
pub fn write_app(dir: &Path, tag: &str, rest: &str) {
    fixtures::stage_busybox(dir).unwrap();
    let dockerfile = format!(
        "FROM scratch\nLABEL {}=\"{tag}\"\n{}{rest}",
        fixtures::LABEL_FIXTURE,
        fixtures::DOCKERFILE_BASE
    );
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
}

/// Every container (whatever its state) carrying all of `labels` (`key=value` or `key`).
pub async fn containers_with(rt: &DockerRuntime, labels: &[String]) -> Vec<ContainerSummary> {
    rt.client()
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([("label".to_owned(), labels.to_vec())])),
            ..Default::default()
        }))
        .await
        .unwrap()
}
