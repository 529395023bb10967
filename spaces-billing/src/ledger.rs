//! A durable, append-only ledger of usage events on SQLite (feature `ledger`, on by default).
//!
//! # Why SQLite, and how nothing is lost or applied twice
//!
//! SQLite (bundled, through `rusqlite`) gives atomic, durable commits with a recovery procedure
//! that decades of use have tested against crashes at every point; a hand-rolled append-only file
//! would need its own framing, checksums, torn-write recovery and id index to be as safe.
//!
//! - The database runs in WAL mode with `synchronous=FULL`: a commit appends frames to the
//!   write-ahead log and fsyncs it before returning, so an append that returned `Ok` (an
//!   *acknowledged* event) survives a killed process and a power loss. (With `NORMAL`, WAL commits
//!   survive a killed process but may roll back on power loss.) WAL also lets readers (billing,
//!   export) run while a writer appends. A crash mid-commit leaves frames without a valid commit
//!   record, which recovery ignores: the event is then simply not in the ledger, and it was not
//!   acknowledged.
//! - Each append is one transaction: `INSERT ... ON CONFLICT(id) DO NOTHING` against a `UNIQUE`
//!   index on the event id. Whether a retried append's first attempt committed or not, the id is
//!   stored exactly once: appends are idempotent on event id.
//! - An id identifies one event. Appending the same event again (same id, same content) is an
//!   idempotent [`Appended::Duplicate`] (at-least-once delivery relies on it); appending a
//!   *different* event under a stored id is refused with [`Error::ConflictingEvent`], naming the id
//!   and both events, and the ledger is left unchanged (for [`Ledger::append_all`] and
//!   [`Ledger::import_jsonl`]: none of the batch is stored). Content is compared as events: the
//!   stored line is read back and compared field by field with the new event.
//! - Events without an id are stored with no id and always appended (the log format gives nothing
//!   to recognise a retry by); they are exported without an id. A writer that retries after a
//!   crash must give its events ids.
//!
//! [`Ledger::open_read_only`] reads a ledger without changing anything on disk (for billing and
//! export tools): no schema change, no journal-mode switch, and no `-wal`/`-shm` file created
//! when none was there. See its docs for how.
//!
//! Rows are never updated or deleted. The ledger's order of appends is the log's file order (it
//! decides between events with equal timestamps), and [`Ledger::export_jsonl`] writes the events
//! in that order as a usage log; [`Ledger::usage_log`] validates and bills it directly.
//!
//! ```
//! use spaces_billing::ledger::Ledger;
//! use spaces_billing::{Period, UsageEvent};
//! use spaces_core::Catalog;
//!
//! let dir = tempfile::tempdir()?;
//! let mut ledger = Ledger::open(dir.path().join("usage.db"))?;
//! let e = spaces_billing::parse_line(r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"storage","tier":"small","id":"s1"}"#)?;
//! assert!(ledger.append(&e)?.is_new());
//! assert!(!ledger.append(&e)?.is_new()); // a retry: stored once
//! let mut other = e.clone();
//! other.at = "2026-11-02T00:00:00Z".parse()?;
//! assert!(ledger.append(&other).is_err()); // another event under a stored id: refused
//! assert_eq!(ledger.len()?, 1);
//! let invoice = ledger.usage_log(&Catalog::seed())?.invoice("2026-11".parse::<Period>()?)?;
//! assert_eq!(invoice.total.to_string(), "5.00");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};
use spaces_core::Catalog;

use crate::error::Error;
use crate::event::{parse_jsonl, parse_line, UsageEvent};
use crate::usage_log::UsageLog;

/// The schema version this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// What an append did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// The event is new; it was stored with this sequence number.
    New(i64),
    /// An event with the same id was already stored, with this sequence number; nothing changed.
    Duplicate(i64),
}

impl Appended {
    /// Whether the event was new.
    pub fn is_new(self) -> bool {
        matches!(self, Appended::New(_))
    }

    /// The sequence number of the stored event.
    pub fn seq(self) -> i64 {
        match self {
            Appended::New(s) | Appended::Duplicate(s) => s,
        }
    }
}

