//! The shape index: for each demand shape, the set of hosts that can take it right now.
//!
//! Flavors are a small fixed set (7 in the seed catalog), so the distinct demands a scheduler sees
//! are few. For each *shape* (an exact [`Resources`] demand plus its GPU model) the index keeps,
//! per pool that may serve it, a [`SlotSet`] of the hosts whose free capacity fits the shape on
//! every resource at once. That turns the multi-dimensional fit question into set membership:
//!
//! - **Placement** reads the lowest slot of the first non-empty set in the shape's search order:
//!   O(pools × log₆₄ N), about three word reads per pool at 100k hosts.
//! - **Update** after a host's free capacity changes re-checks that host against the shapes of its
//!   pool (a handful of integer comparisons) and flips a bit where membership changed:
//!   O(shapes × log₆₄ N) worst case, usually no bit flips at all.
//! - A new shape is indexed on first use with one scan of the fleet, O(N) once.
//!
//! Search order is the stranding policy. A GPU shape searches only its model's pool. A CPU shape
//! searches the CPU pool first, then GPU hosts whose GPUs are all taken (their leftover CPU and
//! memory strands no GPU), then GPU hosts with free GPUs where it still leaves room for the
//! pool's smallest GPU demand on each free GPU, and only as a last resort GPU hosts where it eats
//! into that room; cheapest GPU model first at each step. The
//! lowest slot within a set is first fit in the order hosts were added, which packs Spaces onto
//! few hosts and leaves whole hosts free.

use spaces_core::GpuModel;

use super::fleet::{Fleet, PoolId};
use super::host::HostId;
use super::resources::Resources;
use super::slot_set::SlotSet;

/// The most shapes indexed. Each one costs a check on every update of its pools' hosts, so
/// an unbounded number would slow every placement; demands beyond this are placed by a scan.
pub(crate) const MAX_SHAPES: usize = 64;

/// A shape's handle in the index.
pub(crate) type ShapeId = usize;

#[derive(Clone, Debug)]
struct Shape {
    need: Resources,
    /// The GPU pool for a GPU shape; `None` for a CPU shape.
    pool: Option<PoolId>,
    /// `(pool, set)` pairs in the order placement searches them.
    order: Vec<(PoolId, usize)>,
}

/// How one pool's hosts feed one shape's sets.
#[derive(Clone, Copy, Debug)]
struct Entry {
    shape: ShapeId,
    need: Resources,
    /// The set of hosts that fit (for a CPU shape on a GPU pool: those whose GPUs are all taken).
    set: usize,
    /// For a CPU shape on a GPU pool: the hosts with free GPUs that fit the shape and still
    /// leave room for the pool's smallest GPU demand on each free GPU.
    idle_gpu_set: Option<usize>,
    /// For a CPU shape on a GPU pool: the hosts with free GPUs that fit the shape only by eating
    /// into that room (the last resort: it may strand GPUs).
    strand_set: Option<usize>,
}

/// See the module documentation.
#[derive(Clone, Debug, Default)]
pub(crate) struct ShapeIndex {
    shapes: Vec<Shape>,
    sets: Vec<SlotSet>,
    /// Per pool, the entries to refresh when one of its hosts changes.
    entries: Vec<Vec<Entry>>,
    /// Per pool, the room kept per free GPU before CPU Spaces are let in: the smallest vCPU,
    /// memory and disk per GPU of the GPU shapes of that pool (zero for the CPU pool).
    reserve: Vec<Resources>,
}

/// The order in which CPU Spaces fall back onto GPU pools: cheaper, more plentiful GPUs first,
/// unknown models last.
fn fallback_rank(model: Option<&GpuModel>) -> u8 {
    match model {
        None => 0,
        Some(GpuModel::T4) => 1,
        Some(GpuModel::L4) => 2,
        Some(GpuModel::A10G) => 3,
        Some(GpuModel::L40S) => 4,
        Some(GpuModel::A100) => 5,
        Some(GpuModel::H100) => 6,
        Some(GpuModel::Other(_)) => 7,
    }
}

impl ShapeIndex {
    /// An index over `fleet`, with no shapes yet.
    pub(crate) fn new(fleet: &Fleet) -> Self {
        let mut index = Self::default();
        index.sync_pools(fleet);
        index
    }

