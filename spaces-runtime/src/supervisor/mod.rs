//! The supervisor: owns Spaces and drives them through their lives with a [`Runtime`] and a
//! [`Clock`].
//!
//! Every operation applies an event to the Space through [`spaces_core::Space::apply`] (the only
//! way a stage changes) and then carries out the transition's [`Effect`]s with the runtime: build,
//! start and wait for health, stop, retire the old instance, delete the volume. The results of
//! runtime work are events again (`BuildSucceeded`, `AppHealthy`, `AppCrashed`, ...), so the
//! whole life of a Space is the state machine of spaces-core.
//!
//! Design notes:
//! - **Concurrency.** Each Space has its own slot; its lock is held only while an event is
//!   applied, never across runtime work, so operations on different Spaces never wait for each
//!   other and a Space stays observable while it builds. Results of runtime work that a later event
//!   made stale (a build overtaken by a new push, a start overtaken by a pause) are discarded by
//!   generation counters.
//! - **Old keeps serving.** A push to a running Space builds and starts the new revision while the
//!   old instance keeps answering; the old one is retired when the new one is healthy.
//! - **Usage.** Every stage, hardware and storage change is recorded to a [`UsageSink`] *before* it
//!   is committed (a sink error refuses the change), in the billing log format, with ids
//!   `owner/name#epoch.seq` (the epoch is a durable counter bumped at every open) so that a ledger
//!   ignores replays and no id is ever reused.
//! - **Time.** Idle time and sleep are decided on the injected [`Clock`]; call
//!   [`Supervisor::tick`] (or [`Supervisor::spawn_ticker`]) to fire idle timers and notice crashed
//!   apps. Startup timeouts are timed in real time by [`wait_healthy`].
//! - **Restarts of the supervisor.** State is saved per Space (see `store.rs`). A new supervisor
//!   over the same state folder finds every Space; one whose instance was up is marked
//!   [`Event::InstanceLost`] → `SLEEPING` and starts again on the next visit; a lost build is
//!   started again. Persistent volumes belong to the runtime and are untouched.
//! - **Pure visits are not saved.** A visit that changes no stage only moves the idle timer; it is
//!   not written to disk (after a supervisor restart a Space may sleep up to one sleep time early).

mod store;
mod usage;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant as StdInstant};

use spaces_core::{
    Actor, AppEnvironment, AppPath, Catalog, Clock, DataLossAck, Effect, Event, Flavor, Lifecycle,
    RepoCheck, Revision, Sdk, Secret, Space, SpaceId, Stage, StorageTier, Transition, Visibility,
};

use self::store::{SavedImage, SavedSecret, SavedSpace, Store};
pub use self::usage::{JsonlFileSink, MemorySink, UsageChange, UsageEvent, UsageSink};
use crate::health::wait_healthy;
use crate::runtime::{
    BuildRequest, Image, Instance, InstanceSpec, InstanceState, LogStream, Runtime, VolumeSpec,
};
use crate::Error;

/// What a push carries besides the files.
#[derive(Clone, Debug, Default)]
pub struct PushSettings {
    /// The app file; the SDK's default when `None`.
    pub app_file: Option<AppPath>,
    /// The port the app listens on; 7860 when `None`.
    pub app_port: Option<u16>,
    /// The Space's title (`SPACE_TITLE`).
    pub title: Option<String>,
}

/// A Space as the supervisor sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceStatus {
    /// The id.
    pub id: SpaceId,
    /// The SDK.
    pub sdk: Sdk,
    /// The stage.
    pub stage: Stage,
    /// The hardware asked for.
    pub requested_hardware: Option<Flavor>,
    /// The hardware an instance runs on.
    pub current_hardware: Option<Flavor>,
    /// The storage tier held.
    pub storage: Option<StorageTier>,
    /// The pushed revision.
    pub revision: Option<Revision>,
    /// Where the serving instance answers, if one serves.
    pub address: Option<SocketAddr>,
    /// The last build log (tail), when the last build failed.
    pub build_error: Option<String>,
}

