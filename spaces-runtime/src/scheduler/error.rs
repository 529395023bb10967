//! What the scheduler refuses, and why.
//!
//! [`ScheduleError`] is the scheduler's own error type. It is scheduler-specific on purpose:
//! spaces-runtime has no crate-wide error enum yet, and when it gets one it can wrap this type
//! (`Scheduler(#[from] ScheduleError)`). The `Display` and `Error` impls are written by hand
//! because this crate depends on spaces-core alone.

use std::fmt;

use spaces_core::GpuModel;

use super::host::{HostId, HostState};
use super::resources::{Demand, Resource, Resources};

/// Why no host can take a Space now.
///
/// ```
/// use spaces_core::GpuModel;
/// use spaces_runtime::scheduler::{Reason, Resource};
/// let reason = Reason::NoHostWithGpu { model: GpuModel::H100 };
/// assert_eq!(reason.to_string(), "no active host has H100 GPUs");
/// assert_eq!(reason.resource(), Some(Resource::Gpu(GpuModel::H100)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No host takes new Spaces: the fleet is empty, or every host is draining or removed.
    NoActiveHosts,
    /// No active host has GPUs of the model asked for.
    NoHostWithGpu {
        /// The model asked for.
        model: GpuModel,
    },
    /// The Space asks for more of a resource than any eligible host has in total, even empty.
    LargerThanAnyHost {
        /// The resource.
        resource: Resource,
        /// How much the Space asks for.
        requested: u32,
        /// The most any eligible host has.
        largest: u32,
    },
    /// Eligible hosts exist, but all are too full now.
    Full {
        /// What the nearest host lacks most (relative to the demand).
        resource: Resource,
        /// The host that came nearest to fitting: fewest resources short, then smallest shortfall.
        nearest: HostId,
        /// How much of each resource the nearest host lacks.
        lacking: Resources,
    },
}

impl Reason {
    /// The resource that is short, if one is named.
    pub fn resource(&self) -> Option<Resource> {
        match self {
            Reason::NoActiveHosts => None,
            Reason::NoHostWithGpu { model } => Some(Resource::Gpu(model.clone())),
            Reason::LargerThanAnyHost { resource, .. } | Reason::Full { resource, .. } => {
                Some(resource.clone())
            }
        }
    }

    /// The host that came nearest to fitting, when every eligible host is full.
    pub fn nearest_host(&self) -> Option<HostId> {
        match self {
            Reason::Full { nearest, .. } => Some(*nearest),
            _ => None,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::NoActiveHosts => f.write_str(
                "no host takes new Spaces (the fleet is empty, or every host is draining)",
            ),
            Reason::NoHostWithGpu { model } => write!(f, "no active host has {model} GPUs"),
            Reason::LargerThanAnyHost {
                resource,
                requested,
                largest,
            } => write!(
                f,
                "it asks for {requested} of {resource}, more than any eligible host has in \
                 total ({largest})"
            ),
            Reason::Full {
                resource,
                nearest,
                lacking,
            } => write!(
                f,
                "every eligible host is short of {resource}; the nearest, {nearest}, lacks \
                 {lacking}"
            ),
        }
    }
}

/// A Space that no host can take now, with the reason.
///
/// ```
/// use spaces_core::GpuModel;
/// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Reason, Scheduler, ScheduleError};
/// let mut fleet = Fleet::new();
/// fleet.add(HostSpec::cpu(64, 256, 2000));
/// let mut scheduler: Scheduler<u32> = Scheduler::new(fleet);
/// let err = scheduler.place_demand(1, &Demand::gpu(4, 15, 50, GpuModel::T4, 1)).unwrap_err();
/// let ScheduleError::Unschedulable(u) = err else { panic!() };
/// assert_eq!(u.reason(), &Reason::NoHostWithGpu { model: GpuModel::T4 });
/// assert!(u.to_string().contains("no active host has T4 GPUs"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unschedulable {
    demand: Demand,
    reason: Reason,
}

impl Unschedulable {
    pub(crate) fn new(demand: Demand, reason: Reason) -> Self {
        Self { demand, reason }
    }

