//! Server-side metadata of a Space: what the Hub shows that the supervisor does not keep (its
//! object id, `createdAt`/`lastModified`, the revision's `sha`, its files, the card data of its
//! README, the descriptions and update times of variables), saved as one JSON document per Space
//! in the `server_spaces` table, and an in-memory [`Registry`] of every Space (id, visibility,
//! creation time, metadata) that listing and access checks read without touching the supervisor.
//!
//! **Consistency with the supervisor.** A Space is created in the supervisor first, then its
//! metadata is written; it is deleted in the supervisor first, then its metadata. A crash in
//! between leaves a Space without metadata (it gets defaults: an id derived from its name, its
//! creation time from the supervisor) or metadata without a Space (dropped at the next start):
//! [`Registry::reconcile`] runs at every start.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rusqlite::params;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spaces_core::{SpaceId, Timestamp, Visibility};
use spaces_runtime::supervisor::SpaceStatus;

use crate::db::Db;
use crate::error::Error as DbError;

/// A variable's description and update time (the value is the supervisor's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableMeta {
    /// The description, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the value or description was last set.
    pub updated_at: Timestamp,
}

/// What the server keeps about a Space besides the supervisor's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpaceMeta {
    /// The Hub's `_id`: 24 hex digits.
    pub oid: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its files last changed.
    pub last_modified: Timestamp,
    /// The revision the server pushed last (hex); the supervisor's once that push committed.
    #[serde(default)]
    pub sha: Option<String>,
    /// The README front matter, as JSON (`cardData`).
    #[serde(default)]
    pub card_data: serde_json::Value,
    /// The revision's file paths (`siblings`), sorted.
    #[serde(default)]
    pub files: Vec<String>,
    /// Descriptions and update times of variables, by name.
    #[serde(default)]
    pub variables: BTreeMap<String, VariableMeta>,
    /// The app file the README names, for pushes.
    #[serde(default)]
    pub app_file: Option<String>,
    /// The app port the README names, for pushes.
    #[serde(default)]
    pub app_port: Option<u16>,
    /// The Space this one was duplicated from.
    #[serde(default)]
    pub duplicated_from: Option<String>,
}

impl SpaceMeta {
    /// Defaults for a Space created at `created_at` that has no saved metadata.
    pub fn defaults(id: &SpaceId, created_at: Timestamp) -> Self {
        Self {
            oid: object_id(id.as_str()),
            created_at,
            last_modified: created_at,
            sha: None,
            card_data: serde_json::Value::Null,
            files: Vec::new(),
            variables: BTreeMap::new(),
            app_file: None,
            app_port: None,
            duplicated_from: None,
        }
    }
}

/// A stable 24-hex object id derived from a text.
pub fn object_id(seed: &str) -> String {
    let d = Sha256::digest(seed.as_bytes());
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

impl Db {
    /// Saves a Space's metadata (replacing it).
    pub fn put_meta(&self, id: &SpaceId, meta: &SpaceMeta) -> Result<(), DbError> {
        let doc = serde_json::to_string(meta).unwrap_or_default();
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO server_spaces (id, doc) VALUES (?1, ?2)",
                params![id.as_str(), doc],
            )
            .map_err(self.err("saving a Space's metadata"))?;
        Ok(())
    }

    /// Removes a Space's metadata.
    pub fn remove_meta(&self, id: &str) -> Result<(), DbError> {
        self.conn()
            .execute("DELETE FROM server_spaces WHERE id = ?1", [id])
            .map_err(self.err("removing a Space's metadata"))?;
        Ok(())
    }

    /// Every saved metadata document that parses, by id (one that does not is logged and
    /// skipped: the Space gets defaults).
    pub fn load_metas(&self) -> Result<HashMap<String, SpaceMeta>, DbError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, doc FROM server_spaces")
            .map_err(self.err("reading metadata"))?;
        let mut rows = stmt.query([]).map_err(self.err("reading metadata"))?;
        let mut out = HashMap::new();
        while let Some(row) = rows.next().map_err(self.err("reading metadata"))? {
            let id: String = row.get(0).map_err(self.err("reading metadata"))?;
            let doc: String = row.get(1).map_err(self.err("reading metadata"))?;
            match serde_json::from_str(&doc) {
                Ok(meta) => {
                    out.insert(id, meta);
                }
                Err(e) => {
                    tracing::warn!(space = %id, error = %e, "damaged Space metadata: defaults used")
                }
            }
        }
        Ok(out)
    }
}

