//! Effects bound to the instances, images and generation numbers of the moment their transition
//! is committed, and carried out in tasks the supervisor owns.
//!
//! A transition's [`Effect`]s are turned into [`Action`]s under the Space's lock, in the same
//! critical section that commits the transition: a `StopInstance` takes the very instances that
//! run at that moment (never one a later wake starts), a `Build` names its own copy of the files
//! and a generation number, a `StartInstance` takes the image of that moment. Then the actions run
//! in a spawned task: a caller that is dropped (an HTTP handler whose client went away) never
//! strands a Space half way. Every action runs even when an earlier one failed; the first error is
//! reported.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use spaces_core::{Actor, AppEnvironment, Catalog, Effect, Event, Stage, Transition};

use super::settings::kept_build_log;
use super::slot::{Managed, Slot};
use super::Supervisor;
use crate::health::wait_healthy;
use crate::runtime::{BuildRequest, Image, Instance, InstanceSpec, VolumeSpec};
use crate::Error;

/// One piece of runtime work, bound to what it acts on.
#[derive(Debug)]
pub(crate) enum Action {
    /// Build the revision; a result whose `gen` is no longer the Space's is stale.
    Build {
        gen: u64,
        request: Result<BuildRequest, String>,
    },
    /// Start an instance; a result whose `gen` is no longer the Space's is stale.
    Start {
        gen: u64,
        spec: Result<InstanceSpec, String>,
        timeout: Duration,
    },
    /// Stop these instances.
    Stop(Vec<Instance>),
    /// Remove these images.
    RemoveImages(Vec<Image>),
    /// Delete the Space's persistent volume.
    DeleteVolume,
    /// Drop what the backend prepared for the next start (it may hold secrets).
    DiscardPrepared,
    /// Remove what is left of a deleted Space, then its saved state.
    Destroy,
}

/// Whether a stage is one where a new instance is being started.
fn starting(stage: &Stage) -> bool {
    matches!(stage, Stage::AppStarting | Stage::RunningAppStarting)
}

/// Whether visitors are routed to a serving instance in this stage.
pub(crate) fn serves(stage: &Stage) -> bool {
    matches!(
        stage,
        Stage::Running | Stage::RunningBuilding | Stage::RunningAppStarting
    )
}

