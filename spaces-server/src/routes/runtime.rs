//! The runtime and its controls: `GET /runtime`, `POST /hardware`, `/sleeptime`, `/pause`,
//! `/restart`, `POST`/`DELETE /storage`, `PUT /settings`; and the calls this server does not
//! offer (`/dev-mode`, `/volumes`, `/replicas`), answered 400 with a message that says so.
//!
//! Every control answers the full runtime object. The supervisor's event is applied and
//! committed before the answer; the work it starts (stop, build, start) goes on in the
//! background, as on the Hub, and `wait_for_space` polls `GET /runtime` for its end.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};
use spaces_core::{DataLossAck, Flavor, SpaceId, StorageTier};
use spaces_runtime::supervisor::SpaceStatus;

use crate::app::Origin;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::wire::body::Body;
use crate::wire::runtime::runtime_json;
use crate::App;

use super::repos::{flavor, sleep_seconds, visibility};

type SpacePath = Path<(String, String)>;

fn answer(
    app: &App,
    origin: &Origin,
    id: &SpaceId,
    status: Option<SpaceStatus>,
) -> Result<Json<Value>, ApiError> {
    let status = match status {
        Some(s) => s,
        None => app.status(id)?,
    };
    Ok(Json(runtime_json(
        &status,
        &app.catalog,
        &crate::wire::runtime::space_domain(&app.front.hosts.subdomain(id), &origin.domain),
        app.is_pushing(id),
    )))
}

/// `GET /api/spaces/{id}/runtime`.
pub(crate) async fn get_runtime(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    origin: Origin,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.readable(&caller, &id)?;
    answer(&app, &origin, &id, None)
}

/// `POST /api/spaces/{id}/hardware` `{flavor, sleepTimeSeconds? | sleepTime?}`.
pub(crate) async fn hardware(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    origin: Origin,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let text = body
        .str(&["flavor", "hardware"])?
        .ok_or_else(|| ApiError::bad_request("`flavor` is required"))?;
    let flavor = flavor(&app, "flavor", text)?;
    let sleep = sleep_seconds(&body, &["sleepTimeSeconds", "sleepTime"])?;
    if sleep.is_some() && flavor == Flavor::CpuBasic {
        return Err(ApiError::bad_request(
            "`sleepTimeSeconds`: Cannot change the sleep time for cpu-basic Spaces: free hardware \
             sleeps after a fixed 48 hours",
        ));
    }
    let status = app.status(&id)?;
    if status.sdk == spaces_core::Sdk::Static {
        return Err(ApiError::bad_request(
            "Static Spaces have no hardware: they cannot request a flavor",
        ));
    }
    let (sup, id2, f) = (app.sup.clone(), id.clone(), flavor.as_str().to_owned());
    let mut out = app
        .drive(async move { sup.change_hardware(&id2, &f).await })
        .await?;
    if let Some(sleep) = sleep {
        let (sup, id2) = (app.sup.clone(), id.clone());
        out = app
            .drive(async move { sup.set_sleep_time(&id2, sleep).await })
            .await?;
    }
    answer(&app, &origin, &id, out)
}

/// `POST /api/spaces/{id}/sleeptime` `{seconds}` (-1: never).
pub(crate) async fn sleep_time(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    origin: Origin,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let sleep = sleep_seconds(&body, &["seconds", "sleepTimeSeconds", "sleepTime"])?
        .ok_or_else(|| ApiError::bad_request("`seconds` is required (-1 for never)"))?;
    let (sup, id2) = (app.sup.clone(), id.clone());
    let out = app
        .drive(async move { sup.set_sleep_time(&id2, sleep).await })
        .await?;
    answer(&app, &origin, &id, out)
}

/// `POST /api/spaces/{id}/pause`.
pub(crate) async fn pause(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    origin: Origin,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let (sup, id2) = (app.sup.clone(), id.clone());
    let out = app.drive(async move { sup.pause(&id2).await }).await?;
    answer(&app, &origin, &id, out)
}

/// `POST /api/spaces/{id}/restart[?factory=true]`.
pub(crate) async fn restart(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    Query(q): Query<Vec<(String, String)>>,
    caller: Caller,
    origin: Origin,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let factory = q
        .iter()
        .any(|(k, v)| k == "factory" && (v.eq_ignore_ascii_case("true") || v == "1"));
    let (sup, id2) = (app.sup.clone(), id.clone());
    let out = app
        .drive(async move { sup.restart(&id2, factory).await })
        .await?;
    answer(&app, &origin, &id, out)
}

/// `POST /api/spaces/{id}/storage` `{tier}`: attach or upgrade (upgrade-only).
pub(crate) async fn request_storage(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    origin: Origin,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let tier: StorageTier = body
        .str(&["tier", "storageTier", "storage"])?
        .ok_or_else(|| ApiError::bad_request("`tier` is required: small, medium or large"))?
        .parse()
        .map_err(|e| ApiError::bad_request(format!("`tier`: {e}")))?;
    if app.catalog.storage_tier(tier).is_none() {
        return Err(ApiError::bad_request(format!(
            "`tier`: the storage tier `{tier}` is not offered by this server"
        )));
    }
    let (sup, id2) = (app.sup.clone(), id.clone());
    let out = app
        .drive(async move { sup.request_storage(&id2, tier).await })
        .await?;
    answer(&app, &origin, &id, out)
}

/// `DELETE /api/spaces/{id}/storage`: deletes the storage and all its data (400 when none).
pub(crate) async fn delete_storage(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    origin: Origin,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let (sup, id2) = (app.sup.clone(), id.clone());
    let out = app
        .drive(async move {
            sup.delete_storage(&id2, DataLossAck::i_understand_all_data_is_lost())
                .await
        })
        .await?;
    answer(&app, &origin, &id, out)
}

/// A call this platform does not offer: 400 saying so, once the caller may change the Space (a
/// private Space stays 404 to others).
fn not_offered(
    app: &App,
    caller: &Caller,
    namespace: &str,
    name: &str,
    message: &'static str,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(namespace, name)?;
    app.writable(caller, &id)?;
    Err(ApiError::bad_request(message))
}

/// `POST /api/spaces/{id}/dev-mode`: not offered.
pub(crate) async fn dev_mode(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    not_offered(
        &app,
        &caller,
        &namespace,
        &name,
        "Dev Mode is not offered by this server",
    )
}

/// `PUT`/`DELETE /api/spaces/{id}/volumes`: not offered.
pub(crate) async fn volumes(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    not_offered(
        &app,
        &caller,
        &namespace,
        &name,
        "Volumes are not offered by this server: use persistent storage (POST /storage)",
    )
}

/// `POST /api/spaces/{id}/replicas`: not offered.
pub(crate) async fn replicas(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    not_offered(
        &app,
        &caller,
        &namespace,
        &name,
        "Replicas are not offered by this server: every Space runs one replica",
    )
}

/// `PUT /api/spaces/{id}/settings`: `visibility` / `private`; gating is not offered (`gated`
/// other than `false` is 400); other keys are ignored. Echoes the settings.
pub(crate) async fn settings(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let visibility = visibility(&body)?;
    match body.get(&["gated"]) {
        None | Some((_, Value::Bool(false))) => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "`gated`: gated Spaces are not offered by this server",
            ))
        }
    }
    if let Some(v) = visibility {
        app.sup.set_visibility(&id, v)?;
        app.registry.set_visibility(&id, v);
    }
    let status = app.status(&id)?;
    Ok(Json(json!({
        "visibility": status.visibility.as_str(),
        "private": status.visibility != spaces_core::Visibility::Public,
        "gated": false,
    })))
}
