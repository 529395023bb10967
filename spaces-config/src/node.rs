//! The raw mirror of the front matter: a YAML tree whose every node knows its line and column in
//! the README and keeps each scalar exactly as written.
//!
//! Scalars are never resolved to numbers or booleans here: `python_version: 3.10` is the text
//! `3.10`, not the float 3.1. The validator decides what each key's text means.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::Error;

/// Deepest nesting accepted (a front matter needs three or four levels).
pub const MAX_DEPTH: usize = 64;
/// Most nodes accepted, aliases expanded (guards against alias bombs).
pub const MAX_NODES: usize = 100_000;

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    /// Unquoted (`3.10`, `true`, `gradio`, or nothing at all).
    Plain,
    /// Single- or double-quoted, or tagged `!!str`: always a string.
    Quoted,
    /// A literal (`|`) or folded (`>`) block: always a string.
    Block,
}

/// A YAML node with its place in the README.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// Line in the README (1-based).
    pub line: usize,
    /// Column in the README (1-based, in characters).
    pub column: usize,
}

/// The three shapes of a YAML node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A scalar, as written (after unquoting and escapes), with its style.
    Scalar {
        /// The text.
        text: String,
        /// How it was written.
        style: ScalarStyle,
    },
    /// A sequence (block `- x` or flow `[x, y]`).
    Seq(Vec<Node>),
    /// A mapping, in written order (duplicate keys are kept; the validator reports them).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// Whether this is a plain scalar that YAML reads as null (`null`, `~`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, style: ScalarStyle::Plain }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The scalar's text, if this is a scalar.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The scalar's style, if this is a scalar.
    pub fn style(&self) -> Option<ScalarStyle> {
        match &self.kind {
            NodeKind::Scalar { style, .. } => Some(*style),
            _ => None,
        }
    }

    /// How many nodes this tree holds (itself included).
    fn size(&self) -> usize {
        match &self.kind {
            NodeKind::Scalar { .. } => 1,
            NodeKind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            NodeKind::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
        }
    }

    /// A short description of the node's shape, for messages (`a list`, `a mapping`, `"x"`).
    pub fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Scalar { text, .. } if self.is_null() => {
                if text.is_empty() {
                    "nothing".to_owned()
                } else {
                    text.clone()
                }
            }
            NodeKind::Scalar { text, .. } => format!("{text:?}"),
            NodeKind::Seq(_) => "a list".to_owned(),
            NodeKind::Map(_) => "a mapping".to_owned(),
        }
    }
}

enum Frame {
    Seq(Node, Vec<Node>, usize),
    Map(Node, Vec<(Node, Node)>, Option<Node>, usize),
}

struct Builder {
    first_line: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    root: Option<Node>,
}

impl Builder {
    fn at(&self, mark: &Marker) -> (usize, usize) {
        (
            self.first_line + mark.line().saturating_sub(1),
            mark.col() + 1,
        )
    }

    fn error(&self, mark: &Marker, message: String) -> Error {
        let (line, column) = self.at(mark);
        Error::Syntax {
            line,
            column,
            message,
        }
    }

    fn count(&mut self, n: usize, mark: &Marker) -> Result<(), Error> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(self.error(
                mark,
                format!("the front matter expands to more than {MAX_NODES} values (aliases?)"),
            ));
        }
        Ok(())
    }

    /// Hands a finished node to its parent (or makes it the root).
    fn push(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let size = node.size();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            Some(Frame::Seq(_, items, _)) => items.push(node),
            Some(Frame::Map(_, entries, pending, _)) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => *pending = Some(node),
            },
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
        }
    }

    fn open(&mut self, frame: Frame, mark: &Marker) -> Result<(), Error> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(mark, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.count(1, mark)?;
        self.stack.push(frame);
        Ok(())
    }
}

/// Explains a YAML scanner message in terms a person can act on.
fn explain(e: &ScanError) -> String {
    let info = e.info();
    let hint = if info.contains("mapping values are not allowed") {
        ": a value that contains `: ` must be quoted, e.g. title: \"Demo: part 1\""
    } else if info.contains("tab") {
        ": indent with spaces, not tabs"
    } else if info.contains("did not find expected key") || info.contains("block mapping") {
        ": check the indentation of this line against the keys above it"
    } else if info.contains("did not find expected ',' or ']'") {
        ": a flow list is written [a, b, c]"
    } else {
        ""
    };
    format!("invalid YAML: {info}{hint}")
}

