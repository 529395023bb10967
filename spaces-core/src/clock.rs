//! Time, injected: every place that needs "now" takes a [`Clock`].
//!
//! [`SystemClock`] reads the system time; [`ManualClock`] is moved by hand, for tests, simulations
//! and the quickstart. Instants are [`jiff::Timestamp`]s (UTC, nanosecond precision).

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// A source of the current time. Object-safe: hold it as `Arc<dyn Clock>`.
pub trait Clock: Send + Sync + Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to.
///
/// ```
/// use std::time::Duration;
/// use spaces_core::{Clock, ManualClock};
/// let clock = ManualClock::new("2026-11-01T00:00:00Z".parse().unwrap());
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now().to_string(), "2026-11-01T00:01:30Z");
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward by `by`. Saturates at the largest representable instant.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = add(*now, by);
    }

    /// Sets the clock to `to` (which may be earlier: a test may want that).
    pub fn set(&self, to: Timestamp) {
        *self.lock() = to;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A poisoned lock only means another thread panicked mid-`advance`; the value is a plain
        // instant and still valid.
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

/// `t + d`, saturating at [`Timestamp::MAX`].
pub fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// The time from `earlier` to `later`, zero when `later` is not after `earlier`.
pub fn elapsed(earlier: Timestamp, later: Timestamp) -> Duration {
    Duration::try_from(later.duration_since(earlier)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let t0: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let c = ManualClock::new(t0);
        assert_eq!(c.now(), t0);
        c.advance(Duration::from_secs(3600));
        assert_eq!(elapsed(t0, c.now()), Duration::from_secs(3600));
        assert_eq!(elapsed(c.now(), t0), Duration::ZERO);
        c.set(t0);
        assert_eq!(c.now(), t0);
    }
}
