//! The fleet: every host, grouped into pools by GPU model, with what is free on each.
//!
//! A [`Fleet`] only keeps accounts: it takes and gives back resources on a host and refuses
//! anything that would oversubscribe it. Choosing the host is the [`Scheduler`](super::Scheduler)'s
//! job (or a baseline's, in the benches).

use spaces_core::GpuModel;

use super::error::ScheduleError;
use super::host::{Host, HostId, HostSpec, HostState};
use super::resources::{Demand, Resources};

/// Index of a pool: the hosts that share a GPU model (or have none).
pub(crate) type PoolId = usize;

/// The hosts with one GPU model (or none), in the order they were added. A host's position here
/// is its *slot*, which the shape index uses.
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    pub(crate) model: Option<GpuModel>,
    pub(crate) hosts: Vec<HostId>,
}

/// Where a host sits: its pool and its slot in the pool.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seat {
    pub(crate) pool: PoolId,
    pub(crate) slot: u32,
}

/// Every host, with its capacity, what is free on it and its state.
///
/// ```
/// use spaces_core::GpuModel;
/// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Resources};
/// let mut fleet = Fleet::new();
/// let cpu = fleet.add(HostSpec::cpu(64, 256, 2000));
/// let gpu = fleet.add(HostSpec::cpu(48, 192, 1000).with_gpus(GpuModel::T4, 4));
/// assert_eq!(fleet.len(), 2);
///
/// let t4 = Demand::gpu(4, 15, 50, GpuModel::T4, 1);
/// assert!(fleet.allocate(cpu, &t4).is_err()); // no T4 there
/// fleet.allocate(gpu, &t4)?;
/// assert_eq!(fleet.host(gpu).unwrap().free(), Resources::new(44, 177, 950, 3));
/// fleet.give_back(gpu, &t4.resources())?;
/// assert_eq!(fleet.host(gpu).unwrap().free(), Resources::new(48, 192, 1000, 4));
/// # Ok::<(), spaces_runtime::scheduler::ScheduleError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Fleet {
    hosts: Vec<Host>,
    seats: Vec<Seat>,
    pools: Vec<Pool>,
}

