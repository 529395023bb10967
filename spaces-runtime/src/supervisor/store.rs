//! The supervisor's durable state: one embedded SQLite database (`<state>/supervisor.sqlite`)
//! holding every Space and the **outbox** of usage events.
//!
//! A transition's new state and its usage events are written in **one transaction**
//! ([`Store::commit`]): after a crash at any point either both are there or neither is. The
//! outbox is then delivered to the [`UsageSink`](super::UsageSink) at least once (see
//! `outbox.rs`); each event carries an id that is never reused (`owner/name#<store>.<n>`: `n`
//! is a counter of this database, `<store>` a tag drawn when the database was created), so a
//! sink that keeps ids (the ledger) applies a redelivery once.
//!
//! The database runs in WAL mode with `synchronous=FULL`: a commit is on disk when it returns.
//! It is created with mode 0600 (it holds secret values: the supervisor must hand them to apps
//! after a restart); SQLite gives its `-wal` and `-shm` files the same mode. Keep the state folder
//! private.

use std::collections::BTreeMap;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use spaces_core::{
    AppPath, Flavor, LifecycleSnapshot, Revision, Sdk, SpaceId, Stage, StorageTier, Timestamp,
    Visibility,
};

use super::usage::{UsageChange, UsageEvent};
use crate::runtime::Image;
use crate::Error;

/// The database's file name inside the state folder.
pub(crate) const DB_FILE: &str = "supervisor.sqlite";

/// What is saved of one Space. Holds secret values: deliberately no `Debug`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SavedSpace {
    pub(crate) id: SpaceId,
    pub(crate) visibility: Visibility,
    pub(crate) title: Option<String>,
    pub(crate) lifecycle: LifecycleSnapshot,
    pub(crate) app_file: AppPath,
    pub(crate) app_port: u16,
    /// The folder (under the Space's repository folder) holding the current revision's files.
    #[serde(default)]
    pub(crate) source: Option<String>,
    pub(crate) variables: BTreeMap<String, String>,
    pub(crate) secrets: BTreeMap<String, SavedSecret>,
    pub(crate) image: Option<SavedImage>,
    #[serde(default)]
    pub(crate) build_error: Option<String>,
    #[serde(default)]
    pub(crate) runtime_error: Option<String>,
    #[serde(default)]
    pub(crate) created_at: Option<Timestamp>,
    #[serde(default)]
    pub(crate) build_log: Vec<String>,
}

/// A secret as saved. Deliberately no `Debug`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SavedSecret {
    pub(crate) value: String,
    pub(crate) description: Option<String>,
    pub(crate) updated_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SavedImage {
    reference: String,
    revision: Revision,
    sdk: Sdk,
    app_file: AppPath,
}

impl SavedImage {
    pub(crate) fn from_image(i: &Image) -> Self {
        Self {
            reference: i.reference.clone(),
            revision: i.revision.clone(),
            sdk: i.sdk,
            app_file: i.app_file.clone(),
        }
    }

    pub(crate) fn into_image(self, space: SpaceId) -> Image {
        Image {
            reference: self.reference,
            space,
            revision: self.revision,
            sdk: self.sdk,
            app_file: self.app_file,
        }
    }
}

