//! Reading Spaces: `GET /api/spaces/{id}` (and `/revision/{rev}`), `GET /api/spaces` (author,
//! search, filter, sort, limit, `Link` pagination), the hardware list, and the catalogue calls
//! this server does not offer.

use std::ops::Bound;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use spaces_core::SpaceId;

use crate::app::Origin;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::meta::Entry;
use crate::wire::hardware::hardware_list;
use crate::wire::info::{info_json, InfoContext};
use crate::App;

/// The most items in one page of `GET /api/spaces`.
pub const MAX_PAGE: usize = 1000;

/// Query pairs, repeated keys kept (`expand=a&expand=b`, `expand[]=a`).
type Pairs = Query<Vec<(String, String)>>;

fn first<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn all<'a>(q: &'a [(String, String)], keys: &'a [&str]) -> impl Iterator<Item = &'a str> + 'a {
    q.iter()
        .filter(move |(k, _)| keys.contains(&k.as_str()))
        .map(|(_, v)| v.as_str())
}

fn flag(q: &[(String, String)], key: &str) -> bool {
    first(q, key).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn info_of(
    app: &App,
    id: &SpaceId,
    entry: &Entry,
    origin: &Origin,
    siblings: bool,
) -> Result<Value, ApiError> {
    let status = app.status(id)?;
    let meta = entry.meta(id);
    Ok(info_json(
        id,
        &meta,
        &status,
        &InfoContext {
            catalog: &app.catalog,
            domain: &origin.domain,
            subdomain: &app.front.hosts.subdomain(id),
            pushing: app.is_pushing(id),
            siblings,
        },
    ))
}

/// `GET /api/spaces/{id}`.
pub(crate) async fn info(
    State(app): State<App>,
    Path((namespace, name)): Path<(String, String)>,
    Query(_q): Pairs,
    caller: Caller,
    origin: Origin,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    let entry = app.readable(&caller, &id)?;
    Ok(Json(info_of(&app, &id, &entry, &origin, true)?))
}

/// `GET /api/spaces/{id}/revision/{revision}`: `main`, `HEAD` or the current sha (or a prefix
/// of at least 7 digits); another revision is 404 `RevisionNotFound`.
pub(crate) async fn info_at(
    State(app): State<App>,
    Path((namespace, name, revision)): Path<(String, String, String)>,
    Query(_q): Pairs,
    caller: Caller,
    origin: Origin,
) -> Result<Response, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    let entry = app.readable(&caller, &id)?;
    let info = info_of(&app, &id, &entry, &origin, true)?;
    let sha = info.get("sha").and_then(Value::as_str).unwrap_or("");
    let known = revision == "main"
        || revision == "HEAD"
        || (!sha.is_empty() && revision.len() >= 7 && sha.starts_with(revision.as_str()));
    if !known {
        let message = format!("Invalid rev id: {revision}");
        let mut r = ApiError::NotFound { message }.into_response();
        r.headers_mut()
            .insert("x-error-code", HeaderValue::from_static("RevisionNotFound"));
        return Ok(r);
    }
    Ok(Json(info).into_response())
}

/// How a listing is ordered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    Id,
    CreatedAt,
    LastModified,
}

