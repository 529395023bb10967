//! Identity and access: private Spaces are 404 to others (never 403), read tokens cannot
//! mutate, non-members get 403 on public Spaces, organisation members act for the
//! organisation, secrets are write-only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_common;

use api_common::env;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn private_spaces_are_hidden_from_everyone_but_owners_and_members() {
    let e = env().await;
    let r = e
        .create(json!({"name": "secret-app", "organization": "acme", "type": "space", "sdk": "static", "private": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = "acme/secret-app";
    // Anonymous, and bob (not a member): 404 RepoNotFound everywhere, mutations included.
    for token in [None, Some(e.bob.as_str())] {
        for uri in [
            format!("/api/spaces/{id}"),
            format!("/api/spaces/{id}/runtime"),
            format!("/api/spaces/{id}/variables"),
        ] {
            let r = e.get(&uri, token).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
            assert_eq!(r.header("x-error-code"), Some("RepoNotFound"));
        }
    }
    let r = e
        .post(
            &format!("/api/spaces/{id}/variables"),
            Some(&e.bob),
            json!({"key": "A", "value": "1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = e.get("/api/spaces?author=acme", Some(&e.bob)).await;
    assert_eq!(list.body, json!([]));
    // alice (member of acme) sees it, with her read token too.
    let r = e
        .get(&format!("/api/spaces/{id}"), Some(&e.alice_read))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["private"], true);
    assert_eq!(
        e.get("/api/spaces?author=acme", Some(&e.alice))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The read token cannot mutate: 403.
    let r = e
        .post(
            &format!("/api/spaces/{id}/variables"),
            Some(&e.alice_read),
            json!({"key": "A", "value": "1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Making it public shows it to bob, who still cannot change it (403, not 404).
    let r = e
        .call(
            Method::PUT,
            &format!("/api/spaces/{id}/settings"),
            Some(&e.alice),
            Some(json!({"private": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        e.get(&format!("/api/spaces/{id}"), Some(&e.bob))
            .await
            .status,
        StatusCode::OK
    );
    let r = e
        .post(
            &format!("/api/spaces/{id}/variables"),
            Some(&e.bob),
            json!({"key": "A", "value": "1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = e
        .call(
            Method::DELETE,
            "/api/repos/delete",
            Some(&e.bob),
            Some(json!({"name": "secret-app", "organization": "acme", "type": "space"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Nobody creates in a namespace they do not belong to.
    let r = e
        .post(
            "/api/repos/create",
            Some(&e.bob),
            json!({"name": "x", "organization": "acme", "type": "space", "sdk": "static"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // alice deletes it.
    let r = e
        .call(
            Method::DELETE,
            "/api/repos/delete",
            Some(&e.alice),
            Some(json!({"name": "secret-app", "organization": "acme", "type": "space"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        e.get(&format!("/api/spaces/{id}"), Some(&e.alice))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn secrets_are_write_only() {
    let e = env().await;
    let r = e
        .create(json!({"name": "app", "type": "space", "sdk": "gradio",
            "secrets": [{"key": "API_KEY", "value": "s3cr3t-value", "description": "the key"}]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = e
        .post(
            "/api/spaces/alice/app/secrets",
            Some(&e.alice),
            json!({"key": "OTHER", "value": "an0ther-value"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({}));
    let r = e.get("/api/spaces/alice/app/secrets", Some(&e.alice)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["API_KEY"]["key"], "API_KEY");
    assert_eq!(r.body["API_KEY"]["description"], "the key");
    assert!(r.body["OTHER"]["updatedAt"].is_string());
    assert!(r.body["OTHER"].get("description").is_none());
    // No value anywhere: secrets, info, runtime, variables, logs.
    for uri in ["secrets", "", "runtime", "variables", "logs/build"] {
        let uri = format!("/api/spaces/alice/app/{uri}");
        let r = e.get(uri.trim_end_matches('/'), Some(&e.alice)).await;
        assert!(
            !r.text.contains("s3cr3t") && !r.text.contains("an0ther"),
            "{uri}: {}",
            r.text
        );
    }
    // Others cannot list them (public Space: 403; anonymous: 401).
    assert_eq!(
        e.get("/api/spaces/alice/app/secrets", Some(&e.bob))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        e.get("/api/spaces/alice/app/secrets", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = e
        .call(
            Method::DELETE,
            "/api/spaces/alice/app/secrets",
            Some(&e.alice),
            Some(json!({"key": "API_KEY"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = e
        .call(
            Method::DELETE,
            "/api/spaces/alice/app/secrets",
            Some(&e.alice),
            Some(json!({"key": "NEVER_SET"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = e.get("/api/spaces/alice/app/secrets", Some(&e.alice)).await;
    assert!(r.body.get("API_KEY").is_none() && r.body.get("OTHER").is_some());
}

#[tokio::test]
async fn whoami_names_the_user_orgs_and_role() {
    let e = env().await;
    let r = e.get("/api/whoami-v2", Some(&e.alice_read)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["type"], "user");
    assert_eq!(r.body["name"], "alice");
    assert_eq!(r.body["orgs"][0]["name"], "acme");
    assert_eq!(r.body["orgs"][0]["type"], "org");
    assert_eq!(r.body["auth"]["type"], "access_token");
    assert_eq!(r.body["auth"]["accessToken"]["role"], "read");
    let r = e.get("/api/whoami-v2", Some(&e.bob)).await;
    assert_eq!(r.body["auth"]["accessToken"]["role"], "write");
    assert_eq!(r.body["orgs"], json!([]));
}
