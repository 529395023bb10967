//! # spaces-client (not built yet)
//!
//! Will hold an async client for the Hub's Spaces HTTP API (runtime, hardware, storage, secrets,
//! variables, pause/restart), returning spaces-core types and accepting unknown stage and flavor
//! strings from the server without failing.
