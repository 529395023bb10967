//! The lifecycle state machine: one pure transition function, [`Lifecycle::step`].
//!
//! A [`Lifecycle`] is the part of a Space that events change: stage, requested and current
//! hardware, storage, sleep settings, the revision and whether it is built. `step` takes the state,
//! an event, who caused it and when, and returns the next state plus the [`Effect`]s a runtime must
//! carry out — or a [`Refusal`], in which case nothing changes. It does no I/O and reads no clock.
//!
//! Behaviour (domain.md §4) and the project's decisions where the spec is silent:
//! - A push builds: `BUILDING`, or `RUNNING_BUILDING` when a version is serving (the old one keeps
//!   serving). A push with no app file gives `NO_APP_FILE`, an unusable config `CONFIG_ERROR`; both
//!   stop whatever ran. A push to a `PAUSED` Space records the revision and stays paused.
//! - Build success → `APP_STARTING` / `RUNNING_APP_STARTING`. Build failure → `BUILD_ERROR`; a
//!   failed rebuild also stops the old version (it would otherwise run unbilled in a non-billable
//!   stage).
//! - Healthy → `RUNNING` (the old instance is retired). A crash or a startup timeout →
//!   `RUNTIME_ERROR`; a crash of the old version while the new one builds → `BUILDING`.
//! - Sleep: only from `RUNNING`, only once the Space has been idle (no visit) for its sleep time:
//!   48 h fixed on `cpu-basic`, the owner's custom sleep time on paid hardware, never otherwise.
//!   Static Spaces sleep like free hardware, after a fixed 48 h (a project decision: the Hub serves
//!   static Spaces from shared infrastructure, but a self-hosted static Space holds a server of its
//!   own, which sleeping frees; waking one takes milliseconds).
//! - A visit wakes `SLEEPING` (→ `APP_STARTING`), never `PAUSED`; elsewhere it only counts as
//!   activity. Visits are never refused.
//! - Pause (owner) from any stage but `DELETING`; `PAUSED` is left only by the owner's restart or a
//!   delete.
//! - Restart (owner) from any stage but `DELETING`: rebuilds when no image is ready or on a factory
//!   reboot (no cache), else starts the built image; a repository that failed its check goes back
//!   to `NO_APP_FILE` / `CONFIG_ERROR`.
//! - Hardware change (owner) restarts an instance that was up, starting or asleep on the new
//!   flavor; elsewhere it is recorded and used at the next start. Storage attach, upgrade or delete
//!   restarts an instance that was up, so that `/data` is mounted (or unmounted).
//! - Suspend (platform) → `STOPPED`, which needs a restart (or a push).
//! - Instance lost (platform: the host or the supervisor restarted under a running app) →
//!   `SLEEPING`, so that the next visit starts it again; a build lost with it is started again.
//! - Delete → `DELETING`, which deletes the storage; nothing leaves `DELETING`.
//! - Static Spaces have no runtime controls (pause, restart, hardware, sleep time, storage) and
//!   never get hardware.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;

use crate::clock::elapsed;
use crate::event::{Actor, Allowed, Event, RepoCheck, Revision};
use crate::hardware::Flavor;
use crate::sdk::Sdk;
use crate::stage::Stage;
use crate::storage::{storage_request, StorageChange, StorageTier};

/// The fixed sleep time of free `cpu-basic` hardware: 48 hours.
pub const CPU_BASIC_SLEEP_TIME: Duration = Duration::from_secs(48 * 3600);

/// The default `startup_duration_timeout`: 30 minutes.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// What a runtime must do after a transition, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Cancel a build in progress (a newer push, a pause, a delete).
    CancelBuild,
    /// Build the current revision; `no_cache` on a factory reboot.
    Build {
        /// Build without the build cache.
        no_cache: bool,
    },
    /// Stop every instance of the Space (ephemeral disk goes with them).
    StopInstance,
    /// Start a new instance of the built image on this flavor (`None`: static, no hardware).
    StartInstance {
        /// The hardware to run on.
        flavor: Option<Flavor>,
    },
    /// The new instance is healthy: stop the old one that kept serving.
    RetireOldInstance,
    /// Delete the persistent volume and its data.
    DeleteVolume,
    /// Remove everything left of the Space.
    Destroy,
}

