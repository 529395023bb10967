//! The one error type of spaces-billing, and the problems a usage-log line can have.

use std::fmt;

use spaces_core::{IdRule, StorageTier};

/// What is wrong with one line of a usage log (billing.md, "Rules the log must obey").
///
/// Always reported inside [`Error::Log`], which names the 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogProblem {
    /// The line is not valid JSON.
    InvalidJson {
        /// The parser's message.
        message: String,
    },
    /// The line is JSON but not an event object, or a field has the wrong JSON type.
    InvalidField {
        /// The parser's message.
        message: String,
    },
    /// A field the event's kind needs is absent.
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// `kind` is not `stage`, `hardware` or `storage`.
    UnknownKind {
        /// The kind given.
        kind: String,
    },
    /// `stage` is not one of the 13 stages.
    UnknownStage {
        /// The stage given.
        stage: String,
    },
    /// `flavor` is not offered by the catalog.
    UnknownFlavor {
        /// The flavor given.
        flavor: String,
        /// The flavor ids offered, comma-separated.
        offered: String,
    },
    /// `tier` is not `small`, `medium`, `large` or `null`, or the catalog does not offer it.
    UnknownTier {
        /// The tier given.
        tier: String,
    },
    /// `at` is not an RFC 3339 timestamp.
    BadTimestamp {
        /// The text given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// `space` is not a valid `owner/name`.
    BadSpaceId {
        /// The text given.
        input: String,
        /// The rule it broke.
        rule: IdRule,
    },
    /// The event sets a smaller storage tier while a tier is held (storage is upgrade-only).
    StorageDowngrade {
        /// The Space.
        space: String,
        /// The tier held at that time.
        held: StorageTier,
        /// The smaller tier the event sets.
        requested: StorageTier,
    },
}

impl fmt::Display for LogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogProblem::InvalidJson { message } => write!(f, "not valid JSON: {message}"),
            LogProblem::InvalidField { message } => write!(f, "not a usage event: {message}"),
            LogProblem::MissingField { field } => write!(f, "missing field `{field}`"),
            LogProblem::UnknownKind { kind } => write!(
                f,
                "unknown kind `{kind}`: expected one of stage, hardware, storage"
            ),
            LogProblem::UnknownStage { stage } => write!(f, "{}", spaces_core::UnknownStage(stage.clone())),
            LogProblem::UnknownFlavor { flavor, offered } => write!(
                f,
                "unknown hardware flavor `{flavor}`: the catalog offers {offered}"
            ),
            LogProblem::UnknownTier { tier } => write!(
                f,
                "unknown storage tier `{tier}`: expected one of the catalog's tiers (small, medium, large) or null"
            ),
            LogProblem::BadTimestamp { input, reason } => write!(
                f,
                "bad timestamp `{input}`: {reason} (expected RFC 3339, e.g. 2026-11-03T10:15:30Z)"
            ),
            LogProblem::BadSpaceId { input, rule } => write!(f, "invalid Space id `{input}`: {rule}"),
            LogProblem::StorageDowngrade {
                space,
                held,
                requested,
            } => write!(
                f,
                "{space}: storage is upgrade-only: `{held}` is held and `{requested}` is smaller; \
                 delete the storage first (`\"tier\": null`)"
            ),
        }
    }
}

impl std::error::Error for LogProblem {}

/// Everything that can go wrong in spaces-billing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A usage log was rejected: it produces no invoice. Displays as `line N: <problem>`.
    #[error("line {line}: {problem}")]
    Log {
        /// The 1-based line (for events given as a list: the 1-based position).
        line: usize,
        /// What is wrong with it.
        problem: LogProblem,
    },
    /// A billing period that is not `YYYY-MM`.
    #[error("invalid period `{input}`: expected a calendar month written YYYY-MM (e.g. 2026-11)")]
    InvalidPeriod {
        /// The input.
        input: String,
    },
    /// A window that does not start and end on whole UTC minutes, or ends before it starts.
    #[error("invalid window: {problem}")]
    InvalidWindow {
        /// What is wrong.
        problem: String,
    },
    /// An amount does not fit a decimal (only with absurd catalog prices).
    #[error("the amount of {space} {item} does not fit a decimal number")]
    AmountOverflow {
        /// The Space.
        space: String,
        /// The item.
        item: String,
    },
    /// Reading a usage log or writing an export failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The ledger's database failed.
    #[cfg(feature = "ledger")]
    #[error("ledger: {0}")]
    Ledger(#[from] rusqlite::Error),
    /// An append carried an event id that the ledger already holds for a different event; the
    /// ledger is unchanged. (The same event again is an idempotent duplicate, not an error.)
    #[error("event id `{id}` is already in the ledger for another event: stored {stored}, refused {refused}")]
    ConflictingEvent {
        /// The id both events carry.
        id: String,
        /// The event stored under that id.
        stored: Box<crate::UsageEvent>,
        /// The different event that was refused.
        refused: Box<crate::UsageEvent>,
    },
    /// [`Ledger::open_read_only`](crate::ledger::Ledger::open_read_only) was given a path where
    /// there is no file.
    #[error("no ledger at {}: the file does not exist", path.display())]
    LedgerNotFound {
        /// The path given.
        path: std::path::PathBuf,
    },
    /// The file is not a ledger: not an SQLite database, or without the ledger's schema.
    #[error("{} is not a usage ledger: {problem}", path.display())]
    NotALedger {
        /// The path given.
        path: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// An append to a ledger opened with
    /// [`Ledger::open_read_only`](crate::ledger::Ledger::open_read_only).
    #[error("the ledger {} was opened read-only: nothing can be appended", path.display())]
    ReadOnlyLedger {
        /// The ledger's path.
        path: std::path::PathBuf,
    },
    /// The ledger holds a row this build cannot read back as an event.
    #[error("ledger row {seq}: {problem}")]
    CorruptLedger {
        /// The row's sequence number.
        seq: i64,
        /// What is wrong with it.
        problem: String,
    },
}

impl Error {
    /// The 1-based line of a rejected log, if this is a log error.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::Log { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The problem of a rejected log line, if this is a log error.
    pub fn log_problem(&self) -> Option<&LogProblem> {
        match self {
            Error::Log { problem, .. } => Some(problem),
            _ => None,
        }
    }
}