    /// Picks up pools the fleet gained since the last call (a host with a new GPU model).
    pub(crate) fn sync_pools(&mut self, fleet: &Fleet) {
        while self.entries.len() < fleet.pools().len() {
            let pool = self.entries.len();
            self.entries.push(Vec::new());
            self.reserve.push(Resources::ZERO);
            for shape in 0..self.shapes.len() {
                if self.shapes.get(shape).is_some_and(|s| s.pool.is_none()) {
                    self.attach(fleet, shape, pool);
                }
            }
        }
        for shape in 0..self.shapes.len() {
            self.order_search(fleet, shape);
        }
    }

    /// The shape for `need` on `pool` (`None`: CPU), indexing it if it is new. `None` when the
    /// index is full.
    pub(crate) fn shape(
        &mut self,
        fleet: &Fleet,
        need: &Resources,
        pool: Option<PoolId>,
    ) -> Option<ShapeId> {
        if let Some(found) = self
            .shapes
            .iter()
            .position(|s| s.pool == pool && s.need == *need)
        {
            return Some(found);
        }
        if self.shapes.len() >= MAX_SHAPES {
            return None;
        }
        let shape = self.shapes.len();
        self.shapes.push(Shape {
            need: *need,
            pool,
            order: Vec::new(),
        });
        match pool {
            Some(p) => {
                self.attach(fleet, shape, p);
                self.update_reserve(fleet, p);
            }
            None => {
                for p in 0..self.entries.len() {
                    self.attach(fleet, shape, p);
                }
            }
        }
        self.order_search(fleet, shape);
        Some(shape)
    }

    /// Creates `shape`'s sets on `pool` and fills them from the pool's hosts.
    fn attach(&mut self, fleet: &Fleet, shape: ShapeId, pool: PoolId) {
        let Some(need) = self.shapes.get(shape).map(|s| s.need) else {
            return;
        };
        let gpu_pool = fleet.pools().get(pool).is_some_and(|p| p.model.is_some());
        let cpu_shape = need.gpus == 0;
        let set = self.new_set();
        let idle_gpu_set = (cpu_shape && gpu_pool).then(|| self.new_set());
        let strand_set = (cpu_shape && gpu_pool).then(|| self.new_set());
        let entry = Entry {
            shape,
            need,
            set,
            idle_gpu_set,
            strand_set,
        };
        if let Some(entries) = self.entries.get_mut(pool) {
            entries.push(entry);
        }
        let hosts = fleet.pools().get(pool).map_or(0, |p| p.hosts.len());
        for s in [Some(set), idle_gpu_set, strand_set].into_iter().flatten() {
            if let Some(set) = self.sets.get_mut(s) {
                set.ensure(hosts);
            }
        }
        if let Some(p) = fleet.pools().get(pool) {
            for (slot, host) in p.hosts.iter().enumerate() {
                self.apply(fleet, &entry, pool, slot as u32, *host);
            }
        }
    }

    /// Recomputes the room kept per free GPU on `pool` after a GPU shape was added to it, and
    /// re-files the pool's hosts (O(pool size), once per new GPU shape).
    fn update_reserve(&mut self, fleet: &Fleet, pool: PoolId) {
        let mut reserve: Option<Resources> = None;
        for s in self.shapes.iter().filter(|s| s.pool == Some(pool)) {
            let gpus = s.need.gpus.max(1);
            let per_gpu = Resources::new(
                s.need.vcpu / gpus,
                s.need.memory_gb / gpus,
                s.need.disk_gb / gpus,
                0,
            );
            reserve = Some(match reserve {
                None => per_gpu,
                Some(r) => Resources::new(
                    r.vcpu.min(per_gpu.vcpu),
                    r.memory_gb.min(per_gpu.memory_gb),
                    r.disk_gb.min(per_gpu.disk_gb),
                    0,
                ),
            });
        }
        if let Some(r) = self.reserve.get_mut(pool) {
            *r = reserve.unwrap_or(Resources::ZERO);
        }
        let entries = self.entries.get(pool).cloned().unwrap_or_default();
        if let Some(p) = fleet.pools().get(pool) {
            for e in &entries {
                for (slot, host) in p.hosts.iter().enumerate() {
                    self.apply(fleet, e, pool, slot as u32, *host);
                }
            }
        }
    }

    fn new_set(&mut self) -> usize {
        self.sets.push(SlotSet::default());
        self.sets.len() - 1
    }

