//! Writing [`Value`]s as block-style YAML that parses back to the same values.

use crate::Value;

/// Words that YAML 1.1 or 1.2 reads as something other than text.
const RESERVED: &[&str] = &[
    "null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes",
    "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
];

/// The longest key YAML reads in the implicit `key: value` form (1024 minus some margin).
const MAX_SIMPLE_KEY: usize = 1000;

/// Whether a non-ASCII character may stand unescaped in a YAML scalar.
fn printable_unicode(c: char) -> bool {
    let u = c as u32;
    u >= 0xA0 && !c.is_whitespace() && c != '\u{feff}' && !(0xFFFE..=0xFFFF).contains(&u)
}

/// Whether `s` can be written unquoted and read back as the same text (conservative).
pub fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let first_ok =
        first.is_ascii_alphabetic() || first == '_' || first == '/' || printable_unicode(first);
    first_ok
        && !s.ends_with(' ')
        && !RESERVED.contains(&s)
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, ' ' | '_' | '-' | '.' | '/' | '+' | '(' | ')' | '@')
                || printable_unicode(c)
        })
        && !s.contains("  ")
}

/// `s` as a double-quoted YAML scalar, every character that needs it escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20
                || (0x7F..0xA0).contains(&(c as u32))
                || matches!(
                    c,
                    '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A text as a [`Value`] that writes unquoted when it safely can.
pub fn text_value(s: &str) -> Value {
    if plain_safe(s) {
        Value::Plain(s.to_owned())
    } else {
        Value::Str(s.to_owned())
    }
}

/// Whether a plain scalar's text can be written back unquoted in block context and read back as
/// the same plain text.
pub(crate) fn plain_text_ok(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return true;
    };
    let first_ok = match first {
        '-' => chars.next().is_some_and(|c| !c.is_whitespace()),
        c => !"?:,[]{}#&*!|>'\"%@`".contains(c) && !c.is_whitespace(),
    };
    first_ok
        && !s.starts_with("---")
        && !s.starts_with("...")
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains(":\t")
        && !s.contains("\t#")
        && !s.ends_with(':')
        && !s.ends_with(char::is_whitespace)
        && s.chars().all(|c| {
            (c as u32) >= 0x20 && c != '\u{7f}' && (c.is_ascii() || printable_unicode(c))
                || c == ' '
        })
}

fn scalar(text: &str, plain: bool) -> String {
    if plain && (text.is_empty() || plain_text_ok(text)) {
        text.to_owned()
    } else {
        quote(text)
    }
}

fn key_text(key: &Value) -> String {
    match key {
        Value::Plain(t) if !t.is_empty() => scalar(t, true),
        Value::Plain(t) | Value::Str(t) => quote(t),
        Value::Seq(_) | Value::Map(_) => quote("?"),
    }
}

/// Writes `key: value` (and its nested lines) at `indent` spaces, each line ended by `\n`.
pub fn write_entry(out: &mut String, indent: usize, key: &Value, value: &Value) {
    let key = key_text(key);
    out.push_str(&" ".repeat(indent));
    if key.chars().count() > MAX_SIMPLE_KEY {
        // YAML limits implicit keys to 1024 characters: longer ones take the explicit `? ` form.
        out.push_str("? ");
        out.push_str(&key);
        out.push('\n');
        out.push_str(&" ".repeat(indent));
    } else {
        out.push_str(&key);
    }
    out.push(':');
    write_after_indicator(out, indent, value);
}

/// Writes a value that follows `key:` or `-`: on the same line for scalars and empty
/// collections, on the next lines (indented) otherwise.
fn write_after_indicator(out: &mut String, indent: usize, value: &Value) {
    match value {
        Value::Plain(t) if t.is_empty() => out.push('\n'),
        Value::Plain(t) => {
            out.push(' ');
            out.push_str(&scalar(t, true));
            out.push('\n');
        }
        Value::Str(t) => {
            out.push(' ');
            out.push_str(&quote(t));
            out.push('\n');
        }
        Value::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Value::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Value::Seq(items) => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent + 2));
                out.push('-');
                write_after_indicator(out, indent + 2, item);
            }
        }
        Value::Map(entries) => {
            out.push('\n');
            for (k, v) in entries {
                write_entry(out, indent + 2, k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::parse_yaml;

    fn round_trip(v: &Value) -> Value {
        let mut out = String::new();
        write_entry(&mut out, 0, &Value::plain("k"), v);
        let node = parse_yaml(&out, 1).unwrap();
        match Value::from(&node) {
            Value::Map(mut e) => e.remove(0).1,
            other => panic!("{other:?} from {out}"),
        }
    }

    #[test]
    fn values_round_trip() {
        let vs = [
            Value::plain("3.10"),
            Value::plain(""),
            Value::string("a: b # c"),
            Value::string("line\nbreak \"q\" \\ \u{feff}\u{7}"),
            Value::string(""),
            Value::Seq(vec![
                Value::plain("a"),
                Value::Seq(vec![]),
                Value::Map(vec![(Value::plain("x"), Value::plain("1"))]),
            ]),
            Value::Map(vec![(
                Value::string("quoted key"),
                Value::Seq(vec![Value::plain("1"), Value::string("2")]),
            )]),
        ];
        for v in vs {
            assert_eq!(round_trip(&v), v);
        }
    }

    #[test]
    fn plain_only_when_safe() {
        for ok in ["My Space", "apache-2.0", "gradio", "Démo 🚀"] {
            assert!(plain_safe(ok), "{ok}");
        }
        for no in [
            "",
            "3.10",
            "true",
            "no",
            "a: b",
            "#x",
            "-x",
            " x",
            "x ",
            "a #b",
            "https://x",
            "a,b",
        ] {
            assert!(!plain_safe(no), "{no}");
        }
    }
}

#[cfg(test)]
mod long_key_tests {
    use super::*;
    use crate::node::parse_yaml;

    #[test]
    fn keys_longer_than_yaml_allows_inline_use_the_explicit_form() {
        for key in [
            Value::string("\u{1}".repeat(400)),
            Value::plain("k".repeat(1500)),
        ] {
            let v = Value::Map(vec![(key, Value::Seq(vec![Value::plain("x")]))]);
            let mut out = String::new();
            write_entry(&mut out, 0, &Value::plain("top"), &v);
            let node = parse_yaml(&out, 1).unwrap();
            assert_eq!(
                Value::from(&node),
                Value::Map(vec![(Value::plain("top"), v)])
            );
        }
    }
}
