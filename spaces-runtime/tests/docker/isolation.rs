//! Isolation on the engine: Spaces whose old names collided keep their own data, and a runtime
//! sees (in `running()`) the instances of its own namespace only, whoever started them.

use std::time::Duration;

use spaces_core::{AppEnvironment, SpaceId};
use spaces_runtime::docker::{fixtures, DockerRuntime};
use spaces_runtime::{http_get, wait_healthy, Image, InstanceSpec, Runtime, VolumeSpec};

use super::support::{
    build_serving, containers_with, env_with_secret, space, test_config, with_docker, TEST_LABEL,
};

fn spec_for(image: &Image, space: &SpaceId, env: AppEnvironment, volume: bool) -> InstanceSpec {
    let mut image = image.clone();
    image.space = space.clone();
    InstanceSpec {
        image,
        env,
        hardware: None,
        app_port: fixtures::APP_PORT,
        volume: volume.then_some(VolumeSpec { size_gb: 20 }),
    }
}

/// Starts `spec`, reads its page, stops it.
async fn page_of(rt: &DockerRuntime, spec: InstanceSpec) -> String {
    let instance = rt.start(spec).await.unwrap();
    wait_healthy(rt, &instance, Duration::from_secs(60))
        .await
        .unwrap();
    let page = http_get(instance.address, "/", Duration::from_secs(5))
        .await
        .unwrap();
    rt.stop(&instance.id).await.unwrap();
    String::from_utf8_lossy(&page.body).trim().to_owned()
}

/// `bob-x/data` and `bob/x-data` once shared the volume `spaces-data-bob-x-data`: one tenant read
/// and deleted the other's `/data`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spaces_whose_names_collided_keep_their_own_data() {
    with_docker("names", |rt, fx| async move {
        let a: SpaceId = "bob-x/data".parse().unwrap();
        let b: SpaceId = "bob/x-data".parse().unwrap();
        assert_ne!(rt.volume_name(&a).unwrap(), rt.volume_name(&b).unwrap());
        let (_dir, built) = build_serving(&rt, &fx, &a, "abcd", false).await;
        let spec = |s: &SpaceId| spec_for(&built.image, s, AppEnvironment::default(), true);
        assert_eq!(page_of(&rt, spec(&a)).await, "persistent=no ephemeral=no");
        // B's first start finds no marker of A's.
        assert_eq!(page_of(&rt, spec(&b)).await, "persistent=no ephemeral=no");
        // Deleting B's storage leaves A's.
        rt.delete_volume(&b).await.unwrap();
        assert_eq!(page_of(&rt, spec(&a)).await, "persistent=yes ephemeral=no");
        rt.delete_volume(&a).await.unwrap();
        rt.remove_image(&built.image).await.unwrap();
    })
    .await;
}

/// A supervisor that crashed left an instance running: the next process (a new runtime, same
/// configuration) lists it in `running()` and stops it; a runtime of another namespace never
/// sees it; a standby is not an instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_runtime_finds_and_stops_what_an_earlier_one_left() {
    with_docker("orphans", |a, fx| async move {
        let prefix = a.config().prefix.clone();
        let (orphan, sleeper) = (space("orphan"), space("sleeper"));
        let (_dir, built) = build_serving(&a, &fx, &orphan, "abcd", false).await;
        let spec = |s: &SpaceId| spec_for(&built.image, s, env_with_secret(s), false);
        let left = a.start(spec(&orphan)).await.unwrap();
        wait_healthy(a.as_ref(), &left, Duration::from_secs(60))
            .await
            .unwrap();

        // The next process: the same configuration, nothing in memory.
        let b = DockerRuntime::connect(test_config(&prefix)).await.unwrap();
        // Another prefix with the same extra labels: another namespace.
        let mut other_prefix = test_config(&format!("{prefix}-other"));
        other_prefix.extra_labels = a.config().extra_labels.clone();
        let c = DockerRuntime::connect(other_prefix).await.unwrap();
        // The same prefix with one more extra label: a narrower namespace.
        let mut narrower = test_config(&prefix);
        narrower
            .extra_labels
            .insert("io.spaces.test-tenant".into(), "someone-else".into());
        let d = DockerRuntime::connect(narrower).await.unwrap();

        assert_eq!(b.running().await.unwrap(), vec![left.clone()]);
        assert_eq!(a.running().await.unwrap(), vec![left.clone()]);
        assert!(c.running().await.unwrap().is_empty());
        assert!(d.running().await.unwrap().is_empty());

        // A stopped Space's standby is not an instance.
        let sleeping = a.start(spec(&sleeper)).await.unwrap();
        a.stop(&sleeping.id).await.unwrap();
        let standby = containers_with(
            &a,
            &[
                format!("io.spaces.space={sleeper}"),
                format!("{TEST_LABEL}={prefix}"),
            ],
        )
        .await;
        assert_eq!(standby.len(), 1, "{standby:?}");
        assert_eq!(b.running().await.unwrap(), vec![left.clone()]);

        // B stops the orphan: its container (and the secrets in its Env) is gone.
        b.stop(&left.id).await.unwrap();
        let of_orphan = containers_with(
            &a,
            &[
                format!("io.spaces.space={orphan}"),
                format!("{TEST_LABEL}={prefix}"),
            ],
        )
        .await;
        assert!(of_orphan.is_empty(), "{of_orphan:?}");
        assert!(b.running().await.unwrap().is_empty());

        a.discard_prepared(&sleeper).await.unwrap();
        a.remove_image(&built.image).await.unwrap();
    })
    .await;
}
