//! Connections served on one runtime per core, as nginx serves them on one worker per core.
//!
//! Each connection thread runs a current-thread tokio runtime. One acceptor (a task on the
//! server's main runtime) accepts every connection and hands it to the thread that holds the
//! fewest open connections (exact balance, as Envoy's `exact_balance`: `SO_REUSEPORT`'s hash
//! left one thread with most of a burst of connections now and then, and its requests waited).
//! From then on a connection, its requests and the upstream connections they are proxied on
//! are handled by that one thread: no task is woken across threads and no worker is unparked
//! per request, which on a multi-thread runtime cost a proxied request about a third of its
//! CPU time and most of its tail latency (`scripts/front-door-bench.sh`). Each thread is pinned
//! to a CPU of its own where it can be (see [`CoreListeners::bind`]).
//!
//! [`CoreListeners::bind`] binds the socket (so that a caller can print the address before
//! serving); [`crate::Server::serve_per_core`] serves on it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::Entry;
use crate::error::Error;

/// The listening socket of [`crate::Server::serve_per_core`] and how many connection threads
/// serve what it accepts.
#[derive(Debug)]
pub struct CoreListeners {
    socket: std::net::TcpListener,
    addr: SocketAddr,
    threads: usize,
    /// The CPU each thread is pinned to, in thread order; empty: not pinned.
    cores: Vec<usize>,
}

impl CoreListeners {
    /// Binds `addr` (a port of 0 picks a free port) for `threads` connection threads (`0`: one
    /// per core, as the machine reports them). On Linux, when there are no more threads than
    /// CPUs this process may run on, each thread is pinned to one of them (as nginx's
    /// `worker_cpu_affinity auto`): two busy connection threads left to the scheduler could end
    /// up sharing a CPU with the load while another ran alone, and every request of the unlucky
    /// thread waited (p99 2-3 ms above nginx's in 1 run in 2, within 0.1 ms once pinned).
    /// [`CoreListeners::pinned`] turns it off.
    pub fn bind(addr: SocketAddr, threads: usize) -> Result<Self, Error> {
        let io = |source| Error::Io {
            context: format!("listening on {addr}"),
            source,
        };
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        } else {
            threads
        };
        let socket = listener(addr).map_err(io)?;
        let addr = socket.local_addr().map_err(io)?;
        let allowed = allowed_cpus();
        let cores = if threads <= allowed.len() {
            allowed[..threads].to_vec()
        } else {
            Vec::new()
        };
        Ok(Self {
            socket,
            addr,
            threads,
            cores,
        })
    }

    /// Whether each thread is pinned to a CPU of its own (the default where it can be).
    pub fn pinned(mut self, pin: bool) -> Self {
        if !pin {
            self.cores.clear();
        } else if self.cores.is_empty() {
            let allowed = allowed_cpus();
            if self.threads <= allowed.len() {
                self.cores = allowed[..self.threads].to_vec();
            }
        }
        self
    }

    /// The CPUs the threads are pinned to, in thread order (empty: not pinned).
    pub fn cores(&self) -> &[usize] {
        &self.cores
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connection threads will serve.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// The CPUs this process may run on (none known: empty, so nothing is pinned).
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&c| set.is_set(c))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

