//! Rating a month of usage for 100,000 Spaces (about 20 events each), in memory, against the
//! naive minute-by-minute reference in the same run.
//!
//! Run with `cargo bench -p spaces-benches --bench billing`. Besides criterion's own report, a
//! summary prints events per second, the time per invoice (the whole 100,000-Space invoice, and
//! per Space), and the ratio to the naive reference. The reference walks 43,200 minutes per
//! Space, so it is measured on a sample of Spaces and scaled by events (stated in the summary).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput};
use spaces_billing::{reference, Period, UsageChange, UsageEvent, UsageLog};
use spaces_core::{Catalog, Flavor, SpaceId, Stage, StorageTier, Timestamp};

const SPACES: usize = 100_000;
const NAIVE_SAMPLE: usize = 200;
const PERIOD: &str = "2026-11";

/// A small deterministic generator.
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

/// About 20 events per Space: storage and hardware set before the period, then runs, pauses,
/// sleeps and flavor changes at random seconds through the month, one storage upgrade.
fn month_of_usage(spaces: usize, seed: u64) -> Vec<UsageEvent> {
    let period: Period = PERIOD.parse().expect("valid by construction");
    let start = period.window().start().as_second();
    let month = i64::try_from(period.minutes()).unwrap_or(0) * 60;
    let flavors: Vec<Flavor> = Catalog::seed()
        .hardware()
        .iter()
        .map(|h| h.id.clone())
        .collect();
    let stages = [
        Stage::Running,
        Stage::Paused,
        Stage::Sleeping,
        Stage::AppStarting,
        Stage::Building,
    ];
    let mut rng = Lcg(seed);
    let mut events = Vec::with_capacity(spaces * 20);
    for s in 0..spaces {
        let space: SpaceId = format!("user{}/space-{s}", s % 997)
            .parse()
            .expect("valid by construction");
        let at = |sec: i64, nanos: i32| Timestamp::new(sec, nanos).expect("valid by construction");
        let mut push = |sec: i64, nanos: i32, change: UsageChange, id: u64| {
            events.push(UsageEvent {
                at: at(sec, nanos),
                space: space.clone(),
                change,
                id: Some(format!("{s}-{id}")),
            });
        };
        let before = start - 86_400 - rng.next(86_400) as i64;
        push(before, 0, UsageChange::Storage(Some(StorageTier::Small)), 0);
        push(
            before,
            0,
            UsageChange::Hardware(flavors[rng.next(flavors.len() as u64) as usize].clone()),
            1,
        );
        push(before, 0, UsageChange::Stage(Stage::Running), 2);
        let mut t = start;
        for k in 3..19 {
            t += 1 + rng.next((month / 17) as u64) as i64;
            let nanos = if rng.next(2) == 0 {
                0
            } else {
                rng.next(1_000_000_000) as i32
            };
            let change = if k % 5 == 0 {
                UsageChange::Hardware(flavors[rng.next(flavors.len() as u64) as usize].clone())
            } else {
                UsageChange::Stage(stages[rng.next(stages.len() as u64) as usize].clone())
            };
            push(t, nanos, change, k);
        }
        push(
            start + month / 2,
            0,
            UsageChange::Storage(Some(StorageTier::Large)),
            19,
        );
    }
    events
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort_unstable();
    xs[xs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

/// `n` per `d`, in millions per second with two decimals.
fn per_second(n: usize, d: Duration) -> String {
    let per_sec = (n as u128 * 1_000_000_000) / d.as_nanos().max(1);
    format!("{}.{:02} M", per_sec / 1_000_000, (per_sec / 10_000) % 100)
}

fn main() {
    let catalog = Catalog::seed();
    let period: Period = PERIOD.parse().expect("valid by construction");
    let events = month_of_usage(SPACES, 42);
    let n_events = events.len();
    let log = UsageLog::from_events(events.iter().cloned(), &catalog).expect("a valid log");
    let sample: Vec<(usize, UsageEvent)> = month_of_usage(NAIVE_SAMPLE, 7)
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i + 1, e))
        .collect();
    let n_sample = sample.len();
    // The engine and the reference agree on the sample.
    let fast =
        UsageLog::from_numbered(sample.iter().cloned(), &catalog).and_then(|l| l.invoice(period));
    let slow = reference::invoice(&sample, &catalog, period);
    assert!(
        matches!((&fast, &slow), (Ok(a), Ok(b)) if a == b),
        "engine and reference disagree"
    );

    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    {
        let mut g = c.benchmark_group("billing");
        g.throughput(Throughput::Elements(n_events as u64));
        g.bench_function("rate_month_100k_spaces", |b| {
            b.iter(|| black_box(log.invoice(period)))
        });
        g.bench_function("validate_group_and_rate_100k_spaces", |b| {
            b.iter_batched(
                || events.clone(),
                |ev| UsageLog::from_events(ev, &catalog).and_then(|l| l.invoice(period)),
                BatchSize::LargeInput,
            )
        });
        g.throughput(Throughput::Elements(n_sample as u64));
        g.bench_function("naive_reference_200_spaces", |b| {
            b.iter(|| black_box(reference::invoice(&sample, &catalog, period)))
        });
        g.finish();
    }
    c.final_summary();
    if std::env::var_os("BILLING_BENCH_NO_SUMMARY").is_some() {
        return;
    }

    // The summary, timed directly (median of runs).
    let rate = time(7, || log.invoice(period));
    let full = time(3, || {
        UsageLog::from_events(events.clone(), &catalog).and_then(|l| l.invoice(period))
    });
    let clone = time(3, || events.clone());
    let full = full.saturating_sub(clone);
    let naive = time(3, || reference::invoice(&sample, &catalog, period));
    let fast_sample = time(15, || {
        UsageLog::from_numbered(sample.iter().cloned(), &catalog).and_then(|l| l.invoice(period))
    });
    let naive_ns_per_event = naive.as_nanos() / n_sample as u128;
    let rate_ns_per_event = rate.as_nanos() / n_events as u128;
    println!();
    println!("billing summary ({SPACES} Spaces, {n_events} events, period {PERIOD}, one core):");
    println!(
        "  rate (validated log -> invoice): {rate:?} per invoice = {}events/s, {} ns per Space",
        per_second(n_events, rate),
        rate.as_nanos() / SPACES as u128
    );
    println!("  validate + group + rate (events -> invoice, event clone excluded): {full:?} = {}events/s", per_second(n_events, full));
    println!("  naive reference on a sample of {NAIVE_SAMPLE} Spaces ({n_sample} events): {naive:?} = {}events/s; scaled to {SPACES} Spaces: {:?}", per_second(n_sample, naive), Duration::from_nanos((naive_ns_per_event * n_events as u128) as u64));
    println!("  ratio rate / naive (per event): {}x; validate+group+rate / naive: {}x; engine (validate+rate) / naive on the same sample: {}x",
        naive_ns_per_event / rate_ns_per_event.max(1),
        naive.as_nanos() * n_events as u128 / (full.as_nanos() * n_sample as u128).max(1),
        naive.as_nanos() / fast_sample.as_nanos().max(1));
}
