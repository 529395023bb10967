//! The [`Scheduler`]: places Spaces on hosts and frees what they took.

use std::collections::hash_map::{Entry, HashMap};

use rustc_hash::FxBuildHasher;
use std::hash::Hash;

use spaces_core::{Catalog, GpuModel, HardwareSpec, SpaceId};

use super::error::{ScheduleError, Unschedulable};
use super::fleet::Fleet;
use super::host::{HostId, HostSpec, HostState};
use super::index::ShapeIndex;
use super::resources::{Demand, Resources};
use super::scan;

/// Where a Space runs and exactly what it took there.
///
/// ```
/// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Resources, Scheduler};
/// let mut fleet = Fleet::new();
/// fleet.add(HostSpec::cpu(64, 256, 2000));
/// let mut s: Scheduler<u32> = Scheduler::new(fleet);
/// let host = s.place_demand(7, &Demand::cpu(2, 16, 50))?;
/// let p = s.placement(&7).unwrap();
/// assert_eq!(p.host(), host);
/// assert_eq!(p.took(), Resources::new(2, 16, 50, 0));
/// # Ok::<(), spaces_runtime::scheduler::ScheduleError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    host: HostId,
    took: Resources,
}

impl Placement {
    /// The host the Space runs on.
    pub fn host(&self) -> HostId {
        self.host
    }

    /// What the Space took on it (GPUs are of the host's model).
    pub fn took(&self) -> Resources {
        self.took
    }
}

/// A Space taken off its host by [`Scheduler::release`] or [`Scheduler::remove_host`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released<K> {
    /// The Space (the key given to `place`, handed back so it can be placed again).
    pub space: K,
    /// Where it ran and what it gave back.
    pub placement: Placement,
}

/// Places Spaces on a [`Fleet`], fast and tightly; see the [module documentation](super).
///
/// `K` identifies a Space: a [`SpaceId`] by default, or any cheap key (an index into the caller's
/// registry).
///
/// ```
/// use spaces_core::{Catalog, Flavor, GpuModel, SpaceId};
/// use spaces_runtime::scheduler::{Fleet, HostSpec, Scheduler};
/// let catalog = Catalog::seed();
/// let mut fleet = Fleet::new();
/// let cpu = fleet.add(HostSpec::cpu(64, 256, 2000));
/// let a100 = fleet.add(HostSpec::cpu(96, 1152, 8000).with_gpus(GpuModel::A100, 8));
/// let mut scheduler = Scheduler::with_catalog(fleet, &catalog);
///
/// let basic = catalog.flavor(&Flavor::CpuBasic).unwrap();
/// let large = catalog.flavor(&Flavor::A100Large).unwrap();
/// let demo: SpaceId = "alice/demo".parse()?;
/// let llm: SpaceId = "bob/llm".parse()?;
/// // CPU Spaces go to the CPU host, keeping the A100 host for GPU work.
/// assert_eq!(scheduler.place(demo.clone(), basic)?, cpu);
/// assert_eq!(scheduler.place(llm.clone(), large)?, a100);
///
/// let released = scheduler.release(&demo)?;
/// assert_eq!(released.placement.host(), cpu);
/// assert_eq!(scheduler.fleet().host(cpu).unwrap().spaces(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Scheduler<K = SpaceId> {
    fleet: Fleet,
    index: ShapeIndex,
    /// Keyed with the Fx hash: placement keys are Space ids chosen by the platform, not by an
    /// attacker, and SipHash costs more than the rest of a placement.
    placements: HashMap<K, Placement, FxBuildHasher>,
}

impl<K: Eq + Hash> Scheduler<K> {
    /// A scheduler over `fleet`, with no Space placed. Demand shapes are indexed on first use.
    pub fn new(fleet: Fleet) -> Self {
        let index = ShapeIndex::new(&fleet);
        Self {
            fleet,
            index,
            placements: HashMap::default(),
        }
    }

