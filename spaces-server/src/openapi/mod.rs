//! The OpenAPI 3.0 document of every route the server offers, served at `/openapi.json`.
//!
//! Hand-maintained, next to the routes it describes (`routes/`): each operation lists the
//! responses the server really sends, errors included (400, 401, 403, 404, 409, 413, 429 and
//! 503 all have the `Error` body `{"error", "url"?}` and the `X-Error-Message` header), and the
//! schemas are those of `wire/`. `tests/api_wire.rs` (`openapi_describes_every_route`) checks that every route of the router
//! is in the document and that answers match their schemas' required keys.

use serde_json::{json, Map, Value};

mod components;
use components::components;

fn schema(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "headers": {
            "X-Error-Message": {"schema": {"type": "string"}, "description": "The error, on one line."},
            "X-Error-Code": {"schema": {"type": "string"}, "description": "`RepoNotFound` for a missing or hidden Space, `RevisionNotFound` for an unknown revision."},
            "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"},
            "Retry-After": {"schema": {"type": "integer"}, "description": "With 429: seconds to wait."}
        },
        "content": {"application/json": {"schema": schema("Error")}}
    })
}

fn ok(description: &str, body: Value) -> Value {
    json!({
        "description": description,
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": body}}
    })
}

/// One operation: `codes` are the error statuses it may answer besides 200.
fn op(
    summary: &str,
    id: &str,
    params: &[&str],
    body: Option<Value>,
    answer: Value,
    codes: &[u16],
) -> Value {
    let mut responses = Map::new();
    responses.insert("200".into(), answer);
    for code in codes.iter().chain([401u16, 413, 429, 503].iter()) {
        let text = match code {
            400 => "Bad input: the message names the field",
            401 => "No token, or an invalid one",
            403 => "A read token on a mutation, or a caller who is not the owner or a member",
            404 => "No such Space, or a private one the caller may not see (X-Error-Code: RepoNotFound)",
            409 => "The Space exists already (the body carries its `url`); for a visit: the Space does not run",
            412 => "`parentCommit` is not the head of the branch any more (a commit happened since)",
            413 => "The body is over the size limit",
            429 => "Too many requests for this token: see Retry-After",
            _ => "The server is shutting down, or the request took longer than its timeout",
        };
        responses.insert(code.to_string(), error(text));
    }
    let mut out = json!({
        "summary": summary,
        "operationId": id,
        "parameters": params.iter().map(|p| json!({"$ref": format!("#/components/parameters/{p}")})).collect::<Vec<_>>(),
        "responses": responses,
    });
    if let Some(b) = body {
        out["requestBody"] =
            json!({"required": false, "content": {"application/json": {"schema": b}}});
    }
    out
}

