//! Creating, deleting and duplicating Spaces: `POST /api/repos/create`, `DELETE
//! /api/repos/delete`, `POST /api/spaces/{id}/duplicate`.
//!
//! The whole body is read and checked before anything changes; the Space and its settings
//! (hardware, sleep time, storage, secrets, variables) are created in one supervisor transaction,
//! then its files are written, its metadata saved and its initial revision pushed in the
//! background (the runtime says `BUILDING` meanwhile).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use spaces_core::{EnvName, Flavor, Sdk, Secret, SpaceId, StorageTier, Visibility};
use spaces_runtime::supervisor::CreateOptions;

use crate::app::Origin;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::meta::{object_id, Entry, SpaceMeta, VariableMeta};
use crate::repo::{self, CardInput, RepoFiles};
use crate::wire::body::{key_values, Body};
use crate::App;

/// The settings a create or a duplicate carries.
struct Settings {
    visibility: Option<Visibility>,
    options: CreateOptions,
    variable_descriptions: BTreeMap<String, Option<String>>,
}

/// Reads `visibility` / `private`.
pub(crate) fn visibility(body: &Body) -> Result<Option<Visibility>, ApiError> {
    let by_name = body
        .str(&["visibility"])?
        .map(|v| {
            v.parse::<Visibility>()
                .map_err(|e| ApiError::bad_request(format!("`visibility`: {e}")))
        })
        .transpose()?;
    let by_flag = body.bool(&["private"])?.map(|p| {
        if p {
            Visibility::Private
        } else {
            Visibility::Public
        }
    });
    match (by_name, by_flag) {
        (Some(a), Some(b)) if a != b => Err(ApiError::bad_request(
            "`private` and `visibility` disagree: send one of them",
        )),
        (a, b) => Ok(a.or(b)),
    }
}