/// Turns a committed transition's effects into actions, updating what the Space holds.
/// Called under the Space's lock, right after the commit.
pub(crate) fn bind(m: &mut Managed, t: &Transition, catalog: &Catalog, repo: &Path) -> Vec<Action> {
    let mut out = Vec::new();
    for effect in &t.effects {
        match effect {
            Effect::CancelBuild => m.build_gen += 1,
            Effect::Build { no_cache } => {
                m.build_gen += 1;
                let l = m.d.space.lifecycle();
                let request = match (l.revision(), &m.d.source) {
                    (Some(revision), Some(source)) => Ok(BuildRequest {
                        space: m.d.space.id().clone(),
                        revision: revision.clone(),
                        sdk: m.d.space.sdk(),
                        source: repo.join(source),
                        app_file: m.d.app_file.clone(),
                        no_cache: *no_cache,
                    }),
                    _ => Err(format!(
                        "no pushed files of {} to build: push the repository again",
                        m.d.space.id()
                    )),
                };
                out.push(Action::Build {
                    gen: m.build_gen,
                    request,
                });
            }
            Effect::StopInstance => {
                m.start_gen += 1;
                let instances = m.take_instances();
                if !instances.is_empty() {
                    out.push(Action::Stop(instances));
                }
            }
            Effect::StartInstance { flavor } => {
                m.start_gen += 1;
                let mut stale: Vec<Instance> = m.candidate.take().into_iter().collect();
                if !m.stage().old_keeps_serving() {
                    stale.extend(m.serving.take());
                }
                if !stale.is_empty() {
                    out.push(Action::Stop(stale));
                }
                let hardware = flavor.as_ref().and_then(|f| catalog.flavor(f)).cloned();
                let spec = match (&m.d.image, flavor) {
                    (None, _) => Err(format!("no built image of {}", m.d.space.id())),
                    (Some(_), Some(f)) if hardware.is_none() => {
                        Err(format!("hardware {f} is not in the catalog"))
                    }
                    (Some(image), _) => {
                        let volume =
                            m.d.space
                                .lifecycle()
                                .storage()
                                .and_then(|t| catalog.storage_tier(t))
                                .map(|s| VolumeSpec { size_gb: s.size_gb });
                        Ok(InstanceSpec {
                            image: image.clone(),
                            env: AppEnvironment::for_space(&m.d.space, hardware.as_ref()),
                            hardware,
                            app_port: m.d.app_port,
                            volume,
                        })
                    }
                };
                out.push(Action::Start {
                    gen: m.start_gen,
                    spec,
                    timeout: m.d.space.lifecycle().startup_timeout(),
                });
            }
            Effect::RetireOldInstance => {
                if let Some(old) = m.retiring.take() {
                    out.push(Action::Stop(vec![old]));
                }
                let images = std::mem::take(&mut m.retired_images);
                if !images.is_empty() {
                    out.push(Action::RemoveImages(images));
                }
            }
            Effect::DeleteVolume => out.push(Action::DeleteVolume),
            Effect::Destroy => out.push(Action::Destroy),
        }
    }
    // Whatever the effects said, the Space holds no instance its new stage does not have.
    let to = &t.to;
    let mut stale = Vec::new();
    if !starting(to) {
        if t.from != *to && starting(&t.from) {
            // A start in flight is overtaken (a push during RUNNING_APP_STARTING, a pause).
            m.start_gen += 1;
        }
        stale.extend(m.candidate.take());
    }
    if !serves(to) {
        stale.extend(m.serving.take());
    }
    stale.extend(m.retiring.take());
    if !stale.is_empty() {
        out.push(Action::Stop(stale));
    }
    if *to == Stage::Running && !m.retired_images.is_empty() {
        out.push(Action::RemoveImages(std::mem::take(&mut m.retired_images)));
    }
    if t.from != *to && !to.has_instance() && *to != Stage::Sleeping {
        // Standbys are for sleeping Spaces only: a paused, stopped, failed or deleted Space keeps
        // no prepared container holding its secrets.
        out.push(Action::DiscardPrepared);
    }
    out
}

impl Supervisor {
    /// Runs actions in a task the supervisor owns and waits for it. Dropping the returned future
    /// does not stop the work.
    pub(crate) async fn run_actions(
        &self,
        slot: &Arc<Slot>,
        actions: Vec<Action>,
    ) -> Result<(), Error> {
        if actions.is_empty() {
            return Ok(());
        }
        let handle = self.spawn_actions(Arc::clone(slot), actions);
        handle
            .await
            .map_err(|e| Error::io("running a Space's effects")(std::io::Error::other(e)))?
    }

    /// Runs actions, counted in the Space's `busy` when they were committed, in a task the
    /// supervisor owns; the count goes down when the task ends, however it ends.
    pub(crate) fn spawn_actions(
        &self,
        slot: Arc<Slot>,
        actions: Vec<Action>,
    ) -> tokio::task::JoinHandle<Result<(), Error>> {
        let sup = self.clone();
        tokio::spawn(async move {
            let _done = Uncount(Arc::clone(&slot));
            sup.execute(&slot, actions).await
        })
    }

