//! Billing periods (calendar months in UTC) and minute-aligned windows.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::error::Error;
use crate::instant::{minute_to_timestamp, Instant};

/// Minutes in a day.
const MINUTES_PER_DAY: i64 = 1440;

/// A half-open span of time `[start, end)` whose ends fall on whole UTC minutes.
///
/// ```
/// use spaces_billing::Window;
/// let w = Window::new("2026-11-01T10:00:00Z".parse()?, "2026-11-01T11:00:00Z".parse()?)?;
/// assert_eq!(w.minutes(), 60);
/// assert!(Window::new("2026-11-01T10:00:30Z".parse()?, "2026-11-01T11:00:00Z".parse()?).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    start: i64,
    end: i64,
}

impl Window {
    /// A window from `start` (inclusive) to `end` (exclusive); both must be whole UTC minutes and
    /// `start <= end`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, Error> {
        let (s, e) = (Instant::from_timestamp(start), Instant::from_timestamp(end));
        if s.nanos != 0 || e.nanos != 0 {
            return Err(Error::InvalidWindow {
                problem: format!("{start} .. {end} does not start and end on whole minutes"),
            });
        }
        if e.minute < s.minute {
            return Err(Error::InvalidWindow {
                problem: format!("{end} is before {start}"),
            });
        }
        Ok(Window {
            start: s.minute,
            end: e.minute,
        })
    }

    /// A window given in minutes since the Unix epoch (empty if `end < start`).
    pub(crate) fn from_minutes(start: i64, end: i64) -> Self {
        Window {
            start,
            end: end.max(start),
        }
    }

    /// The first instant of the window.
    pub fn start(&self) -> Timestamp {
        minute_to_timestamp(self.start)
    }

    /// The first instant after the window.
    pub fn end(&self) -> Timestamp {
        minute_to_timestamp(self.end)
    }

    /// The number of minutes in the window.
    pub fn minutes(&self) -> u64 {
        self.end.abs_diff(self.start)
    }

    /// The window's minutes since the Unix epoch, `[start, end)`.
    pub(crate) fn minute_range(&self) -> (i64, i64) {
        (self.start, self.end)
    }

    /// The part of this window that is also in `other` (possibly empty).
    pub fn intersect(&self, other: &Window) -> Window {
        Window::from_minutes(self.start.max(other.start), self.end.min(other.end))
    }
}

/// One calendar month in UTC, written `YYYY-MM`: the period of an invoice.
///
/// ```
/// use spaces_billing::Period;
/// let feb: Period = "2028-02".parse()?;
/// assert_eq!(feb.minutes(), 41_760); // a leap year
/// assert_eq!(feb.window().start().to_string(), "2028-02-01T00:00:00Z");
/// assert_eq!(feb.window().end().to_string(), "2028-03-01T00:00:00Z");
/// assert!("2028-13".parse::<Period>().is_err());
/// # Ok::<(), spaces_billing::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: u8,
}

impl Period {
    /// The month `month` (1–12) of `year` (1–9998).
    pub fn new(year: i32, month: u8) -> Result<Self, Error> {
        if !(1..=9998).contains(&year) || !(1..=12).contains(&month) {
            return Err(Error::InvalidPeriod {
                input: format!("{year:04}-{month:02}"),
            });
        }
        Ok(Period { year, month })
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The days in the month.
    pub fn days(&self) -> u32 {
        match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if is_leap(self.year) => 29,
            _ => 28,
        }
    }

    /// The minutes in the month: 40320, 41760, 43200 or 44640.
    pub fn minutes(&self) -> u64 {
        u64::from(self.days()) * 1440
    }

    /// The month as a window, from its first instant to the next month's.
    pub fn window(&self) -> Window {
        let start = days_from_civil(self.year, self.month, 1) * MINUTES_PER_DAY;
        Window::from_minutes(start, start + i64::from(self.days()) * MINUTES_PER_DAY)
    }

    /// The window of one day of the month (`day` from 1), or `None` if the month has no such day.
    pub fn day(&self, day: u32) -> Option<Window> {
        if day == 0 || day > self.days() {
            return None;
        }
        let (start, _) = self.window().minute_range();
        let s = start + i64::from(day - 1) * MINUTES_PER_DAY;
        Some(Window::from_minutes(s, s + MINUTES_PER_DAY))
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl FromStr for Period {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidPeriod {
            input: s.to_owned(),
        };
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return Err(bad());
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b[r].iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        let year = digits(0..4).ok_or_else(bad)?;
        let month = digits(5..7).ok_or_else(bad)?;
        let (Ok(year), Ok(month)) = (i32::try_from(year), u8::try_from(month)) else {
            return Err(bad());
        };
        Period::new(year, month).map_err(|_| bad())
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_lengths() {
        let minutes = |s: &str| s.parse::<Period>().unwrap().minutes();
        assert_eq!(minutes("2026-02"), 40_320);
        assert_eq!(minutes("2028-02"), 41_760);
        assert_eq!(minutes("2026-11"), 43_200);
        assert_eq!(minutes("2026-12"), 44_640);
        assert_eq!(minutes("2000-02"), 41_760);
        assert_eq!(minutes("2100-02"), 40_320);
    }

    #[test]
    fn windows_match_jiff() {
        for s in [
            "1970-01", "1969-12", "2026-11", "2026-12", "2028-02", "0001-01", "9998-12",
        ] {
            let p: Period = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
            let start: Timestamp = format!("{s}-01T00:00:00Z").parse().unwrap();
            assert_eq!(p.window().start(), start, "{s}");
            let next = p.window().end();
            assert_eq!(next.to_string().len(), "2026-12-01T00:00:00Z".len());
            assert!(next.to_string().ends_with("-01T00:00:00Z"), "{next}");
        }
    }

    #[test]
    fn bad_periods() {
        for s in [
            "2026-13", "2026-00", "2026-1", "26-11", "2026/11", "0000-01", "9999-12", "+026-11",
            "2026-11 ",
        ] {
            assert!(s.parse::<Period>().is_err(), "{s}");
        }
    }
}
