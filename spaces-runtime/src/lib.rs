//! # spaces-runtime
//!
//! Where Spaces run. Will hold the object-safe async `Runtime` trait with its conformance suite,
//! the embedded local runtime, the Docker and NVIDIA backends (behind features), and the lifecycle
//! supervisor that drives Spaces with a runtime and a clock (issues 5 and 6).
//!
//! Already here: [`scheduler`], pure synchronous placement of Spaces on a fleet of hosts.

pub mod scheduler;
