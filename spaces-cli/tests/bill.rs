//! `spaces bill`: its output is the library's invoice, its errors follow the exit-code contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use spaces_billing::ledger::Ledger;
use spaces_billing::{Period, UsageLog};
use spaces_core::Catalog;

const EXAMPLE: &str = r#"{"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"hardware","flavor":"t4-small"}
{"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"stage","stage":"RUNNING"}
{"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"storage","tier":"small"}
{"at":"2026-11-01T01:30:20Z","space":"alice/demo","kind":"stage","stage":"PAUSED"}
"#;

fn spaces(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spaces"))
        .args(args)
        .output()
        .unwrap()
}

fn bill_file(path: &Path, period: &str) -> Output {
    spaces(&["bill", "--log", path.to_str().unwrap(), "--period", period])
}

fn library(text: &str, period: &str) -> String {
    let invoice = UsageLog::parse(text, &Catalog::seed())
        .unwrap()
        .invoice(period.parse::<Period>().unwrap())
        .unwrap();
    format!("{}\n", invoice.to_json())
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn prints_billing_md_example_invoice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.jsonl");
    std::fs::write(&path, EXAMPLE).unwrap();
    let out = bill_file(&path, "2026-11");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"period\":\"2026-11\",\"currency\":\"USD\",\"lines\":[{\"space\":\"alice/demo\",\"item\":\"hardware/t4-small\",\"minutes\":91,\"amount\":\"0.09\"},{\"space\":\"alice/demo\",\"item\":\"storage/small\",\"minutes\":43200,\"amount\":\"5.00\"}],\"total\":\"5.09\"}\n"
    );
    assert_eq!(stdout(&out), library(EXAMPLE, "2026-11"));
}

#[test]
fn a_rejected_log_prints_the_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.jsonl");
    let bad = format!("{EXAMPLE}\n{{\"at\":\"2026-11-02T00:00:00Z\",\"space\":\"alice/demo\",\"kind\":\"storage\",\"tier\":\"large\"}}\n{{\"at\":\"2026-11-03T00:00:00Z\",\"space\":\"alice/demo\",\"kind\":\"storage\",\"tier\":\"medium\"}}\n");
    std::fs::write(&path, bad).unwrap();
    let out = bill_file(&path, "2026-11");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty(), "a rejected log has no invoice");
    assert!(
        stderr(&out).starts_with("line 7: alice/demo: storage is upgrade-only"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&path, "{\"at\":\"2026-11-01T00:00:00Z\",\"space\":\"a/b\",\"kind\":\"hardware\",\"flavor\":\"h100\"}\n").unwrap();
    let out = bill_file(&path, "2026-11");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("line 1: unknown hardware flavor `h100`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_errors_exit_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.jsonl");
    std::fs::write(&path, EXAMPLE).unwrap();
    let p = path.to_str().unwrap();
    for args in [
        vec!["bill", "--log", p, "--period", "2026-13"],
        vec!["bill", "--log", p, "--period", "November"],
        vec![
            "bill",
            "--log",
            "/nonexistent/usage.jsonl",
            "--period",
            "2026-11",
        ],
        vec![
            "bill",
            "--ledger",
            "/nonexistent/ledger.db",
            "--period",
            "2026-11",
        ],
        vec![
            "bill",
            "--log",
            p,
            "--period",
            "2026-11",
            "--catalog",
            "/nonexistent/catalog.yaml",
        ],
    ] {
        let out = spaces(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("hint"), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    for args in [
        vec!["bill", "--period", "2026-11"],
        vec!["bill", "--log", p, "--ledger", p, "--period", "2026-11"],
        vec!["bill", "--log", p],
    ] {
        assert_eq!(spaces(&args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn bills_a_ledger_like_the_log_it_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let mut ledger = Ledger::open(&db).unwrap();
    ledger.import_jsonl(EXAMPLE, &Catalog::seed()).unwrap();
    drop(ledger);
    let out = spaces(&[
        "bill",
        "--ledger",
        db.to_str().unwrap(),
        "--period",
        "2026-11",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), library(EXAMPLE, "2026-11"));
}

/// Every file in `dir` by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn billing_a_ledger_leaves_its_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    Ledger::open(&db)
        .unwrap()
        .import_jsonl(EXAMPLE, &Catalog::seed())
        .unwrap();
    let before = files(dir.path());
    let names: Vec<_> = before.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["ledger.db"]);
    let modified = std::fs::metadata(&db).unwrap().modified().unwrap();
    for _ in 0..2 {
        let out = spaces(&[
            "bill",
            "--ledger",
            db.to_str().unwrap(),
            "--period",
            "2026-11",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), library(EXAMPLE, "2026-11"));
        // Same bytes, and no `-wal`/`-shm` (nor any other file) created.
        let after = files(dir.path());
        let names: Vec<_> = after.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["ledger.db"]);
        assert!(after == before, "the ledger's bytes changed");
        assert_eq!(
            std::fs::metadata(&db).unwrap().modified().unwrap(),
            modified
        );
    }
}

#[test]
fn a_file_that_is_not_a_ledger_is_a_usage_error_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("usage.jsonl");
    std::fs::write(&log, EXAMPLE).unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let before = files(dir.path());
    for path in [&log, &empty] {
        let out = spaces(&[
            "bill",
            "--ledger",
            path.to_str().unwrap(),
            "--period",
            "2026-11",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("is not a usage ledger"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("hint"), "{}", stderr(&out));
    }
    assert!(files(dir.path()) == before, "a file changed");
}

#[test]
fn a_catalog_file_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("usage.jsonl");
    std::fs::write(&log, EXAMPLE).unwrap();
    // `spaces catalog --json` is YAML too; double the t4-small price.
    let json = stdout(&spaces(&["catalog", "--json"])).replace("\"0.06\"", "\"0.12\"");
    let catalog = dir.path().join("catalog.yaml");
    std::fs::write(&catalog, json).unwrap();
    let out = spaces(&[
        "bill",
        "--log",
        log.to_str().unwrap(),
        "--period",
        "2026-11",
        "--catalog",
        catalog.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // 91 minutes × 0.12 / 60 = 0.182 -> 0.18.
    assert!(
        stdout(&out).contains(r#""item":"hardware/t4-small","minutes":91,"amount":"0.18""#),
        "{}",
        stdout(&out)
    );
}

/// A small deterministic generator (no proptest in this crate's dev-dependencies).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Property: on random valid logs, the CLI prints exactly the library's invoice.
#[test]
fn cli_output_equals_library_output_on_random_logs() {
    let stages = [
        "RUNNING",
        "PAUSED",
        "APP_STARTING",
        "SLEEPING",
        "BUILDING",
        "DELETING",
        "RUNNING_BUILDING",
    ];
    let flavors = [
        "cpu-basic",
        "cpu-upgrade",
        "t4-small",
        "t4-medium",
        "a10g-small",
        "a10g-large",
        "a100-large",
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.jsonl");
    let mut rng = Lcg(0x5eed);
    for case in 0..24 {
        let mut lines = Vec::new();
        for _ in 0..rng.next(40) {
            let space = ["alice/demo", "bob/gpu", "Carol/x"][rng.next(3) as usize];
            let day = 1 + rng.next(30);
            let (h, m, s) = (rng.next(24), rng.next(60), rng.next(60));
            let at = format!(
                "2026-{}-{day:02}T{h:02}:{m:02}:{s:02}.{:03}Z",
                if rng.next(5) == 0 { "10" } else { "11" },
                rng.next(1000)
            );
            let what = match rng.next(3) {
                0 => format!(
                    r#""kind":"stage","stage":"{}""#,
                    stages[rng.next(stages.len() as u64) as usize]
                ),
                1 => format!(
                    r#""kind":"hardware","flavor":"{}""#,
                    flavors[rng.next(flavors.len() as u64) as usize]
                ),
                // Storage only ever deleted or set to large: always valid.
                _ => format!(
                    r#""kind":"storage","tier":{}"#,
                    if rng.next(2) == 0 {
                        "null"
                    } else {
                        "\"large\""
                    }
                ),
            };
            let id = if rng.next(3) == 0 {
                format!(r#","id":"e{}""#, rng.next(10))
            } else {
                String::new()
            };
            lines.push(format!(r#"{{"at":"{at}","space":"{space}",{what}{id}}}"#));
        }
        let text = lines.join("\n");
        std::fs::write(&path, &text).unwrap();
        let out = bill_file(&path, "2026-11");
        assert_eq!(out.status.code(), Some(0), "case {case}: {}", stderr(&out));
        assert_eq!(stdout(&out), library(&text, "2026-11"), "case {case}");
    }
}