/// The byte offset of the first `\r` that is not followed by `\n`.
fn lone_carriage_return(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    bytes
        .iter()
        .enumerate()
        .find(|&(i, &b)| b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
        .map(|(i, _)| i)
}

/// Parses a YAML fragment whose first line is README line `first_line` into a [`Node`] tree.
///
/// An empty fragment (or one of comments only) gives an empty mapping. Syntax errors, unknown
/// aliases, nesting deeper than [`MAX_DEPTH`] and more than [`MAX_NODES`] nodes are
/// [`Error::Syntax`] with the README line and column.
pub fn parse_yaml(yaml: &str, first_line: usize) -> Result<Node, Error> {
    // A carriage return alone would be a line break to YAML but not to the README's line count.
    if let Some(at) = lone_carriage_return(yaml) {
        let before = &yaml[..at];
        let line = first_line + before.matches('\n').count();
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        return Err(Error::Syntax {
            line,
            column,
            message: "a carriage return (\\r) not followed by a line feed: save the file with LF or CRLF line endings".to_owned(),
        });
    }
    // CRLF becomes `\n`, so that every line and column is the README's.
    let normalized;
    let yaml = if yaml.contains('\r') {
        normalized = yaml.replace("\r\n", "\n");
        normalized.as_str()
    } else {
        yaml
    };
    let mut parser = Parser::new_from_str(yaml);
    let mut b = Builder {
        first_line,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
    };
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let (line, column) = b.at(e.marker());
            Error::Syntax {
                line,
                column,
                message: explain(&e),
            }
        })?;
        let (line, column) = b.at(&mark);
        let empty = |kind| Node { kind, line, column };
        match event {
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                if b.root.is_some() {
                    // Only the end of the stream may follow: a second document is an error.
                    match parser.next_token() {
                        Ok((Event::StreamEnd, _)) => break,
                        Ok((_, mark)) => {
                            return Err(b.error(
                                &mark,
                                "a second YAML document starts here: the front matter is one mapping of keys (remove the `...` or `---` line above)".to_owned(),
                            ))
                        }
                        Err(e) => {
                            let (line, column) = b.at(e.marker());
                            return Err(Error::Syntax {
                                line,
                                column,
                                message: explain(&e),
                            });
                        }
                    }
                }
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart => {}
            Event::Scalar(text, style, anchor, tag) => {
                b.count(1, &mark)?;
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let style = match style {
                    TScalarStyle::Plain if !is_str_tag => ScalarStyle::Plain,
                    TScalarStyle::Literal | TScalarStyle::Folded => ScalarStyle::Block,
                    _ => ScalarStyle::Quoted,
                };
                b.push(empty(NodeKind::Scalar { text, style }), anchor);
            }
            Event::Alias(id) => {
                let Some((node, size)) = b.anchors.get(&id).cloned() else {
                    return Err(b.error(&mark, "alias to an unknown anchor".to_owned()));
                };
                b.count(size, &mark)?;
                b.push(
                    Node {
                        line,
                        column,
                        ..node
                    },
                    0,
                );
            }
            Event::SequenceStart(anchor, _) => {
                b.open(
                    Frame::Seq(empty(NodeKind::Seq(Vec::new())), Vec::new(), anchor),
                    &mark,
                )?;
            }
            Event::MappingStart(anchor, _) => {
                b.open(
                    Frame::Map(empty(NodeKind::Map(Vec::new())), Vec::new(), None, anchor),
                    &mark,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match b.stack.pop() {
                    Some(Frame::Seq(mut node, items, anchor)) => {
                        node.kind = NodeKind::Seq(items);
                        (node, anchor)
                    }
                    Some(Frame::Map(mut node, entries, _, anchor)) => {
                        node.kind = NodeKind::Map(entries);
                        (node, anchor)
                    }
                    None => return Err(b.error(&mark, "unbalanced YAML structure".to_owned())),
                };
                b.push(node, anchor);
            }
        }
    }
    Ok(b.root.unwrap_or(Node {
        kind: NodeKind::Map(Vec::new()),
        line: first_line,
        column: 1,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(yaml: &str) -> Vec<(Node, Node)> {
        match parse_yaml(yaml, 2).unwrap().kind {
            NodeKind::Map(m) => m,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn scalars_keep_their_written_form_and_place() {
        let m = map("sdk: gradio\npython_version: 3.10\nsdk_version: '4.0'\n");
        assert_eq!(m[1].0.text(), Some("python_version"));
        assert_eq!(m[1].1.text(), Some("3.10"));
        assert_eq!(m[1].1.style(), Some(ScalarStyle::Plain));
        assert_eq!((m[1].1.line, m[1].1.column), (3, 17));
        assert_eq!(m[2].1.style(), Some(ScalarStyle::Quoted));
        assert_eq!((m[0].0.line, m[0].0.column), (2, 1));
    }

    #[test]
    fn lists_flow_and_block_and_crlf() {
        let m = map("tags: [a, b]\r\nmodels:\r\n    - x/y\r\n    - z\r\n");
        match &m[1].1.kind {
            NodeKind::Seq(items) => {
                assert_eq!(items[1].text(), Some("z"));
                assert_eq!((items[1].line, items[1].column), (5, 7));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn syntax_errors_point_into_the_readme() {
        let err = parse_yaml("sdk: gradio\ntitle: a: b\n", 2).unwrap_err();
        let Error::Syntax { line, message, .. } = err else {
            panic!()
        };
        assert_eq!(line, 3);
        assert!(message.contains("quoted"), "{message}");
    }

    #[test]
    fn aliases_expand_with_a_limit() {
        let m = map("a: &x [1, 2]\nb: *x\n");
        assert_eq!(m[1].1.kind, m[0].1.kind);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        assert!(parse_yaml(&bomb, 2).is_err());
        let deep = format!("a: {}{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_yaml(&deep, 2).is_err());
    }

    #[test]
    fn one_document_and_no_lone_carriage_return() {
        assert!(parse_yaml("sdk: gradio\n...\n# done\n", 2).is_ok());
        let Err(Error::Syntax { line, .. }) = parse_yaml("sdk: gradio\n...\ntitle: x\n", 2) else {
            panic!()
        };
        assert_eq!(line, 4);
        let Err(Error::Syntax { line, column, .. }) = parse_yaml("sdk: gradio\ntitle: a\rb\n", 2)
        else {
            panic!()
        };
        assert_eq!((line, column), (3, 9));
    }

    #[test]
    fn empty_fragment_is_an_empty_map() {
        assert!(map("").is_empty());
        assert!(map("# only a comment\n").is_empty());
    }
}
