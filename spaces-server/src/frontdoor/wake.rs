//! [`Waker`]: where a Space's traffic goes, waking it when it sleeps, as Knative's activator
//! does.
//!
//! - A serving Space: its address is read from the supervisor (one lock, no I/O) on every
//!   request, so traffic never goes to an address that a stopped instance left (and that another
//!   Space's instance may have taken). Proxied traffic counts as a visit for the sleep timer, but
//!   the supervisor hears of it at most once a second per Space ([`VISIT_EVERY`]); a pure visit
//!   changes only the idle timer in memory, never the store, so this is cheap.
//! - A `SLEEPING` Space (or one `APP_STARTING`): the first request starts one wake (one
//!   [`Supervisor::visit`], run in a task of its own, so a caller that goes away does not stop
//!   it); every request that arrives meanwhile joins it. At most `max_waiting` requests wait per
//!   Space (more are refused: `QueueFull`), each at most `wake_timeout`; a browser waits only
//!   `browser_hold` and then gets the "waking up" page while the wake goes on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spaces_core::{SpaceId, Stage};
use spaces_runtime::supervisor::{SpaceStatus, Supervisor};
use tokio::sync::watch;

/// How often, at most, proxied traffic is reported to the supervisor as a visit, per Space.
pub const VISIT_EVERY: Duration = Duration::from_secs(1);

/// Where a request goes.
#[derive(Debug)]
pub enum Route {
    /// The app answers at this address.
    Serving(SocketAddr),
    /// The Space wakes; the caller stopped waiting (a browser: show the "waking up" page).
    Waking,
    /// The Space does not serve in its stage (paused, building, failed, no app file...).
    NotServing(Box<SpaceStatus>),
}

/// Why no route could be given.
#[derive(Debug)]
pub enum WakeError {
    /// The Space does not exist (any more).
    Gone,
    /// Too many requests wait for this Space's wake already.
    QueueFull,
    /// The wake took longer than the caller may wait.
    TimedOut,
}

type Outcome = Option<Result<(Stage, Option<SocketAddr>), String>>;

#[derive(Debug)]
struct Pending {
    result: watch::Sender<Outcome>,
    waiting: AtomicUsize,
}

/// Wakes and routes. Held in an `Arc` (wakes run in tasks that hold it).
#[derive(Debug)]
pub struct Waker {
    sup: Supervisor,
    pending: Mutex<HashMap<SpaceId, Arc<Pending>>>,
    visited: Mutex<HashMap<SpaceId, Instant>>,
    wakes: AtomicU64,
    max_waiting: usize,
    wake_timeout: Duration,
    /// The runtime wakes run on: the one the waker was made on, so that an instance started by
    /// a request served on another (a per-core connection runtime) lives on it.
    runtime: Option<tokio::runtime::Handle>,
}

impl Waker {
    /// A waker over the supervisor.
    pub fn new(sup: Supervisor, max_waiting: usize, wake_timeout: Duration) -> Self {
        Self {
            sup,
            pending: Mutex::default(),
            visited: Mutex::default(),
            wakes: AtomicU64::new(0),
            max_waiting,
            wake_timeout,
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// How many wakes the front door started (one per sleeping period, however many requests
    /// came).
    pub fn wakes(&self) -> u64 {
        self.wakes.load(Ordering::Relaxed)
    }

    /// The route for a request to `id`; `hold`: how long this caller waits for a wake (`None`:
    /// up to the wake timeout).
    pub async fn route(
        self: &Arc<Self>,
        id: &SpaceId,
        hold: Option<Duration>,
    ) -> Result<Route, WakeError> {
        if let Some(address) = self.sup.serving_address(id).map_err(|_| WakeError::Gone)? {
            self.visit_if_due(id).await;
            return Ok(Route::Serving(address));
        }
        let status = self.sup.status(id).map_err(|_| WakeError::Gone)?;
        if let Some(address) = status.address {
            self.visit_if_due(id).await;
            return Ok(Route::Serving(address));
        }
        match status.stage {
            Stage::Sleeping | Stage::AppStarting => {}
            _ => return Ok(Route::NotServing(Box::new(status))),
        }
        let woke = status.stage == Stage::Sleeping;
        match self.join(id, woke, hold).await? {
            Some((_, Some(address))) => Ok(Route::Serving(address)),
            Some((_, None)) => {
                let status = self.sup.status(id).map_err(|_| WakeError::Gone)?;
                match status.address {
                    Some(a) => Ok(Route::Serving(a)),
                    None => Ok(Route::NotServing(Box::new(status))),
                }
            }
            None => Ok(Route::Waking),
        }
    }

    /// Tells the supervisor of a visit when the last one is older than [`VISIT_EVERY`].
    async fn visit_if_due(&self, id: &SpaceId) {
        let now = Instant::now();
        {
            let mut visited = self.visited.lock().unwrap_or_else(|e| e.into_inner());
            match visited.get_mut(id) {
                Some(t) if now.duration_since(*t) < VISIT_EVERY => return,
                Some(t) => *t = now,
                None => {
                    visited.insert(id.clone(), now);
                }
            }
        }
        if let Err(e) = self.sup.visit(id).await {
            tracing::debug!(space = %id, error = %e, "a visit was not recorded");
        }
    }

    /// Joins (or starts) the Space's wake. `Ok(None)`: `hold` passed first.
    async fn join(
        self: &Arc<Self>,
        id: &SpaceId,
        woke: bool,
        hold: Option<Duration>,
    ) -> Result<Option<(Stage, Option<SocketAddr>)>, WakeError> {
        let pending = {
            let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(p) = map.get(id) {
                Arc::clone(p)
            } else {
                let (tx, _) = watch::channel(None);
                let p = Arc::new(Pending {
                    result: tx,
                    waiting: AtomicUsize::new(0),
                });
                map.insert(id.clone(), Arc::clone(&p));
                if woke {
                    self.wakes.fetch_add(1, Ordering::Relaxed);
                }
                let (me, id2, p2) = (Arc::clone(self), id.clone(), Arc::clone(&p));
                let wake = async move {
                    let outcome = me
                        .sup
                        .visit(&id2)
                        .await
                        .map(|v| (v.stage, v.address))
                        .map_err(|e| e.to_string());
                    p2.result.send_replace(Some(outcome));
                    me.pending
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id2);
                    me.visited
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(id2, Instant::now());
                };
                match &self.runtime {
                    Some(runtime) => drop(runtime.spawn(wake)),
                    None => drop(tokio::spawn(wake)),
                }
                p
            }
        };
        if pending.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            pending.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(WakeError::QueueFull);
        }
        let mut rx = pending.result.subscribe();
        let limit = hold.unwrap_or(self.wake_timeout).min(self.wake_timeout);
        let waited = tokio::time::timeout(limit, rx.wait_for(Option::is_some)).await;
        pending.waiting.fetch_sub(1, Ordering::AcqRel);
        match waited {
            Ok(Ok(v)) => match v.clone() {
                Some(Ok(r)) => Ok(Some(r)),
                // The visit failed (the Space went away meanwhile): what it is now decides.
                Some(Err(_)) | None => Ok(Some((Stage::Sleeping, None))),
            },
            Ok(Err(_)) => Ok(Some((Stage::Sleeping, None))),
            Err(_) if hold.is_some_and(|h| h < self.wake_timeout) => Ok(None),
            Err(_) => Err(WakeError::TimedOut),
        }
    }
}
