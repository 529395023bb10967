//! Community GPU grants: a Space's hardware charges within a window are covered.
//!
//! # The rule
//!
//! A [`Grant`] names a Space and a minute-aligned [`Window`]. On an invoice, the grants of a Space
//! are merged (overlapping or adjacent windows count once) and cut to the period. The minutes of
//! each hardware flavor billed to the Space inside the merged windows are counted exactly as the
//! invoice counts them (minutes are additive over adjacent windows); each flavor's covered minutes
//! are priced and rounded to cents exactly like a hardware line; the grant line is minus their
//! sum, capped so that it never exceeds the Space's hardware lines (it cannot: rounding is
//! monotone, but the cap is kept as a guard). Storage is never covered, so a Space's total never
//! goes below zero. The grant line's item is `grant/community-gpu`, its minutes are the covered
//! hardware minutes (of every flavor, free ones included), and it is omitted when it would be
//! `0.00`. A grant for a Space without usage adds nothing.

use spaces_core::SpaceId;

use crate::period::Window;

/// A community GPU grant: the hardware charges of `space` within `window` are covered.
///
/// ```
/// use spaces_billing::{Grant, Window};
/// let w = Window::new("2026-11-01T00:00:00Z".parse()?, "2026-11-08T00:00:00Z".parse()?)?;
/// let grant = Grant::new("alice/demo".parse()?, w);
/// assert_eq!(grant.window.minutes(), 7 * 1440);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    /// The Space whose hardware is covered.
    pub space: SpaceId,
    /// When it is covered.
    pub window: Window,
}

impl Grant {
    /// A grant covering `space`'s hardware within `window`.
    pub fn new(space: SpaceId, window: Window) -> Self {
        Grant { space, window }
    }
}

/// The union of `windows`, cut to `within`, as sorted disjoint `[start, end)` minute ranges.
pub(crate) fn merged(windows: &[Window], within: Window) -> Vec<(i64, i64)> {
    let mut ranges: Vec<(i64, i64)> = windows
        .iter()
        .map(|w| w.intersect(&within).minute_range())
        .filter(|(s, e)| s < e)
        .collect();
    ranges.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_merge_and_clip() {
        let w = |a, b| Window::from_minutes(a, b);
        assert_eq!(
            merged(
                &[w(10, 20), w(0, 5), w(15, 30), w(30, 40), w(50, 60)],
                w(2, 55)
            ),
            vec![(2, 5), (10, 40), (50, 55)]
        );
        assert!(merged(&[w(0, 5)], w(5, 10)).is_empty());
    }
}
