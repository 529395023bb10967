//! A push: the revision's files are copied into a folder of their own (so each revision builds
//! from its own files, however quickly pushes follow), then the push event is committed and its
//! build and start run.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use spaces_core::{Actor, Event, RepoCheck, Revision, Sdk, SpaceId};

use super::{PushSettings, SpaceStatus, Supervisor};
use crate::Error;

impl Supervisor {
    /// Pushes a revision: copies `files` into a folder of its own, builds it and starts it,
    /// keeping the old version serving while the new one builds and starts. Returns once the
    /// Space is running, or failed (see `build_error` / `runtime_error`).
    pub async fn push(
        &self,
        id: &SpaceId,
        files: &Path,
        revision: Revision,
        settings: PushSettings,
    ) -> Result<SpaceStatus, Error> {
        self.push_notified(id, files, revision, settings, None)
            .await
    }

    /// [`Supervisor::push`], telling `notify` as soon as the push is committed (the stage is
    /// `BUILDING` or `RUNNING_BUILDING` and the status shows the new revision), long before the
    /// build ends: a server answers its caller then, and the build goes on in the supervisor's
    /// task. `notify` is dropped unsent when the push fails before that.
    pub async fn push_notified(
        &self,
        id: &SpaceId,
        files: &Path,
        revision: Revision,
        settings: PushSettings,
        notify: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<SpaceStatus, Error> {
        let slot = self.slot(id)?;
        // One push of this Space at a time, from the copy to the clean-up.
        let _turn = slot.pushing.lock().await;
        let (sdk, current_app_file) = {
            let m = slot.lock();
            (m.d.space.sdk(), m.d.app_file.clone())
        };
        let app_file = settings.app_file.clone().unwrap_or(current_app_file);
        let repo = self.inner.store.repo_dir(id);
        let n = self.inner.pushes.fetch_add(1, Ordering::Relaxed);
        let folder = format!("{}-{}-{n}", revision.as_str(), unique_suffix());
        let (from, to) = (files.to_path_buf(), repo.join(&folder));
        let copy = tokio::task::spawn_blocking(move || copy_tree(&from, &to))
            .await
            .map_err(|e| Error::io("copying the pushed files")(std::io::Error::other(e)))?;
        copy.map_err(Error::io(format!(
            "copying the pushed files into {}",
            repo.join(&folder).display()
        )))?;
        let target = if sdk == Sdk::Docker {
            repo.join(&folder).join("Dockerfile")
        } else {
            repo.join(&folder).join(app_file.as_path())
        };
        let check = if let Some(msg) = &settings.config_error {
            RepoCheck::ConfigError(msg.clone())
        } else if std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_file()) {
            RepoCheck::Ready
        } else {
            RepoCheck::NoAppFile
        };
        let committed = self.commit(
            &slot,
            Event::Push {
                revision,
                repo: check,
            },
            Actor::Owner,
            |_, d| {
                d.source = Some(folder.clone());
                d.app_file = app_file;
                if let Some(p) = settings.app_port {
                    d.app_port = p;
                }
                if let Some(t) = settings.title {
                    d.space.set_title(t);
                }
                if let Some(msg) = settings.config_error {
                    // The build log of a configuration error: its message, as its last line.
                    d.build_log = vec![msg.clone()];
                    d.build_error = Some(msg);
                }
                true
            },
            |_, _| {},
        );
        // The build starts now, in the supervisor's own task: a caller dropped from here on
        // strands nothing.
        let committed = committed.and_then(|c| {
            c.ok_or_else(|| Error::NotFound {
                what: format!("Space {id}"),
            })
        });
        let work = match committed {
            Ok((_, actions)) if !actions.is_empty() => {
                Ok(Some(self.spawn_actions(Arc::clone(&slot), actions)))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(e),
        };
        if work.is_ok() {
            if let Some(tx) = notify {
                let _ = tx.send(());
            }
        }
        let keep = slot.lock().d.source.clone().unwrap_or_default();
        // Folders of earlier pushes: a build still reading one is stale already.
        let _ = tokio::task::spawn_blocking(move || remove_other_folders(&repo, &keep)).await;
        if let Some(work) = work? {
            work.await
                .map_err(|e| Error::io("running a Space's effects")(std::io::Error::other(e)))??;
        }
        Ok(self.status_of(&slot))
    }
}

/// A suffix that keeps push folders apart across supervisor restarts.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// Removes every folder below `repo` except `keep`.
fn remove_other_folders(repo: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(repo) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name() != keep {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Copies a folder tree (skipping `.git` and symbolic links).
fn copy_tree(from: &Path, to: &PathBuf) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_name() == ".git" {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
