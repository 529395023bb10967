//! [`Error`]: what a call can fail with, by what a caller branches on, and how an HTTP error
//! response becomes one (hub-api.md §3, the order of `hf_raise_for_status`).

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use spaces_core::{SpaceId, Stage};

/// The `X-Error-Message` the Hub sends with a 401 for a token it does not know: then a 401 on a
/// Space URL means "bad token", not "no such Space".
pub const INVALID_CREDENTIALS: &str = "Invalid credentials in Authorization header";

/// The `X-Error-Message` of a disabled repository.
pub const DISABLED: &str = "Access to this resource is disabled.";

/// Everything a call of this crate can fail with. The token never appears in a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 404 with `X-Error-Code: RepoNotFound`, or a 401 on a Space URL whose message is not
    /// [`INVALID_CREDENTIALS`]: no such Space, or a private one the caller cannot see.
    #[error("repository not found ({url}): {message}{}", rid(request_id))]
    RepoNotFound {
        /// The URL requested.
        url: String,
        /// The server's message.
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// `X-Error-Code: RevisionNotFound`: no such branch, tag or commit.
    #[error("revision not found ({url}): {message}{}", rid(request_id))]
    RevisionNotFound {
        /// The URL requested.
        url: String,
        /// The server's message.
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// `X-Error-Code: EntryNotFound`: no such file in the repository.
    #[error("entry not found ({url}): {message}{}", rid(request_id))]
    EntryNotFound {
        /// The URL requested.
        url: String,
        /// The server's message.
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// `X-Error-Code: GatedRepo`: the repository is gated and the caller has no access.
    #[error("gated repository ({url}): {message}{}", rid(request_id))]
    Gated {
        /// The status code (403 or 401 usually).
        status: u16,
        /// The URL requested.
        url: String,
        /// The server's message.
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// `X-Error-Message: Access to this resource is disabled.`
    #[error("disabled repository ({url}): {message}{}", rid(request_id))]
    Disabled {
        /// The status code (403 or 401 usually).
        status: u16,
        /// The URL requested.
        url: String,
        /// The server's message.
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// 401: no token, or a token the server does not accept.
    #[error("unauthorized ({url}): {message}{}", rid(request_id))]
    Unauthorized {
        /// The URL requested.
        url: String,
        /// The server's message.
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// 403: the token is valid but may not do this (a read token, not the owner).
    #[error("forbidden ({url}): {message}{}", rid(request_id))]
    Forbidden {
        /// The URL requested.
        url: String,
        /// The server's message.
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// 409: the repository exists already (create, duplicate); `url` is the existing one's, as
    /// the body carries it.
    #[error("conflict: {message}{}", url.as_deref().map(|u| format!(" (existing: {u})")).unwrap_or_default())]
    Conflict {
        /// The existing repository's URL from the body's `url`, when sent.
        url: Option<String>,
        /// The server's message.
        message: String,
    },
    /// 400: the request was refused as invalid (a static Space has no hardware, ...).
    #[error("bad request ({url}): {message}{}", rid(request_id))]
    BadRequest {
        /// The URL requested.
        url: String,
        /// The server's message.
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// 429 after the retries were spent; `retry_after` from the `Retry-After` header.
    #[error("rate limited{}: {message}", retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// How long the server asked to wait.
        retry_after: Option<Duration>,
        /// The server's message.
        message: String,
    },
    /// Any other error status (402, 404 without `RepoNotFound`, 412, 5xx ...).
    #[error("HTTP {status}: {message}{}", rid(request_id))]
    Server {
        /// The status code.
        status: u16,
        /// The server's message (possibly empty).
        message: String,
        /// The request id the server echoed, if any.
        request_id: Option<String>,
    },
    /// The request did not get an answer (connection refused, timeout, broken body).
    #[error("request to {url} failed: {source}")]
    Transport {
        /// The URL requested.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON this call expects.
    #[error("unexpected answer from {url}: {message}")]
    Decode {
        /// The URL requested.
        url: String,
        /// What did not parse.
        message: String,
    },
    /// [`Client::wait_for`](crate::Client::wait_for) saw a terminal stage that does not satisfy
    /// the predicate.
    #[error("{id} stopped in stage {stage}{}", message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Stage {
        /// The Space.
        id: SpaceId,
        /// The terminal stage reached.
        stage: Stage,
        /// The runtime's `errorMessage`, if any.
        message: Option<String>,
    },
    /// [`Client::wait_for`](crate::Client::wait_for) ran out of time.
    #[error("{id} still in stage {stage} after {} s", waited.as_secs())]
    WaitTimeout {
        /// The Space.
        id: SpaceId,
        /// The last stage seen.
        stage: Stage,
        /// How long it waited.
        waited: Duration,
    },
    /// Reading a local file to upload failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The client was configured with something unusable (an endpoint that is not a URL).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An argument this crate refuses before sending anything.
    #[error("invalid argument: {0}")]
    InvalidInput(String),
}

fn rid(request_id: &Option<String>) -> String {
    request_id
        .as_deref()
        .map(|r| format!(" (request id {r})"))
        .unwrap_or_default()
}

impl Error {
    /// The HTTP status of an error response, when it is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::RepoNotFound { .. }
            | Error::RevisionNotFound { .. }
            | Error::EntryNotFound { .. } => Some(404),
            Error::Gated { status, .. } | Error::Disabled { status, .. } => Some(*status),
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::Conflict { .. } => Some(409),
            Error::BadRequest { .. } => Some(400),
            Error::RateLimited { .. } => Some(429),
            Error::Server { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The server's message, as `huggingface_hub`'s `server_message` builds it: the
/// `X-Error-Message` header, then the JSON body's `error` (a string or a list; with
/// `error_description` as `"<error>: <description>"`), or `error_description` alone, then
/// `errors[].message`, else a non-JSON, non-HTML body as is; lines de-duplicated and joined
/// with `\n`.
pub fn server_message(headers: &HeaderMap, body: &[u8]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut push = |s: String| {
        let s = s.trim().to_owned();
        if !s.is_empty() && !lines.contains(&s) {
            lines.push(s);
        }
    };
    if let Some(m) = headers.get("x-error-message").and_then(|v| v.to_str().ok()) {
        push(m.to_owned());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(json) => {
            let description = json.get("error_description").and_then(Value::as_str);
            match json.get("error") {
                Some(Value::String(e)) => match description {
                    Some(d) => push(format!("{e}: {d}")),
                    None => push(e.clone()),
                },
                Some(Value::Array(items)) => {
                    for e in items.iter().filter_map(Value::as_str) {
                        push(e.to_owned());
                    }
                    if let Some(d) = description {
                        push(d.to_owned());
                    }
                }
                _ => {
                    if let Some(d) = description {
                        push(d.to_owned());
                    }
                }
            }
            if let Some(errors) = json.get("errors").and_then(Value::as_array) {
                for e in errors {
                    if let Some(m) = e.get("message").and_then(Value::as_str) {
                        push(m.to_owned());
                    }
                }
            }
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let html = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.contains("html"))
                || text.trim_start().starts_with('<');
            if !html {
                push(text.into_owned());
            }
        }
    }
    lines.join("\n")
}

/// The request id the server echoed: the first of `x-request-id`, `X-Amzn-Trace-Id`,
/// `x-amz-cf-id`.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-request-id", "x-amzn-trace-id", "x-amz-cf-id"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::to_owned)
}

/// A `Retry-After` header in seconds (an HTTP date is not followed: `None`).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The [`Error`] for an error response (status ≥ 400), in the official client's order:
/// `X-Error-Code` `RevisionNotFound`, `EntryNotFound`, `GatedRepo`, the disabled message,
/// `RepoNotFound` (or a 401 on a Space URL not about the credentials), then by status.
pub fn from_response(url: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let message = server_message(headers, body);
    let request_id = request_id(headers);
    let code = headers.get("x-error-code").and_then(|v| v.to_str().ok());
    let header_message = headers.get("x-error-message").and_then(|v| v.to_str().ok());
    let space_url = url::Url::parse(url)
        .map(|u| u.path().starts_with("/api/spaces/"))
        .unwrap_or(false);
    let url = url.to_owned();
    match code {
        Some("RevisionNotFound") => {
            return Error::RevisionNotFound {
                url,
                message,
                request_id,
            }
        }
        Some("EntryNotFound") => {
            return Error::EntryNotFound {
                url,
                message,
                request_id,
            }
        }
        Some("GatedRepo") => {
            return Error::Gated {
                status: status.as_u16(),
                url,
                message,
                request_id,
            }
        }
        _ => {}
    }
    if header_message == Some(DISABLED) {
        return Error::Disabled {
            status: status.as_u16(),
            url,
            message,
            request_id,
        };
    }
    if code == Some("RepoNotFound")
        || (status == StatusCode::UNAUTHORIZED
            && space_url
            && header_message != Some(INVALID_CREDENTIALS))
    {
        return Error::RepoNotFound {
            url,
            message,
            request_id,
        };
    }
    match status {
        StatusCode::BAD_REQUEST => Error::BadRequest {
            url,
            message,
            request_id,
        },
        StatusCode::UNAUTHORIZED => Error::Unauthorized {
            url,
            message,
            request_id,
        },
        StatusCode::FORBIDDEN => Error::Forbidden {
            url,
            message,
            request_id,
        },
        StatusCode::CONFLICT => Error::Conflict {
            url: serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("url").and_then(Value::as_str).map(str::to_owned)),
            message,
        },
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited {
            retry_after: retry_after(headers),
            message,
        },
        other => Error::Server {
            status: other.as_u16(),
            message,
            request_id,
        },
    }
}