/// The outcome of a visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    /// The stage after the visit.
    pub stage: Stage,
    /// Where the app answers, when it serves.
    pub address: Option<SocketAddr>,
    /// How long the visitor waited for a sleeping Space to start (visit to first healthy answer).
    pub cold_start: Option<Duration>,
}

#[derive(Debug)]
struct Managed {
    space: Space,
    app_file: AppPath,
    app_port: u16,
    usage_seq: u64,
    image: Option<Image>,
    retired_images: Vec<Image>,
    instance: Option<Instance>,
    old_instance: Option<Instance>,
    build_gen: u64,
    start_gen: u64,
    build_error: Option<String>,
    gone: bool,
}

impl Managed {
    /// A Space with nothing running and nothing in flight.
    fn new(space: Space, app_file: AppPath, app_port: u16, image: Option<Image>) -> Self {
        Self {
            space,
            app_file,
            app_port,
            usage_seq: 0,
            image,
            retired_images: Vec::new(),
            instance: None,
            old_instance: None,
            build_gen: 0,
            start_gen: 0,
            build_error: None,
            gone: false,
        }
    }
}

#[derive(Debug)]
struct Slot {
    id: SpaceId,
    state: Mutex<Managed>,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Managed> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
struct Inner {
    runtime: Arc<dyn Runtime>,
    clock: Arc<dyn Clock>,
    catalog: Catalog,
    sink: Arc<dyn UsageSink>,
    store: Store,
    /// Incremented durably at every open: usage ids are `owner/name#epoch.seq`, unique across
    /// supervisor restarts without saving a counter at every event.
    epoch: u64,
    spaces: Mutex<BTreeMap<SpaceId, Arc<Slot>>>,
}

/// Owns Spaces and runs them. Cheap to clone (an `Arc` inside). See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

impl Supervisor {
    /// Opens a supervisor over a state folder, finding the Spaces a previous supervisor left there
    /// (see the module docs for what happens to their instances). Must run inside a tokio runtime.
    pub async fn open(
        state_dir: &Path,
        runtime: Arc<dyn Runtime>,
        clock: Arc<dyn Clock>,
        catalog: Catalog,
        sink: Arc<dyn UsageSink>,
    ) -> Result<Self, Error> {
        let store = Store::open(state_dir)?;
        let saved = store.load_all()?;
        let epoch = store.next_epoch()?;
        let sup = Supervisor {
            inner: Arc::new(Inner {
                runtime,
                clock,
                catalog,
                sink,
                store,
                epoch,
                spaces: Mutex::new(BTreeMap::new()),
            }),
        };
        for s in saved {
            let slot = sup.restore(s)?;
            let stage = slot.lock().space.stage().clone();
            let mut pending = Vec::new();
            if stage.has_instance() {
                let t = sup.apply(&slot, Event::InstanceLost, Actor::Platform)?;
                pending = t.effects;
            } else if stage == Stage::Building {
                pending.push(Effect::Build { no_cache: false });
            }
            if !pending.is_empty() {
                let (sup, slot) = (sup.clone(), Arc::clone(&slot));
                tokio::spawn(async move {
                    let _ = sup.execute(&slot, pending).await;
                });
            }
        }
        Ok(sup)
    }

    fn restore(&self, s: SavedSpace) -> Result<Arc<Slot>, Error> {
        let path = format!("saved state of {}", s.id);
        let lifecycle = Lifecycle::restore(s.lifecycle).map_err(|r| Error::CorruptState {
            path: path.clone(),
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
        let slot = Arc::new(Slot {
            id: s.id.clone(),
            state: Mutex::new(Managed::new(
                space,
                s.app_file,
                s.app_port,
                s.image.map(|i| i.into_image(s.id.clone())),
            )),
        });
        self.spaces().insert(s.id, Arc::clone(&slot));
        Ok(slot)
    }

    fn spaces(&self) -> MutexGuard<'_, BTreeMap<SpaceId, Arc<Slot>>> {
        self.inner.spaces.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn slot(&self, id: &SpaceId) -> Result<Arc<Slot>, Error> {
        self.spaces()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: format!("Space {id}"),
            })
    }

