//! Persistent storage: tiers and the upgrade-only rule.
//!
//! A tier can be raised at any time and never lowered. To get a smaller tier the owner deletes the
//! storage first, which loses its data; deleting takes a [`DataLossAck`] so that no code path deletes
//! by accident.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::error::Error;

/// A persistent storage tier, mounted at `/data`. Ordered by size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum StorageTier {
    /// 20 GB in the seed catalog.
    Small,
    /// 150 GB in the seed catalog.
    Medium,
    /// 1 TB in the seed catalog.
    Large,
}

impl StorageTier {
    /// Every tier, smallest first.
    pub const ALL: [StorageTier; 3] = [StorageTier::Small, StorageTier::Medium, StorageTier::Large];

    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            StorageTier::Small => "small",
            StorageTier::Medium => "medium",
            StorageTier::Large => "large",
        }
    }
}

impl fmt::Display for StorageTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StorageTier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        StorageTier::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::UnknownStorageTier {
                input: s.to_owned(),
            })
    }
}

/// A storage tier's size and monthly price.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StorageSpec {
    /// The tier.
    pub tier: StorageTier,
    /// Size in GB (1 TB = 1000 GB).
    pub size_gb: u32,
    /// Price per calendar month, in USD.
    #[cfg_attr(feature = "serde", serde(with = "rust_decimal::serde::str"))]
    pub monthly_price: Decimal,
}

/// The owner's explicit acknowledgement that deleting persistent storage loses all its data.
///
/// There is no `Default`: the only way to get one is to say it.
///
/// ```
/// use spaces_core::DataLossAck;
/// let ack = DataLossAck::i_understand_all_data_is_lost();
/// # let _ = ack;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataLossAck(());

impl DataLossAck {
    /// Acknowledges that deleting the storage deletes everything under `/data`, for good.
    pub const fn i_understand_all_data_is_lost() -> Self {
        DataLossAck(())
    }
}

/// What a storage request does to the held tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageChange {
    /// No tier was held; this one is attached.
    Attach(StorageTier),
    /// The held tier is raised.
    Upgrade {
        /// The tier held before.
        from: StorageTier,
        /// The new, larger tier.
        to: StorageTier,
    },
    /// The same tier is requested again: nothing changes.
    Unchanged(StorageTier),
}

impl StorageChange {
    /// The tier held after the change.
    pub fn tier(self) -> StorageTier {
        match self {
            StorageChange::Attach(t) | StorageChange::Unchanged(t) => t,
            StorageChange::Upgrade { to, .. } => to,
        }
    }
}

/// The upgrade-only rule: what requesting `requested` does when `held` is held.
///
/// ```
/// use spaces_core::{storage_request, StorageChange, StorageTier::*};
/// assert_eq!(storage_request(Some(Small), Large).unwrap(), StorageChange::Upgrade { from: Small, to: Large });
/// let refused = storage_request(Some(Large), Small).unwrap_err();
/// assert!(refused.to_string().contains("delete"));
/// ```
pub fn storage_request(
    held: Option<StorageTier>,
    requested: StorageTier,
) -> Result<StorageChange, Error> {
    match held {
        None => Ok(StorageChange::Attach(requested)),
        Some(h) if h == requested => Ok(StorageChange::Unchanged(h)),
        Some(h) if requested > h => Ok(StorageChange::Upgrade {
            from: h,
            to: requested,
        }),
        Some(h) => Err(Error::StorageDowngrade { held: h, requested }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StorageTier::*;

    #[test]
    fn upgrade_only() {
        assert_eq!(
            storage_request(None, Medium).unwrap(),
            StorageChange::Attach(Medium)
        );
        assert_eq!(
            storage_request(Some(Medium), Medium).unwrap(),
            StorageChange::Unchanged(Medium)
        );
        assert_eq!(
            storage_request(Some(Small), Medium).unwrap(),
            StorageChange::Upgrade {
                from: Small,
                to: Medium
            }
        );
        let err = storage_request(Some(Large), Medium).unwrap_err();
        assert_eq!(
            err,
            Error::StorageDowngrade {
                held: Large,
                requested: Medium
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("delete"), "{msg}");
        assert!(msg.contains("loses"), "{msg}");
    }

    #[test]
    fn tiers_parse() {
        for t in StorageTier::ALL {
            assert_eq!(t.as_str().parse::<StorageTier>().unwrap(), t);
        }
        assert!("huge".parse::<StorageTier>().is_err());
    }
}
