//! `simulate`: a simulated day of a Spaces platform, to see the scheduler at scale.
//!
//! 1,000,000 registered Spaces (each with a flavor drawn from a realistic mix), about 100,000 of
//! them active at a time on a 10,000-host fleet, with sleep/wake churn minute by minute over a
//! day (the active count follows a daily curve between 80% and 100% of the peak). Every wake is a
//! placement and every sleep a release. Prints progress every two simulated hours, then
//! placements per second, failures, utilisation and the memory the process used.
//!
//! ```text
//! cargo run --release -p spaces-examples --bin simulate
//! cargo run --release -p spaces-examples --bin simulate -- --hosts 20000 --churn 5000
//! ```
#![allow(clippy::float_arithmetic)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use spaces_core::{Catalog, Flavor, GpuModel, HardwareSpec, SpaceId};
use spaces_runtime::scheduler::{Demand, Fleet, HostSpec, Packing, Reason, Scheduler};

/// Simulate a day of sleep/wake churn on a fleet and report how the scheduler did.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Registered Spaces.
    #[arg(long, default_value_t = 1_000_000)]
    registered: u32,
    /// Active Spaces at the daily peak.
    #[arg(long, default_value_t = 100_000)]
    active: u32,
    /// Hosts in the fleet (85% CPU, 6% 4xT4, 6% 4xA10G, 3% 8xA100).
    #[arg(long, default_value_t = 10_000)]
    hosts: u32,
    /// Spaces that go to sleep (and others that wake) each simulated minute, on top of the daily
    /// curve.
    #[arg(long, default_value_t = 2_000)]
    churn: u32,
    /// Simulated minutes (1440 = one day).
    #[arg(long, default_value_t = 1440)]
    minutes: u32,
    /// Seed of the workload generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// SplitMix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }
}

/// The registry: every Space's id and flavor, and which ones are active.
struct Registry {
    ids: Vec<SpaceId>,
    flavor: Vec<u8>,
    /// Active Spaces, in no order; `slot[i]` is Space `i`'s position here, or `u32::MAX`.
    active: Vec<u32>,
    slot: Vec<u32>,
}

impl Registry {
    fn is_active(&self, space: u32) -> bool {
        self.slot
            .get(space as usize)
            .is_some_and(|s| *s != u32::MAX)
    }

    fn activate(&mut self, space: u32) {
        if let Some(s) = self.slot.get_mut(space as usize) {
            *s = self.active.len() as u32;
            self.active.push(space);
        }
    }

    fn deactivate_at(&mut self, pos: u32) -> Option<u32> {
        let space = *self.active.get(pos as usize)?;
        self.active.swap_remove(pos as usize);
        if let Some(moved) = self.active.get(pos as usize) {
            if let Some(s) = self.slot.get_mut(*moved as usize) {
                *s = pos;
            }
        }
        if let Some(s) = self.slot.get_mut(space as usize) {
            *s = u32::MAX;
        }
        Some(space)
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

/// Flavor mix, per mille: 88% cpu-basic, 10.5% cpu-upgrade, 0.3% of each GPU flavor.
const MIX: [(u32, Flavor); 7] = [
    (880, Flavor::CpuBasic),
    (985, Flavor::CpuUpgrade),
    (988, Flavor::T4Small),
    (991, Flavor::T4Medium),
    (994, Flavor::A10gSmall),
    (997, Flavor::A10gLarge),
    (1000, Flavor::A100Large),
];

/// Target active count at `minute`: a triangle between 80% (03:00) and 100% (15:00) of the peak.
fn target(peak: u32, minute: u32) -> u32 {
    let m = (minute + 24 * 60 - 3 * 60) % (24 * 60); // minutes since 03:00
    let up = if m < 12 * 60 { m } else { 24 * 60 - m }; // 0..=720
    let low = u64::from(peak) * 8 / 10;
    (low + (u64::from(peak) - low) * u64::from(up) / 720) as u32
}

fn memory_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |k| format!("{:.0} MiB", k as f64 / 1024.0),
    )
}

fn pct(per_mille: u32) -> String {
    format!("{:.1}%", f64::from(per_mille) / 10.0)
}

fn progress(minute: u32, active: usize, placements: u64, failures: u64, p: &Packing) {
    println!(
        "  {:02}:{:02}  active {:>7}  placements {:>9}  failures {:>5}  hosts in use {:>6}  \
         vCPU {:>6}  memory {:>6}  GPUs {:>6}",
        minute / 60,
        minute % 60,
        active,
        placements,
        failures,
        pct(p.hosts_in_use_per_mille()),
        pct(p.vcpu_used_per_mille()),
        pct(p.memory_used_per_mille()),
        pct(p.gpus_used_per_mille()),
    );
}