    /// Recomputes where `shape` looks for hosts, in preference order (module documentation).
    fn order_search(&mut self, fleet: &Fleet, shape: ShapeId) {
        let mut fits_first = Vec::new();
        let mut idle_gpus_next = Vec::new();
        let mut stranding_last = Vec::new();
        let mut pools: Vec<PoolId> = (0..self.entries.len()).collect();
        pools.sort_by_key(|p| {
            (
                fallback_rank(fleet.pools().get(*p).and_then(|p| p.model.as_ref())),
                *p,
            )
        });
        for pool in pools {
            let Some(entries) = self.entries.get(pool) else {
                continue;
            };
            for e in entries.iter().filter(|e| e.shape == shape) {
                fits_first.push((pool, e.set));
                if let Some(idle) = e.idle_gpu_set {
                    idle_gpus_next.push((pool, idle));
                }
                if let Some(strand) = e.strand_set {
                    stranding_last.push((pool, strand));
                }
            }
        }
        fits_first.extend(idle_gpus_next);
        fits_first.extend(stranding_last);
        if let Some(s) = self.shapes.get_mut(shape) {
            s.order = fits_first;
        }
    }

    /// Makes room for a host just added to `pool` and indexes it.
    pub(crate) fn add_host(&mut self, fleet: &Fleet, host: HostId) {
        self.sync_pools(fleet);
        let Some(seat) = fleet.seat(host) else {
            return;
        };
        let hosts = fleet.pools().get(seat.pool).map_or(0, |p| p.hosts.len());
        if let Some(entries) = self.entries.get(seat.pool) {
            for e in entries {
                for s in [Some(e.set), e.idle_gpu_set, e.strand_set]
                    .into_iter()
                    .flatten()
                {
                    if let Some(set) = self.sets.get_mut(s) {
                        set.ensure(hosts);
                    }
                }
            }
        }
        self.refresh(fleet, host);
    }

    /// Re-checks `host` against every shape of its pool after its free capacity or state changed.
    #[inline]
    pub(crate) fn refresh(&mut self, fleet: &Fleet, host: HostId) {
        let Some(seat) = fleet.seat(host) else {
            return;
        };
        let Some(entries) = self.entries.get(seat.pool) else {
            return;
        };
        let (free, accepting) = match fleet.host(host) {
            Some(h) => (h.free(), h.state().accepts_spaces()),
            None => return,
        };
        let reserve = self.reserve.get(seat.pool).copied().unwrap_or_default();
        for e in entries {
            update(&mut self.sets, e, seat.slot, &free, accepting, &reserve);
        }
    }

    fn apply(&mut self, fleet: &Fleet, entry: &Entry, pool: PoolId, slot: u32, host: HostId) {
        let reserve = self.reserve.get(pool).copied().unwrap_or_default();
        if let Some(h) = fleet.host(host) {
            let accepting = h.state().accepts_spaces();
            update(&mut self.sets, entry, slot, &h.free(), accepting, &reserve);
        }
    }

    /// The preferred host for `shape`, or `None` when no host can take it.
    #[inline]
    pub(crate) fn find(&self, fleet: &Fleet, shape: ShapeId) -> Option<HostId> {
        let shape = self.shapes.get(shape)?;
        for (pool, set) in &shape.order {
            if let Some(slot) = self.sets.get(*set).and_then(SlotSet::first) {
                return fleet.host_at(*pool, slot);
            }
        }
        None
    }
}

/// Puts the host at `slot` in or out of `entry`'s sets, given its free capacity.
#[inline]
fn update(
    sets: &mut [SlotSet],
    entry: &Entry,
    slot: u32,
    free: &Resources,
    accepting: bool,
    reserve: &Resources,
) {
    let fits = accepting && entry.need.fits_in(free);
    match (entry.idle_gpu_set, entry.strand_set) {
        (Some(idle), Some(strand)) => {
            let gpus_taken = free.gpus == 0;
            let g = free.gpus;
            let kept = Resources::new(
                entry
                    .need
                    .vcpu
                    .saturating_add(reserve.vcpu.saturating_mul(g)),
                entry
                    .need
                    .memory_gb
                    .saturating_add(reserve.memory_gb.saturating_mul(g)),
                entry
                    .need
                    .disk_gb
                    .saturating_add(reserve.disk_gb.saturating_mul(g)),
                0,
            );
            let leaves_room = fits && kept.fits_in(free);
            set_member(sets, entry.set, slot, fits && gpus_taken);
            set_member(sets, idle, slot, !gpus_taken && leaves_room);
            set_member(sets, strand, slot, !gpus_taken && fits && !leaves_room);
        }
        _ => set_member(sets, entry.set, slot, fits),
    }
}

#[inline]
fn set_member(sets: &mut [SlotSet], set: usize, slot: u32, member: bool) {
    if let Some(s) = sets.get_mut(set) {
        s.set(slot, member);
    }
}
