//! # spaces-server
//!
//! A Hub-compatible control plane: the HTTP API of the Hugging Face Hub's Spaces
//! (`shared/spec/hub-api.md`) over the spaces-runtime [`Supervisor`], with users, organisations
//! and tokens, so that `huggingface_hub`'s `HfApi(endpoint=...)`, `HF_ENDPOINT=... hf ...` and the
//! JS and Rust clients manage Spaces on your own machine.
//!
//! A library first: [`ServerBuilder`] opens a data folder and gives a [`Server`], whose
//! [`Server::router`] is an [`axum::Router`] to serve or to nest in another service; the
//! `spaces-server` binary is a thin command line over it.
//!
//! ```no_run
//! # async fn run() -> Result<(), spaces_server::Error> {
//! use spaces_server::{Role, ServerBuilder};
//!
//! let server = ServerBuilder::new("/var/lib/spaces").build().await?;
//! server.db().add_user("alice", &["acme".to_owned()])?;
//! let token = server.db().create_token("alice", Role::Write)?;
//! println!("HF_TOKEN={token}");
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.map_err(|e| {
//!     spaces_server::Error::Io { context: "binding".into(), source: e }
//! })?;
//! server.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! Data folder layout: `state/` (the supervisor's SQLite database, which also holds the server's
//! `server_*` tables: users, organisations, members, token hashes, Space metadata), `runtime/`
//! (the local runtime's images, instances and volumes), `repos/` (the server's copy of each
//! Space's first files), `git/<owner>/<name>.git` (each Space's bare git repository, which
//! `git clone/push` reach at `/spaces/<owner>/<name>`; every new commit on `main` builds),
//! `builds/` (a commit's files while it is pushed to the supervisor), `ledger.sqlite` (the
//! usage ledger the billing view reads).
//!
//! With a domain ([`ServerBuilder::spaces_domain`]; the binary's `--domain`, `localhost` by
//! default), [`Server::router`] also serves the [`frontdoor`]: `<owner>-<name>.<domain>` goes to
//! the Space's app (woken by its first request), the bare domain to the API, git and the
//! [`dashboard`]. [`Server::front_door`] gives the front door alone, to mount elsewhere.
//!
//! See `ARCHITECTURE.md` (section `spaces-server`) for the data flow and the invariants.

mod app;
mod auth;
mod build;
mod connections;
pub mod dashboard;
mod db;
mod error;
pub mod frontdoor;
mod git;
mod identity;
mod lfs;
mod limits;
mod meta;
pub mod openapi;
mod repo;
pub(crate) mod routes;
mod server;
mod sink;
pub mod wire;
mod xet;

pub use app::App;
pub use auth::Caller;
pub use connections::per_core::CoreListeners;
pub use db::{Db, DB_FILE};
pub use error::{ApiError, Error, INVALID_CREDENTIALS};
pub use frontdoor::{FrontDoor, FrontDoorConfig};
pub use identity::{token_hash, Principal, Role};
pub use limits::Limits;
pub use meta::{SpaceMeta, VariableMeta};
pub use server::{Server, ServerBuilder};
pub use sink::LedgerSink;
pub use spaces_runtime::supervisor::Supervisor;
