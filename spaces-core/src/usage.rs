//! [`UsageEvent`]: one stage, hardware or storage change of a Space, the record that the runtime
//! writes and billing rates. Its one-line JSON form is the usage log of `shared/spec/billing.md`.
//!
//! Only writing lives here (this crate has no JSON parser); reading a line, with every check
//! billing.md asks for, is `spaces_billing::parse_line`.

use std::fmt;

use jiff::Timestamp;

use crate::hardware::Flavor;
use crate::id::SpaceId;
use crate::stage::Stage;
use crate::storage::StorageTier;

/// What a usage event changes in a Space's state (stage, flavor, storage tier).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UsageChange {
    /// `kind: stage`: the Space enters a stage.
    Stage(Stage),
    /// `kind: hardware`: the Space now runs on this flavor.
    Hardware(Flavor),
    /// `kind: storage`: the Space now holds this tier (`None`: storage deleted).
    Storage(Option<StorageTier>),
}

impl UsageChange {
    /// The log's `kind` field: `stage`, `hardware` or `storage`.
    pub const fn kind(&self) -> &'static str {
        match self {
            UsageChange::Stage(_) => "stage",
            UsageChange::Hardware(_) => "hardware",
            UsageChange::Storage(_) => "storage",
        }
    }
}

/// One usage event: at `at`, `space`'s state changes by `change`.
///
/// ```
/// use spaces_core::{Stage, UsageChange, UsageEvent};
/// let e = UsageEvent {
///     at: "2026-11-01T00:00:00Z".parse().unwrap(),
///     space: "alice/demo".parse()?,
///     change: UsageChange::Stage(Stage::Running),
///     id: Some("alice/demo#1".into()),
/// };
/// assert_eq!(
///     e.to_json_line(),
///     r#"{"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"stage","stage":"RUNNING","id":"alice/demo#1"}"#
/// );
/// # Ok::<(), spaces_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UsageEvent {
    /// When the change happens.
    pub at: Timestamp,
    /// The Space it happens to.
    pub space: SpaceId,
    /// What changes.
    pub change: UsageChange,
    /// The event id (the runtime writes `owner/name#<store>.<n>`, never reused). A second event with an id
    /// already seen is a duplicate and is ignored by billing.
    pub id: Option<String>,
}

impl UsageEvent {
    /// The event as one line of the usage log (JSON, no newline), fields in billing.md's order:
    /// `at` (RFC 3339, UTC), `space`, `kind`, then `stage`, `flavor` or `tier` (`null`: storage
    /// deleted), then `id` when there is one.
    pub fn to_json_line(&self) -> String {
        let mut out = String::with_capacity(128);
        out.push_str("{\"at\":");
        push_json_string(&mut out, &self.at.to_string());
        out.push_str(",\"space\":");
        push_json_string(&mut out, self.space.as_str());
        out.push_str(",\"kind\":");
        push_json_string(&mut out, self.change.kind());
        match &self.change {
            UsageChange::Stage(s) => {
                out.push_str(",\"stage\":");
                push_json_string(&mut out, s.as_str());
            }
            UsageChange::Hardware(f) => {
                out.push_str(",\"flavor\":");
                push_json_string(&mut out, f.as_str());
            }
            UsageChange::Storage(None) => out.push_str(",\"tier\":null"),
            UsageChange::Storage(Some(t)) => {
                out.push_str(",\"tier\":");
                push_json_string(&mut out, t.as_str());
            }
        }
        if let Some(id) = &self.id {
            out.push_str(",\"id\":");
            push_json_string(&mut out, id);
        }
        out.push('}');
        out
    }
}

impl fmt::Display for UsageEvent {
    /// The JSON line ([`UsageEvent::to_json_line`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_line())
    }
}

/// Appends `s` as a JSON string literal (RFC 8259): `"` and `\` escaped, control characters
/// U+0000–U+001F as `\b`, `\f`, `\n`, `\r`, `\t` or `\u00XX`; everything else as is (the output
/// is UTF-8). The same bytes serde_json writes.
fn push_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let b = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[b >> 4]));
                out.push(char::from(HEX[b & 0xf]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(change: UsageChange, id: Option<&str>) -> UsageEvent {
        UsageEvent {
            at: "2026-11-01T00:00:00.5Z".parse().unwrap(),
            space: "alice/demo".parse().unwrap(),
            change,
            id: id.map(str::to_owned),
        }
    }

    #[test]
    fn every_kind_of_line_keeps_the_billing_field_order() {
        assert_eq!(
            event(UsageChange::Storage(None), Some("alice/demo#1.7")).to_json_line(),
            r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"storage","tier":null,"id":"alice/demo#1.7"}"#
        );
        assert_eq!(
            event(UsageChange::Storage(Some(StorageTier::Large)), None).to_json_line(),
            r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"storage","tier":"large"}"#
        );
        assert_eq!(
            event(UsageChange::Hardware(Flavor::T4Small), Some("h")).to_string(),
            r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"hardware","flavor":"t4-small","id":"h"}"#
        );
        assert_eq!(
            event(UsageChange::Stage(Stage::Unknown("NEW\"ONE".into())), None).to_json_line(),
            r#"{"at":"2026-11-01T00:00:00.5Z","space":"alice/demo","kind":"stage","stage":"NEW\"ONE"}"#
        );
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\nd\r\te\u{8}\u{c}\u{0}\u{1f}\u{7f}é😀/");
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\nd\\r\\te\\b\\f\\u0000\\u001f\u{7f}é😀/\""
        );
    }
}
