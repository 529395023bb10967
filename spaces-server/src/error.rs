//! [`ApiError`]: the one error type of the crate, answered the way the Hub answers.
//!
//! Every error response carries `X-Error-Message` (the message, on one line) and a JSON body
//! `{"error": "<message>"}`; a missing Space adds `X-Error-Code: RepoNotFound` (huggingface_hub
//! turns that header into `RepositoryNotFoundError`, whatever the URL's scheme). A 409 on create
//! or duplicate adds the existing Space's `url` to the body (`create_repo(exist_ok=True)` reads
//! it). A 429 carries `Retry-After`. Messages never hold a secret's value: the variants are built
//! from names, ids and the supervisor's own errors, which never include values.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The message huggingface_hub recognises as a bad token (it then never reports a missing repo).
pub const INVALID_CREDENTIALS: &str = "Invalid credentials in Authorization header";

/// Everything a request can fail with. Each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the request is malformed or names something invalid.
    #[error("{message}")]
    BadRequest {
        /// What is wrong, naming the field.
        message: String,
    },
    /// 401: no token where one is needed.
    #[error("{message}")]
    Unauthenticated {
        /// Why.
        message: String,
    },
    /// 401: a token that is not valid (unknown, malformed header).
    #[error("{INVALID_CREDENTIALS}")]
    InvalidCredentials,
    /// 403: the caller may see the resource but not change it (read token, not a member).
    #[error("{message}")]
    Forbidden {
        /// Why.
        message: String,
    },
    /// 404 with `X-Error-Code: RepoNotFound`: no such Space, or a private one the caller may not
    /// see.
    #[error("Repository not found: {id}")]
    RepoNotFound {
        /// The id asked for.
        id: String,
    },
    /// 404 without a repo error code (an unknown route, a missing user).
    #[error("{message}")]
    NotFound {
        /// What was not found.
        message: String,
    },
    /// 409 `{error, url}`: the Space exists already.
    #[error("{message}")]
    Conflict {
        /// Why.
        message: String,
        /// The existing Space's URL, when there is one.
        url: Option<String>,
    },
    /// 404 `RevisionNotFound`: no such branch or commit in the Space's repository.
    #[error("{message}")]
    RevisionNotFound {
        /// Which revision.
        message: String,
    },
    /// 404 `EntryNotFound`: no such file at that revision.
    #[error("{message}")]
    EntryNotFound {
        /// Which file.
        message: String,
    },
    /// 412: the commit's `parentCommit` is not the head of its branch any more.
    #[error("{message}")]
    PreconditionFailed {
        /// Why.
        message: String,
    },
    /// 413: a file of the Space is over the file size limit (`--max-file-size`).
    #[error(
        "the file is larger than this server's file size limit of {limit} bytes (--max-file-size)"
    )]
    FileTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// 413: the body is over the size limit.
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 429: too many requests for this token (or address); retry after `retry_after_secs`.
    #[error("Too many requests: retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// 405: the route exists, not with this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// 503: the server is shutting down or a backend is unavailable.
    #[error("{message}")]
    Unavailable {
        /// Why.
        message: String,
    },
    /// 500: something on the server's side failed (storage, a task). The message says what was
    /// being done; details go to the server's log.
    #[error("internal error: {message}")]
    Internal {
        /// What was being done.
        message: String,
    },
}

impl ApiError {
    /// A 400 naming the bad field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
        }
    }

    /// A 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            message: message.into(),
        }
    }

    /// A 500, logged.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(error = %message, "internal error");
        ApiError::Internal { message }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated { .. } | ApiError::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::RepoNotFound { .. } | ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } | ApiError::FileTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::RevisionNotFound { .. } | ApiError::EntryNotFound { .. } => {
                StatusCode::NOT_FOUND
            }
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `X-Error-Code` header, when the Hub sends one for this error.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            ApiError::RepoNotFound { .. } => Some("RepoNotFound"),
            ApiError::RevisionNotFound { .. } => Some("RevisionNotFound"),
            ApiError::EntryNotFound { .. } => Some("EntryNotFound"),
            _ => None,
        }
    }
}

