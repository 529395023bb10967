//! The one error type of spaces-config.

/// Everything that can go wrong in spaces-config.
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
}
