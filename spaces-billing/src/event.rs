//! Usage events and their JSON Lines form (billing.md, "Usage log").
//!
//! Reading a line checks everything a line can be checked for on its own: JSON, fields, kind,
//! stage, tier, timestamp, Space id. Whether a flavor is offered needs the catalog and whether a
//! storage event is a downgrade needs the Space's history: [`UsageLog`](crate::UsageLog) checks those.

use std::borrow::Cow;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};
use spaces_core::{Error as CoreError, Flavor, SpaceId, Stage, StorageTier};

use crate::error::{Error, LogProblem};

pub use spaces_core::{UsageChange, UsageEvent};

/// The former name of [`UsageChange`], kept so that existing code compiles.
pub type Change = UsageChange;

/// A line as read, before its fields are checked.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow)]
    at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    space: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stage: Option<Cow<'a, str>>,
    #[serde(borrow)]
    flavor: Option<Cow<'a, str>>,
    /// Absent: `None`; `null`: `Some(None)`.
    #[serde(default, borrow, deserialize_with = "present")]
    tier: Option<Option<Cow<'a, str>>>,
    id: Option<serde_json::Value>,
}

/// Deserializes a field that may be `null`, keeping "absent" (the default) apart from `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Cow<'de, str>>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Borrowed<'a>(#[serde(borrow)] Option<Cow<'a, str>>);
    Borrowed::deserialize(d).map(|b| Some(b.0))
}

/// Reads one line of a usage log into a [`UsageEvent`]. Flavors are not checked against a
/// catalog here, nor storage tiers against the Space's history ([`UsageLog`](crate::UsageLog)
/// does both).
///
/// ```
/// use spaces_billing::{parse_line, UsageChange};
/// use spaces_core::Stage;
/// let e = parse_line(r#"{"at":"2026-11-01T10:00:00+01:00","space":"alice/demo","kind":"stage","stage":"RUNNING","id":"e1"}"#)?;
/// assert_eq!(e.change, UsageChange::Stage(Stage::Running));
/// assert_eq!(e.at.to_string(), "2026-11-01T09:00:00Z");
/// assert_eq!(e.to_json_line(), r#"{"at":"2026-11-01T09:00:00Z","space":"alice/demo","kind":"stage","stage":"RUNNING","id":"e1"}"#);
/// # Ok::<(), spaces_billing::LogProblem>(())
/// ```
pub fn parse_line(line: &str) -> Result<UsageEvent, LogProblem> {
    let raw: RawEvent<'_> = serde_json::from_str(line).map_err(|e| {
        let message = strip_position(&e);
        if e.is_data() {
            LogProblem::InvalidField { message }
        } else {
            LogProblem::InvalidJson { message }
        }
    })?;
    let at = raw.at.ok_or(LogProblem::MissingField { field: "at" })?;
    let space = raw
        .space
        .ok_or(LogProblem::MissingField { field: "space" })?;
    let kind = raw.kind.ok_or(LogProblem::MissingField { field: "kind" })?;
    let at = parse_timestamp(&at)?;
    let space = SpaceId::new(&space).map_err(|e| match e {
        CoreError::InvalidSpaceId { input, rule } => LogProblem::BadSpaceId { input, rule },
        other => LogProblem::InvalidField {
            message: other.to_string(),
        },
    })?;
    let change = match &*kind {
        "stage" => {
            let s = raw
                .stage
                .ok_or(LogProblem::MissingField { field: "stage" })?;
            let stage = s.parse::<Stage>().map_err(|_| LogProblem::UnknownStage {
                stage: s.into_owned(),
            })?;
            UsageChange::Stage(stage)
        }
        "hardware" => {
            let f = raw
                .flavor
                .ok_or(LogProblem::MissingField { field: "flavor" })?;
            UsageChange::Hardware(Flavor::from_wire(&f))
        }
        "storage" => match raw.tier {
            None => return Err(LogProblem::MissingField { field: "tier" }),
            Some(None) => UsageChange::Storage(None),
            Some(Some(t)) => {
                UsageChange::Storage(Some(t.parse::<StorageTier>().map_err(|_| {
                    LogProblem::UnknownTier {
                        tier: t.into_owned(),
                    }
                })?))
            }
        },
        _ => {
            return Err(LogProblem::UnknownKind {
                kind: kind.into_owned(),
            })
        }
    };
    let id = match raw.id {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Some(_) => {
            return Err(LogProblem::InvalidField {
                message: "`id` must be a string or an integer".to_owned(),
            })
        }
    };
    Ok(UsageEvent {
        at,
        space,
        change,
        id,
    })
}

/// serde_json's message without its " at line 1 column N" suffix (the log line is named anyway).
fn strip_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    }
}

