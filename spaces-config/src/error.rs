//! The one error type of spaces-config.

/// Everything that can go wrong in spaces-config.
///
/// Problems with the *values* of a README's front matter are not errors of this type: they are
/// [`Diagnostic`](crate::Diagnostic)s, collected all at once by [`check_readme`](crate::check_readme).
/// This type is for what stops reading altogether: no front matter, broken YAML, I/O.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The catalog file is not valid YAML or does not have the catalog's shape.
    #[error("catalog{}: {message}", location.map(|(l, c)| format!(" line {l}, column {c}")).unwrap_or_default())]
    CatalogSyntax {
        /// Line and column (1-based), when known.
        location: Option<(usize, usize)>,
        /// What is wrong.
        message: String,
    },
    /// A catalog value is wrong (a price that is not a decimal, a duplicate flavor, ...).
    #[error("catalog: {0}")]
    CatalogInvalid(String),
    /// The README does not start with a `---` line, so it has no front matter.
    #[error("no front matter: the first line must be `---`, followed by the YAML config and a closing `---` line")]
    NoFrontMatter {
        /// Line in the README (1-based).
        line: usize,
        /// Column in the README (1-based).
        column: usize,
    },
    /// The front matter is opened by `---` and never closed.
    #[error("front matter opened here is never closed: add a line `---` after the last key")]
    Unterminated {
        /// Line of the opening `---` in the README (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
    },
    /// The front matter is not valid YAML, or is not a mapping of keys to values.
    #[error("{message}")]
    Syntax {
        /// Line in the README (1-based).
        line: usize,
        /// Column in the README (1-based).
        column: usize,
        /// What is wrong, and what to write instead where it can be said.
        message: String,
    },
    /// An edit could not be written so that the front matter reads back as intended (a key or
    /// value this crate cannot write in YAML); the README is left unchanged.
    #[error("cannot write `{key}` back into this front matter without changing other keys; edit it by hand")]
    Unwritable {
        /// The key being edited.
        key: String,
    },
}

impl Error {
    /// The line and column in the README file that the error points at, when it has one.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            Error::NoFrontMatter { line, column }
            | Error::Unterminated { line, column }
            | Error::Syntax { line, column, .. } => Some((*line, *column)),
            Error::CatalogSyntax { location, .. } => *location,
            Error::Io { .. } | Error::CatalogInvalid(_) | Error::Unwritable { .. } => None,
        }
    }
}