/// A header value from free text: one line, visible ASCII (others become `?`), bounded.
pub(crate) fn header_text(text: &str) -> HeaderValue {
    let clean: String = text
        .chars()
        .take(1000)
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("error"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = self.to_string();
        let mut body = serde_json::json!({ "error": message });
        if let ApiError::Conflict { url: Some(url), .. } = &self {
            body["url"] = serde_json::Value::String(url.clone());
        }
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert("x-error-message", header_text(&message));
        if let Some(code) = self.error_code() {
            headers.insert("x-error-code", HeaderValue::from_static(code));
        }
        if let ApiError::RateLimited { retry_after_secs } = &self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        response
    }
}

impl From<spaces_runtime::Error> for ApiError {
    fn from(e: spaces_runtime::Error) -> Self {
        use spaces_runtime::Error as E;
        match e {
            E::NotFound { what } => ApiError::NotFound { message: what },
            E::Refused(core) => ApiError::from(core),
            E::Conflict { what } => ApiError::Conflict {
                message: what,
                url: None,
            },
            E::Unsupported { .. } => ApiError::bad_request(e.to_string()),
            E::Unavailable { .. } => ApiError::Unavailable {
                message: e.to_string(),
            },
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<spaces_core::Error> for ApiError {
    fn from(e: spaces_core::Error) -> Self {
        use spaces_core::{Error as E, Refusal};
        match &e {
            E::Refused {
                reason: Refusal::SleepTimeFixed,
                ..
            } => ApiError::bad_request(format!(
                "Cannot change the sleep time for cpu-basic Spaces: free hardware sleeps after a \
                 fixed 48 hours ({e})"
            )),
            E::Refused {
                reason: Refusal::StaticSpace,
                ..
            } => ApiError::bad_request(format!(
                "Static Spaces have no runtime controls (pause, restart, hardware, sleep time, \
                 storage): {e}"
            )),
            _ => ApiError::bad_request(e.to_string()),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidName { .. } | Error::NameTaken { .. } | Error::UnknownUser { .. } => {
                ApiError::bad_request(e.to_string())
            }
            Error::Runtime(r) => ApiError::from(r),
            other => ApiError::internal(other.to_string()),
        }
    }
}

/// What the library and the command line fail with (opening the data folder, the database, the
/// runtime; users and tokens). Requests fail with [`ApiError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server's database failed.
    #[error("server database {path}: {doing}: {source}")]
    Db {
        /// The database file.
        path: String,
        /// What was being done.
        doing: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A name that cannot be a user or organisation.
    #[error("invalid name `{name}`: {why}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        why: String,
    },
    /// The name is taken by the other kind of namespace.
    #[error("`{name}` is already an {kind}")]
    NameTaken {
        /// The name.
        name: String,
        /// `organisation` or `user`.
        kind: &'static str,
    },
    /// No such user.
    #[error("no user `{name}` (add it with `spaces-server users add`)")]
    UnknownUser {
        /// The name.
        name: String,
    },
    /// The OS gave no random bytes.
    #[error("no random bytes for a token: {0}")]
    Random(String),
    /// The supervisor or a runtime failed.
    #[error(transparent)]
    Runtime(#[from] spaces_runtime::Error),
    /// The ledger failed.
    #[error("ledger: {0}")]
    Billing(#[from] spaces_billing::Error),
    /// The catalog file could not be read.
    #[error("catalog: {0}")]
    Catalog(#[from] spaces_config::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_is_one_visible_line() {
        let v = header_text("a\nb\u{e9}c");
        assert_eq!(v.to_str().ok(), Some("a?b?c"));
    }

    #[test]
    fn repo_not_found_has_the_code() {
        let r = ApiError::RepoNotFound { id: "a/b".into() }.into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            r.headers()
                .get("x-error-code")
                .and_then(|v| v.to_str().ok()),
            Some("RepoNotFound")
        );
    }
}
