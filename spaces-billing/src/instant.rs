//! Instants cut into UTC minutes: the only time representation the rating engine works with.
//!
//! A [`jiff::Timestamp`] is converted once, when an event is read, into the minute that contains
//! it and the nanoseconds past that minute's start. Comparing two instants is then a comparison
//! of integers, and "the minutes an interval touches" needs no division.

use jiff::Timestamp;

/// Nanoseconds in one minute.
pub(crate) const NANOS_PER_MINUTE: i128 = 60_000_000_000;

/// An instant: the UTC minute containing it (minutes since the Unix epoch, floor) and the
/// nanoseconds elapsed since that minute began (`0 ..= 59_999_999_999`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Instant {
    /// The minute containing the instant.
    pub(crate) minute: i64,
    /// Nanoseconds past the minute's start.
    pub(crate) nanos: u64,
}

impl Instant {
    /// The start of a minute.
    pub(crate) const fn at_minute(minute: i64) -> Self {
        Instant { minute, nanos: 0 }
    }

    /// Converts a timestamp.
    pub(crate) fn from_timestamp(ts: Timestamp) -> Self {
        let ns = ts.as_nanosecond();
        // |ns| < 4e20 for every jiff timestamp, so the minute fits an i64 and the remainder a u64.
        let minute = ns.div_euclid(NANOS_PER_MINUTE) as i64;
        let nanos = ns.rem_euclid(NANOS_PER_MINUTE) as u64;
        Instant { minute, nanos }
    }

    /// The first minute boundary at or after this instant, as a minute number.
    #[inline]
    pub(crate) const fn ceil_minute(self) -> i64 {
        if self.nanos == 0 {
            self.minute
        } else {
            self.minute + 1
        }
    }
}

/// The timestamp of the start of a minute (saturating at jiff's range, which valid periods and
/// windows never reach).
pub(crate) fn minute_to_timestamp(minute: i64) -> Timestamp {
    let seconds = minute.saturating_mul(60);
    Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_split_into_minute_and_nanos() {
        let t: Timestamp = "2026-11-01T00:01:30.5Z".parse().unwrap();
        let i = Instant::from_timestamp(t);
        let m0 = Instant::from_timestamp("2026-11-01T00:00:00Z".parse().unwrap()).minute;
        assert_eq!(i.minute, m0 + 1);
        assert_eq!(i.nanos, 30_500_000_000);
        assert_eq!(i.ceil_minute(), m0 + 2);
        let before_epoch = Instant::from_timestamp("1969-12-31T23:59:59Z".parse().unwrap());
        assert_eq!(
            before_epoch,
            Instant {
                minute: -1,
                nanos: 59_000_000_000
            }
        );
        assert_eq!(minute_to_timestamp(m0).to_string(), "2026-11-01T00:00:00Z");
    }
}
