//! The supervisor: owns Spaces and drives them through their lives with a [`Runtime`] and a
//! [`Clock`].
//!
//! Every operation applies an event to the Space through [`spaces_core::Space::apply`] (the only
//! way a stage changes) and then carries out the transition's [`Effect`](spaces_core::Effect)s
//! with the runtime: build, start and wait for health, stop, retire the old instance, delete the
//! volume. The results of runtime work are events again (`BuildSucceeded`, `AppHealthy`,
//! `AppCrashed`, ...), so the whole life of a Space is the state machine of spaces-core.
//!
//! What it guarantees, and how:
//! - **Nothing acknowledged is lost; nothing is billed that did not run.** A transition's new
//!   state and its usage events are committed in one SQLite transaction (`store.rs`); the usage
//!   events sit in an outbox until the [`UsageSink`] has taken them (at least once, with ids that
//!   are never reused, so the ledger applies each once). A crash at any point leaves state and
//!   usage consistent.
//! - **Reconciliation at open.** [`Supervisor::open`] asks the runtime what runs
//!   ([`Runtime::running`]: containers by label, processes by pid record) and stops all of it:
//!   a new supervisor knows no instance. Spaces whose stage had an instance are marked
//!   [`Event::InstanceLost`] (`SLEEPING`; the next visit starts them), an interrupted build starts
//!   again from its own copy of the files, an interrupted delete is finished. After open nothing
//!   runs that the state does not know, and no Space is billable without an instance.
//! - **Work survives its caller.** Effects run in tasks the supervisor owns; a caller only
//!   awaits their outcome. A visitor whose request is dropped mid-wake leaves a Space that still
//!   reaches `RUNNING` (or an error stage).
//! - **Effects bind at commit.** A transition's effects are bound to the instances, images and
//!   generation numbers of the moment it is committed, under the Space's lock (`actions.rs`), so
//!   a stop never takes an instance a later wake started, each revision builds from its own copy
//!   of the files, and stale build or start results are discarded. Every effect is carried out
//!   even when an earlier one failed.
//! - **Spaces never wait for each other.** Each Space has its own lock, held only while an
//!   event is applied and committed, never across runtime work; [`Supervisor::tick`] handles
//!   every Space on its own (a failing Space is logged with `tracing` and the others go on).
//! - **Time.** Idle time and sleep are decided on the injected [`Clock`]; call
//!   [`Supervisor::tick`] (or [`Supervisor::spawn_ticker`]) to fire idle timers, notice crashed
//!   apps and retry usage delivery. Startup timeouts are timed in real time by
//!   [`crate::wait_healthy`].
//! - **Pure visits are not saved.** A visit that changes no stage only moves the idle timer in
//!   memory (after a supervisor restart a Space may sleep up to one sleep time early).
//! - **Secrets at rest.** The database is created 0600; saved secrets have no `Debug`; a paused,
//!   failed or deleted Space keeps no prepared instance ([`Runtime::discard_prepared`]), nor does
//!   one whose secrets changed.

mod actions;
mod outbox;
mod push;
mod recover;
mod settings;
mod slot;
pub(crate) mod store;
mod ticker;
mod usage;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant as StdInstant};

use spaces_core::{
    Actor, AppPath, Catalog, Clock, DataLossAck, Event, Flavor, Revision, Sdk, Space, SpaceId,
    Stage, StorageTier, Timestamp, Transition, Visibility,
};

use self::actions::{bind, serves, Action};
pub use self::settings::{CreateOptions, SecretInfo};
use self::slot::{Durable, Managed, Slot};
use self::store::{Row, Store};
pub use self::usage::{JsonlFileSink, MemorySink, UsageChange, UsageEvent, UsageSink};
use crate::runtime::{LogStream, Runtime};
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
    /// The pushed configuration cannot be used (a README front matter error, line-precise):
    /// the push is committed as `RepoCheck::ConfigError`, the Space goes to `CONFIG_ERROR`
    /// (an instance serving is stopped) and the message is its `build_error` and its build
    /// log.
    pub config_error: Option<String>,
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
    /// Why the last start failed or the app stopped (a crash, a timeout, hardware the runtime
    /// cannot give), until it next starts healthy.
    pub runtime_error: Option<String>,
    /// Who may see it.
    pub visibility: Visibility,
    /// Its title (`SPACE_TITLE`), when set.
    pub title: Option<String>,
    /// How long it may stay idle before it sleeps (`None`: it never sleeps).
    pub sleep_time: Option<Duration>,
    /// When it was created.
    pub created_at: Timestamp,
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

