//! For each call, the exact method, path, query and JSON body that `huggingface_hub` 2.4.0
//! sends for the same call (1.33.0 for the storage calls 2.0 removed), written down from its
//! `hf_api.py` / `_commit_api.py` / `lfs.py`, checked against what the loopback `TestServer`
//! received from this client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod test_server;

use futures_util::StreamExt;
use serde_json::{json, Value};
use spaces_client::{
    CreateSpace, DuplicateSpace, ListSpaces, LogKind, NewSecret, NewVariable, SleepTime, SpaceId,
};
use spaces_core::{DataLossAck, Flavor, Sdk, Secret, StorageTier, Visibility};
use test_server::{expect, Reply, TestServer};

fn id() -> SpaceId {
    "alice/demo".parse().unwrap()
}

#[tokio::test]
async fn runtime_controls() {
    let s = TestServer::start().await;
    let c = s.client();
    let rt = || Reply::fixture(200, "runtime_static.json");
    for p in [
        "runtime",
        "hardware",
        "sleeptime",
        "pause",
        "restart",
        "storage",
    ] {
        s.on("GET", &format!("/api/spaces/alice/demo/{p}"), rt());
        s.on("POST", &format!("/api/spaces/alice/demo/{p}"), rt());
        s.on("DELETE", &format!("/api/spaces/alice/demo/{p}"), rt());
    }
    s.on(
        "GET",
        "/api/spaces/alice/demo",
        Reply::fixture(200, "space_info.json"),
    );

    // get_space_runtime(repo_id)
    c.runtime(&id()).await.unwrap();
    expect(
        &s.last(),
        "GET",
        "/api/spaces/alice/demo/runtime",
        &[],
        Value::Null,
    );
    // space_info(repo_id)
    c.info(&id()).await.unwrap();
    expect(&s.last(), "GET", "/api/spaces/alice/demo", &[], Value::Null);
    // request_space_hardware(repo_id, "t4-small")
    c.request_hardware(&id(), &Flavor::T4Small, None)
        .await
        .unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/hardware",
        &[],
        json!({"flavor": "t4-small"}),
    );
    // request_space_hardware(repo_id, "h200x8", sleep_time=3600): unknown flavors pass through.
    c.request_hardware(
        &id(),
        &Flavor::from_wire("h200x8"),
        Some(SleepTime::Seconds(3600)),
    )
    .await
    .unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/hardware",
        &[],
        json!({"flavor": "h200x8", "sleepTimeSeconds": 3600}),
    );
    // set_space_sleep_time(repo_id, 600) and (repo_id, -1)
    c.set_sleep_time(&id(), SleepTime::Seconds(600))
        .await
        .unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/sleeptime",
        &[],
        json!({"seconds": 600}),
    );
    c.set_sleep_time(&id(), SleepTime::Never).await.unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/sleeptime",
        &[],
        json!({"seconds": -1}),
    );
    // pause_space(repo_id): no body.
    c.pause(&id()).await.unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/pause",
        &[],
        Value::Null,
    );
    // restart_space(repo_id) and (repo_id, factory_reboot=True)
    c.restart(&id(), false).await.unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/restart",
        &[],
        Value::Null,
    );
    c.restart(&id(), true).await.unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/restart",
        &[("factory", "true")],
        Value::Null,
    );
    // 1.33.0 request_space_storage(repo_id, "medium") / delete_space_storage(repo_id)
    c.request_storage(&id(), StorageTier::Medium).await.unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/storage",
        &[],
        json!({"tier": "medium"}),
    );
    c.delete_storage(&id(), DataLossAck::i_understand_all_data_is_lost())
        .await
        .unwrap();
    expect(
        &s.last(),
        "DELETE",
        "/api/spaces/alice/demo/storage",
        &[],
        Value::Null,
    );
}

