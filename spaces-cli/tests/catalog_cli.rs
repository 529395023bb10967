//! `spaces catalog` prints the seed tables of domain.md §2–3, exactly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

fn spaces(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spaces"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn catalog_json_is_exactly_the_seed() {
    let out = spaces(&["catalog", "--json"]);
    assert!(out.status.success());
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hw = |id: &str,
              name: &str,
              vcpu: u32,
              mem: u32,
              disk: u32,
              gpu: serde_json::Value,
              price: &str| {
        serde_json::json!({"id": id, "name": name, "vcpu": vcpu, "memory_gb": mem, "disk_gb": disk, "gpu": gpu, "hourly_price": price})
    };
    let gpu =
        |model: &str, mem: u32| serde_json::json!({"model": model, "count": 1, "memory_gb": mem});
    let null = serde_json::Value::Null;
    let expected = serde_json::json!({
        "hardware": [
            hw("cpu-basic", "CPU Basic", 2, 16, 50, null.clone(), "0"),
            hw("cpu-upgrade", "CPU Upgrade", 8, 32, 50, null, "0.03"),
            hw("t4-small", "Nvidia T4 - small", 4, 15, 50, gpu("T4", 16), "0.06"),
            hw("t4-medium", "Nvidia T4 - medium", 8, 30, 100, gpu("T4", 16), "0.09"),
            hw("a10g-small", "Nvidia A10G - small", 4, 15, 110, gpu("A10G", 24), "1.05"),
            hw("a10g-large", "Nvidia A10G - large", 12, 46, 200, gpu("A10G", 24), "3.15"),
            hw("a100-large", "Nvidia A100 - large", 12, 142, 1000, gpu("A100", 80), "4.13"),
        ],
        "storage": [
            {"tier": "small", "size_gb": 20, "monthly_price": "5"},
            {"tier": "medium", "size_gb": 150, "monthly_price": "25"},
            {"tier": "large", "size_gb": 1000, "monthly_price": "100"},
        ]
    });
    assert_eq!(got, expected);
}

#[test]
fn catalog_table_and_yaml_file() {
    let out = spaces(&["catalog"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("a100-large") && text.contains("4.13") && text.contains("1000 GB"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.yaml");
    std::fs::write(
        &path,
        "hardware:\n  - { id: l4x1, name: Nvidia 1xL4, vcpu: 8, memory_gb: 30, disk_gb: 400, gpu: { model: L4, count: 1, memory_gb: 24 }, hourly_price: \"0.80\" }\nstorage: []\n",
    )
    .unwrap();
    let out = spaces(&["catalog", "--json", "--catalog", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["hardware"][0]["hourly_price"], "0.80");

    let out = spaces(&["catalog", "--catalog", "/nonexistent/catalog.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}
