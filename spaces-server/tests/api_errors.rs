//! Errors like the Hub's: status codes, `X-Error-Code`, `X-Error-Message`, JSON `error`,
//! `X-Request-Id` everywhere, 409 with `url`, 429 with `Retry-After`, and no state change from
//! a malformed request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_common;

use api_common::{env, env_with};
use axum::http::{Method, StatusCode};
use serde_json::json;
use spaces_server::Limits;

#[tokio::test]
async fn missing_spaces_are_repo_not_found_with_a_request_id() {
    let e = env().await;
    for uri in [
        "/api/spaces/alice/nope",
        "/api/spaces/alice/nope/runtime",
        "/api/spaces/-bad/x",
    ] {
        let r = e.get(uri, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(r.header("x-error-code"), Some("RepoNotFound"), "{uri}");
        assert!(r.body["error"].as_str().unwrap().contains("not found"));
        assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
    }
    // An unknown route: 404 too, JSON error, a request id; the caller's id is echoed.
    let r = e
        .raw(
            Method::GET,
            "/no/such/route",
            None,
            None,
            &[("x-request-id", "abc-123")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    assert!(r.body["error"].is_string());
    // A wrong method.
    let r = e
        .call(Method::PUT, "/api/spaces/hardware", None, None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.header("x-error-message").is_some() && r.header("x-request-id").is_some());
}

#[tokio::test]
async fn bad_tokens_are_401_everywhere_and_no_token_is_401_on_mutations() {
    let e = env().await;
    for uri in [
        "/api/spaces/hardware",
        "/api/spaces",
        "/api/whoami-v2",
        "/openapi.json",
    ] {
        let r = e.get(uri, Some("hf_not_a_token")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            r.header("x-error-message"),
            Some(spaces_server::INVALID_CREDENTIALS)
        );
    }
    let r = e
        .raw(
            Method::GET,
            "/api/spaces",
            None,
            None,
            &[("authorization", "Basic abc")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = e
        .post(
            "/api/repos/create",
            None,
            json!({"name": "x", "type": "space", "sdk": "static"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_ne!(
        r.header("x-error-message"),
        Some(spaces_server::INVALID_CREDENTIALS)
    );
    let r = e.get("/api/whoami-v2", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_and_changes_nothing() {
    let e = env().await;
    let bad = e
        .raw(
            Method::POST,
            "/api/repos/create",
            Some(&e.alice),
            Some(b"{not json".to_vec()),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body["error"].as_str().unwrap().contains("JSON"));
    let cases = [
        (
            json!({"name": "a", "type": "space", "sdk": "gradio", "hardware": "h999"}),
            "hardware",
        ),
        (
            json!({"name": "a", "type": "space", "sdk": "gradio", "sleepTimeSeconds": 600}),
            "cpu-basic",
        ),
        (json!({"name": "a", "type": "space", "sdk": "cobol"}), "sdk"),
        (json!({"name": "a", "type": "space"}), "sdk"),
        (
            json!({"name": "a--b", "type": "space", "sdk": "static"}),
            "name",
        ),
        (
            json!({"name": "a", "type": "model", "sdk": "static"}),
            "type",
        ),
        (
            json!({"name": "a", "type": "space", "sdk": "static", "private": "maybe"}),
            "private",
        ),
        (
            json!({"name": "a", "type": "space", "sdk": "gradio", "secrets": [{"key": "OK", "value": "v"}, {"key": "1bad", "value": "v"}]}),
            "secrets",
        ),
        (
            json!({"name": "a", "type": "space", "sdk": "gradio", "variables": [{"key": "V"}]}),
            "variables[0].value",
        ),
        (
            json!({"name": "a", "type": "space", "sdk": "static", "files": [{"path": "../x", "content": ""}]}),
            "files[0].path",
        ),
        (
            json!({"name": "a", "type": "space", "sdk": "static", "volumes": [{"type": "bucket", "source": "a/b", "mountPath": "/d"}]}),
            "volumes",
        ),
        (
            json!({"name": "a", "type": "space", "sdk": "static", "hardware": "t4-small"}),
            "tatic",
        ),
    ];
    for (body, field) in cases {
        let r = e.create(body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        let message = r.header("x-error-message").unwrap().to_owned();
        assert!(message.contains(field), "{body}: {message}");
        assert_eq!(r.body["error"].as_str(), Some(message.as_str()));
    }
    // Nothing was created by any of them.
    assert_eq!(e.server.supervisor().len(), 0);
    let list = e.get("/api/spaces", Some(&e.alice)).await;
    assert_eq!(list.body, json!([]));
}

#[tokio::test]
async fn create_twice_is_409_with_the_url_and_runtime_errors_are_400() {
    let e = env().await;
    let body = json!({"name": "demo", "organization": null, "type": "space", "sdk": "static"});
    let r = e.create(body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["url"], "http://hub.test:8080/spaces/alice/demo");
    assert_eq!(r.body["name"], "alice/demo");
    assert_eq!(r.body["id"].as_str().unwrap().len(), 24);
    let again = e.create(body).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["url"], "http://hub.test:8080/spaces/alice/demo");
    assert!(again.body["error"].is_string());
    // Runtime controls on a static Space: 400.
    for path in ["pause", "restart"] {
        let r = e
            .post(
                &format!("/api/spaces/alice/demo/{path}"),
                Some(&e.alice),
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
    }
    let r = e
        .post(
            "/api/spaces/alice/demo/hardware",
            Some(&e.alice),
            json!({"flavor": "cpu-upgrade"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Offered nowhere: 400 with a message, never 500.
    for (m, path) in [
        (Method::POST, "dev-mode"),
        (Method::PUT, "volumes"),
        (Method::DELETE, "volumes"),
        (Method::POST, "replicas"),
    ] {
        let r = e
            .call(
                m,
                &format!("/api/spaces/alice/demo/{path}"),
                Some(&e.alice),
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(r.header("x-error-message").unwrap().contains("not offered"));
    }
}

#[tokio::test]
async fn storage_is_upgrade_only_and_sleep_time_is_refused_on_cpu_basic() {
    let e = env().await;
    let r = e
        .create(json!({"name": "g", "type": "space", "sdk": "docker"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = e
        .post(
            "/api/spaces/alice/g/storage",
            Some(&e.alice),
            json!({"tier": "medium"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["storage"], "medium");
    let r = e
        .post(
            "/api/spaces/alice/g/storage",
            Some(&e.alice),
            json!({"tier": "small"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r
        .header("x-error-message")
        .unwrap()
        .contains("upgrade-only"));
    let r = e
        .post(
            "/api/spaces/alice/g/sleeptime",
            Some(&e.alice),
            json!({"seconds": 600}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.header("x-error-message").unwrap().contains("cpu-basic"));
    let r = e
        .call(
            Method::DELETE,
            "/api/spaces/alice/g/storage",
            Some(&e.alice),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["storage"], serde_json::Value::Null);
    let r = e
        .call(
            Method::DELETE,
            "/api/spaces/alice/g/storage",
            Some(&e.alice),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rate_limit_is_429_with_retry_after_and_bodies_have_a_limit() {
    let e = env_with(Limits {
        rate_per_second: 1,
        rate_burst: 2,
        body_bytes: 1024,
        ..Limits::default()
    })
    .await;
    let mut limited = None;
    for _ in 0..5 {
        let r = e.get("/api/spaces/hardware", Some(&e.alice)).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("a 429 after the burst");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    assert!(r.header("x-request-id").is_some());
    assert!(r.body["error"].is_string());
    // Another token is not limited by alice's use.
    assert_eq!(
        e.get("/api/spaces/hardware", Some(&e.bob)).await.status,
        StatusCode::OK
    );
    let big = vec![b' '; 4096];
    let r = e
        .raw(
            Method::POST,
            "/api/repos/create",
            Some(&e.bob),
            Some(big),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(r.body["error"].is_string());
}
