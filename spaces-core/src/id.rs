//! Space ids (`owner/name`) and the host name derived from them.
//!
//! The rules are the Hub client's repo-id rules (domain.md §1), with one project decision: a Space
//! id always has both parts.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, IdRule};

/// The longest a part (owner or name) may be, in ASCII characters.
pub const MAX_PART_LEN: usize = 96;

/// The domain under which Spaces are served (`alice-my-app.hf.space`).
pub const SPACE_HOST_DOMAIN: &str = "hf.space";

/// A validated Space id, `owner/name`.
///
/// Parsing checks every rule once; holding a `SpaceId` means it is valid.
///
/// ```
/// use spaces_core::SpaceId;
///
/// let id: SpaceId = "alice/My_App".parse()?;
/// assert_eq!(id.owner(), "alice");
/// assert_eq!(id.name(), "My_App");
/// assert_eq!(id.host(), "alice-my-app.hf.space");
///
/// let err = "alice/foo--bar".parse::<SpaceId>().unwrap_err();
/// assert!(err.to_string().contains("--"));
/// # Ok::<(), spaces_core::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpaceId {
    /// `owner/name`; `slash` is the index of `/`.
    full: String,
    slash: usize,
}

impl SpaceId {
    /// Parses and validates `owner/name`.
    pub fn new(input: &str) -> Result<Self, Error> {
        let bad = |rule| Error::InvalidSpaceId {
            input: input.to_owned(),
            rule,
        };
        let Some(slash) = input.find('/') else {
            return Err(bad(IdRule::MissingOwner));
        };
        let (owner, name) = (&input[..slash], &input[slash + 1..]);
        if name.contains('/') {
            return Err(bad(IdRule::TooManySlashes));
        }
        check_part(owner).map_err(bad)?;
        check_part(name).map_err(bad)?;
        Ok(Self {
            full: input.to_owned(),
            slash,
        })
    }

    /// Builds an id from its two parts, validating both.
    pub fn from_parts(owner: &str, name: &str) -> Result<Self, Error> {
        Self::new(&format!("{owner}/{name}"))
    }

    /// The user or organisation that owns the Space.
    pub fn owner(&self) -> &str {
        &self.full[..self.slash]
    }

    /// The Space's repository name.
    pub fn name(&self) -> &str {
        &self.full[self.slash + 1..]
    }

    /// `owner/name`.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The subdomain: the id lower-cased, with `/` and `_` turned into `-` (`alice-my-app`).
    pub fn subdomain(&self) -> String {
        self.full
            .chars()
            .map(|c| match c {
                '/' | '_' => '-',
                c => c.to_ascii_lowercase(),
            })
            .collect()
    }

    /// The host the Space is served on (`alice-my-app.hf.space`).
    pub fn host(&self) -> String {
        format!("{}.{SPACE_HOST_DOMAIN}", self.subdomain())
    }
}

/// A model, dataset or Space repository id: `name` or `namespace/name`, each part by the same
/// rules as a [`SpaceId`]'s (unlike a Space id, a repo id may have no namespace: `gpt2`).
///
/// ```
/// use spaces_core::RepoId;
/// assert_eq!(RepoId::new("openai/whisper-large-v3")?.namespace(), Some("openai"));
/// assert_eq!(RepoId::new("gpt2")?.name(), "gpt2");
/// assert!(RepoId::new("a/b--c").unwrap_err().to_string().contains("--"));
/// # Ok::<(), spaces_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoId {
    full: String,
    slash: Option<usize>,
}

impl RepoId {
    /// Parses and validates `name` or `namespace/name`.
    pub fn new(input: &str) -> Result<Self, Error> {
        let bad = |rule| Error::InvalidRepoId {
            input: input.to_owned(),
            rule,
        };
        let slash = input.find('/');
        match slash {
            Some(i) => {
                let (ns, name) = (&input[..i], &input[i + 1..]);
                if name.contains('/') {
                    return Err(bad(IdRule::TooManySlashes));
                }
                check_part(ns).map_err(bad)?;
                check_part(name).map_err(bad)?;
            }
            None => check_part(input).map_err(bad)?,
        }
        Ok(Self {
            full: input.to_owned(),
            slash,
        })
    }

