//! [`Value`]: a front-matter value without positions, as written. Keys outside the reference are
//! kept as values so that writing a config back loses nothing.

use crate::emit::plain_text_ok;
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
    /// The value in YAML flow style, for messages and complex keys (`[a, {b: c}]`).
    pub fn flow_text(&self) -> String {
        match self {
            Value::Plain(t) => t.clone(),
            Value::Str(t) => format!("{t:?}"),
            Value::Seq(items) => {
                let items: Vec<String> = items.iter().map(Value::flow_text).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Map(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.flow_text(), v.flow_text()))
                    .collect();
                format!("{{{}}}", entries.join(", "))
            }
        }
    }

    /// A mapping key: as [`Value::from`], except that an empty plain key (which cannot be
    /// written back unquoted) is the empty string.
    fn key(node: &Node) -> Value {
        match Value::from(node) {
            Value::Plain(t) if t.is_empty() => Value::Str(t),
            // A list or mapping as a key is kept as its flow text.
            complex @ (Value::Seq(_) | Value::Map(_)) => Value::Str(complex.flow_text()),
            other => other,
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
