//! # spaces-runtime (not built yet)
//!
//! Will hold the object-safe async `Runtime` trait with its conformance suite, the embedded local
//! runtime, the Docker and NVIDIA backends (behind features), the lifecycle supervisor that drives
//! Spaces with a runtime and a clock, and the scheduler that places Spaces on a fleet of hosts.
//! See issues 5, 6 and 7.
