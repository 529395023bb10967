//! Versions as written: `sdk_version` (a Gradio or Streamlit release) and `python_version`.
//!
//! Both are kept in the form the author wrote: `4.0` stays `4.0`, and `3.10` is Python 3.10,
//! never 3.1, even when the YAML had it unquoted.

use std::fmt;

/// An SDK release such as `4.44.1`, `3.50`, `5.0.0b3` or `1.32.0rc1`, kept as written.
///
/// ```
/// use spaces_config::SdkVersion;
/// let v = SdkVersion::parse("4.0").unwrap();
/// assert_eq!(v.as_str(), "4.0");
/// assert_eq!(v.semver().unwrap(), semver::Version::new(4, 0, 0));
/// assert!(SdkVersion::parse("latest").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SdkVersion(String);

impl SdkVersion {
    /// What a version looks like, for messages.
    pub const EXPECTED: &'static str =
        "a version such as \"4.44.1\" or \"1.32.0\" (1 to 3 numbers separated by dots, with an optional pre-release suffix)";

    /// Reads a version: 1 to 3 dot-separated numbers, then an optional pre-release or build
    /// suffix of letters, digits, `.`, `-` and `+` that starts with a letter, `-`, `.` or `+`.
    pub fn parse(s: &str) -> Option<SdkVersion> {
        let (numbers, _) = split_numbers(s)?;
        if numbers.len() > 3 {
            return None;
        }
        Some(SdkVersion(s.to_owned()))
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The numeric part as a semantic version, missing parts as 0 (`4.0` is 4.0.0); `None` when
    /// the number is too large. A pre-release suffix is dropped.
    pub fn semver(&self) -> Option<semver::Version> {
        let (numbers, _) = split_numbers(&self.0)?;
        let n = |i: usize| numbers.get(i).copied().unwrap_or(0);
        Some(semver::Version::new(n(0), n(1), n(2)))
    }
}

/// Splits `1.2.3rc1` into `[1, 2, 3]` and `rc1`; `None` when it does not start with a number or
/// the suffix has other characters.
fn split_numbers(s: &str) -> Option<(Vec<u64>, &str)> {
    let mut numbers = Vec::new();
    let mut rest = s;
    loop {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        numbers.push(rest[..digits].parse().ok()?);
        rest = &rest[digits..];
        match rest.strip_prefix('.') {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    let suffix_ok = rest.is_empty()
        || (rest.starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '-' | '.' | '+'))
            && rest.len() <= 32
            && rest.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !rest.contains("..")
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')));
    suffix_ok.then_some((numbers, rest))
}

impl fmt::Display for SdkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Python version, `3.x` or `3.x.y`.
///
/// ```
/// use spaces_config::PythonVersion;
/// let v = PythonVersion::parse("3.10").unwrap();
/// assert_eq!((v.minor, v.patch), (10, None));
/// assert_eq!(v.to_string(), "3.10");
/// assert_eq!(PythonVersion::DEFAULT.to_string(), "3.10");
/// assert!(PythonVersion::parse("2.7").is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PythonVersion {
    /// The minor version (`10` in 3.10).
    pub minor: u16,
    /// The patch version, when written (`4` in 3.10.4).
    pub patch: Option<u16>,
}

impl PythonVersion {
    /// The version used when `python_version` is not set: 3.10.
    pub const DEFAULT: PythonVersion = PythonVersion {
        minor: 10,
        patch: None,
    };

    /// What a Python version looks like, for messages.
    pub const EXPECTED: &'static str = "\"3.x\" or \"3.x.y\", such as \"3.10\" or \"3.11.9\"";

    /// Reads `3.x` or `3.x.y` (numbers without signs or leading zeros other than `0`).
    pub fn parse(s: &str) -> Option<PythonVersion> {
        let mut parts = s.split('.');
        if parts.next()? != "3" {
            return None;
        }
        let num = |p: Option<&str>| -> Option<u16> {
            let p = p?;
            let ok = !p.is_empty()
                && p.len() <= 4
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p == "0" || !p.starts_with('0'));
            ok.then(|| p.parse().ok()).flatten()
        };
        let minor = num(parts.next())?;
        let patch = match parts.next() {
            None => None,
            some => Some(num(some)?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(PythonVersion { minor, patch })
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "3.{}.{p}", self.minor),
            None => write!(f, "3.{}", self.minor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_versions() {
        for ok in [
            "4",
            "4.0",
            "3.50.2",
            "5.0.0b3",
            "1.32.0rc1",
            "4.44.1",
            "0.0.1-dev.2",
        ] {
            assert_eq!(
                SdkVersion::parse(ok).map(|v| v.0),
                Some(ok.to_owned()),
                "{ok}"
            );
        }
        for bad in [
            "", "latest", "v4", "4.", ".4", "1.2.3.4", "4.0 beta", "4..0", "4.0_x",
        ] {
            assert!(SdkVersion::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            SdkVersion::parse("3.50.2").unwrap().semver(),
            Some(semver::Version::new(3, 50, 2))
        );
    }

    #[test]
    fn python_versions() {
        assert_eq!(PythonVersion::parse("3.10").unwrap().to_string(), "3.10");
        assert_eq!(
            PythonVersion::parse("3.9.18").unwrap().to_string(),
            "3.9.18"
        );
        for bad in [
            "3",
            "3.",
            "3.1.2.3",
            "2.7",
            "3.x",
            "python3.10",
            "3.010",
            "3.-1",
            " 3.10",
        ] {
            assert!(PythonVersion::parse(bad).is_none(), "{bad}");
        }
    }
}
