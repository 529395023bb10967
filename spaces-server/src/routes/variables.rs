//! Variables: `GET`/`POST`/`DELETE /api/spaces/{id}/variables`; each answers the full map
//! `{KEY: {key, value, description?, updatedAt}}`. Values live in the supervisor, descriptions
//! and update times in the server's metadata.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};
use spaces_core::{EnvName, SpaceId};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::meta::VariableMeta;
use crate::wire::body::{value_text, Body};
use crate::wire::iso;
use crate::App;

type SpacePath = Path<(String, String)>;

fn map(app: &App, id: &SpaceId) -> Result<Value, ApiError> {
    let entry = app
        .registry
        .get(id)
        .ok_or_else(|| ApiError::RepoNotFound { id: id.to_string() })?;
    let meta = entry.meta(id);
    let mut out = Map::new();
    for (k, v) in app.sup.variables(id)? {
        let m = meta.variables.get(&k);
        let mut item = json!({
            "key": k,
            "value": v,
            "updatedAt": iso(m.map(|m| m.updated_at).unwrap_or(meta.created_at)),
        });
        if let Some(d) = m.and_then(|m| m.description.clone()) {
            item["description"] = Value::String(d);
        }
        out.insert(k, item);
    }
    Ok(Value::Object(out))
}

/// Changes the variables' metadata of a Space (one change at a time).
fn edit_meta(
    app: &App,
    id: &SpaceId,
    change: impl FnOnce(&mut std::collections::BTreeMap<String, VariableMeta>),
) -> Result<(), ApiError> {
    let _turn = app.meta_lock.lock().unwrap_or_else(|e| e.into_inner());
    let Some(entry) = app.registry.get(id) else {
        return Ok(());
    };
    let mut meta = (*entry.meta(id)).clone();
    change(&mut meta.variables);
    app.db.put_meta(id, &meta)?;
    app.registry.set_meta(id, meta);
    Ok(())
}

/// `GET /api/spaces/{id}/variables`.
pub(crate) async fn list(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.readable(&caller, &id)?;
    Ok(Json(map(&app, &id)?))
}

/// `POST /api/spaces/{id}/variables` `{key, value?, description?}`: adds or replaces (without
/// `value`, an existing variable's description changes).
pub(crate) async fn add(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let key = body.required_str("key")?;
    EnvName::new(key).map_err(|e| ApiError::bad_request(format!("`key`: {e}")))?;
    let description = body.str(&["description"])?.map(str::to_owned);
    let value = match value_text(&body, "value")? {
        Some(v) => v,
        None => app.sup.variables(&id)?.remove(key).ok_or_else(|| {
            ApiError::bad_request(format!("`value` is required: `{key}` is a new variable"))
        })?,
    };
    app.sup.set_variable(&id, key, &value)?;
    let now = jiff::Timestamp::now();
    edit_meta(&app, &id, |vars| {
        let kept = vars.get(key).and_then(|m| m.description.clone());
        vars.insert(
            key.to_owned(),
            VariableMeta {
                description: description.or(kept),
                updated_at: now,
            },
        );
    })?;
    Ok(Json(map(&app, &id)?))
}

/// `DELETE /api/spaces/{id}/variables` `{key}`: 200 with the map also for an unknown key.
pub(crate) async fn remove(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let key = body.required_str("key")?;
    if app.sup.remove_variable(&id, key)? {
        edit_meta(&app, &id, |vars| {
            vars.remove(key);
        })?;
    }
    Ok(Json(map(&app, &id)?))
}
