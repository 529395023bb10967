//! Visiting a Space on the API's host: `/spaces/{namespace}/{name}/...` goes to the Space's app
//! through the front door's proxy and wake (`crate::frontdoor`), as `<owner>-<name>.<domain>/...`
//! does: a sleeping Space is woken by the request (one wake however many requests come) and
//! the request is then forwarded, streamed, with WebSocket upgrades.
//!
//! `GET /spaces/{namespace}/{name}` from a browser (an HTML `Accept`) is the dashboard's Space
//! page; from anything else (an API client, `curl`) it is the app's root, as before. git's
//! smart HTTP paths (`info/refs`, `git-upload-pack`, `git-receive-pack`, with or without `.git`)
//! and `resolve/...` are served here before anything is forwarded.
//!
//! A private Space is 404 to anyone but its owner and members. The caller's token is never
//! forwarded to the app. A Space that does not serve in its stage (paused, failed, no app file)
//! answers 409 with its stage to API clients (a state of the Space, not a failure of the
//! server), and the front door's page to browsers; an app that does not answer is 502.

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::frontdoor::{is_browser, serve_space, Mode};
use crate::App;

/// `/spaces/{namespace}/{name}` and `/spaces/{namespace}/{name}/`.
pub(crate) async fn visit_root(
    state: State<App>,
    Path((namespace, name)): Path<(String, String)>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    if is_browser(req.headers())
        && req.method() == axum::http::Method::GET
        && !req.uri().path().ends_with('/')
    {
        return crate::dashboard::space_page(state, namespace, name, caller, req).await;
    }
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
    let query = req
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let target = format!("/{path}{query}");
    Ok(serve_space(
        &app,
        &app.front.proxy,
        &id,
        caller.0,
        req,
        &target,
        Mode::Path,
    )
    .await
    .into_response())
}