    /// The catalog prices and resources come from.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// Creates a Space with no files (`NO_APP_FILE`).
    pub fn create(
        &self,
        id: SpaceId,
        sdk: Sdk,
        visibility: Visibility,
    ) -> Result<SpaceStatus, Error> {
        let mut spaces = self.spaces();
        if spaces.contains_key(&id) {
            return Err(Error::Conflict {
                what: format!("Space {id} already exists"),
            });
        }
        let now = self.inner.clock.now();
        let space = Space::new(id.clone(), sdk, visibility, now);
        let slot = Arc::new(Slot {
            id: id.clone(),
            state: Mutex::new(Managed::new(
                space,
                sdk.default_app_path(),
                sdk.default_port(),
                None,
            )),
        });
        {
            let mut m = slot.lock();
            self.record(&mut m, UsageChange::Stage(Stage::NoAppFile), now)?;
            self.save(&m)?;
        }
        spaces.insert(id, Arc::clone(&slot));
        drop(spaces);
        Ok(self.status_of(&slot))
    }

    /// Pushes a revision: copies `files`, builds it and starts it, keeping the old version serving
    /// while the new one builds and starts. Returns once the Space is running, or failed.
    pub async fn push(
        &self,
        id: &SpaceId,
        files: &Path,
        revision: Revision,
        settings: PushSettings,
    ) -> Result<SpaceStatus, Error> {
        let slot = self.slot(id)?;
        let (sdk, app_file) = {
            let mut m = slot.lock();
            if let Some(f) = settings.app_file {
                m.app_file = f;
            }
            if let Some(p) = settings.app_port {
                m.app_port = p;
            }
            if let Some(t) = settings.title {
                m.space.set_title(t);
            }
            (m.space.sdk(), m.app_file.clone())
        };
        let repo = self.inner.store.repo_dir(id);
        let (from, to) = (files.to_path_buf(), repo.clone());
        tokio::task::spawn_blocking(move || replace_tree(&from, &to))
            .await
            .map_err(|e| Error::io("copying the pushed files")(std::io::Error::other(e)))?
            .map_err(Error::io(format!(
                "copying the pushed files into {}",
                repo.display()
            )))?;
        let check = if sdk == Sdk::Docker {
            if repo.join("Dockerfile").is_file() {
                RepoCheck::Ready
            } else {
                RepoCheck::NoAppFile
            }
        } else if repo.join(&app_file).is_file() {
            RepoCheck::Ready
        } else {
            RepoCheck::NoAppFile
        };
        let t = self.apply(
            &slot,
            Event::Push {
                revision,
                repo: check,
            },
            Actor::Owner,
        )?;
        self.execute(&slot, t.effects).await?;
        Ok(self.status_of(&slot))
    }