/// What a commit does to a Space's row.
pub(crate) enum Row<'a> {
    /// Insert or replace it.
    Put(&'a SavedSpace),
    /// Remove it (the Space is gone).
    Remove(&'a SpaceId),
}

/// The state folder and its database.
#[derive(Debug)]
pub(crate) struct Store {
    root: PathBuf,
    path: PathBuf,
    tag: String,
    conn: Mutex<Connection>,
}

pub(crate) fn db_err(path: &Path, doing: &str) -> impl FnOnce(rusqlite::Error) -> Error {
    let path = path.display().to_string();
    let doing = doing.to_owned();
    move |e| Error::CorruptState {
        path,
        reason: format!("{doing}: {e}"),
    }
}

impl Store {
    /// Opens (or creates) the state folder and its database.
    pub(crate) fn open(root: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(root.join("repos")).map_err(Error::io(format!(
            "creating {}",
            root.join("repos").display()
        )))?;
        let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700));
        let (path, conn) = open_database(root)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS spaces (id TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS outbox (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL UNIQUE,
                 at TEXT NOT NULL,
                 space TEXT NOT NULL,
                 kind TEXT NOT NULL,
                 value TEXT
             );
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
        )
        .map_err(db_err(&path, "preparing the schema"))?;
        let tag: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='tag'", [], |r| r.get(0))
            .optional()
            .map_err(db_err(&path, "reading the store tag"))?;
        let tag = match tag {
            Some(t) => t,
            None => {
                let t = new_tag(root);
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('tag', ?1), ('usage_seq', '0')",
                    params![t],
                )
                .map_err(db_err(&path, "writing the store tag"))?;
                t
            }
        };
        Ok(Self {
            root: root.to_path_buf(),
            path,
            tag,
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the supervisor keeps a Space's pushed files: one folder per pushed revision below.
    pub(crate) fn repo_dir(&self, id: &SpaceId) -> PathBuf {
        self.root.join("repos").join(id.owner()).join(id.name())
    }

    /// Hands every saved Space to `each`, by id, one at a time (a million Spaces are never all
    /// decoded at once).
    pub(crate) fn load_each(
        &self,
        mut each: impl FnMut(SavedSpace) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, doc FROM spaces ORDER BY id")
            .map_err(db_err(&self.path, "listing Spaces"))?;
        let mut rows = stmt
            .query([])
            .map_err(db_err(&self.path, "listing Spaces"))?;
        while let Some(row) = rows.next().map_err(db_err(&self.path, "listing Spaces"))? {
            let id: String = row.get(0).map_err(db_err(&self.path, "reading a Space"))?;
            let doc = match row.get_ref(1) {
                Ok(v) => v
                    .as_bytes()
                    .map_err(|e| db_err(&self.path, "reading a Space")(e.into()))?,
                Err(e) => return Err(db_err(&self.path, "reading a Space")(e)),
            };
            let saved: SavedSpace =
                serde_json::from_slice(doc).map_err(|e| Error::CorruptState {
                    path: format!("{} (Space {id})", self.path.display()),
                    reason: e.to_string(),
                })?;
            each(saved)?;
        }
        Ok(())
    }

    /// Writes a Space's row and its usage events in one transaction; returns the events with
    /// their ids. On error nothing was written.
    pub(crate) fn commit(
        &self,
        row: Row<'_>,
        usage: &[(Timestamp, SpaceId, UsageChange)],
    ) -> Result<Vec<UsageEvent>, Error> {
        let doc = match &row {
            Row::Put(s) => Some(serde_json::to_string(s).map_err(|e| Error::CorruptState {
                path: self.path.display().to_string(),
                reason: format!("encoding {}: {e}", s.id),
            })?),
            _ => None,
        };
        let mut conn = self.conn();
        let fail = db_err(&self.path, "committing a change");
        let tx = conn
            .transaction()
            .map_err(db_err(&self.path, "committing a change"))?;
        let mut events = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            match (&row, &doc) {
                (Row::Put(s), Some(doc)) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO spaces (id, doc) VALUES (?1, ?2)",
                        params![s.id.as_str(), doc],
                    )?;
                }
                (Row::Remove(id), _) => {
                    tx.execute("DELETE FROM spaces WHERE id = ?1", params![id.as_str()])?;
                }
                (Row::Put(_), None) => {}
            }
            events = append_usage(&tx, &self.tag, usage)?;
            Ok(())
        })();
        match result {
            Ok(()) => tx.commit().map_err(fail)?,
            Err(e) => return Err(fail(e)),
        }
        Ok(events)
    }

    /// Writes many Spaces and usage events in one transaction: new ones (`replace` false: an id
    /// that exists is a conflict and nothing is written) or changed ones.
    pub(crate) fn put_many(
        &self,
        spaces: &[SavedSpace],
        usage: &[(Timestamp, SpaceId, UsageChange)],
        replace: bool,
    ) -> Result<(), Error> {
        let mut conn = self.conn();
        let fail = db_err(&self.path, "writing Spaces");
        let tx = conn
            .transaction()
            .map_err(db_err(&self.path, "writing Spaces"))?;
        let result = (|| -> Result<(), Error> {
            {
                let mut stmt = tx
                    .prepare_cached(if replace {
                        "INSERT OR REPLACE INTO spaces (id, doc) VALUES (?1, ?2)"
                    } else {
                        "INSERT INTO spaces (id, doc) VALUES (?1, ?2)"
                    })
                    .map_err(db_err(&self.path, "writing Spaces"))?;
                for s in spaces {
                    let doc = serde_json::to_string(s).map_err(|e| Error::CorruptState {
                        path: self.path.display().to_string(),
                        reason: format!("encoding {}: {e}", s.id),
                    })?;
                    stmt.execute(params![s.id.as_str(), doc]).map_err(|e| {
                        if let rusqlite::Error::SqliteFailure(f, _) = &e {
                            if f.code == rusqlite::ErrorCode::ConstraintViolation {
                                return Error::Conflict {
                                    what: format!("Space {} already exists", s.id),
                                };
                            }
                        }
                        db_err(&self.path, "writing Spaces")(e)
                    })?;
                }
            }
            append_usage(&tx, &self.tag, usage).map_err(db_err(&self.path, "writing Spaces"))?;
            Ok(())
        })();
        match result {
            Ok(()) => tx.commit().map_err(fail),
            Err(e) => Err(e),
        }
    }

    /// Up to `limit` undelivered usage events, oldest first, with their outbox sequence numbers.
    pub(crate) fn pending(&self, limit: usize) -> Result<Vec<(i64, UsageEvent)>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, id, at, space, kind, value FROM outbox ORDER BY seq LIMIT ?1",
            )
            .map_err(db_err(&self.path, "reading the outbox"))?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(db_err(&self.path, "reading the outbox"))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, id, at, space, kind, value) =
                row.map_err(db_err(&self.path, "reading the outbox"))?;
            let bad = |reason: String| Error::CorruptState {
                path: format!("{} (outbox event {id})", self.path.display()),
                reason,
            };
            let at: Timestamp = at.parse().map_err(|e| bad(format!("time: {e}")))?;
            let space: SpaceId = space.parse().map_err(|e| bad(format!("{e}")))?;
            let change = match (kind.as_str(), value) {
                ("stage", Some(v)) => {
                    UsageChange::Stage(v.parse::<Stage>().map_err(|e| bad(format!("{e}")))?)
                }
                ("hardware", Some(v)) => {
                    UsageChange::Hardware(v.parse::<Flavor>().map_err(|e| bad(format!("{e}")))?)
                }
                ("storage", None) => UsageChange::Storage(None),
                ("storage", Some(v)) => UsageChange::Storage(Some(
                    v.parse::<StorageTier>().map_err(|e| bad(format!("{e}")))?,
                )),
                (k, _) => return Err(bad(format!("unknown kind {k}"))),
            };
            out.push((
                seq,
                UsageEvent {
                    at,
                    space,
                    change,
                    id: Some(id),
                },
            ));
        }
        Ok(out)
    }

    /// Removes delivered events (every sequence number up to `last`).
    pub(crate) fn mark_delivered(&self, last: i64) -> Result<(), Error> {
        self.conn()
            .execute("DELETE FROM outbox WHERE seq <= ?1", params![last])
            .map(|_| ())
            .map_err(db_err(&self.path, "clearing delivered events"))
    }

    /// How many usage events wait for delivery.
    pub(crate) fn pending_count(&self) -> Result<u64, Error> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(db_err(&self.path, "counting the outbox"))
    }
}

