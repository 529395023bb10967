//! `spaces storage request`, `spaces storage delete`.

use spaces_core::{DataLossAck, SpaceId, StorageTier};

use crate::remote::{print_runtime, Failure, Outcome, Remote};

/// Persistent storage (mounted at /data).
#[derive(clap::Subcommand, Debug)]
pub enum StorageCommand {
    /// Attach or upgrade persistent storage (tiers can only grow).
    Request {
        /// `owner/name`.
        id: SpaceId,
        /// small, medium or large.
        tier: StorageTier,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete the persistent storage and everything in /data.
    Delete {
        /// `owner/name`.
        id: SpaceId,
        /// Confirms that the data is lost for good (required).
        #[arg(long)]
        yes_delete_data: bool,
        #[command(flatten)]
        remote: Remote,
    },
}

pub async fn run(c: StorageCommand) -> Outcome {
    match c {
        StorageCommand::Request { id, tier, remote } => {
            let rt = remote.client()?.request_storage(&id, tier).await?;
            print_runtime(&remote, &id, &rt)
        }
        StorageCommand::Delete {
            id,
            yes_delete_data,
            remote,
        } => {
            if !yes_delete_data {
                return Err(Failure::Usage(format!(
                    "deleting the storage of {id} deletes everything in /data for good: add --yes-delete-data"
                )));
            }
            let rt = remote
                .client()?
                .delete_storage(&id, DataLossAck::i_understand_all_data_is_lost())
                .await?;
            print_runtime(&remote, &id, &rt)
        }
    }
}
