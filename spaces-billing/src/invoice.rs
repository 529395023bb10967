//! Invoices: lines per (space, item), amounts rounded once per line, and their JSON.

use std::cmp::Ordering;
use std::fmt;

use rust_decimal::Decimal;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use spaces_core::{Flavor, SpaceId, StorageTier};

use crate::period::Period;

/// The currency of every amount.
pub const CURRENCY: &str = "USD";

/// What an invoice line charges for. Displays as `hardware/<flavor>`, `storage/<tier>` or
/// `grant/community-gpu`; ordered by that text, byte by byte.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// Minutes of a hardware flavor.
    Hardware(Flavor),
    /// Minutes of a storage tier.
    Storage(StorageTier),
    /// A community GPU grant (negative amount), see [`Grant`](crate::Grant).
    Grant,
}

impl Item {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Item::Grant => ("grant/", "community-gpu"),
            Item::Hardware(f) => ("hardware/", f.as_str()),
            Item::Storage(t) => ("storage/", t.as_str()),
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, name) = self.parts();
        write!(f, "{prefix}{name}")
    }
}

impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.parts(), other.parts());
        a.0.as_bytes()
            .iter()
            .chain(a.1.as_bytes())
            .cmp(b.0.as_bytes().iter().chain(b.1.as_bytes()))
    }
}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Minutes billed to one (space, item) in a window.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Usage {
    /// The Space.
    pub space: SpaceId,
    /// The item.
    pub item: Item,
    /// Minutes billed to it.
    pub minutes: u64,
}

/// One line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InvoiceLine {
    /// The Space.
    pub space: SpaceId,
    /// The item.
    pub item: Item,
    /// Minutes billed (for a grant: the hardware minutes it covers).
    pub minutes: u64,
    /// The amount, rounded to cents (scale 2); negative for a grant.
    pub amount: Decimal,
}

/// An invoice for one calendar month (billing.md, "Invoice (JSON)").
///
/// Lines are sorted by space id, then item, byte by byte; the total is the sum of the rounded
/// lines. [`Invoice::to_json`] writes the JSON of billing.md, amounts as strings with two decimals.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Invoice {
    /// The month billed.
    pub period: Period,
    /// The lines.
    pub lines: Vec<InvoiceLine>,
    /// The sum of the lines (scale 2).
    pub total: Decimal,
}

impl Invoice {
    /// The invoice as one line of JSON.
    pub fn to_json(&self) -> String {
        // Serializing strings and integers to a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The lines of one Space.
    pub fn lines_of<'a>(
        &'a self,
        space: &'a SpaceId,
    ) -> impl Iterator<Item = &'a InvoiceLine> + 'a {
        self.lines.iter().filter(move |l| &l.space == space)
    }

    /// The sum of one Space's lines.
    pub fn total_of(&self, space: &SpaceId) -> Decimal {
        self.lines_of(space)
            .map(|l| l.amount)
            .sum::<Decimal>()
            .round_dp(2)
    }
}

/// `amount` with exactly two decimals.
fn money(amount: Decimal) -> String {
    let mut a = amount;
    a.rescale(2);
    if a.is_zero() {
        a.set_sign_positive(true);
    }
    a.to_string()
}

impl Serialize for InvoiceLine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("InvoiceLine", 4)?;
        st.serialize_field("space", self.space.as_str())?;
        st.serialize_field("item", &self.item.to_string())?;
        st.serialize_field("minutes", &self.minutes)?;
        st.serialize_field("amount", &money(self.amount))?;
        st.end()
    }
}

impl Serialize for Invoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Invoice", 4)?;
        st.serialize_field("period", &self.period.to_string())?;
        st.serialize_field("currency", CURRENCY)?;
        st.serialize_field("lines", &self.lines)?;
        st.serialize_field("total", &money(self.total))?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_sort_by_their_text() {
        let mut items = [
            Item::Storage(StorageTier::Small),
            Item::Hardware(Flavor::T4Small),
            Item::Storage(StorageTier::Large),
            Item::Grant,
            Item::Hardware(Flavor::A100Large),
            Item::Hardware(Flavor::CpuBasic),
        ];
        items.sort();
        let text: Vec<String> = items.iter().map(ToString::to_string).collect();
        let mut sorted = text.clone();
        sorted.sort();
        assert_eq!(text, sorted);
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(Decimal::new(5, 0)), "5.00");
        assert_eq!(money(Decimal::new(9, 2)), "0.09");
        assert_eq!(money(-Decimal::ZERO), "0.00");
        assert_eq!(money(Decimal::new(-125, 2)), "-1.25");
    }
}
