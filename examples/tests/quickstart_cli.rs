//! The quickstart shows every step of a Space's life.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn quickstart_shows_every_step() {
    let out = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut needles = vec![
        "NO_APP_FILE -> BUILDING",
        "BUILDING -> APP_STARTING",
        "APP_STARTING -> RUNNING",
        "HTTP 200 <h1>Hello from a static Space</h1>",
        "RUNNING -> SLEEPING",
        "SLEEPING -> APP_STARTING",
        "cold start",
        "static Spaces have no runtime controls",
        "total",
    ];
    if !text.contains("skipped: no python3") {
        needles.extend([
            "RUNNING -> PAUSED",
            "stage stays PAUSED",
            "PAUSED -> APP_STARTING",
            "storage medium",
            "downgrade refused",
            "upgrade-only",
            "delete the storage first",
            "runs on cpu-upgrade",
            "hardware/cpu-upgrade      180 min",
        ]);
    }
    for needle in needles {
        assert!(
            text.contains(needle),
            "quickstart output lacks {needle:?}:\n{text}"
        );
    }
    assert!(
        !text.contains("hf_quickstart_example"),
        "a secret was printed"
    );
}
