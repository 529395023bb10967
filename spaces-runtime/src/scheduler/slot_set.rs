//! A set of small integers (host slots) with O(log₆₄ n) insert, remove and lowest member.
//!
//! Level 0 is a plain bitset, one bit per slot. Each level above has one bit per word of the
//! level below, set when that word is not zero; the top level is a single word. Finding the lowest
//! member walks down from the top with one `trailing_zeros` per level: 3 levels cover 262,144
//! slots, 4 levels 16.7 million.

/// A set of slots; see the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct SlotSet {
    /// `levels[0]` holds one bit per slot; the last level is a single word.
    levels: Vec<Vec<u64>>,
}

impl Default for SlotSet {
    fn default() -> Self {
        Self {
            levels: vec![vec![0]],
        }
    }
}

impl SlotSet {
    /// Makes room for slots `0..n` (amortised: capacity at least doubles on growth).
    pub(crate) fn ensure(&mut self, n: usize) {
        let have = self.levels.first().map_or(0, Vec::len);
        if n <= have * 64 {
            return;
        }
        let words = n.div_ceil(64).max(have * 2);
        let mut leaves = std::mem::take(&mut self.levels)
            .into_iter()
            .next()
            .unwrap_or_default();
        leaves.resize(words, 0);
        self.rebuild(leaves);
    }

    fn rebuild(&mut self, leaves: Vec<u64>) {
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let mut up = vec![0u64; below.len().div_ceil(64)];
            for (i, w) in below.iter().enumerate() {
                if *w != 0 {
                    if let Some(u) = up.get_mut(i / 64) {
                        *u |= 1 << (i % 64);
                    }
                }
            }
            levels.push(up);
        }
        self.levels = levels;
    }

    /// Whether `slot` is in the set.
    #[inline]
    pub(crate) fn contains(&self, slot: u32) -> bool {
        let i = slot as usize;
        self.levels
            .first()
            .and_then(|l| l.get(i / 64))
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Puts `slot` in the set (if `member`) or takes it out. Slots beyond the capacity made by
    /// [`SlotSet::ensure`] are ignored.
    #[inline]
    pub(crate) fn set(&mut self, slot: u32, member: bool) {
        if self.contains(slot) == member {
            return;
        }
        let mut i = slot as usize;
        for level in &mut self.levels {
            let Some(word) = level.get_mut(i / 64) else {
                return;
            };
            let before = *word;
            if member {
                *word |= 1 << (i % 64);
                if before != 0 {
                    return; // the bit above is already set
                }
            } else {
                *word &= !(1 << (i % 64));
                if *word != 0 {
                    return; // the word still has members: the bit above stays
                }
            }
            i /= 64;
        }
    }

    /// The lowest slot in the set.
    #[inline]
    pub(crate) fn first(&self) -> Option<u32> {
        let mut i = 0usize;
        for level in self.levels.iter().rev() {
            let word = *level.get(i)?;
            if word == 0 {
                return None;
            }
            i = i * 64 + word.trailing_zeros() as usize;
        }
        u32::try_from(i).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn matches_a_btreeset() {
        let mut set = SlotSet::default();
        let mut model = BTreeSet::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for n in 1..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            set.ensure(n as usize);
            let slot = (x % u64::from(n)) as u32;
            let member = x % 3 != 0;
            set.set(slot, member);
            if member {
                model.insert(slot);
            } else {
                model.remove(&slot);
            }
            assert_eq!(set.first(), model.first().copied(), "after {n} steps");
            assert_eq!(set.contains(slot), member);
        }
        // three levels at this size
        assert!(set.levels.len() >= 3);
    }

    #[test]
    fn empty_and_out_of_range() {
        let mut set = SlotSet::default();
        assert_eq!(set.first(), None);
        set.set(1000, true); // beyond capacity: ignored
        assert_eq!(set.first(), None);
        set.ensure(1001);
        set.set(1000, true);
        set.set(7, true);
        assert_eq!(set.first(), Some(7));
        set.set(7, false);
        assert_eq!(set.first(), Some(1000));
        set.set(1000, false);
        assert_eq!(set.first(), None);
    }
}
