//! The `SpaceInfo` object (`GET /api/spaces/{id}` and the items of `GET /api/spaces`).

use serde_json::{json, Value};
use spaces_core::{Catalog, SpaceId, Visibility};
use spaces_runtime::supervisor::SpaceStatus;

use super::iso;
use super::runtime::runtime_json;
use crate::meta::SpaceMeta;

/// What an info object is written with.
#[derive(Debug)]
pub struct InfoContext<'a> {
    /// The catalog (pretty names).
    pub catalog: &'a Catalog,
    /// The domain Space hosts live under.
    pub domain: &'a str,
    /// The Space's subdomain (as the front door assigned it).
    pub subdomain: &'a str,
    /// Whether the server's first push is still under way.
    pub pushing: bool,
    /// Whether to add `siblings` (the file list).
    pub siblings: bool,
}

/// The info object of a Space.
pub fn info_json(
    id: &SpaceId,
    meta: &SpaceMeta,
    status: &SpaceStatus,
    ctx: &InfoContext<'_>,
) -> Value {
    let sdk = status.sdk.as_str();
    let card = if meta.card_data.is_object() {
        meta.card_data.clone()
    } else {
        let mut c = json!({"sdk": sdk, "pinned": false});
        if let Some(t) = &status.title {
            c["title"] = Value::String(t.clone());
        }
        c
    };
    let mut out = json!({
        "_id": meta.oid,
        "id": id.as_str(),
        "author": id.owner(),
        "createdAt": iso(meta.created_at),
        "lastModified": iso(meta.last_modified),
        "private": status.visibility != Visibility::Public,
        "gated": false,
        "disabled": false,
        "likes": 0,
        "trendingScore": 0,
        "sdk": sdk,
        "tags": [sdk, "region:us"],
        "models": [],
        "datasets": [],
        "subdomain": ctx.subdomain,
        "host": format!("http://{}", super::runtime::space_domain(ctx.subdomain, ctx.domain)),
        "cardData": card,
        "runtime": runtime_json(
            status,
            ctx.catalog,
            &super::runtime::space_domain(ctx.subdomain, ctx.domain),
            ctx.pushing,
        ),
    });
    let sha = meta
        .sha
        .clone()
        .or_else(|| status.revision.as_ref().map(|r| r.as_str().to_owned()));
    if let Some(sha) = sha {
        out["sha"] = Value::String(sha);
    }
    if let Some(t) = &status.title {
        out["title"] = Value::String(t.clone());
    }
    if let Some(from) = &meta.duplicated_from {
        out["originSpace"] = json!({"name": from});
    }
    if ctx.siblings {
        out["siblings"] =
            Value::Array(meta.files.iter().map(|f| json!({"rfilename": f})).collect());
    }
    out
}
