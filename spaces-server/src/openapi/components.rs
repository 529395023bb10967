//! The `components` of the OpenAPI document: security, headers, parameters and the schemas of
//! `wire/`.

use serde_json::{json, Value};

/// The components.
pub(super) fn components() -> Value {
    let string = json!({"type": "string"});
    let nstring = json!({"type": "string", "nullable": true});
    let p = |name: &str, place: &str, schema: Value, required: bool, description: &str| json!({"name": name, "in": place, "required": required, "schema": schema, "description": description});
    json!({
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from `spaces-server tokens create`."}},
        "headers": {"X-Request-Id": {"schema": {"type": "string"}, "description": "The caller's x-request-id, or a fresh one."}},
        "parameters": {
            "namespace": p("namespace", "path", string.clone(), true, "The owner (a user or an organisation)"),
            "name": p("name", "path", string.clone(), true, "The Space's name"),
            "appPath": p("path", "path", string.clone(), true, "A path of the Space's app"),
            "revision": p("revision", "path", string.clone(), true, "`main`, `HEAD` or the Space's sha"),
            "treePath": p("path", "path", string.clone(), true, "A folder of the Space's repository"),
            "recursive": p("recursive", "query", json!({"type": "boolean"}), false, "List the whole subtree"),
            "kind": p("kind", "path", json!({"type": "string", "enum": ["build", "run"]}), true, "Which log"),
            "billingNamespace": p("namespace", "path", string.clone(), true, "A user or an organisation"),
            "period": p("period", "path", string.clone(), true, "A month, YYYY-MM (anything else is 400)"),
            "author": p("author", "query", string.clone(), false, "Only this owner's Spaces"),
            "search": p("search", "query", string.clone(), false, "A part of the id, any case"),
            "filter": p("filter", "query", string.clone(), false, "A tag (the sdk, `region:us`)"),
            "sort": p("sort", "query", json!({"type": "string", "enum": ["id", "createdAt", "lastModified", "likes", "trendingScore"]}), false, "Order"),
            "direction": p("direction", "query", json!({"type": "string", "enum": ["1", "-1"]}), false, "1 ascending, -1 descending"),
            "limit": p("limit", "query", json!({"type": "integer", "minimum": 0}), false, "Page size (at most 1000)"),
            "cursor": p("cursor", "query", string.clone(), false, "From a `Link` header"),
            "full": p("full", "query", json!({"type": "boolean"}), false, "Add `siblings`"),
            "expand": p("expand", "query", json!({"type": "array", "items": {"type": "string"}}), false, "Accepted (also as `expand[]`); every field is always sent"),
            "factory": p("factory", "query", json!({"type": "boolean"}), false, "Rebuild without cache"),
            "follow": p("follow", "query", json!({"type": "boolean"}), false, "Keep streaming new run log lines"),
        },
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": string.clone(), "url": string.clone()}},
            "Empty": {"type": "object"},
            "CreateResponse": {"type": "object", "required": ["url", "name", "id"], "properties": {"url": string.clone(), "name": string.clone(), "id": string.clone()}},
            "DuplicateResponse": {"type": "object", "required": ["url", "filesCopyPending"], "properties": {"url": string.clone(), "filesCopyPending": {"type": "boolean"}}},
            "SpaceRuntime": {
                "type": "object",
                "required": ["stage", "hardware", "gcTimeout", "storage", "devMode", "replicas", "domains", "sdk"],
                "properties": {
                    "stage": {"type": "string", "description": "NO_APP_FILE, CONFIG_ERROR, BUILDING, BUILD_ERROR, APP_STARTING, RUNNING, RUNNING_BUILDING, RUNNING_APP_STARTING, RUNTIME_ERROR, PAUSED, SLEEPING, STOPPED, DELETING"},
                    "hardware": {"type": "object", "required": ["current", "requested"], "properties": {
                        "current": nstring.clone(), "requested": nstring.clone(),
                        "currentPrettyName": string.clone(), "requestedPrettyName": string.clone()}},
                    "gcTimeout": {"type": "integer", "nullable": true, "description": "Sleep time in seconds; null: never sleeps"},
                    "storage": {"type": "string", "enum": ["small", "medium", "large"], "nullable": true},
                    "devMode": {"type": "boolean"},
                    "sha": {"type": "string", "description": "The commit of the last push the runtime took"},
                    "replicas": {"type": "object", "required": ["requested"], "properties": {"requested": {"type": "integer"}, "current": {"type": "integer"}}},
                    "domains": {"type": "array", "items": {"type": "object", "required": ["domain", "stage"], "properties": {"domain": string.clone(), "stage": string.clone()}}},
                    "sdk": string.clone(),
                    "errorMessage": string.clone(),
                }
            },
            "SpaceInfo": {
                "type": "object",
                "required": ["_id", "id", "author", "createdAt", "lastModified", "private", "gated", "disabled", "likes", "trendingScore", "sdk", "tags", "models", "datasets", "subdomain", "host", "cardData", "runtime"],
                "properties": {
                    "_id": string.clone(), "id": string.clone(), "author": string.clone(), "sha": string.clone(),
                    "createdAt": {"type": "string", "format": "date-time"},
                    "lastModified": {"type": "string", "format": "date-time"},
                    "private": {"type": "boolean"}, "gated": {"type": "boolean"}, "disabled": {"type": "boolean"},
                    "likes": {"type": "integer"}, "trendingScore": {"type": "integer"},
                    "sdk": string.clone(), "title": string.clone(),
                    "tags": {"type": "array", "items": string.clone()},
                    "models": {"type": "array", "items": string.clone()},
                    "datasets": {"type": "array", "items": string.clone()},
                    "subdomain": string.clone(), "host": string.clone(),
                    "cardData": {"type": "object"},
                    "siblings": {"type": "array", "items": {"type": "object", "required": ["rfilename"], "properties": {"rfilename": string.clone()}}},
                    "originSpace": {"type": "object", "properties": {"name": string.clone()}},
                    "runtime": {"$ref": "#/components/schemas/SpaceRuntime"},
                }
            },
            "Hardware": {
                "type": "object",
                "required": ["name", "prettyName", "cpu", "ram", "accelerator", "unitCostMicroUSD", "unitCostUSD", "unitLabel"],
                "properties": {
                    "name": string.clone(), "prettyName": string.clone(), "cpu": string.clone(), "ram": string.clone(),
                    "accelerator": {"type": "object", "nullable": true, "properties": {"type": string.clone(), "model": string.clone(), "quantity": string.clone(), "vram": string.clone(), "manufacturer": string.clone()}},
                    "unitCostMicroUSD": {"type": "integer"},
                    "unitCostUSD": {"type": "number"},
                    "unitLabel": string.clone(),
                }
            },
            "Secret": {"type": "object", "required": ["key", "updatedAt"], "properties": {"key": string.clone(), "description": string.clone(), "updatedAt": {"type": "string", "format": "date-time"}}},
            "Variable": {"type": "object", "required": ["key", "value", "updatedAt"], "properties": {"key": string.clone(), "value": string.clone(), "description": string.clone(), "updatedAt": {"type": "string", "format": "date-time"}}},
            "Settings": {"type": "object", "required": ["visibility", "private", "gated"], "properties": {"visibility": string.clone(), "private": {"type": "boolean"}, "gated": {"type": "boolean"}}},
            "Whoami": {
                "type": "object",
                "required": ["type", "name", "fullname", "orgs", "auth"],
                "properties": {
                    "type": {"type": "string", "enum": ["user"]}, "id": string.clone(), "name": string.clone(), "fullname": string.clone(), "isPro": {"type": "boolean"},
                    "orgs": {"type": "array", "items": {"type": "object", "required": ["name", "type"], "properties": {"name": string.clone(), "type": string.clone(), "fullname": string.clone(), "id": string.clone(), "roleInOrg": string.clone()}}},
                    "auth": {"type": "object", "required": ["type", "accessToken"], "properties": {"type": string.clone(), "accessToken": {"type": "object", "required": ["displayName", "role"], "properties": {"displayName": string.clone(), "role": {"type": "string", "enum": ["read", "write"]}}}}},
                }
            },
            "Invoice": {
                "type": "object",
                "required": ["period", "currency", "lines", "total"],
                "properties": {
                    "period": string.clone(), "currency": string.clone(),
                    "lines": {"type": "array", "items": {"type": "object", "required": ["space", "item", "minutes", "amount"], "properties": {"space": string.clone(), "item": string.clone(), "minutes": {"type": "integer"}, "amount": {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"}}}},
                    "total": {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"},
                }
            },
        }
    })
}