/// Why an event was refused. The state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Only the owner may do this.
    OwnerOnly {
        /// Who tried.
        by: Actor,
    },
    /// Only the platform reports this.
    PlatformOnly {
        /// Who tried.
        by: Actor,
    },
    /// Static Spaces have no runtime controls.
    StaticSpace,
    /// The Space is being deleted.
    Deleting,
    /// The event makes no sense in the current stage.
    WrongStage,
    /// The Space never sleeps (paid hardware with no custom sleep time).
    NeverSleeps,
    /// The Space has not been idle long enough.
    NotIdleLongEnough {
        /// Idle so far.
        idle: Duration,
        /// The sleep time.
        sleep_time: Duration,
    },
    /// Free `cpu-basic` hardware sleeps after a fixed 48 h.
    SleepTimeFixed,
    /// A sleep time must be a whole number of seconds, at least one (the saved state counts seconds).
    ZeroSleepTime,
    /// Storage is upgrade-only.
    StorageDowngrade {
        /// The tier held.
        held: StorageTier,
        /// The smaller tier asked for.
        requested: StorageTier,
    },
    /// There is no storage to delete.
    NoStorage,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::OwnerOnly { by } => write!(f, "only the owner can do this (tried by {by:?})"),
            Refusal::PlatformOnly { by } => {
                write!(f, "only the platform reports this (reported by {by:?})")
            }
            Refusal::StaticSpace => f.write_str(
                "static Spaces have no runtime controls (pause, restart, hardware, sleep time, storage)",
            ),
            Refusal::Deleting => f.write_str("the Space is being deleted"),
            Refusal::WrongStage => f.write_str("not possible in this stage"),
            Refusal::NeverSleeps => f.write_str(
                "this Space never sleeps (paid hardware sleeps only after a custom sleep time)",
            ),
            Refusal::NotIdleLongEnough { idle, sleep_time } => write!(
                f,
                "idle for {}s only, the sleep time is {}s",
                idle.as_secs(),
                sleep_time.as_secs()
            ),
            Refusal::SleepTimeFixed => f.write_str(
                "the sleep time of free cpu-basic hardware is fixed at 48 h; upgrade the hardware to set your own",
            ),
            Refusal::ZeroSleepTime => {
                f.write_str("a sleep time must be a whole number of seconds, at least one")
            }
            Refusal::StorageDowngrade { held, requested } => {
                f.write_str(&crate::error::downgrade_message(*held, *requested))
            }
            Refusal::NoStorage => f.write_str("the Space has no persistent storage to delete"),
        }
    }
}

/// The changing part of a Space. Read it through its getters; change it only with [`Lifecycle::step`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    sdk: Sdk,
    stage: Stage,
    requested_hardware: Option<Flavor>,
    current_hardware: Option<Flavor>,
    storage: Option<StorageTier>,
    custom_sleep_time: Option<Duration>,
    startup_timeout: Duration,
    revision: Option<Revision>,
    repo: RepoCheck,
    image_ready: bool,
    stage_since: Timestamp,
    last_activity: Timestamp,
}

/// A plain copy of a [`Lifecycle`], for saving state and restoring it ([`Lifecycle::restore`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[allow(missing_docs)]
pub struct LifecycleSnapshot {
    pub sdk: Sdk,
    pub stage: Stage,
    pub requested_hardware: Option<Flavor>,
    pub current_hardware: Option<Flavor>,
    pub storage: Option<StorageTier>,
    /// Seconds.
    pub custom_sleep_time_secs: Option<u64>,
    /// Seconds.
    pub startup_timeout_secs: u64,
    pub revision: Option<Revision>,
    pub repo: RepoCheck,
    pub image_ready: bool,
    pub stage_since: Timestamp,
    pub last_activity: Timestamp,
}

