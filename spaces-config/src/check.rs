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

/// A value's written text for the `value` field of a diagnostic.
fn written(node: &Node) -> Option<String> {
    node.text().map(str::to_owned)
}

/// The name of item `i` of a list key in messages (`models[1]`; the key alone for a scalar).
fn item_path(key: &str, listed: bool, i: usize) -> String {
    if listed {
        format!("{key}[{i}]")
    } else {
        key.to_owned()
    }
}

/// Whether a text looks like UTF-8 read as Windows-1252 or Latin-1 (`ðŸ“ˆ` for `📈`): a lead
/// character of a multi-byte sequence followed by what a continuation byte becomes.
fn looks_like_mojibake(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).any(|w| {
        let lead = matches!(w[0], 'ð' | 'Ã' | 'â' | 'Â' | 'Ä' | 'Å' | 'ï');
        let cont = matches!(w[1] as u32,
            0x80..=0xBF | 0x152 | 0x153 | 0x160 | 0x161 | 0x178 | 0x17D | 0x17E | 0x192 | 0x2C6
            | 0x2DC | 0x2013..=0x203A | 0x20AC | 0x2122);
        lead && cont
    })
}

/// Lower-cased letters and digits only, to match near-miss key names.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A reference key that an unknown key probably meant (`full_width` → `fullWidth`).
fn suggest_key(key: &str) -> Option<&'static str> {
    let k = squash(key);
    if k.is_empty() {
        return None;
    }
    KNOWN_KEYS
        .iter()
        .find(|known| squash(known) == k)
        .or_else(|| {
            KNOWN_KEYS
                .iter()
                .find(|known| k.len() >= 4 && squash(known).ends_with(&k))
        })
        .copied()
}

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

    /// A scalar's text; `None` (with an error) for a list or a mapping, or (with a warning) for
    /// an empty value.
    fn text<'n>(&mut self, key: &str, node: &'n Node) -> Option<&'n str> {
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
    fn keyword<T>(
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

    fn boolean(&mut self, key: &str, node: &Node) -> Option<bool> {
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
    fn integer(&mut self, key: &str, node: &Node, min: u64, max: u64) -> Option<u64> {
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
    fn list<'n>(&mut self, key: &str, node: &'n Node, single_ok: bool) -> Vec<(&'n str, &'n Node)> {
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

    fn repo_ids(&mut self, key: &str, node: &Node) -> Vec<RepoId> {
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

    fn config(&mut self, entries: &[(Node, Node)]) -> Option<SpaceConfig> {
        // Keys seen so far with their line (a handful: a linear scan beats hashing).
        let mut seen: Vec<(&str, usize)> = Vec::with_capacity(entries.len());
        let mut at = Known::default();
        let mut sdk: Option<Sdk> = None;
        let mut sdk_seen = false;
        let mut c = SpaceConfig::new(Sdk::Gradio);
        for (k, node) in entries {
            let Some(key) = k.text().filter(|_| !k.is_null()) else {
                self.error(
                    "",
                    k,
                    format!("a key must be a name, not {}", k.describe()),
                    None,
                );
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                self.error(
                    key,
                    k,
                    format!("{key} is set twice (first on line {first}); keep one"),
                    None,
                );
                continue;
            }
            seen.push((key, k.line));
            let known = KNOWN_KEYS.iter().find(|&&kk| kk == key).copied();
            if let Some(name) = known {
                at.0.push((name, node));
            }
            match key {
                "title" => c.title = self.text(key, node).map(str::to_owned),
                "emoji" => c.emoji = self.emoji(node),
                "colorFrom" => {
                    c.color_from = self.keyword(key, node, Color::parse, Color::expected)
                }
                "colorTo" => c.color_to = self.keyword(key, node, Color::parse, Color::expected),
                "sdk" => {
                    sdk_seen = true;
                    sdk = self.keyword(
                        key,
                        node,
                        |s| s.parse::<Sdk>().ok(),
                        || "gradio, docker, static, streamlit".to_owned(),
                    );
                    if sdk == Some(Sdk::Streamlit) {
                        self.warn(key, node, "sdk streamlit is deprecated on the Hub: it still runs, but new Spaces should use gradio, or docker with Streamlit inside".to_owned());
                    }
                }
                // Checked once the SDK is known: on docker and static any value is only a warning.
                "sdk_version" => {}
                "python_version" => {
                    if let Some(t) = self.text(key, node) {
                        match PythonVersion::parse(t) {
                            Some(v) => c.python_version = Some(v),
                            None => self.error(
                                key,
                                node,
                                format!("python_version {t:?} is not {}", PythonVersion::EXPECTED),
                                PythonVersion::EXPECTED.to_owned(),
                            ),
                        }
                    }
                }
                "app_file" => {
                    if let Some(t) = self.text(key, node) {
                        if t.trim().is_empty() {
                            self.error(
                                key,
                                node,
                                "app_file is blank: name the app's main file, e.g. app.py"
                                    .to_owned(),
                                None,
                            );
                        } else {
                            match AppPath::new(t) {
                                Ok(path) => c.app_file = Some(path),
                                Err(e) => self.error(
                                    key,
                                    node,
                                    format!("app_file must stay inside the repository: {e}"),
                                    "a path relative to the repository root, e.g. app.py or src/app.py"
                                        .to_owned(),
                                ),
                            }
                        }
                    }
                }
                "app_port" => {
                    c.app_port = self
                        .integer(key, node, 1, 65535)
                        .and_then(|n| u16::try_from(n).ok())
                }
                "base_path" => {
                    if let Some(t) = self.text(key, node) {
                        if t.starts_with('/') {
                            c.base_path = Some(t.to_owned());
                        } else {
                            self.error(
                                key,
                                node,
                                format!("base_path {t:?} must start with `/` (for example /{t})"),
                                "a path starting with `/`".to_owned(),
                            );
                        }
                    }
                }
                "fullWidth" => c.full_width = self.boolean(key, node),
                "header" => c.header = self.keyword(key, node, Header::parse, Header::expected),
                "short_description" => {
                    if let Some(t) = self.text(key, node) {
                        let n = t.chars().count();
                        if n > MAX_SHORT_DESCRIPTION {
                            self.error(key, node, format!("short_description is {n} characters long; at most {MAX_SHORT_DESCRIPTION} are allowed"), format!("at most {MAX_SHORT_DESCRIPTION} characters"));
                        } else {
                            c.short_description = Some(t.to_owned());
                        }
                    }
                }
                "models" => c.models = self.repo_ids(key, node),
                "datasets" => c.datasets = self.repo_ids(key, node),
                "tags" => {
                    c.tags = self
                        .list(key, node, false)
                        .into_iter()
                        .map(|(t, _)| t.to_owned())
                        .collect()
                }
                "thumbnail" => {
                    if let Some(t) = self.text(key, node) {
                        match url::Url::parse(t) {
                            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                                c.thumbnail = Some(u)
                            }
                            Ok(u) => self.error(
                                key,
                                node,
                                format!(
                                    "thumbnail {t:?} is a {} URL; it must be http or https",
                                    u.scheme()
                                ),
                                "an http(s) URL".to_owned(),
                            ),
                            Err(e) => self.error(
                                key,
                                node,
                                format!("thumbnail {t:?} is not a URL ({e})"),
                                "an http(s) URL, e.g. https://example.com/thumb.png".to_owned(),
                            ),
                        }
                    }
                }
                "pinned" => c.pinned = self.boolean(key, node),
                "license" => {
                    if let Some(t) = self.text(key, node) {
                        if !is_hub_license(t) {
                            self.warn(key, node, format!("license {t:?} is not one of the Hub's license ids (such as mit, apache-2.0, other)"));
                        }
                        c.license = Some(t.to_owned());
                    }
                }
                "duplicated_from" => {
                    if let Some(t) = self.text(key, node) {
                        match SpaceId::new(t) {
                            Ok(id) => c.duplicated_from = Some(id),
                            Err(e) => self.error(
                                key,
                                node,
                                format!("duplicated_from {t:?}: {e}"),
                                "a Space id `owner/name`".to_owned(),
                            ),
                        }
                    }
                }
                "hf_oauth" => c.hf_oauth = self.boolean(key, node),
                "hf_oauth_scopes" => {
                    let listed = matches!(node.kind, NodeKind::Seq(_));
                    for (i, (t, item)) in self.list(key, node, false).into_iter().enumerate() {
                        match OAuthScope::parse(t) {
                            Some(s) => c.hf_oauth_scopes.push(s),
                            None => {
                                let path = item_path(key, listed, i);
                                self.error(
                                    &path,
                                    item,
                                    format!(
                                        "{path} {t:?} is not one of {}",
                                        OAuthScope::expected()
                                    ),
                                    OAuthScope::expected(),
                                );
                            }
                        }
                    }
                }
                "hf_oauth_expiration_minutes" => {
                    c.hf_oauth_expiration_minutes = self
                        .integer(key, node, 1, u64::from(MAX_OAUTH_EXPIRATION_MINUTES))
                        .and_then(|n| u32::try_from(n).ok());
                }
                "hf_oauth_authorized_org" => {
                    c.hf_oauth_authorized_org = self
                        .list(key, node, true)
                        .into_iter()
                        .map(|(t, _)| t.to_owned())
                        .collect();
                }
                "disable_embedding" => c.disable_embedding = self.boolean(key, node),
                "startup_duration_timeout" => {
                    if let Some(t) = self.text(key, node) {
                        match StartupTimeout::parse(t) {
                            Some(d) => c.startup_duration_timeout = Some(d),
                            None => self.error(
                                key,
                                node,
                                format!(
                                    "startup_duration_timeout {t:?} is not {}",
                                    StartupTimeout::EXPECTED
                                ),
                                StartupTimeout::EXPECTED.to_owned(),
                            ),
                        }
                    }
                }
                "custom_headers" => c.custom_headers = self.custom_headers(node),
                "preload_from_hub" => {
                    let listed = matches!(node.kind, NodeKind::Seq(_));
                    for (i, (t, item)) in self.list(key, node, false).into_iter().enumerate() {
                        match PreloadItem::parse(t) {
                            Ok(p) => c.preload_from_hub.push(p),
                            Err(why) => {
                                let path = item_path(key, listed, i);
                                self.error(
                                    &path,
                                    item,
                                    format!("{path} {t:?}: {why}"),
                                    PreloadItem::EXPECTED.to_owned(),
                                );
                            }
                        }
                    }
                }
                "suggested_hardware" => {
                    let known = || {
                        Flavor::KNOWN
                            .iter()
                            .map(Flavor::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    if let Some(t) = self.text(key, node) {
                        let f = Flavor::from_wire(t);
                        if f.is_known() {
                            c.suggested_hardware = Some(f);
                        } else {
                            self.error(
                                key,
                                node,
                                format!("suggested_hardware {t:?} is not one of {}", known()),
                                known(),
                            );
                        }
                    }
                }
                "suggested_storage" => {
                    c.suggested_storage = self.keyword(
                        key,
                        node,
                        |s| s.parse().ok(),
                        || StorageTier::ALL.map(StorageTier::as_str).join(", "),
                    );
                }
                other => {
                    let hint = suggest_key(other)
                        .map(|k| format!(" (did you mean {k}?)"))
                        .unwrap_or_default();
                    self.warn(other, k, format!("{other} is not a key of the Space configuration reference; it is kept but the Hub ignores it{hint}"));
                    c.extra.push((other.to_owned(), Value::from(node)));
                }
            }
        }
        let Some(sdk) = sdk else {
            if !sdk_seen {
                self.diags.push(Diagnostic {
                    severity: Severity::Error,
                    key: "sdk".to_owned(),
                    line: self.fence_line,
                    column: 1,
                    value: None,
                    message:
                        "sdk is missing: add a line `sdk: gradio` (or docker, static, streamlit)"
                            .to_owned(),
                    expected: Some("gradio, docker, static, streamlit".to_owned()),
                });
            }
            return None;
        };
        c.sdk = sdk;
        if let (Some(node), Sdk::Gradio | Sdk::Streamlit) = (at.get("sdk_version"), sdk) {
            let key = "sdk_version";
            if let Some(t) = self.text(key, node) {
                match SdkVersion::parse(t) {
                    Some(v) => c.sdk_version = Some(v),
                    None => self.error(
                        key,
                        node,
                        format!("sdk_version {t:?} is not a version"),
                        SdkVersion::EXPECTED.to_owned(),
                    ),
                }
            }
        }
        self.cross_checks(&c, &at);
        Some(c)
    }

    fn emoji(&mut self, node: &Node) -> Option<String> {
        let key = "emoji";
        let text = self.text(key, node)?;
        match check_emoji(text) {
            EmojiCheck::Emoji(1) => Some(text.to_owned()),
            EmojiCheck::Emoji(n) => {
                self.warn(
                    key,
                    node,
                    format!("emoji {text:?} holds {n} emoji; the card shows one"),
                );
                Some(text.to_owned())
            }
            EmojiCheck::Empty => {
                self.error(
                    key,
                    node,
                    "emoji is blank: give one emoji, e.g. emoji: 🚀".to_owned(),
                    "one emoji".to_owned(),
                );
                None
            }
            EmojiCheck::NotEmoji(ch) => {
                let why = if looks_like_mojibake(text) {
                    format!("{ch:?} is not an emoji: this looks like mojibake (UTF-8 read as another encoding); paste the emoji itself or write \"\\U0001F680\"")
                } else if ch.is_alphanumeric() {
                    format!("{ch:?} is a letter or digit, not an emoji")
                } else {
                    format!("{ch:?} (U+{:04X}) is not an emoji", ch as u32)
                };
                self.error(
                    key,
                    node,
                    format!("emoji {text:?}: {why}"),
                    "one emoji, e.g. 🚀".to_owned(),
                );
                None
            }
        }
    }

    fn custom_headers(&mut self, node: &Node) -> CustomHeaders {
        let key = "custom_headers";
        let mut h = CustomHeaders::default();
        let entries = match &node.kind {
            _ if node.is_null() => {
                self.warn(
                    key,
                    node,
                    "custom_headers has no value; it is ignored".to_owned(),
                );
                return h;
            }
            NodeKind::Map(entries) => entries,
            _ => {
                self.error(
                    key,
                    node,
                    format!(
                        "custom_headers must be a mapping of header: value, not {}",
                        node.describe()
                    ),
                    None,
                );
                return h;
            }
        };
        for (k, v) in entries {
            let name_text = k.text().unwrap_or_default();
            let Some(name) = HeaderName::parse(name_text) else {
                let path = format!("{key}.{name_text}");
                self.error(
                    &path,
                    k,
                    format!(
                        "custom_headers {name_text:?} is not one of {}",
                        HeaderName::expected()
                    ),
                    HeaderName::expected(),
                );
                continue;
            };
            let path = format!("{key}.{name_text}");
            let Some(value) = self.text(&path, v) else {
                continue;
            };
            if let Err(expected) = h.set(name, value) {
                self.error(
                    &path,
                    v,
                    format!("{name_text} {value:?} is not one of {expected}"),
                    expected,
                );
            }
        }
        h
    }

    /// Rules that need the SDK or several keys.
    fn cross_checks(&mut self, c: &SpaceConfig, at: &Known<'_>) {
        let sdk = c.sdk;
        if let Some(n) = at.get("sdk_version") {
            if matches!(sdk, Sdk::Docker | Sdk::Static) {
                self.warn("sdk_version", n, format!("sdk_version means nothing for sdk {sdk}: remove it (the version is set in the Dockerfile or the page)"));
            }
        }
        if let Some(n) = at.get("app_port") {
            if sdk != Sdk::Docker {
                self.warn(
                    "app_port",
                    n,
                    format!("app_port is only used by docker Spaces; a {sdk} app listens on 7860"),
                );
            }
        }
        if let Some(n) = at.get("python_version") {
            if matches!(sdk, Sdk::Docker | Sdk::Static) {
                self.warn(
                    "python_version",
                    n,
                    format!("python_version means nothing for sdk {sdk}: the image decides"),
                );
            }
        }
        if sdk == Sdk::Static {
            for key in ["suggested_hardware", "suggested_storage"] {
                if let Some(n) = at.get(key) {
                    self.warn(
                        key,
                        n,
                        format!("{key} means nothing for a static Space: it runs on no hardware"),
                    );
                }
            }
        }
        if c.hf_oauth != Some(true) {
            for key in [
                "hf_oauth_scopes",
                "hf_oauth_expiration_minutes",
                "hf_oauth_authorized_org",
            ] {
                if let Some(n) = at.get(key) {
                    self.warn(key, n, format!("{key} is ignored unless hf_oauth: true"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Checked {
        check_yaml(yaml, 2).unwrap()
    }

    fn only_error(yaml: &str) -> Diagnostic {
        let c = check(yaml);
        let errs: Vec<_> = c.errors().cloned().collect();
        assert_eq!(errs.len(), 1, "{errs:#?}");
        errs[0].clone()
    }

    #[test]
    fn minimal_configs_for_every_sdk() {
        for sdk in ["gradio", "docker", "static", "streamlit"] {
            let c = check(&format!("sdk: {sdk}\n"));
            assert!(c.is_valid(), "{sdk}: {:?}", c.diagnostics);
        }
        let c = check("sdk: streamlit\n");
        assert_eq!(c.warnings().count(), 1);
        assert!(c.diagnostics[0].message.contains("deprecated"));
    }

    #[test]
    fn missing_sdk_points_at_the_fence() {
        let d = only_error("title: x\n");
        assert_eq!((d.key.as_str(), d.line, d.column), ("sdk", 1, 1));
        let d = only_error("sdk: flask\n");
        assert!(
            d.message.contains("\"flask\" is not one of gradio"),
            "{}",
            d.message
        );
    }

    #[test]
    fn versions_keep_their_written_form() {
        let c = check("sdk: gradio\nsdk_version: 4.0\npython_version: 3.10\n")
            .config
            .unwrap();
        assert_eq!(c.sdk_version.unwrap().as_str(), "4.0");
        assert_eq!(c.python_version.unwrap().to_string(), "3.10");
        let d = only_error("sdk: gradio\npython_version: 2.7\n");
        assert_eq!((d.line, d.column, d.value.as_deref()), (3, 17, Some("2.7")));
    }

    #[test]
    fn all_problems_are_collected() {
        let c =
            check("sdk: gradio\ncolorFrom: orange\ncolorTo: teal\napp_port: 0\nemoji: A\nfoo: 1\n");
        assert_eq!(c.errors().count(), 4, "{:#?}", c.diagnostics);
        // app_port on gradio and the unknown key are warnings
        assert!(c.warnings().any(|w| w.key == "foo"));
        assert!(c.config.is_none());
    }

    #[test]
    fn warnings_keep_the_config_valid() {
        let c = check("sdk: docker\nsdk_version: 1.0\nlicense: my-own\nauthor: me\nhardware: t4-small\nemoji: 🔥🚀\n");
        let keys: Vec<_> = c.warnings().map(|d| d.key.as_str()).collect();
        assert_eq!(
            keys,
            ["sdk_version", "license", "author", "hardware", "emoji"]
        );
        assert!(c.diagnostics[3]
            .message
            .contains("did you mean suggested_hardware"));
        let cfg = c.config.unwrap();
        assert_eq!(cfg.extra.len(), 2);
    }

    #[test]
    fn emoji_messages_say_what_is_wrong() {
        let d = only_error("sdk: gradio\nemoji: ðŸ“ˆ\n");
        assert!(d.message.contains("mojibake"), "{}", d.message);
        let d = only_error("sdk: gradio\nemoji: é\n");
        assert!(d.message.contains("letter or digit"), "{}", d.message);
        let d = only_error("sdk: gradio\nemoji: \"\\u2022\"\n");
        assert!(d.message.contains("U+2022"), "{}", d.message);
    }

    #[test]
    fn app_file_outside_the_repository_is_an_error() {
        for bad in [
            "/etc/passwd",
            "../x.py",
            "src/../../x.py",
            "./app.py",
            "a//b.py",
            "\"a\\\\b.py\"",
        ] {
            let d = only_error(&format!("sdk: gradio\napp_file: {bad}\n"));
            assert_eq!(d.key, "app_file", "{bad}");
            assert!(d.message.contains("inside the repository"), "{}", d.message);
            assert!(check(&format!("sdk: gradio\napp_file: {bad}\n"))
                .config
                .is_none());
        }
        let c = check("sdk: gradio\napp_file: src/main.py\n");
        assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
        let cfg = c.config.unwrap();
        assert_eq!(
            cfg.app_file.as_ref().map(AppPath::as_str),
            Some("src/main.py")
        );
        assert_eq!(cfg.app_file().as_str(), "src/main.py");
        let cfg = check("sdk: static\n").config.unwrap();
        assert_eq!(cfg.app_file(), Sdk::Static.default_app_path());
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let d = only_error("sdk: gradio\ntitle: a\ntitle: b\n");
        assert!(
            d.message.contains("set twice (first on line 3)"),
            "{}",
            d.message
        );
    }

    #[test]
    fn each_rule() {
        let bad = [
            "base_path: app",
            "short_description: 0123456789012345678901234567890123456789012345678901234567890",
            "models: [openai/whisper, bad--id]",
            "thumbnail: not a url",
            "thumbnail: ftp://x.org/a.png",
            "hf_oauth: true\nhf_oauth_scopes: [openid, admin]",
            "hf_oauth: true\nhf_oauth_expiration_minutes: 43201",
            "startup_duration_timeout: 30",
            "custom_headers:\n  cross-origin-opener-policy: require-corp",
            "custom_headers:\n  x-frame-options: deny",
            "preload_from_hub:\n  - a/b c,d main",
            "suggested_hardware: h100x9",
            "suggested_storage: huge",
            "pinned: yes",
            "header: big",
            "duplicated_from: alice",
            "title: [a, b]",
        ];
        for b in bad {
            let c = check(&format!("sdk: gradio\n{b}\n"));
            assert_eq!(c.errors().count(), 1, "{b}: {:#?}", c.diagnostics);
        }
        let good = [
            "suggested_hardware: l40sx8",
            "suggested_hardware: zero-a10g",
            "suggested_storage: large",
            "hf_oauth: true\nhf_oauth_authorized_org: acme",
            "hf_oauth: true\nhf_oauth_authorized_org: [acme, foo]\nhf_oauth_expiration_minutes: 43200",
            "startup_duration_timeout: 1h30m",
            "preload_from_hub:\n  - a/b\n  - c/d x.json,y.bin 0123abcd",
            "emoji: \"\\U0001F9E0\"",
            "emoji: 👩‍🔬",
            "custom_headers:\n  cross-origin-embedder-policy: credentialless\n  cross-origin-resource-policy: cross-origin",
        ];
        for g in good {
            let c = check(&format!("sdk: gradio\n{g}\n"));
            assert_eq!(c.diagnostics, [], "{g}");
        }
    }
}
