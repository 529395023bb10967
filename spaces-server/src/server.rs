//! [`ServerBuilder`] and [`Server`]: open a data folder, reconcile, serve, shut down.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spaces_core::{AppPath, Catalog, Clock, SpaceId, SystemClock};
use spaces_runtime::supervisor::Supervisor;
use spaces_runtime::{LocalRuntime, Runtime, SdkRouter};

use crate::app::{App, Inner};
use crate::connections::per_core::CoreListeners;
use crate::db::Db;
use crate::error::Error;
use crate::limits::{Limits, RateLimiter};
use crate::meta::Registry;
use crate::sink::LedgerSink;

/// Opens a [`Server`] over a data folder.
#[derive(Debug)]
pub struct ServerBuilder {
    data: PathBuf,
    catalog: Catalog,
    docker: bool,
    runtime: Option<Arc<dyn Runtime>>,
    clock: Option<Arc<dyn Clock>>,
    limits: Limits,
    spaces_domain: Option<String>,
    tick: Duration,
    wake_wait: Duration,
    front_door: crate::frontdoor::FrontDoorConfig,
}

fn db_clear_wake(db: &Db) {
    if let Err(e) = db.set_wake(&[]) {
        tracing::warn!(error = %e, "could not clear the wake list");
    }
}

impl ServerBuilder {
    /// A builder over `data` (created if needed), with the seed catalog, the local runtime only,
    /// the default [`Limits`] and a tick every second.
    pub fn new(data: impl Into<PathBuf>) -> Self {
        Self {
            data: data.into(),
            catalog: Catalog::seed(),
            docker: false,
            runtime: None,
            clock: None,
            limits: Limits::default(),
            spaces_domain: None,
            tick: Duration::from_secs(1),
            wake_wait: Duration::ZERO,
            front_door: crate::frontdoor::FrontDoorConfig::default(),
        }
    }

    /// The front door's settings (wake queue and timeouts, proxy timeouts).
    pub fn front_door(mut self, config: crate::frontdoor::FrontDoorConfig) -> Self {
        self.front_door = config;
        self
    }

    /// How long [`ServerBuilder::build`] waits for the Spaces that served before the last stop
    /// (or crash) to serve again (none by default: they are `APP_STARTING` when the server
    /// starts listening, and go on starting in the background).
    pub fn wake_wait(mut self, wait: Duration) -> Self {
        self.wake_wait = wait;
        self
    }

    /// The catalog of flavors and storage tiers offered (and priced).
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// Runs Docker Spaces on the Docker engine (`DOCKER_HOST` or the default socket). Without
    /// it, Docker Spaces do not build and their runtime's `errorMessage` says why.
    pub fn docker(mut self, on: bool) -> Self {
        self.docker = on;
        self
    }

    /// Runs every Space on this runtime instead (tests, other backends).
    pub fn runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// The supervisor's clock (tests); the system clock by default.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Body size, timeout and rate limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The domain Space hosts are written under (`<owner>-<name>.<domain>`); by default the
    /// host name the request was sent to. When set, [`Server::router`] puts the front door in
    /// front of the API: requests for `<subdomain>.<domain>` go to the Space's app.
    pub fn spaces_domain(mut self, domain: impl Into<String>) -> Self {
        self.spaces_domain = Some(domain.into());
        self
    }

    /// How often the supervisor ticks (idle timers, crashed apps, usage delivery).
    pub fn tick(mut self, every: Duration) -> Self {
        self.tick = every;
        self
    }