/// One Space in the registry (small: a million of them are held).
#[derive(Clone, Debug)]
pub struct Entry {
    /// Who may see it.
    pub visibility: Visibility,
    /// When it was created.
    pub created_at: Timestamp,
    /// Its saved metadata; `None` when it has none (defaults apply, see [`Entry::meta`]).
    pub saved: Option<Arc<SpaceMeta>>,
}

impl Entry {
    /// The Space's metadata: the saved one, or defaults.
    pub fn meta(&self, id: &SpaceId) -> Arc<SpaceMeta> {
        match &self.saved {
            Some(m) => Arc::clone(m),
            None => Arc::new(SpaceMeta::defaults(id, self.created_at)),
        }
    }
}

/// Every Space the server knows, by id: what listing and access checks need.
#[derive(Debug, Default)]
pub struct Registry {
    map: RwLock<BTreeMap<SpaceId, Entry>>,
}

impl Registry {
    /// Reads the registry.
    pub fn read(&self) -> RwLockReadGuard<'_, BTreeMap<SpaceId, Entry>> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<SpaceId, Entry>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }

    /// One Space's entry.
    pub fn get(&self, id: &SpaceId) -> Option<Entry> {
        self.read().get(id).cloned()
    }

    /// Adds or replaces a Space.
    pub fn insert(&self, id: SpaceId, entry: Entry) {
        self.write().insert(id, entry);
    }

    /// Forgets a Space.
    pub fn remove(&self, id: &SpaceId) {
        self.write().remove(id);
    }

    /// Changes a Space's visibility.
    pub fn set_visibility(&self, id: &SpaceId, visibility: Visibility) {
        if let Some(e) = self.write().get_mut(id) {
            e.visibility = visibility;
        }
    }

    /// Replaces a Space's metadata.
    pub fn set_meta(&self, id: &SpaceId, meta: SpaceMeta) {
        if let Some(e) = self.write().get_mut(id) {
            e.saved = Some(Arc::new(meta));
        }
    }

    /// Builds the registry from the supervisor's Spaces and the saved metadata: a Space without
    /// metadata gets defaults, metadata without a Space is deleted. Returns the Spaces whose
    /// saved `sha` is not the supervisor's revision (a push the server acknowledged and a crash
    /// interrupted before the supervisor committed it).
    pub fn reconcile(&self, db: &Db, spaces: Vec<SpaceStatus>) -> Result<Vec<SpaceId>, DbError> {
        let mut metas = db.load_metas()?;
        let mut map = BTreeMap::new();
        let mut unpushed = Vec::new();
        for s in spaces {
            let saved = metas.remove(s.id.as_str()).map(|m| {
                let pushed = s.revision.as_ref().map(|r| r.as_str().to_owned());
                if m.sha.is_some() && m.sha != pushed {
                    unpushed.push(s.id.clone());
                }
                Arc::new(m)
            });
            map.insert(
                s.id,
                Entry {
                    visibility: s.visibility,
                    created_at: s.created_at,
                    saved,
                },
            );
        }
        for orphan in metas.keys() {
            tracing::info!(space = %orphan, "dropping metadata of a Space the supervisor does not hold");
            db.remove_meta(orphan)?;
        }
        *self.write() = map;
        Ok(unpushed)
    }
}
