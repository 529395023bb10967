//! Editing one key of an existing README: the body, the other keys, their comments and their
//! layout stay byte for byte as they were.

use crate::emit::{text_value, write_entry};
use crate::front_matter::FrontMatter;
use crate::node::{parse_yaml, Node, NodeKind};
use crate::{Error, SpaceConfig, Value};

/// Sets `key` to `value` in the README's front matter, or adds it at the end of the front matter
/// when absent. Returns the new README.
///
/// The edited text is not validated: check it with [`check_readme`](crate::check_readme).
///
/// ```
/// use spaces_config::{set_key, Value};
/// let readme = "---\r\ntitle: Demo # keep me\r\nsdk: gradio\r\nsdk_version: 3.50.2\r\n---\r\n# Body\r\n";
/// let new = set_key(readme, "sdk_version", &Value::string("4.44.1"))?;
/// assert_eq!(new, "---\r\ntitle: Demo # keep me\r\nsdk: gradio\r\nsdk_version: \"4.44.1\"\r\n---\r\n# Body\r\n");
/// # Ok::<(), spaces_config::Error>(())
/// ```
pub fn set_key(readme: &str, key: &str, value: &Value) -> Result<String, Error> {
    edit(readme, key, Some(value))
}

/// Removes `key` (and its nested lines) from the README's front matter, if present.
pub fn remove_key(readme: &str, key: &str) -> Result<String, Error> {
    edit(readme, key, None)
}

/// Writes `key` as `config` has it into the README (removing it when the config does not set
/// it), leaving everything else as it was.
pub fn update_key(readme: &str, config: &SpaceConfig, key: &str) -> Result<String, Error> {
    edit(readme, key, config.value_of(key).as_ref())
}

fn is_trailing_filler(line: &str) -> bool {
    let t = line.trim_end_matches(['\n', '\r']);
    t.trim().is_empty() || t.starts_with('#') || t.trim_end() == "..."
}

fn edit(readme: &str, key: &str, value: Option<&Value>) -> Result<String, Error> {
    let fm = FrontMatter::find(readme)?;
    let yaml = fm.yaml(readme);
    let root = parse_yaml(yaml, fm.yaml_first_line)?;
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
    let nl = fm.newline;
    let mut new_entry = String::new();
    if let Some(v) = value {
        write_entry(&mut new_entry, 0, &text_value(key), v);
    }
    let new_entry = if nl == "\n" {
        new_entry
    } else {
        new_entry.replace('\n', nl)
    };

    let block = entries.iter().all(|(k, _)| k.column == 1)
        && entries.windows(2).all(|w| w[0].0.line < w[1].0.line);
    let spliced = block.then(|| splice_lines(yaml, entries, fm.yaml_first_line, key, &new_entry));
    // The in-place edit must read back as the old entries with only `key` changed; when it does
    // not (a layout the line splice cannot handle), the front matter is rewritten instead.
    let want = expected(entries, key, value);
    let new_yaml = match spliced {
        Some(s) if reads_as(&s, fm.yaml_first_line, &want) => s,
        _ => {
            let s = rewrite(entries, key, value, nl);
            if !reads_as(&s, fm.yaml_first_line, &want) {
                return Err(Error::Unwritable {
                    key: key.to_owned(),
                });
            }
            s
        }
    };
    let mut out = String::with_capacity(readme.len() + new_entry.len());
    out.push_str(&readme[..fm.yaml.start]);
    out.push_str(&new_yaml);
    out.push_str(&readme[fm.yaml.end..]);
    Ok(out)
}

/// The top-level entries the edited front matter must have.
fn expected(entries: &[(Node, Node)], key: &str, value: Option<&Value>) -> Vec<(Value, Value)> {
    let mut out = Vec::with_capacity(entries.len() + 1);
    let mut done = false;
    for (k, v) in entries {
        if k.text() == Some(key) {
            if let (Some(value), false) = (value, done) {
                out.push((Value::from(k), value.clone()));
            }
            done = true;
        } else {
            out.push((Value::from(k), Value::from(v)));
        }
    }
    if let (Some(value), false) = (value, done) {
        out.push((text_value(key), value.clone()));
    }
    out
}

/// Whether `yaml` parses to exactly these top-level entries (keys compared by text).
fn reads_as(yaml: &str, first_line: usize, want: &[(Value, Value)]) -> bool {
    let Ok(Node {
        kind: NodeKind::Map(got),
        ..
    }) = parse_yaml(yaml, first_line)
    else {
        return false;
    };
    let text = |v: &Value| match v {
        Value::Plain(t) | Value::Str(t) => Some(t.clone()),
        _ => None,
    };
    got.len() == want.len()
        && got.iter().zip(want).all(|((gk, gv), (wk, wv))| {
            gk.text().map(str::to_owned) == text(wk) && Value::from(gv) == *wv
        })
}

