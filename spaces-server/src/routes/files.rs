//! A Space's files through the Hub's repository API: `POST .../preupload/{rev}` and
//! `POST .../commit/{rev}` (what `upload_file`, `upload_folder` and `create_commit` send),
//! `GET .../tree/{rev}[/{path}]` (`list_repo_tree`, `list_repo_files`), `POST
//! .../paths-info/{rev}` (`get_paths_info`) and `/spaces/{id}/resolve/{rev}/{path}`
//! (`hf_hub_download`, `snapshot_download`).
//!
//! Every path is checked as an [`AppPath`] (no `..`, no absolute path, no `.git`); a revision is
//! a branch name (git's rules) or a full commit id. A commit is made on the commit the branch
//! points at and moves the branch only if nobody moved it meanwhile (412 otherwise, as when
//! `parentCommit` is not the head); a new commit on `main` builds.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};
use spaces_core::{AppPath, SpaceId};

use crate::app::Origin;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::git::{self, Op};
use crate::App;

/// Files above this size are uploaded with LFS (as on the Hub), and so are the files
/// `.gitattributes` marks `filter=lfs`.
const LFS_ABOVE: u64 = 10 * 1024 * 1024;

/// At most this many operations in a commit, or paths in a `paths-info` request.
const MAX_OPS: usize = 10_000;

/// How long a commit on `main` waits for the supervisor to take its push before answering.
const COMMIT_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn path_of(field: &str, p: &str) -> Result<String, ApiError> {
    let checked = AppPath::new(p).map_err(|e| ApiError::bad_request(format!("`{field}`: {e}")))?;
    if checked
        .as_path()
        .components()
        .any(|c| c.as_os_str() == ".git")
    {
        return Err(ApiError::bad_request(format!(
            "`{field}`: `.git` is not a path of the repository"
        )));
    }
    Ok(checked.as_str().to_owned())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("reading the repository: {e}")))?
        .map_err(|e| ApiError::internal(format!("reading the repository: {e}")))
}

/// The commit a revision names in a Space's repository, or 404 `RevisionNotFound`.
async fn commit_of(app: &App, id: &SpaceId, rev: &str) -> Result<String, ApiError> {
    let repo = git::repo_path(&app.data, id);
    let r = rev.to_owned();
    blocking(move || git::resolve(&repo, &r))
        .await?
        .ok_or_else(|| ApiError::RevisionNotFound {
            message: format!("Invalid rev id: {rev}"),
        })
}

/// `POST /api/spaces/{id}/preupload/{rev}`.
pub(crate) async fn preupload(
    State(app): State<App>,
    Path((namespace, name, rev)): Path<(String, String, String)>,
    caller: Caller,
    body: crate::wire::body::Body,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    let commit = commit_of(&app, &id, &rev).await?;
    let items = body
        .array(&["files"])?
        .map(|(_, v)| v.to_vec())
        .unwrap_or_default();
    let mut paths = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = item
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::bad_request(format!("`files[{i}].path` is required")))?;
        let size = item.get("size").and_then(Value::as_u64).unwrap_or(0);
        if size > app.limits.max_file_bytes {
            return Err(ApiError::FileTooLarge {
                limit: app.limits.max_file_bytes,
            });
        }
        paths.push((path_of(&format!("files[{i}].path"), p)?, size));
    }
    let repo = git::repo_path(&app.data, &id);
    let found = blocking(move || {
        let patterns = match git::entry(&repo, &commit, ".gitattributes")? {
            Some(e) if e.kind == "file" && e.size < 1 << 20 => {
                crate::lfs::lfs_patterns(&String::from_utf8_lossy(&git::blob(&repo, &e.oid)?))
            }
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for (p, size) in paths {
            let lfs = size > LFS_ABOVE || crate::lfs::matches(&patterns, &p);
            let oid = match git::entry(&repo, &commit, &p)?.filter(|e| e.kind == "file") {
                Some(e) if e.size < 1024 => {
                    let content = git::blob(&repo, &e.oid)?;
                    match crate::lfs::parse_pointer(&content) {
                        Some((sha256, _)) => Some(sha256),
                        None => Some(e.oid),
                    }
                }
                Some(e) => Some(e.oid),
                None => None,
            };
            out.push((p, lfs, oid));
        }
        Ok(out)
    })
    .await?;
    let files: Vec<Value> = found
        .into_iter()
        .map(|(path, lfs, oid)| {
            json!({"path": path, "uploadMode": if lfs { "lfs" } else { "regular" }, "shouldIgnore": false, "oid": oid})
        })
        .collect();
    Ok(Json(json!({ "files": files })))
}

