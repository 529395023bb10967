//! `quickstart --runtime docker` runs the Docker Space through its life on the real engine and
//! removes what it created. Skips when no engine answers, unless `SPACES_REQUIRE_DOCKER=1`.
#![cfg(feature = "docker")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn engine_answers() -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match rt.block_on(spaces_runtime::docker::DockerRuntime::connect_default()) {
        Ok(_) => true,
        Err(e) if std::env::var("SPACES_REQUIRE_DOCKER").as_deref() == Ok("1") => {
            panic!("SPACES_REQUIRE_DOCKER=1 but no Docker engine answers: {e}")
        }
        Err(e) => {
            println!("SKIPPED: no Docker engine answers ({e}); set SPACES_REQUIRE_DOCKER=1 to fail instead");
            false
        }
    }
}

#[test]
fn quickstart_runs_a_docker_space_and_cleans_up() {
    if !engine_answers() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .args(["--runtime", "docker"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "docker runtime",
        "HTTP 200 <h1>Hello from alice/hello-docker</h1>",
        "RUNNING -> SLEEPING",
        "a visitor woke it: cold start",
        "stage stays PAUSED",
        "PAUSED -> APP_STARTING",
        "downgrade refused",
        "deleted alice/hello-docker",
    ] {
        assert!(
            text.contains(needle),
            "quickstart output lacks {needle:?}:\n{text}"
        );
    }
}
