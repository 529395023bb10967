//! Problems found in a front matter: each says which key, where in the README, the bad value and
//! what would be accepted.

use std::fmt;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Accepted by the Hub, but probably not what the author meant.
    Warning,
    /// The Hub refuses the config (the Space would end in `CONFIG_ERROR`).
    Error,
}

impl Severity {
    /// `error` or `warning`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in a front matter.
///
/// Its [`Display`](fmt::Display) is compiler-like, `line:column: severity: message`; prefix it
/// with the file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The key concerned, with a path for nested values (`models[1]`,
    /// `custom_headers.cross-origin-opener-policy`); empty for the front matter as a whole.
    pub key: String,
    /// Line in the README (1-based).
    pub line: usize,
    /// Column in the README (1-based, in characters).
    pub column: usize,
    /// The offending value as written, when there is one.
    pub value: Option<String>,
    /// What is wrong, in a sentence that names the key and the value.
    pub message: String,
    /// What would be accepted instead, when it can be said.
    pub expected: Option<String>,
}

impl Diagnostic {
    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.severity, self.message
        )
    }
}
