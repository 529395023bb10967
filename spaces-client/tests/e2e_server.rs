//! Every client call against spaces-server started in-process: create with secrets and
//! variables, info, list, runtime controls, secrets and variables, upload (with an LFS file)
//! then wait for `RUNNING`, build logs, duplicate, delete; and access errors with a second
//! user's token and a read token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod spaces_server_env;

use std::time::Duration;

use futures_util::StreamExt;
use spaces_client::{
    CreateSpace, DuplicateSpace, Error, ListSpaces, LogKind, NewSecret, NewVariable, SleepTime,
    SpaceId, Wire,
};
use spaces_core::{DataLossAck, Flavor, Sdk, Secret, Stage, StorageTier, Visibility};
use spaces_server_env::ServerEnv;

const WAIT: Duration = Duration::from_secs(120);

fn sid(s: &str) -> SpaceId {
    s.parse().unwrap()
}

#[tokio::test]
async fn static_space_create_upload_wait_logs_settings_delete() {
    let env = ServerEnv::start().await;
    let alice = env.client(Some(&env.alice));
    let id = sid("alice/site");

    assert_eq!(alice.whoami().await.unwrap()["name"], "alice");

    // create_repo with variables and secrets.
    let mut o = CreateSpace::new(Sdk::Static);
    o.variables = vec![NewVariable {
        key: "GREETING".into(),
        value: "hello".into(),
        description: Some("shown".into()),
    }];
    o.secrets = vec![NewSecret {
        key: "API_KEY".into(),
        value: Secret::new("s3cr3t-value"),
        description: None,
    }];
    let created = alice.create(&id, &o).await.unwrap();
    assert!(
        created.url.ends_with("/spaces/alice/site"),
        "{}",
        created.url
    );
    // Again: 409 with the url; exist_ok accepts it.
    let e = alice.create(&id, &o).await.unwrap_err();
    assert!(
        matches!(e, Error::Conflict { url: Some(ref u), .. } if u.ends_with("/spaces/alice/site")),
        "{e:?}"
    );
    o.exist_ok = true;
    assert!(alice.create(&id, &o).await.unwrap().existed);

    let rt = alice.wait_running(&id, WAIT).await.unwrap();
    assert_eq!(rt.stage, Stage::Running);
    assert_eq!(rt.hardware, None, "static Spaces have no hardware");

    let info = alice.info(&id).await.unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.sdk, Some(Wire::Known(Sdk::Static)));
    assert_eq!(info.private, Some(false));

    let listed: Vec<_> = alice
        .list(&ListSpaces {
            author: Some("alice".into()),
            ..ListSpaces::default()
        })
        .collect()
        .await;
    assert!(listed.iter().any(|s| s.as_ref().unwrap().id == id));

    // Variables and secrets.
    let vars = alice.variables(&id).await.unwrap();
    assert_eq!(vars.len(), 1);
    assert_eq!(
        (vars[0].key.as_str(), vars[0].value.as_str()),
        ("GREETING", "hello")
    );
    let vars = alice
        .add_variable(&id, "MODEL", "org/model", None)
        .await
        .unwrap();
    assert_eq!(vars.len(), 2);
    let vars = alice.delete_variable(&id, "GREETING").await.unwrap();
    assert_eq!(
        vars.iter().map(|v| v.key.as_str()).collect::<Vec<_>>(),
        ["MODEL"]
    );
    alice
        .add_secret(&id, "TOKEN2", &Secret::new("another"), Some("second"))
        .await
        .unwrap();
    let secrets = alice.secrets(&id).await.unwrap();
    assert_eq!(
        secrets.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["API_KEY", "TOKEN2"]
    );
    assert_eq!(secrets[1].description.as_deref(), Some("second"));
    alice.delete_secret(&id, "TOKEN2").await.unwrap();
    alice.delete_secret(&id, "NEVER_SET").await.unwrap();
    assert_eq!(alice.secrets(&id).await.unwrap().len(), 1);

    // Static Spaces have no hardware: 400.
    let e = alice
        .request_hardware(&id, &Flavor::CpuUpgrade, None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::BadRequest { .. }), "{e:?}");

    // Upload a folder (a `*.bin` goes through LFS by the first commit's .gitattributes), then
    // wait until the new page is served.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<h1>uploaded by spaces-client</h1>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/data.bin"), vec![42u8; 4096]).unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let s2 = seen.clone();
    let progress: spaces_client::OnProgress = std::sync::Arc::new(move |p| {
        s2.store(p.done, std::sync::atomic::Ordering::Relaxed);
        assert!(p.done <= p.total);
    });
    let commit = alice
        .upload_folder(
            &id,
            dir.path(),
            "Upload from the Rust client",
            Some(progress),
        )
        .await
        .unwrap();
    assert_eq!(commit.lfs_files, 1);
    assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 4096 + 34);
    let oid = commit.commit_oid.clone().unwrap();
    assert_eq!(
        alice.info(&id).await.unwrap().sha.as_deref(),
        Some(oid.as_str())
    );
    alice.wait_running(&id, WAIT).await.unwrap();
    let page_url = format!("{}/spaces/alice/site/", env.url);
    let mut served = String::new();
    for _ in 0..200 {
        served = reqwest::get(&page_url).await.unwrap().text().await.unwrap();
        if served.contains("uploaded by spaces-client") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served.contains("uploaded by spaces-client"), "{served}");
    let rt = alice.wait_running(&id, WAIT).await.unwrap();
    assert_eq!(rt.stage, Stage::Running);

    // The build log of that build.
    let lines: Vec<_> = alice.logs(&id, LogKind::Build, false).collect().await;
    let lines: Vec<String> = lines.into_iter().map(|l| l.unwrap().text).collect();
    assert!(!lines.is_empty(), "a build log has lines");

    // Duplicate, then delete both.
    let copy = sid("alice/site-copy");
    let d = alice
        .duplicate(
            &id,
            &copy,
            &DuplicateSpace {
                visibility: Some(Visibility::Private),
                ..DuplicateSpace::default()
            },
        )
        .await
        .unwrap();
    assert!(d.url.ends_with("/spaces/alice/site-copy"), "{}", d.url);
    assert_eq!(alice.info(&copy).await.unwrap().private, Some(true));
    alice.delete(&copy, false).await.unwrap();
    alice.delete(&id, false).await.unwrap();
    assert!(matches!(
        alice.info(&id).await.unwrap_err(),
        Error::RepoNotFound { .. }
    ));
    alice.delete(&id, true).await.unwrap();
    assert!(matches!(
        alice.delete(&id, false).await.unwrap_err(),
        Error::RepoNotFound { .. }
    ));
}

