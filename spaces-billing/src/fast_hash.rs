//! The hasher of the validation maps (Space ids, event ids): rustc-hash's Fx hash, seeded per
//! map from the standard library's random keys.
//!
//! SipHash dominated validating large logs; Fx is several times faster on short strings. A log is
//! user input, so the seed is random: the table layout cannot be predicted from outside the
//! process.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

pub(crate) use rustc_hash::FxSeededState as FastHash;

/// A fresh, randomly seeded Fx hash builder.
pub(crate) fn seeded() -> FastHash {
    // Truncating the 64-bit random value on 32-bit targets still leaves a random seed.
    FastHash::with_seed(RandomState::new().hash_one(0x5eed_u64) as usize)
}
