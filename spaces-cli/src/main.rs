//! `spaces`: the command line of the spaces crates.
//!
//! Run `spaces --help` for the commands, `spaces <command> --help` for each one. Exit status:
//! 0 on success, 1 when the Hub (or a check) refused, 2 on a usage error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod progress;
mod remote;

use commands::{
    bill, catalog, gpus, info, logs, repo, runtime, settings, storage, upload, validate,
};

/// Host, validate and bill Hugging Face-style Spaces, and manage Spaces on the Hub or any
/// compatible server from the command line.
///
/// Examples:
///   spaces catalog                      # the hardware and storage offer, as a table
///   spaces validate README.md           # check a Space's front matter
///   spaces bill --log usage.jsonl --period 2026-11
///   spaces create alice/demo --sdk static
///   spaces upload alice/demo ./site --message "first version"
///   spaces wait alice/demo              # until RUNNING
///   spaces status alice/demo --json
///
/// Remote commands take `--endpoint` (or HF_ENDPOINT) and `--token` (or HF_TOKEN, or the token
/// file at HF_TOKEN_PATH / $HF_HOME/token).
#[derive(Parser, Debug)]
#[command(name = "spaces", version, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the hardware flavors and persistent storage tiers on offer, with prices.
    Catalog(catalog::Args),
    /// Check Space README front matter the way the Hub does, with errors that say what to change.
    Validate(validate::Args),
    /// Price a usage log (or a ledger) for one calendar month and print the invoice as JSON.
    Bill(bill::Args),
    /// Show this machine's NVIDIA GPUs and which Space holds which.
    Gpus(gpus::Args),
    /// Create a Space.
    Create(repo::CreateArgs),
    /// Show a Space's metadata.
    Info(info::InfoArgs),
    /// Show a Space's runtime: stage, hardware, sleep time, storage.
    Status(info::StatusArgs),
    /// List Spaces.
    List(info::ListArgs),
    /// Request a hardware flavor.
    Hardware(runtime::HardwareArgs),
    /// Set the sleep time (seconds, or `never`).
    SleepTime(runtime::SleepTimeArgs),
    /// Pause a Space (until a restart).
    Pause(runtime::PauseArgs),
    /// Restart a Space (`--factory`: rebuild without cache).
    Restart(runtime::RestartArgs),
    /// Wait until a Space is RUNNING (or fails).
    Wait(runtime::WaitArgs),
    /// Set, list or delete secrets.
    #[command(subcommand)]
    Secrets(settings::SecretsCommand),
    /// Set, list or delete variables.
    #[command(subcommand)]
    Variables(settings::VariablesCommand),
    /// Request or delete persistent storage.
    #[command(subcommand)]
    Storage(storage::StorageCommand),
    /// Copy a Space.
    Duplicate(repo::DuplicateArgs),
    /// Print a Space's run log (or build log with `--build`).
    Logs(logs::LogsArgs),
    /// Upload a folder to a Space in one commit.
    Upload(upload::UploadArgs),
    /// Delete a Space and everything in it.
    Delete(repo::DeleteArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Catalog(args) => catalog::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Bill(args) => bill::run(args),
        Command::Gpus(args) => gpus::run(args),
        Command::Create(a) => remote::run(repo::create(a)),
        Command::Info(a) => remote::run(info::info(a)),
        Command::Status(a) => remote::run(info::status(a)),
        Command::List(a) => remote::run(info::list(a)),
        Command::Hardware(a) => remote::run(runtime::hardware(a)),
        Command::SleepTime(a) => remote::run(runtime::sleep_time(a)),
        Command::Pause(a) => remote::run(runtime::pause(a)),
        Command::Restart(a) => remote::run(runtime::restart(a)),
        Command::Wait(a) => remote::run(runtime::wait(a)),
        Command::Secrets(c) => remote::run(settings::secrets(c)),
        Command::Variables(c) => remote::run(settings::variables(c)),
        Command::Storage(c) => remote::run(storage::run(c)),
        Command::Duplicate(a) => remote::run(repo::duplicate(a)),
        Command::Logs(a) => remote::run(logs::run(a)),
        Command::Upload(a) => remote::run(upload::run(a)),
        Command::Delete(a) => remote::run(repo::delete(a)),
    }
}
