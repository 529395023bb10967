//! The conformance suite on the Docker backend, against the real engine, with `FROM scratch` +
//! static busybox test Spaces; plus Docker-only checks (a container killed from outside, secrets
//! in `docker inspect`, limits, factory reboot, no engine), the hardening and standby checks of
//! `docker/hardening.rs`, and the isolation checks (names, `running()`) of `docker/isolation.rs`.
//! The shared setup is in `docker/support.rs` (under `tests/docker/`, so cargo does not build
//! those files as test targets of their own).
//!
//! The static busybox is found or fetched by `fixtures::busybox_path` (`apt-get download
//! busybox-static` into a cache when the machine has none).
//!
//! With no engine (or no static busybox) the tests print `SKIPPED: <reason>` and pass, unless
//! `SPACES_REQUIRE_DOCKER=1` (set by `.ci/run`): then they fail. Every test uses its own name
//! prefix and label, and removes the containers, images, volumes and network it created.
#![cfg(feature = "docker")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptions, ListContainersOptions,
};
use spaces_core::{AppEnvironment, Catalog, Flavor, Sdk};
use spaces_runtime::conformance::{self, CANARY_SECRET};
use spaces_runtime::docker::bollard;
use spaces_runtime::docker::{fixtures, DockerConfig, DockerRuntime};
use spaces_runtime::{
    http_get, wait_healthy, BuildRequest, Error, InstanceSpec, InstanceState, LogSource, Runtime,
    VolumeSpec,
};

#[path = "docker/hardening.rs"]
mod hardening;
#[path = "docker/isolation.rs"]
mod isolation;
#[path = "docker/support.rs"]
mod support;