    /// A scheduler over `fleet` with every flavor of `catalog` indexed up front, so that no
    /// placement pays for indexing a new shape.
    ///
    /// ```
    /// use spaces_core::Catalog;
    /// use spaces_runtime::scheduler::{Fleet, Scheduler};
    /// let s: Scheduler = Scheduler::with_catalog(Fleet::new(), &Catalog::seed());
    /// assert_eq!(s.placed(), 0);
    /// ```
    pub fn with_catalog(fleet: Fleet, catalog: &Catalog) -> Self {
        let mut scheduler = Self::new(fleet);
        for spec in catalog.hardware() {
            scheduler.prepare(&Demand::from(spec));
        }
        scheduler
    }

    /// Indexes `demand`'s shape now rather than on its first placement (no effect when its GPU
    /// model has no host yet, or when the index is full).
    pub fn prepare(&mut self, demand: &Demand) {
        let model = demand.gpu_model();
        if let Some(pool) = self.fleet.pool_of(model) {
            let pool = model.map(|_| pool);
            self.index.shape(&self.fleet, &demand.resources(), pool);
        } else if model.is_none() {
            self.index.shape(&self.fleet, &demand.resources(), None);
        }
    }

    /// The fleet, with what is free on each host.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Places `space` on a host that can take a Space of this hardware flavor, and takes the
    /// flavor's vCPU, memory, disk and GPUs there.
    pub fn place(&mut self, space: K, hardware: &HardwareSpec) -> Result<HostId, ScheduleError> {
        let (need, model) = match &hardware.gpu {
            Some(g) if g.count > 0 => (
                Resources::new(hardware.vcpu, hardware.memory_gb, hardware.disk_gb, g.count),
                Some(&g.model),
            ),
            _ => (
                Resources::new(hardware.vcpu, hardware.memory_gb, hardware.disk_gb, 0),
                None,
            ),
        };
        self.place_parts(space, need, model)
    }

    /// Places `space` for an explicit [`Demand`] (same rules as [`Scheduler::place`]).
    pub fn place_demand(&mut self, space: K, demand: &Demand) -> Result<HostId, ScheduleError> {
        self.place_parts(space, demand.resources(), demand.gpu_model())
    }

    fn place_parts(
        &mut self,
        space: K,
        need: Resources,
        model: Option<&GpuModel>,
    ) -> Result<HostId, ScheduleError> {
        let vacant = match self.placements.entry(space) {
            Entry::Occupied(o) => return Err(ScheduleError::AlreadyPlaced { host: o.get().host }),
            Entry::Vacant(v) => v,
        };
        let found = match (model, self.fleet.pool_of(model)) {
            (Some(_), None) => None,
            (_, pool) => {
                let pool = model.and(pool);
                match self.index.shape(&self.fleet, &need, pool) {
                    Some(shape) => self.index.find(&self.fleet, shape),
                    None => scan::first_fit(&self.fleet, &need, model),
                }
            }
        };
        let Some(host) = found else {
            let reason = scan::diagnose(&self.fleet, &need, model);
            return Err(Unschedulable::new(Demand::new(need, model.cloned()), reason).into());
        };
        self.fleet.allocate_parts(host, &need, model)?;
        self.index.refresh(&self.fleet, host);
        vacant.insert(Placement { host, took: need });
        Ok(host)
    }

