//! The ledger: idempotent appends, export, billing from it, and survival of `kill -9`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use spaces_billing::ledger::{Appended, Ledger};
use spaces_billing::{Period, UsageEvent, UsageLog};
use spaces_core::Catalog;

const CHILD_ENV: &str = "SPACES_BILLING_LEDGER_CRASH_CHILD";

fn event(i: u64) -> UsageEvent {
    let stage = if i % 3 == 2 { "PAUSED" } else { "RUNNING" };
    UsageEvent::parse_line(&format!(
        r#"{{"at":"2026-11-01T00:00:{:02}Z","space":"crash/test-{}","kind":"stage","stage":"{stage}","id":"ev-{i}"}}"#,
        i % 60,
        i % 7
    ))
    .unwrap()
}

/// Not a test on its own: the child process of `kill_9_loses_no_acknowledged_event`. It appends
/// `ev-0, ev-1, ...` forever (re-appending, after a restart, the ids an earlier child stored)
/// and prints `ACK <id>` after each append returns.
#[test]
fn crash_child_appender() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut ledger = Ledger::open(path).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let e = event(i);
        // Every third append goes through the batch path.
        if i % 3 == 0 {
            ledger.append_all([&e]).unwrap();
        } else {
            ledger.append(&e).unwrap();
        }
        writeln!(out, "ACK {}", e.id.as_deref().unwrap()).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill_9_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeSet<String> = BTreeSet::new();
    // Kill after different numbers of acknowledgements, and after different extra delays, so
    // that the kill lands at different points of an append.
    for (round, (wait_acks, extra_us)) in
        [(5u64, 0u64), (40, 150), (120, 900), (15, 30), (200, 2500)]
            .into_iter()
            .enumerate()
    {
        let mut child = Command::new(&exe)
            .args([
                "crash_child_appender",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let started = Instant::now();
        let mut seen_this_round = 0u64;
        while seen_this_round < wait_acks && started.elapsed() < Duration::from_secs(60) {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(id) = l.strip_prefix("ACK ") {
                        acked.insert(id.to_owned());
                        seen_this_round += 1;
                    }
                }
                _ => break,
            }
        }
        std::thread::sleep(Duration::from_micros(extra_us));
        child.kill().unwrap(); // SIGKILL
                               // Acknowledgements printed before the kill are still in the pipe.
        for l in lines.map_while(Result::ok) {
            if let Some(id) = l.strip_prefix("ACK ") {
                acked.insert(id.to_owned());
            }
        }
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the child must have been killed"
        );
        assert!(
            seen_this_round > 0,
            "round {round}: the child acknowledged nothing"
        );

        let ledger = Ledger::open(&path).unwrap();
        let events = ledger.events().unwrap();
        let mut count: HashMap<String, usize> = HashMap::new();
        for e in &events {
            *count.entry(e.id.clone().unwrap()).or_default() += 1;
        }
        for id in &acked {
            assert_eq!(
                count.get(id),
                Some(&1),
                "round {round}: acknowledged {id} must be stored exactly once"
            );
        }
        assert!(
            count.values().all(|&c| c == 1),
            "round {round}: an event was applied twice"
        );
        // Ids are stored in append order: ev-0 .. ev-(n-1), nothing skipped.
        for (k, e) in events.iter().enumerate() {
            assert_eq!(
                e.id.as_deref(),
                Some(format!("ev-{k}").as_str()),
                "round {round}"
            );
        }
        let ok: String = rusqlite_integrity(&path);
        assert_eq!(ok, "ok");
        // And it still bills.
        ledger
            .usage_log(&Catalog::seed())
            .unwrap()
            .invoice("2026-11".parse().unwrap())
            .unwrap();
    }
    assert!(acked.len() >= 200, "only {} acknowledged", acked.len());
}

fn rusqlite_integrity(path: &std::path::Path) -> String {
    // The ledger has no integrity API; open the file read-only through SQLite's own check.
    let out = Command::new("sqlite3")
        .arg(path)
        .arg("PRAGMA integrity_check")
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        // No sqlite3 binary here: the reopen and full read above already checked the rows.
        _ => "ok".to_owned(),
    }
}

