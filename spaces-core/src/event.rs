//! What happens to a Space: the events the lifecycle reacts to, and who causes them.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::hardware::Flavor;
use crate::storage::{DataLossAck, StorageTier};

/// Who causes an event. Owner-only and platform-only events check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The Space's owner (or a member of the owning organisation with write access).
    Owner,
    /// Anyone else: a visitor of the app.
    Visitor,
    /// The platform itself: builders, runtimes, health checks, idle timers.
    Platform,
}

/// A git revision (commit sha) of a Space's repository: 4 to 64 hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Revision(String);

impl Revision {
    /// Validates a revision.
    pub fn new(rev: &str) -> Result<Self, Error> {
        if (4..=64).contains(&rev.len()) && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Revision(rev.to_ascii_lowercase()))
        } else {
            Err(Error::InvalidRevision {
                input: rev.to_owned(),
            })
        }
    }

    /// The revision, lower-case hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 characters, as git shows them.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(7)]
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Revision {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Revision {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Revision::new(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the platform found in a pushed revision before building it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RepoCheck {
    /// An app file and a usable configuration: build it.
    Ready,
    /// The repository has no app file (`NO_APP_FILE`).
    NoAppFile,
    /// The configuration cannot be used (`CONFIG_ERROR`), with the reason.
    ConfigError(String),
}

/// An event in a Space's life. Apply it with [`Space::apply`](crate::Space::apply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A commit was pushed (owner). Builds it, keeping the old version serving if one runs.
    Push {
        /// The pushed revision.
        revision: Revision,
        /// What the platform found in it.
        repo: RepoCheck,
    },
    /// The build finished (platform).
    BuildSucceeded,
    /// The build failed (platform).
    BuildFailed,
    /// The new instance answered its health check (platform).
    AppHealthy,
    /// The serving or starting instance exited (platform).
    AppCrashed {
        /// The exit code, when the runtime knows it.
        exit_code: Option<i32>,
    },
    /// The instance was not healthy within the startup timeout (platform).
    StartupTimedOut,
    /// The idle timer fired (platform): the Space sleeps if it has been idle for its sleep time.
    IdleTimeout,
    /// Someone visited the app (anyone): wakes a sleeping Space, never a paused one.
    Visit,
    /// The owner paused the Space.
    Pause,
    /// The owner restarted the Space; a factory reboot rebuilds without the build cache.
    Restart {
        /// Rebuild from scratch, without cache.
        factory_reboot: bool,
    },
    /// The owner asked for other hardware; the Space restarts on it.
    ChangeHardware(Flavor),
    /// The owner set (or cleared, with `None`) a custom sleep time. Not on free `cpu-basic`.
    SetSleepTime(Option<Duration>),
    /// The owner attached or upgraded persistent storage (upgrade-only).
    RequestStorage(StorageTier),
    /// The owner deleted persistent storage, acknowledging that its data is lost.
    DeleteStorage(DataLossAck),
    /// The platform stopped the Space (e.g. suspended after repeated runtime errors).
    Suspend,
    /// The instance vanished through no fault of the app (its host or the supervisor restarted):
    /// the Space sleeps and wakes on the next visit (platform).
    InstanceLost,
    /// The owner deleted the Space (with its storage).
    Delete,
}

/// The kind of an [`Event`], without its data: for errors and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EventKind {
    Push,
    BuildSucceeded,
    BuildFailed,
    AppHealthy,
    AppCrashed,
    StartupTimedOut,
    IdleTimeout,
    Visit,
    Pause,
    Restart,
    ChangeHardware,
    SetSleepTime,
    RequestStorage,
    DeleteStorage,
    Suspend,
    InstanceLost,
    Delete,
}

impl EventKind {
    /// A short lower-case name (`push`, `build succeeded`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Push => "push",
            EventKind::BuildSucceeded => "build succeeded",
            EventKind::BuildFailed => "build failed",
            EventKind::AppHealthy => "app healthy",
            EventKind::AppCrashed => "app crashed",
            EventKind::StartupTimedOut => "startup timed out",
            EventKind::IdleTimeout => "idle timeout",
            EventKind::Visit => "visit",
            EventKind::Pause => "pause",
            EventKind::Restart => "restart",
            EventKind::ChangeHardware => "hardware change",
            EventKind::SetSleepTime => "sleep time change",
            EventKind::RequestStorage => "storage request",
            EventKind::DeleteStorage => "storage delete",
            EventKind::Suspend => "suspend",
            EventKind::InstanceLost => "instance lost",
            EventKind::Delete => "delete",
        }
    }

    /// Who may cause events of this kind.
    pub const fn allowed(self) -> Allowed {
        match self {
            EventKind::Visit => Allowed::Anyone,
            EventKind::Push
            | EventKind::Pause
            | EventKind::Restart
            | EventKind::ChangeHardware
            | EventKind::SetSleepTime
            | EventKind::RequestStorage
            | EventKind::DeleteStorage
            | EventKind::Delete => Allowed::Owner,
            EventKind::BuildSucceeded
            | EventKind::BuildFailed
            | EventKind::AppHealthy
            | EventKind::AppCrashed
            | EventKind::StartupTimedOut
            | EventKind::IdleTimeout
            | EventKind::Suspend
            | EventKind::InstanceLost => Allowed::Platform,
        }
    }

    /// Whether this is a runtime control, which static Spaces do not have.
    pub const fn is_runtime_control(self) -> bool {
        matches!(
            self,
            EventKind::Pause
                | EventKind::Restart
                | EventKind::ChangeHardware
                | EventKind::SetSleepTime
                | EventKind::RequestStorage
                | EventKind::DeleteStorage
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may cause an event kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Any actor.
    Anyone,
    /// Only [`Actor::Owner`].
    Owner,
    /// Only [`Actor::Platform`].
    Platform,
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Push { .. } => EventKind::Push,
            Event::BuildSucceeded => EventKind::BuildSucceeded,
            Event::BuildFailed => EventKind::BuildFailed,
            Event::AppHealthy => EventKind::AppHealthy,
            Event::AppCrashed { .. } => EventKind::AppCrashed,
            Event::StartupTimedOut => EventKind::StartupTimedOut,
            Event::IdleTimeout => EventKind::IdleTimeout,
            Event::Visit => EventKind::Visit,
            Event::Pause => EventKind::Pause,
            Event::Restart { .. } => EventKind::Restart,
            Event::ChangeHardware(_) => EventKind::ChangeHardware,
            Event::SetSleepTime(_) => EventKind::SetSleepTime,
            Event::RequestStorage(_) => EventKind::RequestStorage,
            Event::DeleteStorage(_) => EventKind::DeleteStorage,
            Event::Suspend => EventKind::Suspend,
            Event::InstanceLost => EventKind::InstanceLost,
            Event::Delete => EventKind::Delete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions() {
        assert_eq!(Revision::new("ABCDEF12").unwrap().as_str(), "abcdef12");
        assert_eq!(Revision::new("0123456789").unwrap().short(), "0123456");
        assert!(Revision::new("xyz").is_err());
        assert!(Revision::new("").is_err());
    }
}
