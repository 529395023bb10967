//! Unit tests of the local runtime that need no Python (static Spaces, `sleep` as an app left by
//! an earlier process).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use spaces_core::{AppEnvironment, Catalog, Revision};

use super::records::AppRecord;
use super::*;

fn runtime() -> (tempfile::TempDir, LocalRuntime) {
    let root = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::new(root.path()).unwrap();
    (root, rt)
}

async fn static_image(rt: &LocalRuntime, space: &str) -> (tempfile::TempDir, Image) {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("index.html"), "<h1>hi</h1>").unwrap();
    let built = rt
        .build(BuildRequest {
            space: space.parse().unwrap(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Static,
            source: src.path().into(),
            app_file: Sdk::Static.default_app_path(),
            no_cache: false,
        })
        .await
        .unwrap();
    (src, built.image)
}

fn spec(image: &Image) -> InstanceSpec {
    InstanceSpec {
        image: image.clone(),
        env: AppEnvironment::default(),
        hardware: None,
        app_port: 7860,
        volume: None,
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A process that is certainly gone: this one, with another start time.
fn dead_process() -> ProcessRef {
    let me = ProcessRef::current();
    ProcessRef {
        pid: me.pid,
        start_time: Some(me.start_time.unwrap_or(0) + 1),
    }
}

fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn stopped_instances_leave_the_table_and_still_answer_stopped() {
    let (root, rt) = runtime();
    let (_src, image) = static_image(&rt, "alice/page").await;
    let inst = rt.start(spec(&image)).await.unwrap();
    assert_eq!(rt.table().live.len(), 1);
    assert!(root
        .path()
        .join("instances")
        .join(format!("{}.json", inst.id))
        .exists());
    rt.stop(&inst.id).await.unwrap();
    assert!(
        rt.table().live.is_empty(),
        "a stopped instance stays in memory"
    );
    assert_eq!(rt.state(&inst.id).await.unwrap(), InstanceState::Stopped);
    rt.stop(&inst.id).await.unwrap();
    assert!(entries(&root.path().join("instances")).is_empty());
    let lines = rt
        .logs(&inst.id, true)
        .await
        .unwrap()
        .collect_for(Duration::from_millis(100))
        .await;
    assert_eq!(lines.len(), 1, "{lines:?}");
}

#[test]
fn the_remembered_stopped_ids_are_bounded() {
    let mut stopped = StoppedIds::default();
    for i in 0..STOPPED_KEPT + 10 {
        stopped.insert(InstanceId(format!("local-{i}")));
    }
    assert_eq!(stopped.order.len(), STOPPED_KEPT);
    assert_eq!(stopped.set.len(), STOPPED_KEPT);
    assert!(!stopped.contains(&InstanceId("local-0".into())));
    assert!(stopped.contains(&InstanceId(format!("local-{}", STOPPED_KEPT + 9))));
}

#[tokio::test]
async fn ids_never_repeat_across_runtimes_on_one_root() {
    let (root, a) = runtime();
    let b = LocalRuntime::new(root.path()).unwrap();
    let (_src, image) = static_image(&a, "alice/page").await;
    let (x, y) = (
        a.start(spec(&image)).await.unwrap(),
        b.start(spec(&image)).await.unwrap(),
    );
    assert_ne!(x.id, y.id);
    assert!(x
        .id
        .0
        .starts_with(&format!("local-{}-", std::process::id())));
    a.stop(&x.id).await.unwrap();
    // b's instance still has its folder and still serves.
    assert!(root.path().join("instances").join(&y.id.0).is_dir());
    assert!(crate::is_healthy(y.address).await);
    b.stop(&y.id).await.unwrap();
}

#[tokio::test]
async fn gpu_flavors_are_unsupported_and_start_nothing() {
    let (root, rt) = runtime();
    let (_src, image) = static_image(&rt, "alice/page").await;
    for hw in Catalog::seed()
        .hardware()
        .iter()
        .filter(|h| h.gpu.is_some())
    {
        let mut s = spec(&image);
        s.hardware = Some(hw.clone());
        let err = rt.start(s).await.unwrap_err();
        assert!(
            matches!(&err, Error::Unsupported { backend: "local", what } if what.contains("NVIDIA")),
            "{err}"
        );
    }
    assert!(entries(&root.path().join("instances")).is_empty());
    assert!(rt.running().await.unwrap().is_empty());
    // A CPU flavor starts.
    let mut s = spec(&image);
    s.hardware = Catalog::seed()
        .hardware()
        .iter()
        .find(|h| h.gpu.is_none())
        .cloned();
    let inst = rt.start(s).await.unwrap();
    rt.stop(&inst.id).await.unwrap();
}

#[tokio::test]
async fn remove_image_refuses_anything_but_an_image_folder() {
    let (root, rt) = runtime();
    let (_src, image) = static_image(&rt, "alice/page").await;
    let keep = root.path().join("keep");
    std::fs::write(&keep, "x").unwrap();
    let r = root.path().display();
    for reference in [
        format!("{r}/images/../.."),
        format!("{r}/images/.."),
        format!("{r}/images/alice/page/abcd/../../../.."),
        format!("{r}/images/./alice/page/abcd"),
        format!("{r}/images/alice/page/abcd/.."),
        r.to_string(),
    ] {
        let bad = Image {
            reference: reference.clone(),
            ..image.clone()
        };
        let err = rt.remove_image(&bad).await.unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{reference}: {err}");
    }
    assert!(keep.exists() && Path::new(&image.reference).is_dir());
    rt.remove_image(&image).await.unwrap();
    assert!(!Path::new(&image.reference).exists() && keep.exists());
    rt.remove_image(&image).await.unwrap(); // removing twice is fine
}

#[tokio::test]
async fn build_refuses_an_app_file_that_links_outside_the_source() {
    let (root, rt) = runtime();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("index.html"), "outside").unwrap();
    let src = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("index.html"),
        src.path().join("index.html"),
    )
    .unwrap();
    let err = rt
        .build(BuildRequest {
            space: "alice/page".parse().unwrap(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Static,
            source: src.path().into(),
            app_file: Sdk::Static.default_app_path(),
            no_cache: false,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::BuildFailed { reason, .. } if reason.contains("symbolic link")),
        "{err}"
    );
    assert!(entries(&root.path().join("images")).is_empty());
}

/// Starts `sleep` as the leader of its own group and records it as the app of an instance whose
/// owner process is gone (what a killed supervisor leaves behind).
fn orphan(rt: &LocalRuntime, owner: ProcessRef) -> (std::process::Child, InstanceId) {
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new("sleep")
        .arg("300")
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let id = records::new_id();
    std::fs::create_dir(rt.records.folder(&id)).unwrap();
    rt.records
        .write(&Record {
            id: id.clone(),
            space: "alice/app".parse().unwrap(),
            address: "127.0.0.1:9".parse().unwrap(),
            owner,
            app: Some(AppRecord {
                pid,
                pgid: pid,
                start_time: ProcessRef::of(pid).start_time,
            }),
        })
        .unwrap();
    (child, InstanceId(id))
}

#[tokio::test]
async fn apps_recorded_by_a_dead_process_are_listed_and_stopped() {
    let (root, rt) = runtime();
    let (mut child, id) = orphan(&rt, dead_process());
    let pid = i32::try_from(child.id()).unwrap();
    let listed = rt.running().await.unwrap();
    assert_eq!(listed.iter().map(|i| &i.id).collect::<Vec<_>>(), [&id]);
    assert_eq!(rt.state(&id).await.unwrap(), InstanceState::Running);
    rt.stop(&id).await.unwrap();
    let _ = child.wait(); // reap it (it is this test's child)
    assert!(gone(pid));
    assert!(rt.running().await.unwrap().is_empty());
    assert!(entries(&root.path().join("instances")).is_empty());
    assert_eq!(rt.state(&id).await.unwrap(), InstanceState::Stopped);
}

#[tokio::test]
async fn stale_records_are_cleaned_and_live_owners_are_left_alone() {
    let (root, rt) = runtime();
    let instances = root.path().join("instances");
    // A static Space of a process that is gone: record and folder are stale.
    let stale = records::new_id();
    std::fs::create_dir(rt.records.folder(&stale)).unwrap();
    let record = Record {
        id: stale.clone(),
        space: "alice/page".parse().unwrap(),
        address: "127.0.0.1:9".parse().unwrap(),
        owner: dead_process(),
        app: None,
    };
    rt.records.write(&record).unwrap();
    // An app that exited, recorded by a process that is gone: stale too.
    let exited = records::new_id();
    rt.records
        .write(&Record {
            id: exited.clone(),
            app: Some(AppRecord {
                pid: dead_process().pid,
                pgid: dead_process().pid,
                start_time: dead_process().start_time,
            }),
            ..record.clone()
        })
        .unwrap();
    // A folder without a record (an older version's crash).
    std::fs::create_dir(instances.join("local-1-2-3")).unwrap();
    // An instance of another live process (pid 1): neither listed nor removed, nor stopped here.
    let (mut child, theirs) = orphan(&rt, ProcessRef::of(1));

    assert!(rt.running().await.unwrap().is_empty());
    assert_eq!(
        entries(&instances),
        [theirs.0.clone(), format!("{}.json", theirs.0)]
    );
    let err = rt.stop(&theirs).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    for unknown in ["local-9-9-9", "../../etc/passwd", "local-../x"] {
        let err = rt.stop(&InstanceId(unknown.into())).await.unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{unknown}: {err}");
    }
    child.kill().unwrap();
    let _ = child.wait();
}

/// Killed between the spawn and the record that names the app: the app is found by its working
/// folder, and stopped with its group.
#[tokio::test]
async fn an_app_spawned_but_never_recorded_is_found_by_its_folder_and_stopped() {
    use std::os::unix::process::CommandExt;
    let (root, rt) = runtime();
    let id = records::new_id();
    let folder = rt.records.folder(&id);
    std::fs::create_dir(&folder).unwrap();
    rt.records
        .write(&Record {
            id: id.clone(),
            space: "alice/app".parse().unwrap(),
            address: "127.0.0.1:9".parse().unwrap(),
            owner: dead_process(),
            app: None,
        })
        .unwrap();
    let mut child = std::process::Command::new("sleep")
        .arg("300")
        .current_dir(&folder)
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    assert!(rt.running().await.unwrap().is_empty());
    let mut exited = None;
    for _ in 0..100 {
        exited = child.try_wait().unwrap();
        if exited.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if exited.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the unrecorded app still runs");
    }
    assert!(gone(pid));
    assert!(entries(&root.path().join("instances")).is_empty());
}
