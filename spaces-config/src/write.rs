//! Writing a [`SpaceConfig`] back as front matter that parses to the same config.

use crate::emit::{text_value, write_entry};
use crate::{SpaceConfig, Value};

fn texts<'a>(items: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Seq(items.into_iter().map(text_value).collect())
}

fn flag(b: bool) -> Value {
    Value::plain(if b { "true" } else { "false" })
}

impl SpaceConfig {
    /// The keys this config sets, with their values as they will be written, in the reference's
    /// order followed by the keys outside the reference.
    pub fn entries(&self) -> Vec<(String, Value)> {
        let mut e: Vec<(&str, Value)> = Vec::new();
        let mut opt = |k: &'static str, v: Option<Value>| {
            if let Some(v) = v {
                e.push((k, v));
            }
        };
        opt("title", self.title.as_deref().map(text_value));
        opt("emoji", self.emoji.as_deref().map(text_value));
        opt(
            "colorFrom",
            self.color_from.map(|c| Value::plain(c.as_str())),
        );
        opt("colorTo", self.color_to.map(|c| Value::plain(c.as_str())));
        opt("sdk", Some(Value::plain(self.sdk.as_str())));
        opt(
            "sdk_version",
            self.sdk_version.as_ref().map(|v| text_value(v.as_str())),
        );
        opt(
            "python_version",
            self.python_version.map(|v| text_value(&v.to_string())),
        );
        opt(
            "app_file",
            self.app_file.as_ref().map(|f| text_value(f.as_str())),
        );
        opt(
            "app_port",
            self.app_port.map(|p| Value::plain(p.to_string())),
        );
        opt("base_path", self.base_path.as_deref().map(text_value));
        opt("fullWidth", self.full_width.map(flag));
        opt("header", self.header.map(|h| Value::plain(h.as_str())));
        opt(
            "short_description",
            self.short_description.as_deref().map(text_value),
        );
        let list = |empty: bool, v: Value| (!empty).then_some(v);
        opt(
            "models",
            list(
                self.models.is_empty(),
                texts(self.models.iter().map(|m| m.as_str())),
            ),
        );
        opt(
            "datasets",
            list(
                self.datasets.is_empty(),
                texts(self.datasets.iter().map(|m| m.as_str())),
            ),
        );
        opt(
            "tags",
            list(
                self.tags.is_empty(),
                texts(self.tags.iter().map(String::as_str)),
            ),
        );
        opt(
            "thumbnail",
            self.thumbnail.as_ref().map(|u| text_value(u.as_str())),
        );
        opt("pinned", self.pinned.map(flag));
        opt("license", self.license.as_deref().map(text_value));
        opt(
            "duplicated_from",
            self.duplicated_from
                .as_ref()
                .map(|s| text_value(s.as_str())),
        );
        opt("hf_oauth", self.hf_oauth.map(flag));
        opt(
            "hf_oauth_scopes",
            list(
                self.hf_oauth_scopes.is_empty(),
                texts(self.hf_oauth_scopes.iter().map(|s| s.as_str())),
            ),
        );
        opt(
            "hf_oauth_expiration_minutes",
            self.hf_oauth_expiration_minutes
                .map(|m| Value::plain(m.to_string())),
        );
        opt(
            "hf_oauth_authorized_org",
            match self.hf_oauth_authorized_org.as_slice() {
                [] => None,
                [one] => Some(text_value(one)),
                many => Some(texts(many.iter().map(String::as_str))),
            },
        );
        opt("disable_embedding", self.disable_embedding.map(flag));
        opt(
            "startup_duration_timeout",
            self.startup_duration_timeout
                .map(|t| text_value(&t.to_string())),
        );
        opt(
            "custom_headers",
            list(
                self.custom_headers.is_empty(),
                Value::Map(
                    self.custom_headers
                        .entries()
                        .into_iter()
                        .map(|(k, v)| (Value::plain(k.as_str()), Value::plain(v)))
                        .collect(),
                ),
            ),
        );
        let preload: Vec<String> = self
            .preload_from_hub
            .iter()
            .map(ToString::to_string)
            .collect();
        opt(
            "preload_from_hub",
            list(
                preload.is_empty(),
                texts(preload.iter().map(String::as_str)),
            ),
        );
        opt(
            "suggested_hardware",
            self.suggested_hardware
                .as_ref()
                .map(|f| text_value(f.as_str())),
        );
        opt(
            "suggested_storage",
            self.suggested_storage.map(|s| Value::plain(s.as_str())),
        );
        let mut out: Vec<(String, Value)> = e.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        out.extend(self.extra.iter().cloned());
        out
    }

    /// The value this config writes for `key`, or `None` when it does not set it.
    pub fn value_of(&self, key: &str) -> Option<Value> {
        self.entries()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The YAML lines of the front matter (without the `---` fences), `\n`-terminated.
    ///
    /// ```
    /// use spaces_config::{parse_readme, PythonVersion, SpaceConfig};
    /// use spaces_core::Sdk;
    /// let mut c = SpaceConfig::new(Sdk::Gradio);
    /// c.title = Some("My demo".into());
    /// c.python_version = PythonVersion::parse("3.10");
    /// let readme = c.to_front_matter();
    /// assert_eq!(readme, "---\ntitle: My demo\nsdk: gradio\npython_version: \"3.10\"\n---\n");
    /// assert_eq!(parse_readme(&readme)?, c);
    /// # Ok::<(), spaces_config::Error>(())
    /// ```
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for (k, v) in self.entries() {
            write_entry(&mut out, 0, &text_value(&k), &v);
        }
        out
    }

    /// The whole front matter, fences included.
    pub fn to_front_matter(&self) -> String {
        format!("---\n{}---\n", self.to_yaml())
    }
}
