//! Packing quality: how many hosts are in use and how much GPU capacity is stranded.

use super::fleet::Fleet;
use super::host::HostState;
use super::resources::Demand;

/// A snapshot of how tightly a fleet is packed. Removed hosts are not counted.
///
/// A free GPU is *stranded* when its host lacks the vCPU, memory or disk for every GPU demand of
/// that model given to [`Fleet::packing`]: the GPU is idle and nothing that needs it can use it.
///
/// ```
/// use spaces_core::GpuModel;
/// use spaces_runtime::scheduler::{Demand, Fleet, HostSpec};
/// let mut fleet = Fleet::new();
/// let gpu = fleet.add(HostSpec::cpu(16, 64, 500).with_gpus(GpuModel::T4, 2));
/// fleet.add(HostSpec::cpu(64, 256, 2000));
/// // Fill the GPU host's memory with a CPU Space: both GPUs are left stranded.
/// fleet.allocate(gpu, &Demand::cpu(2, 60, 50))?;
/// let t4 = Demand::gpu(4, 15, 50, GpuModel::T4, 1);
/// let p = fleet.packing(&[t4]);
/// assert_eq!((p.hosts, p.hosts_in_use), (2, 1));
/// assert_eq!((p.gpus, p.gpus_used, p.gpus_stranded), (2, 0, 2));
/// assert_eq!(p.hosts_in_use_per_mille(), 500);
/// assert_eq!(p.gpus_stranded_per_mille(), 1000);
/// # Ok::<(), spaces_runtime::scheduler::ScheduleError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Packing {
    /// Hosts in the fleet (active or draining).
    pub hosts: u32,
    /// Hosts running at least one Space.
    pub hosts_in_use: u32,
    /// GPUs in the fleet.
    pub gpus: u32,
    /// GPUs taken by Spaces.
    pub gpus_used: u32,
    /// Free GPUs that no GPU demand of their model can use (see the type documentation).
    pub gpus_stranded: u32,
    /// vCPUs in the fleet.
    pub vcpu: u64,
    /// vCPUs taken by Spaces.
    pub vcpu_used: u64,
    /// Memory in the fleet, in GB.
    pub memory_gb: u64,
    /// Memory taken by Spaces, in GB.
    pub memory_used_gb: u64,
}

fn per_mille(part: u64, whole: u64) -> u32 {
    part.saturating_mul(1000)
        .checked_div(whole)
        .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX))
}

impl Packing {
    /// Hosts in use, per mille of the hosts.
    pub fn hosts_in_use_per_mille(&self) -> u32 {
        per_mille(self.hosts_in_use.into(), self.hosts.into())
    }

    /// Stranded GPUs, per mille of the GPUs.
    pub fn gpus_stranded_per_mille(&self) -> u32 {
        per_mille(self.gpus_stranded.into(), self.gpus.into())
    }

    /// GPUs in use, per mille of the GPUs.
    pub fn gpus_used_per_mille(&self) -> u32 {
        per_mille(self.gpus_used.into(), self.gpus.into())
    }

    /// vCPUs in use, per mille.
    pub fn vcpu_used_per_mille(&self) -> u32 {
        per_mille(self.vcpu_used, self.vcpu)
    }

    /// Memory in use, per mille.
    pub fn memory_used_per_mille(&self) -> u32 {
        per_mille(self.memory_used_gb, self.memory_gb)
    }
}

impl Fleet {
    /// How tightly the fleet is packed; `gpu_demands` are the GPU demands that decide whether a
    /// free GPU is stranded (typically every GPU flavor of the catalog).
    pub fn packing(&self, gpu_demands: &[Demand]) -> Packing {
        let mut p = Packing::default();
        for (_, host) in self.hosts() {
            if host.state() == HostState::Removed {
                continue;
            }
            let cap = host.spec().capacity();
            let used = host.used();
            let free = host.free();
            p.hosts += 1;
            p.hosts_in_use += u32::from(host.spaces() > 0);
            p.gpus += cap.gpus;
            p.gpus_used += used.gpus;
            p.vcpu += u64::from(cap.vcpu);
            p.vcpu_used += u64::from(used.vcpu);
            p.memory_gb += u64::from(cap.memory_gb);
            p.memory_used_gb += u64::from(used.memory_gb);
            if free.gpus > 0 {
                let model = host.spec().gpu_model();
                let mut usable = false;
                let mut judged = false;
                for d in gpu_demands.iter().filter(|d| d.gpu_model() == model) {
                    judged = true;
                    usable |= d.resources().fits_in(&free);
                }
                if judged && !usable {
                    p.gpus_stranded += free.gpus;
                }
            }
        }
        p
    }
}
