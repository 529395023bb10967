//! # spaces-config
//!
//! Reads, validates and writes back the configuration of a Space: the YAML front matter between
//! the `---` lines at the top of its `README.md`. It accepts what the Hub accepts, refuses what
//! the Hub refuses, and says where and why, with the README's own line and column.
//!
//! Reading happens in two stages:
//! 1. [`FrontMatter::find`] locates the block (a byte-order mark, CRLF, trailing spaces and a
//!    closing `---` at the end of the file are fine), and a YAML parser builds the *raw mirror*,
//!    a tree of nodes that know their place and keep every scalar as written (`3.10` stays 3.10).
//! 2. Validation turns the mirror into a typed [`SpaceConfig`] (with spaces-core's [`Sdk`](spaces_core::Sdk),
//!    [`Flavor`](spaces_core::Flavor), [`StorageTier`](spaces_core::StorageTier), [`SpaceId`](spaces_core::SpaceId)
//!    ...), collecting **every** problem as a [`Diagnostic`]: the key, the line and column, the
//!    bad value, what would be accepted, and whether the Hub refuses it (error) or accepts it with
//!    a doubt (warning). Keys outside the reference are kept, with a warning.
//!
//! Writing back: [`SpaceConfig::to_front_matter`] gives a front matter that parses to the same
//! config, and [`set_key`] / [`update_key`] / [`remove_key`] edit one key of an existing README,
//! leaving the body and the other keys byte for byte as they were.
//!
//! It also loads hardware catalogs from YAML ([`catalog_file`]).
//!
//! ```
//! use spaces_config::{check_readme, set_key, Severity, Value};
//! use spaces_core::{Flavor, Sdk};
//!
//! let readme = "\u{feff}---\r\n\
//! title: Whisper demo\r\n\
//! emoji: 🎙️\r\n\
//! colorFrom: orange\r\n\
//! sdk: gradio\r\n\
//! sdk_version: 4.0\r\n\
//! python_version: 3.10\r\n\
//! suggested_hardware: l4x1\r\n\
//! author: alice\r\n\
//! ---\r\n\
//! The body.\r\n";
//!
//! let checked = check_readme(readme)?;
//! let lines: Vec<String> = checked.diagnostics.iter().map(|d| format!("README.md:{d}")).collect();
//! assert_eq!(lines[0], "README.md:4:12: error: colorFrom \"orange\" is not one of red, yellow, green, blue, indigo, purple, pink, gray");
//! assert_eq!(checked.diagnostics[1].severity, Severity::Warning); // `author` is not in the reference
//! assert!(!checked.is_valid());
//!
//! // Fix the one key; everything else stays as written.
//! let fixed = set_key(readme, "colorFrom", &Value::plain("red"))?;
//! let config = check_readme(&fixed)?.config.expect("valid now");
//! assert_eq!(config.sdk, Sdk::Gradio);
//! assert_eq!(config.sdk_version.as_ref().map(|v| v.as_str()), Some("4.0"));
//! assert_eq!(config.python_version().to_string(), "3.10");
//! assert_eq!(config.suggested_hardware, Some(Flavor::L4x1));
//! assert!(fixed.ends_with("author: alice\r\n---\r\nThe body.\r\n"));
//! # Ok::<(), spaces_config::Error>(())
//! ```

mod appearance;
pub mod catalog_file;
mod check;
mod config;
mod custom_headers;
mod diagnostic;
mod duration;
mod edit;
mod emit;
mod emoji;
mod error;
mod front_matter;
mod keyword;
mod license;
pub mod node;
mod oauth;
mod preload;
mod repo_id;
mod value;
mod version;
mod write;

pub use appearance::{Color, Header};
pub use check::{check_readme, check_yaml, parse_readme, Checked};
pub use config::{SpaceConfig, KNOWN_KEYS, MAX_SHORT_DESCRIPTION};
pub use custom_headers::{CustomHeaders, EmbedderPolicy, HeaderName, OpenerPolicy, ResourcePolicy};
pub use diagnostic::{Diagnostic, Severity};
pub use duration::StartupTimeout;
pub use edit::{remove_key, set_key, update_key};
pub use emoji::{check_emoji, EmojiCheck};
pub use error::Error;
pub use front_matter::FrontMatter;
pub use license::{is_hub_license, HUB_LICENSES};
pub use oauth::{OAuthScope, DEFAULT_OAUTH_EXPIRATION_MINUTES, MAX_OAUTH_EXPIRATION_MINUTES};
pub use preload::PreloadItem;
pub use repo_id::RepoId;
pub use value::Value;
pub use version::{PythonVersion, SdkVersion};
