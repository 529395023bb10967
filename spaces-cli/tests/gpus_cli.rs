//! `spaces gpus` without an NVIDIA driver (as on CI): a clear error naming NVML and exit 1,
//! never an empty table that would pass for "no GPUs". On a GPU machine it prints the inventory
//! (see spaces-runtime/scripts/gpu-check.sh for the run on an H200).

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn gpus_without_nvml_says_what_is_missing() {
    let out = Command::new(env!("CARGO_BIN_EXE_spaces"))
        .args(["gpus", "--json"])
        .output()
        .unwrap();
    if out.status.success() {
        eprintln!(
            "skipped: NVML answered on this machine: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        return;
    }
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nvidia") && err.contains("NVML"), "{err}");
}

#[test]
fn gpus_help_teaches() {
    let out = Command::new(env!("CARGO_BIN_EXE_spaces"))
        .args(["gpus", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--state") && help.contains("--json"),
        "{help}"
    );
}