/// Opens (or creates, with mode 0600) the database file `<root>/supervisor.sqlite` in WAL mode
/// with `synchronous=FULL`: the one connection setup of the supervisor's store and of the tables
/// kept beside it (the GPU assignments of [`crate::nvidia::GpuAllocator`]).
pub(crate) fn open_database(root: &Path) -> Result<(PathBuf, Connection), Error> {
    std::fs::create_dir_all(root).map_err(Error::io(format!("creating {}", root.display())))?;
    let path = root.join(DB_FILE);
    // Create the file with mode 0600 before SQLite does (it would use 0644).
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .map_err(Error::io(format!("creating {}", path.display())))?;
    let conn = Connection::open(&path).map_err(db_err(&path, "opening"))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL;
         PRAGMA synchronous=FULL;
         PRAGMA busy_timeout=10000;",
    )
    .map_err(db_err(&path, "preparing the connection"))?;
    Ok((path, conn))
}

/// Appends usage events to the outbox inside `tx`, numbered on from the store's counter (which
/// moves on in the same transaction: a number is never handed out twice).
fn append_usage(
    tx: &rusqlite::Transaction<'_>,
    tag: &str,
    usage: &[(Timestamp, SpaceId, UsageChange)],
) -> rusqlite::Result<Vec<UsageEvent>> {
    if usage.is_empty() {
        return Ok(Vec::new());
    }
    let seq: String = tx.query_row("SELECT value FROM meta WHERE key='usage_seq'", [], |r| {
        r.get(0)
    })?;
    let mut n: u64 = seq.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let mut events = Vec::with_capacity(usage.len());
    let mut insert = tx.prepare_cached(
        "INSERT INTO outbox (id, at, space, kind, value) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (at, space, change) in usage {
        n += 1;
        let id = format!("{space}#{tag}.{n}");
        let (kind, value) = change_columns(change);
        insert.execute(params![id, at.to_string(), space.as_str(), kind, value])?;
        events.push(UsageEvent {
            at: *at,
            space: space.clone(),
            change: change.clone(),
            id: Some(id),
        });
    }
    drop(insert);
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key='usage_seq'",
        params![n.to_string()],
    )?;
    Ok(events)
}

fn change_columns(change: &UsageChange) -> (&'static str, Option<String>) {
    match change {
        UsageChange::Stage(s) => ("stage", Some(s.as_str().to_owned())),
        UsageChange::Hardware(f) => ("hardware", Some(f.as_str().to_owned())),
        UsageChange::Storage(t) => ("storage", t.map(|t| t.as_str().to_owned())),
    }
}

/// A tag for a new database: distinct per creation (time, process, folder), so that ids of a
/// store made again after its folder was wiped never repeat those a ledger already holds.
fn new_tag(root: &Path) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(root.as_os_str().as_encoded_bytes());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}
