//! # spaces-core
//!
//! The pure domain of Spaces hosting: what a Space is and how it lives, with no I/O. Every other
//! crate of the family takes its types from here.
//!
//! - [`SpaceId`]: validated `owner/name`, with its host (`alice-my-app.hf.space`).
//! - [`Sdk`], [`Visibility`].
//! - [`Catalog`] of [`HardwareSpec`]s (by [`Flavor`]) and [`StorageSpec`]s (by [`StorageTier`]);
//!   [`Catalog::seed`] is the built-in default.
//! - [`Stage`] (13 wire strings, unknown ones kept), [`Event`], [`Actor`], and the one transition
//!   function [`Lifecycle::step`]; [`Space::apply`] is the only way a Space's stage changes.
//! - Persistent storage rules: [`storage_request`] (upgrade-only), [`DataLossAck`] for deletes.
//! - [`Secret`] (never shown), [`AppEnvironment`] (what the app sees), [`EgressRule`].
//! - [`Clock`], with [`SystemClock`] and [`ManualClock`].
//! - [`UsageEvent`] / [`UsageChange`]: the one usage record, written by the runtime and rated by
//!   billing, with its billing.md JSON line ([`UsageEvent::to_json_line`]).
//!
//! This crate never depends on tokio, an HTTP client, a container engine or a YAML parser
//! (`serde` derives are behind the optional `serde` feature).
//!
//! ## Example: a Space's life
//!
//! ```
//! use std::time::Duration;
//! use spaces_core::*;
//!
//! let clock = ManualClock::new("2026-11-01T00:00:00Z".parse().unwrap());
//! let mut space = Space::new("alice/demo".parse()?, Sdk::Gradio, Visibility::Public, clock.now());
//!
//! let push = Event::Push { revision: Revision::new("1a2b3c4")?, repo: RepoCheck::Ready };
//! assert_eq!(space.apply(push, Actor::Owner, clock.now())?.to, Stage::Building);
//! space.apply(Event::BuildSucceeded, Actor::Platform, clock.now())?;
//! space.apply(Event::AppHealthy, Actor::Platform, clock.now())?;
//!
//! // Free cpu-basic hardware sleeps after 48 h without a visit.
//! clock.advance(Duration::from_secs(48 * 3600));
//! let t = space.apply(Event::IdleTimeout, Actor::Platform, clock.now())?;
//! assert_eq!(t.to, Stage::Sleeping);
//! assert!(t.effects.contains(&Effect::StopInstance));
//!
//! // A visit wakes it.
//! assert_eq!(space.apply(Event::Visit, Actor::Visitor, clock.now())?.to, Stage::AppStarting);
//!
//! // Storage is upgrade-only.
//! space.apply(Event::RequestStorage(StorageTier::Medium), Actor::Owner, clock.now())?;
//! let refused = space.apply(Event::RequestStorage(StorageTier::Small), Actor::Owner, clock.now());
//! assert!(refused.unwrap_err().to_string().contains("delete the storage first"));
//! # Ok::<(), spaces_core::Error>(())
//! ```

mod app_path;
mod catalog;
mod clock;
mod env;
mod error;
mod event;
mod hardware;
mod id;
mod lifecycle;
mod sdk;
mod secret;
mod space;
mod stage;
mod storage;
mod usage;

pub use app_path::{AppPath, MAX_APP_PATH_LEN};
pub use catalog::Catalog;
pub use clock::{add as add_duration, elapsed, Clock, ManualClock, SystemClock};
pub use env::{AppEnvironment, EgressRule, EnvValue, DATA_DIR, HF_HOME_ON_STORAGE, RESERVED_NAMES};
pub use error::{Error, IdRule};
pub use event::{Actor, Allowed, Event, EventKind, RepoCheck, Revision};
pub use hardware::{Flavor, GpuModel, GpuSpec, HardwareSpec, OtherFlavor};
pub use id::{RepoId, SpaceId, MAX_PART_LEN, SPACE_HOST_DOMAIN};
pub use lifecycle::{
    Effect, Lifecycle, LifecycleSnapshot, Refusal, Step, CPU_BASIC_SLEEP_TIME,
    DEFAULT_STARTUP_TIMEOUT,
};
pub use sdk::{Sdk, Visibility, DEFAULT_APP_PORT};
pub use secret::{EnvName, Secret, SecretEntry};
pub use space::{Space, Transition};
pub use stage::{Stage, UnknownStage};
pub use storage::{storage_request, DataLossAck, StorageChange, StorageSpec, StorageTier};
pub use usage::{UsageChange, UsageEvent};

/// Re-exported so that users name the same types as this crate.
pub use jiff::Timestamp;
pub use rust_decimal::Decimal;

/// The README's Rust example, compiled and run as a doctest so that it stays true.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
