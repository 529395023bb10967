//! Secrets: `GET`/`POST`/`DELETE /api/spaces/{id}/secrets`. Write-only: no answer, log line or
//! error ever holds a value (`Secret` has no `Debug` of its value; the supervisor keeps it).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};
use spaces_core::{EnvName, Secret};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::wire::body::{value_text, Body};
use crate::wire::iso;
use crate::App;

type SpacePath = Path<(String, String)>;

/// `GET /api/spaces/{id}/secrets`: `{KEY: {key, description?, updatedAt}}`, never a value.
pub(crate) async fn list(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.member(&caller, &id)?;
    let mut out = Map::new();
    for s in app.sup.secrets(&id)? {
        let mut item = json!({"key": s.name, "updatedAt": iso(s.updated_at)});
        if let Some(d) = s.description {
            item["description"] = Value::String(d);
        }
        out.insert(s.name, item);
    }
    Ok(Json(Value::Object(out)))
}

/// `POST /api/spaces/{id}/secrets` `{key, value, description?}`: adds or replaces. Answers `{}`.
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
    let value = value_text(&body, "value")?.ok_or_else(|| {
        ApiError::bad_request(
            "`value` is required (a secret's value cannot be read back to keep it)",
        )
    })?;
    let description = body.str(&["description"])?.map(str::to_owned);
    app.sup
        .set_secret_described(&id, key, Secret::new(value), description)
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /api/spaces/{id}/secrets` `{key}`: 200 `{}` also for an unknown key.
pub(crate) async fn remove(
    State(app): State<App>,
    Path((namespace, name)): SpacePath,
    caller: Caller,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let key = body.required_str("key")?;
    app.sup.remove_secret(&id, key).await?;
    Ok(Json(json!({})))
}
