//! Error responses, served by the loopback `TestServer`: each `X-Error-Code`, the message from
//! `X-Error-Message` or the JSON body like `hf_raise_for_status`, 409 with `url`, 429 with
//! `Retry-After`, retries for idempotent calls only, and the token nowhere in errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod test_server;

use std::time::Duration;

use serde_json::json;
use spaces_client::{Client, CreateSpace, Error, SpaceId};
use spaces_core::Sdk;
use test_server::{Reply, TestServer};

fn id() -> SpaceId {
    "alice/demo".parse().unwrap()
}

const RUNTIME: &str = "/api/spaces/alice/demo/runtime";

#[tokio::test]
async fn error_codes_map_to_variants() {
    let s = TestServer::start().await;
    let c = s.client();

    s.on(
        "GET",
        RUNTIME,
        Reply::json(404, json!({"error": "Repository not found"}))
            .header("x-error-code", "RepoNotFound")
            .header("x-error-message", "Repository not found")
            .header("x-request-id", "req-123"),
    );
    match c.runtime(&id()).await.unwrap_err() {
        Error::RepoNotFound {
            message,
            request_id,
            ..
        } => {
            assert_eq!(message, "Repository not found", "de-duplicated");
            assert_eq!(request_id.as_deref(), Some("req-123"));
        }
        other => panic!("{other:?}"),
    }

    // A 404 without the code is a plain server error.
    s.clear();
    s.on(
        "GET",
        RUNTIME,
        Reply::json(404, json!({"error": "Not Found"})),
    );
    let e = c.runtime(&id()).await.unwrap_err();
    assert!(
        matches!(e, Error::Server { status: 404, ref message, .. } if message == "Not Found"),
        "{e:?}"
    );

    // 401 on a Space URL: RepoNotFound, unless the token itself is refused.
    s.clear();
    s.on(
        "GET",
        RUNTIME,
        Reply::json(401, json!({"error": "Unauthorized"})),
    );
    assert!(matches!(
        c.runtime(&id()).await.unwrap_err(),
        Error::RepoNotFound { .. }
    ));
    s.clear();
    s.on(
        "GET",
        RUNTIME,
        Reply::json(
            401,
            json!({"error": "Invalid credentials in Authorization header"}),
        )
        .header(
            "x-error-message",
            "Invalid credentials in Authorization header",
        ),
    );
    assert!(matches!(
        c.runtime(&id()).await.unwrap_err(),
        Error::Unauthorized { .. }
    ));
    s.clear();
    s.on(
        "GET",
        "/api/whoami-v2",
        Reply::json(401, json!({"error": "Invalid username or password."})),
    );
    assert!(matches!(
        c.whoami().await.unwrap_err(),
        Error::Unauthorized { .. }
    ));

    // 403 with the header message; 400 with error + error_description; errors[].message.
    s.clear();
    s.on(
        "POST",
        "/api/spaces/alice/demo/pause",
        Reply::json(403, json!({"error": "You are not the owner"}))
            .header("x-error-message", "You are not the owner"),
    );
    let e = c.pause(&id()).await.unwrap_err();
    assert!(
        matches!(e, Error::Forbidden { ref message, .. } if message == "You are not the owner"),
        "{e:?}"
    );
    s.clear();
    s.on(
        "POST",
        "/api/spaces/alice/demo/sleeptime",
        Reply::json(400, json!({"error": "Bad sleep time", "error_description": "Cannot change the sleep time for cpu-basic Spaces"})),
    );
    let e = c
        .set_sleep_time(&id(), spaces_client::SleepTime::Seconds(60))
        .await
        .unwrap_err();
    match e {
        Error::BadRequest { message, .. } => assert_eq!(
            message,
            "Bad sleep time: Cannot change the sleep time for cpu-basic Spaces"
        ),
        other => panic!("{other:?}"),
    }
    s.clear();
    s.on(
        "POST",
        "/api/spaces/alice/demo/hardware",
        Reply::json(
            422,
            json!({"errors": [{"message": "first"}, {"message": "second"}]}),
        )
        .header("x-error-message", "header says"),
    );
    let e = c
        .request_hardware(&id(), &spaces_core::Flavor::T4Small, None)
        .await
        .unwrap_err();
    match e {
        Error::Server {
            status, message, ..
        } => {
            assert_eq!(status, 422);
            assert_eq!(message, "header says\nfirst\nsecond");
        }
        other => panic!("{other:?}"),
    }
    // A text body is the message as is; an HTML one is not.
    s.clear();
    s.on(
        "GET",
        "/api/spaces/alice/demo",
        Reply::text(402, "Payment required"),
    );
    let e = c.info(&id()).await.unwrap_err();
    assert!(
        matches!(e, Error::Server { status: 402, ref message, .. } if message == "Payment required")
    );
}

