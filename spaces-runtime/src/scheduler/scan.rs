//! The slow paths, which look at every eligible host: explaining a failure, and placing a demand
//! whose shape the index does not hold.
//!
//! A successful placement of an indexed shape never comes here. A failure does, once, to name the
//! nearest host: O(N) on the failure path only.

use spaces_core::GpuModel;

use super::error::Reason;
use super::fleet::{Fleet, PoolId};
use super::host::{Host, HostId};
use super::resources::{Resource, Resources};

/// The pools that may serve a demand: its GPU model's pool, or every pool (CPU pool first) for a
/// CPU demand.
fn eligible_pools(fleet: &Fleet, model: Option<&GpuModel>) -> Vec<PoolId> {
    match model {
        Some(_) => fleet.pool_of(model).into_iter().collect(),
        None => {
            let mut pools: Vec<PoolId> = (0..fleet.pools().len()).collect();
            pools.sort_by_key(|p| fleet.pools().get(*p).is_some_and(|p| p.model.is_some()));
            pools
        }
    }
}

fn active_hosts<'f>(
    fleet: &'f Fleet,
    model: Option<&GpuModel>,
) -> impl Iterator<Item = (HostId, &'f Host)> {
    eligible_pools(fleet, model)
        .into_iter()
        .filter_map(|p| fleet.pools().get(p))
        .flat_map(|p| p.hosts.iter())
        .filter_map(|id| fleet.host(*id).map(|h| (*id, h)))
        .filter(|(_, h)| h.state().accepts_spaces())
}

/// The first active eligible host that fits `need` (CPU pool first for a CPU demand).
pub(crate) fn first_fit(
    fleet: &Fleet,
    need: &Resources,
    model: Option<&GpuModel>,
) -> Option<HostId> {
    active_hosts(fleet, model)
        .find(|(_, h)| need.fits_in(&h.free()))
        .map(|(id, _)| id)
}

/// The resources in reporting order, with their amounts in `r` (GPUs only for a GPU demand).
fn dims(r: &Resources, model: Option<&GpuModel>) -> Vec<(Resource, u32)> {
    let mut d = vec![
        (Resource::Vcpu, r.vcpu),
        (Resource::Memory, r.memory_gb),
        (Resource::Disk, r.disk_gb),
    ];
    if let Some(m) = model {
        d.push((Resource::Gpu(m.clone()), r.gpus));
    }
    d
}

/// Why no host takes `need` (of GPU `model`), assuming none fits.
pub(crate) fn diagnose(fleet: &Fleet, need: &Resources, model: Option<&GpuModel>) -> Reason {
    if let Some(m) = model {
        if fleet.pool_of(Some(m)).is_none() || active_hosts(fleet, model).next().is_none() {
            return Reason::NoHostWithGpu { model: m.clone() };
        }
    }
    let mut largest = Resources::ZERO;
    // (resources short, shortfall per mille of the demand, host, lacking)
    let mut nearest: Option<(u32, u64, HostId, Resources)> = None;
    for (id, host) in active_hosts(fleet, model) {
        largest = largest.max(&host.spec().capacity());
        let lacking = host.free().shortfall(need);
        let short = dims(&lacking, model);
        let count = short.iter().filter(|(_, s)| *s > 0).count() as u32;
        let per_mille: u64 = short
            .iter()
            .zip(dims(need, model))
            .map(|((_, s), (_, n))| u64::from(*s) * 1000 / u64::from(n.max(1)))
            .sum();
        let better = nearest
            .as_ref()
            .is_none_or(|(c, p, _, _)| (count, per_mille) < (*c, *p));
        if better {
            nearest = Some((count, per_mille, id, lacking));
        }
    }
    let Some((_, _, host, lacking)) = nearest else {
        return Reason::NoActiveHosts;
    };
    for ((resource, want), (_, most)) in dims(need, model).into_iter().zip(dims(&largest, model)) {
        if want > most {
            return Reason::LargerThanAnyHost {
                resource,
                requested: want,
                largest: most,
            };
        }
    }
    // The resource the nearest host lacks most, relative to the demand (first one on a tie).
    let mut resource = Resource::Memory;
    let mut worst = 0u64;
    for ((r, s), (_, n)) in dims(&lacking, model).into_iter().zip(dims(need, model)) {
        let per_mille = u64::from(s) * 1000 / u64::from(n.max(1));
        if per_mille > worst {
            worst = per_mille;
            resource = r;
        }
    }
    Reason::Full {
        resource,
        nearest: host,
        lacking,
    }
}
