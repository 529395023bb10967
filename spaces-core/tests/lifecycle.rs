//! Hand-checked transitions of the lifecycle state machine (domain.md §4).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use spaces_core::*;

fn t0() -> Timestamp {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

fn later(secs: u64) -> Timestamp {
    add_duration(t0(), Duration::from_secs(secs))
}

fn push() -> Event {
    Event::Push {
        revision: Revision::new("abc1234").unwrap(),
        repo: RepoCheck::Ready,
    }
}

fn running(sdk: Sdk) -> Space {
    let mut s = Space::new("alice/demo".parse().unwrap(), sdk, Visibility::Public, t0());
    s.apply(push(), Actor::Owner, t0()).unwrap();
    s.apply(Event::BuildSucceeded, Actor::Platform, t0())
        .unwrap();
    s.apply(Event::AppHealthy, Actor::Platform, t0()).unwrap();
    assert_eq!(s.stage(), &Stage::Running);
    s
}

fn refusal(r: Result<Transition, Error>) -> Refusal {
    match r {
        Err(Error::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn new_space_has_no_app_file_and_free_hardware() {
    let s = Space::new(
        "alice/demo".parse().unwrap(),
        Sdk::Gradio,
        Visibility::Public,
        t0(),
    );
    assert_eq!(s.stage(), &Stage::NoAppFile);
    assert_eq!(s.lifecycle().requested_hardware(), Some(&Flavor::CpuBasic));
    assert_eq!(s.lifecycle().current_hardware(), None);
    let st = Space::new(
        "alice/page".parse().unwrap(),
        Sdk::Static,
        Visibility::Public,
        t0(),
    );
    assert_eq!(st.lifecycle().requested_hardware(), None);
}

#[test]
fn push_build_start_run() {
    let mut s = Space::new(
        "alice/demo".parse().unwrap(),
        Sdk::Gradio,
        Visibility::Public,
        t0(),
    );
    let t = s.apply(push(), Actor::Owner, t0()).unwrap();
    assert_eq!((t.from, t.to.clone()), (Stage::NoAppFile, Stage::Building));
    assert_eq!(t.effects, vec![Effect::Build { no_cache: false }]);
    let t = s
        .apply(Event::BuildSucceeded, Actor::Platform, t0())
        .unwrap();
    assert_eq!(t.to, Stage::AppStarting);
    assert_eq!(
        t.effects,
        vec![Effect::StartInstance {
            flavor: Some(Flavor::CpuBasic)
        }]
    );
    assert_eq!(s.lifecycle().current_hardware(), Some(&Flavor::CpuBasic));
    assert_eq!(
        s.apply(Event::AppHealthy, Actor::Platform, t0())
            .unwrap()
            .to,
        Stage::Running
    );
}

#[test]
fn push_while_running_keeps_old_serving() {
    let mut s = running(Sdk::Docker);
    let t = s.apply(push(), Actor::Owner, later(10)).unwrap();
    assert_eq!(t.to, Stage::RunningBuilding);
    assert!(!t.effects.contains(&Effect::StopInstance));
    assert_eq!(
        s.apply(Event::BuildSucceeded, Actor::Platform, later(20))
            .unwrap()
            .to,
        Stage::RunningAppStarting
    );
    let t = s
        .apply(Event::AppHealthy, Actor::Platform, later(30))
        .unwrap();
    assert_eq!(t.to, Stage::Running);
    assert_eq!(t.effects, vec![Effect::RetireOldInstance]);
}

#[test]
fn no_app_file_and_config_error() {
    let mut s = running(Sdk::Gradio);
    let t = s
        .apply(
            Event::Push {
                revision: Revision::new("beef").unwrap(),
                repo: RepoCheck::NoAppFile,
            },
            Actor::Owner,
            t0(),
        )
        .unwrap();
    assert_eq!(t.to, Stage::NoAppFile);
    assert_eq!(t.effects, vec![Effect::StopInstance]);
    let t = s
        .apply(
            Event::Push {
                revision: Revision::new("beef").unwrap(),
                repo: RepoCheck::ConfigError("bad sdk".into()),
            },
            Actor::Owner,
            t0(),
        )
        .unwrap();
    assert_eq!(t.to, Stage::ConfigError);
    // Restarting does not help: the repository must be fixed.
    assert_eq!(
        s.apply(
            Event::Restart {
                factory_reboot: false
            },
            Actor::Owner,
            t0()
        )
        .unwrap()
        .to,
        Stage::ConfigError
    );
}

#[test]
fn build_failures_and_crashes() {
    let mut s = Space::new(
        "alice/demo".parse().unwrap(),
        Sdk::Gradio,
        Visibility::Public,
        t0(),
    );
    s.apply(push(), Actor::Owner, t0()).unwrap();
    assert_eq!(
        s.apply(Event::BuildFailed, Actor::Platform, t0())
            .unwrap()
            .to,
        Stage::BuildError
    );

    let mut s = running(Sdk::Gradio);
    let t = s
        .apply(
            Event::AppCrashed { exit_code: Some(1) },
            Actor::Platform,
            t0(),
        )
        .unwrap();
    assert_eq!(t.to, Stage::RuntimeError);
    assert_eq!(s.lifecycle().current_hardware(), None);

    // The old version crashing while a new one builds: the build goes on.
    let mut s = running(Sdk::Gradio);
    s.apply(push(), Actor::Owner, t0()).unwrap();
    assert_eq!(
        s.apply(Event::AppCrashed { exit_code: None }, Actor::Platform, t0())
            .unwrap()
            .to,
        Stage::Building
    );
}

#[test]
fn startup_timeout_gives_runtime_error() {
    let mut s = Space::new(
        "alice/demo".parse().unwrap(),
        Sdk::Gradio,
        Visibility::Public,
        t0(),
    );
    s.apply(push(), Actor::Owner, t0()).unwrap();
    s.apply(Event::BuildSucceeded, Actor::Platform, t0())
        .unwrap();
    assert_eq!(s.lifecycle().startup_timeout(), DEFAULT_STARTUP_TIMEOUT);
    let t = s
        .apply(Event::StartupTimedOut, Actor::Platform, later(30 * 60))
        .unwrap();
    assert_eq!(t.to, Stage::RuntimeError);
    assert_eq!(t.effects, vec![Effect::StopInstance]);
}

#[test]
fn cpu_basic_sleeps_after_exactly_48h() {
    let mut s = running(Sdk::Gradio);
    let just_before = later(48 * 3600 - 1);
    assert!(matches!(
        refusal(s.apply(Event::IdleTimeout, Actor::Platform, just_before)),
        Refusal::NotIdleLongEnough { .. }
    ));
    assert_eq!(s.lifecycle().sleeps_at(), Some(later(48 * 3600)));
    let t = s
        .apply(Event::IdleTimeout, Actor::Platform, later(48 * 3600))
        .unwrap();
    assert_eq!(t.to, Stage::Sleeping);
    assert_eq!(t.effects, vec![Effect::StopInstance]);
    // The owner cannot change the free tier's sleep time.
    assert_eq!(
        refusal(s.apply(
            Event::SetSleepTime(Some(Duration::from_secs(600))),
            Actor::Owner,
            t0()
        )),
        Refusal::SleepTimeFixed
    );
}

#[test]
fn a_visit_resets_the_idle_timer() {
    let mut s = running(Sdk::Gradio);
    s.apply(Event::Visit, Actor::Visitor, later(47 * 3600))
        .unwrap();
    assert!(s
        .apply(Event::IdleTimeout, Actor::Platform, later(48 * 3600))
        .is_err());
    assert!(s
        .apply(Event::IdleTimeout, Actor::Platform, later(95 * 3600))
        .is_ok());
}

#[test]
fn paid_hardware_sleeps_only_with_a_custom_sleep_time() {
    let mut s = running(Sdk::Gradio);
    let t = s
        .apply(Event::ChangeHardware(Flavor::T4Small), Actor::Owner, t0())
        .unwrap();
    assert_eq!(
        t.to,
        Stage::AppStarting,
        "a hardware change restarts the Space"
    );
    assert_eq!(
        t.effects,
        vec![
            Effect::StopInstance,
            Effect::StartInstance {
                flavor: Some(Flavor::T4Small)
            }
        ]
    );
    s.apply(Event::AppHealthy, Actor::Platform, t0()).unwrap();
    assert_eq!(s.lifecycle().current_hardware(), Some(&Flavor::T4Small));
    assert_eq!(
        refusal(s.apply(Event::IdleTimeout, Actor::Platform, later(1_000_000))),
        Refusal::NeverSleeps
    );
    s.apply(
        Event::SetSleepTime(Some(Duration::from_secs(3600))),
        Actor::Owner,
        t0(),
    )
    .unwrap();
    assert_eq!(
        s.apply(Event::IdleTimeout, Actor::Platform, later(3600))
            .unwrap()
            .to,
        Stage::Sleeping
    );
    assert_eq!(s.lifecycle().current_hardware(), None);
}

#[test]
fn visits_wake_sleeping_but_never_paused() {
    let mut s = running(Sdk::Gradio);
    s.apply(Event::IdleTimeout, Actor::Platform, later(48 * 3600))
        .unwrap();
    let t = s
        .apply(Event::Visit, Actor::Visitor, later(50 * 3600))
        .unwrap();
    assert_eq!(t.to, Stage::AppStarting);
    s.apply(Event::AppHealthy, Actor::Platform, later(50 * 3600))
        .unwrap();

    s.apply(Event::Pause, Actor::Owner, later(51 * 3600))
        .unwrap();
    let t = s
        .apply(Event::Visit, Actor::Visitor, later(52 * 3600))
        .unwrap();
    assert_eq!(t.to, Stage::Paused);
    assert!(t.effects.is_empty());
    // A push does not unpause either.
    assert_eq!(
        s.apply(push(), Actor::Owner, later(53 * 3600)).unwrap().to,
        Stage::Paused
    );
    // Only the owner's restart does; the pushed revision has no image yet, so it builds.
    let t = s
        .apply(
            Event::Restart {
                factory_reboot: false,
            },
            Actor::Owner,
            later(54 * 3600),
        )
        .unwrap();
    assert_eq!(t.to, Stage::Building);
}

#[test]
fn owner_only_and_platform_only() {
    let mut s = running(Sdk::Gradio);
    for e in [
        Event::Pause,
        Event::Restart {
            factory_reboot: true,
        },
        Event::Delete,
        Event::ChangeHardware(Flavor::T4Small),
    ] {
        assert_eq!(
            refusal(s.apply(e.clone(), Actor::Visitor, t0())),
            Refusal::OwnerOnly { by: Actor::Visitor }
        );
        assert_eq!(
            refusal(s.apply(e, Actor::Platform, t0())),
            Refusal::OwnerOnly {
                by: Actor::Platform
            }
        );
    }
    assert_eq!(
        refusal(s.apply(Event::AppCrashed { exit_code: None }, Actor::Owner, t0())),
        Refusal::PlatformOnly { by: Actor::Owner }
    );
    assert_eq!(s.stage(), &Stage::Running);
}

#[test]
fn restart_and_factory_reboot() {
    let mut s = running(Sdk::Gradio);
    let t = s
        .apply(
            Event::Restart {
                factory_reboot: false,
            },
            Actor::Owner,
            t0(),
        )
        .unwrap();
    assert_eq!(t.to, Stage::AppStarting);
    assert_eq!(
        t.effects,
        vec![
            Effect::StopInstance,
            Effect::StartInstance {
                flavor: Some(Flavor::CpuBasic)
            }
        ]
    );
    let t = s
        .apply(
            Event::Restart {
                factory_reboot: true,
            },
            Actor::Owner,
            t0(),
        )
        .unwrap();
    assert_eq!(t.to, Stage::Building);
    assert_eq!(
        t.effects,
        vec![Effect::StopInstance, Effect::Build { no_cache: true }]
    );
}

#[test]
fn static_spaces_have_no_runtime_controls() {
    let mut s = running(Sdk::Static);
    assert_eq!(s.lifecycle().current_hardware(), None);
    for e in [
        Event::Pause,
        Event::Restart {
            factory_reboot: false,
        },
        Event::ChangeHardware(Flavor::T4Small),
        Event::SetSleepTime(Some(Duration::from_secs(60))),
        Event::RequestStorage(StorageTier::Small),
    ] {
        let err = s.apply(e, Actor::Owner, t0()).unwrap_err();
        assert!(
            err.to_string()
                .contains("static Spaces have no runtime controls"),
            "{err}"
        );
    }
    assert_eq!(s.stage(), &Stage::Running);
    // Static Spaces sleep like free hardware, after a fixed 48 h, and wake on a visit.
    assert_eq!(s.lifecycle().sleep_time(), Some(CPU_BASIC_SLEEP_TIME));
    let t = s
        .apply(Event::IdleTimeout, Actor::Platform, later(48 * 3600))
        .unwrap();
    assert_eq!(t.to, Stage::Sleeping);
    let t = s
        .apply(Event::Visit, Actor::Visitor, later(49 * 3600))
        .unwrap();
    assert_eq!(t.to, Stage::AppStarting);
    assert_eq!(s.lifecycle().current_hardware(), None);
}

#[test]
fn storage_upgrade_only_and_delete_with_ack() {
    let mut s = running(Sdk::Docker);
    let t = s
        .apply(
            Event::RequestStorage(StorageTier::Small),
            Actor::Owner,
            t0(),
        )
        .unwrap();
    assert_eq!(
        t.to,
        Stage::AppStarting,
        "attaching storage restarts to mount /data"
    );
    s.apply(Event::AppHealthy, Actor::Platform, t0()).unwrap();
    s.apply(
        Event::RequestStorage(StorageTier::Large),
        Actor::Owner,
        t0(),
    )
    .unwrap();
    s.apply(Event::AppHealthy, Actor::Platform, t0()).unwrap();
    let before = s.clone();
    let err = s
        .apply(
            Event::RequestStorage(StorageTier::Medium),
            Actor::Owner,
            t0(),
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("upgrade-only")
            && msg.contains("delete the storage first")
            && msg.contains("loses all its data"),
        "{msg}"
    );
    assert_eq!(s, before, "a refused downgrade leaves the Space unchanged");
    // Same tier again: nothing happens.
    assert!(s
        .apply(
            Event::RequestStorage(StorageTier::Large),
            Actor::Owner,
            t0()
        )
        .unwrap()
        .effects
        .is_empty());

    let t = s
        .apply(
            Event::DeleteStorage(DataLossAck::i_understand_all_data_is_lost()),
            Actor::Owner,
            t0(),
        )
        .unwrap();
    assert_eq!(
        t.effects,
        vec![
            Effect::StopInstance,
            Effect::DeleteVolume,
            Effect::StartInstance {
                flavor: Some(Flavor::CpuBasic)
            }
        ]
    );
    assert_eq!(s.lifecycle().storage(), None);
    s.apply(
        Event::RequestStorage(StorageTier::Small),
        Actor::Owner,
        t0(),
    )
    .unwrap();
    assert_eq!(s.lifecycle().storage(), Some(StorageTier::Small));
}

#[test]
fn suspend_and_delete() {
    let mut s = running(Sdk::Gradio);
    assert_eq!(
        s.apply(Event::Suspend, Actor::Platform, t0()).unwrap().to,
        Stage::Stopped
    );
    assert_eq!(
        s.apply(Event::Visit, Actor::Visitor, t0()).unwrap().to,
        Stage::Stopped
    );
    assert_eq!(
        s.apply(
            Event::Restart {
                factory_reboot: false
            },
            Actor::Owner,
            t0()
        )
        .unwrap()
        .to,
        Stage::AppStarting
    );
    s.apply(
        Event::RequestStorage(StorageTier::Small),
        Actor::Owner,
        t0(),
    )
    .unwrap();
    let t = s.apply(Event::Delete, Actor::Owner, t0()).unwrap();
    assert_eq!(t.to, Stage::Deleting);
    assert_eq!(
        t.effects,
        vec![Effect::StopInstance, Effect::DeleteVolume, Effect::Destroy]
    );
    assert_eq!(s.lifecycle().storage(), None);
    assert_eq!(
        refusal(s.apply(
            Event::Restart {
                factory_reboot: false
            },
            Actor::Owner,
            t0()
        )),
        Refusal::Deleting
    );
}

#[test]
fn secrets_and_variables() {
    let mut s = running(Sdk::Docker);
    s.set_secret(
        "HF_TOKEN",
        Secret::new("hf_secret_value"),
        Some("token".into()),
        t0(),
    )
    .unwrap();
    s.set_variable("MODEL", "gpt2").unwrap();
    assert!(matches!(
        s.set_variable("HF_TOKEN", "x"),
        Err(Error::NameTaken { .. })
    ));
    assert!(matches!(
        s.set_variable("SPACE_ID", "x"),
        Err(Error::ReservedName { .. })
    ));
    assert!(matches!(
        s.set_variable("1X", "x"),
        Err(Error::InvalidEnvName { .. })
    ));
    assert!(!format!("{s:?}").contains("hf_secret_value"));

    s.apply(
        Event::RequestStorage(StorageTier::Small),
        Actor::Owner,
        t0(),
    )
    .unwrap();
    let catalog = Catalog::seed();
    let env = AppEnvironment::for_space(&s, catalog.flavor(&Flavor::CpuBasic));
    let names: Vec<_> = env.entries().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "SPACE_ID",
            "SPACE_AUTHOR_NAME",
            "SPACE_REPO_NAME",
            "SPACE_TITLE",
            "SPACE_HOST",
            "CPU_CORES",
            "MEMORY",
            "ACCELERATOR",
            "HF_HOME",
            "MODEL",
            "HF_TOKEN"
        ]
    );
    assert_eq!(env.get("ACCELERATOR"), Some("none"));
    assert_eq!(env.get("CPU_CORES"), Some("2"));
    assert_eq!(env.get("MEMORY"), Some("16Gi"));
    assert_eq!(env.get("HF_HOME"), Some("/data/.huggingface"));
    assert_eq!(env.secret_values().collect::<Vec<_>>(), ["hf_secret_value"]);
    assert!(!format!("{env:?}").contains("hf_secret_value"));

    // A Space that sets HF_HOME keeps its own.
    s.set_variable("HF_HOME", "/data/cache").unwrap();
    let env = AppEnvironment::for_space(&s, None);
    assert_eq!(
        env.entries().iter().filter(|(n, _)| n == "HF_HOME").count(),
        1
    );
    assert_eq!(env.get("HF_HOME"), Some("/data/cache"));
}

/// A sleep time that the saved state (whole seconds) could not keep is refused, not truncated.
#[test]
fn sub_second_sleep_times_are_refused() {
    let now: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    let mut space = Space::new(
        "alice/s".parse().unwrap(),
        Sdk::Gradio,
        Visibility::Public,
        now,
    );
    space
        .apply(Event::ChangeHardware(Flavor::CpuUpgrade), Actor::Owner, now)
        .unwrap();
    for bad in [
        Duration::from_millis(500),
        Duration::from_millis(1500),
        Duration::ZERO,
    ] {
        assert!(space
            .apply(Event::SetSleepTime(Some(bad)), Actor::Owner, now)
            .is_err());
    }
    space
        .apply(
            Event::SetSleepTime(Some(Duration::from_secs(90))),
            Actor::Owner,
            now,
        )
        .unwrap();
}
