//! What the engine shows of a Space container's hardening, GPU flavors refused, no standby left
//! holding secrets once discarded, and bounded logs.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::StartExecResults;
use bollard::models::ExecConfig;
use bollard::query_parameters::{InspectContainerOptions, ListVolumesOptions};
use futures_util::StreamExt;
use spaces_core::{Catalog, Flavor, Sdk};
use spaces_runtime::conformance::CANARY_SECRET;
use spaces_runtime::docker::logs::{MAX_LINE, TRUNCATED};
use spaces_runtime::docker::security::PIDS_LIMIT;
use spaces_runtime::docker::{bollard, fixtures, DockerConfig, DockerRuntime};
use spaces_runtime::{
    http_get, wait_healthy, Error, Image, InstanceSpec, LogSource, Runtime, VolumeSpec,
};

use super::support::{
    build_dir, build_serving, containers_with, env_with_secret, rev, space, test_config,
    with_docker, write_app, TEST_LABEL,
};

/// What `id -u` says inside the container.
async fn uid_in(rt: &DockerRuntime, container: &str) -> String {
    let exec = rt
        .client()
        .create_exec(
            container,
            ExecConfig {
                cmd: Some(vec!["id".into(), "-u".into()]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut out = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        rt.client().start_exec(&exec.id, None).await.unwrap()
    {
        while let Some(Ok(chunk)) = output.next().await {
            if let LogOutput::StdOut { message } | LogOutput::StdErr { message } = chunk {
                out.push_str(&String::from_utf8_lossy(&message));
            }
        }
    }
    out.trim().to_owned()
}

fn serving_spec(image: &Image, hardware: Option<spaces_core::HardwareSpec>) -> InstanceSpec {
    InstanceSpec {
        image: image.clone(),
        env: env_with_secret(&image.space),
        hardware,
        app_port: fixtures::APP_PORT,
        volume: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_drop_capabilities_and_never_run_as_root() {
    with_docker("harden", |rt, fx| async move {
        let space = space("hardened");
        let (_dir, built) = build_serving(&rt, &fx, &space, "abcd", false).await;
        let hardware = Catalog::seed().flavor(&Flavor::CpuBasic).cloned().unwrap();
        let instance = rt
            .start(serving_spec(&built.image, Some(hardware.clone())))
            .await
            .unwrap();
        wait_healthy(rt.as_ref(), &instance, Duration::from_secs(60))
            .await
            .unwrap();
        let info = rt
            .client()
            .inspect_container(&instance.id.0, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let host = info.host_config.unwrap();
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
        assert_eq!(
            host.security_opt,
            Some(vec!["no-new-privileges".to_owned()])
        );
        assert_eq!(host.pids_limit, Some(PIDS_LIMIT));
        assert_eq!(PIDS_LIMIT, 512);
        assert_eq!(host.privileged, Some(false));
        assert_eq!(
            host.nano_cpus,
            Some(i64::from(hardware.vcpu) * 1_000_000_000)
        );
        assert_eq!(host.memory, Some(i64::from(hardware.memory_gb) << 30));
        assert_eq!(host.memory_swap, host.memory);
        assert_eq!(info.config.unwrap().user.as_deref(), Some("1000:1000"));
        assert_eq!(uid_in(&rt, &instance.id.0).await, "1000");
        rt.stop(&instance.id).await.unwrap();
        rt.discard_prepared(&space).await.unwrap();

        // `user: None` keeps the image's USER, but never root: the serving image has none.
        let prefix = rt.config().prefix.clone();
        let image_user = DockerRuntime::connect(DockerConfig {
            user: None,
            ..test_config(&prefix)
        })
        .await
        .unwrap();
        let instance = image_user
            .start(serving_spec(&built.image, None))
            .await
            .unwrap();
        wait_healthy(&image_user, &instance, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(uid_in(&image_user, &instance.id.0).await, "1000");
        image_user.stop(&instance.id).await.unwrap();
        // An image that names a non-root USER runs as it.
        let dir = tempfile::tempdir().unwrap();
        write_app(
            dir.path(),
            &fx.tag,
            "USER 4321:4321\nCMD [\"/bin/sleep\", \"600\"]\n",
        );
        let own = build_dir(&image_user, &space, dir.path(), "beef").await;
        let instance = image_user
            .start(serving_spec(&own.image, None))
            .await
            .unwrap();
        let info = image_user
            .client()
            .inspect_container(&instance.id.0, None::<InspectContainerOptions>)
            .await
            .unwrap();
        assert_eq!(info.config.unwrap().user.as_deref(), Some("4321:4321"));
        assert_eq!(uid_in(&image_user, &instance.id.0).await, "4321");
        image_user.stop(&instance.id).await.unwrap();
        image_user.discard_prepared(&space).await.unwrap();
        rt.remove_image(&own.image).await.unwrap();
        rt.remove_image(&built.image).await.unwrap();

        // A root user in the configuration is refused before anything is asked of the engine.
        for root in ["0", "root", "0:0"] {
            let err = DockerRuntime::connect(DockerConfig {
                user: Some(root.into()),
                endpoint: Some("unix:///nonexistent/spaces-docker.sock".into()),
                ..DockerConfig::default()
            })
            .await
            .unwrap_err();
            assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_flavors_are_unsupported_and_nothing_is_created() {
    with_docker("gpu", |rt, _fx| async move {
        let space = space("gpu");
        let t4 = Catalog::seed().flavor(&Flavor::T4Small).cloned().unwrap();
        let image = Image {
            reference: format!("{}/never-built:abcd", rt.config().prefix),
            space: space.clone(),
            revision: rev("abcd"),
            sdk: Sdk::Docker,
            app_file: Sdk::Docker.default_app_path(),
        };
        let err = rt
            .start(InstanceSpec {
                image,
                env: env_with_secret(&space),
                hardware: Some(t4),
                app_port: fixtures::APP_PORT,
                volume: Some(VolumeSpec { size_gb: 20 }),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("t4-small"), "{err}");
        let prefix = &rt.config().prefix;
        assert!(containers_with(&rt, &[format!("{TEST_LABEL}={prefix}")])
            .await
            .is_empty());
        let volumes = rt
            .client()
            .list_volumes(None::<ListVolumesOptions>)
            .await
            .unwrap()
            .volumes
            .unwrap_or_default();
        assert!(volumes.iter().all(|v| !v.name.starts_with(prefix.as_str())));
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

/// A standby holds the Space's secrets in its `Env`: once discarded (pause, delete, secret
/// change), no container of the Space is left, even one another runtime of the namespace made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discarding_prepared_leaves_no_container_holding_the_secrets() {
    with_docker("discard", |rt, fx| async move {
        let prefix = rt.config().prefix.clone();
        let space = space("paused");
        let (_dir, built) = build_serving(&rt, &fx, &space, "abcd", false).await;
        // Another process of the namespace, connected before any standby exists.
        let other = DockerRuntime::connect(test_config(&prefix)).await.unwrap();
        let mut spec = serving_spec(&built.image, None);
        spec.volume = Some(VolumeSpec { size_gb: 20 });
        let labels = [
            format!("io.spaces.space={space}"),
            format!("{TEST_LABEL}={prefix}"),
        ];

        let first = rt.start(spec.clone()).await.unwrap();
        rt.stop(&first.id).await.unwrap();
        let standby = containers_with(&rt, &labels).await;
        assert_eq!(standby.len(), 1, "the standby");
        let env = rt
            .client()
            .inspect_container(
                standby[0].id.as_deref().unwrap(),
                None::<InspectContainerOptions>,
            )
            .await
            .unwrap()
            .config
            .unwrap()
            .env
            .unwrap();
        assert!(
            env.iter().any(|e| e.contains(CANARY_SECRET)),
            "why it matters"
        );
        rt.discard_prepared(&space).await.unwrap();
        assert!(containers_with(&rt, &labels).await.is_empty());
        rt.discard_prepared(&space).await.unwrap(); // nothing prepared: fine

        // A standby this runtime made, discarded through the other one (the engine decides).
        let second = rt.start(spec.clone()).await.unwrap();
        rt.stop(&second.id).await.unwrap();
        assert_eq!(containers_with(&rt, &labels).await.len(), 1);
        other.discard_prepared(&space).await.unwrap();
        assert!(containers_with(&rt, &labels).await.is_empty());

        // The next start makes a fresh container (the one it remembered is gone) and serves.
        let third = rt.start(spec.clone()).await.unwrap();
        assert_ne!(third.id, second.id);
        wait_healthy(rt.as_ref(), &third, Duration::from_secs(60))
            .await
            .unwrap();
        let page = http_get(third.address, "/", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&page.body).trim(),
            "persistent=yes ephemeral=no"
        );
        rt.stop(&third.id).await.unwrap();
        // Deleting the Space's storage discards its standby first.
        rt.delete_volume(&space).await.unwrap();
        assert!(containers_with(&rt, &labels).await.is_empty());
        rt.remove_image(&built.image).await.unwrap();
    })
    .await;
}

/// An app writing a 100 000-byte line: it arrives cut at 16 KiB with a marker; a follower that
/// leaves while the app is silent ends its copy (no task, no engine connection left).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_are_cut_and_abandoned_followers_end() {
    with_docker("logs", |rt, fx| async move {
        let space = space("chatty");
        let dir = tempfile::tempdir().unwrap();
        write_app(
            dir.path(),
            &fx.tag,
            r#"CMD ["/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\000' a; echo; echo after; exec sleep 600"]
"#,
        );
        let built = build_dir(&rt, &space, dir.path(), "abcd").await;
        let mut spec = serving_spec(&built.image, None);
        spec.env = spaces_core::AppEnvironment::default();
        let instance = rt.start(spec).await.unwrap();
        let mut logs = rt.logs(&instance.id, true).await.unwrap();
        let mut lines = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !lines.iter().any(|l: &spaces_runtime::LogLine| l.text == "after") {
            let line = tokio::time::timeout_at(deadline, logs.next())
                .await
                .expect("the app's lines within 30s")
                .expect("a line");
            lines.push(line);
        }
        let app: Vec<_> = lines
            .iter()
            .filter(|l| l.source == LogSource::Stdout)
            .collect();
        assert_eq!(app.len(), 2, "{:?}", app.iter().map(|l| l.text.len()).collect::<Vec<_>>());
        assert_eq!(app[0].text.len(), MAX_LINE + TRUNCATED.len());
        assert!(app[0].text.ends_with(TRUNCATED));
        assert!(lines.iter().all(|l| l.text.len() <= MAX_LINE + TRUNCATED.len()));
        assert_eq!(rt.log_tasks(), 1);
        drop(logs);
        let mut waited = 0;
        while rt.log_tasks() > 0 && waited < 50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += 1;
        }
        assert_eq!(rt.log_tasks(), 0, "the copy outlived its reader");
        rt.stop(&instance.id).await.unwrap();
        rt.discard_prepared(&space).await.unwrap();
        rt.remove_image(&built.image).await.unwrap();
    })
    .await;
}
