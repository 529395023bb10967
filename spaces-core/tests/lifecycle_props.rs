//! Property tests of the lifecycle state machine over random event sequences.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use proptest::prelude::*;
use spaces_core::*;

fn t0() -> Timestamp {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

fn arb_sdk() -> impl Strategy<Value = Sdk> {
    prop::sample::select(Sdk::ALL.to_vec())
}

fn arb_actor() -> impl Strategy<Value = Actor> {
    prop::sample::select(vec![Actor::Owner, Actor::Visitor, Actor::Platform])
}

fn arb_flavor() -> impl Strategy<Value = Flavor> {
    prop::sample::select(
        Catalog::seed()
            .hardware()
            .iter()
            .map(|h| h.id.clone())
            .collect::<Vec<_>>(),
    )
}

fn arb_tier() -> impl Strategy<Value = StorageTier> {
    prop::sample::select(StorageTier::ALL.to_vec())
}

fn arb_event() -> impl Strategy<Value = Event> {
    let repo = prop_oneof![
        18 => Just(RepoCheck::Ready),
        3 => Just(RepoCheck::NoAppFile),
        3 => Just(RepoCheck::ConfigError("bad".into())),
    ];
    prop_oneof![
        3 => (repo, "[0-9a-f]{7}").prop_map(|(repo, rev)| Event::Push { revision: Revision::new(&rev).unwrap(), repo }),
        9 => Just(Event::BuildSucceeded),
        3 => Just(Event::BuildFailed),
        9 => Just(Event::AppHealthy),
        3 => any::<Option<i32>>().prop_map(|exit_code| Event::AppCrashed { exit_code }),
        3 => Just(Event::StartupTimedOut),
        6 => Just(Event::IdleTimeout),
        9 => Just(Event::Visit),
        3 => Just(Event::Pause),
        3 => any::<bool>().prop_map(|factory_reboot| Event::Restart { factory_reboot }),
        3 => arb_flavor().prop_map(Event::ChangeHardware),
        3 => prop::option::of(0u64..200_000).prop_map(|s| Event::SetSleepTime(s.map(Duration::from_secs))),
        3 => arb_tier().prop_map(Event::RequestStorage),
        3 => Just(Event::DeleteStorage(DataLossAck::i_understand_all_data_is_lost())),
        3 => Just(Event::Suspend),
        1 => Just(Event::InstanceLost),
        1 => Just(Event::Delete),
    ]
}

/// A sequence of (event, actor, seconds since the previous step).
fn arb_run() -> impl Strategy<Value = (Sdk, Vec<(Event, Actor, u64)>)> {
    (
        arb_sdk(),
        prop::collection::vec(
            (
                arb_event(),
                arb_actor(),
                any::<u8>(),
                prop_oneof![0u64..120, 0u64..400_000],
            )
                .prop_map(|(event, random_actor, pick, dt)| {
                    // Mostly the actor allowed to cause the event, sometimes anyone.
                    let actor = match (pick % 5, event.kind().allowed()) {
                        (0, _) | (_, Allowed::Anyone) => random_actor,
                        (_, Allowed::Owner) => Actor::Owner,
                        (_, Allowed::Platform) => Actor::Platform,
                    };
                    (event, actor, dt)
                }),
            0..80,
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn lifecycle_invariants_hold((sdk, run) in arb_run()) {
        let mut space = Space::new("alice/prop".parse().unwrap(), sdk, Visibility::Public, t0());
        let mut now = t0();
        for (event, actor, dt) in run {
            now = add_duration(now, Duration::from_secs(dt));
            let before = space.clone();
            let result = space.apply(event.clone(), actor, now);
            let after_stage = space.stage().clone();

            match &result {
                Err(_) => {
                    // A refused event leaves the Space exactly as it was.
                    prop_assert_eq!(&space, &before);
                }
                Ok(t) => {
                    prop_assert_eq!(&t.from, before.stage());
                    prop_assert_eq!(&t.to, space.stage());
                }
            }

            // Only the 13 known stages are ever reached.
            prop_assert!(after_stage.is_known(), "reached {after_stage}");

            // PAUSED is left only by the owner's restart or a delete.
            if *before.stage() == Stage::Paused && after_stage != Stage::Paused {
                prop_assert_eq!(actor, Actor::Owner);
                prop_assert!(
                    matches!(event, Event::Restart { .. } | Event::Delete),
                    "left PAUSED through {:?}", event
                );
            }

            // A visit never wakes PAUSED and always wakes SLEEPING.
            if matches!(event, Event::Visit) {
                prop_assert!(result.is_ok(), "visits are never refused");
                match before.stage() {
                    Stage::Paused => prop_assert_eq!(&after_stage, &Stage::Paused),
                    Stage::Sleeping => prop_assert_eq!(&after_stage, &Stage::AppStarting),
                    s => prop_assert_eq!(&after_stage, s),
                }
            }

            // Static Spaces never get hardware.
            if sdk == Sdk::Static {
                prop_assert_eq!(space.lifecycle().requested_hardware(), None);
                prop_assert_eq!(space.lifecycle().current_hardware(), None);
            }

            // Hardware runs only while an instance is up.
            prop_assert_eq!(space.lifecycle().current_hardware().is_some(), after_stage.has_instance() && sdk != Sdk::Static);

            // Storage never gets smaller without a delete.
            let (held_before, held_after) = (before.lifecycle().storage(), space.lifecycle().storage());
            let shrank = match (held_before, held_after) {
                (Some(_), None) => true,
                (Some(b), Some(a)) => a < b,
                _ => false,
            };
            if shrank {
                prop_assert!(
                    matches!(event, Event::DeleteStorage(_) | Event::Delete),
                    "storage went from {:?} to {:?} through {:?}", held_before, held_after, event
                );
            }

            // Saving and restoring the state gives the same state.
            let restored = Lifecycle::restore(space.lifecycle().snapshot());
            prop_assert_eq!(restored.as_ref(), Ok(space.lifecycle()));

            // Nothing leaves DELETING.
            if *before.stage() == Stage::Deleting {
                prop_assert_eq!(&after_stage, &Stage::Deleting);
            }

            // Sleeping happens only after the sleep time of the hardware.
            if result.is_ok() && after_stage == Stage::Sleeping && matches!(event, Event::IdleTimeout) {
                let sleep = before.lifecycle().sleep_time();
                prop_assert!(sleep.is_some());
                let idle = elapsed(before.lifecycle().last_activity(), now);
                prop_assert!(idle >= sleep.unwrap());
                if matches!(before.lifecycle().requested_hardware(), None | Some(&Flavor::CpuBasic)) {
                    prop_assert_eq!(sleep, Some(CPU_BASIC_SLEEP_TIME));
                }
            }
        }
    }

    #[test]
    fn step_is_pure((sdk, run) in arb_run()) {
        // Replaying the same inputs gives the same states and effects.
        let replay = || {
            let mut space = Space::new("alice/prop".parse().unwrap(), sdk, Visibility::Public, t0());
            let mut now = t0();
            let mut out = Vec::new();
            for (event, actor, dt) in &run {
                now = add_duration(now, Duration::from_secs(*dt));
                out.push(space.apply(event.clone(), *actor, now).map(|t| t.effects).map_err(|e| e.to_string()));
            }
            (space, out)
        };
        prop_assert_eq!(replay(), replay());
    }
}
