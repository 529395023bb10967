//! Amounts of the four schedulable resources, and what a Space asks for.
//!
//! Everything is a whole number: vCPUs, GB of memory, GB of ephemeral disk, whole GPUs. The
//! scheduler's arithmetic is integer only, so a fit is exact and a release gives back exactly
//! what a placement took.

use std::fmt;

use spaces_core::{GpuModel, HardwareSpec};

/// One schedulable resource. A GPU is always of a given model.
///
/// ```
/// use spaces_core::GpuModel;
/// use spaces_runtime::scheduler::Resource;
/// assert_eq!(Resource::Memory.to_string(), "memory");
/// assert_eq!(Resource::Gpu(GpuModel::A100).to_string(), "A100 GPUs");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Virtual CPUs.
    Vcpu,
    /// Memory, in GB.
    Memory,
    /// Ephemeral disk, in GB.
    Disk,
    /// Whole GPUs of one model.
    Gpu(GpuModel),
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Vcpu => f.write_str("vCPUs"),
            Resource::Memory => f.write_str("memory"),
            Resource::Disk => f.write_str("ephemeral disk"),
            Resource::Gpu(model) => write!(f, "{model} GPUs"),
        }
    }
}

/// An amount of each resource: a host's capacity, what is free on it, or what a Space takes.
///
/// `gpus` counts whole GPUs; their model is the host's (see [`HostSpec`](super::HostSpec)) or the
/// demand's (see [`Demand`]).
///
/// ```
/// use spaces_runtime::scheduler::Resources;
/// let free = Resources::new(8, 64, 500, 1);
/// let ask = Resources::new(4, 15, 50, 1);
/// assert!(ask.fits_in(&free));
/// assert_eq!(free.checked_sub(&ask), Some(Resources::new(4, 49, 450, 0)));
/// assert!(!Resources::new(9, 1, 1, 0).fits_in(&free));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Resources {
    /// Virtual CPUs.
    pub vcpu: u32,
    /// Memory, in GB.
    pub memory_gb: u32,
    /// Ephemeral disk, in GB.
    pub disk_gb: u32,
    /// Whole GPUs.
    pub gpus: u32,
}

impl Resources {
    /// Nothing of anything.
    pub const ZERO: Resources = Resources::new(0, 0, 0, 0);

    /// An amount of each resource.
    ///
    /// ```
    /// use spaces_runtime::scheduler::Resources;
    /// assert_eq!(Resources::new(2, 16, 50, 0).memory_gb, 16);
    /// ```
    pub const fn new(vcpu: u32, memory_gb: u32, disk_gb: u32, gpus: u32) -> Self {
        Self {
            vcpu,
            memory_gb,
            disk_gb,
            gpus,
        }
    }

    /// Whether `self` fits in `room` on every resource.
    ///
    /// ```
    /// use spaces_runtime::scheduler::Resources;
    /// assert!(Resources::new(2, 16, 50, 0).fits_in(&Resources::new(2, 16, 50, 0)));
    /// assert!(!Resources::new(2, 16, 51, 0).fits_in(&Resources::new(2, 16, 50, 0)));
    /// ```
    #[inline]
    pub fn fits_in(&self, room: &Resources) -> bool {
        self.vcpu <= room.vcpu
            && self.memory_gb <= room.memory_gb
            && self.disk_gb <= room.disk_gb
            && self.gpus <= room.gpus
    }

    /// `self - other` on every resource, or `None` if any would go below zero.
    ///
    /// ```
    /// use spaces_runtime::scheduler::Resources;
    /// let a = Resources::new(4, 4, 4, 1);
    /// assert_eq!(a.checked_sub(&Resources::new(1, 2, 3, 1)), Some(Resources::new(3, 2, 1, 0)));
    /// assert_eq!(a.checked_sub(&Resources::new(0, 0, 0, 2)), None);
    /// ```
    #[inline]
    pub fn checked_sub(&self, other: &Resources) -> Option<Resources> {
        Some(Resources {
            vcpu: self.vcpu.checked_sub(other.vcpu)?,
            memory_gb: self.memory_gb.checked_sub(other.memory_gb)?,
            disk_gb: self.disk_gb.checked_sub(other.disk_gb)?,
            gpus: self.gpus.checked_sub(other.gpus)?,
        })
    }

    /// `self + other` on every resource, or `None` on overflow.
    ///
    /// ```
    /// use spaces_runtime::scheduler::Resources;
    /// let a = Resources::new(1, 2, 3, 0);
    /// assert_eq!(a.checked_add(&a), Some(Resources::new(2, 4, 6, 0)));
    /// assert_eq!(Resources::new(u32::MAX, 0, 0, 0).checked_add(&a), None);
    /// ```
    #[inline]
    pub fn checked_add(&self, other: &Resources) -> Option<Resources> {
        Some(Resources {
            vcpu: self.vcpu.checked_add(other.vcpu)?,
            memory_gb: self.memory_gb.checked_add(other.memory_gb)?,
            disk_gb: self.disk_gb.checked_add(other.disk_gb)?,
            gpus: self.gpus.checked_add(other.gpus)?,
        })
    }

