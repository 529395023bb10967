//! The one error type of spaces-core.

use crate::event::EventKind;
use crate::id::SpaceId;
use crate::lifecycle::Refusal;
use crate::stage::Stage;
use crate::storage::StorageTier;

/// Which repo-id rule an input broke (domain.md §1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdRule {
    /// No `/`: a Space id is `owner/name`.
    MissingOwner,
    /// More than one `/`.
    TooManySlashes,
    /// The owner or the name is empty.
    EmptyPart,
    /// A part is longer than 96 characters.
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A character outside `[A-Za-z0-9_.-]`.
    BadCharacter {
        /// The character.
        found: char,
    },
    /// A part starts with `.` or `-`.
    BadStart,
    /// A part ends with `.` or `-`.
    BadEnd,
    /// A part contains `--`.
    DoubleDash,
    /// A part contains `..`.
    DoubleDot,
    /// A part ends with `.git`.
    GitSuffix,
}

impl std::fmt::Display for IdRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdRule::MissingOwner => f.write_str("a Space id is `owner/name`, with both parts"),
            IdRule::TooManySlashes => f.write_str("a Space id has exactly one `/`"),
            IdRule::EmptyPart => f.write_str("the owner and the name must not be empty"),
            IdRule::TooLong { len } => {
                write!(f, "a part is {len} characters long; at most 96 are allowed")
            }
            IdRule::BadCharacter { found } => write!(
                f,
                "{found:?} is not allowed: use ASCII letters, digits, `_`, `.` and `-`"
            ),
            IdRule::BadStart => f.write_str("each part must start with a letter, a digit or `_`"),
            IdRule::BadEnd => f.write_str("each part must end with a letter, a digit or `_`"),
            IdRule::DoubleDash => f.write_str("`--` is not allowed"),
            IdRule::DoubleDot => f.write_str("`..` is not allowed"),
            IdRule::GitSuffix => f.write_str("a part must not end with `.git`"),
        }
    }
}

pub(crate) fn downgrade_message(held: StorageTier, requested: StorageTier) -> String {
    format!(
        "persistent storage is upgrade-only: `{held}` is held and `{requested}` is smaller; \
         delete the storage first to choose a smaller tier (deleting loses all its data)"
    )
}

/// Everything that can go wrong in spaces-core.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Space id broke a rule.
    #[error("invalid Space id `{input}`: {rule}")]
    InvalidSpaceId {
        /// The input.
        input: String,
        /// The rule it broke.
        rule: IdRule,
    },
    /// A repository id broke a rule.
    #[error("invalid repo id `{input}`: {rule}")]
    InvalidRepoId {
        /// The input.
        input: String,
        /// The rule it broke.
        rule: IdRule,
    },
    /// An SDK name that does not exist.
    #[error("unknown SDK `{input}`: expected one of gradio, streamlit, docker, static")]
    UnknownSdk {
        /// The input.
        input: String,
    },
    /// A visibility that does not exist.
    #[error("unknown visibility `{input}`: expected one of public, private, protected")]
    UnknownVisibility {
        /// The input.
        input: String,
    },
    /// A flavor id the catalog does not offer.
    #[error("unknown hardware flavor `{input}`: the catalog offers {offered}")]
    UnknownFlavor {
        /// The input.
        input: String,
        /// The offered ids, comma-separated.
        offered: String,
    },
    /// A storage tier that does not exist.
    #[error("unknown storage tier `{input}`: expected one of small, medium, large")]
    UnknownStorageTier {
        /// The input.
        input: String,
    },
    /// Storage is upgrade-only.
    #[error("{}", downgrade_message(*held, *requested))]
    StorageDowngrade {
        /// The tier held.
        held: StorageTier,
        /// The smaller tier asked for.
        requested: StorageTier,
    },
    /// A catalog that contradicts itself.
    #[error("invalid catalog: {problem}")]
    InvalidCatalog {
        /// What is wrong.
        problem: String,
    },
    /// A revision that is not 4–64 hex digits.
    #[error("invalid revision `{input}`: expected 4 to 64 hexadecimal digits (a commit sha)")]
    InvalidRevision {
        /// The input.
        input: String,
    },
    /// A variable or secret name that is not `[A-Za-z_][A-Za-z0-9_]*`.
    #[error(
        "invalid variable name `{name}`: use letters, digits and `_`, not starting with a digit"
    )]
    InvalidEnvName {
        /// The name.
        name: String,
    },
    /// A name the platform sets itself.
    #[error("{space}: `{name}` is set by the platform and cannot be a variable or a secret")]
    ReservedName {
        /// The Space.
        space: SpaceId,
        /// The name.
        name: String,
    },
    /// A variable and a secret cannot share a name.
    #[error("{space}: `{name}` is already a {taken_by}; remove it first")]
    NameTaken {
        /// The Space.
        space: SpaceId,
        /// The name.
        name: String,
        /// `variable` or `secret`.
        taken_by: &'static str,
    },
    /// An app file path that could point outside the repository.
    #[error("invalid app file `{input}`: {why}")]
    InvalidAppPath {
        /// The input.
        input: String,
        /// Why it was refused.
        why: &'static str,
    },
    /// A lifecycle event was refused; the Space is unchanged.
    #[error("{space}: {event} refused in stage {stage}: {reason}")]
    Refused {
        /// The Space.
        space: SpaceId,
        /// Its stage (unchanged).
        stage: Stage,
        /// The refused event.
        event: EventKind,
        /// Why.
        reason: Refusal,
    },
}
