//! `spaces bill`: price a usage log (or a ledger) for one calendar month.
//!
//! Prints the invoice JSON of billing.md on stdout and exits 0. A rejected log prints
//! `line N: <problem>` on stderr and exits 1 (no invoice at all). Usage errors (bad period,
//! unreadable file, no such ledger, bad catalog) exit 2 with a hint.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use spaces_billing::ledger::Ledger;
use spaces_billing::{Error, Period, UsageLog};

/// Price a usage log, or the events of a ledger, for one month.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["log", "ledger"])))]
pub struct Args {
    /// The usage log (JSON Lines, billing.md); `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// A ledger database (as written by `spaces_billing::ledger::Ledger`) instead of a log;
    /// opened read-only, it is left unchanged.
    #[arg(long, value_name = "PATH")]
    ledger: Option<PathBuf>,
    /// The month, `YYYY-MM` (UTC).
    #[arg(long, value_name = "YYYY-MM")]
    period: String,
    /// A catalog YAML file instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
}

/// A usage error: exit 2.
fn usage(message: &str, hint: &str) -> ExitCode {
    eprintln!("error: {message}\nhint: {hint}");
    ExitCode::from(2)
}

pub fn run(args: Args) -> ExitCode {
    let period: Period = match args.period.parse() {
        Ok(p) => p,
        Err(e) => return usage(&e.to_string(), "write the month as `--period 2026-11`"),
    };
    let catalog = match super::catalog::load(args.catalog.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let log = match (&args.log, &args.ledger) {
        (Some(path), _) => {
            let mut text = String::new();
            let read = if path.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text).map(|_| ())
            } else {
                std::fs::read_to_string(path).map(|t| text = t)
            };
            if let Err(e) = read {
                return usage(
                    &format!("cannot read {}: {e}", path.display()),
                    "`--log` takes a JSON Lines usage log, one event per line (or `-` for stdin)",
                );
            }
            UsageLog::parse(&text, &catalog)
        }
        (None, Some(path)) => match Ledger::open_read_only(path) {
            // Read-only: billing never changes the ledger (no schema, no WAL switch, no new file).
            Ok(ledger) => ledger.usage_log(&catalog),
            Err(e @ (Error::LedgerNotFound { .. } | Error::NotALedger { .. })) => return usage(
                &e.to_string(),
                "`--ledger` takes an existing ledger database; use `--log` for a JSON Lines file",
            ),
            Err(e) => Err(e),
        },
        (None, None) => return usage("no usage to bill", "give `--log FILE` or `--ledger PATH`"),
    };
    let invoice = log.and_then(|l| l.invoice(period));
    match invoice {
        Ok(invoice) => {
            println!("{}", invoice.to_json());
            ExitCode::SUCCESS
        }
        Err(e @ Error::Log { .. }) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
