//! [`Value`]: a front-matter value without positions, as written. Keys outside the reference are
//! kept as values so that writing a config back loses nothing.

use crate::emit::{plain_text_ok, quote};
use crate::node::{Node, NodeKind, ScalarStyle};

/// A YAML value as written, without its place in the file.
///
/// ```
/// use spaces_config::Value;
/// let v = Value::Seq(vec![Value::plain("3.10"), Value::string("a: b")]);
/// assert_eq!(v, Value::Seq(vec![Value::Plain("3.10".into()), Value::Str("a: b".into())]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// An unquoted scalar, with its text (`3.10`, `true`, `gradio`; empty for no value).
    Plain(String),
    /// A quoted or block scalar: always a string.
    Str(String),
    /// A list.
    Seq(Vec<Value>),
    /// A mapping, in written order.
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// An unquoted scalar. Its text must be a valid plain YAML scalar (`true`, `7860`, `gradio`).
    pub fn plain(text: impl Into<String>) -> Value {
        Value::Plain(text.into())
    }

    /// A string, written quoted when needed.
    pub fn string(text: impl Into<String>) -> Value {
        Value::Str(text.into())
    }
}

impl Value {
    /// A mapping key: as [`Value::from`], except that an empty plain key (which cannot be
    /// written back unquoted) is the empty string.
    fn key(node: &Node) -> Value {
        match &node.kind {
            NodeKind::Scalar { .. } => match Value::from(node) {
                Value::Plain(t) if t.is_empty() => Value::Str(t),
                other => other,
            },
            // A list or mapping as a key is kept as its flow text, rendered once from the tree
            // (never from already flattened keys, whose escapes would compound at each level).
            NodeKind::Seq(_) | NodeKind::Map(_) => {
                let mut text = String::new();
                flow_text(node, &mut text);
                Value::Str(text)
            }
        }
    }
}

/// Appends `node` in YAML flow style (`[a, {b: "c"}]`) to `out`.
fn flow_text(node: &Node, out: &mut String) {
    match &node.kind {
        NodeKind::Scalar {
            text,
            style: ScalarStyle::Plain,
        } if plain_text_ok(text) => out.push_str(text),
        NodeKind::Scalar { text, .. } => out.push_str(&quote(text)),
        NodeKind::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow_text(item, out);
            }
            out.push(']');
        }
        NodeKind::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow_text(k, out);
                out.push_str(": ");
                flow_text(v, out);
            }
            out.push('}');
        }
    }
}

impl From<&Node> for Value {
    fn from(node: &Node) -> Value {
        match &node.kind {
            // A plain scalar that cannot be written back unquoted (YAML parsers tolerate some
            // control characters) is kept as a string, so that a write-back reads the same.
            NodeKind::Scalar {
                text,
                style: ScalarStyle::Plain,
            } if plain_text_ok(text) => Value::Plain(text.clone()),
            NodeKind::Scalar { text, .. } => Value::Str(text.clone()),
            NodeKind::Seq(items) => Value::Seq(items.iter().map(Value::from).collect()),
            NodeKind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (Value::key(k), Value::from(v)))
                    .collect(),
            ),
        }
    }
}
