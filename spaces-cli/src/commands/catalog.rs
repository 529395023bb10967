//! `spaces catalog`: the hardware and storage offer.

use std::path::PathBuf;
use std::process::ExitCode;

use spaces_core::Catalog;

/// Show the catalog. Without `--catalog`, the built-in seed catalog.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON (prices as decimal strings; `gpu` is null on CPU flavors).
    #[arg(long)]
    json: bool,
    /// Load the catalog from this YAML file instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
}

/// Loads the catalog named by `--catalog`, or the seed. Shared by the commands that price things.
pub fn load(path: Option<&PathBuf>) -> Result<Catalog, String> {
    match path {
        None => Ok(Catalog::seed()),
        Some(p) => spaces_config::catalog_file::load_catalog(p).map_err(|e| {
            format!("{e}\nhint: the file lists `hardware:` and `storage:`, like `spaces catalog --json`")
        }),
    }
}

pub fn run(args: Args) -> ExitCode {
    let catalog = match load(args.catalog.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        match serde_json::to_string(&catalog) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: cannot write JSON: {e}");
                return ExitCode::from(2);
            }
        }
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<14} {:<22} {:>5} {:>8} {:>8}  {:<16} {:>9}",
        "FLAVOR", "NAME", "vCPU", "MEMORY", "DISK", "GPU", "$/HOUR"
    );
    for h in catalog.hardware() {
        let gpu = h
            .gpu
            .as_ref()
            .map(|g| format!("{}x {} {} GB", g.count, g.model, g.memory_gb))
            .unwrap_or_else(|| "-".into());
        let price = if h.is_free() {
            "free".to_owned()
        } else {
            h.hourly_price.to_string()
        };
        println!(
            "{:<14} {:<22} {:>5} {:>5} GB {:>5} GB  {:<16} {:>9}",
            h.id.as_str(),
            h.name,
            h.vcpu,
            h.memory_gb,
            h.disk_gb,
            gpu,
            price
        );
    }
    println!();
    println!("{:<14} {:>8} {:>9}", "STORAGE", "SIZE", "$/MONTH");
    for s in catalog.storage() {
        println!(
            "{:<14} {:>5} GB {:>9}",
            s.tier.as_str(),
            s.size_gb,
            s.monthly_price
        );
    }
    ExitCode::SUCCESS
}
