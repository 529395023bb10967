//! A Space's files as the server pushes them: the initial revision of a new Space (a `README.md`
//! with front matter, `.gitattributes`, for static Spaces an `index.html`, plus the `files` of
//! the create body), its card data and push settings, and the server's copy under `<data>/repos/<owner>/<name>` (what a restart
//! pushes again when a crash came before the supervisor committed the push, and what a
//! duplicate copies).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;
use spaces_core::{AppPath, Sdk, SpaceId};

use crate::error::ApiError;

/// At most this many files in a create body.
pub const MAX_FILES: usize = 1000;

/// The files of one revision and what the server derives from them.
#[derive(Debug, Clone)]
pub struct RepoFiles {
    /// Path → content.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The README front matter as JSON (`cardData`).
    pub card_data: Value,
    /// The title (`SPACE_TITLE`).
    pub title: Option<String>,
    /// The app file the README names.
    pub app_file: Option<AppPath>,
    /// The app port the README names.
    pub app_port: Option<u16>,
    /// `suggested_hardware` (applies at creation only, as on the Hub).
    pub suggested_hardware: Option<spaces_core::Flavor>,
    /// `suggested_storage` (applies at creation only).
    pub suggested_storage: Option<spaces_core::StorageTier>,
}

/// What the create body may say about the README.
#[derive(Debug, Default, Clone)]
pub struct CardInput {
    /// `short_description`.
    pub short_description: Option<String>,
    /// `license`.
    pub license: Option<String>,
    /// `sdkVersion`.
    pub sdk_version: Option<String>,
}

const GITATTRIBUTES: &str = "*.7z filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
";

/// Reads the `files: [{path, content, encoding}]` items of a create body.
pub fn parse_files(items: &[Value]) -> Result<BTreeMap<String, Vec<u8>>, ApiError> {
    if items.len() > MAX_FILES {
        return Err(ApiError::bad_request(format!(
            "`files` holds {} files; at most {MAX_FILES} are allowed",
            items.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let field = |name: &str| item.get(name).filter(|v| !v.is_null());
        let path = match field("path") {
            Some(Value::String(p)) => p,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "`files[{i}].path` is required and must be a string"
                )))
            }
        };
        let checked = AppPath::new(path)
            .map_err(|e| ApiError::bad_request(format!("`files[{i}].path`: {e}")))?;
        if checked
            .as_path()
            .components()
            .any(|c| c.as_os_str() == ".git")
        {
            return Err(ApiError::bad_request(format!(
                "`files[{i}].path`: `.git` is not a file of the repository"
            )));
        }
        let content = match field("content") {
            Some(Value::String(c)) => c,
            None => "",
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "`files[{i}].content` must be a string"
                )))
            }
        };
        let bytes = match field("encoding") {
            None => content.as_bytes().to_vec(),
            Some(Value::String(e)) if e.eq_ignore_ascii_case("utf-8") || e == "utf8" => {
                content.as_bytes().to_vec()
            }
            Some(Value::String(e)) if e == "base64" => base64::engine::general_purpose::STANDARD
                .decode(content.trim())
                .map_err(|err| {
                    ApiError::bad_request(format!("`files[{i}].content` is not base64: {err}"))
                })?,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "`files[{i}].encoding` must be \"utf-8\" or \"base64\", not {other}"
                )))
            }
        };
        let key = checked.as_str().to_owned();
        if out.contains_key(&key) || out.keys().any(|k: &String| prefix_clash(k, &key)) {
            return Err(ApiError::bad_request(format!(
                "`files[{i}].path`: `{key}` is given twice or clashes with a folder"
            )));
        }
        out.insert(key, bytes);
    }
    Ok(out)
}

/// Whether one path is a folder of the other.
fn prefix_clash(a: &str, b: &str) -> bool {
    a.strip_prefix(b).is_some_and(|r| r.starts_with('/'))
        || b.strip_prefix(a).is_some_and(|r| r.starts_with('/'))
}