/// The ledger: one SQLite database file (plus its `-wal` and `-shm` files).
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    /// `Some(path)` when opened with [`Ledger::open_read_only`]: appends are refused.
    read_only: Option<PathBuf>,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`, for reading and appending. This creates
    /// the schema in a new file and switches the database to WAL mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::init(Connection::open(path)?)
    }

    /// A ledger in memory (not durable; for tests and tools).
    pub fn open_in_memory() -> Result<Self, Error> {
        Self::init(Connection::open_in_memory()?)
    }

    /// Opens an existing ledger for reading only: nothing on disk changes (no schema change, no
    /// journal-mode switch), and appends are refused with [`Error::ReadOnlyLedger`].
    ///
    /// A missing path is [`Error::LedgerNotFound`]; a file that is not a ledger (not SQLite, or
    /// without this build's schema) is [`Error::NotALedger`].
    ///
    /// How it reads without writing: a WAL database opened with `SQLITE_OPEN_READONLY` still
    /// creates the `-wal` and `-shm` files beside it. So when no `-wal` (nor `-journal`) file is
    /// there (no writer has the ledger open, and every commit is in the main file), the file is
    /// opened `SQLITE_OPEN_READONLY` with `immutable=1` and copied into memory with SQLite's
    /// backup API; the copy is kept only if the file's size and modification time did not change
    /// and no `-wal` appeared meanwhile (else it is tried again, twice). When a `-wal` file is
    /// there (a writer is appending, or one crashed), the ledger is opened
    /// `SQLITE_OPEN_READONLY` in place, reading the committed events of that WAL through the
    /// existing files. Either way the events read are a consistent snapshot of the committed ones.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let not_a_ledger = |problem: String| Error::NotALedger {
            path: path.to_path_buf(),
            problem,
        };
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(not_a_ledger("it is not a file".to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::LedgerNotFound {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => return Err(not_a_ledger(format!("cannot read it: {e}"))),
        }
        let is_not_a_database =
            |e: &rusqlite::Error| matches!(e.sqlite_error_code(), Some(ErrorCode::NotADatabase));
        let opened = snapshot(path).and_then(|copy| match copy {
            Some(conn) => Ok(conn),
            None => {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(std::time::Duration::from_secs(10))?;
                Ok(conn)
            }
        });
        let conn = match opened {
            Ok(conn) => conn,
            Err(e) if is_not_a_database(&e) => return Err(not_a_ledger(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        let version: i64 = match conn.query_row("PRAGMA user_version", [], |r| r.get(0)) {
            Ok(v) => v,
            Err(e) if is_not_a_database(&e) => return Err(not_a_ledger(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        if version != SCHEMA_VERSION {
            return Err(not_a_ledger(format!(
                "schema version {version}, this build reads {SCHEMA_VERSION}"
            )));
        }
        if let Err(e) = conn.prepare("SELECT seq, id, line FROM events LIMIT 0") {
            return Err(not_a_ledger(format!("no readable `events` table ({e})")));
        }
        Ok(Ledger {
            conn,
            read_only: Some(path.to_path_buf()),
        })
    }

    /// Whether the ledger was opened with [`Ledger::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only.is_some()
    }

    /// `Err` when the ledger is read-only.
    fn writable(&self) -> Result<(), Error> {
        match &self.read_only {
            Some(path) => Err(Error::ReadOnlyLedger { path: path.clone() }),
            None => Ok(()),
        }
    }

    fn init(conn: Connection) -> Result<Self, Error> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // `journal_mode` answers with the mode in force ("memory" for in-memory databases).
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS events (
                 seq  INTEGER PRIMARY KEY AUTOINCREMENT,
                 id   TEXT UNIQUE,
                 line TEXT NOT NULL
             );",
        )?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        match version {
            0 => conn.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))?,
            SCHEMA_VERSION => {}
            other => {
                return Err(Error::CorruptLedger {
                    seq: 0,
                    problem: format!("schema version {other}, this build reads {SCHEMA_VERSION}"),
                })
            }
        }
        Ok(Ledger {
            conn,
            read_only: None,
        })
    }

    /// Appends one event, durably: when this returns `Ok`, the event is stored (once).
    ///
    /// An event whose id is stored already is a [`Appended::Duplicate`] when it is the same
    /// event, and [`Error::ConflictingEvent`] (nothing changes) when it is another one.
    pub fn append(&mut self, event: &UsageEvent) -> Result<Appended, Error> {
        self.writable()?;
        let tx = self.conn.transaction()?;
        let appended = insert(&tx, event)?;
        tx.commit()?;
        Ok(appended)
    }

    /// Appends events in order, in one transaction: all are stored, or none (for instance when
    /// one of them conflicts with a stored event, see [`Ledger::append`]). Returns how many were
    /// new.
    pub fn append_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a UsageEvent>,
    ) -> Result<usize, Error> {
        self.writable()?;
        let tx = self.conn.transaction()?;
        let mut new = 0;
        for e in events {
            if insert(&tx, e)?.is_new() {
                new += 1;
            }
        }
        tx.commit()?;
        Ok(new)
    }

    /// Imports a JSON Lines usage log: the whole log is validated against `catalog` first (a
    /// rejected log imports nothing), then its events are appended in file order, in one
    /// transaction. Returns how many were new.
    pub fn import_jsonl(&mut self, text: &str, catalog: &Catalog) -> Result<usize, Error> {
        let events = parse_jsonl(text)?;
        UsageLog::from_numbered(events.iter().cloned(), catalog)?;
        self.append_all(events.iter().map(|(_, e)| e))
    }

    /// The number of stored events.
    pub fn len(&self) -> Result<u64, Error> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        Ok(n.unsigned_abs())
    }

    /// Whether the ledger holds no event.
    pub fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.len()? == 0)
    }

    /// Whether an event with this id is stored.
    pub fn contains(&self, id: &str) -> Result<bool, Error> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM events WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Calls `f(seq, line)` for every stored event, in append order.
    fn each_line(&self, mut f: impl FnMut(i64, &str) -> Result<(), Error>) -> Result<(), Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, line FROM events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let line: String = row.get(1)?;
            f(seq, &line)?;
        }
        Ok(())
    }

    /// Every stored event, in append order.
    pub fn events(&self) -> Result<Vec<UsageEvent>, Error> {
        let mut out = Vec::new();
        self.each_line(|seq, line| {
            out.push(parse_line(line).map_err(|p| Error::CorruptLedger {
                seq,
                problem: p.to_string(),
            })?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Writes the usage log (JSON Lines, one event per line, in append order).
    pub fn export_jsonl(&self, mut out: impl Write) -> Result<(), Error> {
        self.each_line(|_, line| {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
            Ok(())
        })?;
        out.flush()?;
        Ok(())
    }

    /// The stored events as a validated [`UsageLog`], ready to bill. Errors name the line of the
    /// exported log (the 1-based position in append order).
    pub fn usage_log(&self, catalog: &Catalog) -> Result<UsageLog, Error> {
        let events = self.events()?;
        UsageLog::from_events(events, catalog)
    }
}

/// Inserts one event unless its id is stored already; an id stored with another event is
/// [`Error::ConflictingEvent`].
fn insert(conn: &Connection, event: &UsageEvent) -> Result<Appended, Error> {
    let line = event.to_json_line();
    let inserted = conn.execute(
        "INSERT INTO events (id, line) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
        params![event.id, line],
    )?;
    if inserted == 1 {
        return Ok(Appended::New(conn.last_insert_rowid()));
    }
    let (seq, stored_line): (i64, String) = conn.query_row(
        "SELECT seq, line FROM events WHERE id = ?1",
        [&event.id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if stored_line == line {
        return Ok(Appended::Duplicate(seq));
    }
    // Lines written by another build may differ in form only: compare the events.
    let stored = parse_line(&stored_line).map_err(|p| Error::CorruptLedger {
        seq,
        problem: p.to_string(),
    })?;
    if &stored == event {
        return Ok(Appended::Duplicate(seq));
    }
    Err(Error::ConflictingEvent {
        id: event.id.clone().unwrap_or_default(),
        stored: Box::new(stored),
        refused: Box::new(event.clone()),
    })
}

/// The path of a database's companion file (`-wal`, `-shm`, `-journal`).
fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// What tells that a file changed: its length and modification time.
fn fingerprint(path: &Path) -> Result<(u64, Option<std::time::SystemTime>), Error> {
    let m = std::fs::metadata(path)?;
    Ok((m.len(), m.modified().ok()))
}

/// An in-memory copy of the ledger at `path`, read without creating or changing any file; `None`
/// when that is not possible (a `-wal` or `-journal` file is there, the file kept changing, or
/// the platform has no `immutable` URI for it).
fn snapshot(path: &Path) -> Result<Option<Connection>, rusqlite::Error> {
    for _ in 0..3 {
        let busy = |suffix: &str| companion(path, suffix).exists();
        if busy("-wal") || busy("-journal") {
            return Ok(None);
        }
        let Ok(before) = fingerprint(path) else {
            return Ok(None);
        };
        let Some(uri) = immutable_uri(path) else {
            return Ok(None);
        };
        let source = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let mut copy = Connection::open_in_memory()?;
        let done = {
            let backup = rusqlite::backup::Backup::new(&source, &mut copy)?;
            matches!(backup.step(-1)?, rusqlite::backup::StepResult::Done)
        };
        drop(source);
        let unchanged = fingerprint(path).is_ok_and(|after| after == before);
        if done && unchanged && !busy("-wal") && !busy("-journal") {
            return Ok(Some(copy));
        }
    }
    Ok(None)
}

/// `file:///abs/path?immutable=1`, every byte outside `[A-Za-z0-9/._~-]` percent-encoded.
#[cfg(unix)]
fn immutable_uri(path: &Path) -> Option<String> {
    use std::fmt::Write as _;
    use std::os::unix::ffi::OsStrExt;
    let absolute = std::fs::canonicalize(path).ok()?;
    let mut uri = String::from("file://");
    for &b in absolute.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/._~-".contains(&b) {
            uri.push(char::from(b));
        } else {
            let _ = write!(uri, "%{b:02X}");
        }
    }
    uri.push_str("?immutable=1");
    Some(uri)
}

/// Not written for this platform: [`Ledger::open_read_only`] opens the file read-only in place.
#[cfg(not(unix))]
fn immutable_uri(_path: &Path) -> Option<String> {
    None
}
