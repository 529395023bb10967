//! Loading a [`Catalog`] from a YAML file.
//!
//! The file mirrors `spaces catalog --json`: a `hardware` list (`id`, `name`, `vcpu`, `memory_gb`,
//! `disk_gb`, optional `gpu: {model, count, memory_gb}`, `hourly_price`) and a `storage` list
//! (`tier`, `size_gb`, `monthly_price`). Prices may be written as strings (`"0.06"`) or as YAML
//! numbers (`0.06`, `1.5e2`): either way the scalar's written text is parsed as a decimal, never
//! through a float, so `0.06` is exactly six cents and `1234567.8901234567` keeps every digit (up
//! to the 28 significant digits of a `Decimal`). Flavor ids the build does not know are kept as
//! written.

use std::fmt;
use std::path::Path;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use spaces_core::{Catalog, Flavor, GpuModel, GpuSpec, HardwareSpec, StorageSpec, StorageTier};

use crate::Error;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    hardware: Vec<RawHardware>,
    #[serde(default)]
    storage: Vec<RawStorage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHardware {
    id: String,
    name: String,
    vcpu: u32,
    memory_gb: u32,
    disk_gb: u32,
    #[serde(default)]
    gpu: Option<RawGpu>,
    hourly_price: PriceText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGpu {
    model: String,
    count: u32,
    memory_gb: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    tier: String,
    size_gb: u32,
    monthly_price: PriceText,
}

/// A price's scalar exactly as written in the file (a YAML number or a string), never a float.
struct PriceText(String);

impl<'de> Deserialize<'de> for PriceText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = PriceText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal price such as 0.06 or \"0.06\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PriceText, E> {
                Ok(PriceText(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PriceText, E> {
                Ok(PriceText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PriceText, E> {
                Ok(PriceText(v.to_string()))
            }
        }
        // serde_yaml hands any scalar to `deserialize_str` as its text (a plain `0.06` too),
        // so no number is ever turned into an f64.
        d.deserialize_str(Text)
    }
}

/// Reads a price from its written text, exactly: plain decimals (`0.06`, `.5`, `40`) and
/// scientific notation (`1.5e2`).
fn price(text: &PriceText, what: &str) -> Result<Decimal, Error> {
    let text = text.0.trim();
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        text.parse::<Decimal>()
    };
    let d = parsed
        .map_err(|_| Error::CatalogInvalid(format!("{what}: `{text}` is not a decimal price")))?;
    if d.is_sign_negative() {
        return Err(Error::CatalogInvalid(format!(
            "{what}: price {d} is negative"
        )));
    }
    Ok(d)
}

/// Parses a catalog from YAML text.
pub fn parse_catalog(yaml: &str) -> Result<Catalog, Error> {
    let raw: RawCatalog = serde_yaml::from_str(yaml).map_err(|e| Error::CatalogSyntax {
        location: e.location().map(|l| (l.line(), l.column())),
        message: e.to_string(),
    })?;
    let mut hardware = Vec::with_capacity(raw.hardware.len());
    for h in raw.hardware {
        let what = format!("flavor `{}`", h.id);
        hardware.push(HardwareSpec {
            hourly_price: price(&h.hourly_price, &what)?,
            id: Flavor::from_wire(&h.id),
            name: h.name,
            vcpu: h.vcpu,
            memory_gb: h.memory_gb,
            disk_gb: h.disk_gb,
            gpu: h.gpu.map(|g| GpuSpec {
                model: GpuModel::from_name(&g.model),
                count: g.count,
                memory_gb: g.memory_gb,
            }),
        });
    }
    let mut storage = Vec::with_capacity(raw.storage.len());
    for s in raw.storage {
        let tier: StorageTier = s
            .tier
            .parse()
            .map_err(|e: spaces_core::Error| Error::CatalogInvalid(e.to_string()))?;
        storage.push(StorageSpec {
            monthly_price: price(&s.monthly_price, &format!("storage tier `{tier}`"))?,
            tier,
            size_gb: s.size_gb,
        });
    }
    Catalog::new(hardware, storage).map_err(|e| Error::CatalogInvalid(e.to_string()))
}

/// Reads and parses a catalog file.
pub fn load_catalog(path: &Path) -> Result<Catalog, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_catalog(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_YAML: &str = r#"
hardware:
  - { id: cpu-basic, name: CPU Basic, vcpu: 2, memory_gb: 16, disk_gb: 50, hourly_price: 0 }
  - { id: cpu-upgrade, name: CPU Upgrade, vcpu: 8, memory_gb: 32, disk_gb: 50, hourly_price: 0.03 }
  - { id: t4-small, name: Nvidia T4 - small, vcpu: 4, memory_gb: 15, disk_gb: 50, gpu: { model: T4, count: 1, memory_gb: 16 }, hourly_price: 0.06 }
  - { id: t4-medium, name: Nvidia T4 - medium, vcpu: 8, memory_gb: 30, disk_gb: 100, gpu: { model: T4, count: 1, memory_gb: 16 }, hourly_price: 0.09 }
  - { id: a10g-small, name: Nvidia A10G - small, vcpu: 4, memory_gb: 15, disk_gb: 110, gpu: { model: A10G, count: 1, memory_gb: 24 }, hourly_price: 1.05 }
  - { id: a10g-large, name: Nvidia A10G - large, vcpu: 12, memory_gb: 46, disk_gb: 200, gpu: { model: A10G, count: 1, memory_gb: 24 }, hourly_price: "3.15" }
  - { id: a100-large, name: Nvidia A100 - large, vcpu: 12, memory_gb: 142, disk_gb: 1000, gpu: { model: A100, count: 1, memory_gb: 80 }, hourly_price: 4.13 }
storage:
  - { tier: small, size_gb: 20, monthly_price: 5 }
  - { tier: medium, size_gb: 150, monthly_price: 25 }
  - { tier: large, size_gb: 1000, monthly_price: 100 }
"#;

    #[test]
    fn yaml_seed_equals_built_in_seed() {
        assert_eq!(parse_catalog(SEED_YAML).unwrap(), Catalog::seed());
    }

    #[test]
    fn bad_files_say_where() {
        let err = parse_catalog("hardware:\n  - { id: x, vcpu: two }\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::CatalogSyntax {
                    location: Some((2, _)),
                    ..
                }
            ),
            "{err}"
        );
        let err = parse_catalog(
            "hardware:\n  - { id: x, name: X, vcpu: 1, memory_gb: 1, disk_gb: 1, hourly_price: cheap }\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("`cheap` is not a decimal price"),
            "{err}"
        );
        let err = parse_catalog(
            "hardware: []\nstorage:\n  - { tier: huge, size_gb: 1, monthly_price: 1 }\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("huge"), "{err}");
    }

    #[test]
    fn prices_keep_every_written_digit() {
        let c = parse_catalog(
            "hardware:\n  - { id: cpu-upgrade, name: U, vcpu: 8, memory_gb: 32, disk_gb: 50, hourly_price: 0.1000000000000000055511 }\n  - { id: t4-small, name: T, vcpu: 4, memory_gb: 15, disk_gb: 50, hourly_price: 1234567.8901234567 }\n  - { id: t4-medium, name: M, vcpu: 8, memory_gb: 30, disk_gb: 100, hourly_price: \"0.30000000000000000004\" }\n  - { id: a10g-small, name: S, vcpu: 4, memory_gb: 15, disk_gb: 110, hourly_price: 1.5e2 }\nstorage:\n  - { tier: small, size_gb: 20, monthly_price: 9007199254740993 }\n  - { tier: medium, size_gb: 150, monthly_price: 25.000000000000000001 }\n",
        )
        .unwrap();
        let hourly = |id: &str| c.require_flavor(id).unwrap().hourly_price.to_string();
        // An f64 reads these as 0.1, 1234567.8901234567 (rounded: ...4567 is 1234567.890123457
        // at 16 digits), 0.30000000000000004 and 9007199254740992.
        assert_eq!(hourly("cpu-upgrade"), "0.1000000000000000055511");
        assert_eq!(hourly("t4-small"), "1234567.8901234567");
        assert_eq!(hourly("t4-medium"), "0.30000000000000000004");
        assert_eq!(hourly("a10g-small"), "150");
        let monthly = |t: StorageTier| c.storage_tier(t).unwrap().monthly_price.to_string();
        assert_eq!(monthly(StorageTier::Small), "9007199254740993");
        assert_eq!(monthly(StorageTier::Medium), "25.000000000000000001");
    }

    #[test]
    fn prices_that_are_not_decimals_are_refused() {
        for bad in [
            "cheap", "0x10", ".inf", ".nan", "~", "[1]", "{ a: 1 }", "-1",
        ] {
            let yaml = format!(
                "hardware:\n  - {{ id: x, name: X, vcpu: 1, memory_gb: 1, disk_gb: 1, hourly_price: {bad} }}\n"
            );
            assert!(parse_catalog(&yaml).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_flavor_ids_are_kept() {
        let c = parse_catalog(
            "hardware:\n  - { id: h200x8, name: H200, vcpu: 96, memory_gb: 1000, disk_gb: 1000, gpu: { model: H200, count: 8, memory_gb: 141 }, hourly_price: \"40\" }\n",
        )
        .unwrap();
        let h = c.require_flavor("h200x8").unwrap();
        assert!(!h.id.is_known());
        assert_eq!(h.gpu.as_ref().unwrap().model.as_str(), "H200");
    }
}
