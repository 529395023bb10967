//! Sending a request: the token header, retries with backoff and jitter for idempotent calls
//! (on 429, 5xx and connection errors), and error responses turned into [`Error`]s.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::Client;
use crate::error::{self, Error};

/// When and how long to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first delay; doubled each retry.
    pub base: Duration,
    /// The longest delay.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry `attempt` (0-based): full jitter over `base·2^attempt`, capped.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cap);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return Duration::ZERO;
        }
        let r = u64::from(getrandom::u32().unwrap_or(u32::MAX / 2));
        // Between half the ceiling and the ceiling: never a zero wait after a 5xx.
        Duration::from_millis(ms / 2 + (r % (ms / 2 + 1)))
    }
}

/// Whether a call may be sent again after a failure without changing its effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotent {
    Yes,
    No,
}

/// One API request.
pub(crate) struct Call {
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Body>,
    pub idempotent: Idempotent,
    pub headers: Vec<(String, String)>,
    /// Whether the token goes along: only to the endpoint's own origin (an LFS `href` on
    /// another host never gets it).
    pub auth: bool,
}

pub(crate) enum Body {
    Json(Value),
    Bytes(Vec<u8>, &'static str),
    /// A file, streamed; `on_chunk` is told each chunk's size.
    File {
        path: std::path::PathBuf,
        size: u64,
        on_chunk: std::sync::Arc<dyn Fn(u64) + Send + Sync>,
        /// The bytes of this file already reported (across retries).
        reported: std::sync::Arc<std::sync::atomic::AtomicU64>,
    },
}

impl Call {
    pub fn new(method: Method, url: String, idempotent: Idempotent) -> Self {
        Self {
            method,
            url,
            query: Vec::new(),
            body: None,
            idempotent,
            headers: Vec::new(),
            auth: true,
        }
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }

    pub fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_owned(), v.into()));
        self
    }
}

fn retryable_status(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error()
}

impl Client {
    /// `{endpoint}/api/{path}`.
    pub(crate) fn api(&self, path: &str) -> String {
        format!("{}/api/{path}", self.inner.endpoint)
    }

    fn request(&self, call: &Call) -> reqwest::RequestBuilder {
        let mut rb = self.inner.http.request(call.method.clone(), &call.url);
        if !call.query.is_empty() {
            rb = rb.query(&call.query);
        }
        if let Some(t) = self.inner.token.as_ref().filter(|_| call.auth) {
            rb = rb.header(reqwest::header::AUTHORIZATION, t.bearer());
        }
        for (k, v) in &call.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        match &call.body {
            Some(Body::Json(v)) => rb.json(v),
            Some(Body::Bytes(b, ct)) => rb
                .header(reqwest::header::CONTENT_TYPE, *ct)
                .body(b.clone()),
            Some(Body::File {
                path,
                size,
                on_chunk,
                reported,
            }) => {
                rb.header(reqwest::header::CONTENT_LENGTH, *size)
                    .body(reqwest::Body::wrap_stream(crate::commit::file_chunks(
                        path.clone(),
                        on_chunk.clone(),
                        reported.clone(),
                    )))
            }
            None => rb,
        }
    }

    /// Whether `url` is on the endpoint's origin (scheme, host and port).
    pub(crate) fn same_origin(&self, url: &str) -> bool {
        match (url::Url::parse(url), url::Url::parse(&self.inner.endpoint)) {
            (Ok(a), Ok(b)) => a.origin() == b.origin(),
            _ => false,
        }
    }

    /// Sends `call` (retrying idempotent ones) and returns the response of a status below 400.
    pub(crate) async fn send(&self, call: Call) -> Result<reqwest::Response, Error> {
        let policy = self.inner.retry;
        let mut attempt = 0u32;
        loop {
            let may_retry = call.idempotent == Idempotent::Yes && attempt < policy.max_retries;
            match self.request(&call).send().await {
                Ok(r) if r.status().as_u16() < 400 => return Ok(r),
                Ok(r) => {
                    let status = r.status();
                    let headers = r.headers().clone();
                    if may_retry && retryable_status(status) {
                        let wait = error::retry_after(&headers)
                            .map(|d| d.min(policy.cap.saturating_mul(4)))
                            .unwrap_or_else(|| policy.delay(attempt));
                        tracing::debug!(url = %call.url, %status, ?wait, "retrying");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    let body = r.bytes().await.unwrap_or_default();
                    return Err(error::from_response(&call.url, status, &headers, &body));
                }
                Err(e) => {
                    if may_retry && (e.is_connect() || e.is_timeout() || e.is_request()) {
                        let wait = policy.delay(attempt);
                        tracing::debug!(url = %call.url, error = %e, ?wait, "retrying");
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(Error::Transport {
                        url: call.url.clone(),
                        source: e.without_url(),
                    });
                }
            }
        }
    }

    /// Sends `call` and decodes the JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let url = call.url.clone();
        let r = self.send(call).await?;
        let bytes = r.bytes().await.map_err(|e| Error::Transport {
            url: url.clone(),
            source: e.without_url(),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            url,
            message: e.to_string(),
        })
    }

    /// Sends `call` and drops the answer.
    pub(crate) async fn send_unit(&self, call: Call) -> Result<(), Error> {
        let r = self.send(call).await?;
        let _ = r.bytes().await;
        Ok(())
    }
}