/// Replaces the lines of `key` (from its line to the last line of its value) by `new_entry`.
fn splice_lines(
    yaml: &str,
    entries: &[(Node, Node)],
    first_line: usize,
    key: &str,
    new_entry: &str,
) -> String {
    let lines: Vec<&str> = yaml.split_inclusive('\n').collect();
    let index = |line: usize| line.saturating_sub(first_line).min(lines.len());
    // The end (exclusive line index) of entry `i`: up to the next key, less trailing blank,
    // comment and `...` lines, which stay where they are.
    let entry_end = |i: usize| {
        let start = index(entries[i].0.line);
        let mut end = entries
            .get(i + 1)
            .map_or(lines.len(), |(k, _)| index(k.line));
        while end > start + 1 && lines.get(end - 1).is_some_and(|l| is_trailing_filler(l)) {
            end -= 1;
        }
        end.max(start + 1).min(lines.len())
    };
    let found = entries.iter().position(|(k, _)| k.text() == Some(key));
    let (start, end) = match found {
        Some(i) => (index(entries[i].0.line), entry_end(i)),
        // A new key goes right after the last one.
        None if !entries.is_empty() => {
            let end = entry_end(entries.len() - 1);
            (end, end)
        }
        None => (lines.len(), lines.len()),
    };
    let mut out = String::with_capacity(yaml.len() + new_entry.len());
    for l in &lines[..start] {
        out.push_str(l);
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(new_entry);
    for l in &lines[end..] {
        out.push_str(l);
    }
    out
}

/// Rewrites the whole front matter from its entries (comments and layout are lost): for a flow
/// mapping, or a layout that the line splice cannot edit safely.
fn rewrite(entries: &[(Node, Node)], key: &str, value: Option<&Value>, nl: &str) -> String {
    let mut out = String::new();
    for (k, v) in expected(entries, key, value) {
        write_entry(&mut out, 0, &k, &v);
    }
    if nl == "\n" {
        out
    } else {
        out.replace('\n', nl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check_readme;

    const README: &str = "---\ntitle: Demo\nemoji: 🚀\ntags:\n  - a # first\n  - b\n\n# models next\nmodels: [x/y]\n---\n\n# Body\n---\nnot front matter\n";

    #[test]
    fn replace_a_block_list_keeps_comments_of_the_next_key() {
        let new = set_key(README, "tags", &Value::Seq(vec![Value::plain("c")])).unwrap();
        assert_eq!(
            new,
            README.replace("tags:\n  - a # first\n  - b\n", "tags:\n  - c\n")
        );
    }

    #[test]
    fn add_and_remove() {
        let added = set_key(README, "sdk", &Value::plain("gradio")).unwrap();
        assert!(
            added.contains("models: [x/y]\nsdk: gradio\n---\n\n# Body"),
            "{added}"
        );
        assert!(check_readme(&added).unwrap().is_valid());
        let removed = remove_key(&added, "emoji").unwrap();
        assert_eq!(removed, added.replace("emoji: 🚀\n", ""));
    }

    #[test]
    fn a_kept_trailing_newline_block_is_not_cut() {
        let r = "---\nsdk: gradio\nnotes: |+\n  a\n\n---\nbody";
        let new = set_key(r, "title", &Value::plain("x")).unwrap();
        let c = crate::parse_readme(&new).unwrap();
        assert_eq!(c.extra[0].1, Value::Str("a\n\n".to_owned()));
        assert_eq!(c.title.as_deref(), Some("x"));
    }

    #[test]
    fn flow_mapping_is_rewritten() {
        let r = "---\n{sdk: gradio, title: x}\n---\nbody";
        let new = set_key(r, "title", &Value::plain("y")).unwrap();
        assert_eq!(new, "---\nsdk: gradio\ntitle: y\n---\nbody");
    }

    #[test]
    fn update_from_config() {
        let r = "---\nsdk: gradio\npython_version: 3.9 # old\n---\nbody\n";
        let mut c = crate::parse_readme(r).unwrap();
        c.python_version = crate::PythonVersion::parse("3.10");
        let new = update_key(r, &c, "python_version").unwrap();
        assert_eq!(
            new,
            "---\nsdk: gradio\npython_version: \"3.10\"\n---\nbody\n"
        );
        assert_eq!(crate::parse_readme(&new).unwrap(), c);
    }
}
