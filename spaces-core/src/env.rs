//! What a running Space sees: its environment variables and the egress rule.
//!
//! [`AppEnvironment::for_space`] builds the environment of domain.md §6 — helper variables first
//! (`SPACE_ID`, `SPACE_AUTHOR_NAME`, `SPACE_REPO_NAME`, `SPACE_TITLE`, `SPACE_HOST`, `CPU_CORES`,
//! `MEMORY`, `ACCELERATOR`), `HF_HOME=/data/.huggingface` when persistent storage is attached and
//! the Space does not set `HF_HOME` itself, then the Space's variables, then its secrets. Secret
//! values stay [`Secret`]s here, so a runtime that logs an environment logs `***`.

use std::fmt;

use crate::hardware::HardwareSpec;
use crate::secret::Secret;
use crate::space::Space;

/// Where persistent storage is mounted inside a Space.
pub const DATA_DIR: &str = "/data";

/// `HF_HOME` when persistent storage is attached (unless the Space sets its own).
pub const HF_HOME_ON_STORAGE: &str = "/data/.huggingface";

/// Names the platform sets; a Space cannot set them as variables or secrets.
pub const RESERVED_NAMES: &[&str] = &[
    "SPACE_ID",
    "SPACE_AUTHOR_NAME",
    "SPACE_REPO_NAME",
    "SPACE_TITLE",
    "SPACE_HOST",
    "CPU_CORES",
    "MEMORY",
    "ACCELERATOR",
];

/// One variable's value: plain, or a secret that must not be shown.
#[derive(Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// A value that may be shown.
    Plain(String),
    /// A secret value (shown as `***`).
    Secret(Secret),
}

impl EnvValue {
    /// The value, to hand to the app's process. Never log it.
    pub fn expose(&self) -> &str {
        match self {
            EnvValue::Plain(s) => s,
            EnvValue::Secret(s) => s.expose(),
        }
    }

    /// Whether this is a secret.
    pub fn is_secret(&self) -> bool {
        matches!(self, EnvValue::Secret(_))
    }
}

impl fmt::Debug for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvValue::Plain(s) => write!(f, "{s:?}"),
            EnvValue::Secret(s) => write!(f, "{s:?}"),
        }
    }
}

/// The environment of a Space's app, in the order it is set.
///
/// ```
/// use spaces_core::{AppEnvironment, Catalog, Flavor, Sdk, Secret, Space, Visibility};
/// let now = "2026-11-01T00:00:00Z".parse().unwrap();
/// let mut space = Space::new("alice/i-like-flan".parse()?, Sdk::Gradio, Visibility::Public, now);
/// space.set_secret("HF_TOKEN", Secret::new("hf_xyz"), None, now)?;
/// let catalog = Catalog::seed();
/// let env = AppEnvironment::for_space(&space, catalog.flavor(&Flavor::T4Small));
/// assert_eq!(env.get("SPACE_HOST"), Some("alice-i-like-flan.hf.space"));
/// assert_eq!(env.get("MEMORY"), Some("15Gi"));
/// assert_eq!(env.get("ACCELERATOR"), Some("t4-small"));
/// assert!(!format!("{env:?}").contains("hf_xyz"));
/// # Ok::<(), spaces_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AppEnvironment {
    entries: Vec<(String, EnvValue)>,
}

impl AppEnvironment {
    /// The environment of `space` running on `hardware` (`None` for static Spaces or when the
    /// flavor is not in the catalog: the hardware variables are then left out).
    pub fn for_space(space: &Space, hardware: Option<&HardwareSpec>) -> Self {
        let id = space.id();
        let mut env = AppEnvironment::default();
        env.plain("SPACE_ID", id.as_str());
        env.plain("SPACE_AUTHOR_NAME", id.owner());
        env.plain("SPACE_REPO_NAME", id.name());
        env.plain("SPACE_TITLE", space.title().unwrap_or(id.name()));
        env.plain("SPACE_HOST", &id.host());
        if let Some(hw) = hardware {
            env.plain("CPU_CORES", &hw.vcpu.to_string());
            env.plain("MEMORY", &format!("{}Gi", hw.memory_gb));
            env.plain("ACCELERATOR", hw.accelerator());
        }
        let sets_hf_home = space.variables().keys().any(|k| k.as_str() == "HF_HOME")
            || space.secrets().keys().any(|k| k.as_str() == "HF_HOME");
        if space.lifecycle().storage().is_some() && !sets_hf_home {
            env.plain("HF_HOME", HF_HOME_ON_STORAGE);
        }
        for (name, value) in space.variables() {
            env.plain(name.as_str(), value);
        }
        for (name, entry) in space.secrets() {
            env.entries.push((
                name.as_str().to_owned(),
                EnvValue::Secret(entry.value.clone()),
            ));
        }
        env
    }

    fn plain(&mut self, name: &str, value: &str) {
        self.entries
            .push((name.to_owned(), EnvValue::Plain(value.to_owned())));
    }

    /// The value of `name`, if set. Secrets are returned too: do not log the result.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.expose())
    }

    /// Every entry, in order.
    pub fn entries(&self) -> &[(String, EnvValue)] {
        &self.entries
    }

    /// The values that are secrets (for a runtime that scrubs its own logs).
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|(_, v)| v.is_secret())
            .map(|(_, v)| v.expose())
    }
}

/// Outbound network rule of a Space: requests only to ports 80, 443 and 8080.
///
/// ```
/// use spaces_core::EgressRule;
/// let rule = EgressRule::SPACES;
/// assert!(rule.allows(443));
/// assert!(!rule.allows(22));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EgressRule {
    allowed_ports: &'static [u16],
}

impl EgressRule {
    /// The Spaces rule: ports 80, 443 and 8080.
    pub const SPACES: EgressRule = EgressRule {
        allowed_ports: &[80, 443, 8080],
    };

    /// Whether an outbound connection to `port` is allowed.
    pub fn allows(&self, port: u16) -> bool {
        self.allowed_ports.contains(&port)
    }

    /// The allowed destination ports.
    pub fn allowed_ports(&self) -> &'static [u16] {
        self.allowed_ports
    }
}

impl Default for EgressRule {
    fn default() -> Self {
        EgressRule::SPACES
    }
}