/// Pins the calling thread to `cpu` (a failure leaves it where the scheduler puts it).
#[cfg(target_os = "linux")]
fn pin_to(cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    if let Err(e) = rustix::thread::sched_setaffinity(None, &set) {
        tracing::debug!(cpu, error = %e, "could not pin a connection thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to(_cpu: usize) {}

fn listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // As tokio's and std's listeners on unix: a restarted server can bind at once.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// A connection handed to a thread.
type Handed = (std::net::TcpStream, SocketAddr);

/// A connection thread, as the acceptor sees it.
struct Worker {
    hand: mpsc::UnboundedSender<Handed>,
    open: Arc<AtomicUsize>,
}

/// Counts a connection as open on its thread until dropped.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves what `listeners` accepts on its threads (the entry of each from `entry`) until
/// `signal` completes; returns once every thread has finished its connections. A thread that
/// cannot start its runtime stops them all, with the reason. Runs on the caller's runtime's
/// acceptor task.
pub(crate) async fn serve(
    listeners: CoreListeners,
    entry: impl Fn() -> Entry,
    signal: impl std::future::Future<Output = ()>,
) -> Result<(), Error> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let threads = listeners.threads.max(1);
    let listener =
        tokio::net::TcpListener::from_std(listeners.socket).map_err(|source| Error::Io {
            context: format!("listening on {}", listeners.addr),
            source,
        })?;
    let (ended_tx, mut ended_rx) = mpsc::channel::<Result<(), String>>(threads);
    let mut workers = Vec::with_capacity(threads);
    for i in 0..threads {
        let entry = Arc::new(entry());
        let stop = stop_rx.clone();
        let ended = ended_tx.clone();
        let (hand, handed) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        let open2 = Arc::clone(&open);
        let core = listeners.cores.get(i).copied();
        let spawned = std::thread::Builder::new()
            .name(format!("spaces-conn-{i}"))
            .spawn(move || {
                if let Some(cpu) = core {
                    pin_to(cpu);
                }
                let outcome = run_thread(handed, open2, entry, stop);
                // The server waits for this message; it is gone only if the server is.
                let _ = ended.blocking_send(outcome);
            });
        if let Err(source) = spawned {
            stop_tx.send_replace(true);
            return Err(Error::Io {
                context: "starting a connection thread".into(),
                source,
            });
        }
        workers.push(Worker { hand, open });
    }
    drop(ended_tx);
    let mut signal = std::pin::pin!(signal);
    let mut failure = None;
    let mut running = threads;
    loop {
        tokio::select! {
            () = &mut signal => break,
            ended = ended_rx.recv() => {
                running = running.saturating_sub(1);
                failure = Some(match ended {
                    Some(Err(why)) => why,
                    _ => "a connection thread ended by itself".to_owned(),
                });
                break;
            }
            accepted = super::accept(&listener) => {
                if let Some((stream, peer)) = accepted {
                    hand_over(&workers, stream, peer);
                }
            }
        }
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(workers);
    while running > 0 {
        match ended_rx.recv().await {
            Some(Err(why)) => {
                failure.get_or_insert(why);
            }
            Some(Ok(())) => {}
            None => break,
        }
        running -= 1;
    }
    match failure {
        None => Ok(()),
        Some(why) => Err(Error::Io {
            context: "serving connections".into(),
            source: std::io::Error::other(why),
        }),
    }
}

/// Gives a connection to the thread with the fewest open connections.
fn hand_over(workers: &[Worker], stream: tokio::net::TcpStream, peer: SocketAddr) {
    let Some(worker) = workers
        .iter()
        .min_by_key(|w| w.open.load(Ordering::Relaxed))
    else {
        return;
    };
    // Out of this runtime's I/O driver, into the thread's.
    let stream = match stream.into_std() {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(error = %e, "a connection could not be handed over");
            return;
        }
    };
    worker.open.fetch_add(1, Ordering::Relaxed);
    if worker.hand.send((stream, peer)).is_err() {
        // The thread has ended (the server stops): the connection closes.
        worker.open.fetch_sub(1, Ordering::Relaxed);
    }
}

fn run_thread(
    handed: mpsc::UnboundedReceiver<Handed>,
    open: Arc<AtomicUsize>,
    entry: Arc<Entry>,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting a connection runtime: {e}"))?;
    runtime.block_on(serve_handed(handed, open, entry, stop));
    // Upgraded connections (WebSocket) and requests' stray tasks end with the runtime.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// Serves the connections handed to this thread until `stop`; then lets each finish its
/// request in flight and returns once all have closed (or after the grace period).
async fn serve_handed(
    mut handed: mpsc::UnboundedReceiver<Handed>,
    open: Arc<AtomicUsize>,
    entry: Arc<Entry>,
    mut stop: watch::Receiver<bool>,
) {
    let (closed_tx, closed_rx) = watch::channel(());
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            next = handed.recv() => next,
        };
        let Some((stream, peer)) = next else {
            break;
        };
        let counted = Open(Arc::clone(&open));
        match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => {
                tokio::spawn(super::serve_connection(
                    stream,
                    peer,
                    Arc::clone(&entry),
                    stop.clone(),
                    (closed_rx.clone(), counted),
                ));
            }
            Err(e) => tracing::debug!(error = %e, "a handed connection could not be registered"),
        }
    }
    drop(closed_rx);
    let _ = tokio::time::timeout(super::SHUTDOWN_GRACE, closed_tx.closed()).await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_thread_per_core_by_default_pinned_only_when_each_gets_a_cpu_of_its_own() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let cpus = allowed_cpus();
        let l = CoreListeners::bind(any, 0).unwrap();
        assert!(l.threads() >= 1);
        assert_ne!(l.local_addr().port(), 0, "a free port was picked");
        if cfg!(target_os = "linux") {
            assert_eq!(l.cores().len(), l.threads(), "{cpus:?}");
            let mut distinct = l.cores().to_vec();
            distinct.dedup();
            assert_eq!(distinct.len(), l.threads());
        }
        let l = l.pinned(false);
        assert!(l.cores().is_empty());
        let more = CoreListeners::bind(any, cpus.len() + 1).unwrap();
        assert_eq!(more.threads(), cpus.len() + 1);
        assert!(
            more.cores().is_empty(),
            "more threads than CPUs: none pinned"
        );
    }
}
