//! One module per command group. A new group adds a module here and a variant in `main.rs`.

pub mod bill;
pub mod catalog;
pub mod gpus;
pub mod info;
pub mod logs;
pub mod repo;
pub mod runtime;
pub mod settings;
pub mod storage;
pub mod upload;
pub mod validate;
