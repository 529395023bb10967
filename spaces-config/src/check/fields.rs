//! The whole front matter, key by key, into a [`SpaceConfig`].

use super::hints::{item_path, suggest_key};
use super::*;

impl Validator {
    pub(super) fn config(&mut self, entries: &[(Node, Node)]) -> Option<SpaceConfig> {
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
}