fn obj(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

const ID: &[&str] = &["namespace", "name"];
const RW: &[u16] = &[400, 401, 403, 404];

/// The document.
pub fn document() -> Value {
    let runtime = || ok("The Space's runtime", schema("SpaceRuntime"));
    let kv = obj(
        json!({"key": {"type": "string"}, "value": {"type": "string"}, "description": {"type": "string"}}),
    );
    let key = obj(json!({"key": {"type": "string"}}));
    let settings_body = obj(json!({
        "private": {"type": "boolean"},
        "visibility": {"type": "string", "enum": ["public", "private", "protected"]},
        "hardware": {"type": "string"},
        "sleepTimeSeconds": {"type": "integer"},
        "sleepTime": {"type": "integer"},
        "storageTier": {"type": "string", "enum": ["small", "medium", "large"]},
        "secrets": {"type": "array", "items": kv.clone()},
        "variables": {"type": "array", "items": kv.clone()},
        "volumes": {"type": "array", "items": {"type": "object"}},
    }));
    let mut create_body = settings_body.clone();
    if let Some(p) = create_body["properties"].as_object_mut() {
        p.insert("name".into(), json!({"type": "string"}));
        p.insert(
            "organization".into(),
            json!({"type": "string", "nullable": true}),
        );
        p.insert("type".into(), json!({"type": "string", "enum": ["space"]}));
        p.insert(
            "sdk".into(),
            json!({"type": "string", "enum": ["gradio", "docker", "static", "streamlit"]}),
        );
        p.insert("short_description".into(), json!({"type": "string"}));
        p.insert("license".into(), json!({"type": "string"}));
        p.insert("sdkVersion".into(), json!({"type": "string"}));
        p.insert(
            "files".into(),
            json!({"type": "array", "items": obj(json!({
            "path": {"type": "string"}, "content": {"type": "string"},
            "encoding": {"type": "string", "enum": ["utf-8", "base64"]}}))}),
        );
    }
    let mut dup_body = settings_body;
    if let Some(p) = dup_body["properties"].as_object_mut() {
        p.insert("repository".into(), json!({"type": "string"}));
    }
    let sse = json!({
        "description": "Server-sent events: `data: {\"data\": \"<line>\", \"timestamp\": \"<ISO-8601>\"}`",
        "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        // Before OpenAPI 3.2, an event stream's `schema` describes one event.
        "content": {"text/event-stream": {"schema": {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "string", "description": "JSON: {\"data\": \"<line>\", \"timestamp\": \"<ISO-8601>\"}"}}
        }}}
    });
    let s = "/api/spaces/{namespace}/{name}";
    let mut paths = Map::new();
    let mut add = |path: String, method: &str, operation: Value| {
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[method] = operation;
    };
    add(
        "/api/repos/create".into(),
        "post",
        op(
            "Create a Space (its settings in one transaction; `files` become its first revision)",
            "createRepo",
            &[],
            Some(create_body),
            ok("Created", schema("CreateResponse")),
            &[400, 401, 403, 409],
        ),
    );
    add(
        "/api/repos/delete".into(),
        "delete",
        op(
            "Delete a Space",
            "deleteRepo",
            &[],
            Some(obj(
                json!({"name": {"type": "string"}, "organization": {"type": "string", "nullable": true}, "type": {"type": "string", "enum": ["space"]}}),
            )),
            ok("Deleted", schema("Empty")),
            RW,
        ),
    );
    add("/api/spaces".into(), "get", {
        let mut o = op(
            "List Spaces (paginated with `Link: <...>; rel=\"next\"`)",
            "listSpaces",
            &[
                "author",
                "search",
                "filter",
                "sort",
                "direction",
                "limit",
                "cursor",
                "full",
                "expand",
            ],
            None,
            ok(
                "Spaces",
                json!({"type": "array", "items": schema("SpaceInfo")}),
            ),
            &[400, 401],
        );
        o["responses"]["200"]["headers"]["Link"] = json!({"schema": {"type": "string"}, "description": "The next page, when there is one"});
        o
    });
    add(
        "/api/spaces/hardware".into(),
        "get",
        op(
            "The hardware flavors offered, with exact prices",
            "listSpacesHardware",
            &[],
            None,
            ok(
                "Flavors",
                json!({"type": "array", "items": schema("Hardware")}),
            ),
            &[401],
        ),
    );
    add(
        "/api/spaces/templates".into(),
        "get",
        op(
            "Space templates (none are offered)",
            "listSpaceTemplates",
            &[],
            None,
            ok(
                "Templates",
                obj(json!({"templates": {"type": "array", "items": {"type": "object"}}})),
            ),
            &[401],
        ),
    );
    add(
        "/api/spaces/zero-gpu/quota".into(),
        "get",
        op(
            "ZeroGPU quota: not offered (always 400)",
            "zeroGpuQuota",
            &[],
            None,
            ok("Never sent", schema("Empty")),
            &[400, 401],
        ),
    );
    add(
        "/api/spaces/semantic-search".into(),
        "get",
        op(
            "Semantic search: not offered (always 400)",
            "semanticSearch",
            &[],
            None,
            ok("Never sent", schema("Empty")),
            &[400, 401],
        ),
    );
    add(
        s.into(),
        "get",
        op(
            "A Space's info",
            "spaceInfo",
            &["namespace", "name", "expand", "full"],
            None,
            ok("The Space", schema("SpaceInfo")),
            &[400, 401, 404],
        ),
    );
    add(
        format!("{s}/revision/{{revision}}"),
        "get",
        op(
            "A Space's info at a revision (`main`, `HEAD` or its sha)",
            "spaceInfoAtRevision",
            &["namespace", "name", "revision", "expand"],
            None,
            ok("The Space", schema("SpaceInfo")),
            &[400, 401, 404],
        ),
    );
    add(
        format!("{s}/runtime"),
        "get",
        op(
            "A Space's runtime",
            "getSpaceRuntime",
            ID,
            None,
            runtime(),
            &[400, 401, 404],
        ),
    );
    add(format!("{s}/hardware"), "post", op("Request hardware (a GPU flavor no backend here gives is recorded; errorMessage says why it does not run)", "requestSpaceHardware", ID, Some(obj(json!({"flavor": {"type": "string"}, "sleepTimeSeconds": {"type": "integer"}, "sleepTime": {"type": "integer"}}))), runtime(), RW));
    add(
        format!("{s}/sleeptime"),
        "post",
        op(
            "Set the sleep time (-1: never; refused on cpu-basic)",
            "setSpaceSleepTime",
            ID,
            Some(obj(json!({"seconds": {"type": "integer"}}))),
            runtime(),
            RW,
        ),
    );
    add(
        format!("{s}/pause"),
        "post",
        op(
            "Pause (400 for static Spaces)",
            "pauseSpace",
            ID,
            None,
            runtime(),
            RW,
        ),
    );
    add(
        format!("{s}/restart"),
        "post",
        op(
            "Restart (`factory=true`: rebuild without cache; 400 for static Spaces)",
            "restartSpace",
            &["namespace", "name", "factory"],
            None,
            runtime(),
            RW,
        ),
    );
    add(
        format!("{s}/storage"),
        "post",
        op(
            "Attach or upgrade persistent storage (upgrade-only)",
            "requestSpaceStorage",
            ID,
            Some(obj(
                json!({"tier": {"type": "string", "enum": ["small", "medium", "large"]}}),
            )),
            runtime(),
            RW,
        ),
    );
    add(
        format!("{s}/storage"),
        "delete",
        op(
            "Delete persistent storage and all its data (400 when none)",
            "deleteSpaceStorage",
            ID,
            None,
            runtime(),
            RW,
        ),
    );
    add(
        format!("{s}/dev-mode"),
        "post",
        op(
            "Dev Mode: not offered (always 400 once access is checked)",
            "devMode",
            ID,
            Some(obj(json!({"enabled": {"type": "boolean"}}))),
            ok("Never sent", schema("SpaceRuntime")),
            RW,
        ),
    );
    let not_offered = |summary: &str, id: &str| {
        op(
            summary,
            id,
            ID,
            Some(json!({"type": "object"})),
            ok("Never sent", schema("Empty")),
            RW,
        )
    };
    add(
        format!("{s}/volumes"),
        "put",
        not_offered(
            "Volumes: not offered (always 400 once access is checked)",
            "setSpaceVolumes",
        ),
    );
    add(
        format!("{s}/volumes"),
        "delete",
        not_offered(
            "Volumes: not offered (always 400 once access is checked)",
            "deleteSpaceVolumes",
        ),
    );
    add(
        format!("{s}/replicas"),
        "post",
        not_offered(
            "Replicas: not offered (always 400 once access is checked)",
            "setSpaceReplicas",
        ),
    );
    add(
        format!("{s}/settings"),
        "put",
        op(
            "Change visibility (`gated` other than false is 400)",
            "updateSpaceSettings",
            ID,
            Some(obj(
                json!({"private": {"type": "boolean"}, "visibility": {"type": "string", "enum": ["public", "private", "protected"]}, "gated": {}}),
            )),
            ok("The settings", schema("Settings")),
            RW,
        ),
    );
    add(
        format!("{s}/secrets"),
        "get",
        op(
            "Secrets' names, descriptions and update times (never values; owner and members)",
            "getSpaceSecrets",
            ID,
            None,
            ok(
                "Secrets",
                json!({"type": "object", "additionalProperties": schema("Secret")}),
            ),
            RW,
        ),
    );
    add(
        format!("{s}/secrets"),
        "post",
        op(
            "Add or replace a secret",
            "addSpaceSecret",
            ID,
            Some(kv.clone()),
            ok("Done", schema("Empty")),
            RW,
        ),
    );
    add(
        format!("{s}/secrets"),
        "delete",
        op(
            "Delete a secret (200 also for an unknown key)",
            "deleteSpaceSecret",
            ID,
            Some(key.clone()),
            ok("Done", schema("Empty")),
            RW,
        ),
    );
    let vars = || {
        ok(
            "Every variable",
            json!({"type": "object", "additionalProperties": schema("Variable")}),
        )
    };
    add(
        format!("{s}/variables"),
        "get",
        op(
            "Variables",
            "getSpaceVariables",
            ID,
            None,
            vars(),
            &[400, 401, 404],
        ),
    );
    add(
        format!("{s}/variables"),
        "post",
        op(
            "Add or replace a variable",
            "addSpaceVariable",
            ID,
            Some(kv),
            vars(),
            RW,
        ),
    );
    add(
        format!("{s}/variables"),
        "delete",
        op(
            "Delete a variable (200 also for an unknown key)",
            "deleteSpaceVariable",
            ID,
            Some(key),
            vars(),
            RW,
        ),
    );
    add(
        format!("{s}/duplicate"),
        "post",
        op(
            "Duplicate a Space (files and variables; not secrets; private by default)",
            "duplicateSpace",
            ID,
            Some(dup_body),
            ok("Created", schema("DuplicateResponse")),
            &[400, 401, 403, 404, 409],
        ),
    );
    let rev_params: &[&str] = &["namespace", "name", "revision"];
    let entry = obj(json!({
        "type": {"type": "string", "enum": ["file", "directory"]},
        "path": {"type": "string"},
        "oid": {"type": "string"},
        "size": {"type": "integer"},
    }));
    let entries = json!({"type": "array", "items": entry});
    add(
        format!("{s}/preupload/{{revision}}"),
        "post",
        op(
            "How each file of a coming commit is uploaded (`regular`: in the commit body), with the blob id of the file already there",
            "preuploadSpaceFiles",
            rev_params,
            Some(obj(json!({"files": {"type": "array", "items": obj(json!({
                "path": {"type": "string"}, "size": {"type": "integer"}, "sample": {"type": "string"}}))}}))),
            ok("Upload modes", obj(json!({"files": {"type": "array", "items": obj(json!({
                "path": {"type": "string"},
                "uploadMode": {"type": "string", "enum": ["regular", "lfs"]},
                "shouldIgnore": {"type": "boolean"},
                "oid": {"type": "string", "nullable": true}}))}}))),
            RW,
        ),
    );
    add(format!("{s}/commit/{{revision}}"), "post", {
        let mut o = op(
            "Make a commit on a branch (NDJSON lines: `header` {summary, description, parentCommit?}, `file` {path, content, encoding}, `deletedFile`, `deletedFolder`); a new commit on `main` rebuilds the Space",
            "createSpaceCommit",
            rev_params,
            None,
            ok("The commit", obj(json!({
                "commitUrl": {"type": "string"},
                "commitOid": {"type": "string"},
                "success": {"type": "boolean"},
                "pullRequestUrl": {"type": "string", "nullable": true}}))),
            &[400, 401, 403, 404, 412],
        );
        o["requestBody"] = json!({"required": false, "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}}}});
        o
    });
    add(
        format!("{s}/tree/{{revision}}"),
        "get",
        op(
            "The files and folders at the root of a revision (`recursive=true`: all of them)",
            "listSpaceTree",
            &["namespace", "name", "revision", "recursive"],
            None,
            ok("Entries", entries.clone()),
            &[400, 404],
        ),
    );
    add(
        format!("{s}/tree/{{revision}}/{{path}}"),
        "get",
        op(
            "The files and folders of a folder of a revision (`recursive=true`: all of them)",
            "listSpaceTreeAt",
            &["namespace", "name", "revision", "treePath", "recursive"],
            None,
            ok("Entries", entries.clone()),
            &[400, 404],
        ),
    );
    add(format!("{s}/paths-info/{{revision}}"), "post", {
        let mut o = op(
            "The entries of the given paths at a revision (those that exist)",
            "getSpacePathsInfo",
            rev_params,
            None,
            ok("Entries", entries),
            &[400, 404],
        );
        let body = obj(
            json!({"paths": {"type": "array", "items": {"type": "string"}}, "expand": {"type": "boolean"}}),
        );
        o["requestBody"] = json!({"required": false, "content": {
            "application/x-www-form-urlencoded": {"schema": body.clone()},
            "application/json": {"schema": body}}});
        o
    });
    add(format!("{s}/logs/{{kind}}"), "get", {
        let mut o = op(
            "Build or run logs (`follow=true` streams new run log lines)",
            "fetchSpaceLogs",
            &["namespace", "name", "kind", "follow"],
            None,
            sse.clone(),
            &[400, 401, 403, 404],
        );
        o["responses"]["200"] = sse;
        o
    });
    add(
        "/api/whoami-v2".into(),
        "get",
        op(
            "The caller",
            "whoami",
            &[],
            None,
            ok("The caller", schema("Whoami")),
            &[401],
        ),
    );
    for (kind, id, what) in [
        (
            "write",
            "xetWriteToken",
            "upload files (write access to the Space)",
        ),
        ("read", "xetReadToken", "read the Space"),
    ] {
        let token = json!({"type": "object", "required": ["accessToken", "exp", "casUrl"], "properties": {
            "accessToken": {"type": "string"}, "exp": {"type": "integer", "description": "Unix seconds"},
            "casUrl": {"type": "string", "description": "`<server>/xet`: the CAS routes (xorbs, shards), which take this token"}}});
        let o = op(
            &format!("A short-lived Xet CAS token to {what}; also in the X-Xet-Cas-Url, X-Xet-Access-Token and X-Xet-Token-Expiration headers"),
            id,
            &["namespace", "name", "revision"],
            None,
            ok("The CAS token", token),
            &[403, 404],
        );
        add(
            format!("{s}/xet-{kind}-token/{{revision}}"),
            "get",
            o.clone(),
        );
        let mut post = o;
        post["operationId"] = json!(format!("{id}Post"));
        add(format!("{s}/xet-{kind}-token/{{revision}}"), "post", post);
    }
    add("/api/validate-yaml".into(), "post", {
        let body = json!({"type": "object", "required": ["content"], "properties": {
            "content": {"type": "string", "description": "The README.md text"},
            "repoType": {"type": "string", "enum": ["space"], "description": "Only `space`: this server hosts Spaces"}}});
        let mut o = op(
            "Check a README's front matter as a push would (huggingface_hub calls it before uploading a README.md); 400 lists every error as `README.md:LINE:COL: message`",
            "validateYaml",
            &[],
            Some(body),
            ok("The README can be used; `warnings` may say why it is odd", schema("ValidateYaml")),
            &[400],
        );
        o["requestBody"]["required"] = json!(true);
        o
    });
    add("/api/billing/{namespace}/{period}".into(), "get", op("The invoice of a namespace's Spaces for a month (billing.md's JSON; an extension of this server)", "billingInvoice", &["billingNamespace", "period"], None, ok("The invoice", schema("Invoice")), &[400, 401, 403]));
    add(
        "/openapi.json".into(),
        "get",
        op(
            "This document",
            "openapi",
            &[],
            None,
            ok("OpenAPI 3.0", json!({"type": "object"})),
            &[],
        ),
    );
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "spaces-server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A Hub-compatible control plane for Spaces: the Spaces API of the Hugging Face Hub (as huggingface_hub 1.33 and 2.4 call it), plus a billing view."
        },
        "security": [{"bearer": []}, {}],
        "paths": paths,
        "components": with_validate_yaml(components()),
    })
}

/// `components()` plus the answer of `/api/validate-yaml` (kept apart: one more schema in that
/// `json!` passes the macro's recursion limit).
fn with_validate_yaml(mut components: Value) -> Value {
    let messages = json!({"type": "array", "items": {"type": "object", "required": ["message"],
        "properties": {"message": {"type": "string"}}}});
    components["schemas"]["ValidateYaml"] = json!({"type": "object", "required": ["errors", "warnings"],
        "properties": {"errors": messages.clone(), "warnings": messages}});
    components
}
