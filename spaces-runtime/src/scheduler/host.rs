//! A host of the fleet: its id, what it offers, its labels, and its state.

use std::collections::BTreeMap;
use std::fmt;

use spaces_core::GpuModel;

use super::resources::Resources;

/// A host's id in a [`Fleet`](super::Fleet). Ids are handed out in order and never reused, even
/// after the host is removed.
///
/// ```
/// use spaces_runtime::scheduler::{Fleet, HostSpec};
/// let mut fleet = Fleet::new();
/// let id = fleet.add(HostSpec::cpu(64, 256, 2000));
/// assert_eq!(id.index(), 0);
/// assert_eq!(id.to_string(), "host-0");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(u32);

impl HostId {
    pub(crate) fn new(index: u32) -> Self {
        Self(index)
    }

    /// The id of the host at `index` in its fleet (which may not exist: the fleet says).
    ///
    /// ```
    /// use spaces_runtime::scheduler::HostId;
    /// assert_eq!(HostId::from_index(3).index(), 3);
    /// ```
    pub fn from_index(index: u32) -> Self {
        Self(index)
    }

    /// The position of the host in its fleet (0 for the first host added).
    pub fn index(self) -> u32 {
        self.0
    }
}

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host-{}", self.0)
    }
}

/// Free-form key/value labels of a host (region, zone, rack, ...). The scheduler keeps them for
/// its callers; placement does not read them yet.
///
/// ```
/// use spaces_runtime::scheduler::Labels;
/// let labels = Labels::new().with("zone", "eu-west-1a");
/// assert_eq!(labels.get("zone"), Some("eu-west-1a"));
/// assert_eq!(labels.get("rack"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(BTreeMap<String, String>);

impl Labels {
    /// No labels.
    pub fn new() -> Self {
        Self::default()
    }

    /// These labels with `key` set to `value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every label, by key.
    ///
    /// ```
    /// use spaces_runtime::scheduler::Labels;
    /// let l = Labels::new().with("b", "2").with("a", "1");
    /// assert_eq!(l.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// What a host offers: its capacity, the model of its GPUs (if any) and its labels.
///
/// ```
/// use spaces_core::GpuModel;
/// use spaces_runtime::scheduler::{HostSpec, Resources};
/// let host = HostSpec::cpu(48, 192, 1000).with_gpus(GpuModel::A10G, 4).with_label("zone", "a");
/// assert_eq!(host.capacity(), Resources::new(48, 192, 1000, 4));
/// assert_eq!(host.gpu_model(), Some(&GpuModel::A10G));
/// assert_eq!(host.labels().get("zone"), Some("a"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    capacity: Resources,
    gpu_model: Option<GpuModel>,
    labels: Labels,
}

impl HostSpec {
    /// A host without GPUs.
    ///
    /// ```
    /// use spaces_runtime::scheduler::HostSpec;
    /// assert_eq!(HostSpec::cpu(64, 256, 2000).capacity().gpus, 0);
    /// ```
    pub fn cpu(vcpu: u32, memory_gb: u32, disk_gb: u32) -> Self {
        Self {
            capacity: Resources::new(vcpu, memory_gb, disk_gb, 0),
            gpu_model: None,
            labels: Labels::new(),
        }
    }

    /// This host with `count` GPUs of `model` (a count of 0 makes it a CPU host).
    ///
    /// ```
    /// use spaces_core::GpuModel;
    /// use spaces_runtime::scheduler::HostSpec;
    /// assert_eq!(HostSpec::cpu(8, 8, 8).with_gpus(GpuModel::T4, 0).gpu_model(), None);
    /// ```
    pub fn with_gpus(mut self, model: GpuModel, count: u32) -> Self {
        self.capacity.gpus = count;
        self.gpu_model = (count > 0).then_some(model);
        self
    }

