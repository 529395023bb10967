//! The `SpaceRuntime` object: what every runtime-returning call answers.
//!
//! `{stage, hardware: {current, requested, currentPrettyName?, requestedPrettyName?},
//! gcTimeout, storage, devMode: false, replicas: {requested: 1, current?}, domains: [{domain,
//! stage: "READY"}], sdk, errorMessage?}`. `gcTimeout` is always present: the sleep time in
//! seconds, `null` when the Space never sleeps (and for static Spaces, which have no hardware).

use serde_json::{json, Value};
use spaces_core::{Catalog, Flavor, Sdk, Stage};
use spaces_runtime::supervisor::SpaceStatus;

/// How the Space's public host is written: `<subdomain>.<domain>`, the subdomain as the front
/// door assigned it (`crate::frontdoor::hosts`: two Spaces never share one).
pub fn space_domain(subdomain: &str, domain: &str) -> String {
    format!("{subdomain}.{domain}")
}

/// The runtime object. `pushing`: the server's first push of the Space's files has not been
/// committed yet (it is reported as `BUILDING`, as the Hub reports a new Space). `host`: the
/// Space's host ([`space_domain`]).
pub fn runtime_json(status: &SpaceStatus, catalog: &Catalog, host: &str, pushing: bool) -> Value {
    let is_static = status.sdk == Sdk::Static;
    let stage = if pushing && status.stage == Stage::NoAppFile {
        "BUILDING"
    } else {
        status.stage.as_str()
    };
    let pretty = |f: &Flavor| catalog.flavor(f).map(|s| s.name.clone());
    let mut hardware = json!({
        "current": if is_static { None } else { status.current_hardware.as_ref().map(Flavor::as_str) },
        "requested": if is_static { None } else { status.requested_hardware.as_ref().map(Flavor::as_str) },
    });
    if !is_static {
        if let Some(name) = status.current_hardware.as_ref().and_then(pretty) {
            hardware["currentPrettyName"] = Value::String(name);
        }
        if let Some(name) = status.requested_hardware.as_ref().and_then(pretty) {
            hardware["requestedPrettyName"] = Value::String(name);
        }
    }
    let gc_timeout = if is_static {
        Value::Null
    } else {
        status
            .sleep_time
            .map(|d| Value::from(d.as_secs()))
            .unwrap_or(Value::Null)
    };
    let mut replicas = json!({"requested": 1});
    if status.address.is_some() {
        replicas["current"] = Value::from(1);
    }
    let mut out = json!({
        "stage": stage,
        "hardware": hardware,
        "gcTimeout": gc_timeout,
        "storage": status.storage.map(|t| t.as_str()),
        "devMode": false,
        "replicas": replicas,
        "domains": [{"domain": host, "stage": "READY"}],
        "sdk": status.sdk.as_str(),
    });
    if let Some(message) = error_message(status) {
        out["errorMessage"] = Value::String(message);
    }
    if let Some(rev) = &status.revision {
        // The commit the supervisor last took (what builds or serves).
        out["sha"] = Value::String(rev.as_str().to_owned());
    }
    out
}

/// Why the Space does not run, when it does not: the build's error in `BUILD_ERROR` (the
/// README's line-precise problem in `CONFIG_ERROR`), else the runtime's (a crash, a timeout,
/// hardware no backend here can give).
pub fn error_message(status: &SpaceStatus) -> Option<String> {
    if matches!(status.stage, Stage::BuildError | Stage::ConfigError) {
        if let Some(e) = &status.build_error {
            return Some(e.clone());
        }
    }
    status.runtime_error.clone().or_else(|| {
        (matches!(status.stage, Stage::BuildError)).then(|| "the build failed".to_owned())
    })
}
