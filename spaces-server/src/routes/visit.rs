//! Visiting a Space: `/spaces/{namespace}/{name}` and everything below it is forwarded to the
//! Space's app, after a visit to the supervisor, which wakes a sleeping Space (and waits until it
//! answers) and moves its idle timer, as a visit to `<owner>-<name>.hf.space` does on the Hub.
//!
//! A private Space is 404 to anyone but its owner and members. The caller's `Authorization`
//! header (a token of this server) and hop-by-hop headers are never forwarded to the app. A
//! paused Space, or one that does not run, answers 409 with its stage (a state of the Space,
//! not a failure of the server); an app that does not answer is 503.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::App;

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "authorization",
    "content-length",
];

/// `/spaces/{namespace}/{name}`.
pub(crate) async fn visit_root(
    state: State<App>,
    Path((namespace, name)): Path<(String, String)>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    forward(state, namespace, name, String::new(), caller, req).await
}

/// `/spaces/{namespace}/{name}/{*path}`.
pub(crate) async fn visit_path(
    state: State<App>,
    Path((namespace, name, path)): Path<(String, String, String)>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    if super::git_http::is_git_path(&path) {
        return super::git_http::serve(state.0, &namespace, &name, &path, caller, req).await;
    }
    if let Some(rest) = path.strip_prefix("resolve/") {
        if matches!(
            *req.method(),
            axum::http::Method::GET | axum::http::Method::HEAD
        ) {
            let id = super::space_id(&namespace, &name)?;
            return super::files::resolve(state.0, caller, id, rest, req.method()).await;
        }
    }
    forward(state, namespace, name, path, caller, req).await
}

/// `POST /spaces/{namespace}/{name}/git-upload-pack|git-receive-pack`: git's protocol, without
/// the API's body limit (a push may be large).
pub(crate) async fn git_post(
    state: State<App>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let path = req.uri().path().to_owned();
    let mut parts = path.trim_start_matches('/').split('/');
    let (Some(_), Some(namespace), Some(name), Some(service)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ApiError::NotFound {
            message: "no such route".into(),
        });
    };
    let (namespace, name, service) = (namespace.to_owned(), name.to_owned(), service.to_owned());
    super::git_http::serve(state.0, &namespace, &name, &service, caller, req).await
}

/// 409: the Space is in a state that does not serve (no app file, paused, failed); the
/// runtime tells why.
fn not_running(id: &spaces_core::SpaceId, why: &str) -> ApiError {
    ApiError::Conflict {
        message: format!("the Space {id} is not running ({why}): see its runtime"),
        url: None,
    }
}

async fn forward(
    State(app): State<App>,
    namespace: String,
    name: String,
    path: String,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.readable(&caller, &id)?;
    let visit = app.sup.visit(&id).await.map_err(|e| match e {
        spaces_runtime::Error::NotFound { .. } => ApiError::RepoNotFound { id: id.to_string() },
        other => not_running(&id, &other.to_string()),
    })?;
    let Some(address) = visit.address else {
        return Err(not_running(&id, &format!("stage {}", visit.stage)));
    };
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let url = format!("http://{address}/{path}{query}");
    let method = req.method().clone();
    let mut headers = req.headers().clone();
    for h in HOP_BY_HOP {
        headers.remove(*h);
    }
    let body = axum::body::to_bytes(req.into_body(), app.limits.body_bytes)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit: app.limits.body_bytes,
        })?;
    let client = reqwest::Client::new();
    let upstream = client
        .request(method, &url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| ApiError::Unavailable {
            message: format!("the Space {id} did not answer: {e}"),
        })?;
    let mut out = Response::builder().status(upstream.status());
    if let Some(h) = out.headers_mut() {
        for (k, v) in upstream.headers() {
            if !HOP_BY_HOP.contains(&k.as_str()) {
                h.insert(HeaderName::from(k), v.clone());
            }
        }
    }
    let stream = upstream.bytes_stream().map_err(std::io::Error::other);
    out.body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(format!("answering a visit: {e}")))
        .map(IntoResponse::into_response)
}
