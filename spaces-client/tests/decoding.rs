//! Decoding the Hub's recorded shapes (hub-api.md §6, the official client's cassettes), served
//! by the loopback `TestServer`: unknown keys kept, `gcTimeout: null`, unknown flavors, stages,
//! SDKs and tiers kept, secrets without values, `Link` pagination, SSE logs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod test_server;

use futures_util::StreamExt;
use serde_json::json;
use spaces_client::{ListSpaces, LogKind, SleepTime, SpaceId, Wire};
use spaces_core::{Flavor, Sdk, Stage, StorageTier};
use test_server::{fixture, Reply, TestServer};

fn id() -> SpaceId {
    "alice/demo".parse().unwrap()
}

#[tokio::test]
async fn runtimes_of_every_recorded_shape() {
    let s = TestServer::start().await;
    let c = s.client();
    let path = "/api/spaces/alice/demo/runtime";

    s.on("GET", path, Reply::fixture(200, "runtime_new_gradio.json"));
    let rt = c.runtime(&id()).await.unwrap();
    assert_eq!(rt.stage, Stage::Building);
    assert!(rt.is_intermediate());
    assert_eq!(rt.hardware, None);
    assert_eq!(rt.requested_hardware, Some(Flavor::CpuBasic));
    assert_eq!(rt.sleep_time, Some(SleepTime::Seconds(172_800)));
    assert_eq!(rt.storage, None);
    assert!(!rt.dev_mode);
    assert_eq!(rt.replicas.unwrap().requested, Some(1));
    assert_eq!(rt.replicas.unwrap().current, None);
    assert_eq!(rt.domains[0].domain, "alice-demo.hf.space");
    assert_eq!(rt.domains[0].stage.as_deref(), Some("READY"));
    assert_eq!(rt.raw, fixture("runtime_new_gradio.json"));

    s.clear();
    s.on("GET", path, Reply::fixture(200, "runtime_static.json"));
    let rt = c.runtime(&id()).await.unwrap();
    assert_eq!(rt.stage, Stage::Running);
    assert_eq!((rt.hardware, rt.requested_hardware), (None, None));
    assert_eq!(
        rt.sleep_time, None,
        "absent gcTimeout (static) is no sleep time at all"
    );
    assert_eq!(rt.replicas.unwrap().current, Some(1));

    s.clear();
    s.on("GET", path, Reply::fixture(200, "runtime_paid.json"));
    let rt = c.runtime(&id()).await.unwrap();
    assert_eq!(rt.stage, Stage::RunningBuilding);
    assert_eq!(rt.hardware, Some(Flavor::CpuBasic));
    assert_eq!(rt.requested_hardware, Some(Flavor::T4Medium));
    assert_eq!(rt.hardware_pretty_name.as_deref(), Some("CPU basic"));
    assert_eq!(
        rt.requested_hardware_pretty_name.as_deref(),
        Some("Nvidia T4 - medium")
    );
    assert_eq!(rt.storage, Some(Wire::Known(StorageTier::Small)));
    assert_eq!(rt.sleep_time, Some(SleepTime::Seconds(3600)));
    assert!(rt.dev_mode);
    let hot = rt.hot_reloading.as_ref().unwrap();
    assert_eq!(hot.status, "created");
    assert_eq!(
        hot.replica_statuses,
        vec![("r1".into(), Some("created".into())), ("r2".into(), None)]
    );
    assert_eq!(rt.volumes.len(), 1);
    assert_eq!(rt.volumes[0].kind, "bucket");
    assert_eq!(rt.volumes[0].mount_path, "/data");
    assert_eq!(rt.volumes[0].read_only, Some(false));
    assert_eq!(rt.sdk, Some(Wire::Known(Sdk::Gradio)));
    assert_eq!(rt.sdk_version.as_deref(), Some("5.0.0"));
    assert_eq!(rt.error_message, None);
    assert_eq!(rt.resources.as_ref().unwrap()["requests"]["gpuModel"], "T4");

    // Values from the future: kept, never an error; `gcTimeout: null` is "never sleeps".
    s.clear();
    s.on("GET", path, Reply::fixture(200, "runtime_future.json"));
    let rt = c.runtime(&id()).await.unwrap();
    assert_eq!(rt.stage, Stage::Unknown("HIBERNATING".into()));
    assert!(!rt.is_intermediate());
    assert_eq!(rt.hardware.as_ref().unwrap().as_str(), "h200x8");
    assert!(!rt.hardware.as_ref().unwrap().is_known());
    assert_eq!(rt.storage, Some(Wire::Other("xlarge".into())));
    assert_eq!(rt.sdk, Some(Wire::Other("marimo".into())));
    assert_eq!(rt.sleep_time, Some(SleepTime::Never));
    assert_eq!(rt.raw["someNewKey"]["nested"][2], 3);
    // Serializing gives back the object as received.
    assert_eq!(
        serde_json::to_value(&rt).unwrap(),
        fixture("runtime_future.json")
    );

    s.clear();
    s.on("GET", path, Reply::fixture(200, "runtime_build_error.json"));
    let rt = c.runtime(&id()).await.unwrap();
    assert_eq!(rt.stage, Stage::BuildError);
    assert_eq!(
        rt.error_message.as_deref(),
        Some("Build failed with exit code: 1")
    );
}

