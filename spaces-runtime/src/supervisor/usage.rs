//! Usage events: every stage, hardware and storage change of a Space ([`UsageEvent`], the one
//! record type of spaces-core), handed to a [`UsageSink`] (the ledger of spaces-billing, a JSONL
//! file in the log format of `shared/spec/billing.md`, memory).

use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::Error;

/// The usage record is spaces-core's, shared with spaces-billing (one type, no conversion):
/// `UsageEvent { at, space, change, id }` with `id: Option<String>` (the supervisor always sets
/// it, `owner/name#<store>.<n>`, never reused, so that a ledger ignores replays), and
/// [`UsageEvent::to_json_line`] writes billing.md's line.
pub use spaces_core::{UsageChange, UsageEvent};

/// Where usage events go. Object-safe; `record` must return only once the event is durable
/// (for sinks that promise durability).
///
/// Delivery is **at least once**: the supervisor hands events over from its outbox in commit
/// order and removes them once taken, so a crash in between hands the same event (same id, same
/// content) over again. A durable sink keeps ids and applies each once, as spaces-billing's
/// ledger does; an error leaves the event in the outbox for a later delivery.
pub trait UsageSink: Send + Sync + Debug {
    /// Records one event.
    fn record(&self, event: &UsageEvent) -> Result<(), Error>;
}

/// Keeps events in memory (tests, the quickstart).
#[derive(Debug, Default)]
pub struct MemorySink {
    events: Mutex<Vec<UsageEvent>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event recorded so far.
    pub fn events(&self) -> Vec<UsageEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The events as a billing log (JSON Lines).
    pub fn to_jsonl(&self) -> String {
        self.events()
            .iter()
            .map(|e| e.to_json_line() + "\n")
            .collect()
    }
}

impl UsageSink for MemorySink {
    fn record(&self, event: &UsageEvent) -> Result<(), Error> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
        Ok(())
    }
}

/// Appends events to a JSON Lines file, syncing each line to disk before returning.
#[derive(Debug)]
pub struct JsonlFileSink {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl JsonlFileSink {
    /// Opens (or creates) the file for appending.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(Error::io(format!("opening {}", path.display())))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }
}

impl UsageSink for JsonlFileSink {
    fn record(&self, event: &UsageEvent) -> Result<(), Error> {
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let line = event.to_json_line() + "\n";
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(Error::io(format!("appending to {}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spaces_core::{Flavor, Stage};

    #[test]
    fn sinks_write_billing_lines() {
        let e = |change| UsageEvent {
            at: "2026-11-01T00:00:00.5Z".parse().unwrap(),
            space: "alice/demo".parse().unwrap(),
            change,
            id: Some("alice/demo#1.7".into()),
        };
        let sink = MemorySink::new();
        sink.record(&e(UsageChange::Storage(None))).unwrap();
        sink.record(&e(UsageChange::Hardware(Flavor::T4Small)))
            .unwrap();
        sink.record(&e(UsageChange::Stage(Stage::Running))).unwrap();
        assert_eq!(
            sink.to_jsonl(),
            concat!(
                r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"storage","tier":null,"id":"alice/demo#1.7"}"#,
                "\n",
                r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"hardware","flavor":"t4-small","id":"alice/demo#1.7"}"#,
                "\n",
                r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"stage","stage":"RUNNING","id":"alice/demo#1.7"}"#,
                "\n",
            )
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.jsonl");
        let file = JsonlFileSink::open(&path).unwrap();
        for event in sink.events() {
            file.record(&event).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), sink.to_jsonl());
    }
}
