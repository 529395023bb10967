//! Scheduler benchmarks: placements per second and p99 latency of a placement at 1k, 10k and 100k
//! hosts under sleep/wake churn, against the naive filter-and-score baseline in the same run; then
//! packing quality (hosts in use, GPU capacity stranded) for both.
//!
//! Workload: a fleet of 85% CPU hosts, 6% 4×T4, 6% 4×A10G and 3% 8×A100 hosts (interleaved), ten
//! active Spaces per host (88% cpu-basic, 10.5% cpu-upgrade, 0.3% of each GPU flavor of the seed
//! catalog), and churn: a random active Space sleeps (is released) and a Space wakes (is placed
//! again, with a flavor drawn from the mix). One churn step = one release + one placement; rates
//! count steps, so they are conservative for placement alone. Spaces are keyed by `SpaceId`.
//!
//! Run: `cargo bench -p spaces-benches --bench scheduler`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic,
    missing_docs
)]

use std::hash::Hash;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use spaces_benches::scheduler_baseline::NaiveScheduler;
use spaces_core::{Catalog, Flavor, GpuModel, HardwareSpec, SpaceId};
use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Packing, Scheduler};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const SPACES_PER_HOST: usize = 10;

/// SplitMix64: a small deterministic generator (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn host(rng: &mut Rng) -> HostSpec {
    match rng.below(1000) {
        0..850 => HostSpec::cpu(96, 384, 4000),
        850..910 => HostSpec::cpu(32, 128, 1000).with_gpus(GpuModel::T4, 4),
        910..970 => HostSpec::cpu(48, 192, 1000).with_gpus(GpuModel::A10G, 4),
        _ => HostSpec::cpu(96, 1152, 8000).with_gpus(GpuModel::A100, 8),
    }
}

fn fleet(hosts: usize) -> Fleet {
    let mut rng = Rng(hosts as u64);
    let mut fleet = Fleet::new();
    for _ in 0..hosts {
        fleet.add(host(&mut rng));
    }
    fleet
}

/// The flavor mix, per mille.
struct Mix {
    flavors: Vec<(u32, HardwareSpec)>,
}

impl Mix {
    fn new(catalog: &Catalog) -> Self {
        let f = |id: Flavor| catalog.flavor(&id).unwrap().clone();
        let flavors = vec![
            (880, f(Flavor::CpuBasic)),
            (985, f(Flavor::CpuUpgrade)),
            (988, f(Flavor::T4Small)),
            (991, f(Flavor::T4Medium)),
            (994, f(Flavor::A10gSmall)),
            (997, f(Flavor::A10gLarge)),
            (1000, f(Flavor::A100Large)),
        ];
        Self { flavors }
    }

    fn pick(&self, rng: &mut Rng) -> &HardwareSpec {
        let r = rng.below(1000) as u32;
        let i = self.flavors.iter().position(|(c, _)| r < *c).unwrap();
        &self.flavors[i].1
    }

    fn gpu_demands(&self) -> Vec<Demand> {
        self.flavors
            .iter()
            .filter(|(_, h)| h.gpu.is_some())
            .map(|(_, h)| Demand::from(h))
            .collect()
    }
}

fn space_ids(n: usize) -> Vec<SpaceId> {
    (0..n)
        .map(|i| SpaceId::from_parts(&format!("user{}", i / 7), &format!("space-{i}")).unwrap())
        .collect()
}

/// Keys for `n` Spaces.
trait Keys: Clone + Eq + Hash + Sized {
    fn make(n: usize) -> Vec<Self>;
}

impl Keys for SpaceId {
    fn make(n: usize) -> Vec<Self> {
        space_ids(n)
    }
}

/// A dense handle into the caller's registry of Spaces.
impl Keys for u32 {
    fn make(n: usize) -> Vec<Self> {
        (0..n as u32).collect()
    }
}

/// A world at steady state: `hosts` hosts with `active` Spaces placed.
struct World<K> {
    ids: Vec<K>,
    mix: Mix,
    rng: Rng,
    ours: Scheduler<K>,
    failures: u64,
}

impl<K: Keys> World<K> {
    fn new(hosts: usize, active: usize) -> Self {
        let catalog = Catalog::seed();
        let mix = Mix::new(&catalog);
        let ids = K::make(active);
        let mut ours = Scheduler::with_catalog(fleet(hosts), &catalog);
        let mut rng = Rng(42);
        let mut failures = 0;
        for id in &ids {
            failures += u64::from(ours.place(id.clone(), mix.pick(&mut rng)).is_err());
        }
        Self {
            ids,
            mix,
            rng,
            ours,
            failures,
        }
    }