    /// Accounts `space` on a host chosen by someone else (a pod another scheduler bound, or one
    /// bound before this scheduler started), taking `demand` there. Unlike
    /// [`Scheduler::place_demand`] the host may be draining (a cordoned node still runs its
    /// pods); it must not be removed, must have the GPU model asked for, and is still never
    /// oversubscribed. Added for the Kubernetes scheduler (`kubernetes::scheduler`).
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Scheduler};
    /// let mut fleet = Fleet::new();
    /// let a = fleet.add(HostSpec::cpu(4, 32, 100));
    /// let b = fleet.add(HostSpec::cpu(4, 32, 100));
    /// let mut s: Scheduler<u8> = Scheduler::new(fleet);
    /// s.drain_host(b)?;
    /// s.place_on(1, b, &Demand::cpu(3, 16, 50))?;
    /// assert_eq!(s.placement(&1).unwrap().host(), b);
    /// assert!(s.place_on(2, b, &Demand::cpu(3, 16, 50)).is_err()); // would oversubscribe
    /// assert_eq!(s.place_demand(2, &Demand::cpu(3, 16, 50))?, a);
    /// # Ok::<(), spaces_runtime::scheduler::ScheduleError>(())
    /// ```
    pub fn place_on(
        &mut self,
        space: K,
        host: HostId,
        demand: &Demand,
    ) -> Result<(), ScheduleError> {
        let vacant = match self.placements.entry(space) {
            Entry::Occupied(o) => return Err(ScheduleError::AlreadyPlaced { host: o.get().host }),
            Entry::Vacant(v) => v,
        };
        let state = self
            .fleet
            .host(host)
            .map(|h| h.state())
            .ok_or(ScheduleError::UnknownHost { host })?;
        let need = demand.resources();
        let result = if state == HostState::Draining {
            self.fleet.set_state(host, HostState::Active)?;
            let r = self.fleet.allocate_parts(host, &need, demand.gpu_model());
            self.fleet.set_state(host, HostState::Draining)?;
            r
        } else {
            self.fleet.allocate_parts(host, &need, demand.gpu_model())
        };
        result?;
        self.index.refresh(&self.fleet, host);
        vacant.insert(Placement { host, took: need });
        Ok(())
    }

    /// Takes `space` off its host and gives back exactly what it took.
    pub fn release(&mut self, space: &K) -> Result<Released<K>, ScheduleError> {
        let (space, placement) = self
            .placements
            .remove_entry(space)
            .ok_or(ScheduleError::NotPlaced)?;
        self.fleet.give_back(placement.host, &placement.took)?;
        self.index.refresh(&self.fleet, placement.host);
        Ok(Released { space, placement })
    }

    /// Where `space` runs, if it is placed.
    pub fn placement(&self, space: &K) -> Option<Placement> {
        self.placements.get(space).copied()
    }

    /// Every placed Space with its placement, in no particular order.
    pub fn placements(&self) -> impl Iterator<Item = (&K, &Placement)> {
        self.placements.iter()
    }

    /// How many Spaces are placed.
    pub fn placed(&self) -> usize {
        self.placements.len()
    }

    /// Adds an active host to the fleet; it takes Spaces at once.
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Scheduler};
    /// let mut s: Scheduler<u8> = Scheduler::new(Fleet::new());
    /// assert!(s.place_demand(1, &Demand::cpu(2, 16, 50)).is_err());
    /// let host = s.add_host(HostSpec::cpu(4, 32, 100));
    /// assert_eq!(s.place_demand(1, &Demand::cpu(2, 16, 50))?, host);
    /// # Ok::<(), spaces_runtime::scheduler::ScheduleError>(())
    /// ```
    pub fn add_host(&mut self, spec: HostSpec) -> HostId {
        let host = self.fleet.add(spec);
        self.index.add_host(&self.fleet, host);
        host
    }

    /// Stops placing Spaces on `host`; the Spaces on it keep running until released.
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Scheduler};
    /// let mut fleet = Fleet::new();
    /// let a = fleet.add(HostSpec::cpu(4, 32, 100));
    /// let b = fleet.add(HostSpec::cpu(4, 32, 100));
    /// let mut s: Scheduler<u8> = Scheduler::new(fleet);
    /// s.drain_host(a)?;
    /// assert_eq!(s.place_demand(1, &Demand::cpu(2, 16, 50))?, b);
    /// s.resume_host(a)?;
    /// assert_eq!(s.place_demand(2, &Demand::cpu(2, 16, 50))?, a);
    /// # Ok::<(), spaces_runtime::scheduler::ScheduleError>(())
    /// ```
    pub fn drain_host(&mut self, host: HostId) -> Result<(), ScheduleError> {
        self.fleet.set_state(host, HostState::Draining)?;
        self.index.refresh(&self.fleet, host);
        Ok(())
    }

    /// Lets a draining host take Spaces again.
    pub fn resume_host(&mut self, host: HostId) -> Result<(), ScheduleError> {
        self.fleet.set_state(host, HostState::Active)?;
        self.index.refresh(&self.fleet, host);
        Ok(())
    }

    /// Removes `host` from the fleet, evicting the Spaces still on it; they are returned so that
    /// the caller can place them again. Costs a pass over the placements (a rare operation).
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, HostState, Scheduler};
    /// let mut fleet = Fleet::new();
    /// let a = fleet.add(HostSpec::cpu(4, 32, 100));
    /// let b = fleet.add(HostSpec::cpu(4, 32, 100));
    /// let mut s: Scheduler<u8> = Scheduler::new(fleet);
    /// s.place_demand(1, &Demand::cpu(2, 16, 50))?;
    /// let evicted = s.remove_host(a)?;
    /// assert_eq!(evicted.len(), 1);
    /// assert_eq!(s.place_demand(evicted[0].space, &Demand::cpu(2, 16, 50))?, b);
    /// assert_eq!(s.fleet().host(a).unwrap().state(), HostState::Removed);
    /// # Ok::<(), spaces_runtime::scheduler::ScheduleError>(())
    /// ```
    pub fn remove_host(&mut self, host: HostId) -> Result<Vec<Released<K>>, ScheduleError> {
        self.fleet.set_state(host, HostState::Removed)?;
        self.index.refresh(&self.fleet, host);
        let mut evicted = Vec::new();
        let mut kept = HashMap::with_capacity_and_hasher(self.placements.len(), FxBuildHasher);
        for (space, placement) in self.placements.drain() {
            if placement.host == host {
                evicted.push(Released { space, placement });
            } else {
                kept.insert(space, placement);
            }
        }
        self.placements = kept;
        self.fleet.clear_removed(host);
        Ok(evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::{Reason, Resource};
    use spaces_core::Flavor;

    fn flavor(f: Flavor) -> HardwareSpec {
        Catalog::seed().flavor(&f).unwrap().clone()
    }

    #[test]
    fn cpu_spaces_fill_cpu_hosts_before_gpu_hosts() {
        let mut fleet = Fleet::new();
        let a100 = fleet.add(HostSpec::cpu(96, 1152, 8000).with_gpus(GpuModel::A100, 8));
        let cpu = fleet.add(HostSpec::cpu(8, 64, 400));
        let t4 = fleet.add(HostSpec::cpu(32, 128, 1000).with_gpus(GpuModel::T4, 1));
        let mut s: Scheduler<u32> = Scheduler::with_catalog(fleet, &Catalog::seed());
        let basic = flavor(Flavor::CpuBasic);
        for i in 0..4 {
            assert_eq!(s.place(i, &basic).unwrap(), cpu, "CPU host first");
        }
        // The CPU host is full (64 GB): next is the cheapest GPU host, the T4 one.
        assert_eq!(s.place(4, &basic).unwrap(), t4);
        // Once its only T4 is taken, the T4 host's leftovers strand nothing: CPU Spaces go there
        // before touching the A100 host with idle GPUs.
        assert_eq!(s.place(100, &flavor(Flavor::T4Small)).unwrap(), t4);
        assert_eq!(s.place(5, &basic).unwrap(), t4);
        for i in 6..20 {
            let host = s.place(i, &basic).unwrap();
            if host == a100 {
                // Only after the T4 host is full.
                let t4_free = s.fleet().host(t4).unwrap().free();
                assert!(!Resources::new(2, 16, 50, 0).fits_in(&t4_free));
            }
        }
    }

    #[test]
    fn gpu_spaces_get_their_model_only() {
        let mut fleet = Fleet::new();
        fleet.add(HostSpec::cpu(96, 1152, 8000).with_gpus(GpuModel::A100, 8));
        let t4 = fleet.add(HostSpec::cpu(32, 128, 1000).with_gpus(GpuModel::T4, 2));
        let mut s: Scheduler<u32> = Scheduler::new(fleet);
        let small = flavor(Flavor::T4Small);
        assert_eq!(s.place(1, &small).unwrap(), t4);
        assert_eq!(s.place(2, &small).unwrap(), t4);
        let err = s.place(3, &small).unwrap_err();
        let reason = err.unschedulable().unwrap().reason();
        assert_eq!(
            reason,
            &Reason::Full {
                resource: Resource::Gpu(GpuModel::T4),
                nearest: t4,
                lacking: Resources::new(0, 0, 0, 1),
            }
        );
        assert!(err.to_string().contains("T4 GPUs"), "{err}");
        let a10g = s.place(4, &flavor(Flavor::A10gSmall)).unwrap_err();
        assert_eq!(
            a10g.unschedulable().unwrap().reason(),
            &Reason::NoHostWithGpu {
                model: GpuModel::A10G
            }
        );
    }

    #[test]
    fn reasons_name_the_resource_and_the_nearest_host() {
        let mut fleet = Fleet::new();
        let small = fleet.add(HostSpec::cpu(4, 32, 100));
        let big = fleet.add(HostSpec::cpu(16, 64, 100));
        let mut s: Scheduler<u32> = Scheduler::new(fleet);
        // Larger than any host.
        let err = s.place_demand(1, &Demand::cpu(2, 100, 10)).unwrap_err();
        assert_eq!(
            err.unschedulable().unwrap().reason(),
            &Reason::LargerThanAnyHost {
                resource: Resource::Memory,
                requested: 100,
                largest: 64
            }
        );
        // Fill both, then ask for something only `big` nearly fits.
        s.place_demand(2, &Demand::cpu(4, 32, 50)).unwrap();
        s.place_demand(3, &Demand::cpu(12, 40, 50)).unwrap();
        let err = s.place_demand(4, &Demand::cpu(2, 30, 10)).unwrap_err();
        let reason = err.unschedulable().unwrap().reason().clone();
        assert_eq!(reason.nearest_host(), Some(big), "{reason}");
        assert_eq!(reason.resource(), Some(Resource::Memory));
        let _ = small;
        // Everything drained.
        s.drain_host(small).unwrap();
        s.drain_host(big).unwrap();
        let err = s.place_demand(5, &Demand::cpu(1, 1, 1)).unwrap_err();
        assert_eq!(
            err.unschedulable().unwrap().reason(),
            &Reason::NoActiveHosts
        );
    }

    #[test]
    fn drained_hosts_keep_their_spaces_and_take_none() {
        let mut fleet = Fleet::new();
        let a = fleet.add(HostSpec::cpu(8, 64, 400));
        let b = fleet.add(HostSpec::cpu(8, 64, 400));
        let mut s: Scheduler<u32> = Scheduler::new(fleet);
        let basic = flavor(Flavor::CpuBasic);
        assert_eq!(s.place(1, &basic).unwrap(), a);
        s.drain_host(a).unwrap();
        assert_eq!(s.place(2, &basic).unwrap(), b);
        assert_eq!(s.placement(&1).unwrap().host(), a);
        s.release(&1).unwrap();
        assert_eq!(
            s.place(3, &basic).unwrap(),
            b,
            "a drained host stays out after a release"
        );
        let evicted = s.remove_host(b).unwrap();
        assert_eq!(evicted.len(), 2);
        assert!(s.resume_host(b).is_err(), "a removed host cannot come back");
        assert_eq!(s.placed(), 0);
        assert!(s.place(4, &basic).is_err());
        s.resume_host(a).unwrap();
        assert_eq!(s.place(4, &basic).unwrap(), a);
        assert_eq!(
            s.drain_host(HostId::from_index(99)),
            Err(ScheduleError::UnknownHost {
                host: HostId::from_index(99)
            })
        );
    }

    #[test]
    fn hosts_added_later_with_new_gpu_models_are_used() {
        let mut s: Scheduler<u32> = Scheduler::with_catalog(Fleet::new(), &Catalog::seed());
        let a10g = flavor(Flavor::A10gLarge);
        assert!(s.place(1, &a10g).is_err());
        let host = s.add_host(HostSpec::cpu(48, 192, 1000).with_gpus(GpuModel::A10G, 4));
        for i in 1..=4 {
            assert_eq!(s.place(i, &a10g).unwrap(), host);
        }
        assert!(s.place(5, &a10g).is_err());
        // Many hosts: the slot sets grow.
        let mut last = host;
        for _ in 0..5000 {
            last = s.add_host(HostSpec::cpu(2, 16, 50));
        }
        let basic = flavor(Flavor::CpuBasic);
        let mut seen = 0;
        for i in 10..5010 {
            seen = s.place(i, &basic).unwrap().index();
        }
        assert_eq!(seen, last.index());
    }
}
