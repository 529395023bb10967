//! The keys with rules of their own (`emoji`, `custom_headers`) and the checks across keys.

use super::hints::looks_like_mojibake;
use super::*;

impl Validator {
    pub(super) fn emoji(&mut self, node: &Node) -> Option<String> {
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

    pub(super) fn custom_headers(&mut self, node: &Node) -> CustomHeaders {
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
    pub(super) fn cross_checks(&mut self, c: &SpaceConfig, at: &Known<'_>) {
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
