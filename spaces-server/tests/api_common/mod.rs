//! Shared set-up of the `api_*` tests: a server over a temporary data folder, driven through
//! its router with `tower::ServiceExt::oneshot`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use spaces_server::{Limits, Role, Server, ServerBuilder};
use tower::ServiceExt;

/// A server with users `alice` (member of `acme`) and `bob`, and their tokens.
pub struct Env {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub alice: String,
    pub alice_read: String,
    pub bob: String,
}

pub async fn env() -> Env {
    env_with(Limits {
        rate_per_second: 0,
        ..Limits::default()
    })
    .await
}

pub async fn env_with(limits: Limits) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerBuilder::new(dir.path())
        .limits(limits)
        .build()
        .await
        .unwrap();
    server.db().add_user("alice", &["acme".to_owned()]).unwrap();
    server.db().add_user("bob", &[]).unwrap();
    let alice = server.db().create_token("alice", Role::Write).unwrap();
    let alice_read = server.db().create_token("alice", Role::Read).unwrap();
    let bob = server.db().create_token("bob", Role::Write).unwrap();
    Env {
        server,
        dir,
        alice,
        alice_read,
        bob,
    }
}

/// An answer: status, headers, JSON body (`Null` when the body is not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Env {
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let raw = body.map(|b| b.to_string().into_bytes());
        self.raw(method, uri, token, raw, &[]).await
    }

    pub async fn raw(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "hub.test:8080");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .header("content-type", "application/json")
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let response = self.server.router().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, uri, token, None).await
    }

    pub async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, uri, token, Some(body)).await
    }

    /// Creates a Space as alice and returns the answer.
    pub async fn create(&self, body: Value) -> Answer {
        self.post("/api/repos/create", Some(&self.alice), body)
            .await
    }

    /// Polls the runtime until the stage is not intermediate.
    pub async fn wait(&self, id: &str, token: Option<&str>) -> Value {
        for _ in 0..300 {
            let r = self.get(&format!("/api/spaces/{id}/runtime"), token).await;
            let stage = r.body["stage"].as_str().unwrap_or("").to_owned();
            if ![
                "BUILDING",
                "RUNNING_BUILDING",
                "APP_STARTING",
                "RUNNING_APP_STARTING",
            ]
            .contains(&stage.as_str())
            {
                return r.body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{id} did not settle");
    }
}
