//! The app SDKs a Space can use, and its visibility.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The port an app listens on unless its config says otherwise.
pub const DEFAULT_APP_PORT: u16 = 7860;

/// How a Space's app is built and served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Sdk {
    /// A Gradio app (`app.py`).
    Gradio,
    /// A Streamlit app (`app.py`). Deprecated on the Hub but still accepted.
    Streamlit,
    /// Any app in a container built from the repo's `Dockerfile`.
    Docker,
    /// Static HTML (`index.html`), served without hardware.
    Static,
}

impl Sdk {
    /// Every SDK, in wire order.
    pub const ALL: [Sdk; 4] = [Sdk::Gradio, Sdk::Streamlit, Sdk::Docker, Sdk::Static];

    /// The wire string (`gradio`, `streamlit`, `docker`, `static`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Sdk::Gradio => "gradio",
            Sdk::Streamlit => "streamlit",
            Sdk::Docker => "docker",
            Sdk::Static => "static",
        }
    }

    /// The app file used when the config names none. Docker Spaces have a `Dockerfile` instead.
    pub const fn default_app_file(self) -> &'static str {
        match self {
            Sdk::Gradio | Sdk::Streamlit => "app.py",
            Sdk::Docker => "Dockerfile",
            Sdk::Static => "index.html",
        }
    }

    /// The port the app listens on by default (7860 for every SDK; Docker Spaces may set `app_port`).
    pub const fn default_port(self) -> u16 {
        DEFAULT_APP_PORT
    }

    /// Streamlit is deprecated on the Hub: accepted, with a warning.
    pub const fn is_deprecated(self) -> bool {
        matches!(self, Sdk::Streamlit)
    }

    /// Whether the Space has a runtime at all (hardware, pause, restart, sleep). Static Spaces do not.
    pub const fn has_runtime(self) -> bool {
        !matches!(self, Sdk::Static)
    }
}

impl fmt::Display for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sdk {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Sdk::ALL
            .into_iter()
            .find(|sdk| sdk.as_str() == s)
            .ok_or_else(|| Error::UnknownSdk {
                input: s.to_owned(),
            })
    }
}

/// Who can see a Space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Visibility {
    /// Anyone can see and use it.
    #[default]
    Public,
    /// Only the owner (and their organisation) can see it.
    Private,
    /// The app is reachable by anyone, the repository is private.
    Protected,
}

impl Visibility {
    /// Every visibility, in wire order.
    pub const ALL: [Visibility; 3] = [
        Visibility::Public,
        Visibility::Private,
        Visibility::Protected,
    ];

    /// The wire string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
            Visibility::Protected => "protected",
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Visibility {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Visibility::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| Error::UnknownVisibility {
                input: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_round_trips_and_defaults() {
        for sdk in Sdk::ALL {
            assert_eq!(sdk.as_str().parse::<Sdk>().unwrap(), sdk);
            assert_eq!(sdk.default_port(), 7860);
        }
        assert_eq!(Sdk::Gradio.default_app_file(), "app.py");
        assert_eq!(Sdk::Static.default_app_file(), "index.html");
        assert!(Sdk::Streamlit.is_deprecated());
        assert!(!Sdk::Static.has_runtime());
        assert!(matches!(
            "flask".parse::<Sdk>(),
            Err(Error::UnknownSdk { .. })
        ));
    }

    #[test]
    fn visibility_round_trips() {
        for v in Visibility::ALL {
            assert_eq!(v.as_str().parse::<Visibility>().unwrap(), v);
        }
        assert!("secret".parse::<Visibility>().is_err());
    }
}