struct Inner {
    runtime: Arc<dyn Runtime>,
    clock: Arc<dyn Clock>,
    catalog: Catalog,
    sink: Arc<dyn UsageSink>,
    store: Store,
    spaces: Mutex<BTreeMap<SpaceId, Arc<Slot>>>,
    /// Held while the outbox is delivered, so events reach the sink in order.
    delivering: Mutex<()>,
    /// Makes each push's folder name unique.
    pushes: AtomicU64,
    /// Instances whose stop failed, tried again by `tick`.
    failed_stops: Mutex<Vec<crate::runtime::Instance>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("runtime", &self.runtime.name())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Owns Spaces and runs them. Cheap to clone (an `Arc` inside). See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

/// What one committed event gives: the transition and its bound actions.
type Committed = (Transition, Vec<Action>);

impl Supervisor {
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
        let d = new_durable(id.clone(), sdk, visibility, now);
        self.inner.store.commit(
            Row::Put(&d.to_saved()),
            &[(now, id.clone(), UsageChange::Stage(Stage::NoAppFile))],
        )?;
        let slot = Arc::new(Slot::new(Managed::new(d)));
        spaces.insert(id, Arc::clone(&slot));
        drop(spaces);
        self.deliver_quietly();
        Ok(self.status_of(&slot))
    }

    /// Creates many Spaces with no files in one transaction (an import, a generated fleet). All
    /// or none: an id that exists already refuses the whole batch.
    pub fn create_many(
        &self,
        new: impl IntoIterator<Item = (SpaceId, Sdk, Visibility)>,
    ) -> Result<usize, Error> {
        let now = self.inner.clock.now();
        let mut spaces = self.spaces();
        let mut durables = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (id, sdk, visibility) in new {
            if spaces.contains_key(&id) || !seen.insert(id.clone()) {
                return Err(Error::Conflict {
                    what: format!("Space {id} already exists"),
                });
            }
            durables.push(new_durable(id, sdk, visibility, now));
        }
        let saved: Vec<_> = durables.iter().map(Durable::to_saved).collect();
        let usage: Vec<_> = durables
            .iter()
            .map(|d| {
                (
                    now,
                    d.space.id().clone(),
                    UsageChange::Stage(Stage::NoAppFile),
                )
            })
            .collect();
        self.inner.store.put_many(&saved, &usage, false)?;
        let n = durables.len();
        for d in durables {
            let id = d.space.id().clone();
            spaces.insert(id, Arc::new(Slot::new(Managed::new(d))));
        }
        drop(spaces);
        self.deliver_quietly();
        Ok(n)
    }

