//! Validation: from the raw mirror ([`Node`] tree) to a typed [`SpaceConfig`], collecting every
//! problem at once.

use spaces_core::{AppPath, Flavor, Sdk, SpaceId, StorageTier};

use crate::config::{KNOWN_KEYS, MAX_SHORT_DESCRIPTION};
use crate::custom_headers::HeaderName;
use crate::emoji::{check_emoji, EmojiCheck};
use crate::front_matter::FrontMatter;
use crate::license::is_hub_license;
use crate::node::{parse_yaml, Node, NodeKind, ScalarStyle};
use crate::oauth::MAX_OAUTH_EXPIRATION_MINUTES;
use crate::{
    Color, CustomHeaders, Diagnostic, Error, Header, OAuthScope, PreloadItem, PythonVersion,
    RepoId, SdkVersion, Severity, SpaceConfig, StartupTimeout, Value,
};

/// The outcome of checking a front matter: the config when it has no error, and every problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The typed config; `None` when any diagnostic is an error.
    pub config: Option<SpaceConfig>,
    /// Every problem found, errors and warnings, in the order of the file.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Whether the Hub would accept the config (no errors; warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.config.is_some()
    }

    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| !d.is_error())
    }
}

/// Checks a whole README: finds the front matter, parses it and validates every key.
///
/// `Err` when there is no front matter, it is never closed, or it is not valid YAML or not a
/// mapping; every problem with the values is a [`Diagnostic`] in the [`Checked`].
///
/// ```
/// let readme = "---\ntitle: Demo\nsdk: gradio\nsdk_version: 4.0\ncolorFrom: orange\n---\n# Demo\n";
/// let checked = spaces_config::check_readme(readme)?;
/// assert!(!checked.is_valid());
/// let err = checked.errors().next().unwrap();
/// assert_eq!((err.line, err.column), (5, 12));
/// assert!(err.message.starts_with("colorFrom \"orange\" is not one of red, yellow"));
/// # Ok::<(), spaces_config::Error>(())
/// ```
pub fn check_readme(readme: &str) -> Result<Checked, Error> {
    let fm = FrontMatter::find(readme)?;
    check_yaml(fm.yaml(readme), fm.yaml_first_line)
}

/// Checks a README and returns its config when it has no error; otherwise the first error as an
/// [`Error::Syntax`]-like message. Use [`check_readme`] to get every problem.
pub fn parse_readme(readme: &str) -> Result<SpaceConfig, Error> {
    let checked = check_readme(readme)?;
    match checked.config {
        Some(c) => Ok(c),
        None => {
            let first = checked.errors().next().cloned();
            Err(match first {
                Some(d) => Error::Syntax {
                    line: d.line,
                    column: d.column,
                    message: d.message,
                },
                None => Error::Syntax {
                    line: 1,
                    column: 1,
                    message: "invalid front matter".to_owned(),
                },
            })
        }
    }
}

/// Checks a YAML front matter whose first line is README line `first_line`.
pub fn check_yaml(yaml: &str, first_line: usize) -> Result<Checked, Error> {
    let root = parse_yaml(yaml, first_line)?;
    let NodeKind::Map(entries) = &root.kind else {
        return Err(Error::Syntax {
            line: root.line,
            column: root.column,
            message: format!(
                "the front matter must be `key: value` lines, not {}",
                root.describe()
            ),
        });
    };
    let mut v = Validator {
        diags: Vec::new(),
        fence_line: first_line.saturating_sub(1).max(1),
    };
    let config = v.config(entries);
    v.diags.sort_by_key(|d| (d.line, d.column));
    let has_error = v.diags.iter().any(Diagnostic::is_error);
    Ok(Checked {
        config: if has_error { None } else { config },
        diagnostics: v.diags,
    })
}

/// The value node of each reference key present, for the rules that need several keys.
#[derive(Default)]
struct Known<'n>(Vec<(&'static str, &'n Node)>);

impl<'n> Known<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, n)| *n)
    }
}

struct Validator {
    diags: Vec<Diagnostic>,
    fence_line: usize,
}

mod fields;
mod hints;
mod scalars;
mod special;
#[cfg(test)]
mod tests;

use hints::written;

impl Validator {
    fn push(
        &mut self,
        severity: Severity,
        key: &str,
        node: &Node,
        message: String,
        expected: Option<String>,
    ) {
        self.diags.push(Diagnostic {
            severity,
            key: key.to_owned(),
            line: node.line,
            column: node.column,
            value: written(node),
            message,
            expected,
        });
    }

    fn error(
        &mut self,
        key: &str,
        node: &Node,
        message: String,
        expected: impl Into<Option<String>>,
    ) {
        self.push(Severity::Error, key, node, message, expected.into());
    }

    fn warn(&mut self, key: &str, node: &Node, message: String) {
        self.push(Severity::Warning, key, node, message, None);
    }
}
