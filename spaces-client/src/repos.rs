//! Creating, duplicating and deleting Spaces: `POST /api/repos/create` (hub-api.md §5.1),
//! `POST /api/spaces/{from}/duplicate` (§5.2), `DELETE /api/repos/delete`, and
//! `GET /api/whoami-v2`.

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};
use spaces_core::{Flavor, Sdk, SpaceId, StorageTier, Visibility};

use crate::client::Client;
use crate::error::Error;
use crate::retry::{Call, Idempotent};
use crate::runtime::SleepTime;
use crate::settings::{NewSecret, NewVariable};

/// The URL of a created or duplicated Space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RepoUrl {
    /// `url`: `<endpoint>/spaces/<owner>/<name>`.
    pub url: String,
    /// The Space.
    pub id: SpaceId,
    /// Whether the repository existed already (a 409 that `exist_ok` accepted).
    pub existed: bool,
    /// `filesCopyPending` of a duplicate: large files still being copied.
    pub files_copy_pending: bool,
    /// The answer as received (for a 409 accepted by `exist_ok`, the error body).
    pub raw: Value,
}

/// The options of [`Client::create`]: what the Space starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateSpace {
    /// `sdk` (required).
    pub sdk: Sdk,
    /// `visibility`; not sent when `None` (the server's default, public).
    pub visibility: Option<Visibility>,
    /// `hardware`.
    pub hardware: Option<Flavor>,
    /// `storageTier` (huggingface_hub ≤ 1.33; removed in 2.0).
    pub storage: Option<StorageTier>,
    /// `sleepTimeSeconds` (-1 for never).
    pub sleep_time: Option<SleepTime>,
    /// `secrets`.
    pub secrets: Vec<NewSecret>,
    /// `variables`.
    pub variables: Vec<NewVariable>,
    /// Accept a 409 (the Space exists) and answer its URL, like `exist_ok=True`.
    pub exist_ok: bool,
}

impl CreateSpace {
    /// A public Space of this SDK, nothing else set.
    pub fn new(sdk: Sdk) -> Self {
        Self {
            sdk,
            visibility: None,
            hardware: None,
            storage: None,
            sleep_time: None,
            secrets: Vec::new(),
            variables: Vec::new(),
            exist_ok: false,
        }
    }

    /// The JSON body for `id`.
    pub fn body(&self, id: &SpaceId) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(id.name()));
        m.insert("organization".into(), json!(id.owner()));
        if let Some(v) = self.visibility {
            m.insert("visibility".into(), json!(v.as_str()));
        }
        m.insert("type".into(), json!("space"));
        m.insert("sdk".into(), json!(self.sdk.as_str()));
        options(
            &mut m,
            self.hardware.as_ref(),
            self.storage,
            self.sleep_time,
            &self.secrets,
            &self.variables,
        );
        Value::Object(m)
    }
}

/// The options of [`Client::duplicate`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DuplicateSpace {
    /// `visibility` (the Hub's default for duplicates is private).
    pub visibility: Option<Visibility>,
    /// `hardware`.
    pub hardware: Option<Flavor>,
    /// `storageTier` (huggingface_hub ≤ 1.33).
    pub storage: Option<StorageTier>,
    /// `sleepTimeSeconds`.
    pub sleep_time: Option<SleepTime>,
    /// `secrets` (not copied from the source).
    pub secrets: Vec<NewSecret>,
    /// `variables` (the source's are copied; these are added).
    pub variables: Vec<NewVariable>,
    /// Accept a 409 and answer the existing Space's URL.
    pub exist_ok: bool,
}

impl DuplicateSpace {
    /// The JSON body for a copy named `to`.
    pub fn body(&self, to: &SpaceId) -> Value {
        let mut m = Map::new();
        m.insert("repository".into(), json!(to.as_str()));
        if let Some(v) = self.visibility {
            m.insert("visibility".into(), json!(v.as_str()));
        }
        options(
            &mut m,
            self.hardware.as_ref(),
            self.storage,
            self.sleep_time,
            &self.secrets,
            &self.variables,
        );
        Value::Object(m)
    }
}