#[test]
fn appends_are_idempotent_on_id_and_id_less_events_always_append() {
    let mut ledger = Ledger::open_in_memory().unwrap();
    let e = event(1);
    let first = ledger.append(&e).unwrap();
    assert!(matches!(first, Appended::New(_)));
    assert_eq!(ledger.append(&e).unwrap(), Appended::Duplicate(first.seq()));
    // Same id, other content: still the first one.
    let mut other = event(2);
    other.id = e.id.clone();
    assert_eq!(
        ledger.append(&other).unwrap(),
        Appended::Duplicate(first.seq())
    );
    let mut anon = event(3);
    anon.id = None;
    assert!(ledger.append(&anon).unwrap().is_new());
    assert!(ledger.append(&anon).unwrap().is_new());
    assert_eq!(ledger.len().unwrap(), 3);
    assert!(ledger.contains("ev-1").unwrap());
    assert!(!ledger.contains("ev-2").unwrap());
    let mut out = Vec::new();
    ledger.export_jsonl(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert_eq!(text.lines().next().unwrap(), e.to_json_line());
}

#[test]
fn a_rejected_log_imports_nothing() {
    let mut ledger = Ledger::open_in_memory().unwrap();
    let text = r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"storage","tier":"large"}
{"at":"2026-11-02T00:00:00Z","space":"a/b","kind":"storage","tier":"small"}"#;
    let err = ledger.import_jsonl(text, &Catalog::seed()).unwrap_err();
    assert_eq!(err.line(), Some(2));
    assert!(ledger.is_empty().unwrap());
}

#[test]
fn a_ledger_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    {
        let mut l = Ledger::open(&path).unwrap();
        l.append_all((0..10).map(event).collect::<Vec<_>>().iter())
            .unwrap();
    }
    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.len().unwrap(), 10);
    assert_eq!(l.events().unwrap(), (0..10).map(event).collect::<Vec<_>>());
}

fn arb_line() -> impl Strategy<Value = String> {
    let space = prop::sample::select(vec!["a/b", "a/c", "z/y"]);
    let kind = prop_oneof![
        prop::sample::select(vec![
            "RUNNING",
            "PAUSED",
            "APP_STARTING",
            "DELETING",
            "SLEEPING"
        ])
        .prop_map(|s| format!(r#""kind":"stage","stage":"{s}""#)),
        prop::sample::select(vec!["cpu-basic", "t4-small", "a10g-large"])
            .prop_map(|f| format!(r#""kind":"hardware","flavor":"{f}""#)),
        prop::sample::select(vec!["null", r#""small""#, r#""medium""#, r#""large""#])
            .prop_map(|t| format!(r#""kind":"storage","tier":{t}"#)),
    ];
    let id = prop::option::of(0u8..8)
        .prop_map(|i| i.map(|i| format!(r#","id":"i{i}""#)).unwrap_or_default());
    (space, 0u32..30, 0u32..24, 0u32..60, 0u32..60, kind, id).prop_map(
        |(s, d, h, m, sec, kind, id)| {
            format!(
                r#"{{"at":"2026-11-{:02}T{h:02}:{m:02}:{sec:02}Z","space":"{s}",{kind}{id}}}"#,
                d % 30 + 1
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Importing a log into the ledger and billing from it gives the same invoice (or, for a
    /// rejected log, nothing is imported).
    #[test]
    fn billing_from_the_ledger_equals_billing_the_log(lines in prop::collection::vec(arb_line(), 0..30)) {
        let text = lines.join("\n");
        let catalog = Catalog::seed();
        let period: Period = "2026-11".parse().unwrap();
        let mut ledger = Ledger::open_in_memory().unwrap();
        match UsageLog::parse(&text, &catalog) {
            Ok(log) => {
                ledger.import_jsonl(&text, &catalog).unwrap();
                let from_ledger = ledger.usage_log(&catalog).unwrap().invoice(period).unwrap();
                prop_assert_eq!(from_ledger, log.invoice(period).unwrap());
                // The export is a log that bills the same too.
                let mut out = Vec::new();
                ledger.export_jsonl(&mut out).unwrap();
                let exported = UsageLog::parse(&String::from_utf8(out).unwrap(), &catalog).unwrap();
                prop_assert_eq!(exported.invoice(period).unwrap(), log.invoice(period).unwrap());
            }
            Err(e) => {
                prop_assert_eq!(ledger.import_jsonl(&text, &catalog).unwrap_err().line(), e.line());
                prop_assert!(ledger.is_empty().unwrap());
            }
        }
    }
}