/// `POST /api/spaces/{id}/commit/{rev}`: the NDJSON body of `create_commit`.
pub(crate) async fn commit(
    State(app): State<App>,
    Path((namespace, name, rev)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    caller: Caller,
    origin: Origin,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.writable(&caller, &id)?;
    if query
        .get("create_pr")
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    {
        return Err(ApiError::bad_request(
            "`create_pr`: pull requests are not offered by this server",
        ));
    }
    if !git::valid_branch(&rev) {
        return Err(ApiError::bad_request(format!(
            "`{rev}` is not a branch name this server accepts"
        )));
    }
    let head = commit_of(&app, &id, &rev).await?;
    let mut summary = String::new();
    let mut description = String::new();
    let mut ops = Vec::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if ops.len() >= MAX_OPS {
            return Err(ApiError::bad_request(format!(
                "a commit holds at most {MAX_OPS} operations"
            )));
        }
        let item: Value = serde_json::from_slice(line).map_err(|e| {
            ApiError::bad_request(format!("line {}: not a JSON object: {e}", n + 1))
        })?;
        let key = item.get("key").and_then(Value::as_str).unwrap_or("");
        let value = item.get("value").cloned().unwrap_or(Value::Null);
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
        let field = |k: &str| format!("line {}: `value.{k}`", n + 1);
        match key {
            "header" => {
                summary = text("summary").unwrap_or_default();
                description = text("description").unwrap_or_default();
                if let Some(parent) = text("parentCommit") {
                    if parent != head {
                        return Err(ApiError::PreconditionFailed {
                            message: format!(
                                "A commit has happened since. Please refresh and try again. \
                                 (`parentCommit` {parent} is not the head of `{rev}`, {head})"
                            ),
                        });
                    }
                }
            }
            "file" => {
                let path = path_of(&field("path"), &text("path").unwrap_or_default())?;
                let content = text("content").unwrap_or_default();
                let bytes = match text("encoding").as_deref() {
                    Some("base64") => base64::engine::general_purpose::STANDARD
                        .decode(content.trim())
                        .map_err(|e| {
                            ApiError::bad_request(format!(
                                "{} is not base64: {e}",
                                field("content")
                            ))
                        })?,
                    None | Some("utf-8") | Some("utf8") => content.into_bytes(),
                    Some(other) => {
                        return Err(ApiError::bad_request(format!(
                            "{}: `{other}` is not base64 or utf-8",
                            field("encoding")
                        )))
                    }
                };
                ops.push(Op::Put(path, bytes));
            }
            "deletedFile" | "deletedFolder" => {
                let raw = text("path").unwrap_or_default();
                let path = path_of(&field("path"), raw.trim_end_matches('/'))?;
                ops.push(Op::Delete(path));
            }
            "lfsFile" => {
                let path = path_of(&field("path"), &text("path").unwrap_or_default())?;
                let oid = text("oid").unwrap_or_default();
                let stored = crate::lfs::stored_size(&app.data, &oid).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{}: no LFS object {oid:?} was uploaded (use the batch API first)",
                        field("oid")
                    ))
                })?;
                if let Some(size) = value.get("size").and_then(Value::as_u64) {
                    if size != stored {
                        return Err(ApiError::bad_request(format!(
                            "{}: {size}, but the object holds {stored} bytes",
                            field("size")
                        )));
                    }
                }
                ops.push(Op::Put(path, crate::lfs::pointer(&oid, stored)));
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "line {}: unknown `key` {other:?} (header, file, lfsFile, deletedFile, deletedFolder)",
                    n + 1
                )))
            }
        }
    }
    if summary.trim().is_empty() {
        return Err(ApiError::bad_request("the header's `summary` is required"));
    }
    let message = if description.trim().is_empty() {
        summary
    } else {
        format!("{summary}\n\n{description}")
    };
    let repo = git::repo_path(&app.data, &id);
    let (branch, parent) = (rev.clone(), head.clone());
    let made = tokio::task::spawn_blocking(move || {
        git::commit_ops(&repo, &branch, Some(&parent), &ops, &message)
    })
    .await
    .map_err(|e| ApiError::internal(format!("making a commit: {e}")))?;
    let sha = match made {
        Ok(sha) => sha,
        Err(git::CommitError::Stale) => {
            return Err(ApiError::PreconditionFailed {
                message: "A commit has happened since. Please refresh and try again.".into(),
            })
        }
        Err(git::CommitError::Io(e)) => {
            return Err(ApiError::internal(format!("making a commit: {e}")))
        }
    };
    if rev == "main" {
        // Answer once the supervisor holds the push (the runtime shows the new `sha` and a
        // building stage), so that a caller who waits for RUNNING next never sees the old
        // revision's RUNNING; the build itself goes on after the answer. Bounded: a push queued
        // behind another Space build is answered anyway.
        let committed = app.spawn_build(id.clone(), sha.clone());
        let _ = tokio::time::timeout(COMMIT_ANSWER_WAIT, committed).await;
    }
    Ok(Json(json!({
        "commitUrl": format!("{}/commit/{sha}", origin.space_url(&id)),
        "commitOid": sha,
        "success": true,
        "pullRequestUrl": null,
    })))
}

