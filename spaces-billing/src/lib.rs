//! # spaces-billing
//!
//! Minute-granular metering and rating of Spaces usage, exactly as `shared/spec/billing.md` says,
//! with exact decimal money ([`Decimal`](rust_decimal::Decimal), never a float):
//!
//! - [`UsageEvent`] (spaces-core's, re-exported: the same record the runtime writes) and the
//!   JSON Lines usage log ([`parse_line`], [`parse_jsonl`]); [`UsageLog`] validates a log against
//!   every rule of billing.md (errors name the 1-based line: [`Error::Log`]).
//! - The rating engine: [`UsageLog::usage`] (minutes per space and item in any minute-aligned
//!   [`Window`]) and [`UsageLog::invoice`] (an [`Invoice`] for a calendar-month [`Period`]). It is
//!   linear in the number of events: minutes are counted by interval arithmetic, never walked.
//! - Community GPU grants ([`Grant`], [`UsageLog::invoice_with_grants`]); the exact rule is in
//!   the [`Grant`] docs and below.
//! - A durable, append-only [`Ledger`](ledger::Ledger) of usage events on SQLite (feature
//!   `ledger`, on by default): idempotent on event id, refusing a different event under a stored
//!   id ([`Error::ConflictingEvent`]), readable without changing the file
//!   ([`Ledger::open_read_only`](ledger::Ledger::open_read_only)).
//! - With the feature `naive-reference`, [`reference`](mod@reference): a deliberately naive minute-by-minute
//!   biller that the tests and the bench compare the engine with.
//!
//! ## Example: billing.md's example invoice
//!
//! ```
//! use spaces_billing::{Period, UsageLog};
//! use spaces_core::Catalog;
//!
//! let log = r#"
//! {"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"hardware","flavor":"t4-small"}
//! {"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"stage","stage":"RUNNING"}
//! {"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"storage","tier":"small"}
//! {"at":"2026-11-01T01:30:20Z","space":"alice/demo","kind":"stage","stage":"PAUSED"}
//! "#;
//! let invoice = UsageLog::parse(log, &Catalog::seed())?.invoice("2026-11".parse::<Period>()?)?;
//! assert_eq!(
//!     invoice.to_json(),
//!     r#"{"period":"2026-11","currency":"USD","lines":[{"space":"alice/demo","item":"hardware/t4-small","minutes":91,"amount":"0.09"},{"space":"alice/demo","item":"storage/small","minutes":43200,"amount":"5.00"}],"total":"5.09"}"#
//! );
//!
//! // A rejected log yields no invoice, and the error names the line.
//! let bad = UsageLog::parse("\n{\"at\":\"2026-11-01\",\"space\":\"a/b\",\"kind\":\"stage\",\"stage\":\"RUNNING\"}", &Catalog::seed());
//! assert!(bad.unwrap_err().to_string().starts_with("line 2: bad timestamp"));
//! # Ok::<(), spaces_billing::Error>(())
//! ```
//!
//! ## Decisions beyond billing.md
//!
//! - Every line of a log is checked (JSON, fields, timestamp, Space id, kind, stage, flavor, tier),
//!   duplicates included; the upgrade-only rule is checked on the events that apply, in time
//!   order. When several lines are wrong, the first in the file is reported (for upgrade-only
//!   violations: the smallest line among the first violation of each Space).
//! - A tier or flavor the catalog does not offer is an unknown tier or flavor. A catalog without
//!   `cpu-basic` gets it implicitly, free (every Space starts on it).
//! - Unknown fields in a log line are ignored. `id` may be a string or an integer (`7` and `"7"`
//!   are the same id). `null` for a required field counts as missing.
//! - Grants: the hardware minutes of the Space inside the union of its grant windows (cut to the
//!   period) are priced per flavor and rounded exactly like hardware lines; the grant line
//!   (`grant/community-gpu`) is minus their sum, never more than the Space's hardware lines, and
//!   omitted when zero. Storage is never covered.
//!
//! This crate never depends on tokio, an HTTP client, a container engine or any other part of the
//! runtime; it takes its domain types from spaces-core.

mod error;
mod event;
mod fast_hash;
mod grant;
mod instant;
mod invoice;
#[cfg(feature = "ledger")]
pub mod ledger;
mod period;
mod prices;
mod rating;
#[cfg(feature = "naive-reference")]
pub mod reference;
mod usage_log;

pub use error::{Error, LogProblem};
pub use event::{parse_jsonl, parse_line, Change, UsageChange, UsageEvent};
pub use grant::Grant;
pub use invoice::{Invoice, InvoiceLine, Item, Usage, CURRENCY};
pub use period::{Period, Window};
pub use usage_log::UsageLog;
