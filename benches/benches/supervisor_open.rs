//! Opening the supervisor's store of 1,000,000 Spaces: time to a ready supervisor and peak memory,
//! next to a baseline that only reads the same rows out of the same SQLite file (no decoding, no
//! Space kept), each in a fresh process so that peak memory is its own.
//!
//! `cargo bench -p spaces-benches --bench supervisor_open` (`SPACES_BENCH_SPACES` changes the
//! count; the store is generated once into a temporary folder).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic
)]

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use spaces_core::{Catalog, ManualClock, Sdk, SpaceId, Visibility};
use spaces_runtime::supervisor::{Supervisor, UsageEvent, UsageSink};
use spaces_runtime::LocalRuntime;

/// A sink that keeps nothing (the bench measures the store, not a ledger).
#[derive(Debug)]
struct Discard;

impl UsageSink for Discard {
    fn record(&self, _: &UsageEvent) -> Result<(), spaces_runtime::Error> {
        Ok(())
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    kib as f64 / 1024.0
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn open(dir: &std::path::Path) -> Supervisor {
    let rt = Arc::new(LocalRuntime::new(dir.join("rt")).unwrap());
    let clock = Arc::new(ManualClock::new("2026-11-01T00:00:00Z".parse().unwrap()));
    runtime().block_on(async {
        Supervisor::open(
            &dir.join("state"),
            rt,
            clock,
            Catalog::seed(),
            Arc::new(Discard),
        )
        .await
        .unwrap()
    })
}

fn generate(dir: &std::path::Path, n: usize) {
    let sup = open(dir);
    let sdks = [Sdk::Gradio, Sdk::Static, Sdk::Streamlit, Sdk::Docker];
    let mut made = 0;
    while made < n {
        let batch = (n - made).min(100_000);
        let spaces = (made..made + batch).map(|i| {
            let id: SpaceId = format!("user{}/space-{i}", i % 50_000).parse().unwrap();
            (id, sdks[i % 4], Visibility::Public)
        });
        sup.create_many(spaces).unwrap();
        made += batch;
        eprintln!("  generated {made} Spaces");
    }
}

/// The baseline: read every row's bytes from the same database, keep nothing.
fn scan(dir: &std::path::Path) -> usize {
    let conn = rusqlite::Connection::open(dir.join("state/supervisor.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT id, doc FROM spaces ORDER BY id")
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut bytes = 0;
    while let Some(row) = rows.next().unwrap() {
        bytes += row.get_ref(1).unwrap().as_bytes().unwrap().len();
    }
    bytes
}

fn child(mode: &str, dir: &std::path::Path) -> (f64, f64, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--child", mode])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parts = text.split_whitespace();
    let secs: f64 = parts.next().unwrap().parse().unwrap();
    let mib: f64 = parts.next().unwrap().parse().unwrap();
    (secs, mib, parts.collect::<Vec<_>>().join(" "))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let dir = std::path::PathBuf::from(&args[i + 2]);
        let began = Instant::now();
        let what = match args[i + 1].as_str() {
            "open" => format!("{} Spaces", open(&dir).len()),
            _ => format!("{} bytes", scan(&dir)),
        };
        println!(
            "{:.3} {:.1} {what}",
            began.elapsed().as_secs_f64(),
            peak_rss_mib()
        );
        return;
    }
    if args.iter().any(|a| a == "--list") {
        println!("supervisor_open: bench");
        return;
    }
    let n: usize = std::env::var("SPACES_BENCH_SPACES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    eprintln!("generating a store of {n} Spaces ...");
    let began = Instant::now();
    generate(dir.path(), n);
    let db = std::fs::metadata(dir.path().join("state/supervisor.sqlite"))
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!(
        "  done in {:.1} s, database {:.0} MiB",
        began.elapsed().as_secs_f64(),
        db as f64 / 1048576.0
    );
    let mut opens = Vec::new();
    let mut scans = Vec::new();
    for _ in 0..3 {
        opens.push(child("open", dir.path()));
        scans.push(child("scan", dir.path()));
    }
    let median = |v: &mut Vec<(f64, f64, String)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v[v.len() / 2].clone()
    };
    let (o, s) = (median(&mut opens), median(&mut scans));
    println!("supervisor_open ({n} Spaces, median of 3, each in a fresh process)");
    println!(
        "  Supervisor::open       {:>7.2} s   peak RSS {:>7.1} MiB   ({})",
        o.0, o.1, o.2
    );
    println!(
        "  baseline: row scan    {:>7.2} s   peak RSS {:>7.1} MiB   ({})",
        s.0, s.1, s.2
    );
    println!(
        "  open / scan: {:.1}x time; {:.0} bytes of memory per Space held",
        o.0 / s.0,
        (o.1 - s.1) * 1048576.0 / n as f64
    );
}
