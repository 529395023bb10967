//! The ledger: idempotent appends, export, billing from it, and survival of `kill -9`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use spaces_billing::ledger::{Appended, Ledger};
use spaces_billing::{parse_line, Error, Period, UsageEvent, UsageLog};
use spaces_core::Catalog;

const CHILD_ENV: &str = "SPACES_BILLING_LEDGER_CRASH_CHILD";

fn event(i: u64) -> UsageEvent {
    let stage = if i % 3 == 2 { "PAUSED" } else { "RUNNING" };
    parse_line(&format!(
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
    // The same event read from another form of its line (an offset instead of Z) is the same.
    let same = parse_line(
        r#"{"at":"2026-11-01T01:00:01+01:00","space":"crash/test-1","kind":"stage","stage":"RUNNING","id":"ev-1"}"#,
    )
    .unwrap();
    assert_eq!(same, e);
    assert_eq!(
        ledger.append(&same).unwrap(),
        Appended::Duplicate(first.seq())
    );
    let mut anon = event(3);
    anon.id = None;
    assert!(ledger.append(&anon).unwrap().is_new());
    assert!(ledger.append(&anon).unwrap().is_new());
    assert_eq!(ledger.len().unwrap(), 3);
    assert!(ledger.append_all([&e, &e]).unwrap() == 0);
    assert_eq!(ledger.len().unwrap(), 3);
    assert!(ledger.contains("ev-1").unwrap());
    assert!(!ledger.contains("ev-2").unwrap());
    let mut out = Vec::new();
    ledger.export_jsonl(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert_eq!(text.lines().next().unwrap(), e.to_json_line());
}

/// Everything a ledger holds, as its export.
fn exported(ledger: &Ledger) -> String {
    let mut out = Vec::new();
    ledger.export_jsonl(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_different_event_under_a_stored_id_is_refused_and_changes_nothing() {
    let mut ledger = Ledger::open_in_memory().unwrap();
    let e = event(1);
    ledger.append(&e).unwrap();
    let before = exported(&ledger);
    // Same id, other content (each field in turn): an error naming the id and both events.
    let mut later = e.clone();
    later.at = "2026-11-01T00:00:02Z".parse().unwrap();
    let mut elsewhere = e.clone();
    elsewhere.space = "crash/test-2".parse().unwrap();
    let mut paused = e.clone();
    paused.change = spaces_billing::UsageChange::Stage(spaces_core::Stage::Paused);
    for other in [later, elsewhere, paused] {
        match ledger.append(&other).unwrap_err() {
            Error::ConflictingEvent {
                id,
                stored,
                refused,
            } => {
                assert_eq!(id, "ev-1");
                assert_eq!(*stored, e);
                assert_eq!(*refused, other);
            }
            err => panic!("{err}"),
        }
        let message = ledger.append(&other).unwrap_err().to_string();
        assert!(message.contains("`ev-1`"), "{message}");
        assert!(message.contains(&e.to_json_line()), "{message}");
        assert!(message.contains(&other.to_json_line()), "{message}");
        assert_eq!(exported(&ledger), before);

        // In a batch, nothing of the batch is stored.
        let fresh = event(4);
        let err = ledger.append_all([&fresh, &other]).unwrap_err();
        assert!(matches!(err, Error::ConflictingEvent { .. }), "{err}");
        assert_eq!(exported(&ledger), before);
        assert!(!ledger.contains("ev-4").unwrap());
    }
    // A log whose lines reuse an id for different events imports nothing either.
    let log = format!(
        "{}\n{}\n",
        event(5).to_json_line(),
        event(6).to_json_line().replace("ev-6", "ev-5")
    );
    let err = ledger.import_jsonl(&log, &Catalog::seed()).unwrap_err();
    assert!(
        matches!(err, Error::ConflictingEvent { ref id, .. } if id == "ev-5"),
        "{err}"
    );
    assert_eq!(exported(&ledger), before);
    // The same event again is still an idempotent duplicate.
    assert!(!ledger.append(&e).unwrap().is_new());
    assert_eq!(ledger.len().unwrap(), 1);
}

/// Every entry of `dir` by name, with the length and a hash of its bytes (folders: none).
fn files(dir: &std::path::Path) -> std::collections::BTreeMap<String, Option<(usize, u64)>> {
    use std::hash::{Hash, Hasher};
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let bytes = std::fs::read(e.path()).ok().map(|b| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                b.hash(&mut h);
                (b.len(), h.finish())
            });
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

#[test]
fn a_read_only_ledger_changes_no_byte_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let events: Vec<_> = (0..20).map(event).collect();
    Ledger::open(&path).unwrap().append_all(&events).unwrap();
    let before = files(dir.path());
    assert_eq!(before.keys().collect::<Vec<_>>(), ["ledger.db"]);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    {
        let mut ro = Ledger::open_read_only(&path).unwrap();
        assert!(ro.is_read_only());
        assert_eq!(ro.events().unwrap(), events);
        assert_eq!(ro.len().unwrap(), 20);
        let invoice = ro
            .usage_log(&Catalog::seed())
            .unwrap()
            .invoice("2026-11".parse().unwrap())
            .unwrap();
        let direct = UsageLog::from_events(events.clone(), &Catalog::seed())
            .unwrap()
            .invoice("2026-11".parse().unwrap())
            .unwrap();
        assert_eq!(invoice, direct);
        let err = ro.append(&event(99)).unwrap_err();
        assert!(matches!(err, Error::ReadOnlyLedger { .. }), "{err}");
        assert!(matches!(
            ro.append_all([&event(99)]).unwrap_err(),
            Error::ReadOnlyLedger { .. }
        ));
        assert_eq!(files(dir.path()), before);
    }
    assert_eq!(files(dir.path()), before);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn a_read_only_ledger_sees_what_an_open_writer_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut writer = Ledger::open(&path).unwrap();
    writer
        .append_all(&(0..5).map(event).collect::<Vec<_>>())
        .unwrap();
    let ro = Ledger::open_read_only(&path).unwrap();
    assert_eq!(ro.len().unwrap(), 5);
    writer.append(&event(5)).unwrap();
    assert_eq!(Ledger::open_read_only(&path).unwrap().len().unwrap(), 6);
    drop(ro);
    // The writer still works, and the reader left the database as the writer expects it.
    writer.append(&event(6)).unwrap();
    drop(writer);
    assert_eq!(Ledger::open(&path).unwrap().len().unwrap(), 7);
}

#[test]
fn a_read_only_open_refuses_what_is_not_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let err = Ledger::open_read_only(&missing).unwrap_err();
    assert!(matches!(err, Error::LedgerNotFound { .. }), "{err}");
    assert!(err.to_string().contains("missing.db"), "{err}");
    assert!(!missing.exists());

    let text = dir.path().join("usage.jsonl");
    std::fs::write(&text, event(1).to_json_line()).unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let before = files(dir.path());
    for path in [&text, &empty] {
        let err = Ledger::open_read_only(path).unwrap_err();
        assert!(matches!(err, Error::NotALedger { .. }), "{err}");
        assert!(err.to_string().contains("is not a usage ledger"), "{err}");
    }
    let err = Ledger::open_read_only(dir.path()).unwrap_err();
    assert!(matches!(err, Error::NotALedger { .. }), "{err}");
    assert_eq!(files(dir.path()), before);
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
    let id = prop::option::of(0u16..200)
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
    fn billing_from_the_ledger_equals_billing_the_log(
        mut lines in prop::collection::vec(arb_line(), 0..30),
        repeats in prop::collection::vec(any::<(prop::sample::Index, prop::sample::Index)>(), 0..5),
    ) {
        // Some lines again, verbatim (a redelivered event), somewhere later or earlier.
        if !lines.is_empty() {
            for (from, to) in repeats {
                let line = lines[from.index(lines.len())].clone();
                let at = to.index(lines.len() + 1);
                lines.insert(at, line);
            }
        }
        let text = lines.join("\n");
        let catalog = Catalog::seed();
        let period: Period = "2026-11".parse().unwrap();
        let mut ledger = Ledger::open_in_memory().unwrap();
        // An id used for two different events: the ledger refuses the log (the log's own
        // reading ignores the second one as a duplicate).
        let mut by_id: HashMap<String, UsageEvent> = HashMap::new();
        let conflict = UsageLog::parse(&text, &catalog).is_ok()
            && lines.iter().map(|l| parse_line(l).unwrap()).any(|e| match &e.id {
                Some(id) => by_id.entry(id.clone()).or_insert_with(|| e.clone()) != &e,
                None => false,
            });
        match UsageLog::parse(&text, &catalog) {
            Ok(_) if conflict => {
                let err = ledger.import_jsonl(&text, &catalog).unwrap_err();
                prop_assert!(matches!(err, Error::ConflictingEvent { .. }), "{}", err);
                prop_assert!(ledger.is_empty().unwrap());
            }
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
