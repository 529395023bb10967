//! Reading one value of a key: text, keywords, booleans, integers, lists and repo ids, each
//! with its diagnostics.

use super::*;

impl Validator {
    /// A scalar's text; `None` (with an error) for a list or a mapping, or (with a warning) for
    /// an empty value.
    pub(super) fn text<'n>(&mut self, key: &str, node: &'n Node) -> Option<&'n str> {
        if node.is_null() {
            self.warn(key, node, format!("{key} has no value; it is ignored"));
            return None;
        }
        match node.text() {
            Some(t) => Some(t),
            None => {
                self.error(
                    key,
                    node,
                    format!("{key} must be a single value, not {}", node.describe()),
                    None,
                );
                None
            }
        }
    }

    /// A keyword from a closed set.
    pub(super) fn keyword<T>(
        &mut self,
        key: &str,
        node: &Node,
        parse: fn(&str) -> Option<T>,
        expected: fn() -> String,
    ) -> Option<T> {
        let text = self.text(key, node)?;
        match parse(text) {
            Some(v) => Some(v),
            None => {
                let expected = expected();
                self.error(
                    key,
                    node,
                    format!("{key} {text:?} is not one of {expected}"),
                    expected,
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, key: &str, node: &Node) -> Option<bool> {
        let text = self.text(key, node)?;
        let b = match text {
            "true" | "True" | "TRUE" => true,
            "false" | "False" | "FALSE" => false,
            _ => {
                let hint = if matches!(
                    text.to_ascii_lowercase().as_str(),
                    "yes" | "no" | "on" | "off" | "y" | "n"
                ) {
                    " (YAML 1.2 reads it as text)"
                } else {
                    ""
                };
                self.error(
                    key,
                    node,
                    format!("{key} {text:?} is not true or false{hint}"),
                    "true or false".to_owned(),
                );
                return None;
            }
        };
        if node.style() != Some(ScalarStyle::Plain) {
            self.warn(
                key,
                node,
                format!("{key} is the quoted text {text:?}; write {text} without quotes"),
            );
        }
        Some(b)
    }

    /// A whole number within `min..=max`.
    pub(super) fn integer(&mut self, key: &str, node: &Node, min: u64, max: u64) -> Option<u64> {
        let text = self.text(key, node)?;
        let digits = text.strip_prefix('+').unwrap_or(text);
        let expected = format!("a whole number from {min} to {max}");
        let n = if !digits.is_empty()
            && digits.len() <= 12
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            digits.parse::<u64>().ok()
        } else {
            None
        };
        match n {
            Some(n) if (min..=max).contains(&n) => {
                if node.style() != Some(ScalarStyle::Plain) {
                    self.warn(
                        key,
                        node,
                        format!("{key} is the quoted text {text:?}; write {n} without quotes"),
                    );
                }
                Some(n)
            }
            _ => {
                self.error(
                    key,
                    node,
                    format!("{key} {text:?} is not {expected}"),
                    expected,
                );
                None
            }
        }
    }

    /// A list of scalars (a single scalar is accepted as a one-item list, with a warning).
    pub(super) fn list<'n>(
        &mut self,
        key: &str,
        node: &'n Node,
        single_ok: bool,
    ) -> Vec<(&'n str, &'n Node)> {
        match &node.kind {
            _ if node.is_null() => {
                self.warn(key, node, format!("{key} has no value; it is ignored"));
                Vec::new()
            }
            NodeKind::Seq(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let path = || format!("{key}[{i}]");
                    match item.text() {
                        Some(_) if item.is_null() => {
                            let path = path();
                            self.error(
                                &path,
                                item,
                                format!("{path} is empty; remove the `-` or give it a value"),
                                None,
                            );
                        }
                        Some(t) => out.push((t, item)),
                        None => {
                            let path = path();
                            self.error(
                                &path,
                                item,
                                format!("{path} must be a single value, not {}", item.describe()),
                                None,
                            );
                        }
                    }
                }
                out
            }
            NodeKind::Scalar { text, .. } => {
                if !single_ok {
                    self.warn(key, node, format!("{key} is a list: write {key}: [{text}]"));
                }
                vec![(text.as_str(), node)]
            }
            NodeKind::Map(_) => {
                self.error(
                    key,
                    node,
                    format!("{key} must be a list, not a mapping"),
                    None,
                );
                Vec::new()
            }
        }
    }

    pub(super) fn repo_ids(&mut self, key: &str, node: &Node) -> Vec<RepoId> {
        let mut out = Vec::new();
        for (i, (text, item)) in self.list(key, node, false).into_iter().enumerate() {
            match RepoId::parse(text) {
                Ok(id) => out.push(id),
                Err(rule) => {
                    let path = if matches!(node.kind, NodeKind::Seq(_)) {
                        format!("{key}[{i}]")
                    } else {
                        key.to_owned()
                    };
                    self.error(
                        &path,
                        item,
                        format!("{path} {text:?} is not a repo id: {rule}"),
                        RepoId::EXPECTED.to_owned(),
                    );
                }
            }
        }
        out
    }
}
