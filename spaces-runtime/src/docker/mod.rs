//! The Docker backend (issue 6), behind the `docker` feature.
