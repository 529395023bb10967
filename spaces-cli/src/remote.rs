//! What every remote command shares: `--endpoint`, `--token`, `--json`; building the client;
//! the exit status of an outcome (0 done, 1 refused by the server, 2 usage); printing.

use std::future::Future;
use std::process::ExitCode;

use serde::Serialize;
use spaces_client::{Client, ClientBuilder, SleepTime, SpaceRuntime};
use spaces_core::SpaceId;

/// The options of every remote command.
#[derive(clap::Args, Debug, Clone)]
pub struct Remote {
    /// The Hub's URL [default: $HF_ENDPOINT, else the Hub itself, huggingface.co].
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The access token [default: $HF_TOKEN, else the file at $HF_TOKEN_PATH or
    /// $HF_HOME/token]. Prefer HF_TOKEN: other users of this machine can read command lines.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Print the server's JSON instead of a human line or table.
    #[arg(long)]
    pub json: bool,
}

/// Why a remote command failed.
pub enum Failure {
    /// The server refused, or could not be reached: exit 1.
    Api(spaces_client::Error),
    /// The command line was unusable: exit 2.
    Usage(String),
}

impl From<spaces_client::Error> for Failure {
    fn from(e: spaces_client::Error) -> Self {
        match e {
            spaces_client::Error::Config(m) | spaces_client::Error::InvalidInput(m) => {
                Failure::Usage(m)
            }
            other => Failure::Api(other),
        }
    }
}

/// The outcome of a remote command.
pub type Outcome = Result<(), Failure>;

impl Remote {
    /// The client: the environment as the official client reads it, then the flags.
    pub fn client(&self) -> Result<Client, Failure> {
        let mut b = ClientBuilder::from_env()
            .user_agent(format!("spaces-cli/{}", env!("CARGO_PKG_VERSION")));
        if let Some(e) = &self.endpoint {
            b = b.endpoint(e);
        }
        if let Some(t) = &self.token {
            b = b.token(t);
        }
        b.build().map_err(Failure::from)
    }
}

/// Runs a command's future on a fresh runtime and turns its outcome into the exit status.
pub fn run(f: impl Future<Output = Outcome>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Api(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
    }
}

/// Prints a value as one line of JSON.
pub fn print_json(v: &impl Serialize) -> Outcome {
    let text = serde_json::to_string(v)
        .map_err(|e| Failure::Usage(format!("cannot print the answer as JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// One human line for a runtime: `alice/demo: RUNNING, hardware cpu-basic, sleeps after 172800 s`.
pub fn runtime_line(id: &SpaceId, rt: &SpaceRuntime) -> String {
    let mut line = format!("{id}: {}", rt.stage);
    match (&rt.hardware, &rt.requested_hardware) {
        (Some(c), Some(r)) if c != r => line.push_str(&format!(", hardware {c} (requested {r})")),
        (Some(c), _) => line.push_str(&format!(", hardware {c}")),
        (None, Some(r)) => line.push_str(&format!(", hardware requested {r}")),
        (None, None) => {}
    }
    match rt.sleep_time {
        Some(SleepTime::Never) => line.push_str(", never sleeps"),
        Some(SleepTime::Seconds(s)) => line.push_str(&format!(", sleeps after {s} s")),
        None => {}
    }
    if let Some(s) = &rt.storage {
        line.push_str(&format!(", storage {s}"));
    }
    if let Some(m) = &rt.error_message {
        line.push_str(&format!("\n  error: {m}"));
    }
    line
}

/// Prints a runtime: its JSON with `--json`, else its line.
pub fn print_runtime(remote: &Remote, id: &SpaceId, rt: &SpaceRuntime) -> Outcome {
    if remote.json {
        print_json(rt)
    } else {
        println!("{}", runtime_line(id, rt));
        Ok(())
    }
}

/// Prints rows as an aligned table with a header.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for r in rows {
        line(r.clone());
    }
}
