//! Placement of Spaces on a fleet of hosts (issue 7).
//!
//! A [`Scheduler`] decides where each Space runs when it starts or wakes, and frees its capacity
//! when it sleeps, pauses or stops. It is pure synchronous code with no I/O; the lifecycle
//! supervisor calls it.
//!
//! - [`Fleet`]: the hosts, each with a [`HostSpec`] (capacity in vCPU, memory, ephemeral disk and
//!   whole GPUs of one [`GpuModel`](spaces_core::GpuModel); [`Labels`]) and what is free on it.
//! - [`Scheduler::place`] / [`Scheduler::place_demand`] → a [`HostId`], or an [`Unschedulable`]
//!   naming the [`Reason`]: which [`Resource`] (and GPU model) is short, and the nearest host.
//! - [`Scheduler::release`] gives back exactly what the placement took; [`Scheduler::place_on`]
//!   accounts a Space on a host chosen elsewhere.
//! - [`Scheduler::add_host`], [`Scheduler::drain_host`], [`Scheduler::resume_host`],
//!   [`Scheduler::remove_host`].
//! - [`Fleet::packing`]: hosts in use and stranded GPU capacity ([`Packing`]).
//!
//! # Rules
//!
//! - A host is never oversubscribed on any resource: the [`Fleet`] refuses it, whoever asks.
//! - GPU Spaces get whole GPUs of the model they ask for, never another model.
//! - CPU-only Spaces do not strand GPU hosts: they go to CPU hosts while any has room, then to GPU
//!   hosts whose GPUs are all taken, and only then to GPU hosts with free GPUs (cheapest model
//!   first).
//! - Within those tiers, the host is the first that fits in the order hosts were added (first
//!   fit): Spaces are packed onto few hosts, whole hosts stay free, and big flavors still find
//!   room.
//! - No false refusal: if any active host can take the Space, it is placed.
//!
//! # Why it is fast
//!
//! Flavors are few (7 in the seed catalog), so the scheduler keeps, for each demand *shape*, the
//! set of hosts that can take it right now, as a 64-ary bit tree over the hosts of each pool
//! (hosts of one GPU model). A placement reads the lowest member of the first non-empty set in the
//! shape's search order, three word reads at 100,000 hosts (O(log₆₄ N)); after a placement or a
//! release, the host is re-checked against the few shapes of its pool and a bit flips only where
//! the answer changed. Multi-dimensional fit is thus exact (every set member fits on every
//! resource at once), with no per-placement scan. A scan happens only on the failure path (to name
//! the nearest host), when a shape is first seen, and for shapes beyond the 64 the index holds.
//!
//! ```
//! use spaces_core::{Catalog, Flavor, GpuModel};
//! use spaces_runtime::scheduler::{Fleet, HostSpec, Reason, Resource, Scheduler};
//!
//! let catalog = Catalog::seed();
//! let mut fleet = Fleet::new();
//! fleet.add(HostSpec::cpu(64, 256, 2000).with_label("zone", "a"));
//! let t4_host = fleet.add(HostSpec::cpu(32, 128, 1000).with_gpus(GpuModel::T4, 1));
//! let mut scheduler: Scheduler<u32> = Scheduler::with_catalog(fleet, &catalog);
//!
//! let t4 = catalog.flavor(&Flavor::T4Small).unwrap();
//! assert_eq!(scheduler.place(1, t4)?, t4_host);
//! let refused = scheduler.place(2, t4).unwrap_err();
//! let reason = refused.unschedulable().unwrap().reason();
//! assert_eq!(reason.resource(), Some(Resource::Gpu(GpuModel::T4)));
//! assert_eq!(reason.nearest_host(), Some(t4_host));
//! assert!(matches!(reason, Reason::Full { .. }));
//!
//! scheduler.release(&1)?;
//! assert_eq!(scheduler.place(2, t4)?, t4_host);
//! # Ok::<(), spaces_runtime::scheduler::ScheduleError>(())
//! ```

mod error;
mod fleet;
mod host;
mod index;
mod packing;
mod placement;
mod resources;
mod scan;
mod slot_set;

pub use error::{Reason, ScheduleError, Unschedulable};
pub use fleet::Fleet;
pub use host::{Host, HostId, HostSpec, HostState, Labels};
pub use packing::Packing;
pub use placement::{Placement, Released, Scheduler};
pub use resources::{Demand, Resource, Resources};
