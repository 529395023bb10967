//! Criterion benchmarks for the spaces crates, each measured against a naive baseline in the same
//! run. Run them with `cargo bench -p spaces-benches`.

pub mod scheduler_baseline;