    /// This host with the GPUs an inventory reports ([`crate::nvidia::GpuInventory::devices`],
    /// NVML on a real host): the most numerous model among whole GPUs (not in MIG mode), by
    /// count; a host of mixed models offers only that one (the scheduler places one model per
    /// host), ties going to the model of the lowest index. No such GPU: a CPU host.
    ///
    /// ```
    /// use spaces_core::GpuModel;
    /// use spaces_runtime::nvidia::{FakeInventory, GpuInventory};
    /// use spaces_runtime::scheduler::HostSpec;
    /// let gpus = FakeInventory::of(&[("NVIDIA A10G", 22), ("NVIDIA A10G", 22)]).devices().unwrap();
    /// let host = HostSpec::cpu(48, 192, 1000).with_gpu_devices(&gpus);
    /// assert_eq!((host.gpu_model(), host.capacity().gpus), (Some(&GpuModel::A10G), 2));
    /// ```
    pub fn with_gpu_devices(self, devices: &[crate::nvidia::GpuDevice]) -> Self {
        let mut counts: Vec<(&GpuModel, u32)> = Vec::new();
        for d in devices
            .iter()
            .filter(|d| d.mig != crate::nvidia::MigMode::Enabled)
        {
            match counts.iter_mut().find(|(m, _)| *m == &d.model) {
                Some((_, n)) => *n += 1,
                None => counts.push((&d.model, 1)),
            }
        }
        let mut best: Option<(&GpuModel, u32)> = None;
        for (model, n) in counts {
            if best.is_none_or(|(_, b)| n > b) {
                best = Some((model, n));
            }
        }
        match best {
            Some((model, n)) => self.with_gpus(model.clone(), n),
            None => self.with_gpus(GpuModel::T4, 0),
        }
    }

    /// This host with one more label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels = self.labels.with(key, value);
        self
    }

    /// Everything the host offers (`gpus` counts GPUs of [`HostSpec::gpu_model`]).
    pub fn capacity(&self) -> Resources {
        self.capacity
    }

    /// The model of the host's GPUs, or `None` for a CPU host.
    pub fn gpu_model(&self) -> Option<&GpuModel> {
        self.gpu_model.as_ref()
    }

    /// The host's labels.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }
}

/// Whether a host takes new Spaces.
///
/// ```
/// use spaces_runtime::scheduler::HostState;
/// assert!(HostState::Active.accepts_spaces());
/// assert!(!HostState::Draining.accepts_spaces());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostState {
    /// Takes new Spaces.
    Active,
    /// Keeps its Spaces but takes no new ones (maintenance, decommissioning).
    Draining,
    /// Gone from the fleet; holds nothing.
    Removed,
}

impl HostState {
    /// Whether new Spaces may be placed on a host in this state.
    pub fn accepts_spaces(self) -> bool {
        self == HostState::Active
    }
}

/// A host as the fleet sees it now: its spec, its free capacity, its state and how many Spaces it
/// runs.
///
/// ```
/// use spaces_runtime::scheduler::{Fleet, HostSpec, HostState};
/// let mut fleet = Fleet::new();
/// let id = fleet.add(HostSpec::cpu(64, 256, 2000));
/// let host = fleet.host(id).unwrap();
/// assert_eq!(host.free(), host.spec().capacity());
/// assert_eq!(host.state(), HostState::Active);
/// assert_eq!(host.spaces(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub(crate) spec: HostSpec,
    pub(crate) free: Resources,
    pub(crate) state: HostState,
    pub(crate) spaces: u32,
}

impl Host {
    /// What the host offers.
    pub fn spec(&self) -> &HostSpec {
        &self.spec
    }

    /// What is not taken by the Spaces on it.
    pub fn free(&self) -> Resources {
        self.free
    }

    /// What the Spaces on it take.
    ///
    /// ```
    /// use spaces_runtime::scheduler::{Fleet, HostSpec, Resources};
    /// let mut fleet = Fleet::new();
    /// let id = fleet.add(HostSpec::cpu(64, 256, 2000));
    /// assert_eq!(fleet.host(id).unwrap().used(), Resources::ZERO);
    /// ```
    pub fn used(&self) -> Resources {
        self.spec
            .capacity
            .checked_sub(&self.free)
            .unwrap_or(Resources::ZERO)
    }

    /// Whether it takes new Spaces.
    pub fn state(&self) -> HostState {
        self.state
    }

    /// How many Spaces run on it.
    pub fn spaces(&self) -> u32 {
        self.spaces
    }
}
