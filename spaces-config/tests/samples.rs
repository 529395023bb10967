//! Every sample README under `tests/samples/` gets the verdict its name says:
//! `good.*` valid without a warning, `warn.KEY.*` valid with a warning on KEY, `bad.KEY.*` refused
//! with an error on KEY, `fatal.*` unreadable (no front matter, unterminated, broken YAML).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use spaces_config::{check_readme, update_key, Checked, Diagnostic, Error, Severity};
use spaces_core::Sdk;

fn samples() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn sample(name: &str) -> String {
    samples().into_iter().find(|(n, _)| n == name).unwrap().1
}

fn on_key(d: &Diagnostic, key: &str) -> bool {
    d.key == key || d.key.starts_with(&format!("{key}[")) || d.key.starts_with(&format!("{key}."))
}

fn verdict(name: &str, text: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('.').collect();
    let (kind, key) = (parts[0], parts.get(1).copied().unwrap_or(""));
    let checked = check_readme(text);
    let show = |c: &Checked| {
        c.diagnostics
            .iter()
            .map(|d| format!("\n  {d} [{}]", d.key))
            .collect::<String>()
    };
    match (kind, &checked) {
        ("fatal", Err(e)) => {
            if e.location().is_none() {
                return Err(format!("fatal error without a location: {e}"));
            }
            Ok(())
        }
        ("fatal", Ok(c)) => Err(format!("expected a fatal error, got{}", show(c))),
        (_, Err(e)) => Err(format!("unexpected fatal error: {e}")),
        ("good", Ok(c)) if c.is_valid() && c.diagnostics.is_empty() => Ok(()),
        ("warn", Ok(c))
            if c.is_valid()
                && c.warnings().any(|d| on_key(d, key))
                && c.warnings().count() == c.diagnostics.len() =>
        {
            Ok(())
        }
        ("bad", Ok(c)) if !c.is_valid() && c.errors().any(|d| on_key(d, key)) => Ok(()),
        (_, Ok(c)) => Err(format!("wrong verdict; valid: {}{}", c.is_valid(), show(c))),
    }
}

#[test]
fn every_sample_gets_the_verdict_its_name_says() {
    let all = samples();
    assert!(all.len() >= 60, "only {} samples", all.len());
    let failures: Vec<String> = all
        .iter()
        .filter_map(|(name, text)| verdict(name, text).err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for kind in ["good.", "warn.", "bad.", "fatal."] {
        assert!(
            all.iter().filter(|(n, _)| n.starts_with(kind)).count() >= 5,
            "{kind}"
        );
    }
}

#[test]
fn valid_samples_write_back_to_the_same_config_and_edit_in_place() {
    for (name, text) in samples() {
        let Ok(Checked {
            config: Some(config),
            ..
        }) = check_readme(&text)
        else {
            continue;
        };
        let written = config.to_front_matter();
        let again = check_readme(&written).unwrap();
        assert_eq!(
            again.config.as_ref(),
            Some(&config),
            "{name}: write-back\n{written}"
        );

        // Editing one key keeps the body and the other keys.
        let mut retitled = config.clone();
        retitled.title = Some("A new title: with a colon".to_owned());
        let edited = update_key(&text, &retitled, "title").unwrap();
        let checked = check_readme(&edited).unwrap();
        assert_eq!(
            checked.config.as_ref(),
            Some(&retitled),
            "{name}: edit\n{edited}"
        );
        let body = |t: &str| {
            spaces_config::FrontMatter::find(t)
                .map(|fm| fm.body(t).to_owned())
                .unwrap()
        };
        assert_eq!(body(&edited), body(&text), "{name}: body changed");
    }
}

#[test]
fn every_sdk_and_every_form_has_a_sample() {
    let names: Vec<String> = samples().into_iter().map(|(n, _)| n).collect();
    for sdk in Sdk::ALL {
        let covered = samples().iter().any(|(_, t)| {
            check_readme(t)
                .ok()
                .and_then(|c| c.config)
                .is_some_and(|c| c.sdk == sdk)
        });
        assert!(covered, "no valid sample for sdk {sdk}");
    }
    for form in [
        "crlf",
        "bom",
        "flow-and-block-lists",
        "quoted-versions",
        "unquoted-versions",
        "eof",
    ] {
        assert!(
            names.iter().any(|n| n.contains(form)),
            "no sample for {form}"
        );
    }
    assert!(samples().iter().any(|(_, t)| t.contains("\r\n")));
    assert!(samples().iter().any(|(_, t)| t.starts_with('\u{feff}')));
}

#[test]
fn errors_point_at_the_line_and_column_to_change() {
    let c = check_readme(&sample("bad.colorFrom.orange.md")).unwrap();
    let e = c.errors().next().unwrap();
    assert_eq!(
        format!("README.md:{e}"),
        "README.md:4:12: error: colorFrom \"orange\" is not one of red, yellow, green, blue, indigo, purple, pink, gray"
    );
    assert_eq!(e.value.as_deref(), Some("orange"));
    assert_eq!(
        e.expected.as_deref(),
        Some("red, yellow, green, blue, indigo, purple, pink, gray")
    );

    // A BOM and CRLF do not shift lines or columns.
    let c = check_readme(&sample("bad.pinned.bom-crlf.md")).unwrap();
    let e = c.errors().next().unwrap();
    assert_eq!((e.line, e.column, e.key.as_str()), (3, 9, "pinned"));

    let c = check_readme(&sample("bad.models.bad-id.md")).unwrap();
    let e = c.errors().next().unwrap();
    assert_eq!((e.key.as_str(), e.line, e.column), ("models[1]", 5, 5));
    assert!(e.message.contains("`--`"), "{}", e.message);

    let c = check_readme(&sample("bad.sdk.missing.md")).unwrap();
    let e = c.errors().next().unwrap();
    assert_eq!((e.line, e.severity), (1, Severity::Error));
    assert!(e.message.contains("sdk: gradio"));
}

#[test]
fn fatal_errors_are_located_in_the_readme() {
    let at = |name: &str| check_readme(&sample(name)).unwrap_err();
    assert!(matches!(
        at("fatal.unterminated.md"),
        Error::Unterminated { line: 1, .. }
    ));
    assert!(matches!(
        at("fatal.no-front-matter.md"),
        Error::NoFrontMatter { line: 1, .. }
    ));
    match at("fatal.syntax.unquoted-colon.md") {
        Error::Syntax { line, message, .. } => {
            assert_eq!(line, 3);
            assert!(message.contains("quoted"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match at("fatal.syntax.bad-indent.md") {
        Error::Syntax { line, .. } => assert_eq!(line, 5),
        other => panic!("{other:?}"),
    }
}

#[test]
fn versions_are_read_as_written() {
    let c = check_readme(&sample("good.unquoted-versions.md"))
        .unwrap()
        .config
        .unwrap();
    assert_eq!(c.sdk_version.unwrap().as_str(), "4.0");
    assert_eq!(c.python_version.unwrap().to_string(), "3.10");
    let c = check_readme(&sample("good.quoted-versions.md"))
        .unwrap()
        .config
        .unwrap();
    assert_eq!(c.sdk_version.unwrap().as_str(), "4.0");
    assert_eq!(c.python_version.unwrap().to_string(), "3.11");
}
