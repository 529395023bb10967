//! The `spaces` Kubernetes scheduler: to be written.