#[tokio::test]
async fn runtime_controls_on_a_gradio_space() {
    let env = ServerEnv::start().await;
    let alice = env.client(Some(&env.alice));
    let id = sid("alice/g");
    let mut o = CreateSpace::new(Sdk::Gradio);
    o.sleep_time = None;
    alice.create(&id, &o).await.unwrap();
    let rt = alice.runtime(&id).await.unwrap();
    assert_eq!(rt.requested_hardware, Some(Flavor::CpuBasic));
    assert_eq!(rt.sleep_time, Some(SleepTime::Seconds(172_800)));

    let rt = alice
        .request_hardware(&id, &Flavor::CpuUpgrade, None)
        .await
        .unwrap();
    assert_eq!(rt.requested_hardware, Some(Flavor::CpuUpgrade));
    assert_eq!(
        rt.sleep_time,
        Some(SleepTime::Never),
        "paid hardware never sleeps by default"
    );
    let rt = alice
        .set_sleep_time(&id, SleepTime::Seconds(3600))
        .await
        .unwrap();
    assert_eq!(rt.sleep_time, Some(SleepTime::Seconds(3600)));
    let rt = alice.set_sleep_time(&id, SleepTime::Never).await.unwrap();
    assert_eq!(rt.sleep_time, Some(SleepTime::Never));
    let rt = alice
        .request_hardware(&id, &Flavor::T4Small, Some(SleepTime::Seconds(600)))
        .await
        .unwrap();
    assert_eq!(rt.requested_hardware, Some(Flavor::T4Small));
    assert_eq!(rt.sleep_time, Some(SleepTime::Seconds(600)));

    let rt = alice
        .request_storage(&id, StorageTier::Small)
        .await
        .unwrap();
    assert_eq!(rt.storage, Some(Wire::Known(StorageTier::Small)));
    let rt = alice
        .delete_storage(&id, DataLossAck::i_understand_all_data_is_lost())
        .await
        .unwrap();
    assert_eq!(rt.storage, None);
    let e = alice
        .delete_storage(&id, DataLossAck::i_understand_all_data_is_lost())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::BadRequest { .. }),
        "no storage: 400, {e:?}"
    );

    // Calls this server does not offer answer 400 with a message that says so.
    let e = alice.set_dev_mode(&id, true).await.unwrap_err();
    assert!(matches!(e, Error::BadRequest { .. }), "{e:?}");
    let offer = alice.hardware_offer().await.unwrap();
    let basic = offer.iter().find(|h| h.name == Flavor::CpuBasic).unwrap();
    assert_eq!(basic.unit_cost_usd().unwrap(), spaces_core::Decimal::ZERO);

    let rt = alice.pause(&id).await.unwrap();
    assert_eq!(rt.stage, Stage::Paused);
    let rt = alice.restart(&id, false).await.unwrap();
    assert_ne!(rt.stage, Stage::Paused);
    let rt = alice.restart(&id, true).await.unwrap();
    assert_ne!(rt.stage, Stage::Paused);
    alice.delete(&id, false).await.unwrap();
}

