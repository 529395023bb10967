//! The supervisor's saved state: one JSON file per Space under `<state>/spaces/<owner>/<name>.json`,
//! always written atomically (temporary file, rename), so that a new supervisor over the same
//! state folder finds every Space as it was.
//!
//! Changes of what the owner set (revision, hardware, storage, sleep time, secrets, variables) are
//! also fsynced (file and folder) before the operation returns. Stage-only changes (sleep, wake,
//! healthy) are not: they are the hot path of a wake, a process crash loses none of them (the
//! rename is atomic), and after a machine crash every instance is gone anyway, which recovery
//! handles (`InstanceLost`). The usage ledger, not this file, is the billing record.
//!
//! Secrets are saved with their values (the supervisor must hand them to the app after a restart);
//! the files are created with mode 0600. Keep the state folder private.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use spaces_core::{AppPath, LifecycleSnapshot, Revision, Sdk, SpaceId, Timestamp, Visibility};

use crate::runtime::Image;
use crate::Error;

/// What is saved of one Space.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SavedSpace {
    pub(crate) id: SpaceId,
    pub(crate) visibility: Visibility,
    pub(crate) title: Option<String>,
    pub(crate) lifecycle: LifecycleSnapshot,
    pub(crate) app_file: AppPath,
    pub(crate) app_port: u16,
    pub(crate) variables: BTreeMap<String, String>,
    pub(crate) secrets: BTreeMap<String, SavedSecret>,
    pub(crate) image: Option<SavedImage>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
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

/// The state folder.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    root: PathBuf,
}

impl Store {
    pub(crate) fn open(root: &Path) -> Result<Self, Error> {
        for sub in ["spaces", "repos"] {
            std::fs::create_dir_all(root.join(sub))
                .map_err(Error::io(format!("creating {}", root.join(sub).display())))?;
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn file(&self, id: &SpaceId) -> PathBuf {
        self.root
            .join("spaces")
            .join(id.owner())
            .join(format!("{}.json", id.name()))
    }

    /// Where the supervisor keeps the files of a Space's latest pushed revision.
    pub(crate) fn repo_dir(&self, id: &SpaceId) -> PathBuf {
        self.root.join("repos").join(id.owner()).join(id.name())
    }

    pub(crate) fn save(&self, saved: &SavedSpace, durable: bool) -> Result<(), Error> {
        let path = self.file(&saved.id);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let json = serde_json::to_vec_pretty(saved).map_err(|e| Error::CorruptState {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&json)?;
            if durable {
                f.sync_all()?;
            }
            std::fs::rename(&tmp, &path)?;
            if durable {
                std::fs::File::open(&dir)?.sync_all()?;
            }
            Ok(())
        };
        write().map_err(Error::io(format!("saving {}", path.display())))
    }

    /// Reads, increments and durably saves the epoch counter (`<state>/epoch`).
    pub(crate) fn next_epoch(&self) -> Result<u64, Error> {
        let path = self.root.join("epoch");
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse::<u64>()
                .map_err(|e| Error::CorruptState {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(Error::io(format!("reading {}", path.display()))(e)),
        };
        let next = current + 1;
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(next.to_string().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.root)?.sync_all()
        };
        write().map_err(Error::io(format!("saving {}", path.display())))?;
        Ok(next)
    }

    pub(crate) fn remove(&self, id: &SpaceId) -> Result<(), Error> {
        let path = self.file(id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(format!("removing {}", path.display()))(e))
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn load_all(&self) -> Result<Vec<SavedSpace>, Error> {
        let mut out = Vec::new();
        let owners = std::fs::read_dir(self.root.join("spaces"))
            .map_err(Error::io("listing saved Spaces"))?;
        for owner in owners {
            let owner = owner.map_err(Error::io("listing saved Spaces"))?;
            if !owner.path().is_dir() {
                continue;
            }
            let files =
                std::fs::read_dir(owner.path()).map_err(Error::io("listing saved Spaces"))?;
            for file in files {
                let path = file.map_err(Error::io("listing saved Spaces"))?.path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let text = std::fs::read(&path)
                    .map_err(Error::io(format!("reading {}", path.display())))?;
                let saved: SavedSpace =
                    serde_json::from_slice(&text).map_err(|e| Error::CorruptState {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })?;
                out.push(saved);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}