    /// A visit: wakes a sleeping Space (and waits until it answers), never a paused one.
    ///
    /// A visitor who arrives while the app is starting (woken by someone else, restarted by its
    /// owner) waits for it too, up to the Space's startup timeout, like the first request to a
    /// waking Space does on the Hub.
    pub async fn visit(&self, id: &SpaceId) -> Result<Visit, Error> {
        let slot = self.slot(id)?;
        let began = StdInstant::now();
        let t = self.apply(&slot, Event::Visit, Actor::Visitor)?;
        let woke = t.from == Stage::Sleeping;
        self.execute(&slot, t.effects).await?;
        let timeout = slot.lock().space.lifecycle().startup_timeout();
        let mut pause = Duration::from_millis(2);
        loop {
            {
                let m = slot.lock();
                let stage = m.space.stage().clone();
                let address = serving(&m);
                if stage != Stage::AppStarting || began.elapsed() >= timeout {
                    return Ok(Visit {
                        cold_start: (stage == Stage::Running
                            && (woke || t.from == Stage::AppStarting))
                            .then(|| began.elapsed()),
                        address,
                        stage,
                    });
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Pauses the Space (owner).
    pub async fn pause(&self, id: &SpaceId) -> Result<SpaceStatus, Error> {
        self.owner_event(id, Event::Pause).await
    }

    /// Restarts the Space (owner); a factory reboot rebuilds without cache.
    pub async fn restart(&self, id: &SpaceId, factory_reboot: bool) -> Result<SpaceStatus, Error> {
        self.owner_event(id, Event::Restart { factory_reboot })
            .await
    }

    /// Moves the Space to another flavor of the catalog (owner); it restarts on it.
    pub async fn change_hardware(&self, id: &SpaceId, flavor: &str) -> Result<SpaceStatus, Error> {
        let spec = self.inner.catalog.require_flavor(flavor)?;
        self.owner_event(id, Event::ChangeHardware(spec.id.clone()))
            .await
    }

    /// Sets or clears a custom sleep time (owner; not on free cpu-basic).
    pub async fn set_sleep_time(
        &self,
        id: &SpaceId,
        time: Option<Duration>,
    ) -> Result<SpaceStatus, Error> {
        self.owner_event(id, Event::SetSleepTime(time)).await
    }

    /// Attaches or upgrades persistent storage (owner; upgrade-only).
    pub async fn request_storage(
        &self,
        id: &SpaceId,
        tier: StorageTier,
    ) -> Result<SpaceStatus, Error> {
        if self.inner.catalog.storage_tier(tier).is_none() {
            return Err(Error::Unsupported {
                backend: "catalog",
                what: format!("storage tier {tier} (not offered)"),
            });
        }
        self.owner_event(id, Event::RequestStorage(tier)).await
    }

    /// Deletes persistent storage and all its data (owner).
    pub async fn delete_storage(
        &self,
        id: &SpaceId,
        ack: DataLossAck,
    ) -> Result<SpaceStatus, Error> {
        self.owner_event(id, Event::DeleteStorage(ack)).await
    }

    /// Deletes the Space, its instances, images and storage (owner).
    pub async fn delete(&self, id: &SpaceId) -> Result<(), Error> {
        self.owner_event(id, Event::Delete).await.map(|_| ())
    }

    /// Sets a secret; it reaches the app at its next start.
    pub fn set_secret(&self, id: &SpaceId, name: &str, value: Secret) -> Result<(), Error> {
        let slot = self.slot(id)?;
        let mut m = slot.lock();
        let now = self.inner.clock.now();
        m.space.set_secret(name, value, None, now)?;
        self.save(&m)
    }

    /// Sets a variable; it reaches the app at its next start.
    pub fn set_variable(&self, id: &SpaceId, name: &str, value: &str) -> Result<(), Error> {
        let slot = self.slot(id)?;
        let mut m = slot.lock();
        m.space.set_variable(name, value)?;
        self.save(&m)
    }

    /// The Space's status.
    pub fn status(&self, id: &SpaceId) -> Result<SpaceStatus, Error> {
        let slot = self.slot(id)?;
        Ok(self.status_of(&slot))
    }

    /// Every Space, by id.
    pub fn list(&self) -> Vec<SpaceStatus> {
        let slots: Vec<_> = self.spaces().values().cloned().collect();
        slots.iter().map(|s| self.status_of(s)).collect()
    }

    /// The serving instance's log.
    pub async fn logs(&self, id: &SpaceId, follow: bool) -> Result<LogStream, Error> {
        let slot = self.slot(id)?;
        let instance = slot
            .lock()
            .instance
            .clone()
            .ok_or_else(|| Error::NotFound {
                what: format!("a running instance of {id}"),
            })?;
        self.inner.runtime.logs(&instance.id, follow).await
    }

    /// Fires what time and the runtime decide: idle timers whose sleep time has passed, and apps
    /// that exited. Call it periodically (see [`Supervisor::spawn_ticker`]).
    pub async fn tick(&self) -> Result<(), Error> {
        let slots: Vec<_> = self.spaces().values().cloned().collect();
        let now = self.inner.clock.now();
        for slot in slots {
            let (stage, instance, sleeps_at) = {
                let m = slot.lock();
                (
                    m.space.stage().clone(),
                    m.instance.clone(),
                    m.space.lifecycle().sleeps_at(),
                )
            };
            if matches!(stage, Stage::Running | Stage::RunningBuilding) {
                if let Some(inst) = instance {
                    if let InstanceState::Exited { code, .. } =
                        self.inner.runtime.state(&inst.id).await?
                    {
                        let still_current = slot.lock().instance.as_ref() == Some(&inst);
                        if still_current {
                            let t = self.apply(
                                &slot,
                                Event::AppCrashed { exit_code: code },
                                Actor::Platform,
                            )?;
                            self.execute(&slot, t.effects).await?;
                        }
                        continue;
                    }
                }
                if stage == Stage::Running && sleeps_at.is_some_and(|at| at <= now) {
                    if let Ok(t) = self.apply(&slot, Event::IdleTimeout, Actor::Platform) {
                        self.execute(&slot, t.effects).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs [`Supervisor::tick`] every `every` in a background task until the returned handle is
    /// aborted.
    pub fn spawn_ticker(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let sup = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                interval.tick().await;
                let _ = sup.tick().await;
            }
        })
    }

    /// Stops every instance without changing any stage: what a supervisor does when it exits.
    /// The next supervisor over the same state folder finds the Spaces asleep.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let slots: Vec<_> = self.spaces().values().cloned().collect();
        for slot in slots {
            let instances: Vec<_> = {
                let mut m = slot.lock();
                m.start_gen += 1;
                m.build_gen += 1;
                [m.instance.take(), m.old_instance.take()]
                    .into_iter()
                    .flatten()
                    .collect()
            };
            for inst in instances {
                self.inner.runtime.stop(&inst.id).await?;
            }
        }
        Ok(())
    }

    async fn owner_event(&self, id: &SpaceId, event: Event) -> Result<SpaceStatus, Error> {
        let slot = self.slot(id)?;
        let t = self.apply(&slot, event, Actor::Owner)?;
        self.execute(&slot, t.effects).await?;
        Ok(self.status_of(&slot))
    }

    fn status_of(&self, slot: &Slot) -> SpaceStatus {
        let m = slot.lock();
        let l = m.space.lifecycle();
        SpaceStatus {
            id: slot.id.clone(),
            sdk: m.space.sdk(),
            stage: l.stage().clone(),
            requested_hardware: l.requested_hardware().cloned(),
            current_hardware: l.current_hardware().cloned(),
            storage: l.storage(),
            revision: l.revision().cloned(),
            address: serving(&m),
            build_error: m.build_error.clone(),
        }
    }

    /// Applies an event: computes the next state, records its usage events, then commits and saves.
    /// A refusal or a sink error leaves the Space unchanged.
    fn apply(&self, slot: &Slot, event: Event, actor: Actor) -> Result<Transition, Error> {
        let now = self.inner.clock.now();
        let mut m = slot.lock();
        if m.gone {
            return Err(Error::NotFound {
                what: format!("Space {} (deleted)", slot.id),
            });
        }
        let mut next = m.space.clone();
        let t = next.apply(event, actor, now)?;
        let (b, a) = (m.space.lifecycle(), next.lifecycle());
        let mut changes = Vec::new();
        if a.storage() != b.storage() {
            changes.push(UsageChange::Storage(a.storage()));
        }
        if let Some(hw) = a.current_hardware() {
            if b.current_hardware() != Some(hw) {
                changes.push(UsageChange::Hardware(hw.clone()));
            }
        }
        if t.from != t.to {
            changes.push(UsageChange::Stage(t.to.clone()));
        }
        // What the owner set changed (not only the stage): save it durably.
        let durable = settings(b) != settings(a);
        let pure_visit = t.from == t.to && changes.is_empty() && !durable;
        for c in changes {
            self.record(&mut m, c, now)?;
        }
        m.space = next;
        if !pure_visit {
            self.save_as(&m, durable)?;
        }
        Ok(t)
    }

    fn record(
        &self,
        m: &mut Managed,
        change: UsageChange,
        now: spaces_core::Timestamp,
    ) -> Result<(), Error> {
        let id = m.space.id().clone();
        let event = UsageEvent {
            at: now,
            id: format!("{id}#{}.{}", self.inner.epoch, m.usage_seq + 1),
            space: id,
            change,
        };
        self.inner.sink.record(&event)?;
        m.usage_seq += 1;
        Ok(())
    }

    fn save(&self, m: &Managed) -> Result<(), Error> {
        self.save_as(m, true)
    }

    fn save_as(&self, m: &Managed, durable: bool) -> Result<(), Error> {
        let space = &m.space;
        let saved = SavedSpace {
            id: space.id().clone(),
            visibility: space.visibility(),
            title: space.title().map(str::to_owned),
            lifecycle: space.lifecycle().snapshot(),
            app_file: m.app_file.clone(),
            app_port: m.app_port,
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
            image: m.image.as_ref().map(SavedImage::from_image),
        };
        self.inner.store.save(&saved, durable)
    }

    /// Carries out effects, feeding the runtime's results back as events.
    async fn execute(&self, slot: &Arc<Slot>, effects: Vec<Effect>) -> Result<(), Error> {
        let rt = &self.inner.runtime;
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            let follow_up = match effect {
                Effect::CancelBuild => {
                    slot.lock().build_gen += 1;
                    None
                }
                Effect::Build { no_cache } => self.build(slot, no_cache).await?,
                Effect::StopInstance => {
                    let instances: Vec<_> = {
                        let mut m = slot.lock();
                        m.start_gen += 1;
                        [m.instance.take(), m.old_instance.take()]
                            .into_iter()
                            .flatten()
                            .collect()
                    };
                    for inst in instances {
                        rt.stop(&inst.id).await?;
                    }
                    None
                }
                Effect::StartInstance { flavor } => self.start(slot, flavor).await?,
                Effect::RetireOldInstance => {
                    let (old, images) = {
                        let mut m = slot.lock();
                        (m.old_instance.take(), std::mem::take(&mut m.retired_images))
                    };
                    if let Some(old) = old {
                        rt.stop(&old.id).await?;
                    }
                    for image in images {
                        let _ = rt.remove_image(&image).await;
                    }
                    None
                }
                Effect::DeleteVolume => {
                    rt.delete_volume(&slot.id).await?;
                    None
                }
                Effect::Destroy => {
                    let images: Vec<_> = {
                        let mut m = slot.lock();
                        m.gone = true;
                        let mut images = std::mem::take(&mut m.retired_images);
                        images.extend(m.image.take());
                        images
                    };
                    for image in images {
                        let _ = rt.remove_image(&image).await;
                    }
                    self.spaces().remove(&slot.id);
                    self.inner.store.remove(&slot.id)?;
                    let repo = self.inner.store.repo_dir(&slot.id);
                    let _ =
                        tokio::task::spawn_blocking(move || std::fs::remove_dir_all(repo)).await;
                    None
                }
            };
            if let Some(t) = follow_up {
                for e in t.effects.into_iter().rev() {
                    queue.push_front(e);
                }
            }
        }
        Ok(())
    }

    async fn build(&self, slot: &Arc<Slot>, no_cache: bool) -> Result<Option<Transition>, Error> {
        let (gen, request) = {
            let mut m = slot.lock();
            m.build_gen += 1;
            let Some(revision) = m.space.lifecycle().revision().cloned() else {
                return Ok(None);
            };
            (
                m.build_gen,
                BuildRequest {
                    space: slot.id.clone(),
                    revision,
                    sdk: m.space.sdk(),
                    source: self.inner.store.repo_dir(&slot.id),
                    app_file: m.app_file.clone(),
                    no_cache,
                },
            )
        };
        let result = self.inner.runtime.build(request).await;
        let current = slot.lock().build_gen == gen;
        match result {
            Ok(out) if current => {
                {
                    let mut m = slot.lock();
                    m.build_error = None;
                    if let Some(prev) = m.image.replace(out.image) {
                        if m.image.as_ref().map(|i| &i.reference) != Some(&prev.reference) {
                            m.retired_images.push(prev);
                        }
                    }
                }
                self.apply(slot, Event::BuildSucceeded, Actor::Platform)
                    .map(Some)
            }
            Ok(stale) => {
                let _ = self.inner.runtime.remove_image(&stale.image).await;
                Ok(None)
            }
            Err(Error::BuildFailed { log_tail, .. }) if current => {
                slot.lock().build_error = Some(log_tail);
                self.apply(slot, Event::BuildFailed, Actor::Platform)
                    .map(Some)
            }
            Err(e) if current => {
                slot.lock().build_error = Some(e.to_string());
                self.apply(slot, Event::BuildFailed, Actor::Platform)?;
                Err(e)
            }
            Err(_) => Ok(None),
        }
    }

    async fn start(
        &self,
        slot: &Arc<Slot>,
        flavor: Option<Flavor>,
    ) -> Result<Option<Transition>, Error> {
        let catalog = &self.inner.catalog;
        let (gen, spec, timeout) = {
            let mut m = slot.lock();
            let Some(image) = m.image.clone() else {
                return Err(Error::NotFound {
                    what: format!("a built image of {}", slot.id),
                });
            };
            let hardware = flavor.as_ref().and_then(|f| catalog.flavor(f)).cloned();
            let volume = m
                .space
                .lifecycle()
                .storage()
                .and_then(|t| catalog.storage_tier(t))
                .map(|s| VolumeSpec { size_gb: s.size_gb });
            let env = AppEnvironment::for_space(&m.space, hardware.as_ref());
            m.start_gen += 1;
            if m.space.stage().old_keeps_serving() {
                if let Some(old) = m.instance.take() {
                    m.old_instance = Some(old);
                }
            }
            (
                m.start_gen,
                InstanceSpec {
                    image,
                    env,
                    hardware,
                    app_port: m.app_port,
                    volume,
                },
                m.space.lifecycle().startup_timeout(),
            )
        };
        let instance = match self.inner.runtime.start(spec).await {
            Ok(i) => i,
            Err(e) => {
                if slot.lock().start_gen == gen {
                    self.apply(slot, Event::AppCrashed { exit_code: None }, Actor::Platform)?;
                }
                return Err(e);
            }
        };
        let current = {
            let mut m = slot.lock();
            let current = m.start_gen == gen;
            if current {
                m.instance = Some(instance.clone());
            }
            current
        };
        if !current {
            self.inner.runtime.stop(&instance.id).await?;
            return Ok(None);
        }
        let health = wait_healthy(self.inner.runtime.as_ref(), &instance, timeout).await;
        if slot.lock().start_gen != gen {
            return Ok(None);
        }
        let event = match health {
            Ok(_) => Event::AppHealthy,
            Err(Error::Exited { code, .. }) => Event::AppCrashed { exit_code: code },
            Err(Error::StartupTimeout { .. }) => Event::StartupTimedOut,
            Err(e) => {
                self.apply(slot, Event::AppCrashed { exit_code: None }, Actor::Platform)?;
                return Err(e);
            }
        };
        self.apply(slot, event, Actor::Platform).map(Some)
    }
}

/// What the owner set, as opposed to where the lifecycle is.
fn settings(l: &Lifecycle) -> impl PartialEq + '_ {
    (
        l.requested_hardware(),
        l.storage(),
        l.custom_sleep_time(),
        l.revision(),
        l.startup_timeout(),
    )
}

/// Where the serving instance answers.
fn serving(m: &Managed) -> Option<SocketAddr> {
    match m.space.stage() {
        Stage::Running | Stage::RunningBuilding => m.instance.as_ref().map(|i| i.address),
        Stage::RunningAppStarting => m.old_instance.as_ref().map(|i| i.address),
        _ => None,
    }
}

/// Replaces `to` with a copy of `from` (skipping `.git`).
fn replace_tree(from: &Path, to: &PathBuf) -> std::io::Result<()> {
    match std::fs::remove_dir_all(to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    copy_tree(from, to)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
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
