//! `GET /api/whoami-v2`: the caller, as huggingface_hub reads it (`name`, `orgs[].name`,
//! `auth.accessToken.role`).

use axum::Json;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::meta::object_id;

/// `GET /api/whoami-v2`.
pub(crate) async fn whoami(caller: Caller) -> Result<Json<Value>, ApiError> {
    let p = caller.require()?;
    let orgs: Vec<Value> = p
        .orgs
        .iter()
        .map(|o| {
            json!({
                "type": "org",
                "id": object_id(&format!("org:{o}")),
                "name": o,
                "fullname": o,
                "roleInOrg": "write",
            })
        })
        .collect();
    Ok(Json(json!({
        "type": "user",
        "id": object_id(&format!("user:{}", p.user)),
        "name": p.user,
        "fullname": p.fullname,
        "isPro": false,
        "orgs": orgs,
        "auth": {
            "type": "access_token",
            "accessToken": {
                "displayName": p.token_name,
                "role": p.role.as_str(),
            }
        }
    })))
}