    /// Carries out actions in order, feeding the runtime's results back as events (whose actions
    /// run next). Every action runs; the first error is returned.
    async fn execute(&self, slot: &Arc<Slot>, actions: Vec<Action>) -> Result<(), Error> {
        let mut queue: VecDeque<Action> = actions.into();
        let mut first_error = None;
        while let Some(action) = queue.pop_front() {
            match self.perform(slot, action).await {
                Ok(follow_up) => {
                    if !follow_up.is_empty() {
                        // Counted by their commit; this task, counted itself, runs them.
                        uncount(slot);
                    }
                    for a in follow_up.into_iter().rev() {
                        queue.push_front(a);
                    }
                }
                Err(e) => {
                    tracing::warn!(space = %slot.id, error = %e, "an effect failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn perform(&self, slot: &Arc<Slot>, action: Action) -> Result<Vec<Action>, Error> {
        let rt = &self.inner.runtime;
        match action {
            Action::Build { gen, request } => self.build(slot, gen, request).await,
            Action::Start { gen, spec, timeout } => self.start(slot, gen, spec, timeout).await,
            Action::Stop(instances) => {
                let mut first = Ok(());
                for inst in instances {
                    if let Err(e) = self.stop_or_retry_later(inst).await {
                        if first.is_ok() {
                            first = Err(e);
                        }
                    }
                }
                first.map(|()| Vec::new())
            }
            Action::RemoveImages(images) => {
                let current = slot.lock().d.image.as_ref().map(|i| i.reference.clone());
                for image in images {
                    if current.as_ref() == Some(&image.reference) {
                        // The same revision built again: its image is the current one.
                        continue;
                    }
                    if let Err(e) = rt.remove_image(&image).await {
                        tracing::warn!(space = %slot.id, image = %image.reference, error = %e, "removing an image failed");
                    }
                }
                Ok(Vec::new())
            }
            Action::DeleteVolume => rt.delete_volume(&slot.id).await.map(|()| Vec::new()),
            Action::DiscardPrepared => rt.discard_prepared(&slot.id).await.map(|()| Vec::new()),
            Action::Destroy => self.destroy(slot).await.map(|()| Vec::new()),
        }
    }

    async fn build(
        &self,
        slot: &Arc<Slot>,
        gen: u64,
        request: Result<BuildRequest, String>,
    ) -> Result<Vec<Action>, Error> {
        let result = match request {
            Ok(r) => self.inner.runtime.build(r).await,
            Err(what) => Err(Error::NotFound { what }),
        };
        let failed = match result {
            Ok(out) => {
                let image = out.image;
                let new = image.clone();
                let log = kept_build_log(out.log);
                let committed = self.commit(
                    slot,
                    Event::BuildSucceeded,
                    Actor::Platform,
                    |m, d| {
                        if m.build_gen != gen {
                            return false;
                        }
                        d.image = Some(new);
                        d.build_error = None;
                        d.build_log = log;
                        true
                    },
                    |m, old| {
                        if let Some(prev) = old.image {
                            if m.d.image.as_ref().map(|i| &i.reference) != Some(&prev.reference) {
                                m.retired_images.push(prev);
                            }
                        }
                    },
                )?;
                return match committed {
                    Some((_, actions)) => Ok(actions),
                    None => {
                        let current = slot.lock().d.image.as_ref().map(|i| i.reference.clone());
                        if current.as_ref() != Some(&image.reference) {
                            let _ = self.inner.runtime.remove_image(&image).await;
                        }
                        Ok(Vec::new())
                    }
                };
            }
            Err(Error::BuildFailed { log_tail, .. }) => log_tail,
            Err(e) => e.to_string(),
        };
        // Recorded in the Space (BUILD_ERROR and the log tail), not returned.
        let committed = self.commit(
            slot,
            Event::BuildFailed,
            Actor::Platform,
            |m, d| {
                if m.build_gen != gen {
                    return false;
                }
                d.build_log = kept_build_log(failed.lines().map(str::to_owned));
                d.build_error = Some(failed);
                true
            },
            |_, _| {},
        )?;
        Ok(committed.map(|(_, a)| a).unwrap_or_default())
    }

    async fn start(
        &self,
        slot: &Arc<Slot>,
        gen: u64,
        spec: Result<InstanceSpec, String>,
        timeout: Duration,
    ) -> Result<Vec<Action>, Error> {
        let rt = &self.inner.runtime;
        let had_volume = spec.as_ref().is_ok_and(|s| s.volume.is_some());
        let started = match spec {
            Ok(spec) => rt.start(spec).await,
            Err(what) => Err(Error::NotFound { what }),
        };
        let instance = match started {
            Ok(i) => i,
            Err(e) => {
                // Recorded in the Space (RUNTIME_ERROR and its reason), not returned: the
                // caller reads it from the status, as the Hub's runtime `errorMessage`.
                tracing::info!(space = %slot.id, error = %e, "an instance did not start");
                let message = e.to_string();
                let committed = self.commit(
                    slot,
                    Event::AppCrashed { exit_code: None },
                    Actor::Platform,
                    |m, d| {
                        if m.start_gen != gen {
                            return false;
                        }
                        d.runtime_error = Some(message);
                        true
                    },
                    |_, _| {},
                )?;
                return Ok(committed.map(|(_, a)| a).unwrap_or_default());
            }
        };
        let current = {
            let mut m = slot.lock();
            let current = m.start_gen == gen && !m.gone;
            if current {
                m.candidate = Some(instance.clone());
            }
            current
        };
        if !current {
            self.stop_or_retry_later(instance).await?;
            if had_volume {
                // A delete of the storage (or of the Space) overtook this start, which may have
                // made the volume again: delete it again unless the Space holds storage now.
                let holds = self
                    .slot(&slot.id)
                    .ok()
                    .and_then(|s| s.lock().d.space.lifecycle().storage())
                    .is_some();
                if !holds {
                    rt.delete_volume(&slot.id).await?;
                }
            }
            return Ok(Vec::new());
        }
        let health = wait_healthy(rt.as_ref(), &instance, timeout).await;
        let (event, message) = match health {
            Ok(_) => (Event::AppHealthy, None),
            Err(e) => {
                let event = match &e {
                    Error::Exited { code, .. } => Event::AppCrashed { exit_code: *code },
                    Error::StartupTimeout { .. } => Event::StartupTimedOut,
                    _ => Event::AppCrashed { exit_code: None },
                };
                (event, Some(e.to_string()))
            }
        };
        let healthy = message.is_none();
        let committed = self.commit(
            slot,
            event,
            Actor::Platform,
            |m, d| {
                if m.start_gen != gen || m.candidate.as_ref() != Some(&instance) {
                    return false;
                }
                d.runtime_error = message;
                true
            },
            |m, _| {
                if healthy {
                    if let Some(c) = m.candidate.take() {
                        if let Some(old) = m.serving.replace(c) {
                            m.retiring = Some(old);
                        }
                    }
                }
            },
        )?;
        Ok(committed.map(|(_, a)| a).unwrap_or_default())
    }

    /// Removes what is left of a deleted Space (images, prepared instances, its files), then
    /// its saved state: from then on it is gone.
    async fn destroy(&self, slot: &Arc<Slot>) -> Result<(), Error> {
        let rt = &self.inner.runtime;
        let images: Vec<_> = {
            let mut m = slot.lock();
            let mut images = std::mem::take(&mut m.retired_images);
            images.extend(m.d.image.clone());
            images
        };
        for image in images {
            let _ = rt.remove_image(&image).await;
        }
        rt.discard_prepared(&slot.id).await?;
        let repo = self.inner.store.repo_dir(&slot.id);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(repo)).await;
        self.finish_delete(slot)
    }
}

/// Takes one off a Space's count of batches in flight.
pub(crate) fn uncount(slot: &Slot) {
    let mut m = slot.lock();
    m.busy = m.busy.saturating_sub(1);
}

/// Uncounts a batch when the task running it ends (also by a panic).
struct Uncount(Arc<Slot>);

impl Drop for Uncount {
    fn drop(&mut self) {
        uncount(&self.0);
    }
}

impl Supervisor {
    /// Stops an instance; one whose stop fails is kept and tried again by `tick`, so that no
    /// instance runs unknown.
    pub(crate) async fn stop_or_retry_later(&self, inst: Instance) -> Result<(), Error> {
        match self.inner.runtime.stop(&inst.id).await {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(space = %inst.space, instance = %inst.id, error = %e, "stopping an instance failed; tick tries again");
                self.inner
                    .failed_stops
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(inst);
                Err(e)
            }
        }
    }
}