/// Parses an RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
///
/// The shape is checked here (RFC 3339 requires seconds and an offset, and allows no time-zone
/// annotation); the calendar is checked by jiff.
pub(crate) fn parse_timestamp(s: &str) -> Result<Timestamp, LogProblem> {
    let bad = |reason: &str| LogProblem::BadTimestamp {
        input: s.to_owned(),
        reason: reason.to_owned(),
    };
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return Err(bad("not of the form YYYY-MM-DDTHH:MM:SS"));
    }
    let mut i = 19;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad("a `.` must be followed by digits"));
        }
    }
    let offset_ok = match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    };
    if !offset_ok {
        return Err(bad("it must end with `Z` or an offset `±HH:MM`"));
    }
    s.parse::<Timestamp>().map_err(|e| bad(&e.to_string()))
}

/// Reads a whole usage log: each non-blank line is an event, numbered by its 1-based line.
///
/// Stops at the first line that cannot be read; the error names it.
pub fn parse_jsonl(text: &str) -> Result<Vec<(usize, UsageEvent)>, Error> {
    let mut events = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let event = parse_line(line).map_err(|problem| Error::Log {
            line: i + 1,
            problem,
        })?;
        events.push((i + 1, event));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(line: &str) -> LogProblem {
        parse_line(line).unwrap_err()
    }

    #[test]
    fn reads_each_kind() {
        let e = parse_line(
            r#"{"at":"2026-11-01T00:00:00.123456789Z","space":"a/b","kind":"storage","tier":null,"extra":1}"#,
        )
        .unwrap();
        assert_eq!(e.change, UsageChange::Storage(None));
        assert_eq!(e.at.subsec_nanosecond(), 123_456_789);
        let e = parse_line(r#"{"at":"2026-11-01T00:00:00-05:30","space":"a/b","kind":"hardware","flavor":"t4-small","id":7}"#)
            .unwrap();
        assert_eq!(e.change, UsageChange::Hardware(Flavor::T4Small));
        assert_eq!(e.id.as_deref(), Some("7"));
        assert_eq!(e.at.to_string(), "2026-11-01T05:30:00Z");
        let back = parse_line(&e.to_json_line()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn names_each_problem() {
        assert!(matches!(problem("{"), LogProblem::InvalidJson { .. }));
        assert!(matches!(problem("[1,2]"), LogProblem::InvalidField { .. }));
        assert!(matches!(
            problem(r#"{"at":5}"#),
            LogProblem::InvalidField { .. }
        ));
        assert_eq!(
            problem(r#"{"space":"a/b","kind":"stage","stage":"RUNNING"}"#),
            LogProblem::MissingField { field: "at" }
        );
        assert_eq!(
            problem(r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"stage"}"#),
            LogProblem::MissingField { field: "stage" }
        );
        assert_eq!(
            problem(r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"storage"}"#),
            LogProblem::MissingField { field: "tier" }
        );
        assert_eq!(
            problem(r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"gpu"}"#),
            LogProblem::UnknownKind { kind: "gpu".into() }
        );
        assert_eq!(
            problem(
                r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"stage","stage":"running"}"#
            ),
            LogProblem::UnknownStage {
                stage: "running".into()
            }
        );
        assert_eq!(
            problem(
                r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"storage","tier":"huge"}"#
            ),
            LogProblem::UnknownTier {
                tier: "huge".into()
            }
        );
        assert!(matches!(
            problem(
                r#"{"at":"2026-11-01T00:00:00Z","space":"a--b/c","kind":"storage","tier":null}"#
            ),
            LogProblem::BadSpaceId { .. }
        ));
        for at in [
            "2026-11-01",
            "2026-11-01T00:00Z",
            "2026-11-01T00:00:00",
            "2026-02-30T00:00:00Z",
            "2026-11-01T00:00:00.Z",
            "2026-11-01T00:00:00Z[UTC]",
            "2026-11-01T25:00:00Z",
            "yesterday",
        ] {
            let line = format!(r#"{{"at":"{at}","space":"a/b","kind":"stage","stage":"RUNNING"}}"#);
            assert!(
                matches!(problem(&line), LogProblem::BadTimestamp { .. }),
                "{at}"
            );
        }
    }

    #[test]
    fn log_errors_name_the_line() {
        let text = "\n{\"at\":\"2026-11-01T00:00:00Z\",\"space\":\"a/b\",\"kind\":\"stage\",\"stage\":\"PAUSED\"}\r\n\nnot json\n";
        let err = parse_jsonl(text).unwrap_err();
        assert_eq!(err.line(), Some(4));
        assert!(
            err.to_string().starts_with("line 4: not valid JSON"),
            "{err}"
        );
    }
}
