//! `spaces info`, `spaces status`, `spaces list`.

use futures_util::StreamExt;
use spaces_client::ListSpaces;
use spaces_core::SpaceId;

use crate::remote::{print_json, print_runtime, print_table, Outcome, Remote};

/// Show a Space's metadata.
#[derive(clap::Args, Debug)]
pub struct InfoArgs {
    /// `owner/name`.
    id: SpaceId,
    #[command(flatten)]
    remote: Remote,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".to_owned())
}

pub async fn info(a: InfoArgs) -> Outcome {
    let client = a.remote.client()?;
    let info = client.info(&a.id).await?;
    if a.remote.json {
        return print_json(&info);
    }
    let rt = info.runtime.as_ref();
    let rows = vec![
        vec!["id".to_owned(), info.id.to_string()],
        vec!["sdk".to_owned(), opt(info.sdk.as_ref())],
        vec!["private".to_owned(), opt(info.private)],
        vec!["stage".to_owned(), opt(rt.map(|r| r.stage.clone()))],
        vec![
            "hardware".to_owned(),
            opt(rt.and_then(|r| r.hardware.clone())),
        ],
        vec!["sha".to_owned(), opt(info.sha.as_ref())],
        vec!["last modified".to_owned(), opt(info.last_modified)],
        vec!["likes".to_owned(), opt(info.likes)],
        vec!["host".to_owned(), opt(info.host.as_ref())],
        vec![
            "files".to_owned(),
            opt(info.siblings.as_ref().map(Vec::len)),
        ],
    ];
    print_table(&["field", "value"], &rows);
    Ok(())
}

/// Show a Space's runtime.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// `owner/name`.
    id: SpaceId,
    #[command(flatten)]
    remote: Remote,
}

pub async fn status(a: StatusArgs) -> Outcome {
    let client = a.remote.client()?;
    let rt = client.runtime(&a.id).await?;
    print_runtime(&a.remote, &a.id, &rt)
}

/// List Spaces (all pages).
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only this owner's.
    #[arg(long)]
    author: Option<String>,
    /// Only ids containing this.
    #[arg(long)]
    search: Option<String>,
    /// At most this many.
    #[arg(long)]
    limit: Option<usize>,
    #[command(flatten)]
    remote: Remote,
}

pub async fn list(a: ListArgs) -> Outcome {
    let client = a.remote.client()?;
    let query = ListSpaces {
        author: a.author,
        search: a.search,
        limit: a.limit,
        ..ListSpaces::default()
    };
    let mut stream = Box::pin(client.list(&query));
    let mut all = Vec::new();
    while let Some(item) = stream.next().await {
        all.push(item?);
    }
    if a.remote.json {
        return print_json(&all);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|s| {
            let rt = s.runtime.as_ref();
            vec![
                s.id.to_string(),
                opt(s.sdk.as_ref()),
                opt(rt.map(|r| r.stage.clone())),
                opt(rt.and_then(|r| r.hardware.clone())),
                opt(s.likes),
            ]
        })
        .collect();
    print_table(&["id", "sdk", "stage", "hardware", "likes"], &rows);
    Ok(())
}
