//! Secrets, variables and the names they are exposed under.
//!
//! A secret's value is write-only from the outside: `Debug` and `Display` never show it, and the
//! only way to read it is [`Secret::expose`], which a runtime calls when it hands the value to the
//! app's environment. Variables are public and copied when a Space is duplicated; secrets are not.

use std::fmt;

use jiff::Timestamp;

use crate::error::Error;

/// A secret value. Its `Debug` and `Display` print `***`.
///
/// ```
/// use spaces_core::Secret;
/// let token = Secret::new("hf_abc123");
/// assert_eq!(format!("{token:?}"), "Secret(***)");
/// assert_eq!(token.to_string(), "***");
/// assert_eq!(token.expose(), "hf_abc123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself. Call this only to hand the value to the app (its environment or a
    /// build-time secret mount); never to log or display it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A stored secret: its value and what may be read back (description, update time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEntry {
    /// The value (redacted in `Debug`).
    pub value: Secret,
    /// An optional description, readable by the owner.
    pub description: Option<String>,
    /// When the value was last set.
    pub updated_at: Timestamp,
}

/// The name of an environment variable, secret or variable: `[A-Za-z_][A-Za-z0-9_]*`, at most
/// 256 characters.
///
/// ```
/// use spaces_core::EnvName;
/// assert!(EnvName::new("HF_TOKEN").is_ok());
/// assert!(EnvName::new("1BAD").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvName(String);

impl EnvName {
    /// Validates a name.
    pub fn new(name: &str) -> Result<Self, Error> {
        let valid = !name.is_empty()
            && name.len() <= 256
            && name.bytes().enumerate().all(|(i, b)| {
                b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit())
            });
        if valid {
            Ok(EnvName(name.to_owned()))
        } else {
            Err(Error::InvalidEnvName {
                name: name.to_owned(),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let entry = SecretEntry {
            value: Secret::new("s3cr3t-value"),
            description: Some("api key".into()),
            updated_at: Timestamp::UNIX_EPOCH,
        };
        let shown = format!("{entry:?} {} {:#?}", entry.value, entry);
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn env_names() {
        for ok in ["A", "_", "HF_HOME", "a1_B2"] {
            assert!(EnvName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "É"] {
            assert!(EnvName::new(bad).is_err(), "{bad}");
        }
    }
}
