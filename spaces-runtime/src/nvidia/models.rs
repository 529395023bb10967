//! From the name NVML reports to the catalog's [`GpuModel`].
//!
//! A name is **normalised** first: upper case, the vendor and brand words (`NVIDIA`, `TESLA`,
//! `GEFORCE`, `QUADRO`) dropped, then cut into words at spaces and `-`. The first word is the
//! card's family, looked up in [`MODEL_TABLE`]:
//!
//! | family word | model | nominal memory (GB) | NVML names seen |
//! | --- | --- | --- | --- |
//! | `T4` | `T4` | 16 | `Tesla T4` |
//! | `A10G` | `A10G` | 24 | `NVIDIA A10G` |
//! | `A10` | `A10` (own model) | 24 | `NVIDIA A10` |
//! | `A100` | `A100` | 40, 80 | `NVIDIA A100-SXM4-40GB`, `NVIDIA A100-SXM4-80GB`, `NVIDIA A100-PCIE-40GB`, `NVIDIA A100 80GB PCIe` |
//! | `L4` | `L4` | 24 | `NVIDIA L4` |
//! | `L40S` | `L40S` | 48 | `NVIDIA L40S` |
//! | `L40` | `L40` (own model) | 48 | `NVIDIA L40` |
//! | `H100` | `H100` | 80, 94 | `NVIDIA H100 80GB HBM3`, `NVIDIA H100 PCIe`, `NVIDIA H100 NVL` |
//! | `H200` | `H200` (own model) | 141 | `NVIDIA H200`, `NVIDIA H200 NVL` |
//! | `V100` | `V100` (own model) | 16, 32 | `Tesla V100-SXM2-16GB`, `Tesla V100-SXM2-32GB` |
//!
//! The nominal memory is the table's size nearest the device's total memory in GiB (a T4
//! reports about 14.8 GiB: 16; an A100 40 GB about 39.6 GiB: 40). A name whose family is not in
//! the table is kept as its own model, [`GpuModel::Other`] holding the normalised name (`RTX
//! 4090`), with its memory rounded to whole GiB: it is never mapped to a catalog model.

use spaces_core::GpuModel;

/// One row of the matching table: a family word, its model and the memory sizes it ships with.
#[derive(Clone, Copy, Debug)]
pub struct ModelRow {
    /// The family word of the normalised name (`A100`).
    pub family: &'static str,
    /// The catalog model's name (`A100`; a name [`GpuModel::from_name`] does not know becomes
    /// its own model).
    pub model: &'static str,
    /// The memory sizes the family ships with, in GB, ascending.
    pub memory_gb: &'static [u32],
}

/// The matching table (see the [module docs](self)).
pub const MODEL_TABLE: &[ModelRow] = &[
    ModelRow {
        family: "T4",
        model: "T4",
        memory_gb: &[16],
    },
    ModelRow {
        family: "A10G",
        model: "A10G",
        memory_gb: &[24],
    },
    ModelRow {
        family: "A10",
        model: "A10",
        memory_gb: &[24],
    },
    ModelRow {
        family: "A100",
        model: "A100",
        memory_gb: &[40, 80],
    },
    ModelRow {
        family: "L4",
        model: "L4",
        memory_gb: &[24],
    },
    ModelRow {
        family: "L40S",
        model: "L40S",
        memory_gb: &[48],
    },
    ModelRow {
        family: "L40",
        model: "L40",
        memory_gb: &[48],
    },
    ModelRow {
        family: "H100",
        model: "H100",
        memory_gb: &[80, 94],
    },
    ModelRow {
        family: "H200",
        model: "H200",
        memory_gb: &[141],
    },
    ModelRow {
        family: "V100",
        model: "V100",
        memory_gb: &[16, 32],
    },
];

/// Vendor and brand words dropped from names.
const BRAND_WORDS: &[&str] = &["NVIDIA", "TESLA", "GEFORCE", "QUADRO"];

/// A matched model and its nominal memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchedModel {
    /// The model.
    pub model: GpuModel,
    /// Its nominal memory, in GB.
    pub memory_gb: u32,
}

/// The normalised name: upper case, brand words dropped, words joined by one space.
///
/// ```
/// use spaces_runtime::nvidia::normalise_name;
/// assert_eq!(normalise_name("NVIDIA A100-SXM4-40GB"), "A100 SXM4 40GB");
/// assert_eq!(normalise_name("  Tesla   T4 "), "T4");
/// ```
pub fn normalise_name(name: &str) -> String {
    name.to_uppercase()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|w| !w.is_empty() && !BRAND_WORDS.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The model and nominal memory of a device named `name` with `memory_total_bytes` of memory.
///
/// ```
/// use spaces_core::GpuModel;
/// use spaces_runtime::nvidia::match_model;
/// let h100 = match_model("NVIDIA H100 80GB HBM3", 85_520_809_984);
/// assert_eq!((h100.model, h100.memory_gb), (GpuModel::H100, 80));
/// let other = match_model("NVIDIA GeForce RTX 4090", 25_757_220_864);
/// assert_eq!(other.model, GpuModel::Other("RTX 4090".into()));
/// ```
pub fn match_model(name: &str, memory_total_bytes: u64) -> MatchedModel {
    let normalised = normalise_name(name);
    // Whole MiB: integer arithmetic only.
    let mib = memory_total_bytes >> 20;
    let family = normalised.split(' ').next().unwrap_or_default();
    match MODEL_TABLE.iter().find(|row| row.family == family) {
        Some(row) => MatchedModel {
            model: GpuModel::from_name(row.model),
            memory_gb: nearest(row.memory_gb, mib),
        },
        None => MatchedModel {
            model: GpuModel::Other(if normalised.is_empty() {
                name.trim().to_owned()
            } else {
                normalised
            }),
            memory_gb: u32::try_from(mib.saturating_add(512) / 1024).unwrap_or(u32::MAX),
        },
    }
}

/// The size in `sizes` (GB, compared as GiB) nearest `mib` MiB (the first on a tie).
fn nearest(sizes: &[u32], mib: u64) -> u32 {
    let distance = |size: u32| (u64::from(size) * 1024).abs_diff(mib);
    let mut best = sizes.first().copied().unwrap_or(0);
    for &size in sizes {
        if distance(size) < distance(best) {
            best = size;
        }
    }
    best
}
