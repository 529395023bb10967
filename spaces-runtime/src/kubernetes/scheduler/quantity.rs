//! Kubernetes quantities (`500m`, `1.5Gi`, `2e3`) as whole scheduler units, rounded the safe way.
//!
//! [`crate::scheduler`] counts whole units. Here a unit is a millicore of CPU, a MiB of memory or
//! ephemeral storage, or one device of an extended resource (`nvidia.com/gpu`). A pod's request
//! is rounded **up** to whole units and a node's allocatable **down**, so whatever the scheduler
//! fits in units also fits in the exact quantities: `Σ ceil(request) ≤ floor(allocatable)`
//! implies `Σ request ≤ allocatable`.

/// Which way to round a quantity that is not a whole number of units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Towards zero (a node's allocatable).
    Down,
    /// Away from zero (a pod's request).
    Up,
}

/// The unit a quantity is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Thousandths of a CPU.
    Millicores,
    /// 2²⁰ bytes.
    Mebibytes,
    /// Whole items (devices, pods).
    Whole,
}

impl Unit {
    /// `(numerator, denominator)`: units per 1 of the quantity.
    fn ratio(self) -> (u128, u128) {
        match self {
            Unit::Millicores => (1000, 1),
            Unit::Mebibytes => (1, 1 << 20),
            Unit::Whole => (1, 1),
        }
    }
}

/// Parses a Kubernetes quantity into `unit`s, rounded as asked, saturating at `u32::MAX`.
/// Returns `None` for text that is not a quantity, and for negative quantities.
///
/// ```
/// use spaces_runtime::kubernetes::scheduler::quantity::{parse, Round, Unit};
/// assert_eq!(parse("500m", Unit::Millicores, Round::Up), Some(500));
/// assert_eq!(parse("1.5", Unit::Millicores, Round::Up), Some(1500));
/// assert_eq!(parse("0.0001", Unit::Millicores, Round::Up), Some(1));
/// assert_eq!(parse("0.0001", Unit::Millicores, Round::Down), Some(0));
/// assert_eq!(parse("1Gi", Unit::Mebibytes, Round::Down), Some(1024));
/// assert_eq!(parse("1G", Unit::Mebibytes, Round::Down), Some(953));
/// assert_eq!(parse("1G", Unit::Mebibytes, Round::Up), Some(954));
/// assert_eq!(parse("129e6", Unit::Mebibytes, Round::Up), Some(124));
/// assert_eq!(parse("8", Unit::Whole, Round::Down), Some(8));
/// assert_eq!(parse("-1", Unit::Whole, Round::Down), None);
/// assert_eq!(parse("lots", Unit::Whole, Round::Down), None);
/// ```
pub fn parse(text: &str, unit: Unit, round: Round) -> Option<u32> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    if text.starts_with('-') {
        return None;
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    // value = digits × 10^exp10 × 2^exp2
    let digits = format!("{whole}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return Some(u32::MAX);
    }
    let mantissa: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut exp10 = -i32::try_from(frac.len()).ok()?;
    let mut exp2 = 0u32;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => exp2 = 10,
        "Mi" => exp2 = 20,
        "Gi" => exp2 = 30,
        "Ti" => exp2 = 40,
        "Pi" => exp2 = 50,
        "Ei" => exp2 = 60,
        s if s.starts_with(['e', 'E']) => {
            let e: i32 = s.get(1..)?.parse().ok()?;
            exp10 = exp10.checked_add(e)?;
        }
        _ => return None,
    }
    let (unum, uden) = unit.ratio();
    let mut num = mantissa.checked_mul(unum);
    let mut den = Some(uden);
    if exp10 >= 0 {
        num = num.and_then(|n| n.checked_mul(10u128.checked_pow(exp10.unsigned_abs())?));
    } else {
        den = den.and_then(|d| d.checked_mul(10u128.checked_pow(exp10.unsigned_abs())?));
    }
    num = num.and_then(|n| n.checked_mul(1u128.checked_shl(exp2)?));
    let (Some(num), Some(den)) = (num, den) else {
        // Too large to count (or a denominator beyond 10^38: rounds to 0 or 1).
        return Some(if den.is_none() {
            u32::from(round == Round::Up && mantissa > 0)
        } else {
            u32::MAX
        });
    };
    let q = match round {
        Round::Down => num / den,
        Round::Up => num.div_ceil(den),
    };
    Some(u32::try_from(q).unwrap_or(u32::MAX))
}

/// A number of `unit`s written back as a Kubernetes quantity (`1500m`, `512Mi`, `3`).
///
/// ```
/// use spaces_runtime::kubernetes::scheduler::quantity::{format, Unit};
/// assert_eq!(format(2000, Unit::Millicores), "2");
/// assert_eq!(format(1500, Unit::Millicores), "1500m");
/// assert_eq!(format(2048, Unit::Mebibytes), "2Gi");
/// assert_eq!(format(100, Unit::Mebibytes), "100Mi");
/// ```
pub fn format(amount: u32, unit: Unit) -> String {
    match unit {
        Unit::Millicores if amount % 1000 == 0 => (amount / 1000).to_string(),
        Unit::Millicores => format!("{amount}m"),
        Unit::Mebibytes if amount != 0 && amount % 1024 == 0 => format!("{}Gi", amount / 1024),
        Unit::Mebibytes => format!("{amount}Mi"),
        Unit::Whole => amount.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_safe_both_ways() {
        for text in ["1", "250m", "1.1", "0.5Gi", "1M", "123456789", "1e3", "7Ki"] {
            for unit in [Unit::Millicores, Unit::Mebibytes, Unit::Whole] {
                let down = parse(text, unit, Round::Down).unwrap();
                let up = parse(text, unit, Round::Up).unwrap();
                assert!(down <= up && up - down <= 1, "{text} {unit:?}");
            }
        }
        assert_eq!(parse("100Ei", Unit::Mebibytes, Round::Down), Some(u32::MAX));
        assert_eq!(parse("1e-40", Unit::Whole, Round::Up), Some(1));
        assert_eq!(parse("0", Unit::Whole, Round::Up), Some(0));
        assert_eq!(parse(".5", Unit::Millicores, Round::Up), Some(500));
        assert_eq!(parse("1.", Unit::Whole, Round::Up), Some(1));
        assert_eq!(parse(".", Unit::Whole, Round::Up), None);
        assert_eq!(parse("5Qi", Unit::Whole, Round::Up), None);
    }
}
