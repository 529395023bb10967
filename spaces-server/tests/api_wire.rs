//! The Hub's JSON shapes: runtime (gcTimeout always present), info, hardware list with exact
//! prices, list pagination, variables maps, duplicate, logs as SSE, the billing view, and the
//! OpenAPI document covering every route.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_common;

use api_common::env;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn runtime_and_info_have_the_hub_shape() {
    let e = env().await;
    let r = e.create(json!({"name": "site", "type": "space", "sdk": "static", "short_description": "A site"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rt = e.wait("alice/site", None).await;
    assert_eq!(rt["stage"], "RUNNING", "{rt}");
    assert_eq!(rt["hardware"], json!({"current": null, "requested": null}));
    assert_eq!(rt["gcTimeout"], Value::Null);
    assert_eq!(rt["devMode"], false);
    assert_eq!(rt["domains"][0]["domain"], "alice-site.hub.test");
    assert_eq!(rt["sdk"], "static");
    let info = e.get("/api/spaces/alice/site", None).await.body;
    for key in [
        "_id",
        "id",
        "author",
        "sha",
        "createdAt",
        "lastModified",
        "private",
        "gated",
        "disabled",
        "likes",
        "sdk",
        "tags",
        "subdomain",
        "host",
        "cardData",
        "siblings",
        "runtime",
    ] {
        assert!(info.get(key).is_some(), "{key} missing: {info}");
    }
    assert_eq!(info["cardData"]["short_description"], "A site");
    let files: Vec<&str> = info["siblings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rfilename"].as_str().unwrap())
        .collect();
    assert_eq!(files, [".gitattributes", "README.md", "index.html"]);
    let sha = info["sha"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 40);
    // Revisions: HEAD, main, the sha; another is RevisionNotFound. expand[] is accepted.
    for rev in ["HEAD", "main", sha.as_str()] {
        let r = e
            .get(
                &format!("/api/spaces/alice/site/revision/{rev}?expand[]=likes&expand=sdk"),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{rev}");
    }
    let r = e
        .get("/api/spaces/alice/site/revision/0000000000", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("x-error-code"), Some("RevisionNotFound"));

    // A gradio Space on cpu-basic: 48 h; on paid hardware: null (never) unless set.
    e.create(json!({"name": "g", "type": "space", "sdk": "gradio"}))
        .await;
    let rt = e.get("/api/spaces/alice/g/runtime", None).await.body;
    assert_eq!(rt["gcTimeout"], 172800);
    assert_eq!(rt["hardware"]["requested"], "cpu-basic");
    let rt = e
        .post(
            "/api/spaces/alice/g/hardware",
            Some(&e.alice),
            json!({"flavor": "cpu-upgrade"}),
        )
        .await
        .body;
    assert_eq!(rt["hardware"]["requested"], "cpu-upgrade");
    assert!(
        rt.get("gcTimeout").is_some() && rt["gcTimeout"].is_null(),
        "{rt}"
    );
    let rt = e
        .post(
            "/api/spaces/alice/g/sleeptime",
            Some(&e.alice),
            json!({"seconds": 3600}),
        )
        .await
        .body;
    assert_eq!(rt["gcTimeout"], 3600);
    let rt = e
        .post(
            "/api/spaces/alice/g/sleeptime",
            Some(&e.alice),
            json!({"seconds": -1}),
        )
        .await
        .body;
    assert!(rt["gcTimeout"].is_null());
    // Hardware no backend here gives: recorded as requested, errorMessage says why.
    let rt = e
        .post(
            "/api/spaces/alice/g/hardware",
            Some(&e.alice),
            json!({"flavor": "t4-small", "sleepTime": 600}),
        )
        .await;
    assert_eq!(rt.status, StatusCode::OK, "{}", rt.text);
    assert_eq!(rt.body["hardware"]["requested"], "t4-small");
    assert_eq!(rt.body["gcTimeout"], 600);
}

#[tokio::test]
async fn hardware_list_has_exact_prices() {
    let e = env().await;
    let r = e.get("/api/spaces/hardware", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let t4 = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "t4-small")
        .unwrap()
        .clone();
    // 0.06 $/h = 0.001 $/min = 1000 micro-dollars a minute.
    assert_eq!(t4["unitCostMicroUSD"], 1000);
    assert!(r.text.contains(r#""unitCostUSD":0.001"#), "{}", r.text);
    assert_eq!(t4["unitLabel"], "minute");
    assert_eq!(t4["accelerator"]["model"], "T4");
    let basic = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "cpu-basic")
        .unwrap()
        .clone();
    assert!(basic["accelerator"].is_null());
}

#[tokio::test]
async fn lists_are_paginated_with_link() {
    let e = env().await;
    for i in 0..5 {
        let r = e
            .create(json!({"name": format!("s{i}"), "type": "space", "sdk": "static"}))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    e.post(
        "/api/repos/create",
        Some(&e.bob),
        json!({"name": "other-one", "type": "space", "sdk": "static"}),
    )
    .await;
    let mut seen = Vec::new();
    let mut uri = "/api/spaces?author=alice&limit=2".to_owned();
    loop {
        let r = e.get(&uri, None).await;
        assert_eq!(r.status, StatusCode::OK);
        seen.extend(
            r.body
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_str().unwrap().to_owned()),
        );
        match r.header("link") {
            Some(link) => {
                let url = link.trim_start_matches('<').split('>').next().unwrap();
                uri = url.trim_start_matches("http://hub.test:8080").to_owned();
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["alice/s0", "alice/s1", "alice/s2", "alice/s3", "alice/s4"]
    );
    let r = e.get("/api/spaces?search=OTHER", None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = e.get("/api/spaces?sort=createdAt&limit=2", None).await;
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    assert!(r.header("link").unwrap().contains("cursor=o%3A2"));
    assert_eq!(
        e.get("/api/spaces?limit=-1", None).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn variables_answer_the_full_map_and_duplicates_copy_them() {
    let e = env().await;
    e.create(json!({"name": "src", "type": "space", "sdk": "static",
        "variables": [{"key": "MODEL", "value": "org/model", "description": "which model"}],
        "secrets": [{"key": "TOKEN", "value": "x"}]}))
        .await;
    let r = e.get("/api/spaces/alice/src/variables", None).await;
    assert_eq!(r.body["MODEL"]["value"], "org/model");
    assert_eq!(r.body["MODEL"]["description"], "which model");
    let r = e
        .post(
            "/api/spaces/alice/src/variables",
            Some(&e.alice),
            json!({"key": "B", "value": "2"}),
        )
        .await;
    assert_eq!(r.body.as_object().unwrap().len(), 2);
    assert!(r.body["B"].get("description").is_none());
    assert_eq!(r.body["B"]["key"], "B");
    let r = e
        .call(
            Method::DELETE,
            "/api/spaces/alice/src/variables",
            Some(&e.alice),
            Some(json!({"key": "B"})),
        )
        .await;
    assert_eq!(r.body.as_object().unwrap().len(), 1);
    let r = e
        .call(
            Method::DELETE,
            "/api/spaces/alice/src/variables",
            Some(&e.alice),
            Some(json!({"key": "NOPE"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // bob duplicates it: files and variables come, secrets do not; private by default.
    let r = e
        .post(
            "/api/spaces/alice/src/duplicate",
            Some(&e.bob),
            json!({"repository": "bob/copy"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["url"], "http://hub.test:8080/spaces/bob/copy");
    assert_eq!(r.body["filesCopyPending"], false);
    let info = e.get("/api/spaces/bob/copy", Some(&e.bob)).await.body;
    assert_eq!(info["private"], true);
    assert_eq!(info["siblings"].as_array().unwrap().len(), 3);
    assert_eq!(
        e.get("/api/spaces/bob/copy", None).await.status,
        StatusCode::NOT_FOUND
    );
    let vars = e
        .get("/api/spaces/bob/copy/variables", Some(&e.bob))
        .await
        .body;
    assert_eq!(vars["MODEL"]["value"], "org/model");
    assert_eq!(
        e.get("/api/spaces/bob/copy/secrets", Some(&e.bob))
            .await
            .body,
        json!({})
    );
    let again = e
        .post(
            "/api/spaces/alice/src/duplicate",
            Some(&e.bob),
            json!({"repository": "bob/copy"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["url"], "http://hub.test:8080/spaces/bob/copy");
}

#[tokio::test]
async fn logs_are_server_sent_events() {
    let e = env().await;
    e.create(json!({"name": "site", "type": "space", "sdk": "static"}))
        .await;
    e.wait("alice/site", None).await;
    let r = e
        .get("/api/spaces/alice/site/logs/build", Some(&e.alice))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let events: Vec<Value> = r
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(!events.is_empty(), "{}", r.text);
    assert!(events
        .iter()
        .all(|e| e["data"].is_string() && e["timestamp"].is_string()));
    let r = e
        .get("/api/spaces/alice/site/logs/run", Some(&e.alice))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        e.get("/api/spaces/alice/site/logs/other", Some(&e.alice))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn billing_view_gives_the_month_invoice() {
    let e = env().await;
    e.create(json!({"name": "g", "type": "space", "sdk": "docker", "storageTier": "small"}))
        .await;
    let now = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    let r = e
        .get(&format!("/api/billing/alice/{now}"), Some(&e.alice))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["period"], now.as_str());
    assert_eq!(r.body["currency"], "USD");
    assert_eq!(r.body["lines"][0]["item"], "storage/small", "{}", r.text);
    assert!(r.body["total"].as_str().unwrap().contains('.'));
    assert_eq!(
        e.get(&format!("/api/billing/alice/{now}"), Some(&e.bob))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        e.get("/api/billing/alice/2026-13", Some(&e.alice))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        e.get(&format!("/api/billing/alice/{now}"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let e = env().await;
    let doc = e.get("/openapi.json", None).await.body;
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/api/repos/create", "post"),
        ("/api/repos/delete", "delete"),
        ("/api/spaces", "get"),
        ("/api/spaces/hardware", "get"),
        ("/api/spaces/{namespace}/{name}", "get"),
        ("/api/spaces/{namespace}/{name}/revision/{revision}", "get"),
        ("/api/spaces/{namespace}/{name}/runtime", "get"),
        ("/api/spaces/{namespace}/{name}/hardware", "post"),
        ("/api/spaces/{namespace}/{name}/sleeptime", "post"),
        ("/api/spaces/{namespace}/{name}/pause", "post"),
        ("/api/spaces/{namespace}/{name}/restart", "post"),
        ("/api/spaces/{namespace}/{name}/storage", "post"),
        ("/api/spaces/{namespace}/{name}/storage", "delete"),
        ("/api/spaces/{namespace}/{name}/secrets", "get"),
        ("/api/spaces/{namespace}/{name}/secrets", "post"),
        ("/api/spaces/{namespace}/{name}/secrets", "delete"),
        ("/api/spaces/{namespace}/{name}/variables", "get"),
        ("/api/spaces/{namespace}/{name}/variables", "post"),
        ("/api/spaces/{namespace}/{name}/variables", "delete"),
        ("/api/spaces/{namespace}/{name}/duplicate", "post"),
        (
            "/api/spaces/{namespace}/{name}/preupload/{revision}",
            "post",
        ),
        ("/api/spaces/{namespace}/{name}/commit/{revision}", "post"),
        ("/api/spaces/{namespace}/{name}/tree/{revision}", "get"),
        (
            "/api/spaces/{namespace}/{name}/tree/{revision}/{path}",
            "get",
        ),
        (
            "/api/spaces/{namespace}/{name}/paths-info/{revision}",
            "post",
        ),
        ("/api/spaces/{namespace}/{name}/logs/{kind}", "get"),
        ("/api/spaces/{namespace}/{name}/settings", "put"),
        ("/api/whoami-v2", "get"),
        ("/api/validate-yaml", "post"),
        (
            "/api/spaces/{namespace}/{name}/xet-write-token/{revision}",
            "get",
        ),
        (
            "/api/spaces/{namespace}/{name}/xet-read-token/{revision}",
            "get",
        ),
        ("/api/billing/{namespace}/{period}", "get"),
        ("/openapi.json", "get"),
    ];
    for (path, method) in expected {
        let op = &paths.get(path).unwrap_or_else(|| panic!("{path} missing"))[method];
        assert!(op.is_object(), "{method} {path} missing");
        for code in ["200", "401", "429"] {
            assert!(
                op["responses"].get(code).is_some(),
                "{method} {path}: no {code}"
            );
        }
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/").skip(1) {
        let reference = part.split('"').next().unwrap();
        let mut node = &doc["components"];
        for seg in reference.split('/') {
            node = &node[seg];
        }
        assert!(!node.is_null(), "unresolved {reference}");
    }
}