/// `GET /api/spaces`.
pub(crate) async fn list(
    State(app): State<App>,
    Query(q): Pairs,
    caller: Caller,
    origin: Origin,
) -> Result<Response, ApiError> {
    let sort = match first(&q, "sort") {
        None | Some("id") | Some("likes") | Some("trendingScore") | Some("trending_score") => Sort::Id,
        Some("createdAt") | Some("created_at") => Sort::CreatedAt,
        Some("lastModified") | Some("last_modified") => Sort::LastModified,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`sort`: unknown sort key `{other}` (use createdAt, lastModified, likes, trendingScore or id)"
            )))
        }
    };
    let ascending = match first(&q, "direction") {
        None => sort == Sort::Id,
        Some("1") => true,
        Some("-1") => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`direction`: must be 1 or -1 (got `{other}`)"
            )))
        }
    };
    let limit = match first(&q, "limit") {
        None => MAX_PAGE,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| {
                ApiError::bad_request(format!("`limit`: `{l}` is not a non-negative integer"))
            })?
            .min(MAX_PAGE),
    };
    let author = first(&q, "author").filter(|a| !a.is_empty());
    let search = first(&q, "search")
        .map(str::to_lowercase)
        .filter(|s| !s.is_empty());
    let filters: Vec<String> = all(&q, &["filter", "filter[]"])
        .map(str::to_lowercase)
        .collect();
    let sdk = first(&q, "sdk");
    let cursor = first(&q, "cursor");
    let siblings = flag(&q, "full") || all(&q, &["expand", "expand[]"]).any(|e| e == "siblings");

    let matches = |id: &SpaceId, e: &Entry| -> bool {
        caller.can_see(id.owner(), e.visibility)
            && author.is_none_or(|a| id.owner() == a)
            && search
                .as_ref()
                .is_none_or(|s| id.as_str().to_lowercase().contains(s.as_str()))
            && (filters.is_empty() && sdk.is_none() || {
                let tag = app
                    .status(id)
                    .map(|s| s.sdk.as_str().to_owned())
                    .unwrap_or_default();
                filters.iter().all(|f| *f == tag || f == "region:us")
                    && sdk.is_none_or(|s| s == tag)
            })
    };
    // One page of (id, entry), and the cursor of the next page.
    let (page, next): (Vec<(SpaceId, Entry)>, Option<String>) = {
        let reg = app.registry.read();
        if sort == Sort::Id && ascending {
            let start = match cursor {
                Some(c) => Bound::Excluded(c.parse::<SpaceId>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "`cursor`: `{c}` is not a cursor of this listing"
                    ))
                })?),
                None => match author.and_then(|a| SpaceId::from_parts(a, "0").ok()) {
                    Some(first) => Bound::Included(first),
                    None => Bound::Unbounded,
                },
            };
            let mut page = Vec::new();
            let mut more = false;
            for (id, e) in reg.range((start, Bound::Unbounded)) {
                if author.is_some_and(|a| id.owner() > a) {
                    break;
                }
                if matches(id, e) {
                    if page.len() == limit {
                        more = true;
                        break;
                    }
                    page.push((id.clone(), e.clone()));
                }
            }
            let next = (more && limit > 0)
                .then(|| page.last().map(|(id, _)| id.to_string()))
                .flatten();
            (page, next)
        } else {
            let offset = match cursor {
                None => 0,
                Some(c) => c
                    .strip_prefix("o:")
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "`cursor`: `{c}` is not a cursor of this listing"
                        ))
                    })?,
            };
            let mut all: Vec<(&SpaceId, &Entry)> =
                reg.iter().filter(|(id, e)| matches(id, e)).collect();
            let key = |e: &Entry| match sort {
                Sort::Id => None,
                Sort::CreatedAt => Some(e.created_at),
                Sort::LastModified => Some(
                    e.saved
                        .as_ref()
                        .map(|m| m.last_modified)
                        .unwrap_or(e.created_at),
                ),
            };
            all.sort_by(|(ia, ea), (ib, eb)| {
                let o = key(ea).cmp(&key(eb)).then_with(|| ia.cmp(ib));
                if ascending {
                    o
                } else {
                    o.reverse()
                }
            });
            let total = all.len();
            let page: Vec<_> = all
                .into_iter()
                .skip(offset)
                .take(limit)
                .map(|(id, e)| (id.clone(), e.clone()))
                .collect();
            let end = offset.saturating_add(page.len());
            let next = (end < total && limit > 0).then(|| format!("o:{end}"));
            (page, next)
        }
    };
    let items: Vec<Value> = page
        .iter()
        .filter_map(|(id, e)| info_of(&app, id, e, &origin, siblings).ok())
        .collect();
    let mut response = Json(Value::Array(items)).into_response();
    if let Some(cursor) = next {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.iter().filter(|(k, _)| k != "cursor") {
            query.append_pair(k, v);
        }
        query.append_pair("cursor", &cursor);
        let link = format!(
            "<{}/api/spaces?{}>; rel=\"next\"",
            origin.base,
            query.finish()
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// `GET /api/spaces/hardware`.
pub(crate) async fn hardware(State(app): State<App>) -> Response {
    Json(hardware_list(&app.catalog)).into_response()
}

/// `GET /api/spaces/templates`: none offered.
pub(crate) async fn templates() -> Json<Value> {
    Json(json!({"templates": []}))
}

/// `GET /api/spaces/zero-gpu/quota`: not offered.
pub(crate) async fn zero_gpu_quota(_h: HeaderMap) -> ApiError {
    ApiError::bad_request("ZeroGPU is not offered by this server: there is no ZeroGPU quota")
}

/// `GET /api/spaces/semantic-search`: not offered.
pub(crate) async fn semantic_search() -> ApiError {
    ApiError::bad_request(
        "semantic search is not offered by this server: use `GET /api/spaces?search=...`",
    )
}
