//! `spaces secrets set|list|delete`, `spaces variables set|list|delete`.

use std::io::Read;

use spaces_client::SpaceVariable;
use spaces_core::{Secret, SpaceId};

use crate::remote::{print_json, print_table, Failure, Outcome, Remote};

/// Secrets: write-only values the app sees as environment variables.
#[derive(clap::Subcommand, Debug)]
pub enum SecretsCommand {
    /// Set a secret; its value is read from standard input (one trailing newline dropped).
    Set {
        /// `owner/name`.
        id: SpaceId,
        /// The name.
        key: String,
        /// An optional description.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// List the secrets' names (never their values).
    List {
        /// `owner/name`.
        id: SpaceId,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete a secret.
    Delete {
        /// `owner/name`.
        id: SpaceId,
        /// The name.
        key: String,
        #[command(flatten)]
        remote: Remote,
    },
}

/// Variables: public values the app sees as environment variables.
#[derive(clap::Subcommand, Debug)]
pub enum VariablesCommand {
    /// Set a variable.
    Set {
        /// `owner/name`.
        id: SpaceId,
        /// The name.
        key: String,
        /// The value.
        value: String,
        /// An optional description.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        remote: Remote,
    },
    /// List the variables.
    List {
        /// `owner/name`.
        id: SpaceId,
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete a variable.
    Delete {
        /// `owner/name`.
        id: SpaceId,
        /// The name.
        key: String,
        #[command(flatten)]
        remote: Remote,
    },
}

fn opt(v: Option<impl ToString>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".to_owned())
}

fn read_secret() -> Result<Secret, Failure> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprintln!("reading the secret's value from standard input (end it with Ctrl-D)");
    }
    let mut value = String::new();
    std::io::stdin()
        .read_to_string(&mut value)
        .map_err(|e| Failure::Usage(format!("reading the secret's value from stdin: {e}")))?;
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    Ok(Secret::new(value))
}

pub async fn secrets(c: SecretsCommand) -> Outcome {
    match c {
        SecretsCommand::Set {
            id,
            key,
            description,
            remote,
        } => {
            let client = remote.client()?;
            let value = read_secret()?;
            client
                .add_secret(&id, &key, &value, description.as_deref())
                .await?;
            if remote.json {
                print_json(&serde_json::json!({"key": key}))
            } else {
                println!("set secret {key} on {id}");
                Ok(())
            }
        }
        SecretsCommand::List { id, remote } => {
            let list = remote.client()?.secrets(&id).await?;
            if remote.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|s| {
                    vec![
                        s.key.clone(),
                        opt(s.updated_at),
                        opt(s.description.as_ref()),
                    ]
                })
                .collect();
            print_table(&["key", "updated", "description"], &rows);
            Ok(())
        }
        SecretsCommand::Delete { id, key, remote } => {
            remote.client()?.delete_secret(&id, &key).await?;
            if remote.json {
                print_json(&serde_json::json!({"deleted": key}))
            } else {
                println!("deleted secret {key} of {id}");
                Ok(())
            }
        }
    }
}

fn print_variables(remote: &Remote, list: &[SpaceVariable]) -> Outcome {
    if remote.json {
        return print_json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|v| vec![v.key.clone(), v.value.clone(), opt(v.description.as_ref())])
        .collect();
    print_table(&["key", "value", "description"], &rows);
    Ok(())
}

pub async fn variables(c: VariablesCommand) -> Outcome {
    match c {
        VariablesCommand::Set {
            id,
            key,
            value,
            description,
            remote,
        } => {
            let list = remote
                .client()?
                .add_variable(&id, &key, &value, description.as_deref())
                .await?;
            print_variables(&remote, &list)
        }
        VariablesCommand::List { id, remote } => {
            let list = remote.client()?.variables(&id).await?;
            print_variables(&remote, &list)
        }
        VariablesCommand::Delete { id, key, remote } => {
            let list = remote.client()?.delete_variable(&id, &key).await?;
            print_variables(&remote, &list)
        }
    }
}
