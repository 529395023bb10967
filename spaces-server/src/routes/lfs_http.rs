//! The Git LFS batch API and the basic transfer for a Space: `POST
//! /spaces/{owner}/{name}[.git]/info/lfs/objects/batch`, `PUT` and `GET
//! .../info/lfs/objects/{oid}` (signed `href`s, see [`crate::lfs`]). Uploads need write access
//! to the Space, downloads read access; these routes take bodies above the API's body limit (up
//! to the file size limit).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{json, Value};
use spaces_core::SpaceId;

use crate::app::Origin;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::lfs;
use crate::App;

const JSON_LFS: &str = "application/vnd.git-lfs+json";

fn space(namespace: &str, name: &str) -> Result<SpaceId, ApiError> {
    super::space_id(namespace, name.strip_suffix(".git").unwrap_or(name))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::FileTooLarge { limit }
}

/// `GET|PUT|POST /spaces/{ns}/{name}[.git]/info/lfs/objects/{oid}` (`oid` = `batch`: the batch
/// API).
pub(crate) async fn object(
    State(app): State<App>,
    Path((namespace, name, oid)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    caller: Caller,
    origin: Origin,
    req: Request,
) -> Result<Response, ApiError> {
    let id = space(&namespace, &name)?;
    match (req.method().as_str(), oid.as_str()) {
        ("POST", "batch") => batch(app, id, caller, origin, req).await,
        ("PUT", _) => upload(app, id, &oid, &query, caller, req).await,
        ("GET", _) => download(app, id, &oid, &query, caller).await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

async fn batch(
    app: App,
    id: SpaceId,
    caller: Caller,
    origin: Origin,
    req: Request,
) -> Result<Response, ApiError> {
    let body = axum::body::to_bytes(req.into_body(), 4 << 20)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: 4 << 20 })?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the batch request is not JSON: {e}")))?;
    let upload = match v.get("operation").and_then(Value::as_str) {
        Some("upload") => true,
        Some("download") => false,
        other => {
            return Err(ApiError::bad_request(format!(
                "`operation` must be \"upload\" or \"download\" (got {other:?})"
            )))
        }
    };
    if caller.0.is_none() && (upload || app.readable(&caller, &id).is_err()) {
        let mut r = ApiError::Unauthenticated {
            message: "Authentication required: use a token of this server as the password".into(),
        }
        .into_response();
        r.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"spaces\""),
        );
        return Ok(r);
    }
    if upload {
        app.writable(&caller, &id)?;
    } else {
        app.readable(&caller, &id)?;
    }
    let items = v
        .get("objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if items.len() > 10_000 {
        return Err(ApiError::bad_request("at most 10000 objects per batch"));
    }
    let limit = app.limits.max_file_bytes;
    let expires = jiff::Timestamp::now().as_second() + lfs::HREF_SECONDS;
    let base = format!("{}/spaces/{id}.git/info/lfs/objects", origin.base);
    let mut out = Vec::new();
    for item in items {
        let oid = item.get("oid").and_then(Value::as_str).unwrap_or("");
        let size = item.get("size").and_then(Value::as_u64).unwrap_or(0);
        if !lfs::is_oid(oid) {
            out.push(json!({"oid": oid, "size": size,
                "error": {"code": 422, "message": "`oid` must be a SHA-256 in 64 lower-case hex digits"}}));
            continue;
        }
        if size > limit {
            return Err(ApiError::FileTooLarge { limit });
        }
        let stored = lfs::stored_size(&app.data, oid);
        let op = if upload { "upload" } else { "download" };
        let sig = lfs::sign(&id, op, oid, size, expires);
        let href = format!("{base}/{oid}?size={size}&exp={expires}&sig={sig}");
        let action = json!({"href": href, "expires_in": lfs::HREF_SECONDS});
        let entry = match (upload, stored) {
            (true, Some(s)) if s == size => {
                json!({"oid": oid, "size": size, "authenticated": true})
            }
            (true, _) => {
                json!({"oid": oid, "size": size, "authenticated": true, "actions": {"upload": action}})
            }
            (false, Some(s)) if s == size => {
                json!({"oid": oid, "size": size, "authenticated": true, "actions": {"download": action}})
            }
            (false, _) => json!({"oid": oid, "size": size,
                "error": {"code": 404, "message": "Object does not exist"}}),
        };
        out.push(entry);
    }
    let mut r = axum::Json(json!({"transfer": "basic", "objects": out})).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_LFS),
    );
    Ok(r)
}

/// A signed href's fields, when they are there and valid.
fn signed(id: &SpaceId, op: &str, oid: &str, query: &HashMap<String, String>) -> Option<u64> {
    let size = query.get("size")?.parse::<u64>().ok()?;
    let exp = query.get("exp")?.parse::<i64>().ok()?;
    let sig = query.get("sig")?;
    lfs::verify(id, op, oid, size, exp, sig).then_some(size)
}

async fn upload(
    app: App,
    id: SpaceId,
    oid: &str,
    query: &HashMap<String, String>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    if !lfs::is_oid(oid) {
        return Err(ApiError::bad_request("the object id must be a SHA-256"));
    }
    let size = match signed(&id, "upload", oid, query) {
        Some(s) => s,
        None => {
            app.writable(&caller, &id)?;
            req.headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| ApiError::bad_request("Content-Length is required"))?
        }
    };
    let limit = app.limits.max_file_bytes;
    if size > limit {
        return Err(too_large(limit));
    }
    let data = app.data.clone();
    let mut up = tokio::task::spawn_blocking(move || lfs::Upload::start(&data))
        .await
        .map_err(|e| ApiError::internal(format!("storing an object: {e}")))?
        .map_err(|e| ApiError::internal(format!("storing an object: {e}")))?;
    let mut body = req.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        up = tokio::task::spawn_blocking(move || up.write(&chunk, size).map(|()| up))
            .await
            .map_err(|e| ApiError::internal(format!("storing an object: {e}")))?
            .map_err(|_| {
                ApiError::bad_request(format!("the body is longer than the object's size, {size}"))
            })?;
    }
    let (data, oid2) = (app.data.clone(), oid.to_owned());
    tokio::task::spawn_blocking(move || up.finish(&data, &oid2, size))
        .await
        .map_err(|e| ApiError::internal(format!("storing an object: {e}")))?
        .map_err(ApiError::bad_request)?;
    Ok(StatusCode::OK.into_response())
}

async fn download(
    app: App,
    id: SpaceId,
    oid: &str,
    query: &HashMap<String, String>,
    caller: Caller,
) -> Result<Response, ApiError> {
    if signed(&id, "download", oid, query).is_none() {
        app.readable(&caller, &id)?;
    }
    let Some(size) = lfs::stored_size(&app.data, oid) else {
        return Err(ApiError::NotFound {
            message: "Object does not exist".into(),
        });
    };
    let file = tokio::fs::File::open(lfs::object_path(&app.data, oid))
        .await
        .map_err(|e| ApiError::internal(format!("reading an object: {e}")))?;
    let stream = tokio_util_read(file);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert(axum::http::header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(r)
}

/// A file as a stream of chunks.
pub(crate) fn tokio_util_read(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(axum::body::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    })
}
