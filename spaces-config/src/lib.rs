//! # spaces-config
//!
//! Reads the YAML files of a Space. For now: [`catalog_file`], which loads a hardware and storage
//! [`Catalog`](spaces_core::Catalog) from YAML (spaces-core holds the types and the built-in
//! seed; it does no I/O and has no YAML parser, so the loader lives here). The README front-matter
//! parser and validator come with issue 3.
//!
//! ```
//! let yaml = r#"
//! hardware:
//!   - { id: cpu-basic, name: CPU Basic, vcpu: 2, memory_gb: 16, disk_gb: 50, hourly_price: 0 }
//!   - id: l4x1
//!     name: Nvidia 1xL4
//!     vcpu: 8
//!     memory_gb: 30
//!     disk_gb: 400
//!     gpu: { model: L4, count: 1, memory_gb: 24 }
//!     hourly_price: "0.80"
//! storage:
//!   - { tier: small, size_gb: 20, monthly_price: 5 }
//! "#;
//! let catalog = spaces_config::catalog_file::parse_catalog(yaml)?;
//! assert_eq!(catalog.require_flavor("l4x1")?.hourly_price.to_string(), "0.80");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod catalog_file;
mod error;

pub use error::Error;
