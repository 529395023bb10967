//! Model and dataset repository ids (`models`, `datasets`, `preload_from_hub`): `name` or
//! `namespace/name`, with the Hub's repo-id rules.
//!
//! The rules are spaces-core's [`spaces_core::RepoId`]'s (a Space id's rules for each part; unlike
//! a Space id, a repo id may have no namespace: `gpt2`).

use std::fmt;

/// A validated repository id, `name` or `namespace/name`.
///
/// ```
/// use spaces_config::RepoId;
/// assert_eq!(RepoId::parse("openai/whisper-large-v3").unwrap().as_str(), "openai/whisper-large-v3");
/// assert!(RepoId::parse("gpt2").is_ok());
/// let err = RepoId::parse("a/b--c").unwrap_err();
/// assert!(err.contains("--"), "{err}");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoId(String);

impl RepoId {
    /// What a repo id looks like, for messages.
    pub const EXPECTED: &'static str =
        "a repo id `name` or `namespace/name` (letters, digits, `_`, `.`, `-`; at most 96 per part)";

    /// Validates a repo id; the error says which rule it broke.
    pub fn parse(s: &str) -> Result<RepoId, String> {
        match spaces_core::RepoId::new(s) {
            Ok(_) => Ok(RepoId(s.to_owned())),
            Err(spaces_core::Error::InvalidRepoId { rule, .. }) => Err(rule.to_string()),
            Err(other) => Err(other.to_string()),
        }
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for ok in ["gpt2", "openai/whisper", "Foo-BAR_foo.bar123", "_x/_x"] {
            assert!(RepoId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/x", "x/", "a/b/c", "-foo", "foo.", "foo..bar", "foo.git", "café", "a b",
        ] {
            assert!(RepoId::parse(bad).is_err(), "{bad}");
        }
        assert!(RepoId::parse(&"a".repeat(97)).is_err());
    }
}
