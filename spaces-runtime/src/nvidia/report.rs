//! `spaces gpus`: the inventory and who holds what, as a table or as JSON.

use std::path::Path;

use serde::Serialize;

use super::allocator::{read_leases_at, short, GpuLease};
use super::device::{GpuDevice, GpuInventory, MigMode};
use crate::Error;

/// What a GPU is doing, as far as assignments go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuUse {
    /// No one holds it and no process uses it: it can be handed out.
    Free,
    /// A Space holds it.
    Assigned,
    /// No Space holds it but a process uses it: not handed out while it does.
    Foreign,
    /// In MIG mode: never handed out as a whole GPU.
    Mig,
}

/// One row: a device and its lease.
#[derive(Clone, Debug, Serialize)]
pub struct GpuReportRow {
    /// The device.
    #[serde(flatten)]
    pub device: GpuDevice,
    /// What it is doing.
    pub state: GpuUse,
    /// Its lease, when a Space holds it.
    pub lease: Option<GpuLease>,
}

/// The inventory with its assignments: what `spaces gpus` prints.
///
/// ```
/// use spaces_runtime::nvidia::{FakeInventory, GpuReport};
/// let inventory = FakeInventory::of(&[("Tesla T4", 15)]);
/// let report = GpuReport::from_inventory(&inventory, Vec::new()).unwrap();
/// assert!(report.to_table().contains("Tesla T4"));
/// assert!(report.to_json().unwrap().contains("\"state\": \"free\""));
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct GpuReport {
    /// Where the devices were read (`nvml`, `fake`).
    pub source: String,
    /// Every device, by index.
    pub gpus: Vec<GpuReportRow>,
    /// Leases of GPUs the inventory no longer shows (a device that fell off the bus).
    pub missing: Vec<GpuLease>,
}

impl GpuReport {
    /// The report of `devices` (from `source`) and `leases`.
    pub fn new(source: &str, devices: Vec<GpuDevice>, leases: Vec<GpuLease>) -> Self {
        let mut leases = leases;
        let gpus = devices
            .into_iter()
            .map(|device| {
                let lease = leases
                    .iter()
                    .position(|l| l.uuid == device.uuid)
                    .map(|i| leases.remove(i));
                let state = if lease.is_some() {
                    GpuUse::Assigned
                } else if device.mig == MigMode::Enabled {
                    GpuUse::Mig
                } else if device.in_use_by_processes() {
                    GpuUse::Foreign
                } else {
                    GpuUse::Free
                };
                GpuReportRow {
                    device,
                    state,
                    lease,
                }
            })
            .collect();
        Self {
            source: source.to_owned(),
            gpus,
            missing: leases,
        }
    }

    /// Reads `inventory` now and joins `leases` to it.
    pub fn from_inventory(
        inventory: &dyn GpuInventory,
        leases: Vec<GpuLease>,
    ) -> Result<Self, Error> {
        Ok(Self::new(inventory.source(), inventory.devices()?, leases))
    }

    /// NVML's devices with the leases kept in `<state_dir>/supervisor.sqlite` (read-only; no
    /// state folder: no leases). Fails with [`Error::Unavailable`] without an NVIDIA driver.
    #[cfg(feature = "nvidia")]
    pub fn gather(state_dir: Option<&Path>) -> Result<Self, Error> {
        let nvml = super::NvmlInventory::open()?;
        let leases = match state_dir {
            Some(dir) => read_leases_at(dir)?,
            None => Vec::new(),
        };
        Self::from_inventory(&nvml, leases)
    }

    /// `inventory`'s devices with the leases kept in `<state_dir>/supervisor.sqlite`
    /// (read-only).
    pub fn gather_from(inventory: &dyn GpuInventory, state_dir: &Path) -> Result<Self, Error> {
        Self::from_inventory(inventory, read_leases_at(state_dir)?)
    }

    /// A human table: index, UUID prefix, name, model, memory used/total (MiB), utilisation,
    /// MIG, processes, state and the Space holding it; then leases of missing GPUs.
    pub fn to_table(&self) -> String {
        let header = [
            "GPU",
            "UUID",
            "NAME",
            "MODEL",
            "MEMORY (MiB)",
            "UTIL",
            "MIG",
            "PROCS",
            "STATE",
            "SPACE",
        ];
        let mut rows: Vec<[String; 10]> = Vec::new();
        for r in &self.gpus {
            let d = &r.device;
            rows.push([
                d.index.to_string(),
                short(&d.uuid).to_owned(),
                d.name.clone(),
                format!("{} ({} GB)", d.model, d.memory_gb),
                format!(
                    "{} / {}",
                    d.memory_used_bytes >> 20,
                    d.memory_total_bytes >> 20
                ),
                d.utilization_percent
                    .map(|u| format!("{u}%"))
                    .unwrap_or_else(|| "-".into()),
                match d.mig {
                    MigMode::Enabled => "on",
                    MigMode::Disabled => "off",
                    MigMode::NotSupported => "-",
                }
                .to_owned(),
                d.processes
                    .as_ref()
                    .map(|p| p.len().to_string())
                    .unwrap_or_else(|| "?".into()),
                match r.state {
                    GpuUse::Free => "free",
                    GpuUse::Assigned => "assigned",
                    GpuUse::Foreign => "busy (unknown process)",
                    GpuUse::Mig => "mig",
                }
                .to_owned(),
                r.lease
                    .as_ref()
                    .map(|l| l.space.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| -> String {
            let mut s = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            s.truncate(s.trim_end().len());
            s.push('\n');
            s
        };
        let mut out = format!("source: {}\n", self.source);
        out.push_str(&line(header.to_vec()));
        for row in &rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        if self.gpus.is_empty() {
            out.push_str("(no GPUs)\n");
        }
        for l in &self.missing {
            out.push_str(&format!(
                "missing: {} held by {} ({}) is not in the inventory\n",
                l.uuid, l.space, l.holder
            ));
        }
        out
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Io {
            context: "encoding the GPU report".into(),
            source: std::io::Error::other(e),
        })
    }
}
