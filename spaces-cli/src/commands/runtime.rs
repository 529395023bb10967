//! `spaces hardware`, `spaces sleep-time`, `spaces pause`, `spaces restart`, `spaces wait`.

use std::time::Duration;

use spaces_client::SleepTime;
use spaces_core::{Flavor, SpaceId, Stage};

use crate::remote::{print_runtime, Outcome, Remote};

/// Request a hardware flavor (the Space restarts on it).
#[derive(clap::Args, Debug)]
pub struct HardwareArgs {
    /// `owner/name`.
    id: SpaceId,
    /// The flavor (cpu-basic, cpu-upgrade, t4-small, ...).
    flavor: Flavor,
    /// Seconds without a visit before it sleeps, or `never`.
    #[arg(long, value_name = "SECONDS|never", allow_hyphen_values = true)]
    sleep_time: Option<SleepTime>,
    #[command(flatten)]
    remote: Remote,
}

pub async fn hardware(a: HardwareArgs) -> Outcome {
    let client = a.remote.client()?;
    let rt = client
        .request_hardware(&a.id, &a.flavor, a.sleep_time)
        .await?;
    print_runtime(&a.remote, &a.id, &rt)
}

/// Set how long the Space may go without a visit before it sleeps.
#[derive(clap::Args, Debug)]
pub struct SleepTimeArgs {
    /// `owner/name`.
    id: SpaceId,
    /// Seconds, or `never`.
    #[arg(value_name = "SECONDS|never", allow_hyphen_values = true)]
    seconds: SleepTime,
    #[command(flatten)]
    remote: Remote,
}

pub async fn sleep_time(a: SleepTimeArgs) -> Outcome {
    let client = a.remote.client()?;
    let rt = client.set_sleep_time(&a.id, a.seconds).await?;
    print_runtime(&a.remote, &a.id, &rt)
}

/// Pause a Space: it stays PAUSED (and unbilled) until a restart.
#[derive(clap::Args, Debug)]
pub struct PauseArgs {
    /// `owner/name`.
    id: SpaceId,
    #[command(flatten)]
    remote: Remote,
}

pub async fn pause(a: PauseArgs) -> Outcome {
    let client = a.remote.client()?;
    let rt = client.pause(&a.id).await?;
    print_runtime(&a.remote, &a.id, &rt)
}

/// Restart a Space.
#[derive(clap::Args, Debug)]
pub struct RestartArgs {
    /// `owner/name`.
    id: SpaceId,
    /// Rebuild without the build cache (factory reboot).
    #[arg(long)]
    factory: bool,
    #[command(flatten)]
    remote: Remote,
}

pub async fn restart(a: RestartArgs) -> Outcome {
    let client = a.remote.client()?;
    let rt = client.restart(&a.id, a.factory).await?;
    print_runtime(&a.remote, &a.id, &rt)
}

/// Wait until the Space is RUNNING; fails (exit 1) when it stops in another stage (the
/// stage's error message on stderr) or after the timeout.
#[derive(clap::Args, Debug)]
pub struct WaitArgs {
    /// `owner/name`.
    id: SpaceId,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    timeout: u64,
    #[command(flatten)]
    remote: Remote,
}

pub async fn wait(a: WaitArgs) -> Outcome {
    let client = a.remote.client()?;
    let bar = crate::progress::spinner(&format!("{}: waiting", a.id));
    let result = client
        .wait_for_with(
            &a.id,
            |rt| rt.stage == Stage::Running,
            Duration::from_secs(a.timeout),
            |rt| {
                if let Some(b) = &bar {
                    b.set_message(format!("{}: {}", a.id, rt.stage));
                }
            },
        )
        .await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let rt = result?;
    print_runtime(&a.remote, &a.id, &rt)
}
