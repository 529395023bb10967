//! The routes, by concept, and the router with every layer (see [`crate::limits`]).

mod billing;
mod files;
mod git_http;
mod lfs_http;
mod logs;
mod repos;
mod runtime;
mod secrets;
mod spaces;
mod validate_yaml;
mod variables;
mod visit;
mod whoami;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode};
use axum::routing::{any, delete, get, post, put};
use axum::Router;
use spaces_core::SpaceId;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::App;

/// A Space id from the path: 404 `RepoNotFound` when it cannot be one (no such Space can exist).
pub(crate) fn space_id(namespace: &str, name: &str) -> Result<SpaceId, ApiError> {
    SpaceId::from_parts(namespace, name).map_err(|_| ApiError::RepoNotFound {
        id: format!("{namespace}/{name}"),
    })
}

/// Every route of the API, with the layers.
pub(crate) fn router(app: App) -> Router {
    let door = app
        .spaces_domain
        .clone()
        .map(|d| crate::frontdoor::FrontDoor::new(app.clone(), d));
    let limits = app.limits.clone();
    let space = "/api/spaces/{namespace}/{name}";
    let api = Router::new()
        .route("/api/repos/create", post(repos::create))
        .route("/api/repos/delete", delete(repos::delete))
        .route("/api/spaces", get(spaces::list))
        .route("/api/spaces/hardware", get(spaces::hardware))
        .route("/api/spaces/templates", get(spaces::templates))
        .route("/api/spaces/zero-gpu/quota", get(spaces::zero_gpu_quota))
        .route("/api/spaces/semantic-search", get(spaces::semantic_search))
        .route(space, get(spaces::info))
        .route(
            &format!("{space}/revision/{{revision}}"),
            get(spaces::info_at),
        )
        .route(&format!("{space}/runtime"), get(runtime::get_runtime))
        .route(&format!("{space}/hardware"), post(runtime::hardware))
        .route(&format!("{space}/sleeptime"), post(runtime::sleep_time))
        .route(&format!("{space}/pause"), post(runtime::pause))
        .route(&format!("{space}/restart"), post(runtime::restart))
        .route(
            &format!("{space}/storage"),
            post(runtime::request_storage).delete(runtime::delete_storage),
        )
        .route(&format!("{space}/dev-mode"), post(runtime::dev_mode))
        .route(
            &format!("{space}/volumes"),
            put(runtime::volumes).delete(runtime::volumes),
        )
        .route(&format!("{space}/replicas"), post(runtime::replicas))
        .route(&format!("{space}/settings"), put(runtime::settings))
        .route(
            &format!("{space}/secrets"),
            get(secrets::list)
                .post(secrets::add)
                .delete(secrets::remove),
        )
        .route(
            &format!("{space}/variables"),
            get(variables::list)
                .post(variables::add)
                .delete(variables::remove),
        )
        .route(&format!("{space}/duplicate"), post(repos::duplicate))
        .route(
            &format!("{space}/xet-write-token/{{revision}}"),
            get(crate::xet::write_token).post(crate::xet::write_token),
        )
        .route(
            &format!("{space}/xet-read-token/{{revision}}"),
            get(crate::xet::read_token).post(crate::xet::read_token),
        )
        .route(
            &format!("{space}/preupload/{{revision}}"),
            post(files::preupload),
        )
        .route(&format!("{space}/commit/{{revision}}"), post(files::commit))
        .route(&format!("{space}/tree/{{revision}}"), get(files::tree))
        .route(
            &format!("{space}/tree/{{revision}}/{{*path}}"),
            get(files::tree_path),
        )
        .route(
            &format!("{space}/paths-info/{{revision}}"),
            post(files::paths_info),
        )
        .route(&format!("{space}/logs/{{kind}}"), get(logs::logs))
        .route("/api/whoami-v2", get(whoami::whoami))
        .route("/api/validate-yaml", post(validate_yaml::validate_yaml))
        .route("/api/billing/{namespace}/{period}", get(billing::invoice))
        .route("/openapi.json", get(openapi))
        // The dashboard (see `crate::dashboard`); `/spaces/{namespace}/{name}` from a browser is
        // its Space page (routes/visit.rs).
        .route("/", get(crate::dashboard::index))
        .route(
            "/login",
            get(crate::dashboard::login_form).post(crate::dashboard::login),
        )
        .route("/logout", post(crate::dashboard::logout))
        .route("/dashboard/spaces.json", get(crate::dashboard::spaces_json))
        .route(
            "/dashboard/spaces/{namespace}/{name}",
            get(crate::dashboard::space_json),
        )
        .route("/spaces/{namespace}/{name}", any(visit::visit_root))
        .route("/spaces/{namespace}/{name}/", any(visit::visit_root))
        .route("/spaces/{namespace}/{name}/{*path}", any(visit::visit_path))
        .fallback(not_found)
        .with_state(app.clone())
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(RequestBodyLimitLayer::new(limits.body_bytes))
        // API requests only: a git push, an LFS object or a xorb is bounded by its size, not by
        // the time until the answer (which comes after the whole body on a slow link).
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ));
    // Routes whose bodies may exceed the body limit: LFS objects (bounded by the file size
    // limit) and git pushes.
    let big = Router::new()
        .route(
            "/spaces/{namespace}/{name}/info/lfs/objects/{oid}",
            any(lfs_http::object),
        )
        .route(
            "/spaces/{namespace}/{name}/git-receive-pack",
            any(visit::git_post),
        )
        .route(
            "/spaces/{namespace}/{name}/git-upload-pack",
            any(visit::git_post),
        )
        .with_state(app.clone())
        .layer(DefaultBodyLimit::disable());
    let x_request_id = HeaderName::from_static("x-request-id");
    let api = api
        .merge(big)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::auth::authenticate,
        ))
        // The Xet CAS routes take CAS tokens, which the Hub-token check above would refuse.
        .merge(crate::xet::router(app.clone()))
        .layer(axum::middleware::from_fn_with_state(
            app,
            crate::limits::rate_limit,
        ))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::from_fn(crate::limits::error_bodies))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid));
    // The front door, outermost: requests for a Space's host go to its app, past the API's
    // layers (its token check, body limit, timeout and rate limit are the API's, not the app's).
    match door {
        Some(door) => api.layer(axum::middleware::from_fn_with_state(
            door,
            crate::frontdoor::dispatch,
        )),
        None => api,
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound {
        message: "Sorry, we can't find the page you are looking for (no such route)".into(),
    }
}

async fn openapi() -> axum::Json<serde_json::Value> {
    axum::Json(crate::openapi::document())
}