/// The result of a successful [`Lifecycle::step`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The state after the event.
    pub next: Lifecycle,
    /// What the runtime must do, in order.
    pub effects: Vec<Effect>,
}

impl Lifecycle {
    /// A new Space with no files yet: `NO_APP_FILE`, free hardware (none for static), no storage.
    pub fn new(sdk: Sdk, now: Timestamp) -> Self {
        Self {
            sdk,
            stage: Stage::NoAppFile,
            requested_hardware: sdk.has_runtime().then_some(Flavor::CpuBasic),
            current_hardware: None,
            storage: None,
            custom_sleep_time: None,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            revision: None,
            repo: RepoCheck::NoAppFile,
            image_ready: false,
            stage_since: now,
            last_activity: now,
        }
    }

    /// Sets the startup timeout (`startup_duration_timeout` of the config).
    pub fn with_startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// A plain copy of the state, for saving.
    pub fn snapshot(&self) -> LifecycleSnapshot {
        LifecycleSnapshot {
            sdk: self.sdk,
            stage: self.stage.clone(),
            requested_hardware: self.requested_hardware.clone(),
            current_hardware: self.current_hardware.clone(),
            storage: self.storage,
            custom_sleep_time_secs: self.custom_sleep_time.map(|d| d.as_secs()),
            startup_timeout_secs: self.startup_timeout.as_secs(),
            revision: self.revision.clone(),
            repo: self.repo.clone(),
            image_ready: self.image_ready,
            stage_since: self.stage_since,
            last_activity: self.last_activity,
        }
    }

    /// Restores a saved state, checking the invariants `step` keeps: a known stage, no hardware
    /// on static Spaces, current hardware only while an instance is up, never `Unknown` stages.
    pub fn restore(s: LifecycleSnapshot) -> Result<Lifecycle, Refusal> {
        let static_with_hw = !s.sdk.has_runtime() && s.requested_hardware.is_some();
        let hw_mismatch =
            s.current_hardware.is_some() != (s.stage.has_instance() && s.sdk.has_runtime());
        let no_hw = s.sdk.has_runtime() && s.requested_hardware.is_none();
        if !s.stage.is_known() || static_with_hw || hw_mismatch || no_hw {
            return Err(Refusal::WrongStage);
        }
        Ok(Lifecycle {
            sdk: s.sdk,
            stage: s.stage,
            requested_hardware: s.requested_hardware,
            current_hardware: s.current_hardware,
            storage: s.storage,
            custom_sleep_time: s.custom_sleep_time_secs.map(Duration::from_secs),
            startup_timeout: Duration::from_secs(s.startup_timeout_secs),
            revision: s.revision,
            repo: s.repo,
            image_ready: s.image_ready,
            stage_since: s.stage_since,
            last_activity: s.last_activity,
        })
    }

    /// The SDK.
    pub fn sdk(&self) -> Sdk {
        self.sdk
    }
    /// The current stage.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }
    /// The hardware asked for (`None` on static Spaces).
    pub fn requested_hardware(&self) -> Option<&Flavor> {
        self.requested_hardware.as_ref()
    }
    /// The hardware an instance runs on now (`None` when nothing runs).
    pub fn current_hardware(&self) -> Option<&Flavor> {
        self.current_hardware.as_ref()
    }
    /// The persistent storage tier held.
    pub fn storage(&self) -> Option<StorageTier> {
        self.storage
    }
    /// The owner's custom sleep time, if set.
    pub fn custom_sleep_time(&self) -> Option<Duration> {
        self.custom_sleep_time
    }
    /// The startup timeout.
    pub fn startup_timeout(&self) -> Duration {
        self.startup_timeout
    }
    /// The last pushed revision.
    pub fn revision(&self) -> Option<&Revision> {
        self.revision.as_ref()
    }
    /// Whether the current revision has a built image.
    pub fn image_ready(&self) -> bool {
        self.image_ready
    }
    /// When the current stage was entered.
    pub fn stage_since(&self) -> Timestamp {
        self.stage_since
    }
    /// The last visit (or the moment the app became healthy, whichever is later).
    pub fn last_activity(&self) -> Timestamp {
        self.last_activity
    }

