//! Inputs the fuzz target (`fuzz/fuzz_targets/front_matter.rs`) once failed on, replayed with the
//! same checks: no panic, and a valid config writes back to itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use spaces_config::{check_readme, update_key};

fn exercise(readme: &str) {
    let Ok(checked) = check_readme(readme) else {
        return;
    };
    if let Some(config) = checked.config {
        let written = config.to_front_matter();
        let again = check_readme(&written).unwrap();
        assert_eq!(again.config.as_ref(), Some(&config), "{written}");
        let edited = update_key(readme, &config, "title").unwrap();
        assert_eq!(
            check_readme(&edited).unwrap().config.as_ref(),
            Some(&config),
            "{edited}"
        );
    }
}

#[test]
fn past_fuzz_findings_stay_fixed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        exercise(&text);
        exercise(&format!("---\n{text}\n---\nbody\n"));
        n += 1;
    }
    assert!(n > 0);
}
