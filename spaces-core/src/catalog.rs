//! The catalog of hardware flavors and storage tiers offered, with their prices.
//!
//! Prices change over time, so the catalog is data. [`Catalog::seed`] is the built-in default (the
//! tables of domain.md §2–3, exactly); a catalog can also be loaded from a YAML file by
//! `spaces_config::catalog_file` (the loader lives there because spaces-core does no I/O and
//! does not depend on a YAML parser).

use rust_decimal::Decimal;

use crate::error::Error;
use crate::hardware::{Flavor, GpuModel, GpuSpec, HardwareSpec};
use crate::storage::{StorageSpec, StorageTier};

/// The hardware flavors and storage tiers on offer.
///
/// ```
/// use spaces_core::{Catalog, Flavor, StorageTier};
/// let catalog = Catalog::seed();
/// assert_eq!(catalog.hardware().len(), 7);
/// assert_eq!(catalog.require_flavor("a100-large")?.hourly_price.to_string(), "4.13");
/// assert!(catalog.require_flavor("h100x1").is_err());
/// assert_eq!(catalog.storage_tier(StorageTier::Large).unwrap().size_gb, 1000);
/// # Ok::<(), spaces_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Catalog {
    hardware: Vec<HardwareSpec>,
    storage: Vec<StorageSpec>,
}

impl Catalog {
    /// Builds a catalog, checking that flavor ids are unique, each storage tier appears at most
    /// once, counts are positive and no price is negative.
    pub fn new(hardware: Vec<HardwareSpec>, storage: Vec<StorageSpec>) -> Result<Self, Error> {
        for (i, h) in hardware.iter().enumerate() {
            if hardware[..i].iter().any(|o| o.id == h.id) {
                return Err(Error::InvalidCatalog {
                    problem: format!("flavor `{}` appears twice", h.id),
                });
            }
            if h.hourly_price.is_sign_negative() {
                return Err(Error::InvalidCatalog {
                    problem: format!("flavor `{}` has a negative price {}", h.id, h.hourly_price),
                });
            }
            if h.vcpu == 0 || h.memory_gb == 0 {
                return Err(Error::InvalidCatalog {
                    problem: format!(
                        "flavor `{}` must have at least 1 vCPU and 1 GB of memory",
                        h.id
                    ),
                });
            }
            if h.gpu.as_ref().is_some_and(|g| g.count == 0) {
                return Err(Error::InvalidCatalog {
                    problem: format!(
                        "flavor `{}` lists a GPU with count 0 (omit `gpu` instead)",
                        h.id
                    ),
                });
            }
        }
        for (i, s) in storage.iter().enumerate() {
            if storage[..i].iter().any(|o| o.tier == s.tier) {
                return Err(Error::InvalidCatalog {
                    problem: format!("storage tier `{}` appears twice", s.tier),
                });
            }
            if s.monthly_price.is_sign_negative() {
                return Err(Error::InvalidCatalog {
                    problem: format!("storage tier `{}` has a negative price", s.tier),
                });
            }
        }
        Ok(Self { hardware, storage })
    }

    /// The built-in catalog: domain.md §2 (7 flavors) and §3 (3 storage tiers), exactly.
    pub fn seed() -> Self {
        fn hw(
            id: Flavor,
            name: &str,
            vcpu: u32,
            memory_gb: u32,
            disk_gb: u32,
            gpu: Option<(GpuModel, u32)>,
            cents_per_hour: i64,
        ) -> HardwareSpec {
            HardwareSpec {
                id,
                name: name.to_owned(),
                vcpu,
                memory_gb,
                disk_gb,
                gpu: gpu.map(|(model, memory_gb)| GpuSpec {
                    model,
                    count: 1,
                    memory_gb,
                }),
                hourly_price: Decimal::new(cents_per_hour, 2),
            }
        }
        let mut cpu_basic = hw(Flavor::CpuBasic, "CPU Basic", 2, 16, 50, None, 0);
        cpu_basic.hourly_price = Decimal::ZERO;
        let hardware = vec![
            cpu_basic,
            hw(Flavor::CpuUpgrade, "CPU Upgrade", 8, 32, 50, None, 3),
            hw(
                Flavor::T4Small,
                "Nvidia T4 - small",
                4,
                15,
                50,
                Some((GpuModel::T4, 16)),
                6,
            ),
            hw(
                Flavor::T4Medium,
                "Nvidia T4 - medium",
                8,
                30,
                100,
                Some((GpuModel::T4, 16)),
                9,
            ),
            hw(
                Flavor::A10gSmall,
                "Nvidia A10G - small",
                4,
                15,
                110,
                Some((GpuModel::A10G, 24)),
                105,
            ),
            hw(
                Flavor::A10gLarge,
                "Nvidia A10G - large",
                12,
                46,
                200,
                Some((GpuModel::A10G, 24)),
                315,
            ),
            hw(
                Flavor::A100Large,
                "Nvidia A100 - large",
                12,
                142,
                1000,
                Some((GpuModel::A100, 80)),
                413,
            ),
        ];
        let storage = vec![
            StorageSpec {
                tier: StorageTier::Small,
                size_gb: 20,
                monthly_price: Decimal::new(5, 0),
            },
            StorageSpec {
                tier: StorageTier::Medium,
                size_gb: 150,
                monthly_price: Decimal::new(25, 0),
            },
            StorageSpec {
                tier: StorageTier::Large,
                size_gb: 1000,
                monthly_price: Decimal::new(100, 0),
            },
        ];
        Self { hardware, storage }
    }