/// Reads a sleep time in seconds (`-1`, and `0` as hf-hub documents it: never).
pub(crate) fn sleep_seconds(
    body: &Body,
    keys: &[&'static str],
) -> Result<Option<Option<Duration>>, ApiError> {
    match body.int(keys)? {
        None => Ok(None),
        Some(-1) | Some(0) => Ok(Some(None)),
        Some(s) if s > 0 => Ok(Some(Some(Duration::from_secs(s.unsigned_abs())))),
        Some(s) => Err(ApiError::bad_request(format!(
            "`{}` must be a positive number of seconds, or -1 for never (got {s})",
            keys.first().copied().unwrap_or("sleepTimeSeconds")
        ))),
    }
}

/// Reads a flavor the catalog offers.
pub(crate) fn flavor(app: &App, field: &str, text: &str) -> Result<Flavor, ApiError> {
    app.catalog
        .require_flavor(text)
        .map(|s| s.id.clone())
        .map_err(|e| ApiError::bad_request(format!("`{field}`: {e}")))
}

fn settings(app: &App, body: &Body) -> Result<Settings, ApiError> {
    let visibility = visibility(body)?;
    let hardware = match body.str(&["hardware"])? {
        None | Some("") => None,
        Some(h) => Some(flavor(app, "hardware", h)?),
    };
    let sleep_time = sleep_seconds(body, &["sleepTimeSeconds", "sleepTime"])?;
    if sleep_time.is_some() && hardware.as_ref().is_none_or(|h| *h == Flavor::CpuBasic) {
        return Err(ApiError::bad_request(
            "`sleepTimeSeconds`: Cannot change the sleep time for cpu-basic Spaces: free hardware \
             sleeps after a fixed 48 hours; request paid hardware to set a sleep time",
        ));
    }
    let storage = body
        .str(&["storageTier", "storage"])?
        .map(|t| {
            t.parse::<StorageTier>()
                .map_err(|e| ApiError::bad_request(format!("`storageTier`: {e}")))
        })
        .transpose()?;
    let mut secrets = Vec::new();
    if let Some((field, items)) = body.array(&["secrets"])? {
        for kv in key_values(field, items, true)? {
            EnvName::new(&kv.key).map_err(|e| ApiError::bad_request(format!("`{field}`: {e}")))?;
            secrets.push((
                kv.key,
                Secret::new(kv.value.unwrap_or_default()),
                kv.description,
            ));
        }
    }
    let mut variables = Vec::new();
    let mut variable_descriptions = BTreeMap::new();
    if let Some((field, items)) = body.array(&["variables"])? {
        for kv in key_values(field, items, true)? {
            EnvName::new(&kv.key).map_err(|e| ApiError::bad_request(format!("`{field}`: {e}")))?;
            variable_descriptions.insert(kv.key.clone(), kv.description);
            variables.push((kv.key, kv.value.unwrap_or_default()));
        }
    }
    if body
        .array(&["volumes"])?
        .is_some_and(|(_, v)| !v.is_empty())
    {
        return Err(ApiError::bad_request(
            "`volumes`: volumes are not offered by this server (use persistent storage: `storageTier`)",
        ));
    }
    if body.bool(&["devModeEnabled"])? == Some(true) {
        return Err(ApiError::bad_request(
            "`devModeEnabled`: Dev Mode is not offered by this server",
        ));
    }
    Ok(Settings {
        visibility,
        options: CreateOptions {
            hardware,
            sleep_time,
            storage,
            secrets,
            variables,
            title: None,
        },
        variable_descriptions,
    })
}

fn conflict(origin: &Origin, id: &SpaceId) -> ApiError {
    ApiError::Conflict {
        message: "You already created this space repo".into(),
        url: Some(origin.space_url(id)),
    }
}

/// Creates the Space, writes its files and metadata, pushes its first revision.
async fn create_space(
    app: &App,
    origin: &Origin,
    id: SpaceId,
    sdk: Sdk,
    settings: Settings,
    files: RepoFiles,
    duplicated_from: Option<SpaceId>,
) -> Result<SpaceMeta, ApiError> {
    if app.registry.get(&id).is_some() {
        return Err(conflict(origin, &id));
    }
    let visibility = settings.visibility.unwrap_or(Visibility::Public);
    let mut options = settings.options;
    options.title = files.title.clone();
    let status = match app.sup.create_with(id.clone(), sdk, visibility, options) {
        Ok(s) => s,
        Err(spaces_runtime::Error::Conflict { what }) if what.contains("already exists") => {
            return Err(conflict(origin, &id))
        }
        Err(e) => return Err(e.into()),
    };
    // The Space's repository: a first commit of its files, or a copy of the source's.
    let git_dir = crate::git::repo_path(&app.data, &id);
    let made = {
        let (git_dir, content) = (git_dir.clone(), files.files.clone());
        let source = duplicated_from
            .as_ref()
            .map(|from| crate::git::repo_path(&app.data, from));
        tokio::task::spawn_blocking(move || match source {
            Some(src) if src.is_dir() => {
                crate::git::copy_repo(&src, &git_dir)?;
                crate::git::head(&git_dir)?
                    .ok_or_else(|| std::io::Error::other("the source repository has no `main`"))
            }
            _ => crate::git::init(&git_dir, &content, "initial commit"),
        })
        .await
    };
    let sha = match made {
        Ok(Ok(sha)) => sha,
        Ok(Err(e)) => {
            let _ = app.sup.delete(&id).await;
            let _ = std::fs::remove_dir_all(&git_dir);
            return Err(ApiError::internal(format!(
                "making the Space's repository: {e}"
            )));
        }
        Err(e) => {
            let _ = app.sup.delete(&id).await;
            let _ = std::fs::remove_dir_all(&git_dir);
            return Err(ApiError::internal(format!(
                "making the Space's repository: {e}"
            )));
        }
    };
    let duplicated_from = duplicated_from.map(|d| d.to_string());
    let meta = SpaceMeta {
        oid: object_id(&format!("{id}@{}", status.created_at)),
        created_at: status.created_at,
        last_modified: status.created_at,
        sha: Some(sha.clone()),
        card_data: files.card_data.clone(),
        files: files.files.keys().cloned().collect(),
        variables: settings
            .variable_descriptions
            .into_iter()
            .map(|(k, description)| {
                (
                    k,
                    VariableMeta {
                        description,
                        updated_at: status.created_at,
                    },
                )
            })
            .collect(),
        app_file: files.app_file.as_ref().map(|p| p.as_str().to_owned()),
        app_port: files.app_port,
        duplicated_from,
    };
    let dir = repo::repo_dir(&app.data, &id);
    let written = {
        let (dir, content) = (dir.clone(), files.files.clone());
        tokio::task::spawn_blocking(move || repo::write_dir(&dir, &content)).await
    };
    let saved = match written {
        Ok(Ok(())) => app.db.put_meta(&id, &meta).map_err(ApiError::from),
        Ok(Err(e)) => Err(ApiError::internal(format!(
            "writing the Space's files: {e}"
        ))),
        Err(e) => Err(ApiError::internal(format!(
            "writing the Space's files: {e}"
        ))),
    };
    if let Err(e) = saved {
        // Undo the create: nothing was acknowledged.
        let _ = app.sup.delete(&id).await;
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&git_dir);
        return Err(e);
    }
    app.registry.insert(
        id.clone(),
        Entry {
            visibility,
            created_at: status.created_at,
            saved: Some(std::sync::Arc::new(meta.clone())),
        },
    );
    app.spawn_build(id, sha);
    Ok(meta)
}