    /// Opens everything: the database, the ledger, the runtime and the supervisor (which stops
    /// what a crashed server left running and resumes interrupted work); reconciles the
    /// server's metadata with the supervisor's Spaces and pushes again the files of a create
    /// that a crash interrupted; starts the ticker. Must run inside a tokio runtime.
    pub async fn build(self) -> Result<Server, Error> {
        let data = self.data;
        std::fs::create_dir_all(&data).map_err(|source| Error::Io {
            context: format!("creating {}", data.display()),
            source,
        })?;
        let db = Arc::new(Db::open(&data)?);
        let ledger = Arc::new(LedgerSink::open(&data.join("ledger.sqlite"))?);
        // What served before this start: after a crash, the ledger's last stages; after a clean
        // stop, the list the server wrote. The supervisor opens them asleep; they are woken.
        let mut wake: std::collections::BTreeSet<SpaceId> = ledger.serving_spaces()?;
        wake.extend(db.wake_list()?.iter().filter_map(|id| id.parse().ok()));
        let runtime = match self.runtime {
            Some(r) => r,
            None => default_runtime(&data, self.docker).await?,
        };
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let sup = Supervisor::open(
            &data.join("state"),
            runtime,
            Arc::clone(&clock),
            self.catalog.clone(),
            Arc::clone(&ledger) as Arc<dyn spaces_runtime::supervisor::UsageSink>,
        )
        .await?;
        let registry = Registry::default();
        let (db2, sup2) = (Arc::clone(&db), sup.clone());
        let (registry, unpushed) = tokio::task::spawn_blocking(move || {
            let unpushed = registry.reconcile(&db2, sup2.list())?;
            Ok::<_, Error>((registry, unpushed))
        })
        .await
        .map_err(|e| Error::Io {
            context: "reconciling metadata".into(),
            source: std::io::Error::other(e),
        })??;
        let app = App::new(Inner {
            sup: sup.clone(),
            db,
            registry,
            ledger,
            catalog: self.catalog,
            data: data.clone(),
            limiter: RateLimiter::new(&self.limits),
            limits: self.limits,
            spaces_domain: self.spaces_domain,
            pushing: Mutex::new(Default::default()),
            meta_lock: Mutex::new(()),
            xet: Default::default(),
            front: crate::frontdoor::FrontState::new(sup.clone(), self.front_door),
            clock,
        });
        // Every Space's host, in creation order (see `frontdoor::hosts`).
        let all: Vec<(SpaceId, spaces_core::Timestamp)> = app
            .registry
            .read()
            .iter()
            .map(|(id, e)| (id.clone(), e.created_at))
            .collect();
        app.front.hosts.assign_all(all);
        // Spaces made before repositories existed: their repository from the server's copy (a
        // Space without one, as `seed` makes them, gets none).
        let missing: Vec<SpaceId> = app
            .sup
            .list()
            .into_iter()
            .map(|s| s.id)
            .filter(|id| {
                !crate::git::repo_path(&data, id).is_dir()
                    && crate::repo::repo_dir(&data, id).is_dir()
            })
            .collect();
        if !missing.is_empty() {
            let data2 = data.clone();
            let made = tokio::task::spawn_blocking(move || {
                for id in missing {
                    let files = crate::repo::read_dir(&crate::repo::repo_dir(&data2, &id))
                        .unwrap_or_default();
                    let repo = crate::git::repo_path(&data2, &id);
                    if let Err(e) = crate::git::init(&repo, &files, "initial commit") {
                        tracing::warn!(space = %id, error = %e, "could not make the Space's repository");
                    }
                }
            })
            .await;
            if let Err(e) = made {
                tracing::warn!(error = %e, "making the missing repositories failed");
            }
        }
        for id in unpushed {
            let Some(entry) = app.registry.get(&id) else {
                continue;
            };
            let meta = entry.meta(&id);
            let repo = crate::git::repo_path(&data, &id);
            if let Ok(Some(head)) = crate::git::head(&repo) {
                tracing::info!(space = %id, "building again the head of an interrupted push");
                app.spawn_build(id.clone(), head);
            } else if let Some(sha) = &meta.sha {
                if crate::repo::repo_dir(&data, &id).is_dir() {
                    tracing::info!(space = %id, "pushing again the files of an interrupted create");
                    let app_file = meta.app_file.as_deref().and_then(|f| AppPath::new(f).ok());
                    let title = meta
                        .card_data
                        .get("title")
                        .and_then(|t| t.as_str())
                        .map(str::to_owned);
                    app.spawn_push(id.clone(), sha, app_file, meta.app_port, title);
                }
            }
        }
        app.wake(wake, self.wake_wait).await;
        db_clear_wake(&app.db);
        let ticker = sup.spawn_ticker(self.tick);
        Ok(Server {
            app,
            ticker: Some(ticker),
        })
    }
}

async fn default_runtime(data: &Path, docker: bool) -> Result<Arc<dyn Runtime>, Error> {
    let local = Arc::new(LocalRuntime::new(data.join("runtime"))?);
    let docker_backend: Option<Arc<dyn Runtime>> = if docker {
        docker_runtime().await?
    } else {
        None
    };
    Ok(Arc::new(SdkRouter::new(local, docker_backend)))
}