    /// Every flavor, in catalog order.
    pub fn hardware(&self) -> &[HardwareSpec] {
        &self.hardware
    }

    /// Every storage tier, in catalog order.
    pub fn storage(&self) -> &[StorageSpec] {
        &self.storage
    }

    /// The spec of a flavor, if the catalog offers it.
    pub fn flavor(&self, id: &Flavor) -> Option<&HardwareSpec> {
        self.hardware.iter().find(|h| &h.id == id)
    }

    /// Validates a flavor id from user input: the spec, or an error listing what is offered.
    pub fn require_flavor(&self, id: &str) -> Result<&HardwareSpec, Error> {
        let flavor = Flavor::from_wire(id);
        self.flavor(&flavor).ok_or_else(|| Error::UnknownFlavor {
            input: id.to_owned(),
            offered: self.flavor_ids(),
        })
    }

    /// The spec of a storage tier, if the catalog offers it.
    pub fn storage_tier(&self, tier: StorageTier) -> Option<&StorageSpec> {
        self.storage.iter().find(|s| s.tier == tier)
    }

    /// The offered flavor ids, comma-separated (for error messages).
    pub fn flavor_ids(&self) -> String {
        self.hardware
            .iter()
            .map(|h| h.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::seed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn seed_matches_domain_tables() {
        let c = Catalog::seed();
        let rows: Vec<_> = c
            .hardware()
            .iter()
            .map(|h| {
                (
                    h.id.as_str().to_owned(),
                    h.vcpu,
                    h.memory_gb,
                    h.disk_gb,
                    h.gpu
                        .as_ref()
                        .map(|g| (g.model.as_str().to_owned(), g.count, g.memory_gb)),
                    h.hourly_price,
                )
            })
            .collect();
        let g = |m: &str, mem| Some((m.to_owned(), 1, mem));
        assert_eq!(
            rows,
            vec![
                ("cpu-basic".into(), 2, 16, 50, None, dec!(0)),
                ("cpu-upgrade".into(), 8, 32, 50, None, dec!(0.03)),
                ("t4-small".into(), 4, 15, 50, g("T4", 16), dec!(0.06)),
                ("t4-medium".into(), 8, 30, 100, g("T4", 16), dec!(0.09)),
                ("a10g-small".into(), 4, 15, 110, g("A10G", 24), dec!(1.05)),
                ("a10g-large".into(), 12, 46, 200, g("A10G", 24), dec!(3.15)),
                (
                    "a100-large".into(),
                    12,
                    142,
                    1000,
                    g("A100", 80),
                    dec!(4.13)
                ),
            ]
        );
        let storage: Vec<_> = c
            .storage()
            .iter()
            .map(|s| (s.tier, s.size_gb, s.monthly_price))
            .collect();
        assert_eq!(
            storage,
            vec![
                (StorageTier::Small, 20, dec!(5)),
                (StorageTier::Medium, 150, dec!(25)),
                (StorageTier::Large, 1000, dec!(100)),
            ]
        );
        assert_eq!(
            Catalog::new(c.hardware().to_vec(), c.storage().to_vec()).unwrap(),
            c
        );
    }

    #[test]
    fn unknown_flavor_is_an_input_error_listing_the_offer() {
        let err = Catalog::seed().require_flavor("l4x1").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("l4x1") && msg.contains("cpu-basic"), "{msg}");
    }

    #[test]
    fn duplicate_flavors_are_refused() {
        let c = Catalog::seed();
        let mut hw = c.hardware().to_vec();
        hw.push(hw[0].clone());
        assert!(matches!(
            Catalog::new(hw, vec![]),
            Err(Error::InvalidCatalog { .. })
        ));
    }
}