    /// How much of each resource `self` lacks to fit `need` (zero where it has enough).
    ///
    /// ```
    /// use spaces_runtime::scheduler::Resources;
    /// let free = Resources::new(4, 10, 100, 0);
    /// assert_eq!(free.shortfall(&Resources::new(2, 16, 50, 0)), Resources::new(0, 6, 0, 0));
    /// ```
    pub fn shortfall(&self, need: &Resources) -> Resources {
        Resources {
            vcpu: need.vcpu.saturating_sub(self.vcpu),
            memory_gb: need.memory_gb.saturating_sub(self.memory_gb),
            disk_gb: need.disk_gb.saturating_sub(self.disk_gb),
            gpus: need.gpus.saturating_sub(self.gpus),
        }
    }

    /// Whether every amount is zero.
    ///
    /// ```
    /// use spaces_runtime::scheduler::Resources;
    /// assert!(Resources::ZERO.is_zero());
    /// assert!(!Resources::new(0, 0, 0, 1).is_zero());
    /// ```
    pub fn is_zero(&self) -> bool {
        *self == Resources::ZERO
    }

    /// The largest of `self` and `other` on each resource.
    ///
    /// ```
    /// use spaces_runtime::scheduler::Resources;
    /// let m = Resources::new(1, 9, 3, 0).max(&Resources::new(4, 2, 3, 1));
    /// assert_eq!(m, Resources::new(4, 9, 3, 1));
    /// ```
    pub fn max(&self, other: &Resources) -> Resources {
        Resources {
            vcpu: self.vcpu.max(other.vcpu),
            memory_gb: self.memory_gb.max(other.memory_gb),
            disk_gb: self.disk_gb.max(other.disk_gb),
            gpus: self.gpus.max(other.gpus),
        }
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} vCPU, {} GB memory, {} GB disk",
            self.vcpu, self.memory_gb, self.disk_gb
        )?;
        if self.gpus > 0 {
            write!(f, ", {} GPU", self.gpus)?;
        }
        Ok(())
    }
}

/// What one Space asks for: an amount of each resource, and the GPU model if it asks for GPUs.
///
/// Built from a [`HardwareSpec`] (a catalog flavor) or by hand. A demand with a GPU model and a
/// GPU count of zero is a CPU demand: the model is dropped.
///
/// ```
/// use spaces_core::{Catalog, Flavor, GpuModel};
/// use spaces_runtime::scheduler::{Demand, Resources};
/// let catalog = Catalog::seed();
/// let a100 = Demand::from(catalog.flavor(&Flavor::A100Large).unwrap());
/// assert_eq!(a100.resources(), Resources::new(12, 142, 1000, 1));
/// assert_eq!(a100.gpu_model(), Some(&GpuModel::A100));
///
/// let odd = Demand::new(Resources::new(1, 1, 1, 0), Some(GpuModel::T4));
/// assert_eq!(odd.gpu_model(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Demand {
    resources: Resources,
    gpu_model: Option<GpuModel>,
}

impl Demand {
    /// A demand; `gpu_model` is kept only when `resources.gpus > 0`, and `resources.gpus` is
    /// zeroed when no model is given (a GPU is always of some model).
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Demand, Resources};
    /// let d = Demand::new(Resources::new(2, 16, 50, 3), None);
    /// assert_eq!(d.resources().gpus, 0);
    /// ```
    pub fn new(mut resources: Resources, gpu_model: Option<GpuModel>) -> Self {
        let gpu_model = gpu_model.filter(|_| resources.gpus > 0);
        if gpu_model.is_none() {
            resources.gpus = 0;
        }
        Self {
            resources,
            gpu_model,
        }
    }

    /// A CPU-only demand.
    ///
    /// ```
    /// use spaces_runtime::scheduler::Demand;
    /// assert_eq!(Demand::cpu(2, 16, 50).gpu_model(), None);
    /// ```
    pub fn cpu(vcpu: u32, memory_gb: u32, disk_gb: u32) -> Self {
        Self::new(Resources::new(vcpu, memory_gb, disk_gb, 0), None)
    }

    /// A demand for `count` whole GPUs of `model`, with CPU, memory and disk.
    ///
    /// ```
    /// use spaces_core::GpuModel;
    /// use spaces_runtime::scheduler::Demand;
    /// let d = Demand::gpu(4, 15, 50, GpuModel::T4, 1);
    /// assert_eq!(d.resources().gpus, 1);
    /// ```
    pub fn gpu(vcpu: u32, memory_gb: u32, disk_gb: u32, model: GpuModel, count: u32) -> Self {
        Self::new(Resources::new(vcpu, memory_gb, disk_gb, count), Some(model))
    }

    /// The amounts asked for (`gpus` is a count of [`Demand::gpu_model`] GPUs).
    pub fn resources(&self) -> Resources {
        self.resources
    }

    /// The GPU model asked for, or `None` for a CPU-only demand.
    pub fn gpu_model(&self) -> Option<&GpuModel> {
        self.gpu_model.as_ref()
    }
}

impl From<&HardwareSpec> for Demand {
    fn from(spec: &HardwareSpec) -> Self {
        let (gpus, model) = match &spec.gpu {
            Some(g) => (g.count, Some(g.model.clone())),
            None => (0, None),
        };
        Demand::new(
            Resources::new(spec.vcpu, spec.memory_gb, spec.disk_gb, gpus),
            model,
        )
    }
}

impl fmt::Display for Demand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.resources;
        write!(
            f,
            "{} vCPU, {} GB memory, {} GB disk",
            r.vcpu, r.memory_gb, r.disk_gb
        )?;
        if let Some(model) = &self.gpu_model {
            write!(f, ", {}x {model}", r.gpus)?;
        }
        Ok(())
    }
}