/// An entry with what an LFS pointer says (`(sha256, size)`), when the file is one.
type Listed = (git::TreeEntry, Option<(String, u64)>);

/// Reads the pointers among `entries` (files of a pointer's size only).
fn with_lfs(repo: &std::path::Path, entries: Vec<git::TreeEntry>) -> std::io::Result<Vec<Listed>> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let lfs = if e.kind == "file" && (100..=200).contains(&e.size) {
            crate::lfs::parse_pointer(&git::blob(repo, &e.oid)?)
        } else {
            None
        };
        out.push((e, lfs));
    }
    Ok(out)
}

fn entry_json((e, lfs): &Listed) -> Value {
    if e.kind == "directory" {
        return json!({"type": "directory", "oid": e.oid, "size": 0, "path": e.path});
    }
    match lfs {
        Some((sha256, size)) => json!({"type": "file", "oid": e.oid, "size": size, "path": e.path,
            "lfs": {"oid": sha256, "sha256": sha256, "size": size, "pointerSize": e.size}}),
        None => json!({"type": "file", "oid": e.oid, "size": e.size, "path": e.path}),
    }
}

fn flag(query: &HashMap<String, String>, key: &str) -> bool {
    query
        .get(key)
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

async fn tree_at(
    app: App,
    caller: Caller,
    namespace: String,
    name: String,
    rev: String,
    folder: String,
    query: HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.readable(&caller, &id)?;
    let commit = commit_of(&app, &id, &rev).await?;
    let folder = folder.trim_end_matches('/').to_owned();
    if !folder.is_empty() {
        path_of("path", &folder)?;
    }
    let repo = git::repo_path(&app.data, &id);
    let recursive = flag(&query, "recursive");
    let f = folder.clone();
    let listed = blocking(move || {
        git::list(&repo, &commit, &f, recursive)?
            .map(|l| with_lfs(&repo, l))
            .transpose()
    })
    .await?
    .ok_or_else(|| ApiError::EntryNotFound {
        message: format!("{id}: no folder `{folder}` at {rev}"),
    })?;
    Ok(Json(Value::Array(listed.iter().map(entry_json).collect())))
}

/// `GET /api/spaces/{id}/tree/{rev}`.
pub(crate) async fn tree(
    State(app): State<App>,
    Path((namespace, name, rev)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    tree_at(app, caller, namespace, name, rev, String::new(), query).await
}

/// `GET /api/spaces/{id}/tree/{rev}/{path}`.
pub(crate) async fn tree_path(
    State(app): State<App>,
    Path((namespace, name, rev, path)): Path<(String, String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    tree_at(app, caller, namespace, name, rev, path, query).await
}

/// `POST /api/spaces/{id}/paths-info/{rev}`: `paths` (form fields, repeated, or a JSON list).
pub(crate) async fn paths_info(
    State(app): State<App>,
    Path((namespace, name, rev)): Path<(String, String, String)>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    app.readable(&caller, &id)?;
    let commit = commit_of(&app, &id, &rev).await?;
    let mut paths = Vec::new();
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        if let Some(list) = v.get("paths").and_then(Value::as_array) {
            paths.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
    } else {
        for (k, v) in url::form_urlencoded::parse(&body) {
            if k == "paths" {
                paths.push(v.into_owned());
            }
        }
    }
    if paths.len() > MAX_OPS {
        return Err(ApiError::bad_request(format!(
            "`paths`: at most {MAX_OPS} paths"
        )));
    }
    let mut checked = Vec::new();
    for p in paths {
        checked.push(path_of("paths", p.trim_end_matches('/'))?);
    }
    let repo = git::repo_path(&app.data, &id);
    let found = blocking(move || {
        let mut out = Vec::new();
        for p in checked {
            if let Some(e) = git::entry(&repo, &commit, &p)? {
                out.push(e);
            }
        }
        with_lfs(&repo, out)
    })
    .await?;
    Ok(Json(Value::Array(found.iter().map(entry_json).collect())))
}

/// `GET|HEAD /spaces/{id}/resolve/{rev}/{path}`: a file's content, with `X-Repo-Commit` and an
/// `ETag` (the blob id), as `hf_hub_download` reads them.
pub(crate) async fn resolve(
    app: App,
    caller: Caller,
    id: SpaceId,
    rest: &str,
    method: &Method,
) -> Result<Response, ApiError> {
    app.readable(&caller, &id)?;
    let (rev, path) = rest
        .split_once('/')
        .ok_or_else(|| ApiError::EntryNotFound {
            message: "resolve needs a revision and a path".into(),
        })?;
    let path = path_of("path", path)?;
    let commit = commit_of(&app, &id, rev).await?;
    let repo = git::repo_path(&app.data, &id);
    let (c2, p2) = (commit.clone(), path.clone());
    let found = blocking(move || {
        let Some(e) = git::entry(&repo, &c2, &p2)?.filter(|e| e.kind == "file") else {
            return Ok(None);
        };
        let content = git::blob(&repo, &e.oid)?;
        Ok(Some((e, content)))
    })
    .await?;
    let Some((entry, content)) = found else {
        return Err(ApiError::EntryNotFound {
            message: format!("{id}: no file `{path}` at {rev}"),
        });
    };
    let pointer = crate::lfs::parse_pointer(&content)
        .filter(|(oid, size)| crate::lfs::stored_size(&app.data, oid) == Some(*size));
    let (len, etag, body) = match &pointer {
        Some((oid, size)) => {
            let file = tokio::fs::File::open(crate::lfs::object_path(&app.data, oid))
                .await
                .map_err(|e| ApiError::internal(format!("reading an LFS object: {e}")))?;
            let body = if method == Method::HEAD {
                axum::body::Body::empty()
            } else {
                axum::body::Body::from_stream(super::lfs_http::tokio_util_read(file))
            };
            (*size, oid.clone(), body)
        }
        None => {
            let len = content.len() as u64;
            let body = if method == Method::HEAD {
                axum::body::Body::empty()
            } else {
                axum::body::Body::from(content)
            };
            (len, entry.oid.clone(), body)
        }
    };
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert("x-repo-commit", crate::error::header_text(&commit));
    h.insert(
        axum::http::header::ETAG,
        crate::error::header_text(&format!("\"{etag}\"")),
    );
    if pointer.is_some() {
        h.insert(
            "x-linked-etag",
            crate::error::header_text(&format!("\"{etag}\"")),
        );
        h.insert("x-linked-size", HeaderValue::from(len));
    }
    h.insert(axum::http::header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(r)
}
