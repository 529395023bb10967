//! `spaces create`, `spaces duplicate`, `spaces delete`.

use spaces_client::{CreateSpace, DuplicateSpace, RepoUrl, SleepTime};
use spaces_core::{Flavor, Sdk, SpaceId, StorageTier, Visibility};

use crate::remote::{print_json, Failure, Outcome, Remote};

/// Create a Space.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// `owner/name`.
    id: SpaceId,
    /// gradio, streamlit, docker or static.
    #[arg(long)]
    sdk: Sdk,
    /// Only the owner (and its organisation) can see it.
    #[arg(long)]
    private: bool,
    /// A hardware flavor (cpu-basic, t4-small, ...).
    #[arg(long, value_name = "FLAVOR")]
    hardware: Option<Flavor>,
    /// Persistent storage: small, medium or large.
    #[arg(long, value_name = "TIER")]
    storage: Option<StorageTier>,
    /// Seconds without a visit before it sleeps, or `never`.
    #[arg(long, value_name = "SECONDS|never", allow_hyphen_values = true)]
    sleep_time: Option<SleepTime>,
    #[command(flatten)]
    remote: Remote,
}

fn print_url(remote: &Remote, r: &RepoUrl) -> Outcome {
    if remote.json {
        print_json(&r.raw)
    } else {
        println!("{}", r.url);
        Ok(())
    }
}

pub async fn create(a: CreateArgs) -> Outcome {
    let client = a.remote.client()?;
    let mut options = CreateSpace::new(a.sdk);
    if a.private {
        options.visibility = Some(Visibility::Private);
    }
    options.hardware = a.hardware;
    options.storage = a.storage;
    options.sleep_time = a.sleep_time;
    let r = client.create(&a.id, &options).await?;
    print_url(&a.remote, &r)
}

/// Copy a Space (its files and variables; not its secrets).
#[derive(clap::Args, Debug)]
pub struct DuplicateArgs {
    /// The Space to copy.
    from: SpaceId,
    /// The new Space's `owner/name`.
    to: SpaceId,
    /// Make the copy private.
    #[arg(long)]
    private: bool,
    #[command(flatten)]
    remote: Remote,
}

pub async fn duplicate(a: DuplicateArgs) -> Outcome {
    let client = a.remote.client()?;
    let options = DuplicateSpace {
        visibility: a.private.then_some(Visibility::Private),
        ..DuplicateSpace::default()
    };
    let r = client.duplicate(&a.from, &a.to, &options).await?;
    print_url(&a.remote, &r)
}

/// Delete a Space, its files, settings and storage, for good.
#[derive(clap::Args, Debug)]
pub struct DeleteArgs {
    /// `owner/name`.
    id: SpaceId,
    /// Confirms the deletion (required).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    remote: Remote,
}

pub async fn delete(a: DeleteArgs) -> Outcome {
    if !a.yes {
        return Err(Failure::Usage(format!(
            "deleting {} deletes its files, settings and data for good: add --yes",
            a.id
        )));
    }
    let client = a.remote.client()?;
    client.delete(&a.id, false).await?;
    if a.remote.json {
        print_json(&serde_json::json!({"deleted": a.id.as_str()}))
    } else {
        println!("deleted {}", a.id);
        Ok(())
    }
}
