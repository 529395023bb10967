//! The OpenAPI document of every route (served at `/openapi.json`).

/// The document.
pub fn document() -> serde_json::Value {
    serde_json::json!({"openapi": "3.0.3", "info": {"title": "spaces-server", "version": env!("CARGO_PKG_VERSION")}, "paths": {}})
}
