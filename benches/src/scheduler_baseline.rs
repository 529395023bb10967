//! The naive scheduler the real one is measured against: filter every host, score each one
//! (least allocated, as the default Kubernetes scheduler's `NodeResourcesFit` does), take the best.
//!
//! It keeps its accounts in the same [`Fleet`] as [`spaces_runtime::scheduler::Scheduler`], so it
//! can never oversubscribe a host either, and packing is measured the same way for both.

use std::collections::HashMap;
use std::hash::Hash;

use spaces_core::HardwareSpec;
use spaces_runtime::scheduler::{Demand, Fleet, HostId, Resources};

/// A scan-everything, least-allocated scheduler.
///
/// ```
/// use spaces_core::{Catalog, Flavor};
/// use spaces_benches::scheduler_baseline::NaiveScheduler;
/// use spaces_runtime::scheduler::{Fleet, HostSpec};
/// let mut fleet = Fleet::new();
/// let a = fleet.add(HostSpec::cpu(64, 256, 2000));
/// let b = fleet.add(HostSpec::cpu(64, 256, 2000));
/// let mut naive: NaiveScheduler<u32> = NaiveScheduler::new(fleet);
/// let basic = Catalog::seed().flavor(&Flavor::CpuBasic).unwrap().clone();
/// // Least allocated spreads: the second Space goes to the emptier host.
/// assert_eq!(naive.place(1, &basic), Some(a));
/// assert_eq!(naive.place(2, &basic), Some(b));
/// assert!(naive.release(&1));
/// ```
#[derive(Clone, Debug)]
pub struct NaiveScheduler<K> {
    fleet: Fleet,
    placements: HashMap<K, (HostId, Resources)>,
}

impl<K: Eq + Hash> NaiveScheduler<K> {
    /// A naive scheduler over `fleet`.
    pub fn new(fleet: Fleet) -> Self {
        Self {
            fleet,
            placements: HashMap::new(),
        }
    }

    /// The fleet and its accounts.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Places `space`: the feasible host with the highest least-allocated score, or `None`.
    pub fn place(&mut self, space: K, hardware: &HardwareSpec) -> Option<HostId> {
        if self.placements.contains_key(&space) {
            return None;
        }
        let demand = Demand::from(hardware);
        let need = demand.resources();
        let mut best: Option<(u64, HostId)> = None;
        for (id, host) in self.fleet.hosts() {
            // Filter.
            if !host.state().accepts_spaces() || !need.fits_in(&host.free()) {
                continue;
            }
            if demand.gpu_model().is_some() && host.spec().gpu_model() != demand.gpu_model() {
                continue;
            }
            // Score: mean share of CPU and memory left free after placing, in per mille.
            let cap = host.spec().capacity();
            let free = host.free();
            let cpu =
                u64::from(free.vcpu.saturating_sub(need.vcpu)) * 1000 / u64::from(cap.vcpu.max(1));
            let mem = u64::from(free.memory_gb.saturating_sub(need.memory_gb)) * 1000
                / u64::from(cap.memory_gb.max(1));
            let score = (cpu + mem) / 2;
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, id));
            }
        }
        let (_, host) = best?;
        self.fleet.allocate(host, &demand).ok()?;
        self.placements.insert(space, (host, need));
        Some(host)
    }

    /// Records `space` on `host` without choosing (to start from another scheduler's state, where
    /// filling a large fleet through [`NaiveScheduler::place`] would take hours); whether the host
    /// took it.
    pub fn adopt(&mut self, space: K, host: HostId, hardware: &HardwareSpec) -> bool {
        let demand = Demand::from(hardware);
        if self.placements.contains_key(&space) || self.fleet.allocate(host, &demand).is_err() {
            return false;
        }
        self.placements.insert(space, (host, demand.resources()));
        true
    }

    /// Releases `space`; whether it was placed.
    pub fn release(&mut self, space: &K) -> bool {
        match self.placements.remove(space) {
            Some((host, took)) => self.fleet.give_back(host, &took).is_ok(),
            None => false,
        }
    }

    /// How many Spaces are placed.
    pub fn placed(&self) -> usize {
        self.placements.len()
    }
}
