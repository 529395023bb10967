//! `spaces validate` as a person runs it: exit codes, compiler-like text, one JSON object per path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn spaces(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spaces"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

const GOOD: &str = "---\ntitle: Demo\nemoji: 🚀\nsdk: gradio\nsdk_version: 4.0\npython_version: 3.10\n---\n# Demo\n";
const BAD: &str =
    "---\ntitle: Demo\nemoji: 🚀\ncolorFrom: orange\nsdk: gradio\nauthor: alice\n---\n# Demo\n";

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), BAD).unwrap();
    std::fs::create_dir(dir.path().join("good-space")).unwrap();
    std::fs::write(dir.path().join("good-space/README.md"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("broken.md"),
        "---\nsdk: gradio\ntitle: a: b\n---\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("crlf.md"), GOOD.replace('\n', "\r\n")).unwrap();
    dir
}

#[test]
fn valid_files_and_folders_exit_0() {
    let dir = workspace();
    let o = spaces(&["validate", "good-space", "crlf.md"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(stdout(&o), "");
}

#[test]
fn invalid_file_exits_1_with_a_compiler_like_line() {
    let dir = workspace();
    let o = spaces(&["validate", "README.md", "good-space"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "README.md:4:12: error: colorFrom \"orange\" is not one of red, yellow, green, blue, indigo, purple, pink, gray"
    );
    assert!(
        lines[1].starts_with("README.md:6:1: warning: author is not a key"),
        "{out}"
    );
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("2 files checked: 1 valid, 1 invalid"), "{err}");
}

#[test]
fn broken_yaml_is_invalid_with_its_readme_line() {
    let dir = workspace();
    let o = spaces(&["validate", "broken.md"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("broken.md:3:"), "{}", stdout(&o));
    assert!(stdout(&o).contains("must be quoted"));
}

#[test]
fn json_prints_one_object_per_path() {
    let dir = workspace();
    let o = spaces(
        &["validate", "--json", "README.md", "good-space"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["path"], "README.md");
    assert_eq!(objs[0]["valid"], false);
    assert_eq!(objs[0]["errors"][0]["key"], "colorFrom");
    assert_eq!(objs[0]["errors"][0]["line"], 4);
    assert!(objs[0]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("orange"));
    assert_eq!(objs[0]["warnings"][0]["key"], "author");
    assert_eq!(
        objs[1]["path"],
        Path::new("good-space")
            .join("README.md")
            .display()
            .to_string()
    );
    assert_eq!(objs[1]["valid"], true);
    assert_eq!(objs[1]["errors"].as_array().unwrap().len(), 0);
}

#[test]
fn io_and_usage_errors_exit_2() {
    let dir = workspace();
    let o = spaces(&["validate", "missing.md", "README.md"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8(o.stderr)
        .unwrap()
        .contains("cannot read missing.md"));
    let o = spaces(&["validate"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = spaces(&["validate", "--frobnicate", "README.md"], dir.path());
    assert_eq!(o.status.code(), Some(2));
}