#[tokio::test]
async fn space_info_with_extra_keys() {
    let s = TestServer::start().await;
    s.on(
        "GET",
        "/api/spaces/alice/demo",
        Reply::fixture(200, "space_info.json"),
    );
    let info = s.client().info(&id()).await.unwrap();
    assert_eq!(info.id, id());
    assert_eq!(info.author.as_deref(), Some("alice"));
    assert_eq!(info.sdk, Some(Wire::Known(Sdk::Gradio)));
    assert_eq!(info.private, Some(false));
    assert_eq!(info.likes, Some(3));
    assert_eq!(info.used_storage, Some(12_345));
    assert_eq!(info.tags, vec!["gradio", "region:us"]);
    assert_eq!(info.models, vec!["org/model"]);
    assert_eq!(info.created_at.unwrap().to_string(), "2025-01-01T00:00:00Z");
    let siblings = info.siblings.as_ref().unwrap();
    assert_eq!(siblings.len(), 3);
    assert_eq!(siblings[2].size, Some(120));
    assert_eq!(info.card_data.as_ref().unwrap()["emoji"], "🚀");
    assert_eq!(info.runtime.as_ref().unwrap().stage, Stage::Running);
    assert_eq!(info.raw["likesRecent"], 1, "unknown keys are kept");
    assert_eq!(info.host.as_deref(), Some("https://alice-demo.hf.space"));
}

#[tokio::test]
async fn secrets_have_no_values_and_variables_do() {
    let s = TestServer::start().await;
    s.on(
        "GET",
        "/api/spaces/alice/demo/secrets",
        Reply::fixture(200, "secrets.json"),
    );
    s.on(
        "GET",
        "/api/spaces/alice/demo/variables",
        Reply::fixture(200, "variables.json"),
    );
    let c = s.client();
    let secrets = c.secrets(&id()).await.unwrap();
    assert_eq!(secrets.len(), 2);
    assert_eq!(secrets[0].key, "API_KEY");
    assert_eq!(secrets[0].description.as_deref(), Some("the key"));
    assert_eq!(secrets[1].key, "OTHER");
    assert_eq!(secrets[1].description, None);
    assert!(secrets[1].updated_at.is_some());
    let vars = c.variables(&id()).await.unwrap();
    assert_eq!(vars.len(), 2);
    assert_eq!(vars[0].key, "MODEL_PAPER");
    assert_eq!(vars[0].value, "arXiv");
    assert_eq!(vars[0].description.as_deref(), Some("found it there"));
    assert_eq!(vars[1].key, "MODEL_REPO_ID");
    assert_eq!(vars[1].description, None);
    // A fresh Space: `{}`.
    s.clear();
    s.on(
        "GET",
        "/api/spaces/alice/demo/variables",
        Reply::json(200, json!({})),
    );
    assert!(c.variables(&id()).await.unwrap().is_empty());
}

#[tokio::test]
async fn list_follows_link_pagination_and_stops_at_limit() {
    let s = TestServer::start().await;
    let next = format!(
        "<{}/api/spaces?author=alice&cursor=abc>; rel=\"next\"",
        s.url
    );
    s.on(
        "GET",
        "/api/spaces",
        Reply::fixture(200, "list_page1.json").header("link", &next),
    );
    s.on("GET", "/api/spaces", Reply::fixture(200, "list_page2.json"));
    let c = s.client();
    let query = ListSpaces {
        author: Some("alice".into()),
        ..ListSpaces::default()
    };
    let all: Vec<_> = c.list(&query).collect().await;
    let ids: Vec<String> = all.into_iter().map(|r| r.unwrap().id.to_string()).collect();
    assert_eq!(ids, ["alice/one", "alice/two", "alice/three"]);
    let reqs = s.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].query,
        vec![("author".to_owned(), "alice".to_owned())]
    );
    assert_eq!(
        reqs[1].query,
        vec![
            ("author".to_owned(), "alice".to_owned()),
            ("cursor".to_owned(), "abc".to_owned())
        ]
    );

    // `limit` is sent and also caps what the stream yields: one page is enough.
    s.clear();
    s.on(
        "GET",
        "/api/spaces",
        Reply::fixture(200, "list_page1.json").header("link", &next),
    );
    let query = ListSpaces {
        limit: Some(1),
        ..ListSpaces::default()
    };
    let got: Vec<_> = c.list(&query).collect().await;
    assert_eq!(got.len(), 1);
    assert_eq!(s.requests().len(), 1);
}

#[tokio::test]
async fn logs_parse_data_events_and_skip_keep_alives() {
    let s = TestServer::start().await;
    let body = "data: {\"data\": \"Step 1/3\\n\", \"timestamp\": \"2025-03-07T12:00:00Z\"}\n\n\
                data: \n\n\
                : keep-alive comment\n\n\
                data: {\"data\": \"Step 2/3\\n\", \"timestamp\": \"2025-03-07T12:00:01Z\"}\n\n\
                data: not json\n\n";
    s.on("GET", "/api/spaces/alice/demo/logs/build", Reply::sse(body));
    let lines: Vec<_> = s
        .client()
        .logs(&id(), LogKind::Build, false)
        .collect()
        .await;
    let lines: Vec<_> = lines.into_iter().map(|l| l.unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].text, "Step 1/3\n");
    assert_eq!(
        lines[1].timestamp.unwrap().to_string(),
        "2025-03-07T12:00:01Z"
    );
    let r = s.last();
    assert_eq!(r.path, "/api/spaces/alice/demo/logs/build");
    assert!(r.query.is_empty(), "no-follow sends no query");
}
