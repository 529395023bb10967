//! Hand-checked invoices: each expected figure is worked out in the comment above it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rust_decimal_macros::dec;
use spaces_billing::{Error, Grant, Invoice, Item, LogProblem, Period, UsageLog, Window};
use spaces_core::{Catalog, Decimal, Flavor, StorageTier};

fn ev(at: &str, space: &str, kind: &str, value: &str) -> String {
    let field = match kind {
        "stage" => format!(r#""stage":"{value}""#),
        "hardware" => format!(r#""flavor":"{value}""#),
        "storage" if value == "null" => r#""tier":null"#.to_owned(),
        _ => format!(r#""tier":"{value}""#),
    };
    format!(r#"{{"at":"{at}","space":"{space}","kind":"{kind}",{field}}}"#)
}

fn bill(lines: &[String], period: &str) -> Invoice {
    bill_with(lines, period, &Catalog::seed())
}

fn bill_with(lines: &[String], period: &str, catalog: &Catalog) -> Invoice {
    let log = UsageLog::parse(&lines.join("\n"), catalog).unwrap();
    let invoice = log.invoice(period.parse().unwrap()).unwrap();
    // The naive reference agrees on every hand-checked invoice.
    let reference = spaces_billing::reference::invoice_jsonl(
        &lines.join("\n"),
        catalog,
        period.parse().unwrap(),
    )
    .unwrap();
    assert_eq!(invoice, reference);
    invoice
}

/// `(item, minutes, amount)` per line of one Space.
fn rows(invoice: &Invoice) -> Vec<(String, u64, Decimal)> {
    invoice
        .lines
        .iter()
        .map(|l| (l.item.to_string(), l.minutes, l.amount))
        .collect()
}

fn row(item: &str, minutes: u64, amount: Decimal) -> (String, u64, Decimal) {
    (item.to_owned(), minutes, amount)
}

fn rejected(lines: &[String]) -> Error {
    UsageLog::parse(&lines.join("\n"), &Catalog::seed()).unwrap_err()
}

#[test]
fn billing_md_example_invoice() {
    let log = [
        ev("2026-11-01T00:00:00Z", "alice/demo", "hardware", "t4-small"),
        ev("2026-11-01T00:00:00Z", "alice/demo", "stage", "RUNNING"),
        ev("2026-11-01T00:00:00Z", "alice/demo", "storage", "small"),
        ev("2026-11-01T01:30:20Z", "alice/demo", "stage", "PAUSED"),
    ];
    let invoice = bill(&log, "2026-11");
    // 00:00:00 .. 01:30:20 touches 91 minutes: 91 × 0.06 / 60 = 0.091 -> 0.09.
    // Small storage all November: 43200 × 5 / 43200 = 5.00.
    assert_eq!(
        invoice.to_json(),
        r#"{"period":"2026-11","currency":"USD","lines":[{"space":"alice/demo","item":"hardware/t4-small","minutes":91,"amount":"0.09"},{"space":"alice/demo","item":"storage/small","minutes":43200,"amount":"5.00"}],"total":"5.09"}"#
    );
}

#[test]
fn paused_mid_minute() {
    let log = [
        ev(
            "2026-11-03T10:00:00Z",
            "alice/gpu",
            "hardware",
            "a10g-small",
        ),
        ev("2026-11-03T10:00:00Z", "alice/gpu", "stage", "RUNNING"),
        ev(
            "2026-11-03T10:05:30.5+00:00",
            "alice/gpu",
            "stage",
            "PAUSED",
        ),
    ];
    // 10:00 .. 10:05:30.5 touches minutes 10:00 .. 10:05: 6 minutes; 6 × 1.05 / 60 = 0.105,
    // half away from zero -> 0.11.
    let invoice = bill(&log, "2026-11");
    assert_eq!(
        rows(&invoice),
        vec![row("hardware/a10g-small", 6, dec!(0.11))]
    );
    assert_eq!(invoice.total, dec!(0.11));
}

#[test]
fn hardware_change_mid_minute_dearer_flavor_wins() {
    let log = [
        ev("2026-11-03T10:00:00Z", "bob/x", "hardware", "a10g-small"),
        ev("2026-11-03T10:00:00Z", "bob/x", "stage", "RUNNING"),
        ev("2026-11-03T10:10:30Z", "bob/x", "hardware", "a100-large"),
        ev("2026-11-03T11:20:15+01:00", "bob/x", "hardware", "t4-small"),
        ev("2026-11-03T10:30:00Z", "bob/x", "stage", "SLEEPING"),
    ];
    // a10g-small: 10:00 .. 10:09 = 10 minutes (10:10 is shared with a100-large, which is dearer)
    //   10 × 1.05 / 60 = 0.175 -> 0.18
    // a100-large: 10:10 .. 10:20 = 11 minutes (10:20 is shared with t4-small, a100 dearer)
    //   11 × 4.13 / 60 = 0.75716.. -> 0.76
    // t4-small: 10:21 .. 10:29 = 9 minutes; 9 × 0.06 / 60 = 0.009 -> 0.01
    let invoice = bill(&log, "2026-11");
    assert_eq!(
        rows(&invoice),
        vec![
            row("hardware/a100-large", 11, dec!(0.76)),
            row("hardware/a10g-small", 10, dec!(0.18)),
            row("hardware/t4-small", 9, dec!(0.01)),
        ]
    );
    assert_eq!(invoice.total, dec!(0.95));
}

#[test]
fn equal_prices_give_the_minute_to_the_smaller_id() {
    let seed = Catalog::seed();
    let mut hw = seed.hardware().to_vec();
    for h in &mut hw {
        if h.id == Flavor::T4Medium {
            h.hourly_price = dec!(0.06);
        }
    }
    let catalog = Catalog::new(hw, seed.storage().to_vec()).unwrap();
    let log = [
        ev("2026-11-03T10:00:00Z", "bob/x", "hardware", "t4-small"),
        ev("2026-11-03T10:00:00Z", "bob/x", "stage", "RUNNING"),
        ev("2026-11-03T10:00:30Z", "bob/x", "hardware", "t4-medium"),
        ev("2026-11-03T10:01:30Z", "bob/x", "hardware", "t4-small"),
        ev("2026-11-03T10:03:00Z", "bob/x", "stage", "STOPPED"),
    ];
    // 10:00 shared -> t4-medium ("t4-medium" < "t4-small"); 10:01 shared -> t4-medium; 10:02 t4-small.
    let invoice = bill_with(&log, "2026-11", &catalog);
    assert_eq!(
        rows(&invoice),
        vec![
            row("hardware/t4-medium", 2, dec!(0.00)),
            row("hardware/t4-small", 1, dec!(0.00))
        ]
    );
}

#[test]
fn storage_over_a_whole_february_and_a_whole_31_day_month() {
    let log = [
        ev("2026-01-15T08:00:00Z", "carol/data", "storage", "medium"),
        ev("2026-01-15T08:00:00Z", "dave/data", "storage", "large"),
        ev("2026-01-15T08:00:00Z", "erin/data", "storage", "small"),
    ];
    // February 2026: 28 days = 40320 minutes, each tier exactly its monthly price.
    let feb = bill(&log, "2026-02");
    assert_eq!(
        rows(&feb),
        vec![
            row("storage/medium", 40_320, dec!(25.00)),
            row("storage/large", 40_320, dec!(100.00)),
            row("storage/small", 40_320, dec!(5.00)),
        ]
    );
    assert_eq!(feb.total, dec!(130.00));
    // December 2026: 31 days = 44640 minutes.
    let dec_ = bill(&log, "2026-12");
    assert!(dec_.lines.iter().all(|l| l.minutes == 44_640));
    assert_eq!(dec_.total, dec!(130.00));
    // A leap February (2028): 41760 minutes, still exactly the monthly price.
    let leap = bill(&log, "2028-02");
    assert!(leap.lines.iter().all(|l| l.minutes == 41_760));
    assert_eq!(leap.total, dec!(130.00));
}

#[test]
fn storage_upgrade_mid_month() {
    let log = [
        ev("2026-11-01T00:00:00Z", "carol/data", "storage", "small"),
        ev("2026-11-16T00:00:30Z", "carol/data", "storage", "large"),
        // Setting the held tier again changes nothing.
        ev("2026-11-20T00:00:00Z", "carol/data", "storage", "large"),
    ];
    // small: Nov 1 .. Nov 15, 15 × 1440 = 21600 minutes (16th 00:00 is shared; large wins it)
    //   21600 × 5 / 43200 = 2.50
    // large: 16th 00:00 .. 30th 23:59 = 21600 minutes; 21600 × 100 / 43200 = 50.00
    let invoice = bill(&log, "2026-11");
    assert_eq!(
        rows(&invoice),
        vec![
            row("storage/large", 21_600, dec!(50.00)),
            row("storage/small", 21_600, dec!(2.50))
        ]
    );
    assert_eq!(invoice.total, dec!(52.50));
}

#[test]
fn refused_downgrade_names_the_line_and_delete_first_is_accepted() {
    let log = [
        ev("2026-11-01T00:00:00Z", "carol/data", "storage", "large"),
        ev("2026-11-05T00:00:00Z", "carol/data", "storage", "large"),
        ev("2026-11-10T00:00:00Z", "carol/data", "storage", "small"),
    ];
    let err = rejected(&log);
    assert_eq!(err.line(), Some(3));
    assert!(matches!(
        err.log_problem(),
        Some(LogProblem::StorageDowngrade {
            held: StorageTier::Large,
            requested: StorageTier::Small,
            ..
        })
    ));
    assert!(
        err.to_string()
            .starts_with("line 3: carol/data: storage is upgrade-only"),
        "{err}"
    );
    // The rule follows time, not file order: a downgrade written before an earlier upgrade.
    let log = [
        ev("2026-11-10T00:00:00Z", "carol/data", "storage", "small"),
        ev("2026-11-01T00:00:00Z", "carol/data", "storage", "medium"),
    ];
    assert_eq!(rejected(&log).line(), Some(1));
    // Deleting first (tier null, or DELETING) makes a smaller tier fine.
    let log = [
        ev("2026-11-01T00:00:00Z", "carol/data", "storage", "large"),
        ev("2026-11-10T00:00:00Z", "carol/data", "storage", "null"),
        ev("2026-11-10T00:00:00Z", "carol/data", "storage", "small"),
    ];
    // large: 9 days = 12960 minutes -> 12960 × 100 / 43200 = 30.00;
    // small: 21 days = 30240 minutes -> 3.50.
    let invoice = bill(&log, "2026-11");
    assert_eq!(
        rows(&invoice),
        vec![
            row("storage/large", 12_960, dec!(30.00)),
            row("storage/small", 30_240, dec!(3.50))
        ]
    );
}

#[test]
fn deleting_deletes_the_storage() {
    let log = [
        ev("2026-11-01T00:00:00Z", "carol/data", "storage", "small"),
        ev("2026-11-10T00:00:00Z", "carol/data", "stage", "DELETING"),
        ev("2026-11-12T00:00:00Z", "carol/data", "storage", "small"),
        ev("2026-11-13T00:00:00Z", "carol/data", "stage", "RUNNING"),
    ];
    // 9 days + 19 days = 28 days = 40320 minutes -> 40320 × 5 / 43200 = 4.666.. -> 4.67.
    // RUNNING on the default cpu-basic: a free line, kept, 18 days = 25920 minutes.
    let invoice = bill(&log, "2026-11");
    assert_eq!(
        rows(&invoice),
        vec![
            row("hardware/cpu-basic", 25_920, dec!(0.00)),
            row("storage/small", 40_320, dec!(4.67))
        ]
    );
    assert_eq!(invoice.to_json().matches(r#""amount":"0.00""#).count(), 1);
}

#[test]
fn duplicates_by_id_are_ignored() {
    let with_id = |line: String, id: &str| line.replacen('{', &format!(r#"{{"id":"{id}","#), 1);
    let clean = [
        with_id(
            ev(
                "2026-11-01T00:00:00Z",
                "alice/demo",
                "hardware",
                "t4-medium",
            ),
            "a",
        ),
        with_id(
            ev("2026-11-01T00:00:00Z", "alice/demo", "stage", "RUNNING"),
            "b",
        ),
        with_id(
            ev("2026-11-01T02:00:00Z", "alice/demo", "stage", "PAUSED"),
            "c",
        ),
    ];
    let mut noisy = clean.to_vec();
    // A replay of the whole log, and a second event "b" that would otherwise change everything.
    noisy.extend(clean.iter().cloned());
    noisy.push(with_id(
        ev("2026-11-01T05:00:00Z", "alice/demo", "stage", "RUNNING"),
        "b",
    ));
    let a = bill(&clean, "2026-11");
    assert_eq!(rows(&a), vec![row("hardware/t4-medium", 120, dec!(0.18))]);
    assert_eq!(bill(&noisy, "2026-11"), a);
}

#[test]
fn events_before_the_period_set_its_starting_state() {
    let log = [
        ev("2026-10-20T12:00:00Z", "alice/demo", "hardware", "t4-small"),
        ev("2026-10-20T12:00:00Z", "alice/demo", "stage", "RUNNING"),
        ev("2026-10-25T00:00:00Z", "alice/demo", "storage", "medium"),
        ev("2026-10-01T00:00:00Z", "alice/other", "stage", "RUNNING"),
        ev("2026-10-31T23:59:59.999Z", "alice/other", "stage", "PAUSED"),
    ];
    // alice/demo runs the whole of November: 43200 × 0.06 / 60 = 43.20; medium storage 25.00.
    // alice/other stopped in October: nothing in November.
    let invoice = bill(&log, "2026-11");
    assert_eq!(
        rows(&invoice),
        vec![
            row("hardware/t4-small", 43_200, dec!(43.20)),
            row("storage/medium", 43_200, dec!(25.00))
        ]
    );
    assert_eq!(invoice.total, dec!(68.20));
    // In October, alice/other ran on cpu-basic until the last millisecond: 44640 minutes.
    let oct = bill(&log, "2026-10");
    assert!(oct
        .lines
        .iter()
        .any(|l| l.space.as_str() == "alice/other" && l.minutes == 44_640 && l.amount.is_zero()));
}

#[test]
fn equal_timestamps_keep_file_order_and_zero_length_states_never_count() {
    let t = "2026-11-01T00:00:00Z";
    let a = [
        ev(t, "a/b", "hardware", "a100-large"),
        ev(t, "a/b", "stage", "RUNNING"),
        ev(t, "a/b", "stage", "PAUSED"),
    ];
    assert!(bill(&a, "2026-11").lines.is_empty());
    let b = [
        ev(t, "a/b", "hardware", "a100-large"),
        ev(t, "a/b", "stage", "PAUSED"),
        ev(t, "a/b", "stage", "RUNNING"),
    ];
    assert_eq!(
        rows(&bill(&b, "2026-11")),
        vec![row("hardware/a100-large", 43_200, dec!(2973.60))]
    );
    // A flavor set and replaced at the same instant never bills.
    let c = [
        ev(t, "a/b", "stage", "RUNNING"),
        ev(t, "a/b", "hardware", "a100-large"),
        ev(t, "a/b", "hardware", "t4-small"),
        ev("2026-11-01T00:10:00Z", "a/b", "stage", "PAUSED"),
    ];
    assert_eq!(
        rows(&bill(&c, "2026-11")),
        vec![row("hardware/t4-small", 10, dec!(0.01))]
    );
}

#[test]
fn lines_sort_by_space_then_item_in_byte_order() {
    let t = "2026-11-01T00:00:00Z";
    let log = [
        ev(t, "bob/z", "storage", "small"),
        ev(t, "Bob/z", "storage", "small"),
        ev(t, "alice/a", "stage", "RUNNING"),
        ev(t, "alice/a", "storage", "large"),
        ev("2026-11-02T00:00:00Z", "alice/a", "hardware", "a10g-large"),
    ];
    let invoice = bill(&log, "2026-11");
    let keys: Vec<(String, String)> = invoice
        .lines
        .iter()
        .map(|l| (l.space.to_string(), l.item.to_string()))
        .collect();
    assert_eq!(
        keys,
        [
            ("Bob/z", "storage/small"),
            ("alice/a", "hardware/a10g-large"),
            ("alice/a", "hardware/cpu-basic"),
            ("alice/a", "storage/large"),
            ("bob/z", "storage/small"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[test]
fn each_log_rule_names_its_line() {
    let ok = ev("2026-11-01T00:00:00Z", "a/b", "stage", "RUNNING");
    type Is = fn(&LogProblem) -> bool;
    let cases: Vec<(&str, Is)> = vec![
        ("{not json", |p| matches!(p, LogProblem::InvalidJson { .. })),
        (r#"{"space":"a/b","kind":"stage","stage":"RUNNING"}"#, |p| {
            matches!(p, LogProblem::MissingField { field: "at" })
        }),
        (
            r#"{"at":"2026-11-01T00:00:00Z","kind":"stage","stage":"RUNNING"}"#,
            |p| matches!(p, LogProblem::MissingField { field: "space" }),
        ),
        (
            r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","stage":"RUNNING"}"#,
            |p| matches!(p, LogProblem::MissingField { field: "kind" }),
        ),
        (
            r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"hardware"}"#,
            |p| matches!(p, LogProblem::MissingField { field: "flavor" }),
        ),
        (
            r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"billing"}"#,
            |p| matches!(p, LogProblem::UnknownKind { .. }),
        ),
        (
            r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"stage","stage":"HIBERNATING"}"#,
            |p| matches!(p, LogProblem::UnknownStage { .. }),
        ),
        (
            r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"hardware","flavor":"h100x8"}"#,
            |p| matches!(p, LogProblem::UnknownFlavor { .. }),
        ),
        (
            r#"{"at":"2026-11-01T00:00:00Z","space":"a/b","kind":"storage","tier":"xl"}"#,
            |p| matches!(p, LogProblem::UnknownTier { .. }),
        ),
        (
            r#"{"at":"2026-11-31T00:00:00Z","space":"a/b","kind":"stage","stage":"RUNNING"}"#,
            |p| matches!(p, LogProblem::BadTimestamp { .. }),
        ),
        (
            r#"{"at":"2026-11-01T00:00:00Z","space":"ab","kind":"stage","stage":"RUNNING"}"#,
            |p| matches!(p, LogProblem::BadSpaceId { .. }),
        ),
    ];
    for (bad, is) in cases {
        let text = format!("{ok}\n\n{bad}\n{ok}");
        let err = UsageLog::parse(&text, &Catalog::seed()).unwrap_err();
        assert_eq!(err.line(), Some(3), "{bad}: {err}");
        assert!(is(err.log_problem().unwrap()), "{bad}: {err}");
        assert!(err.to_string().starts_with("line 3: "), "{err}");
    }
    // The first bad line in the file is the one reported.
    let text = format!("{ok}\n{{\n{{");
    assert_eq!(
        UsageLog::parse(&text, &Catalog::seed()).unwrap_err().line(),
        Some(2)
    );
}

#[test]
fn usage_in_any_minute_aligned_window() {
    let log = UsageLog::parse(
        &[
            ev("2026-11-03T10:00:20Z", "a/b", "stage", "RUNNING"),
            ev("2026-11-03T10:59:40Z", "a/b", "stage", "PAUSED"),
        ]
        .join("\n"),
        &Catalog::seed(),
    )
    .unwrap();
    let w = |a: &str, b: &str| Window::new(a.parse().unwrap(), b.parse().unwrap()).unwrap();
    let minutes = |w: Window| log.usage(w).iter().map(|u| u.minutes).sum::<u64>();
    assert_eq!(
        minutes(w("2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z")),
        60
    );
    assert_eq!(
        minutes(w("2026-11-03T10:30:00Z", "2026-11-03T10:31:00Z")),
        1
    );
    assert_eq!(
        minutes(w("2026-11-03T10:59:00Z", "2026-11-03T11:00:00Z")),
        1
    );
    assert_eq!(
        minutes(w("2026-11-03T11:00:00Z", "2026-11-04T00:00:00Z")),
        0
    );
    assert_eq!(
        log.usage(w("2026-11-03T10:00:00Z", "2026-11-03T10:01:00Z"))[0].item,
        Item::Hardware(Flavor::CpuBasic)
    );
}

#[test]
fn grants_cover_hardware_in_their_window_and_never_go_below_zero() {
    let log = [
        ev(
            "2026-11-01T00:00:00Z",
            "alice/gpu",
            "hardware",
            "a10g-large",
        ),
        ev("2026-11-01T00:00:00Z", "alice/gpu", "stage", "RUNNING"),
        ev("2026-11-01T00:00:00Z", "alice/gpu", "storage", "small"),
        ev("2026-11-11T00:00:00Z", "alice/gpu", "stage", "PAUSED"),
        ev("2026-11-01T00:00:00Z", "bob/gpu", "hardware", "t4-small"),
        ev("2026-11-01T00:00:00Z", "bob/gpu", "stage", "RUNNING"),
    ];
    let log = UsageLog::parse(&log.join("\n"), &Catalog::seed()).unwrap();
    let period: Period = "2026-11".parse().unwrap();
    let w = |a: &str, b: &str| Window::new(a.parse().unwrap(), b.parse().unwrap()).unwrap();
    let space = |s: &str| s.parse().unwrap();
    // alice: 10 days of a10g-large = 14400 minutes × 3.15 / 60 = 756.00. A grant for all of
    // 2026 (wider than the period, and given twice) covers exactly that; storage stays.
    let grants = [
        Grant::new(
            space("alice/gpu"),
            w("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ),
        Grant::new(
            space("alice/gpu"),
            w("2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"),
        ),
        // bob: from the 1st 00:00 to the 2nd 00:00: 1440 minutes × 0.06 / 60 = 1.44.
        Grant::new(
            space("bob/gpu"),
            w("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ),
        // carol has no usage: nothing.
        Grant::new(
            space("carol/none"),
            w("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ),
    ];
    let invoice = log.invoice_with_grants(period, &grants).unwrap();
    let keys: Vec<(String, String, u64, Decimal)> = invoice
        .lines
        .iter()
        .map(|l| (l.space.to_string(), l.item.to_string(), l.minutes, l.amount))
        .collect();
    let k = |s: &str, i: &str, m, a| (s.to_owned(), i.to_owned(), m, a);
    assert_eq!(
        keys,
        vec![
            k("alice/gpu", "grant/community-gpu", 14_400, dec!(-756.00)),
            k("alice/gpu", "hardware/a10g-large", 14_400, dec!(756.00)),
            k("alice/gpu", "storage/small", 43_200, dec!(5.00)),
            k("bob/gpu", "grant/community-gpu", 1_440, dec!(-1.44)),
            k("bob/gpu", "hardware/t4-small", 43_200, dec!(43.20)),
        ]
    );
    assert_eq!(invoice.total_of(&space("alice/gpu")), dec!(5.00));
    assert_eq!(invoice.total, dec!(5.00) + dec!(43.20) - dec!(1.44));
    assert_eq!(
        invoice.total,
        invoice.lines.iter().map(|l| l.amount).sum::<Decimal>()
    );
}
