//! `spaces`: the command line of the spaces crates.
//!
//! Run `spaces --help` for the commands, `spaces <command> --help` for each one.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bill;
mod catalog;
mod validate;

/// Host, validate and bill Hugging Face-style Spaces from the command line.
///
/// Examples:
///   spaces catalog                      # the hardware and storage offer, as a table
///   spaces catalog --json               # the same, as JSON
///   spaces validate README.md           # check a Space's front matter
///   spaces bill --log usage.jsonl --period 2026-11
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Catalog(args) => catalog::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Bill(args) => bill::run(args),
    }
}
