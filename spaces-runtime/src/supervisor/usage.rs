//! Usage events: every stage, hardware and storage change of a Space, in the log format of
//! `shared/spec/billing.md`, handed to a [`UsageSink`] (the ledger of spaces-billing, a JSONL
//! file, memory).

use std::fmt::Debug;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use spaces_core::{Flavor, SpaceId, Stage, StorageTier, Timestamp};

use crate::Error;

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageChange {
    /// The stage.
    Stage(Stage),
    /// The hardware the Space runs on.
    Hardware(Flavor),
    /// The storage tier held (`None`: deleted).
    Storage(Option<StorageTier>),
}

/// One usage event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageEvent {
    /// When it happened.
    pub at: Timestamp,
    /// The Space.
    pub space: SpaceId,
    /// What changed.
    pub change: UsageChange,
    /// A unique id (`owner/name#seq`), so that a ledger ignores replays.
    pub id: String,
}

impl UsageEvent {
    /// The event as one line of the billing log (JSON, no newline).
    ///
    /// ```
    /// use spaces_runtime::supervisor::{UsageChange, UsageEvent};
    /// use spaces_core::Stage;
    /// let e = UsageEvent {
    ///     at: "2026-11-01T00:00:00Z".parse().unwrap(),
    ///     space: "alice/demo".parse().unwrap(),
    ///     change: UsageChange::Stage(Stage::Running),
    ///     id: "alice/demo#1".into(),
    /// };
    /// assert_eq!(
    ///     e.to_json_line(),
    ///     r#"{"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"stage","stage":"RUNNING","id":"alice/demo#1"}"#
    /// );
    /// ```
    pub fn to_json_line(&self) -> String {
        // Written by hand to keep billing.md's field order; strings go through serde_json for
        // their escapes.
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let (kind, field, value) = match &self.change {
            UsageChange::Stage(s) => ("stage", "stage", q(s.as_str())),
            UsageChange::Hardware(f) => ("hardware", "flavor", q(f.as_str())),
            UsageChange::Storage(t) => (
                "storage",
                "tier",
                t.map_or("null".to_owned(), |t| q(t.as_str())),
            ),
        };
        format!(
            "{{\"at\":{},\"space\":{},\"kind\":\"{kind}\",\"{field}\":{value},\"id\":{}}}",
            q(&self.at.to_string()),
            q(self.space.as_str()),
            q(&self.id)
        )
    }
}

/// Where usage events go. Object-safe; `record` must return only once the event is durable
/// (for sinks that promise durability).
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

    #[test]
    fn every_kind_of_line_keeps_the_billing_field_order() {
        let e = |change| UsageEvent {
            at: "2026-11-01T00:00:00.5Z".parse().unwrap(),
            space: "alice/demo".parse().unwrap(),
            change,
            id: "alice/demo#1.7".into(),
        };
        assert_eq!(
            e(UsageChange::Storage(None)).to_json_line(),
            r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"storage","tier":null,"id":"alice/demo#1.7"}"#
        );
        assert_eq!(
            e(UsageChange::Hardware(Flavor::T4Small)).to_json_line(),
            r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"hardware","flavor":"t4-small","id":"alice/demo#1.7"}"#
        );
        let line = e(UsageChange::Storage(Some(StorageTier::Large))).to_json_line();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["tier"], "large");
    }
}