/// `POST /api/repos/create`.
pub(crate) async fn create(
    State(app): State<App>,
    caller: Caller,
    origin: Origin,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let p = caller.require_write()?;
    match body.str(&["type"])? {
        Some("space") => {}
        other => {
            return Err(ApiError::bad_request(format!(
                "`type`: this server hosts Spaces only: `type` must be \"space\" (got {})",
                other
                    .map(|t| format!("\"{t}\""))
                    .unwrap_or_else(|| "none".into())
            )))
        }
    }
    let name = body.required_str("name")?;
    let (owner, short) = match (body.str(&["organization"])?, name.split_once('/')) {
        (Some(org), None) => (org.to_owned(), name.to_owned()),
        (None, Some((o, n))) => (o.to_owned(), n.to_owned()),
        (None, None) => (p.user.clone(), name.to_owned()),
        (Some(org), Some((o, n))) if o == org => (o.to_owned(), n.to_owned()),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "`name` names another namespace than `organization`",
            ))
        }
    };
    let id = SpaceId::from_parts(&owner, &short)
        .map_err(|e| ApiError::bad_request(format!("`name`: {e}")))?;
    let sdk: Sdk = body
        .str(&["sdk"])?
        .ok_or_else(|| {
            ApiError::bad_request(
                "`sdk` is required for a Space: gradio, docker, static or streamlit",
            )
        })?
        .parse()
        .map_err(|e| ApiError::bad_request(format!("`sdk`: {e}")))?;
    let settings = settings(&app, &body)?;
    if body.get(&["template"]).is_some() {
        return Err(ApiError::bad_request(
            "`template`: Space templates are not offered by this server",
        ));
    }
    let files = match body.array(&["files"])? {
        Some((_, items)) => repo::parse_files(items)?,
        None => BTreeMap::new(),
    };
    let card = CardInput {
        short_description: body.str(&["short_description"])?.map(str::to_owned),
        license: body.str(&["license"])?.map(str::to_owned),
        sdk_version: body.str(&["sdkVersion"])?.map(str::to_owned),
    };
    let files = repo::initial(&id, sdk, files, &card)?;
    let mut settings = settings;
    // The README's `suggested_*` apply at creation, where the body says nothing (as on the Hub;
    // static Spaces have no hardware or storage).
    if sdk.has_runtime() && settings.options.hardware.is_none() {
        if let Some(f) = &files.suggested_hardware {
            if app.catalog.require_flavor(f.as_str()).is_ok() && *f != spaces_core::Flavor::CpuBasic
            {
                settings.options.hardware = Some(f.clone());
            }
        }
    }
    if sdk.has_runtime() && settings.options.storage.is_none() {
        settings.options.storage = files.suggested_storage;
    }
    if !p.acts_for(&owner) {
        return Err(ApiError::forbidden(format!(
            "You don't have the rights to create a Space under the namespace `{owner}`"
        )));
    }
    let meta = create_space(&app, &origin, id.clone(), sdk, settings, files, None).await?;
    Ok(Json(json!({
        "url": origin.space_url(&id),
        "name": id.as_str(),
        "id": meta.oid,
    })))
}

