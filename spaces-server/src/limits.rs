//! Limits: the request body size, the request timeout and a per-key rate limit, plus the tower
//! layers that wrap every route (request ids, tracing, panics, error bodies).
//!
//! - **Body size**: axum's `DefaultBodyLimit` and tower-http's `RequestBodyLimitLayer` (which
//!   refuses an over-long `Content-Length` before reading): 413.
//! - **Timeout**: tower-http's `TimeoutLayer` bounds the time until the response head (a log
//!   stream's body is not cut): 503. API routes only: git pushes and fetches, LFS objects and
//!   Xet uploads are bounded by their size limits instead, so a large upload on a slow link is
//!   not cut off.
//! - **Rate limit**: a keyed GCRA limiter (the `governor` crate, which `tower_governor` wraps;
//!   used directly so the 429 carries the Hub's error headers and `Retry-After`). The key is the
//!   SHA-256 of the bearer token, or the client's address for anonymous calls: one token cannot
//!   starve the others. `rate_per_second = 0` turns it off.
//! - **Request ids**: `X-Request-Id` is the caller's when it sent one, else a fresh UUID, and is
//!   on every response (errors, 404 routes and 429s included).
//! - **Error bodies**: a response of 400 or more that no route wrote (an unknown route, a wrong
//!   method, a body over the limit, a timeout) gets the same `{"error"}` body and
//!   `X-Error-Message` as the routes' errors.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;
use crate::identity::token_hash;
use crate::App;

/// The server's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body, in bytes.
    pub body_bytes: usize,
    /// How long a request may take until its response starts.
    pub request_timeout: Duration,
    /// Requests per second per token (or per address, anonymous); 0 turns the limit off.
    pub rate_per_second: u32,
    /// The burst allowed above the rate.
    pub rate_burst: u32,
    /// The largest file of a Space (an LFS object; a regular file is also bounded by
    /// `body_bytes`): above it, 413 naming the limit.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    /// 16 MiB bodies (a create may carry files), 60 s, 100 requests per second with bursts of
    /// 200, 5 GiB files.
    fn default() -> Self {
        Self {
            body_bytes: 16 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            rate_per_second: 100,
            rate_burst: 200,
            max_file_bytes: 5 * 1024 * 1024 * 1024,
        }
    }
}

static BODY_LIMIT: AtomicUsize = AtomicUsize::new(16 * 1024 * 1024);

/// The body limit in force, for error messages.
pub(crate) fn body_limit_hint() -> usize {
    BODY_LIMIT.load(Ordering::Relaxed)
}

/// A keyed rate limiter, or none.
pub struct RateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    calls: AtomicU64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("on", &self.limiter.is_some())
            .finish()
    }
}

impl RateLimiter {
    /// A limiter for `limits`.
    pub fn new(limits: &Limits) -> Self {
        BODY_LIMIT.store(limits.body_bytes, Ordering::Relaxed);
        let limiter = NonZeroU32::new(limits.rate_per_second).map(|rate| {
            let burst =
                NonZeroU32::new(limits.rate_burst.max(limits.rate_per_second)).unwrap_or(rate);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            limiter,
            calls: AtomicU64::new(0),
        }
    }

    /// `Err(seconds to wait)` when the key is over its rate.
    fn check(&self, key: String) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.calls.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            limiter.retain_recent();
        }
        limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The rate-limit middleware.
pub(crate) async fn rate_limit(State(app): State<App>, req: Request, next: Next) -> Response {
    let key = match crate::auth::bearer(req.headers()) {
        Ok(Some(token)) => format!("t:{}", token_hash(&token)),
        _ => match req.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => format!("a:{}", addr.ip()),
            None => "a:unknown".to_owned(),
        },
    };
    match app.limiter.check(key) {
        Ok(()) => next.run(req).await,
        Err(secs) => ApiError::RateLimited {
            retry_after_secs: secs.max(1),
        }
        .into_response(),
    }
}

/// Gives the responses no route wrote (400 and above, without `X-Error-Message`) the routes'
/// error form.
pub(crate) async fn error_bodies(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if status.as_u16() < 400 || response.headers().contains_key("x-error-message") {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound {
            message: "Sorry, we can't find the page you are looking for (no such route)".into(),
        },
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
            limit: body_limit_hint(),
        },
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable {
            message: "the request took longer than the server's timeout".into(),
        },
        s if s.is_client_error() => {
            ApiError::bad_request(s.canonical_reason().unwrap_or("bad request"))
        }
        _ => ApiError::internal("the request failed on the server"),
    };
    let mut out = error.into_response();
    *out.status_mut() = status;
    if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
        out.headers_mut()
            .insert(axum::http::header::ALLOW, allow.clone());
    }
    out
}
