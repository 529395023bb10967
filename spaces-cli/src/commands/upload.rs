//! `spaces upload`.

use std::path::PathBuf;
use std::sync::Arc;

use spaces_client::Progress;
use spaces_core::SpaceId;

use crate::remote::{print_json, Failure, Outcome, Remote};

/// Upload every file of a folder (but `.git/`) to the root of a Space in one commit; large
/// files go through LFS. A new commit rebuilds the Space.
#[derive(clap::Args, Debug)]
pub struct UploadArgs {
    /// `owner/name`.
    id: SpaceId,
    /// The folder to upload.
    folder: PathBuf,
    /// The commit message.
    #[arg(long, short)]
    message: Option<String>,
    #[command(flatten)]
    remote: Remote,
}

pub async fn run(a: UploadArgs) -> Outcome {
    if !a.folder.is_dir() {
        return Err(Failure::Usage(format!(
            "{} is not a folder",
            a.folder.display()
        )));
    }
    let client = a.remote.client()?;
    let bar = crate::progress::bytes(0);
    let progress = bar.clone().map(|b| {
        Arc::new(move |p: Progress| {
            b.set_length(p.total);
            b.set_position(p.done);
        }) as spaces_client::OnProgress
    });
    let message = a
        .message
        .clone()
        .unwrap_or_else(|| "Upload folder using the spaces CLI".to_owned());
    let result = client
        .upload_folder(&a.id, &a.folder, &message, progress)
        .await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let info = result?;
    if a.remote.json {
        print_json(&info.raw)
    } else {
        println!(
            "{}{}",
            info.commit_url
                .clone()
                .or(info.commit_oid.clone())
                .unwrap_or_else(|| "committed".to_owned()),
            if info.lfs_files > 0 {
                format!(" ({} file(s) through LFS)", info.lfs_files)
            } else {
                String::new()
            }
        );
        Ok(())
    }
}
