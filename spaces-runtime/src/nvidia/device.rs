//! What an inventory reports of one GPU, and the [`GpuInventory`] plug-point.

use std::fmt::Debug;

use serde::Serialize;
use spaces_core::GpuModel;

use super::models;
use crate::Error;

/// Whether a device runs in MIG (Multi-Instance GPU) mode. A device in MIG mode is never handed
/// out as a whole GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigMode {
    /// MIG is off: the device is one whole GPU.
    Disabled,
    /// MIG is on: the device is split into instances.
    Enabled,
    /// The device has no MIG support (or the driver did not say).
    NotSupported,
}

/// A process that uses a GPU, as the driver lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GpuProcess {
    /// Its pid (in the driver's pid namespace).
    pub pid: u32,
    /// GPU memory it holds, in bytes, when the driver says.
    pub used_memory_bytes: Option<u64>,
}

/// One GPU as an inventory sees it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GpuDevice {
    /// The driver's index (`nvidia-smi`'s `GPU 0`, ...).
    pub index: u32,
    /// The device's UUID (`GPU-xxxxxxxx-...`): stable across reboots and re-enumeration, so
    /// assignments and `CUDA_VISIBLE_DEVICES` name devices by it.
    pub uuid: String,
    /// The name the driver reports (`NVIDIA H100 80GB HBM3`, `Tesla T4`).
    pub name: String,
    /// The catalog model the name and memory match (see [`models::match_model`]).
    pub model: GpuModel,
    /// The model's nominal memory size in GB (16 for a T4, 40 or 80 for an A100): what a
    /// flavor's `memory_gb` is compared with.
    pub memory_gb: u32,
    /// Total memory, in bytes.
    pub memory_total_bytes: u64,
    /// Memory in use, in bytes.
    pub memory_used_bytes: u64,
    /// GPU utilisation over the driver's last sample period, in percent, when the driver says.
    pub utilization_percent: Option<u32>,
    /// MIG mode.
    pub mig: MigMode,
    /// The processes that use it; `None` when the driver could not list them.
    pub processes: Option<Vec<GpuProcess>>,
}

impl GpuDevice {
    /// A device named `name` with `memory_total_bytes` of memory, its model and nominal memory
    /// matched from them; idle (no memory used, no process), MIG off.
    ///
    /// ```
    /// use spaces_core::GpuModel;
    /// use spaces_runtime::nvidia::GpuDevice;
    /// let d = GpuDevice::new(0, "GPU-1", "NVIDIA A100-SXM4-40GB", 42_505_273_344);
    /// assert_eq!((d.model, d.memory_gb), (GpuModel::A100, 40));
    /// ```
    pub fn new(
        index: u32,
        uuid: impl Into<String>,
        name: impl Into<String>,
        memory_total_bytes: u64,
    ) -> Self {
        let name = name.into();
        let matched = models::match_model(&name, memory_total_bytes);
        Self {
            index,
            uuid: uuid.into(),
            name,
            model: matched.model,
            memory_gb: matched.memory_gb,
            memory_total_bytes,
            memory_used_bytes: 0,
            utilization_percent: None,
            mig: MigMode::Disabled,
            processes: Some(Vec::new()),
        }
    }

    /// Whether a process runs on it (an unknown process list counts as none).
    pub fn in_use_by_processes(&self) -> bool {
        self.processes.as_ref().is_some_and(|p| !p.is_empty())
    }
}

/// Where the GPUs of this machine are learnt from. Object-safe: hold it as
/// `Arc<dyn GpuInventory>`. The real one is `NvmlInventory` (feature
/// `nvidia`); tests use [`FakeInventory`].
pub trait GpuInventory: Send + Sync + Debug + 'static {
    /// A short name of the source (`nvml`, `fake`), shown in reports.
    fn source(&self) -> &'static str;

    /// Every GPU now, by index. A source that cannot be read is [`Error::Unavailable`].
    fn devices(&self) -> Result<Vec<GpuDevice>, Error>;
}

/// A test double: a fixed list of devices, changed by hand. **Not NVML**: its
/// [`GpuInventory::source`] is `fake`, and nothing here reads a driver.
///
/// ```
/// use spaces_runtime::nvidia::{FakeInventory, GpuInventory};
/// let inv = FakeInventory::of(&[("Tesla T4", 16), ("Tesla T4", 16)]);
/// assert_eq!(inv.devices().unwrap().len(), 2);
/// assert_eq!(inv.source(), "fake");
/// ```
#[derive(Debug, Default)]
pub struct FakeInventory {
    devices: std::sync::Mutex<Vec<GpuDevice>>,
}

impl FakeInventory {
    /// An inventory holding `devices`.
    pub fn new(devices: Vec<GpuDevice>) -> Self {
        Self {
            devices: std::sync::Mutex::new(devices),
        }
    }

    /// Devices from `(name, memory in GiB)` pairs, indexed in order, with UUIDs
    /// `GPU-fake-<index>`.
    pub fn of(cards: &[(&str, u64)]) -> Self {
        Self::new(
            cards
                .iter()
                .zip(0u32..)
                .map(|((name, gib), i)| {
                    GpuDevice::new(i, format!("GPU-fake-{i}"), *name, gib << 30)
                })
                .collect(),
        )
    }

    /// Replaces the device list (a process appeared, a device fell off the bus).
    pub fn set(&self, devices: Vec<GpuDevice>) {
        *self.devices.lock().unwrap_or_else(|e| e.into_inner()) = devices;
    }
}

impl GpuInventory for FakeInventory {
    fn source(&self) -> &'static str {
        "fake"
    }

    fn devices(&self) -> Result<Vec<GpuDevice>, Error> {
        Ok(self
            .devices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }
}
