//! [`SpaceConfig`]: a Space's front matter, typed and valid.

use spaces_core::{AppPath, Flavor, Sdk, SpaceId, StorageTier};
use url::Url;

use crate::oauth::DEFAULT_OAUTH_EXPIRATION_MINUTES;
use crate::{
    Color, CustomHeaders, Header, OAuthScope, PreloadItem, PythonVersion, RepoId, SdkVersion,
    StartupTimeout, Value,
};

/// Every key of the configuration reference, in the reference's order.
pub const KNOWN_KEYS: &[&str] = &[
    "title",
    "emoji",
    "colorFrom",
    "colorTo",
    "sdk",
    "sdk_version",
    "python_version",
    "app_file",
    "app_port",
    "base_path",
    "fullWidth",
    "header",
    "short_description",
    "models",
    "datasets",
    "tags",
    "thumbnail",
    "pinned",
    "license",
    "duplicated_from",
    "hf_oauth",
    "hf_oauth_scopes",
    "hf_oauth_expiration_minutes",
    "hf_oauth_authorized_org",
    "disable_embedding",
    "startup_duration_timeout",
    "custom_headers",
    "preload_from_hub",
    "suggested_hardware",
    "suggested_storage",
];

/// The longest `short_description` the Hub accepts, in characters.
pub const MAX_SHORT_DESCRIPTION: usize = 60;

/// A Space's configuration, as its README front matter sets it. Holding one means it is valid:
/// the only way to get one from text is [`check_readme`](crate::check_readme) (or
/// [`parse_readme`](crate::parse_readme)) without errors.
///
/// `Option` fields are `None` when the key is not written; the accessors without a field name
/// (such as [`SpaceConfig::app_port`]) give the value in force, defaults included. Lists are empty
/// when not written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceConfig {
    /// `title`.
    pub title: Option<String>,
    /// `emoji`.
    pub emoji: Option<String>,
    /// `colorFrom`.
    pub color_from: Option<Color>,
    /// `colorTo`.
    pub color_to: Option<Color>,
    /// `sdk` (required).
    pub sdk: Sdk,
    /// `sdk_version`, as written (meaningful for gradio and streamlit).
    pub sdk_version: Option<SdkVersion>,
    /// `python_version`.
    pub python_version: Option<PythonVersion>,
    /// `app_file`, relative to the repository root; an [`AppPath`] cannot point outside it.
    pub app_file: Option<AppPath>,
    /// `app_port` (meaningful for docker).
    pub app_port: Option<u16>,
    /// `base_path`, starting with `/`.
    pub base_path: Option<String>,
    /// `fullWidth`.
    pub full_width: Option<bool>,
    /// `header`.
    pub header: Option<Header>,
    /// `short_description`, at most [`MAX_SHORT_DESCRIPTION`] characters.
    pub short_description: Option<String>,
    /// `models`.
    pub models: Vec<RepoId>,
    /// `datasets`.
    pub datasets: Vec<RepoId>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `thumbnail`.
    pub thumbnail: Option<Url>,
    /// `pinned`.
    pub pinned: Option<bool>,
    /// `license` (any id; one outside [`HUB_LICENSES`](crate::HUB_LICENSES) gives a warning).
    pub license: Option<String>,
    /// `duplicated_from`.
    pub duplicated_from: Option<SpaceId>,
    /// `hf_oauth`.
    pub hf_oauth: Option<bool>,
    /// `hf_oauth_scopes`.
    pub hf_oauth_scopes: Vec<OAuthScope>,
    /// `hf_oauth_expiration_minutes`, 1 to 43200.
    pub hf_oauth_expiration_minutes: Option<u32>,
    /// `hf_oauth_authorized_org` (a string or a list in the file).
    pub hf_oauth_authorized_org: Vec<String>,
    /// `disable_embedding`.
    pub disable_embedding: Option<bool>,
    /// `startup_duration_timeout`.
    pub startup_duration_timeout: Option<StartupTimeout>,
    /// `custom_headers`.
    pub custom_headers: CustomHeaders,
    /// `preload_from_hub`.
    pub preload_from_hub: Vec<PreloadItem>,
    /// `suggested_hardware`: a flavor this build knows.
    pub suggested_hardware: Option<Flavor>,
    /// `suggested_storage`.
    pub suggested_storage: Option<StorageTier>,
    /// Keys outside the reference, kept as written, in written order.
    pub extra: Vec<(String, Value)>,
}

impl SpaceConfig {
    /// A config with only the SDK set.
    ///
    /// ```
    /// use spaces_config::SpaceConfig;
    /// use spaces_core::Sdk;
    /// let c = SpaceConfig::new(Sdk::Docker);
    /// assert_eq!(c.app_port(), 7860);
    /// assert_eq!(c.app_file().as_str(), "Dockerfile");
    /// ```
    pub fn new(sdk: Sdk) -> SpaceConfig {
        SpaceConfig {
            title: None,
            emoji: None,
            color_from: None,
            color_to: None,
            sdk,
            sdk_version: None,
            python_version: None,
            app_file: None,
            app_port: None,
            base_path: None,
            full_width: None,
            header: None,
            short_description: None,
            models: Vec::new(),
            datasets: Vec::new(),
            tags: Vec::new(),
            thumbnail: None,
            pinned: None,
            license: None,
            duplicated_from: None,
            hf_oauth: None,
            hf_oauth_scopes: Vec::new(),
            hf_oauth_expiration_minutes: None,
            hf_oauth_authorized_org: Vec::new(),
            disable_embedding: None,
            startup_duration_timeout: None,
            custom_headers: CustomHeaders::default(),
            preload_from_hub: Vec::new(),
            suggested_hardware: None,
            suggested_storage: None,
            extra: Vec::new(),
        }
    }

    /// The port the app listens on: `app_port`, else the SDK's default (7860).
    pub fn app_port(&self) -> u16 {
        self.app_port.unwrap_or(self.sdk.default_port())
    }

    /// The app file in force: `app_file`, else the SDK's default (`app.py`, `index.html`,
    /// `Dockerfile`).
    pub fn app_file(&self) -> AppPath {
        self.app_file
            .clone()
            .unwrap_or_else(|| self.sdk.default_app_path())
    }

    /// The Python version: `python_version`, else 3.10.
    pub fn python_version(&self) -> PythonVersion {
        self.python_version.unwrap_or(PythonVersion::DEFAULT)
    }

    /// The startup timeout: `startup_duration_timeout`, else 30 minutes.
    pub fn startup_timeout(&self) -> StartupTimeout {
        self.startup_duration_timeout
            .unwrap_or(StartupTimeout::DEFAULT)
    }

    /// OAuth token lifetime in minutes: `hf_oauth_expiration_minutes`, else 480.
    pub fn oauth_expiration_minutes(&self) -> u32 {
        self.hf_oauth_expiration_minutes
            .unwrap_or(DEFAULT_OAUTH_EXPIRATION_MINUTES)
    }

    /// The header style: `header`, else `default`.
    pub fn header(&self) -> Header {
        self.header.unwrap_or(Header::Default)
    }
}