/// A JSON string is a valid YAML double-quoted scalar.
fn yaml_text(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The initial revision of a new Space: the given files, plus the defaults they lack.
pub fn initial(
    id: &SpaceId,
    sdk: Sdk,
    mut files: BTreeMap<String, Vec<u8>>,
    card: &CardInput,
) -> Result<RepoFiles, ApiError> {
    if let Some(d) = &card.short_description {
        if d.chars().count() > spaces_config::MAX_SHORT_DESCRIPTION {
            return Err(ApiError::bad_request(format!(
                "`short_description` length must be less than or equal to {} characters long",
                spaces_config::MAX_SHORT_DESCRIPTION
            )));
        }
    }
    if !files.contains_key("README.md") {
        let mut fm = format!(
            "---\ntitle: {}\nemoji: \u{1f680}\ncolorFrom: blue\ncolorTo: green\nsdk: {}\n",
            yaml_text(id.name()),
            sdk.as_str()
        );
        if let Some(v) = &card.sdk_version {
            fm.push_str(&format!("sdk_version: {}\n", yaml_text(v)));
        }
        fm.push_str("pinned: false\n");
        if let Some(d) = &card.short_description {
            fm.push_str(&format!("short_description: {}\n", yaml_text(d)));
        }
        if let Some(l) = &card.license {
            fm.push_str(&format!("license: {}\n", yaml_text(l)));
        }
        fm.push_str(
            "---\n\nCheck out the configuration reference at \
             https://huggingface.co/docs/hub/spaces-config-reference\n",
        );
        files.insert("README.md".into(), fm.into_bytes());
    }
    files
        .entry(".gitattributes".into())
        .or_insert_with(|| GITATTRIBUTES.as_bytes().to_vec());
    if sdk == Sdk::Static && !files.contains_key("index.html") {
        let page = format!(
            "<!doctype html>\n<html>\n<head><meta charset=\"utf-8\"><title>{0}</title></head>\n\
             <body><h1>{0}</h1><p>A static Space.</p></body>\n</html>\n",
            html_escape(id.as_str())
        );
        files.insert("index.html".into(), page.into_bytes());
    }
    // A path below a file: the default files count too.
    for path in files.keys() {
        for (at, _) in path.match_indices('/') {
            if files.contains_key(&path[..at]) {
                return Err(ApiError::bad_request(format!(
                    "`files`: `{path}` would be inside `{}`, which is a file",
                    &path[..at]
                )));
            }
        }
    }
    describe(sdk, files)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Reads the README of a set of files into card data and push settings.
pub fn describe(sdk: Sdk, files: BTreeMap<String, Vec<u8>>) -> Result<RepoFiles, ApiError> {
    let mut out = RepoFiles {
        files,
        card_data: Value::Null,
        title: None,
        app_file: None,
        app_port: None,
        suggested_hardware: None,
        suggested_storage: None,
    };
    let Some(readme) = out.files.get("README.md") else {
        return Ok(out);
    };
    let text = std::str::from_utf8(readme)
        .map_err(|_| ApiError::bad_request("`files`: README.md is not UTF-8"))?;
    if spaces_config::FrontMatter::find(text).is_err() {
        // A README without front matter: no card data; the SDK's defaults apply.
        return Ok(out);
    }
    let config = spaces_config::parse_readme(text)
        .map_err(|e| ApiError::bad_request(format!("`files`: README.md: {e}")))?;
    if config.sdk != sdk {
        return Err(ApiError::bad_request(format!(
            "`files`: README.md says `sdk: {}` but the Space's sdk is `{}`",
            config.sdk.as_str(),
            sdk.as_str()
        )));
    }
    if let Ok(fm) = spaces_config::FrontMatter::find(text) {
        out.card_data = serde_yaml::from_str::<Value>(fm.yaml(text)).unwrap_or(Value::Null);
    }
    out.title = config.title.clone();
    out.app_file = config.app_file.clone();
    out.app_port = config.app_port;
    out.suggested_hardware = config.suggested_hardware.clone();
    out.suggested_storage = config.suggested_storage;
    Ok(out)
}

/// The server's copy of a Space's files.
pub fn repo_dir(data: &Path, id: &SpaceId) -> PathBuf {
    data.join("repos").join(id.owner()).join(id.name())
}

/// Writes files into `dir` (replacing it), through a temporary folder and a rename, each file
/// synced.
pub fn write_dir(dir: &Path, files: &BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
    use std::io::Write;
    let parent = dir.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(
        ".tmp-{}-{}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("repo"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    for (path, content) in files {
        let target = tmp.join(path);
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p)?;
        }
        let mut f = std::fs::File::create(&target)?;
        f.write_all(content)?;
        f.sync_all()?;
    }
    std::fs::create_dir_all(&tmp)?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&tmp, dir)?;
    if let Ok(d) = std::fs::File::open(parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads a folder back into files (regular files only, `.git` skipped).
pub fn read_dir(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_name() == ".git" {
                continue;
            }
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if kind.is_file() {
                if let Ok(rel) = path.strip_prefix(root) {
                    out.insert(rel.to_string_lossy().into_owned(), std::fs::read(&path)?);
                }
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_are_checked() {
        let ok = parse_files(&[
            json!({"path": "app.py", "content": "print(1)"}),
            json!({"path": "a/b.bin", "content": "AAE=", "encoding": "base64"}),
        ])
        .unwrap();
        assert_eq!(ok["a/b.bin"], vec![0, 1]);
        for bad in [
            json!({"path": "../x", "content": ""}),
            json!({"path": "/etc/passwd", "content": ""}),
            json!({"path": ".git/config", "content": ""}),
            json!({"path": "x", "content": "!!", "encoding": "base64"}),
            json!({"path": "x", "content": "", "encoding": "utf-16"}),
            json!({"content": ""}),
        ] {
            assert!(parse_files(std::slice::from_ref(&bad)).is_err(), "{bad}");
        }
        assert!(parse_files(&[
            json!({"path": "a", "content": ""}),
            json!({"path": "a/b", "content": ""})
        ])
        .is_err());
    }

    #[test]
    fn initial_revision_of_a_static_space() {
        let id: SpaceId = "alice/demo".parse().unwrap();
        let r = initial(&id, Sdk::Static, BTreeMap::new(), &CardInput::default()).unwrap();
        assert!(r.files.contains_key("index.html") && r.files.contains_key(".gitattributes"));
        assert_eq!(r.card_data["sdk"], "static");
        assert_eq!(r.card_data["title"], "demo");
        let wrong = BTreeMap::from([("README.md".to_owned(), b"---\nsdk: gradio\n---\n".to_vec())]);
        assert!(initial(&id, Sdk::Static, wrong, &CardInput::default()).is_err());
        let under = BTreeMap::from([
            ("index.html-a".to_owned(), b"".to_vec()),
            ("index.html/x".to_owned(), b"".to_vec()),
        ]);
        assert!(initial(&id, Sdk::Static, under, &CardInput::default()).is_err());
    }
}
