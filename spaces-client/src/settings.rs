//! Secrets and variables (hub-api.md §5.3, §6.4): `GET/POST/DELETE
//! /api/spaces/{id}/secrets` and `.../variables`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spaces_core::{Secret, SpaceId, Timestamp};

use crate::client::Client;
use crate::error::Error;
use crate::retry::{Call, Idempotent};

/// A secret as listed: never its value (secrets are write-only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpaceSecret {
    /// The name.
    pub key: String,
    /// Its description, if one was set.
    pub description: Option<String>,
    /// When it was last set (`updatedAt`).
    pub updated_at: Option<Timestamp>,
}

/// A variable (public, copied by duplicates).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpaceVariable {
    /// The name.
    pub key: String,
    /// The value.
    pub value: String,
    /// Its description, if one was set.
    pub description: Option<String>,
    /// When it was last set (`updatedAt`).
    pub updated_at: Option<Timestamp>,
}

/// A secret to set at creation or duplication: `{"key","value","description"?}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSecret {
    /// The name.
    pub key: String,
    /// The value (never shown by `Debug`).
    pub value: Secret,
    /// An optional description.
    pub description: Option<String>,
}

/// A variable to set at creation or duplication: `{"key","value","description"?}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVariable {
    /// The name.
    pub key: String,
    /// The value.
    pub value: String,
    /// An optional description.
    pub description: Option<String>,
}

impl NewSecret {
    pub(crate) fn to_json(&self) -> Value {
        entry(&self.key, self.value.expose(), self.description.as_deref())
    }
}

impl NewVariable {
    pub(crate) fn to_json(&self) -> Value {
        entry(&self.key, &self.value, self.description.as_deref())
    }
}

fn entry(key: &str, value: &str, description: Option<&str>) -> Value {
    let mut v = json!({"key": key, "value": value});
    if let Some(d) = description {
        v["description"] = json!(d);
    }
    v
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "updatedAt")]
    updated_at: Option<String>,
}

fn items(url: &str, v: Value) -> Result<BTreeMap<String, Item>, Error> {
    serde_json::from_value(v).map_err(|e| Error::Decode {
        url: url.to_owned(),
        message: e.to_string(),
    })
}

fn variables_of(url: &str, v: Value) -> Result<Vec<SpaceVariable>, Error> {
    Ok(items(url, v)?
        .into_iter()
        .map(|(key, i)| SpaceVariable {
            key,
            value: i.value.unwrap_or_default(),
            description: i.description,
            updated_at: i.updated_at.and_then(|t| t.parse().ok()),
        })
        .collect())
}

impl Client {
    fn settings_url(&self, id: &SpaceId, what: &str) -> String {
        self.api(&format!("spaces/{id}/{what}"))
    }

    /// `GET /api/spaces/{id}/secrets`: the secrets' names, descriptions and update times, by
    /// name.
    pub async fn secrets(&self, id: &SpaceId) -> Result<Vec<SpaceSecret>, Error> {
        let url = self.settings_url(id, "secrets");
        let v: Value = self
            .send_json(Call::new(Method::GET, url.clone(), Idempotent::Yes))
            .await?;
        Ok(items(&url, v)?
            .into_iter()
            .map(|(key, i)| SpaceSecret {
                key,
                description: i.description,
                updated_at: i.updated_at.and_then(|t| t.parse().ok()),
            })
            .collect())
    }

    /// `POST /api/spaces/{id}/secrets` `{"key","value","description"?}`: adds or overwrites a
    /// secret.
    pub async fn add_secret(
        &self,
        id: &SpaceId,
        key: &str,
        value: &Secret,
        description: Option<&str>,
    ) -> Result<(), Error> {
        let url = self.settings_url(id, "secrets");
        let body = entry(key, value.expose(), description);
        self.send_unit(Call::new(Method::POST, url, Idempotent::Yes).json(body))
            .await
    }

    /// `DELETE /api/spaces/{id}/secrets` `{"key"}` (200 for an unknown key too).
    pub async fn delete_secret(&self, id: &SpaceId, key: &str) -> Result<(), Error> {
        let url = self.settings_url(id, "secrets");
        self.send_unit(Call::new(Method::DELETE, url, Idempotent::Yes).json(json!({"key": key})))
            .await
    }

    /// `GET /api/spaces/{id}/variables`, by name.
    pub async fn variables(&self, id: &SpaceId) -> Result<Vec<SpaceVariable>, Error> {
        let url = self.settings_url(id, "variables");
        let v: Value = self
            .send_json(Call::new(Method::GET, url.clone(), Idempotent::Yes))
            .await?;
        variables_of(&url, v)
    }

    /// `POST /api/spaces/{id}/variables` `{"key","value","description"?}`: adds or overwrites
    /// a variable; answers every variable after the change.
    pub async fn add_variable(
        &self,
        id: &SpaceId,
        key: &str,
        value: &str,
        description: Option<&str>,
    ) -> Result<Vec<SpaceVariable>, Error> {
        let url = self.settings_url(id, "variables");
        let v: Value = self
            .send_json(
                Call::new(Method::POST, url.clone(), Idempotent::Yes).json(entry(
                    key,
                    value,
                    description,
                )),
            )
            .await?;
        variables_of(&url, v)
    }

    /// `DELETE /api/spaces/{id}/variables` `{"key"}`; answers every variable after the change.
    pub async fn delete_variable(
        &self,
        id: &SpaceId,
        key: &str,
    ) -> Result<Vec<SpaceVariable>, Error> {
        let url = self.settings_url(id, "variables");
        let v: Value = self
            .send_json(
                Call::new(Method::DELETE, url.clone(), Idempotent::Yes).json(json!({"key": key})),
            )
            .await?;
        variables_of(&url, v)
    }
}