fn options(
    m: &mut Map<String, Value>,
    hardware: Option<&Flavor>,
    storage: Option<StorageTier>,
    sleep: Option<SleepTime>,
    secrets: &[NewSecret],
    variables: &[NewVariable],
) {
    if let Some(h) = hardware {
        m.insert("hardware".into(), json!(h.as_str()));
    }
    if let Some(s) = storage {
        m.insert("storageTier".into(), json!(s.as_str()));
    }
    if let Some(s) = sleep {
        m.insert("sleepTimeSeconds".into(), json!(s.to_wire()));
    }
    if !secrets.is_empty() {
        m.insert(
            "secrets".into(),
            Value::Array(secrets.iter().map(NewSecret::to_json).collect()),
        );
    }
    if !variables.is_empty() {
        m.insert(
            "variables".into(),
            Value::Array(variables.iter().map(NewVariable::to_json).collect()),
        );
    }
}

fn url_of(url: &str, v: &Value) -> Result<String, Error> {
    v.get("url")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Decode {
            url: url.to_owned(),
            message: "the answer has no `url`".into(),
        })
}

impl Client {
    /// `POST /api/repos/create` with `type: "space"`: creates a Space. With
    /// [`CreateSpace::exist_ok`], a 409 answers the existing Space's URL from its body.
    pub async fn create(&self, id: &SpaceId, options: &CreateSpace) -> Result<RepoUrl, Error> {
        let url = self.api("repos/create");
        let call = Call::new(Method::POST, url.clone(), Idempotent::No).json(options.body(id));
        match self.send_json::<Value>(call).await {
            Ok(v) => Ok(RepoUrl {
                url: url_of(&url, &v)?,
                id: id.clone(),
                existed: false,
                files_copy_pending: false,
                raw: v,
            }),
            Err(Error::Conflict {
                url: Some(existing),
                ..
            }) if options.exist_ok => Ok(RepoUrl {
                url: existing.clone(),
                id: id.clone(),
                existed: true,
                files_copy_pending: false,
                raw: json!({"url": existing}),
            }),
            Err(e) => Err(e),
        }
    }

    /// `POST /api/spaces/{from}/duplicate`: copies a Space to `to` (a full `owner/name`).
    pub async fn duplicate(
        &self,
        from: &SpaceId,
        to: &SpaceId,
        options: &DuplicateSpace,
    ) -> Result<RepoUrl, Error> {
        let url = self.api(&format!("spaces/{from}/duplicate"));
        let call = Call::new(Method::POST, url.clone(), Idempotent::No).json(options.body(to));
        match self.send_json::<Value>(call).await {
            Ok(v) => Ok(RepoUrl {
                url: url_of(&url, &v)?,
                id: to.clone(),
                existed: false,
                files_copy_pending: v
                    .get("filesCopyPending")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                raw: v,
            }),
            Err(Error::Conflict {
                url: Some(existing),
                ..
            }) if options.exist_ok => Ok(RepoUrl {
                url: existing.clone(),
                id: to.clone(),
                existed: true,
                files_copy_pending: false,
                raw: json!({"url": existing}),
            }),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /api/repos/delete` `{"name","organization","type":"space"}`: deletes a Space
    /// and everything in it. With `missing_ok`, a missing Space is not an error.
    pub async fn delete(&self, id: &SpaceId, missing_ok: bool) -> Result<(), Error> {
        let url = self.api("repos/delete");
        let body = json!({"name": id.name(), "organization": id.owner(), "type": "space"});
        match self
            .send_unit(Call::new(Method::DELETE, url, Idempotent::No).json(body))
            .await
        {
            Err(Error::RepoNotFound { .. }) if missing_ok => Ok(()),
            other => other,
        }
    }

    /// `GET /api/whoami-v2`: the token's user (`name`, `orgs`, ...), as sent.
    pub async fn whoami(&self) -> Result<Value, Error> {
        self.send_json(Call::new(
            Method::GET,
            self.api("whoami-v2"),
            Idempotent::Yes,
        ))
        .await
    }
}
