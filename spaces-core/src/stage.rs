//! The stage of a Space, with the Hub's wire strings.

use std::fmt;
use std::str::FromStr;

macro_rules! stages {
    ($($variant:ident => $wire:literal : $doc:literal,)*) => {
        /// The stage of a Space (domain.md §4). Unknown wire strings from a server are kept in
        /// [`Stage::Unknown`], never mistaken for a known stage.
        ///
        /// ```
        /// use spaces_core::Stage;
        /// assert_eq!(Stage::from_wire("RUNNING"), Stage::Running);
        /// assert_eq!(Stage::RunningBuilding.as_str(), "RUNNING_BUILDING");
        /// assert_eq!(Stage::from_wire("HIBERNATING").as_str(), "HIBERNATING");
        /// assert!("HIBERNATING".parse::<Stage>().is_err());
        /// ```
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Stage {
            $(
                #[doc = $doc]
                $variant,
            )*
            /// A stage string this build does not know, kept as the server sent it.
            Unknown(String),
        }

        impl Stage {
            /// The 13 stages of domain.md §4, in wire order.
            pub const KNOWN: [Stage; 13] = [$(Stage::$variant,)*];

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Stage::$variant => $wire,)*
                    Stage::Unknown(s) => s,
                }
            }

            /// Reads a wire string from a server; never fails.
            pub fn from_wire(s: &str) -> Stage {
                match s {
                    $($wire => Stage::$variant,)*
                    other => Stage::Unknown(other.to_owned()),
                }
            }
        }
    };
}

stages! {
    NoAppFile => "NO_APP_FILE": "The repository has no app file.",
    ConfigError => "CONFIG_ERROR": "The configuration cannot be used by the platform.",
    Building => "BUILDING": "Building, nothing serving yet.",
    BuildError => "BUILD_ERROR": "The last build failed.",
    AppStarting => "APP_STARTING": "The app is starting; nothing serves yet.",
    Running => "RUNNING": "The app is healthy and serving.",
    RunningBuilding => "RUNNING_BUILDING": "A new revision builds while the old one keeps serving.",
    RunningAppStarting => "RUNNING_APP_STARTING": "A new revision starts while the old one keeps serving.",
    RuntimeError => "RUNTIME_ERROR": "The app crashed or did not become healthy in time.",
    Paused => "PAUSED": "Paused by the owner; only the owner's restart resumes it.",
    Sleeping => "SLEEPING": "Asleep after the idle timeout; the next visit wakes it.",
    Stopped => "STOPPED": "Stopped by the platform (e.g. suspended); needs a restart.",
    Deleting => "DELETING": "Being deleted.",
}

impl Stage {
    /// Whether hardware is billed in this stage (billing.md): `APP_STARTING`, `RUNNING`,
    /// `RUNNING_BUILDING`, `RUNNING_APP_STARTING`. Unknown stages are not billable.
    pub fn is_billable(&self) -> bool {
        matches!(
            self,
            Stage::AppStarting
                | Stage::Running
                | Stage::RunningBuilding
                | Stage::RunningAppStarting
        )
    }

    /// Whether an instance of the app is up (starting or serving) in this stage.
    pub fn has_instance(&self) -> bool {
        self.is_billable()
    }

    /// Whether an older revision keeps serving while a new one builds or starts.
    pub fn old_keeps_serving(&self) -> bool {
        matches!(self, Stage::RunningBuilding | Stage::RunningAppStarting)
    }

    /// Whether this is one of the 13 known stages.
    pub fn is_known(&self) -> bool {
        !matches!(self, Stage::Unknown(_))
    }
}

/// Error of [`Stage::from_str`]: the string is not one of the 13 known stages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage `{0}`: expected one of NO_APP_FILE, CONFIG_ERROR, BUILDING, BUILD_ERROR, APP_STARTING, RUNNING, RUNNING_BUILDING, RUNNING_APP_STARTING, RUNTIME_ERROR, PAUSED, SLEEPING, STOPPED, DELETING")]
pub struct UnknownStage(pub String);

/// Strict parsing, for input we validate (a usage log): unknown strings are errors. Use
/// [`Stage::from_wire`] for what a server sends.
impl FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, UnknownStage> {
        match Stage::from_wire(s) {
            Stage::Unknown(s) => Err(UnknownStage(s)),
            known => Ok(known),
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Stage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Stage::from_wire(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirteen_wire_strings_round_trip() {
        let wires: Vec<_> = Stage::KNOWN.iter().map(Stage::as_str).collect();
        assert_eq!(
            wires,
            [
                "NO_APP_FILE",
                "CONFIG_ERROR",
                "BUILDING",
                "BUILD_ERROR",
                "APP_STARTING",
                "RUNNING",
                "RUNNING_BUILDING",
                "RUNNING_APP_STARTING",
                "RUNTIME_ERROR",
                "PAUSED",
                "SLEEPING",
                "STOPPED",
                "DELETING"
            ]
        );
        for s in Stage::KNOWN {
            assert_eq!(Stage::from_wire(s.as_str()), s);
            assert_eq!(s.as_str().parse::<Stage>().unwrap(), s);
        }
    }

    #[test]
    fn billable_stages() {
        let billable: Vec<_> = Stage::KNOWN
            .iter()
            .filter(|s| s.is_billable())
            .map(Stage::as_str)
            .collect();
        assert_eq!(
            billable,
            [
                "APP_STARTING",
                "RUNNING",
                "RUNNING_BUILDING",
                "RUNNING_APP_STARTING"
            ]
        );
        assert!(!Stage::from_wire("NEW_THING").is_billable());
    }
}
