//! Property tests of the scheduler: random fleets and random sequences of place, release, drain,
//! resume, add and remove, checked after every step against a brute-force model.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;

use proptest::prelude::*;
use spaces_core::{Catalog, GpuModel};
use spaces_runtime::scheduler::{
    Demand, Fleet, HostId, HostSpec, HostState, Reason, Resources, ScheduleError, Scheduler,
};

const MODELS: [GpuModel; 3] = [GpuModel::T4, GpuModel::A10G, GpuModel::A100];

fn host_spec() -> impl Strategy<Value = HostSpec> {
    (1u32..48, 1u32..200, 1u32..1500, 0usize..4, 1u32..5).prop_map(
        |(vcpu, mem, disk, gpu, count)| {
            let spec = HostSpec::cpu(vcpu, mem, disk);
            match MODELS.get(gpu) {
                Some(model) => spec.with_gpus(model.clone(), count),
                None => spec,
            }
        },
    )
}

/// The seed catalog's flavors plus a few odd shapes (GPU counts above 1, zero disk, big memory).
fn demands() -> Vec<Demand> {
    let mut d: Vec<Demand> = Catalog::seed()
        .hardware()
        .iter()
        .map(Demand::from)
        .collect();
    d.push(Demand::gpu(8, 60, 200, GpuModel::T4, 2));
    d.push(Demand::gpu(1, 1, 0, GpuModel::A100, 3));
    d.push(Demand::cpu(1, 120, 10));
    d.push(Demand::cpu(0, 0, 0));
    d.push(Demand::gpu(2, 8, 20, GpuModel::H100, 1)); // no host ever has H100
    d
}

#[derive(Clone, Debug)]
enum Op {
    Place { space: u8, demand: usize },
    Release { space: u8 },
    Drain { host: usize },
    Resume { host: usize },
    Remove { host: usize },
    Add(HostSpec),
}

fn op() -> impl Strategy<Value = Op> {
    let n = demands().len();
    prop_oneof![
        12 => (0u8..60, 0..n).prop_map(|(space, demand)| Op::Place { space, demand }),
        6 => (0u8..60).prop_map(|space| Op::Release { space }),
        1 => (0usize..40).prop_map(|host| Op::Drain { host }),
        1 => (0usize..40).prop_map(|host| Op::Resume { host }),
        1 => (0usize..40).prop_map(|host| Op::Remove { host }),
        1 => host_spec().prop_map(Op::Add),
    ]
}

/// Every host that can take `demand` now, found by looking at all of them.
fn brute_force(fleet: &Fleet, demand: &Demand) -> Vec<HostId> {
    fleet
        .hosts()
        .filter(|(_, h)| h.state() == HostState::Active)
        .filter(|(_, h)| demand.gpu_model().is_none() || h.spec().gpu_model() == demand.gpu_model())
        .filter(|(_, h)| demand.resources().fits_in(&h.free()))
        .map(|(id, _)| id)
        .collect()
}

/// The accounts of every host agree with the placements, and none is oversubscribed.
fn check_accounts(s: &Scheduler<u8>) {
    let mut used: HashMap<HostId, (Resources, u32)> = HashMap::new();
    for (_, p) in s.placements() {
        let e = used.entry(p.host()).or_insert((Resources::ZERO, 0));
        e.0 = e.0.checked_add(&p.took()).unwrap();
        e.1 += 1;
    }
    for (id, host) in s.fleet().hosts() {
        let (took, count) = used.get(&id).copied().unwrap_or((Resources::ZERO, 0));
        let cap = host.spec().capacity();
        assert!(
            took.fits_in(&cap),
            "{id} oversubscribed: {took:?} > {cap:?}"
        );
        if host.state() != HostState::Removed {
            assert_eq!(host.free(), cap.checked_sub(&took).unwrap(), "{id} free");
        } else {
            assert_eq!(count, 0, "removed {id} still holds Spaces");
        }
        assert_eq!(host.spaces(), count, "{id} space count");
    }
}