    /// The namespace (user or organisation), if any.
    pub fn namespace(&self) -> Option<&str> {
        self.slash.map(|i| &self.full[..i])
    }

    /// The repository name.
    pub fn name(&self) -> &str {
        self.slash.map_or(&self.full[..], |i| &self.full[i + 1..])
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl FromStr for RepoId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// Checks one part of a repo id against the Hub rules.
fn check_part(part: &str) -> Result<(), IdRule> {
    if part.is_empty() {
        return Err(IdRule::EmptyPart);
    }
    if part.len() > MAX_PART_LEN {
        return Err(IdRule::TooLong { len: part.len() });
    }
    if let Some(c) = part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(IdRule::BadCharacter { found: c });
    }
    let edge_ok = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let bytes = part.as_bytes();
    if !edge_ok(bytes[0]) {
        return Err(IdRule::BadStart);
    }
    if !edge_ok(bytes[bytes.len() - 1]) {
        return Err(IdRule::BadEnd);
    }
    if part.contains("--") {
        return Err(IdRule::DoubleDash);
    }
    if part.contains("..") {
        return Err(IdRule::DoubleDot);
    }
    if part.ends_with(".git") {
        return Err(IdRule::GitSuffix);
    }
    Ok(())
}

impl FromStr for SpaceId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl fmt::Display for SpaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for SpaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpaceId({})", self.full)
    }
}

impl AsRef<str> for SpaceId {
    fn as_ref(&self) -> &str {
        &self.full
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for SpaceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.full)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for SpaceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        SpaceId::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_from_the_spec() {
        for ok in [
            "foo/bar",
            "Foo-BAR_foo.bar123/x",
            "_x/_x",
            "a/b",
            "alice/i-like-flan",
        ] {
            assert!(SpaceId::new(ok).is_ok(), "{ok} should be valid");
        }
        let long = "a".repeat(96);
        assert!(SpaceId::new(&format!("{long}/{long}")).is_ok());
    }

    #[test]
    fn each_rule_is_named() {
        let cases: &[(&str, IdRule)] = &[
            ("foo", IdRule::MissingOwner),
            ("a/b/c", IdRule::TooManySlashes),
            ("/bar", IdRule::EmptyPart),
            ("foo/", IdRule::EmptyPart),
            ("foo/-foo", IdRule::BadStart),
            ("foo/foo.", IdRule::BadEnd),
            ("foo/foo--bar", IdRule::DoubleDash),
            ("foo/foo..bar", IdRule::DoubleDot),
            ("foo/foo.git", IdRule::GitSuffix),
            ("foo/café", IdRule::BadCharacter { found: 'é' }),
            ("foo/a b", IdRule::BadCharacter { found: ' ' }),
        ];
        for (input, rule) in cases {
            match SpaceId::new(input) {
                Err(Error::InvalidSpaceId { rule: got, .. }) => assert_eq!(&got, rule, "{input}"),
                other => panic!("{input}: expected {rule:?}, got {other:?}"),
            }
        }
        let long = "a".repeat(97);
        assert_eq!(
            SpaceId::new(&format!("foo/{long}")).unwrap_err(),
            Error::InvalidSpaceId {
                input: format!("foo/{long}"),
                rule: IdRule::TooLong { len: 97 }
            }
        );
    }

    #[test]
    fn host_is_lowercased_with_dashes() {
        let id = SpaceId::new("alice/My_App").unwrap();
        assert_eq!(id.host(), "alice-my-app.hf.space");
        assert_eq!(id.to_string(), "alice/My_App");
    }
}