    /// One churn step on our scheduler: a random Space sleeps, and wakes with a drawn flavor.
    #[inline]
    fn step(&mut self) {
        let id = &self.ids[self.rng.below(self.ids.len())];
        let _ = self.ours.release(id);
        let flavor = self.mix.pick(&mut self.rng);
        if self.ours.place(id.clone(), flavor).is_err() {
            self.failures += 1;
        }
    }

    /// A naive scheduler over the same fleet, holding the same placements as ours now.
    fn naive(&self) -> NaiveScheduler<K> {
        let mut naive = NaiveScheduler::new(fleet(self.ours.fleet().len()));
        let catalog = Catalog::seed();
        for (id, p) in self.ours.placements() {
            let took = p.took();
            let spec = catalog
                .hardware()
                .iter()
                .find(|h| Demand::from(*h).resources() == took)
                .unwrap();
            assert!(naive.adopt(id.clone(), p.host(), spec));
        }
        naive
    }
}

/// One churn step on the naive scheduler.
fn naive_step<K: Keys>(naive: &mut NaiveScheduler<K>, ids: &[K], mix: &Mix, rng: &mut Rng) {
    let id = &ids[rng.below(ids.len())];
    naive.release(id);
    let _ = black_box(naive.place(id.clone(), mix.pick(rng)));
}

fn criterion_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("scheduler_churn");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for hosts in SIZES {
        let mut world = World::<u32>::new(hosts, hosts * SPACES_PER_HOST);
        group.bench_with_input(BenchmarkId::new("ours", hosts), &hosts, |b, _| {
            b.iter(|| world.step())
        });
        let mut naive = world.naive();
        let mut rng = Rng(7);
        group.bench_with_input(BenchmarkId::new("naive", hosts), &hosts, |b, _| {
            b.iter(|| naive_step(&mut naive, &world.ids, &world.mix, &mut rng))
        });
    }
    group.finish();
}

