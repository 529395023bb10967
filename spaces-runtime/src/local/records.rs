//! Instance records: one small JSON file per instance, `instances/<id>.json` under the runtime's
//! root, so that a later process finds what an earlier one (killed before it could stop its
//! instances) left running.
//!
//! A record is written before the instance's folder is created (with no app yet) and written
//! again once the app process runs, each time atomically (a temporary file, `fsync`, `rename`).
//! It names the process that wrote it (`owner`) and the app's process (pid, process group, start
//! time); it holds no environment, so no secret. A stop removes the folder first and the record
//! last, so a folder never outlives its record unless a removal failed, and then the record
//! stays for the next process to clean up.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use spaces_core::SpaceId;

use super::process::ProcessRef;

/// The longest instance id accepted.
const MAX_ID_LEN: usize = 128;

/// The app process of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AppRecord {
    /// The leader's pid.
    pub pid: i32,
    /// Its process group (the leader's pid: every app leads its own group).
    pub pgid: i32,
    /// The leader's start time (`/proc/<pid>/stat` field 22), `None` where unknown.
    pub start_time: Option<u64>,
}

impl AppRecord {
    /// The leader, as a process reference.
    pub(crate) fn leader(&self) -> ProcessRef {
        ProcessRef {
            pid: self.pid,
            start_time: self.start_time,
        }
    }
}

/// What is known of one instance on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The instance id.
    pub id: String,
    /// Its Space.
    pub space: SpaceId,
    /// Where it answers HTTP.
    pub address: SocketAddr,
    /// The process that started it (a static Space is served inside it).
    pub owner: ProcessRef,
    /// The app's process; `None` for a static Space and while a Python app is being started.
    pub app: Option<AppRecord>,
}

/// Whether `id` can be an instance id of this runtime (and so a file name under `instances/`).
pub(crate) fn is_valid_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN
        && id.starts_with("local-")
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A fresh instance id, unique across processes: `local-<pid>-<start>-<n>`, where `<start>` is
/// when this process first made an id (nanoseconds, hex) and `<n>` counts ids in this process
/// (shared by every runtime in it). A later process that gets the same pid starts later.
pub(crate) fn new_id() -> String {
    static STARTED: OnceLock<u128> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let started = *STARTED.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("local-{}-{started:x}-{n}", std::process::id())
}

/// What a scan of `instances/` found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Every readable record.
    pub records: Vec<Record>,
    /// Instance folders without a record (left by a crash of an older version, or a failed
    /// cleanup whose record is gone).
    pub unrecorded: Vec<PathBuf>,
}

/// The records under one root.
#[derive(Clone, Debug)]
pub(crate) struct Records {
    dir: Arc<PathBuf>,
}

impl Records {
    /// The records in `dir` (the root's `instances/`).
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir: Arc::new(dir) }
    }

    /// An instance's folder.
    pub(crate) fn folder(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn file(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Writes a record atomically (replacing the previous one).
    pub(crate) fn write(&self, record: &Record) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        let tmp = self.dir.join(format!(".{}.json.tmp", record.id));
        {
            let mut file = std::fs::File::create(&tmp)?;
            io::Write::write_all(&mut file, &text)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, self.file(&record.id))?;
        // Make the rename itself durable; not every file system can sync a folder.
        if let Ok(dir) = std::fs::File::open(self.dir.as_path()) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// The record of `id`, if there is one.
    pub(crate) fn read(&self, id: &str) -> io::Result<Option<Record>> {
        match std::fs::read(self.file(id)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes an instance's folder and then its record.
    pub(crate) fn remove(&self, id: &str) -> io::Result<()> {
        remove_dir_if_present(&self.folder(id))?;
        match std::fs::remove_file(self.file(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every record, and the instance folders that have none. A record that cannot be read is
    /// left alone (neither listed nor removed: what it names is unknown).
    pub(crate) fn scan(&self) -> io::Result<Scan> {
        let mut scan = Scan::default();
        for entry in std::fs::read_dir(self.dir.as_path())? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(id) = name.strip_suffix(".json") {
                if is_valid_id(id) {
                    if let Ok(Some(record)) = self.read(id) {
                        scan.records.push(record);
                    }
                }
            } else if is_valid_id(name) && entry.file_type()?.is_dir() {
                // Checked again now: the record is written before the folder is made.
                if !self.file(name).exists() {
                    scan.unrecorded.push(entry.path());
                }
            }
        }
        Ok(scan)
    }
}

/// Removes a folder tree; a missing one is not an error. Does not follow a link: a link is
/// removed itself.
pub(crate) fn remove_dir_if_present(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
        Ok(_) => match std::fs::remove_file(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn ids_are_unique_and_valid_file_names() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert!(is_valid_id(&a), "{a}");
        assert!(a.starts_with(&format!("local-{}-", std::process::id())));
        for bad in [
            "",
            "local-../x",
            "local-a/b",
            "other-1",
            "local-1.json",
            "local-\u{e9}",
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
        assert!(!is_valid_id(&format!("local-{}", "1".repeat(200))));
    }

    #[test]
    fn records_round_trip_and_are_removed_with_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::new(dir.path().to_path_buf());
        let record = Record {
            id: new_id(),
            space: "alice/app".parse().unwrap(),
            address: "127.0.0.1:7860".parse().unwrap(),
            owner: ProcessRef::current(),
            app: Some(AppRecord {
                pid: 4242,
                pgid: 4242,
                start_time: Some(99),
            }),
        };
        records.write(&record).unwrap();
        std::fs::create_dir(records.folder(&record.id)).unwrap();
        std::fs::create_dir(dir.path().join("local-1-1-1")).unwrap();
        assert_eq!(records.read(&record.id).unwrap(), Some(record.clone()));
        let scan = records.scan().unwrap();
        assert_eq!(scan.records, vec![record.clone()]);
        assert_eq!(scan.unrecorded, vec![dir.path().join("local-1-1-1")]);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);

        records.remove(&record.id).unwrap();
        records.remove(&record.id).unwrap();
        assert_eq!(records.read(&record.id).unwrap(), None);
        assert!(!records.folder(&record.id).exists());
    }

    #[test]
    fn a_damaged_record_is_an_error_and_left_alone_by_scans() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::new(dir.path().to_path_buf());
        std::fs::write(dir.path().join("local-1-2-3.json"), "{not json").unwrap();
        assert!(records.read("local-1-2-3").is_err());
        assert!(records.scan().unwrap().records.is_empty());
        assert!(dir.path().join("local-1-2-3.json").exists());
    }
}
