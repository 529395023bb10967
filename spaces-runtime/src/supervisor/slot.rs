//! One Space as the supervisor holds it in memory: its lifecycle and settings (also saved), and
//! what runs for it right now (never saved: after a restart the runtime is asked instead).

use std::sync::{Mutex, MutexGuard};

use spaces_core::{AppPath, Lifecycle, Secret, Space, SpaceId, Stage, Timestamp};

use super::store::{SavedImage, SavedSecret, SavedSpace};
use crate::runtime::{Image, Instance};
use crate::Error;

/// The part of a Space that is saved with every change.
#[derive(Clone)]
pub(crate) struct Durable {
    pub(crate) space: Space,
    pub(crate) created_at: Timestamp,
    /// The last build's log (its last lines).
    pub(crate) build_log: Vec<String>,
    pub(crate) app_file: AppPath,
    pub(crate) app_port: u16,
    /// The folder (below the Space's repository folder) with the current revision's files.
    pub(crate) source: Option<String>,
    pub(crate) image: Option<Image>,
    pub(crate) build_error: Option<String>,
    pub(crate) runtime_error: Option<String>,
}

impl Durable {
    pub(crate) fn to_saved(&self) -> SavedSpace {
        let space = &self.space;
        SavedSpace {
            id: space.id().clone(),
            visibility: space.visibility(),
            title: space.title().map(str::to_owned),
            lifecycle: space.lifecycle().snapshot(),
            app_file: self.app_file.clone(),
            app_port: self.app_port,
            source: self.source.clone(),
            variables: space
                .variables()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect(),
            secrets: space
                .secrets()
                .iter()
                .map(|(k, e)| {
                    (
                        k.as_str().to_owned(),
                        SavedSecret {
                            value: e.value.expose().to_owned(),
                            description: e.description.clone(),
                            updated_at: e.updated_at,
                        },
                    )
                })
                .collect(),
            image: self.image.as_ref().map(SavedImage::from_image),
            build_error: self.build_error.clone(),
            runtime_error: self.runtime_error.clone(),
            created_at: Some(self.created_at),
            build_log: self.build_log.clone(),
        }
    }

    pub(crate) fn from_saved(s: SavedSpace) -> Result<Self, Error> {
        let lifecycle = Lifecycle::restore(s.lifecycle).map_err(|r| Error::CorruptState {
            path: format!("saved state of {}", s.id),
            reason: r.to_string(),
        })?;
        let mut space = Space::with_lifecycle(s.id.clone(), s.visibility, lifecycle);
        if let Some(t) = s.title {
            space.set_title(t);
        }
        for (name, value) in &s.variables {
            space.set_variable(name, value.clone())?;
        }
        for (name, secret) in s.secrets {
            space.set_secret(
                &name,
                Secret::new(secret.value),
                secret.description,
                secret.updated_at,
            )?;
        }
        let created_at = s
            .created_at
            .unwrap_or_else(|| space.lifecycle().stage_since());
        Ok(Self {
            space,
            created_at,
            build_log: s.build_log,
            app_file: s.app_file,
            app_port: s.app_port,
            source: s.source,
            image: s.image.map(|i| i.into_image(s.id.clone())),
            build_error: s.build_error,
            runtime_error: s.runtime_error,
        })
    }
}

/// A Space in memory: the durable part plus what runs for it.
pub(crate) struct Managed {
    pub(crate) d: Durable,
    /// Images replaced by a newer build, removed once the new revision serves.
    pub(crate) retired_images: Vec<Image>,
    /// The instance visitors are routed to (in `RUNNING`, `RUNNING_BUILDING`,
    /// `RUNNING_APP_STARTING`).
    pub(crate) serving: Option<Instance>,
    /// The instance being started (in `APP_STARTING`, `RUNNING_APP_STARTING`).
    pub(crate) candidate: Option<Instance>,
    /// The serving instance replaced by a healthy candidate, stopped by `RetireOldInstance`.
    pub(crate) retiring: Option<Instance>,
    /// Bumped by every build and every cancel: a build result of an older number is stale.
    pub(crate) build_gen: u64,
    /// Bumped by every start and stop: a start result of an older number is stale.
    pub(crate) start_gen: u64,
    /// Deleted: every later operation answers not found.
    pub(crate) gone: bool,
    /// Batches of committed actions not yet carried out (counted at commit, under this lock, and
    /// uncounted when the task that ran them ends, even by a panic). A Space in a building,
    /// starting or deleting stage with nothing in flight is stuck; `tick` resumes it.
    pub(crate) busy: usize,
}

impl std::fmt::Debug for Managed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The Space's own Debug redacts secrets.
        f.debug_struct("Managed")
            .field("space", &self.d.space)
            .field("serving", &self.serving)
            .field("candidate", &self.candidate)
            .field("build_gen", &self.build_gen)
            .field("start_gen", &self.start_gen)
            .field("gone", &self.gone)
            .field("busy", &self.busy)
            .finish_non_exhaustive()
    }
}

impl Managed {
    pub(crate) fn new(d: Durable) -> Self {
        Self {
            d,
            retired_images: Vec::new(),
            serving: None,
            candidate: None,
            retiring: None,
            build_gen: 0,
            start_gen: 0,
            gone: false,
            busy: 0,
        }
    }

    pub(crate) fn stage(&self) -> &Stage {
        self.d.space.stage()
    }

    /// Every instance it holds, taken out.
    pub(crate) fn take_instances(&mut self) -> Vec<Instance> {
        [
            self.serving.take(),
            self.candidate.take(),
            self.retiring.take(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// One Space's place in the supervisor: its id and its lock. The lock is held only while an
/// event is applied and committed, never across runtime work.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) id: SpaceId,
    state: Mutex<Managed>,
    /// Pushes of this Space, one at a time from copy to commit (so one push's clean-up never
    /// removes the files another is about to commit).
    pub(crate) pushing: tokio::sync::Mutex<()>,
}

impl Slot {
    pub(crate) fn new(m: Managed) -> Self {
        Self {
            id: m.d.space.id().clone(),
            state: Mutex::new(m),
            pushing: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Managed> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