#[tokio::test]
async fn secrets_and_variables() {
    let s = TestServer::start().await;
    let c = s.client();
    for m in ["GET", "POST", "DELETE"] {
        s.on(
            m,
            "/api/spaces/alice/demo/secrets",
            Reply::json(200, json!({})),
        );
        s.on(
            m,
            "/api/spaces/alice/demo/variables",
            Reply::fixture(200, "variables.json"),
        );
    }
    // add_space_secret(repo_id, "API_KEY", "s3cr3t") and with description
    c.add_secret(&id(), "API_KEY", &Secret::new("s3cr3t"), None)
        .await
        .unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/secrets",
        &[],
        json!({"key": "API_KEY", "value": "s3cr3t"}),
    );
    c.add_secret(&id(), "API_KEY", &Secret::new("s3cr3t"), Some("the key"))
        .await
        .unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/secrets",
        &[],
        json!({"key": "API_KEY", "value": "s3cr3t", "description": "the key"}),
    );
    // delete_space_secret(repo_id, "API_KEY"): DELETE with a JSON body.
    c.delete_secret(&id(), "API_KEY").await.unwrap();
    expect(
        &s.last(),
        "DELETE",
        "/api/spaces/alice/demo/secrets",
        &[],
        json!({"key": "API_KEY"}),
    );
    // get_space_secrets(repo_id)
    c.secrets(&id()).await.unwrap();
    expect(
        &s.last(),
        "GET",
        "/api/spaces/alice/demo/secrets",
        &[],
        Value::Null,
    );
    // add_space_variable(repo_id, "MODEL", "org/model", description="d")
    let after = c
        .add_variable(&id(), "MODEL", "org/model", Some("d"))
        .await
        .unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/variables",
        &[],
        json!({"key": "MODEL", "value": "org/model", "description": "d"}),
    );
    assert_eq!(after.len(), 2, "the full map after the change is read back");
    c.add_variable(&id(), "MODEL", "org/model", None)
        .await
        .unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/variables",
        &[],
        json!({"key": "MODEL", "value": "org/model"}),
    );
    // delete_space_variable(repo_id, "MODEL")
    c.delete_variable(&id(), "MODEL").await.unwrap();
    expect(
        &s.last(),
        "DELETE",
        "/api/spaces/alice/demo/variables",
        &[],
        json!({"key": "MODEL"}),
    );
    // get_space_variables(repo_id)
    c.variables(&id()).await.unwrap();
    expect(
        &s.last(),
        "GET",
        "/api/spaces/alice/demo/variables",
        &[],
        Value::Null,
    );
}

#[tokio::test]
async fn create_duplicate_delete() {
    let s = TestServer::start().await;
    let c = s.client();
    s.on("POST", "/api/repos/create", Reply::json(200, json!({"url": format!("{}/spaces/alice/demo", s.url), "name": "alice/demo", "id": "65f0c0ffee00000000000001"})));
    s.on(
        "POST",
        "/api/spaces/alice/demo/duplicate",
        Reply::json(
            200,
            json!({"url": format!("{}/spaces/bob/copy", s.url), "filesCopyPending": true}),
        ),
    );
    s.on("DELETE", "/api/repos/delete", Reply::text(200, "OK"));

    // create_repo("alice/demo", repo_type="space", space_sdk="gradio")
    let r = c
        .create(&id(), &CreateSpace::new(Sdk::Gradio))
        .await
        .unwrap();
    assert_eq!(r.url, format!("{}/spaces/alice/demo", s.url));
    expect(
        &s.last(),
        "POST",
        "/api/repos/create",
        &[],
        json!({"name": "demo", "organization": "alice", "type": "space", "sdk": "gradio"}),
    );
    // create_repo(..., private=True, space_sdk="docker", space_hardware="t4-small",
    //   space_sleep_time=3600, space_secrets=[...], space_variables=[...]) and 1.33.0's
    //   space_storage="small" (storageTier).
    let mut o = CreateSpace::new(Sdk::Docker);
    o.visibility = Some(Visibility::Private);
    o.hardware = Some(Flavor::T4Small);
    o.sleep_time = Some(SleepTime::Seconds(3600));
    o.storage = Some(StorageTier::Small);
    o.secrets = vec![NewSecret {
        key: "API_KEY".into(),
        value: Secret::new("s3cr3t"),
        description: Some("optional".into()),
    }];
    o.variables = vec![NewVariable {
        key: "MODEL_ID".into(),
        value: "org/model".into(),
        description: None,
    }];
    c.create(&id(), &o).await.unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/repos/create",
        &[],
        json!({"name": "demo", "organization": "alice", "visibility": "private", "type": "space",
               "sdk": "docker", "hardware": "t4-small", "sleepTimeSeconds": 3600,
               "storageTier": "small",
               "secrets": [{"key": "API_KEY", "value": "s3cr3t", "description": "optional"}],
               "variables": [{"key": "MODEL_ID", "value": "org/model"}]}),
    );
    assert!(
        !format!("{o:?}").contains("s3cr3t"),
        "secret values are not in Debug"
    );

    // duplicate_repo("alice/demo", to_id="bob/copy", repo_type="space", private=True,
    //   space_hardware="cpu-basic", space_sleep_time=-1 would warn; here 600)
    let d = DuplicateSpace {
        visibility: Some(Visibility::Private),
        hardware: Some(Flavor::CpuUpgrade),
        sleep_time: Some(SleepTime::Seconds(600)),
        ..DuplicateSpace::default()
    };
    let r = c
        .duplicate(&id(), &"bob/copy".parse().unwrap(), &d)
        .await
        .unwrap();
    assert!(r.files_copy_pending);
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/duplicate",
        &[],
        json!({"repository": "bob/copy", "visibility": "private", "hardware": "cpu-upgrade", "sleepTimeSeconds": 600}),
    );
    c.duplicate(
        &id(),
        &"bob/copy".parse().unwrap(),
        &DuplicateSpace::default(),
    )
    .await
    .unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/duplicate",
        &[],
        json!({"repository": "bob/copy"}),
    );

    // delete_repo("alice/demo", repo_type="space"): DELETE with a JSON body.
    c.delete(&id(), false).await.unwrap();
    expect(
        &s.last(),
        "DELETE",
        "/api/repos/delete",
        &[],
        json!({"name": "demo", "organization": "alice", "type": "space"}),
    );
}

