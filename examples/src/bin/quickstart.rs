//! The quickstart: one Space through its whole life, on a manual clock, with no network and no
//! container engine.
//!
//! ```text
//! cargo run -p spaces-examples --bin quickstart
//! ```
//!
//! Each step prints the event, who caused it, the stage change and what a runtime would do.

use std::process::ExitCode;
use std::time::Duration;

use spaces_core::{
    Actor, AppEnvironment, Catalog, Clock, Effect, Event, Flavor, ManualClock, RepoCheck, Revision,
    Sdk, Secret, Space, SpaceId, StorageTier, Timestamp, Visibility,
};

struct Walk {
    clock: ManualClock,
    space: Space,
    step: usize,
}

impl Walk {
    fn apply(&mut self, what: &str, event: Event, actor: Actor) -> Result<(), spaces_core::Error> {
        self.step += 1;
        let t = self.space.apply(event, actor, self.clock.now())?;
        let effects = if t.effects.is_empty() {
            "nothing to do".to_owned()
        } else {
            t.effects
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let change = if t.from == t.to {
            format!("stays {}", t.to)
        } else {
            format!("{} -> {}", t.from, t.to)
        };
        println!(
            "{:>2}. [{}] {what:<44} {change:<34} ({effects})",
            self.step,
            clock_label(self.clock.now())
        );
        Ok(())
    }

    fn wait(&self, d: Duration, why: &str) {
        self.clock.advance(d);
        println!(
            "    ... {why} (clock now {})",
            clock_label(self.clock.now())
        );
    }
}

fn describe(e: &Effect) -> String {
    match e {
        Effect::CancelBuild => "cancel build".into(),
        Effect::Build { no_cache: false } => "build image".into(),
        Effect::Build { no_cache: true } => "build image without cache".into(),
        Effect::StopInstance => "stop instance".into(),
        Effect::StartInstance { flavor: Some(f) } => format!("start instance on {f}"),
        Effect::StartInstance { flavor: None } => "start instance".into(),
        Effect::RetireOldInstance => "retire old instance".into(),
        Effect::DeleteVolume => "delete /data volume".into(),
        Effect::Destroy => "remove everything".into(),
    }
}

fn clock_label(t: Timestamp) -> String {
    t.strftime("%b %d %H:%M").to_string()
}

fn run() -> Result<(), spaces_core::Error> {
    // 2026-11-02T09:00:00Z
    let clock = ManualClock::new(Timestamp::constant(1_793_610_000, 0));
    let id: SpaceId = "alice/flan-t5-demo".parse()?;
    let mut space = Space::new(id.clone(), Sdk::Gradio, Visibility::Public, clock.now());
    space.set_title("Flan-T5 demo");
    space.set_secret(
        "HF_TOKEN",
        Secret::new("hf_example_not_a_real_token"),
        None,
        clock.now(),
    )?;
    space.set_variable("MODEL_ID", "google/flan-t5-small")?;

    println!(
        "Space {id} (gradio) created; it will be served at https://{}",
        id.host()
    );
    println!("stage: {}\n", space.stage());
    let mut w = Walk {
        clock,
        space,
        step: 0,
    };

    let rev = Revision::new("3f9c2ab")?;
    w.apply(
        "owner pushes 3f9c2ab",
        Event::Push {
            revision: rev,
            repo: RepoCheck::Ready,
        },
        Actor::Owner,
    )?;
    w.wait(Duration::from_secs(95), "the image builds");
    w.apply("build succeeds", Event::BuildSucceeded, Actor::Platform)?;
    w.wait(Duration::from_secs(12), "the app starts");
    w.apply(
        "health check answers 200",
        Event::AppHealthy,
        Actor::Platform,
    )?;

    let catalog = Catalog::seed();
    let env = AppEnvironment::for_space(&w.space, catalog.flavor(&Flavor::CpuBasic));
    println!("\n    The app sees (secrets shown as ***):");
    for (name, value) in env.entries() {
        println!("      {name}={value:?}");
    }
    println!();

    w.wait(Duration::from_secs(3 * 3600), "visitors use it");
    w.apply("a visitor opens the app", Event::Visit, Actor::Visitor)?;
    let sleeps_at = w.space.lifecycle().sleeps_at();
    println!(
        "    free cpu-basic sleeps after 48 h without a visit: at {}",
        sleeps_at.map(clock_label).unwrap_or_else(|| "never".into())
    );
    w.wait(Duration::from_secs(48 * 3600), "nobody visits for 48 h");
    w.apply("idle timer fires", Event::IdleTimeout, Actor::Platform)?;
    w.wait(Duration::from_secs(7200), "two hours later");
    w.apply(
        "a visitor opens the app (wakes it)",
        Event::Visit,
        Actor::Visitor,
    )?;
    w.wait(Duration::from_secs(9), "cold start");
    w.apply(
        "health check answers 200",
        Event::AppHealthy,
        Actor::Platform,
    )?;

    w.apply("owner pauses", Event::Pause, Actor::Owner)?;
    w.wait(Duration::from_secs(3600), "an hour later");
    w.apply(
        "a visitor opens the app (paused: no wake)",
        Event::Visit,
        Actor::Visitor,
    )?;
    match w.space.apply(
        Event::Restart {
            factory_reboot: false,
        },
        Actor::Visitor,
        w.clock.now(),
    ) {
        Err(e) => println!("    refused: {e}"),
        Ok(_) => println!("    (unexpected: a visitor restarted the Space)"),
    }
    w.apply(
        "owner restarts",
        Event::Restart {
            factory_reboot: false,
        },
        Actor::Owner,
    )?;
    w.wait(Duration::from_secs(10), "the app starts");
    w.apply(
        "health check answers 200",
        Event::AppHealthy,
        Actor::Platform,
    )?;

    w.apply(
        "owner attaches small storage (20 GB)",
        Event::RequestStorage(StorageTier::Small),
        Actor::Owner,
    )?;
    w.apply(
        "health check answers 200",
        Event::AppHealthy,
        Actor::Platform,
    )?;
    w.apply(
        "owner upgrades to medium storage (150 GB)",
        Event::RequestStorage(StorageTier::Medium),
        Actor::Owner,
    )?;
    w.apply(
        "health check answers 200",
        Event::AppHealthy,
        Actor::Platform,
    )?;
    println!("    owner asks to go back to small storage:");
    match w.space.apply(
        Event::RequestStorage(StorageTier::Small),
        Actor::Owner,
        w.clock.now(),
    ) {
        Err(e) => println!("    refused: {e}"),
        Ok(_) => println!("    (unexpected: the downgrade was accepted)"),
    }
    println!(
        "    storage still {}; stage still {}",
        w.space
            .lifecycle()
            .storage()
            .map(|t| t.as_str())
            .unwrap_or("none"),
        w.space.stage()
    );
    println!("\nDone: every step above came from spaces_core::Lifecycle::step on a manual clock.");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}