    /// A visit: wakes a sleeping Space (and waits until it answers), never a paused one.
    ///
    /// A visitor who arrives while the app is starting (woken by someone else, restarted by its
    /// owner) waits for it too, up to the Space's startup timeout, like the first request to a
    /// waking Space does on the Hub. The wake runs in the supervisor's own task: dropping this
    /// future does not stop it.
    pub async fn visit(&self, id: &SpaceId) -> Result<Visit, Error> {
        let slot = self.slot(id)?;
        let began = StdInstant::now();
        let (t, actions) = self.apply(&slot, Event::Visit, Actor::Visitor)?;
        let woke = t.from == Stage::Sleeping;
        self.run_actions(&slot, actions).await?;
        let timeout = slot.lock().d.space.lifecycle().startup_timeout();
        let mut pause = Duration::from_millis(2);
        loop {
            {
                let m = slot.lock();
                let stage = m.stage().clone();
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

    /// Moves the Space to another flavor of the catalog (owner); it restarts on it. A flavor the
    /// runtime cannot give (a GPU flavor without GPUs) is recorded as asked and the Space goes to
    /// `RUNTIME_ERROR` with the runtime's reason in `runtime_error`.
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

    /// Deletes the Space, its instances, images and storage (owner). Returns once it is gone;
    /// an interrupted delete is finished by the next supervisor.
    pub async fn delete(&self, id: &SpaceId) -> Result<(), Error> {
        self.owner_event(id, Event::Delete).await.map(|_| ())
    }

    /// The address the Space's app answers on while it serves (`None` in other stages): one
    /// lock and no allocation, for a proxy that asks on every request ([`Supervisor::status`]
    /// copies the whole status).
    pub fn serving_address(&self, id: &SpaceId) -> Result<Option<SocketAddr>, Error> {
        let slot = self.slot(id)?;
        let m = slot.lock();
        Ok(serving(&m))
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

    /// How many Spaces the supervisor holds.
    pub fn len(&self) -> usize {
        self.spaces().len()
    }

    /// Whether the supervisor holds no Space.
    pub fn is_empty(&self) -> bool {
        self.spaces().is_empty()
    }

    /// The serving (or starting) instance's log.
    pub async fn logs(&self, id: &SpaceId, follow: bool) -> Result<LogStream, Error> {
        let slot = self.slot(id)?;
        let instance = {
            let m = slot.lock();
            m.serving.clone().or_else(|| m.candidate.clone())
        }
        .ok_or_else(|| Error::NotFound {
            what: format!("a running instance of {id}"),
        })?;
        self.inner.runtime.logs(&instance.id, follow).await
    }

    async fn owner_event(&self, id: &SpaceId, event: Event) -> Result<SpaceStatus, Error> {
        let slot = self.slot(id)?;
        let (_, actions) = self.apply(&slot, event, Actor::Owner)?;
        self.run_actions(&slot, actions).await?;
        Ok(self.status_of(&slot))
    }

    fn status_of(&self, slot: &Slot) -> SpaceStatus {
        let m = slot.lock();
        let l = m.d.space.lifecycle();
        SpaceStatus {
            id: slot.id.clone(),
            sdk: m.d.space.sdk(),
            stage: l.stage().clone(),
            requested_hardware: l.requested_hardware().cloned(),
            current_hardware: l.current_hardware().cloned(),
            storage: l.storage(),
            revision: l.revision().cloned(),
            address: serving(&m),
            build_error: m.d.build_error.clone(),
            runtime_error: m.d.runtime_error.clone(),
            visibility: m.d.space.visibility(),
            title: m.d.space.title().map(str::to_owned),
            sleep_time: l.sleep_time(),
            created_at: m.d.created_at,
        }
    }

    /// Applies an event with no precondition; a refusal is an error and changes nothing.
    fn apply(&self, slot: &Slot, event: Event, actor: Actor) -> Result<Committed, Error> {
        self.commit(slot, event, actor, |_, _| true, |_, _| {})?
            .ok_or_else(|| Error::NotFound {
                what: format!("Space {}", slot.id),
            })
    }

    /// Applies an event and commits the new state with its usage events in one transaction,
    /// then binds the transition's effects. `edit` sees the Space and changes the state to be
    /// saved with the event; when it answers `false` (a stale result) nothing happens and `None`
    /// is returned. `after` runs once committed, before the effects are bound, with the state
    /// that was replaced. A refusal, or a failed commit, leaves the Space unchanged.
    fn commit(
        &self,
        slot: &Slot,
        event: Event,
        actor: Actor,
        edit: impl FnOnce(&Managed, &mut Durable) -> bool,
        after: impl FnOnce(&mut Managed, Durable),
    ) -> Result<Option<Committed>, Error> {
        let is_visit = matches!(event, Event::Visit);
        let mut m = slot.lock();
        if m.gone {
            return Err(Error::NotFound {
                what: format!("Space {} (deleted)", slot.id),
            });
        }
        // Read under the lock, and never before the Space's last change: a Space's usage events
        // are in the order of its transitions even when commits race or the clock steps back.
        let now = self
            .inner
            .clock
            .now()
            .max(m.d.space.lifecycle().stage_since());
        let mut d = m.d.clone();
        if !edit(&m, &mut d) {
            return Ok(None);
        }
        let t = d.space.apply(event, actor, now)?;
        let changes = usage_changes(&m.d.space, &d.space, &t);
        let pure_visit = is_visit && t.from == t.to && changes.is_empty();
        if !pure_visit {
            let usage: Vec<_> = changes
                .into_iter()
                .map(|c| (now, slot.id.clone(), c))
                .collect();
            self.inner.store.commit(Row::Put(&d.to_saved()), &usage)?;
        }
        let old = std::mem::replace(&mut m.d, d);
        after(&mut m, old);
        let repo = self.inner.store.repo_dir(&slot.id);
        let actions = bind(&mut m, &t, &self.inner.catalog, &repo);
        if !actions.is_empty() {
            // Counted until a task has run them (see `Managed::busy`).
            m.busy += 1;
        }
        drop(m);
        if !pure_visit {
            self.deliver_quietly();
        }
        Ok(Some((t, actions)))
    }

    /// The last step of a delete: the saved state goes, and the Space with it.
    fn finish_delete(&self, slot: &Slot) -> Result<(), Error> {
        let mut spaces = self.spaces();
        let mut m = slot.lock();
        if m.gone {
            return Ok(());
        }
        self.inner.store.commit(Row::Remove(&slot.id), &[])?;
        m.gone = true;
        drop(m);
        if spaces
            .get(&slot.id)
            .is_some_and(|s| std::ptr::eq(Arc::as_ptr(s), slot))
        {
            spaces.remove(&slot.id);
        }
        Ok(())
    }
}

fn new_durable(id: SpaceId, sdk: Sdk, visibility: Visibility, now: Timestamp) -> Durable {
    Durable {
        created_at: now,
        build_log: Vec::new(),
        space: Space::new(id, sdk, visibility, now),
        app_file: sdk.default_app_path(),
        app_port: sdk.default_port(),
        source: None,
        image: None,
        build_error: None,
        runtime_error: None,
    }
}

/// The usage events of a transition: storage, hardware, stage changes.
fn usage_changes(before: &Space, after: &Space, t: &Transition) -> Vec<UsageChange> {
    let (b, a) = (before.lifecycle(), after.lifecycle());
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
    changes
}

/// Where the serving instance answers.
fn serving(m: &Managed) -> Option<SocketAddr> {
    if serves(m.stage()) {
        m.serving.as_ref().map(|i| i.address)
    } else {
        None
    }
}