#[tokio::test]
async fn access_errors_with_other_tokens() {
    let env = ServerEnv::start().await;
    let alice = env.client(Some(&env.alice));
    let bob = env.client(Some(&env.bob));
    let read = env.client(Some(&env.alice_read));
    let anonymous = env.client(None);
    let public = sid("alice/pub");
    let private = sid("acme/secret");
    alice
        .create(&public, &CreateSpace::new(Sdk::Gradio))
        .await
        .unwrap();
    let mut o = CreateSpace::new(Sdk::Gradio);
    o.visibility = Some(Visibility::Private);
    alice.create(&private, &o).await.unwrap();

    // bob may read the public Space but not change it: 403.
    assert!(bob.runtime(&public).await.is_ok());
    let e = bob.pause(&public).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
    let e = bob.add_variable(&public, "A", "1", None).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
    // The private Space is not found for bob and for anonymous callers, mutations included.
    for c in [&bob, &anonymous] {
        assert!(matches!(
            c.info(&private).await.unwrap_err(),
            Error::RepoNotFound { .. }
        ));
        assert!(matches!(
            c.runtime(&private).await.unwrap_err(),
            Error::RepoNotFound { .. }
        ));
        assert!(matches!(
            c.pause(&private).await.unwrap_err(),
            Error::RepoNotFound { .. }
        ));
    }
    // Anonymous cannot create; an unknown token is refused.
    let e = anonymous
        .create(&sid("alice/x"), &CreateSpace::new(Sdk::Static))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    let bad = env.client(Some("hf_not_a_token_of_this_server"));
    let e = bad.whoami().await.unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    assert!(!format!("{e}").contains("hf_not_a_token"));
    // A read token reads but cannot mutate.
    assert!(read.info(&private).await.is_ok());
    let e = read
        .set_sleep_time(&private, SleepTime::Never)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
    // Logs are for the owner's side only.
    let e = bob
        .logs(&public, LogKind::Build, false)
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(e, Error::Forbidden { .. } | Error::RepoNotFound { .. }),
        "{e:?}"
    );
    // bob cannot delete alice's Space.
    let e = bob.delete(&public, false).await.unwrap_err();
    assert!(
        matches!(e, Error::Forbidden { .. } | Error::RepoNotFound { .. }),
        "{e:?}"
    );
}
