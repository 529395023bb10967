//! `TestServer`: a real HTTP server on 127.0.0.1 that serves scripted fixture answers and
//! records every request it gets (method, path, query, headers, body). A test double of the
//! Hub, named as one: it knows nothing of Spaces.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

/// A scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Break the connection after sending the body (a dropped stream).
    pub then_drop: bool,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            then_drop: false,
        }
    }
    pub fn text(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: body.as_bytes().to_vec(),
            then_drop: false,
        }
    }
    pub fn sse(body: &str) -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            body: body.as_bytes().to_vec(),
            then_drop: false,
        }
    }
    /// An SSE body whose connection breaks after `body`.
    pub fn sse_then_drop(body: &str) -> Self {
        Reply {
            then_drop: true,
            ..Reply::sse(body)
        }
    }
    /// A fixture file of tests/fixtures, as JSON.
    pub fn fixture(status: u16, name: &str) -> Self {
        Reply::json(status, fixture(name))
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// A fixture of tests/fixtures.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A request the server got.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The body as JSON (`Null` when empty).
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.body).unwrap()
        }
    }
    pub fn header(&self, k: &str) -> Option<&str> {
        self.headers.get(k).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Script {
    /// (METHOD, path) → answers in order; the last one repeats.
    routes: HashMap<(String, String), VecDeque<Reply>>,
    log: Vec<Recorded>,
}

#[derive(Clone)]
pub struct TestServer {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

async fn handle(State(script): State<Arc<Mutex<Script>>>, req: Request) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 64 << 20)
        .await
        .unwrap()
        .to_vec();
    let reply = {
        let mut s = script.lock().unwrap();
        s.log.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            query,
            headers,
            body,
        });
        s.routes.get_mut(&(method.clone(), path.clone())).map(|q| {
            if q.len() > 1 {
                q.pop_front().unwrap()
            } else {
                q.front().cloned().unwrap()
            }
        })
    };
    let reply =
        reply.unwrap_or_else(|| Reply::text(599, &format!("no fixture for {method} {path}")));
    let body = if reply.then_drop {
        // The body goes out first; the connection breaks a moment later.
        let chunks = futures_util::stream::unfold(Some(reply.body), |body| async move {
            match body {
                Some(b) => Some((Ok::<_, std::io::Error>(b), None)),
                None => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    Some((
                        Err(std::io::Error::other("dropped by the test server")),
                        None,
                    ))
                }
            }
        });
        Body::from_stream(chunks)
    } else {
        Body::from(reply.body)
    };
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (k, v) in reply.headers {
        r.headers_mut().append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    r
}

impl TestServer {
    pub async fn start() -> TestServer {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer { url, script }
    }

    /// Answers `method path` with `reply` (queued after earlier ones; the last one repeats).
    pub fn on(&self, method: &str, path: &str, reply: Reply) -> &Self {
        self.script
            .lock()
            .unwrap()
            .routes
            .entry((method.to_owned(), path.to_owned()))
            .or_default()
            .push_back(reply);
        self
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.script.lock().unwrap().log.clone()
    }

    /// The last request.
    pub fn last(&self) -> Recorded {
        self.requests().last().cloned().expect("no request")
    }

    pub fn clear(&self) {
        let mut s = self.script.lock().unwrap();
        s.log.clear();
        s.routes.clear();
    }

    /// A client of this server with a token, fast retries.
    pub fn client(&self) -> spaces_client::Client {
        spaces_client::Client::builder()
            .endpoint(&self.url)
            .token("hf_test_token_secret")
            .retry_base_delay(std::time::Duration::from_millis(5))
            .build()
            .unwrap()
    }
}

/// Asserts a recorded request: (method, path, query, JSON body or Null for none), sent with
/// the test token.
pub fn expect(r: &Recorded, method: &str, path: &str, query: &[(&str, &str)], body: Value) {
    assert_eq!(r.method, method, "{path}");
    assert_eq!(r.path, path);
    let mut got = r.query.clone();
    got.sort();
    let mut want: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    want.sort();
    assert_eq!(got, want, "{method} {path} query");
    assert_eq!(r.json(), body, "{method} {path} body");
    if !body.is_null() {
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    assert_eq!(
        r.header("authorization"),
        Some("Bearer hf_test_token_secret")
    );
}
