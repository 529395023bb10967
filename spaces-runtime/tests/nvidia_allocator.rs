//! Property tests of the GPU allocator over a [`FakeInventory`] (a test double: a fixed device
//! list, no NVML): no GPU is held twice, a release gives back exactly what was assigned, a
//! request is refused only when too few free GPUs of the model fit, and reopening the store (a
//! restart) finds every assignment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use spaces_core::{GpuModel, GpuSpec, SpaceId};
use spaces_runtime::nvidia::{FakeInventory, GpuAllocator, GpuDevice, GpuProcess};
use spaces_runtime::Error;

const GIB: u64 = 1 << 30;

/// Cards the generated inventories are made of: (NVML name, memory in MiB).
const CARDS: &[(&str, u64)] = &[
    ("Tesla T4", 15_360),
    ("NVIDIA A100-SXM4-40GB", 40_960),
    ("NVIDIA A100-SXM4-80GB", 81_920),
    ("NVIDIA H100 80GB HBM3", 81_559),
    ("NVIDIA H200", 143_771),
];

/// What flavors ask for: (model, memory GB).
fn wants() -> Vec<(GpuModel, u32)> {
    vec![
        (GpuModel::T4, 16),
        (GpuModel::A100, 40),
        (GpuModel::A100, 80),
        (GpuModel::H100, 80),
        (GpuModel::Other("H200".into()), 141),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Assign { space: u8, want: usize, count: u32 },
    Release { holder: u8 },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u8..6, 0usize..5, 1u32..5).prop_map(|(space, want, count)| Op::Assign { space, want, count }),
        3 => (0u8..12).prop_map(|holder| Op::Release { holder }),
        1 => Just(Op::Reopen),
    ]
}

/// An inventory: each device a card, maybe used by a process nobody holds.
fn inventory() -> impl Strategy<Value = Vec<GpuDevice>> {
    prop::collection::vec((0usize..CARDS.len(), prop::bool::weighted(0.15)), 0..10).prop_map(
        |cards| {
            cards
                .into_iter()
                .zip(0u32..)
                .map(|((card, foreign), i)| {
                    let (name, mib) = CARDS[card];
                    let mut d = GpuDevice::new(i, format!("GPU-fake-{i}"), name, mib << 20);
                    if foreign {
                        d.processes = Some(vec![GpuProcess {
                            pid: 4242,
                            used_memory_bytes: Some(GIB),
                        }]);
                    }
                    d
                })
                .collect()
        },
    )
}

fn space(n: u8) -> SpaceId {
    format!("owner{n}/space").parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn allocator_keeps_its_invariants(devices in inventory(), ops in prop::collection::vec(op(), 1..40)) {
        let state = tempfile::tempdir().unwrap();
        let inventory = Arc::new(FakeInventory::new(devices.clone()));
        let mut alloc = GpuAllocator::open(state.path(), inventory.clone()).unwrap();
        // The model: holder -> (space, uuids).
        let mut held: BTreeMap<String, (SpaceId, BTreeSet<String>)> = BTreeMap::new();
        let mut next_holder = 0u8;
        for op in ops {
            match op {
                Op::Assign { space: s, want, count } => {
                    let (model, memory_gb) = wants()[want].clone();
                    let spec = GpuSpec { model: model.clone(), count, memory_gb };
                    let holder = format!("local:{next_holder}");
                    next_holder = next_holder.wrapping_add(1) % 12;
                    let taken: BTreeSet<&String> = held.values().flat_map(|(_, u)| u).collect();
                    let free_fitting = devices
                        .iter()
                        .filter(|d| d.model == model && d.memory_gb >= memory_gb)
                        .filter(|d| !taken.contains(&d.uuid) && !d.in_use_by_processes())
                        .count();
                    let already = held.contains_key(&holder);
                    let result = alloc.assign(&space(s), &holder, &spec);
                    match result {
                        Ok(a) => {
                            prop_assert!(!already, "{holder} got GPUs twice");
                            prop_assert_eq!(a.uuids.len(), count as usize);
                            for uuid in &a.uuids {
                                prop_assert!(!taken.contains(uuid), "{uuid} handed out twice");
                                let d = devices.iter().find(|d| &d.uuid == uuid).unwrap();
                                prop_assert_eq!(&d.model, &model);
                                prop_assert!(d.memory_gb >= memory_gb);
                                prop_assert!(!d.in_use_by_processes(), "{uuid} is used by an unknown process");
                            }
                            held.insert(holder, (space(s), a.uuids.into_iter().collect()));
                        }
                        Err(Error::Conflict { .. }) => prop_assert!(already),
                        Err(Error::Unavailable { reason, .. }) => {
                            prop_assert!(!already);
                            prop_assert!(free_fitting < count as usize,
                                "refused with {free_fitting} free fitting GPUs for {count}: {reason}");
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e}"),
                    }
                }
                Op::Release { holder } => {
                    let holder = format!("local:{holder}");
                    let released: BTreeSet<String> = alloc.release(&holder).unwrap().into_iter().map(|l| l.uuid).collect();
                    let expected = held.remove(&holder).map(|(_, u)| u).unwrap_or_default();
                    prop_assert_eq!(released, expected);
                }
                Op::Reopen => {
                    drop(alloc);
                    alloc = GpuAllocator::open(state.path(), inventory.clone()).unwrap();
                }
            }
            // The store agrees with the model, and no UUID has two holders.
            let leases = alloc.leases().unwrap();
            let uuids: Vec<&String> = leases.iter().map(|l| &l.uuid).collect();
            let unique: BTreeSet<&String> = uuids.iter().copied().collect();
            prop_assert_eq!(uuids.len(), unique.len());
            let mut from_store: BTreeMap<String, (SpaceId, BTreeSet<String>)> = BTreeMap::new();
            for l in leases {
                from_store.entry(l.holder).or_insert_with(|| (l.space.clone(), BTreeSet::new())).1.insert(l.uuid);
            }
            prop_assert_eq!(&from_store, &held);
        }
    }
}

