//! `spaces gpus`: this machine's NVIDIA GPUs (through NVML) and which Space holds which.

use std::path::PathBuf;
use std::process::ExitCode;

use spaces_runtime::nvidia::GpuReport;

/// Show the machine's GPUs: model, memory, use, and the Space each is assigned to.
///
/// Examples:
///   spaces gpus                          # the inventory as a table
///   spaces gpus --state DATA/state       # with the assignments of a supervisor's store
///   spaces gpus --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The supervisor's state folder (the one holding `supervisor.sqlite`; for spaces-server,
    /// `<data>/state`), to show which Space holds which GPU. Read only.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Print JSON: `{source, gpus: [...], missing: [...]}`.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> ExitCode {
    let report = match GpuReport::gather(args.state.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "hint: `spaces gpus` reads NVIDIA's NVML (libnvidia-ml.so from the driver); \
                 install the NVIDIA driver, or run it on the GPU machine"
            );
            return ExitCode::from(1);
        }
    };
    if args.json {
        match report.to_json() {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: cannot write JSON: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        print!("{}", report.to_table());
    }
    ExitCode::SUCCESS
}