use support::{build_serving, env_with_secret, rev, space, with_docker, TEST_LABEL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_start_health_logs_stop() {
    with_docker("serve", |rt, fx| async move {
        conformance::build_start_health_logs_stop(rt.as_ref(), &fx)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_data_and_wipes_ephemeral() {
    with_docker("persist", |rt, fx| async move {
        conformance::restart_keeps_data_and_wipes_ephemeral(rt.as_ref(), &fx)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_build_reports_log() {
    with_docker("badbuild", |rt, fx| async move {
        conformance::failing_build_reports_log(rt.as_ref(), &fx)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exiting_app_is_reported() {
    with_docker("exit", |rt, fx| async move {
        conformance::exiting_app_is_reported(rt.as_ref(), &fx)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_healthy_times_out() {
    with_docker("unhealthy", |rt, fx| async move {
        conformance::never_healthy_times_out(rt.as_ref(), &fx)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_from_outside_is_reported_exited() {
    with_docker("killed", |rt, fx| async move {
        let space = space("killed");
        let (_dir, built) = build_serving(&rt, &fx, &space, "abcd", false).await;
        let instance = rt
            .start(InstanceSpec {
                image: built.image.clone(),
                env: env_with_secret(&space),
                hardware: None,
                app_port: fixtures::APP_PORT,
                volume: None,
            })
            .await
            .unwrap();
        wait_healthy(rt.as_ref(), &instance, Duration::from_secs(60))
            .await
            .unwrap();
        rt.client()
            .kill_container(
                &instance.id.0,
                Some(KillContainerOptions {
                    signal: "SIGKILL".into(),
                }),
            )
            .await
            .unwrap();
        let mut state = rt.state(&instance.id).await.unwrap();
        for _ in 0..50 {
            if state != InstanceState::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            state = rt.state(&instance.id).await.unwrap();
        }
        assert_eq!(
            state,
            InstanceState::Exited {
                code: Some(137),
                oom_killed: false
            }
        );
        match wait_healthy(rt.as_ref(), &instance, Duration::from_secs(5)).await {
            Err(Error::Exited {
                code: Some(137), ..
            }) => {}
            other => panic!("expected Exited(137), got {other:?}"),
        }
        let mut logs = rt.logs(&instance.id, true).await.unwrap();
        let lines = logs.collect_for(Duration::from_secs(2)).await;
        assert!(
            lines
                .iter()
                .any(|l| l.source == LogSource::Runtime && l.text.contains("exited with code 137")),
            "{lines:?}"
        );
        rt.stop(&instance.id).await.unwrap();
        assert_eq!(
            rt.state(&instance.id).await.unwrap(),
            InstanceState::Stopped
        );
        rt.remove_image(&built.image).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_only_in_env_and_limits_applied() {
    with_docker("inspect", |rt, fx| async move {
        let space = space("inspected");
        let (_dir, built) = build_serving(&rt, &fx, &space, "abcd", false).await;
        let hardware = Catalog::seed().flavor(&Flavor::CpuBasic).cloned().unwrap();
        let instance = rt
            .start(InstanceSpec {
                image: built.image.clone(),
                env: env_with_secret(&space),
                hardware: Some(hardware.clone()),
                app_port: fixtures::APP_PORT,
                volume: Some(VolumeSpec { size_gb: 20 }),
            })
            .await
            .unwrap();
        wait_healthy(rt.as_ref(), &instance, Duration::from_secs(60))
            .await
            .unwrap();
        let mut info = rt
            .client()
            .inspect_container(&instance.id.0, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let config = info.config.as_mut().unwrap();
        let env = config.env.take().unwrap();
        assert!(
            env.iter()
                .any(|e| e == &format!("CANARY_TOKEN={CANARY_SECRET}")),
            "{env:?}"
        );
        assert_eq!(config.user.as_deref(), Some("1000:1000"));
        let labels = config.labels.clone().unwrap();
        assert_eq!(
            labels.get("io.spaces.space").map(String::as_str),
            Some(space.as_str())
        );
        assert_eq!(
            labels.get("io.spaces.revision").map(String::as_str),
            Some("abcd")
        );
        let rest = serde_json::to_string(&info).unwrap();
        assert!(
            !rest.contains(CANARY_SECRET),
            "a secret outside Env in docker inspect"
        );
        let host = info.host_config.as_ref().unwrap();
        assert_eq!(
            host.nano_cpus,
            Some(i64::from(hardware.vcpu) * 1_000_000_000)
        );
        assert_eq!(host.memory, Some(i64::from(hardware.memory_gb) << 30));
        // The app port on the loopback address only.
        assert!(instance.address.ip().is_loopback());
        let page = http_get(instance.address, "/", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&page.body).trim(),
            "persistent=no ephemeral=no"
        );
        // Runtime log lines say what was set up, with no secret.
        let lines = rt
            .logs(&instance.id, false)
            .await
            .unwrap()
            .collect_for(Duration::from_millis(500))
            .await;
        let runtime: Vec<_> = lines
            .iter()
            .filter(|l| l.source == LogSource::Runtime)
            .collect();
        assert!(
            runtime.iter().any(|l| l.text.contains("limits:")),
            "{runtime:?}"
        );
        assert!(
            runtime
                .iter()
                .any(|l| l.text.contains("persistent storage")),
            "{runtime:?}"
        );
        assert!(runtime.iter().all(|l| !l.text.contains(CANARY_SECRET)));
        rt.stop(&instance.id).await.unwrap();
        rt.delete_volume(&space).await.unwrap();
        rt.remove_image(&built.image).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factory_reboot_builds_without_cache_and_replaces_the_image() {
    with_docker("reboot", |rt, fx| async move {
        let space = space("rebooted");
        let (dir, first) = build_serving(&rt, &fx, &space, "abcd", false).await;
        let first_id = rt
            .client()
            .inspect_image(&first.image.reference)
            .await
            .unwrap()
            .id;
        let again = rt
            .build(BuildRequest {
                space: space.clone(),
                revision: rev("abcd"),
                sdk: Sdk::Docker,
                source: dir.path().into(),
                app_file: Sdk::Docker.default_app_path(),
                no_cache: false,
            })
            .await
            .unwrap();
        assert!(
            again.log.iter().any(|l| l.contains("Using cache")),
            "{:?}",
            again.log
        );
        let reboot = rt
            .build(BuildRequest {
                space: space.clone(),
                revision: rev("abcd"),
                sdk: Sdk::Docker,
                source: dir.path().into(),
                app_file: Sdk::Docker.default_app_path(),
                no_cache: true,
            })
            .await
            .unwrap();
        assert!(
            !reboot.log.iter().any(|l| l.contains("Using cache")),
            "{:?}",
            reboot.log
        );
        assert_eq!(reboot.image.reference, first.image.reference);
        let new_id = rt
            .client()
            .inspect_image(&reboot.image.reference)
            .await
            .unwrap()
            .id;
        assert_ne!(new_id, first_id);
        // The image the tag named before is gone.
        assert!(rt
            .client()
            .inspect_image(first_id.as_deref().unwrap())
            .await
            .is_err());
        assert!(reboot
            .image
            .reference
            .starts_with(&format!("{}/dockertest/rebooted:abcd", rt.config().prefix)));
        rt.remove_image(&reboot.image).await.unwrap();
        assert!(rt
            .client()
            .inspect_image(&reboot.image.reference)
            .await
            .is_err());
        rt.remove_image(&reboot.image).await.unwrap(); // removing twice is fine
    })
    .await;
}

#[tokio::test]
async fn no_engine_is_unavailable() {
    let err = DockerRuntime::connect(DockerConfig {
        endpoint: Some("unix:///nonexistent/spaces-docker.sock".into()),
        ..DockerConfig::default()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unavailable {
                backend: "docker",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_hello_example_space_runs() {
    with_docker("hello", |rt, _fx| async move {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/spaces/docker-hello");
        let config = std::fs::read_to_string(repo.join("README.md")).unwrap();
        assert!(config.contains("\nsdk: docker\n"), "{config}");
        let dir = tempfile::tempdir().unwrap();
        fixtures::stage_space(&repo, dir.path()).unwrap();
        let space = space("docker-hello");
        let built = rt
            .build(BuildRequest {
                space: space.clone(),
                revision: rev("1234abcd"),
                sdk: Sdk::Docker,
                source: dir.path().into(),
                app_file: Sdk::Docker.default_app_path(),
                no_cache: false,
            })
            .await
            .unwrap();
        let mut pages = Vec::new();
        for _ in 0..2 {
            let instance = rt
                .start(InstanceSpec {
                    image: built.image.clone(),
                    env: env_with_secret(&space),
                    hardware: None,
                    app_port: fixtures::APP_PORT,
                    volume: Some(VolumeSpec { size_gb: 20 }),
                })
                .await
                .unwrap();
            wait_healthy(rt.as_ref(), &instance, Duration::from_secs(60))
                .await
                .unwrap();
            let page = http_get(instance.address, "/", Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(page.status, 200);
            pages.push(String::from_utf8_lossy(&page.body).into_owned());
            rt.stop(&instance.id).await.unwrap();
        }
        assert!(
            pages[0].contains("Hello from dockertest/docker-hello"),
            "{}",
            pages[0]
        );
        assert!(pages[0].contains("uid 1000"), "{}", pages[0]);
        assert!(pages[0].contains("boot number 1"), "{}", pages[0]);
        assert!(pages[1].contains("boot number 2"), "{}", pages[1]);
        rt.delete_volume(&space).await.unwrap();
        rt.remove_image(&built.image).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_removed_from_outside_is_recreated() {
    with_docker("network", |rt, fx| async move {
        let space = space("networked");
        let (_dir, built) = build_serving(&rt, &fx, &space, "abcd", false).await;
        let spec = InstanceSpec {
            image: built.image.clone(),
            env: AppEnvironment::default(),
            hardware: None,
            app_port: fixtures::APP_PORT,
            volume: None,
        };
        let first = rt.start(spec.clone()).await.unwrap();
        rt.stop(&first.id).await.unwrap();
        rt.client().remove_network(rt.network()).await.unwrap();
        let second = rt.start(spec).await.unwrap();
        wait_healthy(rt.as_ref(), &second, Duration::from_secs(60))
            .await
            .unwrap();
        rt.stop(&second.id).await.unwrap();
        rt.remove_image(&built.image).await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_prepares_the_next_container_and_a_changed_spec_discards_it() {
    with_docker("standby", |rt, fx| async move {
        let space = space("standby");
        let (_dir, built) = build_serving(&rt, &fx, &space, "abcd", false).await;
        let spec = InstanceSpec {
            image: built.image.clone(),
            env: env_with_secret(&space),
            hardware: None,
            app_port: fixtures::APP_PORT,
            volume: None,
        };
        let standbys = || async {
            let filters = HashMap::from([(
                "label".to_owned(),
                vec![
                    format!("io.spaces.standby=true"),
                    format!("{TEST_LABEL}={}", rt.config().prefix),
                ],
            )]);
            rt.client()
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    filters: Some(filters),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_iter()
                .filter(|c| c.state == Some(bollard::models::ContainerSummaryStateEnum::CREATED))
                .filter_map(|c| c.names.and_then(|n| n.into_iter().next()))
                .map(|n| n.trim_start_matches('/').to_owned())
                .collect::<Vec<_>>()
        };
        let first = rt.start(spec.clone()).await.unwrap();
        assert!(standbys().await.is_empty());
        rt.stop(&first.id).await.unwrap();
        let prepared = standbys().await;
        assert_eq!(prepared.len(), 1, "{prepared:?}");
        // The wake starts the prepared container: a fresh disk all the same.
        let second = rt.start(spec.clone()).await.unwrap();
        assert_eq!(second.id.0, prepared[0]);
        wait_healthy(rt.as_ref(), &second, Duration::from_secs(60))
            .await
            .unwrap();
        let page = http_get(second.address, "/", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&page.body).trim(),
            "persistent=no ephemeral=no"
        );
        rt.stop(&second.id).await.unwrap();
        // A new secret value: the prepared container is discarded, a new one is made.
        let prepared = standbys().await;
        assert_eq!(prepared.len(), 1);
        let mut changed = spec.clone();
        changed.env = AppEnvironment::default();
        let third = rt.start(changed).await.unwrap();
        assert_ne!(third.id.0, prepared[0]);
        assert!(standbys().await.is_empty());
        rt.stop(&third.id).await.unwrap();
        // Removing the image discards the standby made at that stop; shutdown removes the network.
        rt.remove_image(&built.image).await.unwrap();
        assert!(standbys().await.is_empty());
        rt.shutdown().await.unwrap();
        assert!(rt
            .client()
            .inspect_network(
                rt.network(),
                None::<bollard::query_parameters::InspectNetworkOptions>
            )
            .await
            .is_err());
    })
    .await;
}
