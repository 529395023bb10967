//! What a control plane reads and sets besides the lifecycle: a Space created with its settings
//! in one transaction, secrets without values, variables, visibility, build logs, files, and the
//! SDK router in front of the runtimes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use spaces_core::{
    Catalog, Flavor, ManualClock, Revision, Sdk, Secret, SpaceId, Stage, StorageTier, Visibility,
};
use spaces_runtime::supervisor::{CreateOptions, MemorySink, PushSettings, Supervisor};
use spaces_runtime::{LocalRuntime, SdkRouter};

async fn open(dir: &std::path::Path, sink: Arc<MemorySink>) -> Supervisor {
    let local = Arc::new(LocalRuntime::new(dir.join("rt")).unwrap());
    Supervisor::open(
        &dir.join("state"),
        Arc::new(SdkRouter::new(local, None)),
        Arc::new(ManualClock::new("2026-11-02T09:00:00Z".parse().unwrap())),
        Catalog::seed(),
        sink,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_space_is_created_with_its_settings_in_one_go_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Arc::new(MemorySink::new());
    let sup = open(dir.path(), sink.clone()).await;
    let id: SpaceId = "alice/configured".parse().unwrap();
    let st = sup
        .create_with(
            id.clone(),
            Sdk::Gradio,
            Visibility::Private,
            CreateOptions {
                hardware: Some(Flavor::CpuUpgrade),
                sleep_time: Some(Some(Duration::from_secs(3600))),
                storage: Some(StorageTier::Small),
                secrets: vec![(
                    "API_KEY".into(),
                    Secret::new("v4lue"),
                    Some("the key".into()),
                )],
                variables: vec![("MODEL".into(), "org/model".into())],
                title: Some("Configured".into()),
            },
        )
        .unwrap();
    assert_eq!(st.stage, Stage::NoAppFile);
    assert_eq!(st.requested_hardware, Some(Flavor::CpuUpgrade));
    assert_eq!(st.storage, Some(StorageTier::Small));
    assert_eq!(st.sleep_time, Some(Duration::from_secs(3600)));
    assert_eq!(st.visibility, Visibility::Private);
    assert_eq!(st.title.as_deref(), Some("Configured"));
    let secrets = sup.secrets(&id).unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].name, "API_KEY");
    assert_eq!(secrets[0].description.as_deref(), Some("the key"));
    assert!(!format!("{secrets:?}").contains("v4lue"));
    assert_eq!(sup.variables(&id).unwrap()["MODEL"], "org/model");
    // Storage is billed from creation: its usage event was committed with it.
    assert!(sink
        .events()
        .iter()
        .any(|e| e.change == spaces_core::UsageChange::Storage(Some(StorageTier::Small))));
    sup.set_visibility(&id, Visibility::Public).unwrap();
    drop(sup);
    let sup = open(dir.path(), Arc::new(MemorySink::new())).await;
    let st = sup.status(&id).unwrap();
    assert_eq!(
        (st.visibility, st.storage, st.title.as_deref()),
        (
            Visibility::Public,
            Some(StorageTier::Small),
            Some("Configured")
        )
    );
    assert_eq!(sup.secrets(&id).unwrap()[0].name, "API_KEY");
}

#[tokio::test]
async fn a_refused_setting_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sup = open(dir.path(), Arc::new(MemorySink::new())).await;
    let id: SpaceId = "alice/refused".parse().unwrap();
    // A sleep time on free cpu-basic is refused, and so is the whole create.
    let err = sup.create_with(
        id.clone(),
        Sdk::Gradio,
        Visibility::Public,
        CreateOptions {
            sleep_time: Some(Some(Duration::from_secs(600))),
            variables: vec![("OK".into(), "1".into())],
            ..CreateOptions::default()
        },
    );
    assert!(err.is_err());
    assert!(sup.status(&id).is_err());
    let err = sup.create_with(
        id.clone(),
        Sdk::Gradio,
        Visibility::Public,
        CreateOptions {
            secrets: vec![("bad name".into(), Secret::new("x"), None)],
            ..CreateOptions::default()
        },
    );
    assert!(err.is_err());
    assert!(sup.status(&id).is_err());
}

#[tokio::test]
async fn build_logs_and_files_are_kept_and_docker_spaces_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let sup = open(dir.path(), Arc::new(MemorySink::new())).await;
    let id: SpaceId = "alice/page".parse().unwrap();
    sup.create(id.clone(), Sdk::Static, Visibility::Public)
        .unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "hi").unwrap();
    let st = sup
        .push(
            &id,
            &site,
            Revision::new("abcd").unwrap(),
            PushSettings::default(),
        )
        .await
        .unwrap();
    assert_eq!(st.stage, Stage::Running);
    assert!(!sup.build_log(&id).unwrap().is_empty());
    let files = sup.files(&id).unwrap().unwrap();
    assert_eq!(
        std::fs::read_to_string(files.join("index.html")).unwrap(),
        "hi"
    );

    let boxed: SpaceId = "alice/boxed".parse().unwrap();
    sup.create(boxed.clone(), Sdk::Docker, Visibility::Public)
        .unwrap();
    std::fs::write(site.join("Dockerfile"), "FROM scratch\n").unwrap();
    let st = sup
        .push(
            &boxed,
            &site,
            Revision::new("beef").unwrap(),
            PushSettings::default(),
        )
        .await
        .unwrap();
    assert_eq!(st.stage, Stage::BuildError);
    let why = st.build_error.unwrap();
    assert!(why.contains("--docker"), "{why}");
    assert!(sup.build_log(&boxed).unwrap().join("\n").contains("Docker"));
    sup.shutdown().await.unwrap();
}
