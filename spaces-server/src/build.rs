//! A build of a commit on `main`: its tree written out (never a work tree someone else is
//! writing) into a folder of its own under `<data>/builds/<owner>/<name>/`, its README front
//! matter checked with spaces-config, the Space's metadata moved to the commit, and the folder
//! pushed to the supervisor as the commit's revision (the old revision serving meanwhile). A
//! README with an error is pushed as a configuration error: the Space is `CONFIG_ERROR` and
//! the runtime's `errorMessage` is `README.md:LINE:COLUMN: message`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use spaces_core::{AppPath, Revision, Sdk, SpaceId};
use spaces_runtime::supervisor::PushSettings;

use crate::App;

static BUILDS: AtomicU64 = AtomicU64::new(0);

/// One build of a Space at a time: a build that waited and whose commit is no longer the head of
/// `main` is skipped (the newer commit builds), so an older commit never replaces a newer one.
fn turn(id: &SpaceId) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static TURNS: std::sync::OnceLock<
        std::sync::Mutex<
            std::collections::HashMap<SpaceId, std::sync::Arc<tokio::sync::Mutex<()>>>,
        >,
    > = std::sync::OnceLock::new();
    let map = TURNS.get_or_init(Default::default);
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    std::sync::Arc::clone(m.entry(id.clone()).or_default())
}

/// What a README says for a push.
#[derive(Debug, Default)]
pub(crate) struct ReadmeCheck {
    /// Push settings (app file, port, title; the configuration error, if any).
    pub settings: PushSettings,
    /// The front matter as JSON (`cardData`).
    pub card_data: serde_json::Value,
}

/// Checks a README for a Space of `sdk`: a missing README or front matter uses the SDK's
/// defaults; an error is line-precise (`README.md:LINE:COLUMN: message`).
pub(crate) fn check_readme(sdk: Sdk, readme: Option<&[u8]>) -> ReadmeCheck {
    let mut out = ReadmeCheck::default();
    let Some(bytes) = readme else {
        return out;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        out.settings.config_error = Some("README.md:1:1: README.md is not UTF-8".into());
        return out;
    };
    let Ok(fm) = spaces_config::FrontMatter::find(text) else {
        return out;
    };
    out.card_data =
        serde_yaml::from_str::<serde_json::Value>(fm.yaml(text)).unwrap_or(serde_json::Value::Null);
    let checked = match spaces_config::check_readme(text) {
        Ok(c) => c,
        Err(e) => {
            out.settings.config_error = Some(format!("README.md: {e}"));
            return out;
        }
    };
    if let Some(d) = checked.errors().next() {
        out.settings.config_error =
            Some(format!("README.md:{}:{}: {}", d.line, d.column, d.message));
        return out;
    }
    let Some(config) = checked.config else {
        out.settings.config_error = Some("README.md:1:1: the front matter cannot be used".into());
        return out;
    };
    if config.sdk != sdk {
        out.settings.config_error = Some(format!(
            "README.md: `sdk: {}` but this Space's SDK is `{}` (the SDK is chosen at creation)",
            config.sdk.as_str(),
            sdk.as_str()
        ));
        return out;
    }
    out.settings.app_file = config.app_file.clone();
    out.settings.app_port = config.app_port;
    out.settings.title = config.title.clone();
    out
}

/// The folder of one build of a Space.
fn build_dir(data: &Path, id: &SpaceId, commit: &str) -> PathBuf {
    let n = BUILDS.fetch_add(1, Ordering::Relaxed);
    data.join("builds")
        .join(id.owner())
        .join(id.name())
        .join(format!("{commit}-{}-{n}", std::process::id()))
}