#[tokio::test]
async fn conflict_carries_the_url_and_exist_ok_accepts_it() {
    let s = TestServer::start().await;
    let c = s.client();
    let body = json!({"error": "You already created this space repo", "url": "https://huggingface.co/spaces/alice/demo"});
    s.on("POST", "/api/repos/create", Reply::json(409, body));
    let e = c
        .create(&id(), &CreateSpace::new(Sdk::Gradio))
        .await
        .unwrap_err();
    match e {
        Error::Conflict { url, message } => {
            assert_eq!(
                url.as_deref(),
                Some("https://huggingface.co/spaces/alice/demo")
            );
            assert_eq!(message, "You already created this space repo");
        }
        other => panic!("{other:?}"),
    }
    let mut options = CreateSpace::new(Sdk::Gradio);
    options.exist_ok = true;
    let r = c.create(&id(), &options).await.unwrap();
    assert!(r.existed);
    assert_eq!(r.url, "https://huggingface.co/spaces/alice/demo");
    assert_eq!(s.requests().len(), 2, "a create is never retried");
}

#[tokio::test]
async fn rate_limits_are_retried_then_reported_with_retry_after() {
    let s = TestServer::start().await;
    let c = s.client();
    s.on(
        "GET",
        RUNTIME,
        Reply::json(429, json!({"error": "Too many requests"})).header("retry-after", "0"),
    );
    let e = c.runtime(&id()).await.unwrap_err();
    match e {
        Error::RateLimited {
            retry_after,
            message,
        } => {
            assert_eq!(retry_after, Some(Duration::ZERO));
            assert_eq!(message, "Too many requests");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.requests().len(), 4, "the first try and 3 retries");

    // A 5xx then a success: the GET succeeds on its retry.
    s.clear();
    s.on("GET", RUNTIME, Reply::json(503, json!({"error": "busy"})));
    s.on("GET", RUNTIME, Reply::fixture(200, "runtime_static.json"));
    assert!(c.runtime(&id()).await.is_ok());
    assert_eq!(s.requests().len(), 2);

    // Not idempotent: a restart is sent once.
    s.clear();
    s.on(
        "POST",
        "/api/spaces/alice/demo/restart",
        Reply::json(503, json!({"error": "busy"})).header("x-request-id", "r-9"),
    );
    let e = c.restart(&id(), false).await.unwrap_err();
    assert!(
        matches!(e, Error::Server { status: 503, ref request_id, .. } if request_id.as_deref() == Some("r-9"))
    );
    assert_eq!(s.requests().len(), 1);

    // Retries off.
    let c0 = Client::builder()
        .endpoint(&s.url)
        .max_retries(0)
        .build()
        .unwrap();
    s.clear();
    s.on("GET", RUNTIME, Reply::json(500, json!({"error": "boom"})));
    assert!(c0.runtime(&id()).await.is_err());
    assert_eq!(s.requests().len(), 1);
}

#[tokio::test]
async fn connection_errors_are_retried_for_idempotent_calls() {
    // A port with nothing listening.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let c = Client::builder()
        .endpoint(&url)
        .token("hf_never_shown_123")
        .retry_base_delay(Duration::from_millis(1))
        .build()
        .unwrap();
    let e = c.runtime(&id()).await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("hf_never_shown_123"));
}

#[tokio::test]
async fn the_token_is_sent_but_never_shown() {
    let s = TestServer::start().await;
    let c = s.client();
    s.on("GET", RUNTIME, Reply::json(403, json!({"error": "nope"})));
    let e = c.runtime(&id()).await.unwrap_err();
    assert_eq!(
        s.last().header("authorization"),
        Some("Bearer hf_test_token_secret")
    );
    for shown in [format!("{c:?}"), format!("{e}"), format!("{e:?}")] {
        assert!(!shown.contains("hf_test_token_secret"), "{shown}");
    }
    assert!(format!("{c:?}").contains("Token(***)"));
}

#[tokio::test]
async fn every_error_code_of_hf_raise_for_status() {
    let s = TestServer::start().await;
    let c = s.client();
    let path = "/api/spaces/alice/demo";
    type Case = (u16, &'static str, &'static str, fn(&Error) -> bool);
    let cases: Vec<Case> = vec![
        (404, "x-error-code", "RevisionNotFound", |e| {
            matches!(e, Error::RevisionNotFound { .. })
        }),
        (404, "x-error-code", "EntryNotFound", |e| {
            matches!(e, Error::EntryNotFound { .. })
        }),
        (403, "x-error-code", "GatedRepo", |e| {
            matches!(e, Error::Gated { status: 403, .. })
        }),
        (
            403,
            "x-error-message",
            "Access to this resource is disabled.",
            |e| matches!(e, Error::Disabled { status: 403, .. }),
        ),
        (404, "x-error-code", "RepoNotFound", |e| {
            matches!(e, Error::RepoNotFound { .. })
        }),
        // An unknown code falls through to the status.
        (400, "x-error-code", "SomethingNew", |e| {
            matches!(e, Error::BadRequest { .. })
        }),
    ];
    for (status, header, value, check) in cases {
        s.clear();
        s.on(
            "GET",
            path,
            Reply::json(status, json!({"error": value})).header(header, value),
        );
        let e = c.info(&id()).await.unwrap_err();
        assert!(check(&e), "{value}: {e:?}");
        assert_eq!(e.status(), Some(status), "{value}");
        assert!(e.to_string().contains(value), "{e}");
    }
}
