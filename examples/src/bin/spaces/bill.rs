//! `spaces bill`: price a usage log for a month (issue 4 fills this in).

use std::path::PathBuf;
use std::process::ExitCode;

/// Price a usage log for one month.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The usage log (JSON Lines).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// The month, `YYYY-MM`.
    #[arg(long)]
    period: String,
    /// A catalog YAML file instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let _ = (args.log, args.period, args.catalog, super::catalog::load);
    eprintln!("error: `spaces bill` is not available in this build yet");
    ExitCode::from(2)
}