impl App {
    /// Builds `commit` (a commit of the Space's repository, the new head of `main`) in the
    /// background: see the module docs.
    ///
    /// The receiver hears once the supervisor has committed the push (the runtime then shows the
    /// new `sha` and a building stage); it hears nothing (an error) when the commit is not built.
    /// The build goes on whether anyone waits or not.
    pub(crate) fn spawn_build(
        &self,
        id: SpaceId,
        commit: String,
    ) -> tokio::sync::oneshot::Receiver<()> {
        let (committed, heard) = tokio::sync::oneshot::channel();
        let Ok(revision) = Revision::new(&commit) else {
            tracing::error!(space = %id, "bad commit id");
            return heard;
        };
        // `sha` is the commit at once (as `space_info` answers on the Hub right after a commit);
        // files and card data follow when the build reads the commit.
        {
            let _turn = self.meta_lock.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = self.registry.get(&id) {
                let mut meta = (*entry.meta(&id)).clone();
                if meta.sha.as_deref() != Some(commit.as_str()) {
                    meta.sha = Some(commit.clone());
                    meta.last_modified = spaces_core::Clock::now(&spaces_core::SystemClock);
                    if let Err(e) = self.db.put_meta(&id, &meta) {
                        tracing::warn!(space = %id, error = %e, "saving a Space's metadata");
                    }
                    self.registry.set_meta(&id, meta);
                }
            }
        }
        let app = self.clone();
        self.pushing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
        tokio::spawn(async move {
            let result = app.build(&id, &commit, revision, committed).await;
            app.pushing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            if let Err(e) = result {
                tracing::warn!(space = %id, commit, error = %e, "build of a commit failed");
            }
        });
        heard
    }

    async fn build(
        &self,
        id: &SpaceId,
        commit: &str,
        revision: Revision,
        committed: tokio::sync::oneshot::Sender<()>,
    ) -> Result<(), String> {
        let turn = turn(id);
        let _turn = turn.lock().await;
        let status = self.sup.status(id).map_err(|e| e.to_string())?;
        let repo = crate::git::repo_path(&self.data, id);
        let r = repo.clone();
        let head = tokio::task::spawn_blocking(move || crate::git::head(&r))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if head.as_deref() != Some(commit) {
            tracing::info!(space = %id, commit, "not the head of main any more: not built");
            return Ok(());
        }
        let dir = build_dir(&self.data, id, commit);
        let (repo2, dir2, commit2) = (repo.clone(), dir.clone(), commit.to_owned());
        let data = self.data.clone();
        let written = tokio::task::spawn_blocking(move || {
            if let Some(p) = dir2.parent() {
                std::fs::create_dir_all(p)?;
            }
            let readme = crate::git::checkout(&repo2, &commit2, &dir2, &data)?;
            let names = crate::git::files(&repo2, &commit2)?;
            Ok::<_, std::io::Error>((readme, names.into_keys().collect::<Vec<_>>()))
        })
        .await
        .map_err(|e| e.to_string())?;
        let (readme, names) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(format!("writing out the commit: {e}"));
            }
        };
        let check = check_readme(status.sdk, readme.get("README.md").map(Vec::as_slice));
        self.move_meta(id, commit, &check, names);
        let result = self
            .sup
            .push_notified(id, &dir, revision, check.settings, Some(committed))
            .await;
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(&dir)).await;
        result.map(|_| ()).map_err(|e| e.to_string())
    }

    /// The Space's metadata at a new commit: `sha`, card data, files, last modified.
    fn move_meta(&self, id: &SpaceId, commit: &str, check: &ReadmeCheck, names: Vec<String>) {
        let _turn = self.meta_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = self.registry.get(id) else {
            return;
        };
        let mut meta = (*entry.meta(id)).clone();
        meta.sha = Some(commit.to_owned());
        meta.files = names;
        meta.last_modified = spaces_core::Clock::now(&spaces_core::SystemClock);
        if check.settings.config_error.is_none() {
            meta.card_data = check.card_data.clone();
            meta.app_file = check.settings.app_file.as_ref().map(AppPath::to_string);
            meta.app_port = check.settings.app_port;
        }
        if let Err(e) = self.db.put_meta(id, &meta) {
            tracing::warn!(space = %id, error = %e, "saving a Space's metadata");
        }
        self.registry.set_meta(id, meta);
    }
}