impl Fleet {
    /// An empty fleet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an active host and returns its id.
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Fleet, HostSpec};
    /// let mut fleet = Fleet::new();
    /// let a = fleet.add(HostSpec::cpu(8, 32, 100));
    /// let b = fleet.add(HostSpec::cpu(8, 32, 100));
    /// assert_ne!(a, b);
    /// ```
    pub fn add(&mut self, spec: HostSpec) -> HostId {
        let id = HostId::new(u32::try_from(self.hosts.len()).unwrap_or(u32::MAX));
        let pool = self.pool_or_new(spec.gpu_model());
        let slot = self
            .pools
            .get_mut(pool)
            .map(|p| {
                p.hosts.push(id);
                p.hosts.len().saturating_sub(1)
            })
            .unwrap_or(0);
        self.seats.push(Seat {
            pool,
            slot: u32::try_from(slot).unwrap_or(u32::MAX),
        });
        self.hosts.push(Host {
            free: spec.capacity(),
            spec,
            state: HostState::Active,
            spaces: 0,
        });
        id
    }

    /// The host with this id (removed hosts included, in state [`HostState::Removed`]).
    pub fn host(&self, id: HostId) -> Option<&Host> {
        self.hosts.get(id.index() as usize)
    }

    /// Every host ever added, by id.
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Fleet, HostSpec};
    /// let mut fleet = Fleet::new();
    /// fleet.add(HostSpec::cpu(8, 32, 100));
    /// assert_eq!(fleet.hosts().count(), 1);
    /// ```
    pub fn hosts(&self) -> impl Iterator<Item = (HostId, &Host)> {
        self.hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (HostId::new(i as u32), h))
    }

    /// How many hosts were ever added (removed ones included).
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether no host was ever added.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Takes what `demand` asks for on `host`, refusing anything that would oversubscribe it,
    /// a host that takes no new Spaces, and GPUs of another model.
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, ScheduleError};
    /// let mut fleet = Fleet::new();
    /// let h = fleet.add(HostSpec::cpu(2, 16, 50));
    /// fleet.allocate(h, &Demand::cpu(2, 16, 50))?;
    /// assert!(matches!(
    ///     fleet.allocate(h, &Demand::cpu(1, 1, 1)),
    ///     Err(ScheduleError::DoesNotFit { .. })
    /// ));
    /// # Ok::<(), ScheduleError>(())
    /// ```
    pub fn allocate(&mut self, host: HostId, demand: &Demand) -> Result<(), ScheduleError> {
        self.allocate_parts(host, &demand.resources(), demand.gpu_model())
    }

    pub(crate) fn allocate_parts(
        &mut self,
        id: HostId,
        need: &Resources,
        model: Option<&GpuModel>,
    ) -> Result<(), ScheduleError> {
        let host = self
            .hosts
            .get_mut(id.index() as usize)
            .ok_or(ScheduleError::UnknownHost { host: id })?;
        if !host.state.accepts_spaces() {
            return Err(ScheduleError::HostNotActive {
                host: id,
                state: host.state,
            });
        }
        if need.gpus > 0 && host.spec.gpu_model() != model {
            return Err(ScheduleError::WrongGpuModel {
                host: id,
                has: host.spec.gpu_model().cloned(),
            });
        }
        let free = host
            .free
            .checked_sub(need)
            .ok_or(ScheduleError::DoesNotFit {
                host: id,
                lacking: host.free.shortfall(need),
            })?;
        host.free = free;
        host.spaces = host.spaces.saturating_add(1);
        Ok(())
    }

    /// Gives back what one Space took on `host`. Refuses to give back more than the host's
    /// capacity (which would mean the accounts are wrong).
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Fleet, HostSpec, Resources, ScheduleError};
    /// let mut fleet = Fleet::new();
    /// let h = fleet.add(HostSpec::cpu(2, 16, 50));
    /// assert!(matches!(
    ///     fleet.give_back(h, &Resources::new(1, 0, 0, 0)),
    ///     Err(ScheduleError::OverRelease { .. })
    /// ));
    /// ```
    pub fn give_back(&mut self, id: HostId, took: &Resources) -> Result<(), ScheduleError> {
        let host = self
            .hosts
            .get_mut(id.index() as usize)
            .ok_or(ScheduleError::UnknownHost { host: id })?;
        let free = host
            .free
            .checked_add(took)
            .filter(|f| f.fits_in(&host.spec.capacity()) && host.spaces > 0)
            .ok_or(ScheduleError::OverRelease { host: id })?;
        host.free = free;
        host.spaces -= 1;
        Ok(())
    }

    /// Sets a host's state. A removed host cannot come back.
    pub(crate) fn set_state(&mut self, id: HostId, state: HostState) -> Result<(), ScheduleError> {
        let host = self
            .hosts
            .get_mut(id.index() as usize)
            .ok_or(ScheduleError::UnknownHost { host: id })?;
        if host.state == HostState::Removed {
            return Err(ScheduleError::HostNotActive {
                host: id,
                state: host.state,
            });
        }
        host.state = state;
        Ok(())
    }

    /// Resets a removed host's accounts: nothing free, nothing running.
    pub(crate) fn clear_removed(&mut self, id: HostId) {
        if let Some(host) = self.hosts.get_mut(id.index() as usize) {
            host.free = Resources::ZERO;
            host.spaces = 0;
        }
    }

    pub(crate) fn seat(&self, id: HostId) -> Option<Seat> {
        self.seats.get(id.index() as usize).copied()
    }

    pub(crate) fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// The pool of hosts with this GPU model (`None`: the CPU pool), if there is one.
    pub(crate) fn pool_of(&self, model: Option<&GpuModel>) -> Option<PoolId> {
        self.pools.iter().position(|p| p.model.as_ref() == model)
    }

    fn pool_or_new(&mut self, model: Option<&GpuModel>) -> PoolId {
        match self.pool_of(model) {
            Some(p) => p,
            None => {
                self.pools.push(Pool {
                    model: model.cloned(),
                    hosts: Vec::new(),
                });
                self.pools.len() - 1
            }
        }
    }

    pub(crate) fn host_at(&self, pool: PoolId, slot: u32) -> Option<HostId> {
        self.pools.get(pool)?.hosts.get(slot as usize).copied()
    }
}
