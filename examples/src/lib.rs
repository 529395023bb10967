//! Runnable programs for the spaces crates: the `spaces` CLI (`src/bin/spaces.rs`) and the quickstart (`src/bin/quickstart.rs`).