#[cfg(feature = "docker")]
async fn docker_runtime() -> Result<Option<Arc<dyn Runtime>>, Error> {
    use spaces_runtime::docker::{DockerConfig, DockerRuntime};
    let d = DockerRuntime::connect(DockerConfig::default()).await?;
    Ok(Some(Arc::new(d)))
}

#[cfg(not(feature = "docker"))]
async fn docker_runtime() -> Result<Option<Arc<dyn Runtime>>, Error> {
    Err(Error::Runtime(spaces_runtime::Error::Unsupported {
        backend: "spaces-server",
        what: "Docker (this build has no `docker` feature)".into(),
    }))
}

/// A running control plane: the router, the supervisor and its ticker.
#[derive(Debug)]
pub struct Server {
    app: App,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// The HTTP API as an [`axum::Router`] (state applied, every layer on): serve it, or nest it
    /// in another service. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
    /// so anonymous callers are rate-limited by address.
    pub fn router(&self) -> axum::Router {
        crate::routes::router(self.app.clone())
    }

    /// The front door (Space traffic by host) under `domain`, to mount on a listener of its
    /// own; [`Server::router`] already includes it when a domain was set.
    pub fn front_door(&self, domain: &str) -> crate::frontdoor::FrontDoor {
        crate::frontdoor::FrontDoor::new(self.app.clone(), domain.to_owned())
    }

    /// The shared state (supervisor, database, registry).
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The supervisor.
    pub fn supervisor(&self) -> &Supervisor {
        &self.app.sup
    }

    /// The server's tables (users, tokens, metadata).
    pub fn db(&self) -> &Db {
        &self.app.db
    }

    /// Serves on `listener` until `signal` completes, then stops accepting, lets requests in
    /// flight finish and shuts the supervisor down (every instance stopped, marked so that the
    /// next start finds it asleep). Connections are served on the caller's runtime; requests
    /// for a Space's host go straight to the front door, the rest to [`Server::router`].
    pub async fn serve(
        mut self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let entry = self.entry(None);
        let accepting = tokio::spawn(crate::connections::accept_loop(
            listener,
            Arc::new(entry),
            stop_rx,
        ));
        signal.await;
        stop_tx.send_replace(true);
        let served = accepting.await.map_err(|e| Error::Io {
            context: "serving HTTP".into(),
            source: std::io::Error::other(e.to_string()),
        });
        self.shutdown().await?;
        served
    }

    /// Serves on [`CoreListeners`] until `signal` completes, as [`Server::serve`] does, with
    /// one connection thread per listener, each running a runtime of its own: a connection and
    /// the requests on it (a Space's traffic, proxied on the thread's own upstream connections)
    /// never leave their thread, as in nginx's workers. API requests run on the caller's
    /// runtime (a multi-thread one), and so does whatever they start.
    ///
    /// ```no_run
    /// # async fn run(server: spaces_server::Server) -> Result<(), spaces_server::Error> {
    /// use spaces_server::CoreListeners;
    /// let listeners = CoreListeners::bind("127.0.0.1:8080".parse().unwrap(), 0)?;
    /// println!("listening on http://{}", listeners.local_addr());
    /// server.serve_per_core(listeners, async { let _ = tokio::signal::ctrl_c().await; }).await
    /// # }
    /// ```
    pub async fn serve_per_core(
        mut self,
        listeners: CoreListeners,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let main = tokio::runtime::Handle::current();
        let served = crate::connections::per_core::serve(
            listeners,
            || self.entry(Some(main.clone())),
            signal,
        )
        .await;
        self.shutdown().await?;
        served
    }

    /// The first stop of every request: the front door (its own proxy) and the API.
    fn entry(&self, api_runtime: Option<tokio::runtime::Handle>) -> crate::connections::Entry {
        let config = &self.app.front.config;
        crate::connections::Entry::new(
            self.app
                .spaces_domain
                .clone()
                .map(|d| crate::frontdoor::FrontDoor::new(self.app.clone(), d)),
            self.router(),
            api_runtime,
            crate::frontdoor::proxy::Proxy::new(config.connect_timeout, config.upstream_timeout),
        )
    }

    /// Stops the ticker and shuts the supervisor down, recording the Spaces that served so that
    /// the next start serves them again.
    pub async fn shutdown(&mut self) -> Result<(), Error> {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        let serving: Vec<String> = self
            .app
            .sup
            .list()
            .into_iter()
            .filter(|s| s.stage.is_billable())
            .map(|s| s.id.to_string())
            .collect();
        self.app.db.set_wake(&serving)?;
        self.app.sup.shutdown().await?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}
