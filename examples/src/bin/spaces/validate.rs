//! `spaces validate`: check README front matter (issue 3 fills this in).

use std::path::PathBuf;
use std::process::ExitCode;

/// Check Space README front matter.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object per path.
    #[arg(long)]
    json: bool,
    /// README.md files or Space folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let _ = (args.json, args.paths);
    eprintln!("error: `spaces validate` is not available in this build yet");
    ExitCode::from(2)
}