#[test]
fn a_restart_keeps_assignments_and_refuses_held_gpus() {
    let state = tempfile::tempdir().unwrap();
    let inv = Arc::new(FakeInventory::of(&[("NVIDIA A100-SXM4-80GB", 80); 4]));
    let a100x4 = GpuSpec {
        model: GpuModel::A100,
        count: 4,
        memory_gb: 80,
    };
    let one = GpuSpec {
        count: 1,
        ..a100x4.clone()
    };
    {
        let alloc = GpuAllocator::open(state.path(), inv.clone()).unwrap();
        let a = alloc.assign(&space(1), "local:a", &a100x4).unwrap();
        assert_eq!(a.uuids.len(), 4);
        assert_eq!(
            a.visible_devices(),
            "GPU-fake-0,GPU-fake-1,GPU-fake-2,GPU-fake-3"
        );
    }
    let alloc = GpuAllocator::open(state.path(), inv.clone()).unwrap();
    let err = alloc.assign(&space(2), "local:b", &one).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("0 of the 4") && text.contains("owner1/space"),
        "{text}"
    );
    assert_eq!(alloc.release("local:a").unwrap().len(), 4);
    assert_eq!(
        alloc.assign(&space(2), "local:b", &one).unwrap().uuids,
        ["GPU-fake-0"]
    );
}

#[test]
fn t4_small_gets_one_t4_and_never_a_bigger_model() {
    let state = tempfile::tempdir().unwrap();
    let inv = Arc::new(FakeInventory::of(&[
        ("NVIDIA A10G", 22),
        ("Tesla T4", 15),
        ("Tesla T4", 15),
    ]));
    let alloc = GpuAllocator::open(state.path(), inv).unwrap();
    let catalog = spaces_core::Catalog::seed();
    let t4 = catalog
        .flavor(&spaces_core::Flavor::T4Small)
        .unwrap()
        .gpu
        .clone()
        .unwrap();
    let a = alloc.assign(&space(1), "local:1", &t4).unwrap();
    assert_eq!(a.uuids, ["GPU-fake-1"]);
    let b = alloc.assign(&space(2), "local:2", &t4).unwrap();
    assert_eq!(b.uuids, ["GPU-fake-2"]);
    // The A10G is free, but it is not a T4.
    assert!(matches!(
        alloc.assign(&space(3), "local:3", &t4),
        Err(Error::Unavailable { .. })
    ));
}

#[test]
fn leases_can_be_read_without_changing_the_store() {
    let state = tempfile::tempdir().unwrap();
    assert!(spaces_runtime::nvidia::read_leases_at(state.path())
        .unwrap()
        .is_empty());
    let inv = Arc::new(FakeInventory::of(&[("Tesla T4", 15)]));
    let alloc = GpuAllocator::open(state.path(), inv.clone()).unwrap();
    let t4 = GpuSpec {
        model: GpuModel::T4,
        count: 1,
        memory_gb: 16,
    };
    alloc.assign(&space(1), "local:1", &t4).unwrap();
    let leases = spaces_runtime::nvidia::read_leases_at(state.path()).unwrap();
    assert_eq!(leases.len(), 1);
    let report =
        spaces_runtime::nvidia::GpuReport::gather_from(inv.as_ref(), state.path()).unwrap();
    let table = report.to_table();
    assert!(
        table.contains("owner1/space") && table.contains("assigned"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    assert_eq!(json["gpus"][0]["lease"]["space"], "owner1/space");
    assert_eq!(json["gpus"][0]["model"], "T4");
    assert_eq!(json["source"], "fake");
}
