//! The real inventory: NVML (`libnvidia-ml`), loaded at run time through `nvml-wrapper`.

use std::collections::BTreeMap;

use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};

use super::allocator::BACKEND;
use super::device::{GpuDevice, GpuInventory, GpuProcess, MigMode};
use crate::Error;

/// The library names tried, in order (the unversioned name exists only where the driver's
/// development files are installed).
const LIBRARIES: &[&str] = &["libnvidia-ml.so", "libnvidia-ml.so.1"];

/// The GPUs of this machine as NVML reports them. Opening fails with [`Error::Unavailable`]
/// carrying NVML's load error when there is no driver: never a silent fallback to no GPUs.
///
/// ```no_run
/// use spaces_runtime::nvidia::{GpuInventory, NvmlInventory};
/// let nvml = NvmlInventory::open()?;
/// for gpu in nvml.devices()? {
///     println!("{} {} {}", gpu.index, gpu.uuid, gpu.name);
/// }
/// # Ok::<(), spaces_runtime::Error>(())
/// ```
pub struct NvmlInventory {
    nvml: Nvml,
}

impl std::fmt::Debug for NvmlInventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NvmlInventory").finish_non_exhaustive()
    }
}

fn unavailable(doing: &str) -> impl FnOnce(NvmlError) -> Error + '_ {
    move |e| Error::Unavailable {
        backend: BACKEND,
        reason: format!("NVML {doing}: {e}"),
    }
}

impl NvmlInventory {
    /// Loads `libnvidia-ml` and initialises NVML.
    pub fn open() -> Result<Self, Error> {
        let mut errors = Vec::new();
        for lib in LIBRARIES {
            match Nvml::builder().lib_path(std::ffi::OsStr::new(lib)).init() {
                Ok(nvml) => return Ok(Self { nvml }),
                Err(e) => errors.push(format!("{lib}: {e}")),
            }
        }
        Err(Error::Unavailable {
            backend: BACKEND,
            reason: format!(
                "NVML could not be loaded (no NVIDIA driver?): {}",
                errors.join("; ")
            ),
        })
    }

    /// The driver's version.
    pub fn driver_version(&self) -> Result<String, Error> {
        self.nvml
            .sys_driver_version()
            .map_err(unavailable("reading the driver version"))
    }

    fn device(&self, index: u32) -> Result<GpuDevice, Error> {
        let dev = self
            .nvml
            .device_by_index(index)
            .map_err(unavailable("opening a device"))?;
        let uuid = dev.uuid().map_err(unavailable("reading a device's UUID"))?;
        let name = dev.name().map_err(unavailable("reading a device's name"))?;
        let memory = dev
            .memory_info()
            .map_err(unavailable("reading a device's memory"))?;
        let mut out = GpuDevice::new(index, uuid, name, memory.total);
        out.index = dev.index().unwrap_or(index);
        out.memory_used_bytes = memory.used;
        out.utilization_percent = dev.utilization_rates().ok().map(|u| u.gpu);
        out.mig = match dev.mig_mode() {
            Ok(m) if m.current != 0 => MigMode::Enabled,
            Ok(_) => MigMode::Disabled,
            Err(_) => MigMode::NotSupported,
        };
        out.processes = processes(&dev);
        Ok(out)
    }
}

/// Compute and graphics processes, one entry per pid; `None` when neither list can be read.
fn processes(dev: &Device<'_>) -> Option<Vec<GpuProcess>> {
    let compute = dev.running_compute_processes();
    let graphics = dev.running_graphics_processes();
    if compute.is_err() && graphics.is_err() {
        return None;
    }
    let mut by_pid = BTreeMap::new();
    for p in compute
        .unwrap_or_default()
        .into_iter()
        .chain(graphics.unwrap_or_default())
    {
        let used = match p.used_gpu_memory {
            UsedGpuMemory::Used(b) => Some(b),
            UsedGpuMemory::Unavailable => None,
        };
        by_pid.entry(p.pid).or_insert(GpuProcess {
            pid: p.pid,
            used_memory_bytes: used,
        });
    }
    Some(by_pid.into_values().collect())
}

impl GpuInventory for NvmlInventory {
    fn source(&self) -> &'static str {
        "nvml"
    }

    fn devices(&self) -> Result<Vec<GpuDevice>, Error> {
        let count = self
            .nvml
            .device_count()
            .map_err(unavailable("counting devices"))?;
        let mut out = (0..count)
            .map(|i| self.device(i))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|d| d.index);
        Ok(out)
    }
}
