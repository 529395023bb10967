//! [`SpaceInfo`] (hub-api.md §6.6): what `GET /api/spaces/{id}` answers and `GET /api/spaces`
//! lists, and [`Sibling`] (a file of the repository).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use spaces_core::{Sdk, SpaceId, Timestamp};

use crate::runtime::{SpaceRuntime, Wire};

/// A file of the Space's repository (`siblings[]`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Sibling {
    /// Its path.
    pub rfilename: String,
    /// Its size in bytes (with `blobs=true`).
    #[serde(default)]
    pub size: Option<u64>,
    /// Its git blob id (with `blobs=true`).
    #[serde(default, rename = "blobId")]
    pub blob_id: Option<String>,
    /// Its LFS pointer fields (`size`, `sha256`, `pointerSize`), when stored in LFS.
    #[serde(default)]
    pub lfs: Option<Value>,
}

/// A Space's metadata. Serializes back as [`SpaceInfo::raw`], the object as received; keys this
/// build does not model are there.
#[derive(Clone, Debug, PartialEq)]
pub struct SpaceInfo {
    /// `id`.
    pub id: SpaceId,
    /// `author`.
    pub author: Option<String>,
    /// `sha`: the head commit.
    pub sha: Option<String>,
    /// `createdAt`.
    pub created_at: Option<Timestamp>,
    /// `lastModified`.
    pub last_modified: Option<Timestamp>,
    /// `private`.
    pub private: Option<bool>,
    /// `gated`: `false`, `"auto"` or `"manual"`, as sent.
    pub gated: Option<Value>,
    /// `disabled`.
    pub disabled: Option<bool>,
    /// `host`: the app's URL.
    pub host: Option<String>,
    /// `subdomain`.
    pub subdomain: Option<String>,
    /// `likes`.
    pub likes: Option<u64>,
    /// `sdk`.
    pub sdk: Option<Wire<Sdk>>,
    /// `trendingScore`.
    pub trending_score: Option<serde_json::Number>,
    /// `usedStorage` in bytes.
    pub used_storage: Option<u64>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `models`.
    pub models: Vec<String>,
    /// `datasets`.
    pub datasets: Vec<String>,
    /// `cardData`: the README front matter as parsed by the server.
    pub card_data: Option<Value>,
    /// `siblings`: `None` when absent.
    pub siblings: Option<Vec<Sibling>>,
    /// `runtime`.
    pub runtime: Option<SpaceRuntime>,
    /// `region`.
    pub region: Option<String>,
    /// `resourceGroup`.
    pub resource_group: Option<Value>,
    /// The whole object as received.
    pub raw: Value,
}

impl SpaceInfo {
    /// Decodes an info object: only a missing or invalid `id` fails.
    pub fn from_json(v: Value) -> Result<SpaceInfo, String> {
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| "the Space info has no `id`".to_owned())?;
        let id: SpaceId = id
            .parse()
            .map_err(|e| format!("the Space info's `id`: {e}"))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let b = |k: &str| v.get(k).and_then(Value::as_bool);
        let ts = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .and_then(|t| t.parse().ok())
        };
        let list = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let present = |k: &str| v.get(k).filter(|x| !x.is_null()).cloned();
        Ok(SpaceInfo {
            id,
            author: s("author"),
            sha: s("sha"),
            created_at: ts("createdAt"),
            last_modified: ts("lastModified"),
            private: b("private"),
            gated: present("gated"),
            disabled: b("disabled"),
            host: s("host"),
            subdomain: s("subdomain"),
            likes: v.get("likes").and_then(Value::as_u64),
            sdk: s("sdk").map(|x| Wire::from_wire(&x)),
            trending_score: v.get("trendingScore").and_then(|n| n.as_number().cloned()),
            used_storage: v.get("usedStorage").and_then(Value::as_u64),
            tags: list("tags"),
            models: list("models"),
            datasets: list("datasets"),
            card_data: present("cardData"),
            siblings: v.get("siblings").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|x| serde_json::from_value(x.clone()).ok())
                    .collect()
            }),
            runtime: v
                .get("runtime")
                .filter(|r| r.is_object())
                .and_then(|r| SpaceRuntime::from_json(r.clone()).ok()),
            region: s("region"),
            resource_group: present("resourceGroup"),
            raw: v,
        })
    }
}

impl<'de> Deserialize<'de> for SpaceInfo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        SpaceInfo::from_json(v).map_err(serde::de::Error::custom)
    }
}

impl Serialize for SpaceInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}