    /// What the Space asked for.
    pub fn demand(&self) -> &Demand {
        &self.demand
    }

    /// Why no host can take it.
    pub fn reason(&self) -> &Reason {
        &self.reason
    }
}

impl fmt::Display for Unschedulable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no host can take a Space asking for {}: {}",
            self.demand, self.reason
        )
    }
}

impl std::error::Error for Unschedulable {}

/// Everything the scheduler and the fleet refuse.
///
/// ```
/// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Scheduler, ScheduleError};
/// let mut fleet = Fleet::new();
/// let host = fleet.add(HostSpec::cpu(64, 256, 2000));
/// let mut scheduler: Scheduler<&str> = Scheduler::new(fleet);
/// scheduler.place_demand("alice/demo", &Demand::cpu(2, 16, 50))?;
/// let again = scheduler.place_demand("alice/demo", &Demand::cpu(2, 16, 50)).unwrap_err();
/// assert_eq!(again, ScheduleError::AlreadyPlaced { host });
/// assert_eq!(scheduler.release(&"bob/x").unwrap_err(), ScheduleError::NotPlaced);
/// # Ok::<(), ScheduleError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScheduleError {
    /// No host can take the Space now.
    Unschedulable(Unschedulable),
    /// The Space is already placed (release it first to move it).
    AlreadyPlaced {
        /// Where it runs.
        host: HostId,
    },
    /// The Space is not placed, so there is nothing to release.
    NotPlaced,
    /// No host has this id.
    UnknownHost {
        /// The id.
        host: HostId,
    },
    /// The host takes no new Spaces, or cannot change state any more.
    HostNotActive {
        /// The host.
        host: HostId,
        /// Its state.
        state: HostState,
    },
    /// The demand asks for GPUs of a model the host does not have.
    WrongGpuModel {
        /// The host.
        host: HostId,
        /// Its GPU model, if any.
        has: Option<GpuModel>,
    },
    /// The host has too little free capacity for the demand.
    DoesNotFit {
        /// The host.
        host: HostId,
        /// What it lacks.
        lacking: Resources,
    },
    /// Giving this back would leave the host with more than its capacity: the accounts are wrong.
    OverRelease {
        /// The host.
        host: HostId,
    },
}

impl ScheduleError {
    /// The [`Unschedulable`] inside, if that is what this is.
    ///
    /// ```
    /// use spaces_runtime::scheduler::ScheduleError;
    /// assert!(ScheduleError::NotPlaced.unschedulable().is_none());
    /// ```
    pub fn unschedulable(&self) -> Option<&Unschedulable> {
        match self {
            ScheduleError::Unschedulable(u) => Some(u),
            _ => None,
        }
    }
}

impl From<Unschedulable> for ScheduleError {
    fn from(u: Unschedulable) -> Self {
        ScheduleError::Unschedulable(u)
    }
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleError::Unschedulable(u) => u.fmt(f),
            ScheduleError::AlreadyPlaced { host } => write!(
                f,
                "the Space is already placed on {host}; release it first to move it"
            ),
            ScheduleError::NotPlaced => f.write_str("the Space is not placed on any host"),
            ScheduleError::UnknownHost { host } => write!(f, "no host {host} in the fleet"),
            ScheduleError::HostNotActive { host, state } => {
                write!(f, "{host} is {state:?} and takes no new Spaces")
            }
            ScheduleError::WrongGpuModel { host, has: Some(m) } => {
                write!(f, "{host} has {m} GPUs, not the model asked for")
            }
            ScheduleError::WrongGpuModel { host, has: None } => {
                write!(f, "{host} has no GPUs")
            }
            ScheduleError::DoesNotFit { host, lacking } => {
                write!(f, "{host} is too full: it lacks {lacking}")
            }
            ScheduleError::OverRelease { host } => write!(
                f,
                "giving this back would leave {host} with more than its capacity"
            ),
        }
    }
}

impl std::error::Error for ScheduleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScheduleError::Unschedulable(u) => Some(u),
            _ => None,
        }
    }
}
