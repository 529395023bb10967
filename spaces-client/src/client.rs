//! [`Client`] and [`ClientBuilder`]: endpoint, token, user agent, timeouts, retries; and
//! [`ClientBuilder::from_env`], the one place this crate reads the environment.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::retry::RetryPolicy;

/// The Hub's own endpoint, used when none is given.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// An access token. `Debug` and `Display` never show it; it is only written into the
/// `authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token, stripped of whitespace and CR/LF as the official client does; `None` when that
    /// leaves nothing (an empty token counts as no token).
    pub fn new(value: &str) -> Option<Token> {
        let t: String = value
            .trim()
            .chars()
            .filter(|c| *c != '\r' && *c != '\n')
            .collect();
        (!t.is_empty()).then_some(Token(t))
    }

    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A client of the Hub's Spaces API. Cheap to clone (an `Arc` inside); share one per endpoint.
///
/// Built with [`Client::builder`] or [`ClientBuilder::from_env`]. The calls are grouped by
/// concept: runtime and controls ([`Client::runtime`], [`Client::request_hardware`], ...),
/// repositories ([`Client::create`], [`Client::duplicate`], [`Client::delete`]), listing
/// ([`Client::list`]), settings ([`Client::add_secret`], [`Client::variables`], ...), logs
/// ([`Client::logs`]), waiting ([`Client::wait_for`]) and files ([`Client::upload_folder`],
/// [`Client::create_commit`]).
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// Without a trailing `/`.
    pub(crate) endpoint: String,
    pub(crate) token: Option<Token>,
    pub(crate) user_agent: String,
    pub(crate) retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("token", &self.inner.token)
            .field("user_agent", &self.inner.user_agent)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

impl Client {
    /// A builder with the defaults: [`DEFAULT_ENDPOINT`], no token, 3 retries.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The builder of [`ClientBuilder::from_env`], built.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env().build()
    }

    /// The endpoint, without a trailing `/`.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// Whether requests carry a token.
    pub fn has_token(&self) -> bool {
        self.inner.token.is_some()
    }
}

/// Configures a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    endpoint: String,
    token: Option<Token>,
    user_agent: String,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            token: None,
            user_agent: format!("spaces-client/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Some(Duration::from_secs(10)),
            timeout: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientBuilder {
    /// A builder configured like the official client from the process environment:
    /// `HF_ENDPOINT` (trailing `/` stripped), and the token from `HF_TOKEN`, then
    /// `HUGGING_FACE_HUB_TOKEN`, then the file at `HF_TOKEN_PATH` (default `$HF_HOME/token`,
    /// `HF_HOME` defaulting to `~/.cache/huggingface`). `HF_HUB_DISABLE_IMPLICIT_TOKEN` turns
    /// the token lookup off. Nothing else in this crate reads the environment.
    pub fn from_env() -> ClientBuilder {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// [`ClientBuilder::from_env`] over any variable lookup (tests, configuration files).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> ClientBuilder {
        let mut b = ClientBuilder::default();
        if let Some(e) = var("HF_ENDPOINT").filter(|e| !e.trim().is_empty()) {
            b = b.endpoint(e.trim());
        }
        let disabled = var("HF_HUB_DISABLE_IMPLICIT_TOKEN").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        });
        if !disabled {
            b.token = token_from_vars(&var);
        }
        b
    }

    /// The Hub's base URL (`https://huggingface.co`, `http://127.0.0.1:8080`); a trailing `/`
    /// is stripped.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        let e: String = endpoint.into();
        self.endpoint = e.trim_end_matches('/').to_owned();
        self
    }

    /// The token sent as `authorization: Bearer ...`; an empty one means none.
    pub fn token(mut self, token: impl AsRef<str>) -> Self {
        self.token = Token::new(token.as_ref());
        self
    }

    /// Sends no token.
    pub fn no_token(mut self) -> Self {
        self.token = None;
        self
    }

    /// The `User-Agent` (default `spaces-client/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = Some(t);
        self
    }

    /// How long a whole request may take (none by default, like the official client: uploads
    /// and log streams are long). Log streams use their own read timeouts.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// How many times an idempotent call is retried on 429, 5xx and connection errors
    /// (default 3; 0 turns retries off).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// The first backoff delay (default 500 ms; doubled each retry up to 8 s, with full
    /// jitter; a `Retry-After` from the server wins).
    pub fn retry_base_delay(mut self, d: Duration) -> Self {
        self.retry.base = d;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let parsed = url::Url::parse(&self.endpoint)
            .map_err(|e| Error::Config(format!("endpoint `{}`: {e}", self.endpoint)))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "endpoint `{}`: the scheme must be http or https",
                self.endpoint
            )));
        }
        let mut http = reqwest::Client::builder().user_agent(self.user_agent.clone());
        if let Some(t) = self.connect_timeout {
            http = http.connect_timeout(t);
        }
        if let Some(t) = self.timeout {
            http = http.timeout(t);
        }
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                endpoint: self.endpoint,
                token: self.token,
                user_agent: self.user_agent,
                retry: self.retry,
            }),
        })
    }
}

fn token_from_vars(var: &impl Fn(&str) -> Option<String>) -> Option<Token> {
    for name in ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"] {
        if let Some(t) = var(name).as_deref().and_then(Token::new) {
            return Some(t);
        }
    }
    let path = match var("HF_TOKEN_PATH").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            let home = match var("HF_HOME").filter(|p| !p.is_empty()) {
                Some(h) => PathBuf::from(h),
                None => {
                    let user_home = var("HOME")?;
                    let cache = var("XDG_CACHE_HOME")
                        .filter(|p| !p.is_empty())
                        .map(PathBuf::from)
                        .unwrap_or_else(|| PathBuf::from(user_home).join(".cache"));
                    cache.join("huggingface")
                }
            };
            home.join("token")
        }
    };
    std::fs::read_to_string(path)
        .ok()
        .as_deref()
        .and_then(Token::new)
}
