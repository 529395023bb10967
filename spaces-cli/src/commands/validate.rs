//! `spaces validate`: check Space README front matter the way the Hub does.
//!
//! Text output is compiler-like, one problem per line (`README.md:4:12: error: ...`), with a
//! `help:` line saying what would be accepted where the message does not already say it.
//! `--json` prints one object per path, on its own line. Exit status: 0 when every file is valid
//! (warnings allowed), 1 when any is invalid, 2 on usage or I/O errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;
use spaces_config::{check_readme, Diagnostic, Error, Severity};

/// Check Space README front matter.
///
/// Each PATH is a README.md or a Space folder (its README.md is checked).
/// Exit status: 0 all valid, 1 any invalid, 2 usage or I/O error.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object per path, on its own line:
    /// {"path":…,"valid":…,"errors":[{"key","line","column","message","value","expected"}],"warnings":[…]}.
    #[arg(long)]
    json: bool,
    /// README.md files or Space folders.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// One problem, as printed by `--json`.
#[derive(Serialize)]
struct JsonProblem<'a> {
    key: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<&'a str>,
}

/// One path's verdict, as printed by `--json`.
#[derive(Serialize)]
struct JsonReport<'a> {
    path: String,
    valid: bool,
    errors: Vec<JsonProblem<'a>>,
    warnings: Vec<JsonProblem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    io_error: Option<String>,
}

impl<'a> From<&'a Diagnostic> for JsonProblem<'a> {
    fn from(d: &'a Diagnostic) -> Self {
        JsonProblem {
            key: &d.key,
            line: d.line,
            column: d.column,
            message: &d.message,
            value: d.value.as_deref(),
            expected: d.expected.as_deref(),
        }
    }
}

/// What checking one path gave.
enum Outcome {
    /// The diagnostics (a fatal error, such as broken YAML, becomes one error diagnostic).
    Checked(Vec<Diagnostic>),
    /// The file could not be read.
    Unreadable(String),
}

/// The README a PATH names: the path itself, or `PATH/README.md` for a folder.
fn readme_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("README.md")
    } else {
        path.to_path_buf()
    }
}

fn check_path(path: &Path) -> Outcome {
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => return Outcome::Unreadable("the file is not UTF-8 text".to_owned()),
        },
        Err(e) => return Outcome::Unreadable(e.to_string()),
    };
    match check_readme(&text) {
        Ok(checked) => Outcome::Checked(checked.diagnostics),
        Err(e) => {
            let (line, column) = e.location().unwrap_or((1, 1));
            let key = match &e {
                Error::NoFrontMatter { .. } | Error::Unterminated { .. } => "front matter",
                _ => "",
            };
            Outcome::Checked(vec![Diagnostic {
                severity: Severity::Error,
                key: key.to_owned(),
                line,
                column,
                value: None,
                message: e.to_string(),
                expected: None,
            }])
        }
    }
}

fn print_text(shown: &str, diags: &[Diagnostic]) {
    for d in diags {
        println!("{shown}:{d}");
        if let Some(expected) = &d.expected {
            if !d.message.contains(expected.as_str()) {
                println!(
                    "  help: {} accepts {expected}",
                    if d.key.is_empty() { "this" } else { &d.key }
                );
            }
        }
    }
}

pub fn run(args: Args) -> ExitCode {
    let mut unreadable = 0usize;
    let mut invalid = 0usize;
    let (mut errors, mut warnings) = (0usize, 0usize);
    for given in &args.paths {
        let path = readme_path(given);
        let shown = path.display().to_string();
        match check_path(&path) {
            Outcome::Unreadable(why) => {
                unreadable += 1;
                eprintln!("error: cannot read {shown}: {why}");
                if args.json {
                    let report = JsonReport {
                        path: shown,
                        valid: false,
                        errors: Vec::new(),
                        warnings: Vec::new(),
                        io_error: Some(why),
                    };
                    print_json(&report);
                }
            }
            Outcome::Checked(diags) => {
                let valid = !diags.iter().any(Diagnostic::is_error);
                if !valid {
                    invalid += 1;
                }
                errors += diags.iter().filter(|d| d.is_error()).count();
                warnings += diags.iter().filter(|d| !d.is_error()).count();
                if args.json {
                    let report = JsonReport {
                        path: shown,
                        valid,
                        errors: diags
                            .iter()
                            .filter(|d| d.is_error())
                            .map(JsonProblem::from)
                            .collect(),
                        warnings: diags
                            .iter()
                            .filter(|d| !d.is_error())
                            .map(JsonProblem::from)
                            .collect(),
                        io_error: None,
                    };
                    print_json(&report);
                } else {
                    print_text(&shown, &diags);
                }
            }
        }
    }
    if !args.json {
        let files = args.paths.len();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        eprintln!(
            "{} checked: {} valid, {} invalid, {} unreadable ({}, {})",
            plural(files, "file"),
            files.saturating_sub(invalid + unreadable),
            invalid,
            unreadable,
            plural(errors, "error"),
            plural(warnings, "warning"),
        );
    }
    if unreadable > 0 {
        ExitCode::from(2)
    } else if invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_json(report: &JsonReport<'_>) {
    match serde_json::to_string(report) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}