    /// After how long without a visit the Space sleeps: 48 h on `cpu-basic` and on static Spaces
    /// (both free, both fixed), the custom sleep time on paid hardware, never (`None`) on paid
    /// hardware without one.
    pub fn sleep_time(&self) -> Option<Duration> {
        match &self.requested_hardware {
            None | Some(Flavor::CpuBasic) => Some(CPU_BASIC_SLEEP_TIME),
            Some(_) => self.custom_sleep_time,
        }
    }

    /// When the Space falls asleep if nobody visits, while it is `RUNNING`.
    pub fn sleeps_at(&self) -> Option<Timestamp> {
        (self.stage == Stage::Running)
            .then(|| self.sleep_time())
            .flatten()
            .map(|d| crate::clock::add(self.last_activity, d))
    }

    /// The one transition function. Pure: the same inputs give the same output.
    pub fn step(&self, event: &Event, actor: Actor, now: Timestamp) -> Result<Step, Refusal> {
        let kind = event.kind();
        match (kind.allowed(), actor) {
            (Allowed::Owner, a) if a != Actor::Owner => return Err(Refusal::OwnerOnly { by: a }),
            (Allowed::Platform, a) if a != Actor::Platform => {
                return Err(Refusal::PlatformOnly { by: a })
            }
            _ => {}
        }
        if self.stage == Stage::Deleting {
            // Visits to a Space being deleted are answered by the platform, not the app.
            return if matches!(event, Event::Visit) {
                Ok(self.unchanged())
            } else {
                Err(Refusal::Deleting)
            };
        }
        if !self.sdk.has_runtime() && kind.is_runtime_control() {
            return Err(Refusal::StaticSpace);
        }

        let mut next = self.clone();
        let mut fx = Vec::new();
        let stage = &self.stage;
        let to = match event {
            Event::Push { revision, repo } => {
                next.revision = Some(revision.clone());
                next.repo = repo.clone();
                next.image_ready = false;
                if *stage == Stage::Paused {
                    Stage::Paused
                } else {
                    if matches!(stage, Stage::Building | Stage::RunningBuilding) {
                        fx.push(Effect::CancelBuild);
                    }
                    match repo {
                        RepoCheck::Ready => {
                            let keep_serving = matches!(
                                stage,
                                Stage::Running | Stage::RunningBuilding | Stage::RunningAppStarting
                            );
                            if !keep_serving && stage.has_instance() {
                                fx.push(Effect::StopInstance);
                            }
                            fx.push(Effect::Build { no_cache: false });
                            if keep_serving {
                                Stage::RunningBuilding
                            } else {
                                Stage::Building
                            }
                        }
                        RepoCheck::NoAppFile | RepoCheck::ConfigError(_) => {
                            if stage.has_instance() {
                                fx.push(Effect::StopInstance);
                            }
                            repo_stage(repo)
                        }
                    }
                }
            }
            Event::BuildSucceeded => match stage {
                Stage::Building | Stage::RunningBuilding => {
                    next.image_ready = true;
                    fx.push(Effect::StartInstance {
                        flavor: self.requested_hardware.clone(),
                    });
                    if *stage == Stage::Building {
                        Stage::AppStarting
                    } else {
                        Stage::RunningAppStarting
                    }
                }
                _ => return Err(Refusal::WrongStage),
            },
            Event::BuildFailed => match stage {
                Stage::Building => Stage::BuildError,
                Stage::RunningBuilding => {
                    fx.push(Effect::StopInstance);
                    Stage::BuildError
                }
                _ => return Err(Refusal::WrongStage),
            },
            Event::AppHealthy => match stage {
                Stage::AppStarting => Stage::Running,
                Stage::RunningAppStarting => {
                    fx.push(Effect::RetireOldInstance);
                    Stage::Running
                }
                _ => return Err(Refusal::WrongStage),
            },
            Event::AppCrashed { .. } => match stage {
                Stage::RunningBuilding => {
                    // The old version died; the build goes on. Its dead instance is cleaned up.
                    fx.push(Effect::StopInstance);
                    Stage::Building
                }
                Stage::Running | Stage::AppStarting | Stage::RunningAppStarting => {
                    fx.push(Effect::StopInstance);
                    Stage::RuntimeError
                }
                _ => return Err(Refusal::WrongStage),
            },
            Event::StartupTimedOut => match stage {
                // The platform measured the timeout (with its own timer: a runtime waits for health
                // in real time even when the lifecycle's clock is a manual one).
                Stage::AppStarting | Stage::RunningAppStarting => {
                    fx.push(Effect::StopInstance);
                    Stage::RuntimeError
                }
                _ => return Err(Refusal::WrongStage),
            },
            Event::IdleTimeout => {
                if *stage != Stage::Running {
                    return Err(Refusal::WrongStage);
                }
                let Some(sleep_time) = self.sleep_time() else {
                    return Err(Refusal::NeverSleeps);
                };
                let idle = elapsed(self.last_activity, now);
                if idle < sleep_time {
                    return Err(Refusal::NotIdleLongEnough { idle, sleep_time });
                }
                fx.push(Effect::StopInstance);
                Stage::Sleeping
            }
            Event::Visit => {
                next.last_activity = now;
                if *stage == Stage::Sleeping {
                    fx.push(Effect::StartInstance {
                        flavor: self.requested_hardware.clone(),
                    });
                    Stage::AppStarting
                } else {
                    stage.clone()
                }
            }
            Event::Pause => {
                self.stop_all(&mut fx);
                Stage::Paused
            }
            Event::Restart { factory_reboot } => {
                self.stop_all(&mut fx);
                if self.repo != RepoCheck::Ready {
                    repo_stage(&self.repo)
                } else if *factory_reboot || !self.image_ready {
                    next.image_ready = false;
                    fx.push(Effect::Build {
                        no_cache: *factory_reboot,
                    });
                    Stage::Building
                } else {
                    fx.push(Effect::StartInstance {
                        flavor: self.requested_hardware.clone(),
                    });
                    Stage::AppStarting
                }
            }
            Event::ChangeHardware(flavor) => {
                if self.requested_hardware.as_ref() == Some(flavor) {
                    return Ok(self.unchanged());
                }
                next.requested_hardware = Some(flavor.clone());
                match stage {
                    Stage::RunningBuilding => {
                        fx.push(Effect::StopInstance);
                        Stage::Building
                    }
                    Stage::Running
                    | Stage::AppStarting
                    | Stage::RunningAppStarting
                    | Stage::Sleeping
                    | Stage::RuntimeError
                    | Stage::Stopped => next.restart_on_new_settings(&mut fx, stage),
                    other => other.clone(),
                }
            }
            Event::SetSleepTime(time) => {
                if self.requested_hardware == Some(Flavor::CpuBasic) {
                    return Err(Refusal::SleepTimeFixed);
                }
                // Whole seconds (the wire and the saved state count seconds), at least one.
                if time.is_some_and(|t| t.as_secs() == 0 || t.subsec_nanos() != 0) {
                    return Err(Refusal::ZeroSleepTime);
                }
                next.custom_sleep_time = *time;
                stage.clone()
            }
            Event::RequestStorage(tier) => match storage_request(self.storage, *tier) {
                Err(_) => {
                    return Err(Refusal::StorageDowngrade {
                        held: self.storage.unwrap_or(*tier),
                        requested: *tier,
                    })
                }
                Ok(StorageChange::Unchanged(_)) => return Ok(self.unchanged()),
                Ok(change) => {
                    next.storage = Some(change.tier());
                    if stage.has_instance() {
                        next.restart_on_new_settings(&mut fx, stage)
                    } else {
                        stage.clone()
                    }
                }
            },
            Event::DeleteStorage(_ack) => {
                if self.storage.is_none() {
                    return Err(Refusal::NoStorage);
                }
                next.storage = None;
                let to = if stage.has_instance() {
                    next.restart_on_new_settings(&mut fx, stage)
                } else {
                    stage.clone()
                };
                // The volume goes after the instance using it is stopped.
                let at = fx
                    .iter()
                    .position(|e| matches!(e, Effect::StartInstance { .. } | Effect::Build { .. }))
                    .unwrap_or(fx.len());
                fx.insert(at, Effect::DeleteVolume);
                to
            }
            Event::InstanceLost => match stage {
                Stage::AppStarting | Stage::Running | Stage::RunningAppStarting => Stage::Sleeping,
                Stage::RunningBuilding => {
                    fx.push(Effect::Build { no_cache: false });
                    Stage::Building
                }
                _ => return Err(Refusal::WrongStage),
            },
            Event::Suspend => match stage {
                Stage::Paused | Stage::Stopped => return Err(Refusal::WrongStage),
                _ => {
                    self.stop_all(&mut fx);
                    Stage::Stopped
                }
            },
            Event::Delete => {
                self.stop_all(&mut fx);
                if self.storage.is_some() {
                    fx.push(Effect::DeleteVolume);
                }
                fx.push(Effect::Destroy);
                next.storage = None;
                Stage::Deleting
            }
        };

        if to != self.stage {
            next.stage_since = now;
        }
        if to == Stage::Running && self.stage != Stage::Running {
            // The idle timer starts when the app starts serving.
            next.last_activity = now;
        }
        next.current_hardware = if to.has_instance() {
            let starts_new = fx.iter().any(|e| matches!(e, Effect::StartInstance { .. }));
            if starts_new || self.current_hardware.is_none() {
                next.requested_hardware.clone()
            } else {
                self.current_hardware.clone()
            }
        } else {
            None
        };
        next.stage = to;
        Ok(Step { next, effects: fx })
    }

