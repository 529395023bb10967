//! `KubernetesRuntime`: to be written.
