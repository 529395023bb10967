//! Fuzzes the README front-matter reader: no input may panic, and every valid config must write
//! back to a front matter that parses to the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spaces_config::{check_readme, set_key, update_key, Value};

fn exercise(readme: &str) {
    let Ok(checked) = check_readme(readme) else {
        return;
    };
    for d in &checked.diagnostics {
        let _ = d.to_string();
    }
    if let Some(config) = checked.config {
        let written = config.to_front_matter();
        let again = check_readme(&written)
            .unwrap_or_else(|e| panic!("written config does not parse: {e}\n{written}"));
        assert_eq!(
            again.config.as_ref(),
            Some(&config),
            "round trip changed the config:\n{written}"
        );
        let edited = update_key(readme, &config, "title").expect("edit of a parsed README");
        let reparsed = check_readme(&edited).expect("edited README parses");
        assert_eq!(
            reparsed.config.as_ref(),
            Some(&config),
            "editing title changed the config:\n{edited}"
        );
    }
    let _ = set_key(readme, "sdk_version", &Value::string("4.44.1"));
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    exercise(&text);
    // Also as the YAML inside fences, to reach the validator more often.
    exercise(&format!("---\n{text}\n---\nbody\n"));
});