    fn unchanged(&self) -> Step {
        Step {
            next: self.clone(),
            effects: Vec::new(),
        }
    }

    /// Stops whatever runs or builds.
    fn stop_all(&self, fx: &mut Vec<Effect>) {
        if matches!(self.stage, Stage::Building | Stage::RunningBuilding) {
            fx.push(Effect::CancelBuild);
        }
        if self.stage.has_instance() {
            fx.push(Effect::StopInstance);
        }
    }

    /// Restarts with the (already updated) settings in `self`: start the built image again, or
    /// build when there is none.
    fn restart_on_new_settings(&mut self, fx: &mut Vec<Effect>, from: &Stage) -> Stage {
        if from.has_instance() {
            if matches!(from, Stage::RunningBuilding) {
                fx.push(Effect::CancelBuild);
            }
            fx.push(Effect::StopInstance);
        }
        if self.image_ready {
            fx.push(Effect::StartInstance {
                flavor: self.requested_hardware.clone(),
            });
            Stage::AppStarting
        } else {
            fx.push(Effect::Build { no_cache: false });
            Stage::Building
        }
    }
}

fn repo_stage(repo: &RepoCheck) -> Stage {
    match repo {
        RepoCheck::Ready => Stage::Building,
        RepoCheck::NoAppFile => Stage::NoAppFile,
        RepoCheck::ConfigError(_) => Stage::ConfigError,
    }
}
