//! # spaces-client
//!
//! A typed async client for the Hugging Face Hub's Spaces HTTP API
//! (`shared/spec/hub-api.md`), for the Hub itself or any compatible server (spaces-server).
//! It sends what `huggingface_hub` 2.4.0 sends for the same call (and 1.33.0 for the storage
//! calls 2.0 removed) and decodes what the Hub answers, in spaces-core's vocabulary:
//! [`SpaceId`], [`Sdk`], [`Stage`], [`Flavor`], [`StorageTier`]. A stage, flavor, SDK or tier
//! this build does not know is kept as sent, never an error.
//!
//! - [`Client`] (cheap to clone) from [`Client::builder`] or [`ClientBuilder::from_env`]
//!   (`HF_ENDPOINT`, `HF_TOKEN`, `HF_TOKEN_PATH`/`HF_HOME`; the only place the environment is
//!   read). The [`Token`] never appears in `Debug`, logs or errors.
//! - Runtime and controls: [`Client::runtime`], [`Client::info`], [`Client::request_hardware`],
//!   [`Client::set_sleep_time`] ([`SleepTime::Never`] is `-1`), [`Client::pause`],
//!   [`Client::restart`] (factory reboot), [`Client::request_storage`],
//!   [`Client::delete_storage`], [`Client::set_dev_mode`], [`Client::set_volumes`],
//!   [`Client::delete_volumes`], [`Client::set_visibility`].
//! - What the Hub offers: [`Client::hardware_offer`] (prices as exact decimals),
//!   [`Client::templates`], [`Client::zero_gpu_quota`].
//! - Repositories: [`Client::create`] ([`CreateSpace`]: secrets, variables, hardware, storage,
//!   sleep time), [`Client::duplicate`], [`Client::delete`].
//! - Secrets and variables: [`Client::add_secret`], [`Client::delete_secret`],
//!   [`Client::secrets`], [`Client::add_variable`], [`Client::delete_variable`],
//!   [`Client::variables`].
//! - Streams: [`Client::list`] follows `Link` pagination; [`Client::logs`] reads the SSE log,
//!   reconnecting when following.
//! - [`Client::wait_for`]: polls the runtime with backoff, stops on terminal stages.
//! - Files: [`Client::upload_folder`], [`Client::create_commit`] (preupload, NDJSON commit,
//!   LFS batch API with the basic transfer for large files).
//! - [`Error`]: `RepoNotFound`, `Unauthorized`, `Forbidden`, `Conflict { url }`, `BadRequest`,
//!   `RateLimited { retry_after }`, `Server { status, message, request_id }`, the message
//!   taken from `X-Error-Message` or the JSON body like the official client. Idempotent calls
//!   are retried with backoff and jitter on 429, 5xx and connection errors.
//!
//! ## Example
//!
//! ```
//! use spaces_client::{Client, ClientBuilder, CreateSpace, SleepTime};
//! use spaces_core::{Sdk, Visibility};
//!
//! // Configured like the official client, from variables (here a fixed map).
//! let client = ClientBuilder::from_vars(|k| match k {
//!     "HF_ENDPOINT" => Some("http://127.0.0.1:8080/".to_owned()),
//!     "HF_TOKEN" => Some("hf_example_token\n".to_owned()),
//!     _ => None,
//! })
//! .build()?;
//! assert_eq!(client.endpoint(), "http://127.0.0.1:8080");
//! assert!(!format!("{client:?}").contains("hf_example_token"));
//!
//! // What `create` sends, exactly.
//! let mut options = CreateSpace::new(Sdk::Gradio);
//! options.visibility = Some(Visibility::Private);
//! options.sleep_time = Some(SleepTime::Never);
//! assert_eq!(
//!     options.body(&"alice/demo".parse()?),
//!     serde_json::json!({"name": "demo", "organization": "alice", "visibility": "private",
//!                        "type": "space", "sdk": "gradio", "sleepTimeSeconds": -1}),
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Against a server:
//!
//! ```no_run
//! # async fn run() -> Result<(), spaces_client::Error> {
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use spaces_client::{Client, CreateSpace, LogKind};
//! use spaces_core::{Sdk, Stage};
//!
//! let client = Client::from_env()?;
//! let id = "alice/demo".parse().map_err(|e| spaces_client::Error::InvalidInput(format!("{e}")))?;
//! client.create(&id, &CreateSpace::new(Sdk::Static)).await?;
//! client.upload_folder(&id, "site/".as_ref(), "first version", None).await?;
//! let rt = client.wait_for(&id, |rt| rt.stage == Stage::Running, Duration::from_secs(300)).await?;
//! println!("{} on {:?}", rt.stage, rt.hardware);
//! let mut logs = Box::pin(client.logs(&id, LogKind::Build, false));
//! while let Some(line) = logs.next().await {
//!     print!("{}", line?.text);
//! }
//! # Ok(()) }
//! ```

mod client;
mod commit;
mod controls;
mod error;
mod info;
mod lfs;
mod list;
mod logs;
mod offer;
mod repos;
mod retry;
mod runtime;
mod settings;
mod wait;

pub use client::{Client, ClientBuilder, Token, DEFAULT_ENDPOINT};
pub use commit::{
    folder_files, Commit, CommitInfo, CommitOperation, FileSource, OnProgress, Progress,
};
pub use error::{
    from_response, request_id, retry_after, server_message, Error, DISABLED, INVALID_CREDENTIALS,
};
pub use info::{Sibling, SpaceInfo};
pub use list::{next_link, ListSpaces};
pub use logs::{parse_event, LogKind, LogLine};
pub use offer::{HardwareOffer, SpaceTemplate, ZeroGpuQuota};
pub use repos::{CreateSpace, DuplicateSpace, RepoUrl};
pub use retry::RetryPolicy;
pub use runtime::{
    is_intermediate, BadSleepTime, Domain, HotReloading, Replicas, SleepTime, SpaceRuntime, Volume,
    Wire,
};
pub use settings::{NewSecret, NewVariable, SpaceSecret, SpaceVariable};
pub use wait::{FIRST_POLL, MAX_POLL};

pub use spaces_core::{DataLossAck, Flavor, Sdk, Secret, SpaceId, Stage, StorageTier, Visibility};