#[tokio::test]
async fn list_info_at_logs_whoami() {
    let s = TestServer::start().await;
    let c = s.client();
    s.on("GET", "/api/spaces", Reply::json(200, json!([])));
    s.on(
        "GET",
        "/api/spaces/alice/demo/revision/refs%2Fpr%2F1",
        Reply::fixture(200, "space_info.json"),
    );
    s.on("GET", "/api/spaces/alice/demo/logs/run", Reply::sse(""));
    s.on(
        "GET",
        "/api/whoami-v2",
        Reply::json(200, json!({"name": "alice"})),
    );
    // list_spaces(author="alice", search="demo", limit=5, filter="gradio", sort="likes",
    //   expand=["likes", "runtime"], full=True): repeated keys for lists, booleans as `true`.
    let q = ListSpaces {
        author: Some("alice".into()),
        search: Some("demo".into()),
        filter: vec!["gradio".into()],
        sort: Some("likes".into()),
        limit: Some(5),
        expand: vec!["likes".into(), "runtime".into()],
        full: true,
    };
    let _: Vec<_> = c.list(&q).collect().await;
    expect(
        &s.last(),
        "GET",
        "/api/spaces",
        &[
            ("filter", "gradio"),
            ("author", "alice"),
            ("search", "demo"),
            ("sort", "likes"),
            ("limit", "5"),
            ("expand", "likes"),
            ("expand", "runtime"),
            ("full", "true"),
        ],
        Value::Null,
    );
    // space_info(repo_id, revision="refs/pr/1", files_metadata=True): quote(rev, safe='').
    c.info_at(&id(), "refs/pr/1", true, &[]).await.unwrap();
    let r = s.last();
    assert_eq!(r.path, "/api/spaces/alice/demo/revision/refs%2Fpr%2F1");
    assert_eq!(r.query, vec![("blobs".to_owned(), "true".to_owned())]);
    // fetch_space_logs(repo_id): GET /logs/run, no query, no body.
    let _: Vec<_> = c.logs(&id(), LogKind::Run, false).collect().await;
    expect(
        &s.last(),
        "GET",
        "/api/spaces/alice/demo/logs/run",
        &[],
        Value::Null,
    );
    // whoami()
    c.whoami().await.unwrap();
    expect(&s.last(), "GET", "/api/whoami-v2", &[], Value::Null);
}

