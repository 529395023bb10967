//! `startup_duration_timeout`: durations written `30m`, `1h`, `1h30m`, `90s`.

use std::fmt;
use std::time::Duration;

/// How long an app may take to become healthy before the Space is flagged as failed.
///
/// ```
/// use spaces_config::StartupTimeout;
/// let t = StartupTimeout::parse("1h30m").unwrap();
/// assert_eq!(t.as_duration().as_secs(), 5400);
/// assert_eq!(t.to_string(), "1h30m");
/// assert_eq!(StartupTimeout::DEFAULT.to_string(), "30m");
/// assert!(StartupTimeout::parse("30 minutes").is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StartupTimeout {
    seconds: u64,
}

impl StartupTimeout {
    /// 30 minutes, used when the key is not set.
    pub const DEFAULT: StartupTimeout = StartupTimeout { seconds: 30 * 60 };

    /// What a duration looks like, for messages.
    pub const EXPECTED: &'static str =
        "a duration such as 30m, 1h or 1h30m (hours `h`, minutes `m`, seconds `s`, in that order)";

    /// Reads `[Nh][Nm][Ns]` (at least one part, units in that order, total above zero).
    pub fn parse(s: &str) -> Option<StartupTimeout> {
        let mut rest = s;
        let mut seconds: u64 = 0;
        let mut last_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            let n: u64 = rest[..digits].parse().ok()?;
            let (rank, scale) = match rest.as_bytes().get(digits)? {
                b'h' => (1, 3600),
                b'm' => (2, 60),
                b's' => (3, 1),
                _ => return None,
            };
            if rank <= last_unit {
                return None;
            }
            last_unit = rank;
            seconds = seconds.checked_add(n.checked_mul(scale)?)?;
            rest = &rest[digits + 1..];
        }
        (seconds > 0).then_some(StartupTimeout { seconds })
    }

    /// A timeout of whole seconds (`None` for zero).
    pub fn from_secs(seconds: u64) -> Option<StartupTimeout> {
        (seconds > 0).then_some(StartupTimeout { seconds })
    }

    /// The duration.
    pub fn as_duration(self) -> Duration {
        Duration::from_secs(self.seconds)
    }
}

impl fmt::Display for StartupTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (
            self.seconds / 3600,
            self.seconds % 3600 / 60,
            self.seconds % 60,
        );
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (s, secs) in [
            ("30m", 1800),
            ("1h", 3600),
            ("1h30m", 5400),
            ("90s", 90),
            ("2h0m5s", 7205),
        ] {
            assert_eq!(StartupTimeout::parse(s).unwrap().seconds, secs, "{s}");
        }
        for bad in [
            "",
            "0m",
            "30",
            "m",
            "30m1h",
            "1h1h",
            "1.5h",
            "30 m",
            "-5m",
            "1d",
            "99999999999h",
        ] {
            assert!(StartupTimeout::parse(bad).is_none(), "{bad}");
        }
        let t = StartupTimeout::parse("90m").unwrap();
        assert_eq!(t.to_string(), "1h30m");
        assert_eq!(StartupTimeout::parse(&t.to_string()), Some(t));
    }
}