struct Rate {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// Throughput over `batch` untimed-per-step steps, then latency over `sampled` timed steps.
fn measure(mut step: impl FnMut(), batch: usize, sampled: usize) -> Rate {
    let start = Instant::now();
    for _ in 0..batch {
        step();
    }
    let per_second = batch as f64 / start.elapsed().as_secs_f64();
    let mut lat = Vec::with_capacity(sampled);
    for _ in 0..sampled {
        let t = Instant::now();
        step();
        lat.push(t.elapsed());
    }
    lat.sort_unstable();
    Rate {
        per_second,
        p50: percentile(&lat, 50),
        p99: percentile(&lat, 99),
    }
}

fn packing_row(label: &str, p: &Packing, placed: usize) {
    println!(
        "  {label:<22} {placed:>9} {:>7.1}% {:>7.1}% {:>7.1}% {:>9.1}%",
        f64::from(p.hosts_in_use_per_mille()) / 10.0,
        f64::from(p.memory_used_per_mille()) / 10.0,
        f64::from(p.gpus_used_per_mille()) / 10.0,
        f64::from(p.gpus_stranded_per_mille()) / 10.0,
    );
}

/// Our rate against the naive one at each size; returns our ns per step at each size.
fn churn_table<K: Keys>(
    title: &str,
    active: impl Fn(usize) -> usize,
    with_naive: bool,
) -> Vec<f64> {
    println!("\n== {title} ==");
    println!(
        "  {:>7} {:>9} | {:>13} {:>8} {:>8} | {:>13} {:>9} | {:>7}",
        "hosts", "active", "ours place/s", "p50", "p99", "naive place/s", "p99", "ratio"
    );
    let mut ours_ns = Vec::new();
    for hosts in SIZES {
        let mut world = World::<K>::new(hosts, active(hosts));
        // Reach a steady state under churn, then measure.
        for _ in 0..100_000 {
            world.step();
        }
        let ours = measure(|| world.step(), 1_000_000, 200_000);
        ours_ns.push(1e9 / ours.per_second);
        print!(
            "  {:>7} {:>9} | {:>13.0} {:>8.0?} {:>8.0?} |",
            hosts,
            world.ours.placed(),
            ours.per_second,
            ours.p50,
            ours.p99,
        );
        if with_naive {
            let mut naive = world.naive();
            let mut rng = Rng(7);
            let (ids, mix) = (&world.ids, &world.mix);
            let naive_steps = (20_000_000 / hosts).max(100);
            let naive_rate = measure(
                || naive_step(&mut naive, ids, mix, &mut rng),
                naive_steps,
                naive_steps,
            );
            println!(
                " {:>13.0} {:>9.0?} | {:>6.0}x",
                naive_rate.per_second,
                naive_rate.p99,
                ours.per_second / naive_rate.per_second
            );
        } else {
            println!(" {:>13} {:>9} | {:>7}", "-", "-", "-");
        }
        if world.failures > 0 {
            println!(
                "          ({} of our placements were refused)",
                world.failures
            );
        }
    }
    println!(
        "  our cost per step, 100k vs 1k hosts: {:.2}x ({:.0} ns vs {:.0} ns)",
        ours_ns[2] / ours_ns[0],
        ours_ns[2],
        ours_ns[0]
    );
    ours_ns
}

fn report() {
    churn_table::<u32>(
        "churn, 10 active Spaces per host, u32 registry keys (one step = release + place, one core)",
        |hosts| hosts * SPACES_PER_HOST,
        true,
    );
    churn_table::<SpaceId>(
        "same, keyed by SpaceId (the default key)",
        |hosts| hosts * SPACES_PER_HOST,
        false,
    );
    churn_table::<u32>(
        "host scaling alone: 10,000 active Spaces on every fleet size, u32 keys",
        |_| 10_000,
        false,
    );

    println!("\n== packing: same arrivals and churn for both ==");
    println!(
        "  {:<22} {:>9} {:>8} {:>8} {:>8} {:>10}",
        "", "placed", "hosts", "memory", "GPUs", "GPUs"
    );
    println!(
        "  {:<22} {:>9} {:>8} {:>8} {:>8} {:>10}",
        "", "", "in use", "used", "used", "stranded"
    );
    for hosts in [1_000, 10_000] {
        packing_at_steady_state(hosts);
    }
    fill_until_refused(1_000);
}

/// Both schedulers place the same arrivals (ten per host) and the same churn from empty.
fn packing_at_steady_state(hosts: usize) {
    let catalog = Catalog::seed();
    let mix = Mix::new(&catalog);
    let ids = space_ids(hosts * SPACES_PER_HOST);
    let mut ours: Scheduler = Scheduler::with_catalog(fleet(hosts), &catalog);
    let mut naive = NaiveScheduler::new(fleet(hosts));
    let (mut a, mut b) = (Rng(1), Rng(1));
    for id in &ids {
        let _ = ours.place(id.clone(), mix.pick(&mut a));
        let _ = naive.place(id.clone(), mix.pick(&mut b));
    }
    for _ in 0..hosts * 5 {
        let id = &ids[a.below(ids.len())];
        let _ = b.below(ids.len());
        let _ = ours.release(id);
        naive.release(id);
        let _ = ours.place(id.clone(), mix.pick(&mut a));
        let _ = naive.place(id.clone(), mix.pick(&mut b));
    }
    let gpu = mix.gpu_demands();
    println!("  {hosts} hosts, 10 Spaces/host, after churn:");
    packing_row("ours", &ours.fleet().packing(&gpu), ours.placed());
    packing_row(
        "naive least-allocated",
        &naive.fleet().packing(&gpu),
        naive.placed(),
    );
}

/// Both schedulers take arrivals until the first refusal: how much fits, and what is left.
fn fill_until_refused(hosts: usize) {
    let catalog = Catalog::seed();
    let mix = Mix::new(&catalog);
    let gpu = mix.gpu_demands();
    let mut ours: Scheduler<u32> = Scheduler::with_catalog(fleet(hosts), &catalog);
    let mut rng = Rng(3);
    let mut i = 0;
    while ours.place(i, mix.pick(&mut rng)).is_ok() {
        i += 1;
    }
    let mut naive = NaiveScheduler::new(fleet(hosts));
    let mut rng = Rng(3);
    let mut j = 0;
    while naive.place(j, mix.pick(&mut rng)).is_some() {
        j += 1;
    }
    println!("  {hosts} hosts, arrivals until the first refusal:");
    packing_row("ours", &ours.fleet().packing(&gpu), ours.placed());
    packing_row(
        "naive least-allocated",
        &naive.fleet().packing(&gpu),
        naive.placed(),
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    criterion_benches(&mut c);
    c.final_summary();
    report();
}