#[tokio::test]
async fn dev_mode_volumes_settings_and_the_offer() {
    let s = TestServer::start().await;
    let c = s.client();
    s.on(
        "POST",
        "/api/spaces/alice/demo/dev-mode",
        Reply::fixture(200, "runtime_paid.json"),
    );
    s.on(
        "PUT",
        "/api/spaces/alice/demo/volumes",
        Reply::json(200, json!({})),
    );
    s.on(
        "DELETE",
        "/api/spaces/alice/demo/volumes",
        Reply::json(200, json!({})),
    );
    s.on(
        "PUT",
        "/api/spaces/alice/demo/settings",
        Reply::json(200, json!({"visibility": "private"})),
    );
    s.on(
        "GET",
        "/api/spaces/hardware",
        Reply::json(200, json!([
            {"name": "cpu-basic", "prettyName": "CPU basic", "cpu": "2 vCPU", "ram": "16 GB",
             "accelerator": null, "unitCostMicroUSD": 0, "unitCostUSD": 0.0, "unitLabel": "minute"},
            {"name": "h200x8", "prettyName": "8x H200", "cpu": "192 vCPU", "ram": "2 TB",
             "accelerator": {"type": "gpu", "model": "H200", "quantity": "8", "vram": "1128 GB", "manufacturer": "Nvidia"},
             "unitCostMicroUSD": 666667, "unitCostUSD": 0.666667, "unitLabel": "minute"}])),
    );
    s.on(
        "GET",
        "/api/spaces/templates",
        Reply::json(200, json!({"templates": [{"name": "JupyterLab", "repoId": "SpacesExamples/jupyterlab", "sdk": "docker", "preferredPrivate": true}]})),
    );
    s.on(
        "GET",
        "/api/spaces/zero-gpu/quota",
        Reply::json(200, json!({"base": 300, "current": 120, "resetsAt": "2026-11-30T00:00:00Z", "runs": {"used": 1}})),
    );
    // enable_space_dev_mode / disable_space_dev_mode
    c.set_dev_mode(&id(), true).await.unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/dev-mode",
        &[],
        json!({"enabled": true}),
    );
    c.set_dev_mode(&id(), false).await.unwrap();
    expect(
        &s.last(),
        "POST",
        "/api/spaces/alice/demo/dev-mode",
        &[],
        json!({"enabled": false}),
    );
    // set_space_volumes(repo_id, [Volume(type="bucket", source="alice/data", mount_path="/data")])
    let v: spaces_client::Volume = serde_json::from_value(
        json!({"type": "bucket", "source": "alice/data", "mountPath": "/data"}),
    )
    .unwrap();
    c.set_volumes(&id(), &[v]).await.unwrap();
    expect(
        &s.last(),
        "PUT",
        "/api/spaces/alice/demo/volumes",
        &[],
        json!({"volumes": [{"type": "bucket", "source": "alice/data", "mountPath": "/data"}]}),
    );
    c.delete_volumes(&id()).await.unwrap();
    expect(
        &s.last(),
        "DELETE",
        "/api/spaces/alice/demo/volumes",
        &[],
        Value::Null,
    );
    // update_repo_settings(repo_id, repo_type="space", private=True)
    c.set_visibility(&id(), Visibility::Private).await.unwrap();
    expect(
        &s.last(),
        "PUT",
        "/api/spaces/alice/demo/settings",
        &[],
        json!({"visibility": "private"}),
    );
    // list_spaces_hardware(): prices from the integer micro-dollars, exactly.
    let offer = c.hardware_offer().await.unwrap();
    expect(&s.last(), "GET", "/api/spaces/hardware", &[], Value::Null);
    assert_eq!(offer[0].name, Flavor::CpuBasic);
    assert_eq!(offer[1].name.as_str(), "h200x8");
    assert_eq!(offer[1].unit_cost_usd().unwrap().to_string(), "0.666667");
    assert_eq!(offer[1].accelerator.as_ref().unwrap()["model"], "H200");
    // list_space_templates()
    let t = c.templates().await.unwrap();
    expect(&s.last(), "GET", "/api/spaces/templates", &[], Value::Null);
    assert_eq!(t[0].repo_id, "SpacesExamples/jupyterlab");
    assert!(t[0].preferred_private);
    // get_zero_gpu_quota()
    let q = c.zero_gpu_quota().await.unwrap();
    expect(
        &s.last(),
        "GET",
        "/api/spaces/zero-gpu/quota",
        &[],
        Value::Null,
    );
    assert_eq!(q.remaining.unwrap().as_u64(), Some(120));
    assert!(q.resets_at.is_some());
    assert_eq!(q.raw["runs"]["used"], 1);
}