fn run(hosts: Vec<HostSpec>, ops: Vec<Op>, with_catalog: bool) {
    let mut fleet = Fleet::new();
    for h in hosts {
        fleet.add(h);
    }
    let mut s: Scheduler<u8> = if with_catalog {
        Scheduler::with_catalog(fleet, &Catalog::seed())
    } else {
        Scheduler::new(fleet)
    };
    let demands = demands();
    let mut took: HashMap<u8, Resources> = HashMap::new();
    for op in ops {
        match op {
            Op::Place { space, demand } => {
                let demand = &demands[demand];
                let fits = brute_force(s.fleet(), demand);
                let before = s.placement(&space);
                match s.place_demand(space, demand) {
                    Ok(host) => {
                        assert!(before.is_none());
                        assert!(fits.contains(&host), "placed on {host}, which does not fit");
                        let h = s.fleet().host(host).unwrap();
                        if demand.gpu_model().is_some() {
                            assert_eq!(h.spec().gpu_model(), demand.gpu_model());
                        } else {
                            // CPU Spaces avoid GPU hosts while CPU hosts fit, and GPU hosts with
                            // idle GPUs while GPU hosts with all GPUs taken fit.
                            let class = |id: &HostId| {
                                let h = s.fleet().host(*id).unwrap();
                                match h.spec().gpu_model() {
                                    None => 0,
                                    Some(_) if h.free().gpus == 0 => 1,
                                    Some(_) => 2,
                                }
                            };
                            let best = fits.iter().map(class).min().unwrap();
                            let got = match h.spec().gpu_model() {
                                None => 0,
                                Some(_) if h.free().gpus == 0 => 1,
                                Some(_) => 2,
                            };
                            assert_eq!(got, best, "CPU Space stranded a GPU host");
                        }
                        took.insert(space, demand.resources());
                    }
                    Err(ScheduleError::AlreadyPlaced { host }) => {
                        assert_eq!(before.map(|p| p.host()), Some(host));
                    }
                    Err(ScheduleError::Unschedulable(u)) => {
                        assert!(before.is_none());
                        assert!(fits.is_empty(), "false Unschedulable ({u}); fits: {fits:?}");
                        if let Reason::Full { nearest, .. } = u.reason() {
                            let h = s.fleet().host(*nearest).unwrap();
                            assert_eq!(h.state(), HostState::Active);
                        }
                    }
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            Op::Release { space } => {
                let placed = s.placement(&space);
                let free_before = placed.map(|p| s.fleet().host(p.host()).unwrap().free());
                match s.release(&space) {
                    Ok(r) => {
                        let p = placed.unwrap();
                        assert_eq!(r.space, space);
                        assert_eq!(r.placement, p);
                        assert_eq!(Some(r.placement.took()), took.remove(&space));
                        let free_after = s.fleet().host(p.host()).unwrap().free();
                        assert_eq!(
                            free_before.unwrap().checked_add(&p.took()),
                            Some(free_after),
                            "release gives back exactly what place took"
                        );
                    }
                    Err(ScheduleError::NotPlaced) => assert!(placed.is_none()),
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            Op::Drain { host } => {
                let _ = s.drain_host(HostId::from_index(host as u32));
            }
            Op::Resume { host } => {
                let _ = s.resume_host(HostId::from_index(host as u32));
            }
            Op::Remove { host } => {
                if let Ok(evicted) = s.remove_host(HostId::from_index(host as u32)) {
                    for r in evicted {
                        assert_eq!(r.placement.host(), HostId::from_index(host as u32));
                        assert_eq!(Some(r.placement.took()), took.remove(&r.space));
                    }
                }
            }
            Op::Add(spec) => {
                s.add_host(spec);
            }
        }
        check_accounts(&s);
        assert_eq!(s.placed(), took.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_oversubscribed_exact_release_no_false_refusal(
        hosts in proptest::collection::vec(host_spec(), 0..25),
        ops in proptest::collection::vec(op(), 1..200),
        with_catalog in any::<bool>(),
    ) {
        run(hosts, ops, with_catalog);
    }
}

#[test]
fn many_shapes_beyond_the_index_still_place_correctly() {
    let mut fleet = Fleet::new();
    for _ in 0..10 {
        fleet.add(HostSpec::cpu(64, 256, 2000));
    }
    let mut s: Scheduler<u32> = Scheduler::new(fleet);
    // 200 distinct shapes: more than the index holds; every one still fits somewhere.
    for i in 0..200u32 {
        let d = Demand::cpu(1, 1 + i % 7, i % 50);
        let fits = brute_force(s.fleet(), &d);
        let host = s.place_demand(i, &d).unwrap();
        assert!(fits.contains(&host));
    }
    for i in 0..200u32 {
        s.release(&i).unwrap();
    }
    for (_, h) in s.fleet().hosts() {
        assert_eq!(h.free(), h.spec().capacity());
    }
}
