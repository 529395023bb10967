//! The catalog resolved once for rating: flavors by index, their "dearest first" ranks, and prices
//! as exact integers so that a line amount is one integer division, rounded half away from zero.

use std::collections::HashMap;

use rust_decimal::Decimal;
use spaces_core::{Catalog, Flavor, StorageTier};

/// A non-negative price as `mantissa × 10^-scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Price {
    mantissa: i128,
    scale: u32,
}

impl Price {
    fn new(d: Decimal) -> Self {
        Price {
            mantissa: d.mantissa(),
            scale: d.scale(),
        }
    }

    /// `minutes × price ÷ per`, in cents, rounded once, half away from zero; `None` on overflow.
    pub(crate) fn cents(self, minutes: u64, per: u64) -> Option<i128> {
        let numerator = i128::from(minutes)
            .checked_mul(self.mantissa)?
            .checked_mul(100)?;
        let denominator = i128::from(per).checked_mul(10i128.checked_pow(self.scale)?)?;
        round_half_away(numerator, denominator)
    }
}

/// `n ÷ d` rounded to the nearest integer, halves away from zero (`d > 0`).
fn round_half_away(n: i128, d: i128) -> Option<i128> {
    if d <= 0 {
        return None;
    }
    let q = n / d;
    let r = n % d;
    let twice = r.checked_abs()?.checked_mul(2)?;
    Some(if twice >= d { q + n.signum() } else { q })
}

/// One flavor as rating sees it.
#[derive(Clone, Debug)]
pub(crate) struct FlavorPrice {
    pub(crate) id: Flavor,
    pub(crate) price: Price,
}

/// The catalog, resolved for rating.
///
/// Flavors are numbered by *rank*: rank 0 is the dearest (highest hourly price, ties to the
/// smaller id by byte order), so "the dearest flavor wins the minute" is `min` on ranks.
/// Storage tiers are ranked the same way: rank 0 is the largest tier.
#[derive(Clone, Debug)]
pub(crate) struct PriceTable {
    /// By rank.
    pub(crate) flavors: Vec<FlavorPrice>,
    by_id: HashMap<Flavor, u32>,
    /// The rank of `cpu-basic`, every Space's flavor before its first hardware event.
    pub(crate) default_flavor: u32,
    /// Monthly price by storage rank (0: large, 1: medium, 2: small); `None`: not offered.
    pub(crate) storage: [Option<Price>; 3],
    /// Flavor ranks in the byte order of their ids (the order of invoice lines).
    pub(crate) flavors_by_id: Vec<u32>,
}

/// The storage rank of a tier: 0 for the largest.
pub(crate) const fn storage_rank(tier: StorageTier) -> u8 {
    match tier {
        StorageTier::Large => 0,
        StorageTier::Medium => 1,
        StorageTier::Small => 2,
    }
}

/// The tier of a storage rank.
pub(crate) const fn rank_tier(rank: usize) -> StorageTier {
    match rank {
        0 => StorageTier::Large,
        1 => StorageTier::Medium,
        _ => StorageTier::Small,
    }
}

/// Storage ranks in the byte order of the tier names (`large`, `medium`, `small`).
pub(crate) const STORAGE_RANKS_BY_NAME: [usize; 3] = [0, 1, 2];

impl PriceTable {
    /// Resolves a catalog. A catalog without `cpu-basic` gets it implicitly, free, because every
    /// Space runs on it until its first hardware event.
    pub(crate) fn new(catalog: &Catalog) -> Self {
        let mut all: Vec<(Flavor, Decimal)> = catalog
            .hardware()
            .iter()
            .map(|h| (h.id.clone(), h.hourly_price))
            .collect();
        if !all.iter().any(|(id, _)| *id == Flavor::FREE) {
            all.push((Flavor::FREE, Decimal::ZERO));
        }
        all.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.as_str().as_bytes().cmp(b.0.as_str().as_bytes()))
        });
        let flavors: Vec<FlavorPrice> = all
            .into_iter()
            .map(|(id, p)| FlavorPrice {
                id,
                price: Price::new(p),
            })
            .collect();
        let by_id: HashMap<Flavor, u32> = flavors
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), i as u32))
            .collect();
        let default_flavor = by_id.get(&Flavor::FREE).copied().unwrap_or(0);
        let mut flavors_by_id: Vec<u32> = (0..flavors.len() as u32).collect();
        flavors_by_id.sort_by(|&a, &b| {
            flavors[a as usize]
                .id
                .as_str()
                .as_bytes()
                .cmp(flavors[b as usize].id.as_str().as_bytes())
        });
        let mut storage = [None; 3];
        for s in catalog.storage() {
            storage[usize::from(storage_rank(s.tier))] = Some(Price::new(s.monthly_price));
        }
        PriceTable {
            flavors,
            by_id,
            default_flavor,
            storage,
            flavors_by_id,
        }
    }

    /// The rank of an offered flavor.
    pub(crate) fn flavor_rank(&self, id: &Flavor) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    /// Whether the catalog offers a storage tier.
    pub(crate) fn offers_tier(&self, tier: StorageTier) -> bool {
        self.storage[usize::from(storage_rank(tier))].is_some()
    }

    /// The offered flavor ids, comma-separated, in catalog-rank order (for error messages).
    pub(crate) fn offered(&self) -> String {
        let mut ids: Vec<&str> = self.flavors.iter().map(|f| f.id.as_str()).collect();
        ids.sort_unstable();
        ids.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_half_away(5, 10), Some(1));
        assert_eq!(round_half_away(4, 10), Some(0));
        assert_eq!(round_half_away(-5, 10), Some(-1));
        assert_eq!(round_half_away(15, 10), Some(2));
        assert_eq!(round_half_away(14, 10), Some(1));
        // 91 minutes of t4-small (0.06/h) = 0.091 -> 0.09
        let t4 = Price::new(Decimal::new(6, 2));
        assert_eq!(t4.cents(91, 60), Some(9));
        // 25 minutes of 0.06/h = 0.025 -> 0.03
        assert_eq!(t4.cents(25, 60), Some(3));
        let small = Price::new(Decimal::new(5, 0));
        assert_eq!(small.cents(43_200, 43_200), Some(500));
    }

    #[test]
    fn ranks_are_dearest_first_ties_by_id() {
        let t = PriceTable::new(&Catalog::seed());
        let ids: Vec<&str> = t.flavors.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "a100-large",
                "a10g-large",
                "a10g-small",
                "t4-medium",
                "t4-small",
                "cpu-upgrade",
                "cpu-basic"
            ]
        );
        assert_eq!(t.default_flavor, 6);
        let by_id: Vec<&str> = t
            .flavors_by_id
            .iter()
            .map(|&r| t.flavors[r as usize].id.as_str())
            .collect();
        let mut sorted = by_id.clone();
        sorted.sort_unstable();
        assert_eq!(by_id, sorted);
    }
}
