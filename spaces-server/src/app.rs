//! [`App`]: the state every route shares (the supervisor, the database, the registry, the
//! ledger, the catalog), and the few operations several routes need.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use spaces_core::{AppPath, Catalog, Revision, SpaceId};
use spaces_runtime::supervisor::{PushSettings, SpaceStatus, Supervisor};

use crate::db::Db;
use crate::error::ApiError;
use crate::limits::{Limits, RateLimiter};
use crate::meta::Registry;
use crate::sink::LedgerSink;

/// How long a runtime call waits for the supervisor's work before answering with the current
/// runtime (the Hub answers at once, with an intermediate stage).
const QUICK: Duration = Duration::from_millis(300);

/// The shared state of the routes. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    inner: Arc<Inner>,
}

/// What [`App`] holds.
#[derive(Debug)]
pub struct Inner {
    /// The supervisor.
    pub sup: Supervisor,
    /// The server's tables.
    pub db: Arc<Db>,
    /// Every Space, for listing and access checks.
    pub registry: Registry,
    /// The usage ledger.
    pub ledger: Arc<LedgerSink>,
    /// The catalog.
    pub catalog: Catalog,
    /// The data folder.
    pub data: PathBuf,
    /// Limits.
    pub limits: Limits,
    /// The per-key rate limiter.
    pub limiter: RateLimiter,
    /// The domain Space hosts are written under; the request's host name when `None`.
    pub spaces_domain: Option<String>,
    /// Spaces whose files the server is pushing and the supervisor has not committed yet.
    pub pushing: Mutex<HashSet<SpaceId>>,
    /// Held while a Space's metadata is read, changed and saved.
    pub meta_lock: Mutex<()>,
    /// The CAS tokens of Xet uploads.
    pub xet: crate::xet::Grants,
    /// The front door: Space hosts, the reverse proxy, wakes.
    pub front: crate::frontdoor::FrontState,
    /// The clock (the dashboard's current month).
    pub clock: Arc<dyn spaces_core::Clock>,
}

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl App {
    pub(crate) fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The supervisor's status of a Space, 404 when it is gone.
    pub fn status(&self, id: &SpaceId) -> Result<SpaceStatus, ApiError> {
        self.sup
            .status(id)
            .map_err(|_| ApiError::RepoNotFound { id: id.to_string() })
    }

    /// Whether the server's push of the Space's files is under way.
    pub fn is_pushing(&self, id: &SpaceId) -> bool {
        self.pushing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    /// Pushes the server's copy of a Space's files (`repos/<owner>/<name>`) as revision `sha`,
    /// in the background: the call returns at once, and the runtime reports `BUILDING` until the
    /// supervisor has committed the push.
    pub fn spawn_push(
        &self,
        id: SpaceId,
        sha: &str,
        app_file: Option<AppPath>,
        app_port: Option<u16>,
        title: Option<String>,
    ) {
        let revision = match Revision::new(sha) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(space = %id, error = %e, "bad revision id");
                return;
            }
        };
        self.pushing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
        let app = self.clone();
        tokio::spawn(async move {
            let dir = crate::repo::repo_dir(&app.data, &id);
            let settings = PushSettings {
                app_file,
                app_port,
                title,
                config_error: None,
            };
            let result = app.sup.push(&id, &dir, revision, settings).await;
            app.pushing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            match result {
                Ok(s) => tracing::info!(space = %id, stage = %s.stage, "pushed"),
                Err(e) => tracing::warn!(space = %id, error = %e, "push failed"),
            }
        });
    }

    /// Wakes the Spaces that served before the server stopped (the supervisor opens them asleep):
    /// each visit is committed here (the Space is `APP_STARTING` from now on) and its start runs
    /// in the background; then waits up to `wait` for them to serve.
    pub(crate) async fn wake(&self, ids: std::collections::BTreeSet<SpaceId>, wait: Duration) {
        let mut woken = Vec::new();
        for id in ids {
            if !matches!(self.sup.status(&id), Ok(s) if s.stage == spaces_core::Stage::Sleeping) {
                continue;
            }
            let (sup, id2) = (self.sup.clone(), id.clone());
            let mut fut = Box::pin(async move { sup.visit(&id2).await });
            let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
            if first.is_pending() {
                tokio::spawn(fut);
            }
            woken.push(id);
        }
        if woken.is_empty() {
            return;
        }
        tracing::info!(
            spaces = woken.len(),
            "starting the Spaces that served before the last stop"
        );
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            let starting = woken.iter().any(|id| {
                self.sup.status(id).is_ok_and(|s| {
                    matches!(
                        s.stage,
                        spaces_core::Stage::AppStarting | spaces_core::Stage::RunningAppStarting
                    )
                })
            });
            if !starting {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs a supervisor operation the way the Hub answers runtime calls: the event is applied
    /// and committed (or refused) at the first poll, which happens here; the work that follows
    /// (stop, build, start, health) goes on in a task of its own. Returns the outcome when it
    /// came within a moment, `Ok(None)` when the work goes on (read the status then).
    pub async fn drive<F>(&self, fut: F) -> Result<Option<SpaceStatus>, ApiError>
    where
        F: Future<Output = Result<SpaceStatus, spaces_runtime::Error>> + Send + 'static,
    {
        let mut fut: Pin<Box<F>> = Box::pin(fut);
        let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        if let Poll::Ready(result) = first {
            return outcome(result);
        }
        let handle = tokio::spawn(fut);
        match tokio::time::timeout(QUICK, handle).await {
            Ok(Ok(result)) => outcome(result),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "a supervisor task failed");
                Ok(None)
            }
            Err(_) => Ok(None),
        }
    }
}

/// A refusal (or a missing Space) is the caller's error; a failure of the work that followed
/// an accepted event (a build, a start, a crash) is the Space's, and the runtime reports it
/// (`errorMessage`), as on the Hub.
fn outcome(
    result: Result<SpaceStatus, spaces_runtime::Error>,
) -> Result<Option<SpaceStatus>, ApiError> {
    use spaces_runtime::Error as E;
    match result {
        Ok(s) => Ok(Some(s)),
        Err(e @ (E::Refused(_) | E::NotFound { .. } | E::Conflict { .. })) => Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "the work after an accepted event failed");
            Ok(None)
        }
    }
}

/// Where the request came in: the URL base for `url` fields (`http://<Host>`) and the domain
/// Space hosts are written under.
#[derive(Clone, Debug)]
pub struct Origin {
    /// `http://host[:port]`, from the `Host` header (`https` when `X-Forwarded-Proto` says so).
    pub base: String,
    /// The domain for `<subdomain>.<domain>`.
    pub domain: String,
}

impl FromRequestParts<App> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "localhost".to_owned());
        let scheme = match parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
        {
            Some("https") => "https",
            _ => "http",
        };
        let domain = app
            .spaces_domain
            .clone()
            .unwrap_or_else(|| host_name(&host));
        Ok(Origin {
            base: format!("{scheme}://{host}"),
            domain,
        })
    }
}

/// The host name of a `Host` header (no port; IPv6 brackets kept).
fn host_name(host: &str) -> String {
    if host.starts_with('[') {
        return host
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default();
    }
    host.split(':').next().unwrap_or(host).to_owned()
}

impl Origin {
    /// The Hub URL of a Space: `<base>/spaces/<owner>/<name>`.
    pub fn space_url(&self, id: &SpaceId) -> String {
        format!("{}/spaces/{}", self.base, id)
    }
}
