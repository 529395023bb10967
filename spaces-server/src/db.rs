//! The server's own tables, in the supervisor's SQLite file (`<data>/state/supervisor.sqlite`),
//! through a connection of its own: users, organisations and their members, tokens (their
//! SHA-256 only) and the server-side metadata of each Space. All tables are prefixed `server_`
//! so they never meet the supervisor's.
//!
//! The connection runs in WAL mode with `synchronous=FULL` (a write is on disk when it returns)
//! and a busy timeout, so the CLI (`users add`, `tokens create`) can write while a server runs.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

use crate::error::Error;

/// The supervisor's database file inside `<data>/state`.
pub const DB_FILE: &str = "supervisor.sqlite";

/// The connection to the server's tables.
#[derive(Debug)]
pub struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS server_namespaces (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'org')),
    fullname TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS server_members (
    org TEXT NOT NULL,
    user TEXT NOT NULL,
    PRIMARY KEY (org, user)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS server_tokens (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('read', 'write')),
    display_name TEXT NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS server_wake (
    id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS server_spaces (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) WITHOUT ROWID;
";

impl Db {
    /// Opens (creating if needed) `<data>/state/supervisor.sqlite` and the server's tables. The
    /// state folder is made 0700 and a new database file 0600, as the supervisor does.
    pub fn open(data: &Path) -> Result<Self, Error> {
        let state = data.join("state");
        let path = state.join(DB_FILE);
        let err = |doing: &str| {
            let (p, d) = (path.display().to_string(), doing.to_owned());
            move |source| Error::Db {
                path: p,
                doing: d,
                source,
            }
        };
        let io = |doing: &str, source: std::io::Error| Error::Io {
            context: format!("{doing} ({})", path.display()),
            source,
        };
        std::fs::create_dir_all(&state).map_err(|e| io("creating the state folder", e))?;
        let _ = std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io("creating the database file", e))?;
        let conn = Connection::open(&path).map_err(err("opening"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;",
        )
        .map_err(err("setting WAL mode"))?;
        conn.execute_batch(SCHEMA)
            .map_err(err("creating the tables"))?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// Records the Spaces that serve when the server stops, to start them again at the next
    /// start (replacing any earlier record).
    pub fn set_wake(&self, ids: &[String]) -> Result<(), Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(self.err("starting a transaction"))?;
        tx.execute("DELETE FROM server_wake", [])
            .map_err(self.err("clearing the wake list"))?;
        for id in ids {
            tx.execute("INSERT OR IGNORE INTO server_wake (id) VALUES (?1)", [id])
                .map_err(self.err("recording the wake list"))?;
        }
        tx.commit().map_err(self.err("committing the wake list"))
    }

    /// The Spaces recorded by [`Db::set_wake`].
    pub fn wake_list(&self) -> Result<Vec<String>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id FROM server_wake")
            .map_err(self.err("reading the wake list"))?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(self.err("reading the wake list"))?;
        Ok(ids)
    }

    /// The connection (one at a time).
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wraps a SQLite error with what was being done.
    pub(crate) fn err(&self, doing: &str) -> impl FnOnce(rusqlite::Error) -> Error {
        let (path, doing) = (self.path.display().to_string(), doing.to_owned());
        move |source| Error::Db {
            path,
            doing,
            source,
        }
    }
}
