//! The HTTP side of Xet uploads: the token routes under `/api/spaces/{id}/` (Hub tokens, the
//! API's access rules) and the CAS routes under `/xet` (CAS tokens only; mounted outside the
//! Hub-token check, which would refuse them).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use spaces_core::SpaceId;

use super::format::{self, XetHash};
use super::store::{self, StoreError};
use super::Grant;
use crate::app::Origin;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::App;

/// The largest xorb body taken (the format's 64 MiB, plus room for its footer).
const XORB_LIMIT: usize = 65 << 20;
/// The largest shard body taken.
const SHARD_LIMIT: usize = 64 << 20;

/// `GET|POST /api/spaces/{ns}/{name}/xet-write-token/{revision}`: a CAS token to upload to the
/// Space (write access, as a commit needs).
pub(crate) async fn write_token(
    State(app): State<App>,
    Path((namespace, name, _revision)): Path<(String, String, String)>,
    caller: Caller,
    origin: Origin,
) -> Result<Response, ApiError> {
    let id = crate::routes::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    issue(&app, id, true, &origin)
}

/// `GET|POST /api/spaces/{ns}/{name}/xet-read-token/{revision}`: a CAS token to read the Space.
pub(crate) async fn read_token(
    State(app): State<App>,
    Path((namespace, name, _revision)): Path<(String, String, String)>,
    caller: Caller,
    origin: Origin,
) -> Result<Response, ApiError> {
    let id = crate::routes::space_id(&namespace, &name)?;
    app.readable(&caller, &id)?;
    issue(&app, id, false, &origin)
}

fn issue(app: &App, id: SpaceId, write: bool, origin: &Origin) -> Result<Response, ApiError> {
    let now = jiff::Timestamp::now().as_second();
    let (token, expires) = app
        .xet
        .issue(id, write, now)
        .ok_or_else(|| ApiError::internal("could not make a CAS token"))?;
    let cas = format!("{}/xet", origin.base);
    let mut r = Json(json!({"accessToken": token, "exp": expires, "casUrl": cas})).into_response();
    for (name, value) in [
        ("x-xet-cas-url", cas),
        ("x-xet-access-token", token),
        ("x-xet-token-expiration", expires.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
    Ok(r)
}

/// The CAS routes, under `/xet`.
pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/xet/v1/chunks/{prefix}/{hash}", get(chunk))
        .route("/xet/v1/xorb-grants/{prefix}/{hash}", post(no_grants))
        .route(
            "/xet/v1/xorbs/{prefix}/{hash}",
            post(xorb).layer(DefaultBodyLimit::max(XORB_LIMIT)),
        )
        .route(
            "/xet/v1/shards",
            post(shard).layer(DefaultBodyLimit::max(SHARD_LIMIT)),
        )
        // The v2 shard route answers 404, so that the client posts to v1.
        .route("/xet/v2/shards", post(no_v2_shards))
        // hf_xet posts transfer telemetry to the CAS host's root; it is not kept.
        .route("/v1/telemetry", post(telemetry))
        .with_state(app)
}

/// The grant of the request's CAS token: 401 without a live one, 403 for a read token where
/// writing is asked.
fn grant(app: &App, headers: &HeaderMap, write: bool) -> Result<Grant, ApiError> {
    let token = crate::auth::bearer(headers)?.ok_or_else(|| ApiError::Unauthenticated {
        message: "a CAS token is needed: ask /api/spaces/{id}/xet-write-token/{revision}".into(),
    })?;
    let g = app
        .xet
        .check(&token, jiff::Timestamp::now().as_second())
        .ok_or(ApiError::InvalidCredentials)?;
    if write && !g.write {
        return Err(ApiError::forbidden(
            "this CAS token is a read token: ask xet-write-token to upload",
        ));
    }
    Ok(g)
}

fn hash(s: &str) -> Result<XetHash, ApiError> {
    XetHash::from_api_hex(s)
        .ok_or_else(|| ApiError::bad_request(format!("`{s}` is not a hash (64 hex digits)")))
}

/// `GET /xet/v1/chunks/{prefix}/{hash}`: global dedup. Always 404: chunks are never shared
/// between Spaces, so no upload learns what another Space holds.
async fn chunk(
    State(app): State<App>,
    Path((_prefix, h)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    grant(&app, &headers, false)?;
    hash(&h)?;
    Err(ApiError::NotFound {
        message: "chunk not known (this server does no global deduplication)".into(),
    })
}

/// `POST /xet/v2/shards`: 404, so that the client uses `/xet/v1/shards`.
async fn no_v2_shards() -> ApiError {
    ApiError::NotFound {
        message: "no v2 shard upload here: POST the shard to /xet/v1/shards".into(),
    }
}

/// `POST /v1/telemetry`: hf_xet's transfer statistics, dropped unread.
async fn telemetry() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}

/// `POST /xet/v1/xorb-grants/{prefix}/{hash}`: 404, so that the client posts xorbs directly.
async fn no_grants(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    grant(&app, &headers, true)?;
    Err(ApiError::NotFound {
        message: "no upload grants here: POST the xorb to /xet/v1/xorbs/{prefix}/{hash}".into(),
    })
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Bad(m) => ApiError::bad_request(m),
        StoreError::TooLarge(limit) => ApiError::FileTooLarge { limit },
        StoreError::Io(m) => ApiError::internal(m),
    }
}

/// `POST /xet/v1/xorbs/{prefix}/{hash}`: stores a xorb in the token's Space.
async fn xorb(
    State(app): State<App>,
    Path((_prefix, h)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let g = grant(&app, &headers, true)?;
    let h = hash(&h)?;
    let data = app.data.clone();
    let inserted = tokio::task::spawn_blocking(move || store::put_xorb(&data, &g.space, &h, &body))
        .await
        .map_err(|e| ApiError::internal(format!("storing a xorb: {e}")))?
        .map_err(store_error)?;
    Ok(Json(json!({ "was_inserted": inserted })).into_response())
}

/// `POST /xet/v1/shards`: rebuilds the shard's files into the LFS store of the token's Space.
async fn shard(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let g = grant(&app, &headers, true)?;
    let files = format::parse_shard(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let data = app.data.clone();
    let max = app.limits.max_file_bytes;
    tokio::task::spawn_blocking(move || store::put_shard(&data, &g.space, &files, max))
        .await
        .map_err(|e| ApiError::internal(format!("storing a shard: {e}")))?
        .map_err(store_error)?;
    Ok(Json(json!({ "result": 1 })).into_response())
}