/// `DELETE /api/repos/delete`.
pub(crate) async fn delete(
    State(app): State<App>,
    caller: Caller,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.require()?;
    match body.str(&["type"])? {
        Some("space") => {}
        other => {
            return Err(ApiError::bad_request(format!(
                "`type`: this server hosts Spaces only: `type` must be \"space\" (got {})",
                other
                    .map(|t| format!("\"{t}\""))
                    .unwrap_or_else(|| "none".into())
            )))
        }
    }
    let name = body.required_str("name")?;
    let (owner, short) = match (body.str(&["organization"])?, name.split_once('/')) {
        (Some(org), None) => (org.to_owned(), name.to_owned()),
        (_, Some((o, n))) => (o.to_owned(), n.to_owned()),
        (None, None) => (caller.require()?.user.clone(), name.to_owned()),
    };
    let id = super::space_id(&owner, &short)?;
    app.writable(&caller, &id)?;
    app.sup.delete(&id).await.map_err(|e| match e {
        spaces_runtime::Error::NotFound { .. } => ApiError::RepoNotFound { id: id.to_string() },
        other => other.into(),
    })?;
    app.registry.remove(&id);
    app.db.remove_meta(id.as_str())?;
    let _ = std::fs::remove_dir_all(repo::repo_dir(&app.data, &id));
    let _ = std::fs::remove_dir_all(crate::git::repo_path(&app.data, &id));
    crate::xet::remove_space(&app.data, &id);
    Ok(Json(json!({})))
}

/// `POST /api/spaces/{id}/duplicate`.
pub(crate) async fn duplicate(
    State(app): State<App>,
    Path((namespace, name)): Path<(String, String)>,
    caller: Caller,
    origin: Origin,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let from = super::space_id(&namespace, &name)?;
    caller.require()?;
    let source = app.readable(&caller, &from)?;
    let p = caller.require_write()?;
    let target = match body.str(&["repository"])? {
        Some(r) if r.contains('/') => r.to_owned(),
        Some(r) => format!("{}/{r}", p.user),
        None => format!("{}/{}", p.user, from.name()),
    };
    let to: SpaceId = target
        .parse()
        .map_err(|e| ApiError::bad_request(format!("`repository`: {e}")))?;
    let mut settings = settings(&app, &body)?;
    if !p.acts_for(to.owner()) {
        return Err(ApiError::forbidden(format!(
            "You don't have the rights to create a Space under the namespace `{}`",
            to.owner()
        )));
    }
    let status = app.status(&from)?;
    // Variables are public and copied; those of the body win. Secrets are not copied.
    let source_meta = source.meta(&from);
    let mut variables: BTreeMap<String, String> = app.sup.variables(&from)?;
    for (k, v) in std::mem::take(&mut settings.options.variables) {
        variables.insert(k, v);
    }
    for k in variables.keys() {
        if !settings.variable_descriptions.contains_key(k) {
            let d = source_meta
                .variables
                .get(k)
                .and_then(|m| m.description.clone());
            settings.variable_descriptions.insert(k.clone(), d);
        }
    }
    settings.options.variables = variables.into_iter().collect();
    settings.visibility = Some(settings.visibility.unwrap_or(Visibility::Private));
    let dir = repo::repo_dir(&app.data, &from);
    let files = match tokio::task::spawn_blocking(move || repo::read_dir(&dir)).await {
        Ok(Ok(f)) => f,
        _ => BTreeMap::new(),
    };
    let files = repo::describe(status.sdk, files)?;
    create_space(
        &app,
        &origin,
        to.clone(),
        status.sdk,
        settings,
        files,
        Some(from.clone()),
    )
    .await?;
    Ok(Json(json!({
        "url": origin.space_url(&to),
        "filesCopyPending": false,
    })))
}