fn main() -> ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    let catalog = Catalog::seed();
    let specs: Vec<HardwareSpec> = MIX
        .iter()
        .filter_map(|(_, f)| catalog.flavor(f).cloned())
        .collect();
    if specs.len() != MIX.len() {
        eprintln!("error: the seed catalog lacks a flavor of the mix");
        return ExitCode::FAILURE;
    }
    let gpu_demands: Vec<Demand> = specs
        .iter()
        .filter(|s| s.gpu.is_some())
        .map(Demand::from)
        .collect();
    let mut rng = Rng(args.seed);

    println!(
        "simulate: {} registered Spaces, {} active at peak, {} hosts, churn {}/min, {} minutes",
        args.registered, args.active, args.hosts, args.churn, args.minutes
    );

    // Registry of Spaces.
    let mut ids = Vec::with_capacity(args.registered as usize);
    let mut flavor = Vec::with_capacity(args.registered as usize);
    for i in 0..args.registered {
        let id = match SpaceId::from_parts(&format!("user{}", i / 5), &format!("space-{i}")) {
            Ok(id) => id,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        ids.push(id);
        let r = rng.below(1000);
        flavor.push(MIX.iter().position(|(c, _)| r < *c).unwrap_or(0) as u8);
    }
    let mut reg = Registry {
        ids,
        flavor,
        active: Vec::with_capacity(args.active as usize),
        slot: vec![u32::MAX; args.registered as usize],
    };
    println!(
        "  registered {} Spaces in {:.2?} (RSS {})",
        args.registered,
        started.elapsed(),
        mib(memory_kib("VmRSS:"))
    );

    // Fleet and scheduler, keyed by registry index.
    let mut fleet = Fleet::new();
    for _ in 0..args.hosts {
        fleet.add(host(&mut rng));
    }
    let mut scheduler: Scheduler<u32> = Scheduler::with_catalog(fleet, &catalog);

    let mut placements = 0u64;
    let mut releases = 0u64;
    let mut failures = 0u64;
    let mut failure_reasons: Vec<(String, u64)> = Vec::new();
    let mut in_scheduler = Duration::ZERO;

    let mut wake = |space: u32,
                    reg: &mut Registry,
                    scheduler: &mut Scheduler<u32>,
                    in_scheduler: &mut Duration,
                    placements: &mut u64,
                    failures: &mut u64| {
        let Some(spec) = reg
            .flavor
            .get(space as usize)
            .and_then(|f| specs.get(usize::from(*f)))
        else {
            return;
        };
        let t = Instant::now();
        let placed = scheduler.place(space, spec);
        *in_scheduler += t.elapsed();
        match placed {
            Ok(_) => {
                *placements += 1;
                reg.activate(space);
            }
            Err(e) => {
                *failures += 1;
                let kind = match e.unschedulable().map(|u| u.reason()) {
                    Some(Reason::Full { resource, .. }) => format!("{} full ({resource})", spec.id),
                    Some(other) => format!("{}: {other}", spec.id),
                    None => e.to_string(),
                };
                match failure_reasons.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, n)) => *n += 1,
                    None => failure_reasons.push((kind, 1)),
                }
            }
        }
    };

    println!("  simulated day (progress every 2 hours):");
    let sim_start = Instant::now();
    for minute in 0..args.minutes {
        let goal = target(args.active, minute) as usize;
        let active = reg.active.len();
        let sleeps = args.churn as usize + active.saturating_sub(goal);
        let wakes = args.churn as usize + goal.saturating_sub(active);
        for _ in 0..sleeps.min(reg.active.len()) {
            let pos = rng.below(reg.active.len() as u32);
            if let Some(space) = reg.deactivate_at(pos) {
                let t = Instant::now();
                let released = scheduler.release(&space);
                in_scheduler += t.elapsed();
                if released.is_ok() {
                    releases += 1;
                }
            }
        }
        for _ in 0..wakes {
            // A visit to a random sleeping Space.
            let mut space = rng.below(args.registered);
            let mut tries = 0;
            while reg.is_active(space) && tries < 64 {
                space = rng.below(args.registered);
                tries += 1;
            }
            if !reg.is_active(space) {
                wake(
                    space,
                    &mut reg,
                    &mut scheduler,
                    &mut in_scheduler,
                    &mut placements,
                    &mut failures,
                );
            }
        }
        if minute % 120 == 0 || minute + 1 == args.minutes {
            let p = scheduler.fleet().packing(&gpu_demands);
            progress(minute, reg.active.len(), placements, failures, &p);
        }
    }
    let sim_wall = sim_start.elapsed();

    let p = scheduler.fleet().packing(&gpu_demands);
    let calls = placements + releases + failures;
    println!("\nsummary");
    println!(
        "  placements {placements}, releases {releases}, failures {failures} \
         ({:.3}% of wakes)",
        failures as f64 * 100.0 / (placements + failures).max(1) as f64
    );
    for (kind, n) in &failure_reasons {
        println!("    {n:>7} × {kind}");
    }
    println!(
        "  scheduler time {:.2?} for {calls} calls: {:.0} placements+releases/s \
         ({:.0} ns per call)",
        in_scheduler,
        calls as f64 / in_scheduler.as_secs_f64().max(1e-9),
        in_scheduler.as_nanos() as f64 / calls.max(1) as f64
    );
    println!(
        "  simulated {} minutes in {:.2?} wall ({:.0} wakes+sleeps/s end to end)",
        args.minutes,
        sim_wall,
        (placements + releases) as f64 / sim_wall.as_secs_f64().max(1e-9)
    );
    println!(
        "  utilisation at the end: {} active, hosts in use {}, vCPU {}, memory {}, GPUs {} \
         used and {} stranded",
        reg.active.len(),
        pct(p.hosts_in_use_per_mille()),
        pct(p.vcpu_used_per_mille()),
        pct(p.memory_used_per_mille()),
        pct(p.gpus_used_per_mille()),
        pct(p.gpus_stranded_per_mille()),
    );
    println!(
        "  memory: VmRSS {}, VmHWM (peak) {}",
        mib(memory_kib("VmRSS:")),
        mib(memory_kib("VmHWM:"))
    );
    if let Some((space, placement)) = scheduler.placements().next() {
        if let Some(id) = reg.ids.get(*space as usize) {
            println!("  for example: {id} runs on {}", placement.host());
        }
    }
    println!("  total run time {:.2?}", started.elapsed());
    ExitCode::SUCCESS
}
