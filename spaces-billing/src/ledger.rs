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
//! - Events without an id are stored with no id and always appended (the log format gives nothing
//!   to recognise a retry by); they are exported without an id. A writer that retries after a
//!   crash must give its events ids.
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
//! let e = UsageEvent::parse_line(r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"storage","tier":"small","id":"s1"}"#)?;
//! assert!(ledger.append(&e)?.is_new());
//! assert!(!ledger.append(&e)?.is_new()); // a retry: stored once
//! assert_eq!(ledger.len()?, 1);
//! let invoice = ledger.usage_log(&Catalog::seed())?.invoice("2026-11".parse::<Period>()?)?;
//! assert_eq!(invoice.total.to_string(), "5.00");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::Write;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use spaces_core::Catalog;

use crate::error::Error;
use crate::event::{parse_jsonl, UsageEvent};
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
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::init(Connection::open(path)?)
    }

    /// A ledger in memory (not durable; for tests and tools).
    pub fn open_in_memory() -> Result<Self, Error> {
        Self::init(Connection::open_in_memory()?)
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
        Ok(Ledger { conn })
    }

    /// Appends one event, durably: when this returns `Ok`, the event is stored (once).
    pub fn append(&mut self, event: &UsageEvent) -> Result<Appended, Error> {
        let tx = self.conn.transaction()?;
        let appended = insert(&tx, event)?;
        tx.commit()?;
        Ok(appended)
    }

    /// Appends events in order, in one transaction: all are stored, or none. Returns how many
    /// were new.
    pub fn append_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a UsageEvent>,
    ) -> Result<usize, Error> {
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
            out.push(
                UsageEvent::parse_line(line).map_err(|p| Error::CorruptLedger {
                    seq,
                    problem: p.to_string(),
                })?,
            );
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

/// Inserts one event unless its id is stored already.
fn insert(conn: &Connection, event: &UsageEvent) -> Result<Appended, Error> {
    let line = event.to_json_line();
    let inserted = conn.execute(
        "INSERT INTO events (id, line) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
        params![event.id, line],
    )?;
    if inserted == 1 {
        return Ok(Appended::New(conn.last_insert_rowid()));
    }
    let seq: i64 = conn.query_row("SELECT seq FROM events WHERE id = ?1", [&event.id], |r| {
        r.get(0)
    })?;
    Ok(Appended::Duplicate(seq))
}
