//! The rating engine: the minutes billed per item for one Space in one window, by interval
//! arithmetic over the Space's events (never by walking minutes).
//!
//! A Space's events cut time into segments of constant state. A billable segment `[a, b)` touches
//! the minutes `a.minute ..= ceil(b) - 1`. Segments of one Space never overlap, so only the *last*
//! minute touched by one segment can also be touched by a later one; a [`Tracker`] therefore keeps
//! that minute pending, with the best rank seen in it (for hardware: the dearest flavor; for
//! storage: the largest tier), until a segment starts in a later minute. Each event is handled in
//! constant time.

use crate::instant::Instant;

/// A state change, resolved against the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// A stage other than `DELETING`: whether hardware is billable in it.
    Stage {
        /// Whether the stage is billable.
        billable: bool,
    },
    /// `DELETING`: not billable, and the storage is deleted.
    Deleting,
    /// A hardware flavor, by rank.
    Flavor(u32),
    /// A storage tier, by storage rank (0: largest), or `None`: deleted.
    Storage(Option<u8>),
}

/// An event of one Space, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ev {
    pub(crate) at: Instant,
    pub(crate) op: Op,
}

/// Minutes counted per rank, with the last touched minute still pending.
struct Tracker {
    /// The pending minute, if any.
    minute: i64,
    /// Its best (smallest) rank so far; `u32::MAX`: nothing pending.
    rank: u32,
}

impl Tracker {
    const NONE: u32 = u32::MAX;

    fn new() -> Self {
        Tracker {
            minute: 0,
            rank: Self::NONE,
        }
    }

    /// Counts the minutes `first .. end` (`first < end`) touched by a segment of rank `rank`.
    #[inline]
    fn add(&mut self, mut first: i64, end: i64, rank: u32, counts: &mut [u64]) {
        if self.rank != Self::NONE {
            if self.minute == first {
                let best = self.rank.min(rank);
                if end == first + 1 {
                    self.rank = best;
                    return;
                }
                bump(counts, best, 1);
                first += 1;
            } else {
                bump(counts, self.rank, 1);
            }
        }
        bump(counts, rank, (end - 1 - first).unsigned_abs());
        self.minute = end - 1;
        self.rank = rank;
    }

    /// Counts the pending minute.
    #[inline]
    fn finish(self, counts: &mut [u64]) {
        if self.rank != Self::NONE {
            bump(counts, self.rank, 1);
        }
    }
}

#[inline]
fn bump(counts: &mut [u64], rank: u32, by: u64) {
    if let Some(c) = counts.get_mut(rank as usize) {
        *c += by;
    }
}

/// Adds to `hardware` (by flavor rank) and `storage` (by storage rank) the minutes billed in the
/// window `[w0, w1)` (minutes since the epoch) for one Space whose events, in time order, are
/// `events`. `default_flavor` is the rank of the flavor before any hardware event.
pub(crate) fn rate_space(
    events: &[Ev],
    default_flavor: u32,
    (w0, w1): (i64, i64),
    hardware: &mut [u64],
    storage: &mut [u64; 3],
) {
    if w0 >= w1 {
        return;
    }
    let (start, end) = (Instant::at_minute(w0), Instant::at_minute(w1));
    let mut billable = false;
    let mut flavor = default_flavor;
    let mut tier: Option<u8> = None;
    let mut hw = Tracker::new();
    let mut st = Tracker::new();
    let Some(first) = events.first() else {
        return;
    };
    let mut from = first.at;
    let mut segment = |a: Instant, b: Instant, billable: bool, flavor: u32, tier: Option<u8>| {
        let a = a.max(start);
        let b = b.min(end);
        if a < b && (billable || tier.is_some()) {
            let (m0, m1) = (a.minute, b.ceil_minute());
            if billable {
                hw.add(m0, m1, flavor, hardware);
            }
            if let Some(t) = tier {
                st.add(m0, m1, u32::from(t), storage);
            }
        }
    };
    for ev in events {
        if ev.at > from {
            segment(from, ev.at, billable, flavor, tier);
            if ev.at >= end {
                // Later events cannot change minutes inside the window.
                from = end;
                break;
            }
            from = ev.at;
        }
        match ev.op {
            Op::Stage { billable: b } => billable = b,
            Op::Deleting => {
                billable = false;
                tier = None;
            }
            Op::Flavor(f) => flavor = f,
            Op::Storage(t) => tier = t,
        }
    }
    if from < end {
        segment(from, end, billable, flavor, tier);
    }
    hw.finish(hardware);
    st.finish(storage);
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn at(minute: i64, secs: u64) -> Instant {
        Instant {
            minute,
            nanos: secs * S,
        }
    }

    fn run(events: &[Ev], w: (i64, i64)) -> (Vec<u64>, [u64; 3]) {
        let mut hw = vec![0; 4];
        let mut st = [0; 3];
        rate_space(events, 3, w, &mut hw, &mut st);
        (hw, st)
    }

    #[test]
    fn partial_minutes_count_once() {
        // Running 10:00:30 .. 10:02:10 on rank 1: minutes 0, 1, 2.
        let ev = [
            Ev {
                at: at(0, 0),
                op: Op::Flavor(1),
            },
            Ev {
                at: at(0, 30),
                op: Op::Stage { billable: true },
            },
            Ev {
                at: at(2, 10),
                op: Op::Stage { billable: false },
            },
        ];
        assert_eq!(run(&ev, (0, 10)).0, vec![0, 3, 0, 0]);
        assert_eq!(run(&ev, (1, 2)).0, vec![0, 1, 0, 0]);
        assert_eq!(run(&ev, (2, 3)).0, vec![0, 1, 0, 0]);
        assert_eq!(run(&ev, (3, 10)).0, vec![0, 0, 0, 0]);
    }

    #[test]
    fn dearest_flavor_wins_a_shared_minute() {
        // rank 2 until 00:20, rank 0 from 00:20 to 01:40, rank 2 again after; stop at 03:00.
        let ev = [
            Ev {
                at: at(0, 0),
                op: Op::Flavor(2),
            },
            Ev {
                at: at(0, 0),
                op: Op::Stage { billable: true },
            },
            Ev {
                at: at(0, 20),
                op: Op::Flavor(0),
            },
            Ev {
                at: at(1, 40),
                op: Op::Flavor(2),
            },
            Ev {
                at: at(3, 0),
                op: Op::Stage { billable: false },
            },
        ];
        assert_eq!(run(&ev, (0, 10)).0, vec![2, 0, 1, 0]);
        // A gap inside a minute still lets both pieces compete.
        let ev = [
            Ev {
                at: at(5, 0),
                op: Op::Stage { billable: true },
            },
            Ev {
                at: at(5, 10),
                op: Op::Stage { billable: false },
            },
            Ev {
                at: at(5, 20),
                op: Op::Flavor(0),
            },
            Ev {
                at: at(5, 30),
                op: Op::Stage { billable: true },
            },
            Ev {
                at: at(5, 40),
                op: Op::Stage { billable: false },
            },
        ];
        assert_eq!(run(&ev, (0, 10)).0, vec![1, 0, 0, 0]);
    }

    #[test]
    fn storage_takes_the_largest_tier_and_deleting_drops_it() {
        let ev = [
            Ev {
                at: at(0, 0),
                op: Op::Storage(Some(2)),
            },
            Ev {
                at: at(1, 30),
                op: Op::Storage(Some(0)),
            },
            Ev {
                at: at(3, 0),
                op: Op::Deleting,
            },
        ];
        assert_eq!(run(&ev, (0, 10)).1, [2, 0, 1]);
    }
}
