//! `spaces logs`.

use std::io::Write;

use futures_util::StreamExt;
use spaces_client::LogKind;
use spaces_core::SpaceId;

use crate::remote::{print_json, Outcome, Remote};

/// Print a Space's run log, or its last build's log.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// `owner/name`.
    id: SpaceId,
    /// The build log instead of the run log.
    #[arg(long)]
    build: bool,
    /// Keep printing new lines until the log ends (reconnecting when the connection drops).
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    remote: Remote,
}

pub async fn run(a: LogsArgs) -> Outcome {
    let client = a.remote.client()?;
    let kind = if a.build {
        LogKind::Build
    } else {
        LogKind::Run
    };
    let mut lines = Box::pin(client.logs(&a.id, kind, a.follow));
    let mut out = std::io::stdout();
    while let Some(line) = lines.next().await {
        let line = line?;
        if a.remote.json {
            print_json(&line)?;
        } else {
            let _ = out.write_all(line.text.as_bytes());
            if !line.text.ends_with('\n') {
                let _ = out.write_all(b"\n");
            }
            let _ = out.flush();
        }
    }
    Ok(())
}
