//! Connections to instances, driven by the task of the request that uses them.
//!
//! hyper-util's pooled client runs each connection in a task of its own: a proxied request then
//! wakes three tasks (the caller's connection, the pooled connection, and the caller's again
//! with the response), which on a multi-thread runtime are often on different worker threads,
//! so each request paid context switches and futex wake-ups. Here a connection
//! (`hyper::client::conn::http1`) is not spawned: the task that forwards a request polls the
//! connection itself while it waits for the response head, and the response body it hands back
//! ([`Driven`]) polls it while the body streams, so the request and the response are read and
//! written by the caller's connection task alone. When the body has ended the connection goes
//! back to the pool (kept alive, reused per address, newest first); an idle connection is not
//! polled, so before reuse it is polled once (a closed one is dropped) and must be ready for a
//! request. A request that a reused connection could not send (closed meanwhile) is sent again
//! on a new one.
//!
//! Upgrades (WebSocket) take a connection of their own, spawned with hyper's upgrade support
//! (the upgraded stream then lives in the copying task), never pooled.

use std::collections::{HashMap, VecDeque};
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, Uri};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tower::Service;

use super::{error_chain, ProxyError};

type Io = TokioIo<tokio::net::TcpStream>;
type Conn = Connection<Io, Body>;

/// A connection with the handle that sends on it.
struct Link {
    tx: SendRequest<Body>,
    conn: Pin<Box<Conn>>,
}

impl Link {
    /// Polls an idle connection once: false when it was closed or cannot take a request now.
    fn ready_now(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        if self.conn.as_mut().poll(&mut cx).is_ready() {
            return false;
        }
        matches!(self.tx.poll_ready(&mut cx), Poll::Ready(Ok(())))
    }
}

struct Idle {
    link: Link,
    since: Instant,
}

/// One instance address: its `Host` value and its idle connections (newest last).
struct Slot {
    host: HeaderValue,
    idle: VecDeque<Idle>,
}

struct Slots {
    by_addr: HashMap<SocketAddr, Slot>,
    swept: Instant,
}

/// The idle connections to every instance, and how new ones are made.
pub(super) struct Pool {
    slots: Mutex<Slots>,
    connector: HttpConnector,
    idle_timeout: Duration,
    max_idle: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("idle_timeout", &self.idle_timeout)
            .field("max_idle", &self.max_idle)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool whose new connections use `connector` (`TCP_NODELAY`, timeouts), keeping up to
    /// `max_idle` idle connections per address for `idle_timeout`.
    pub(super) fn new(connector: HttpConnector, idle_timeout: Duration, max_idle: usize) -> Self {
        Self {
            slots: Mutex::new(Slots {
                by_addr: HashMap::new(),
                swept: Instant::now(),
            }),
            connector,
            idle_timeout,
            max_idle,
        }
    }

    /// Sends `req` (origin-form URI) to `addr` and returns the response head with a body that
    /// drives the connection. The `Host` header is set to the address.
    pub(super) async fn send(
        self: &std::sync::Arc<Self>,
        addr: SocketAddr,
        mut req: Request<Body>,
    ) -> Result<Response<Body>, ProxyError> {
        let (host, idle) = self.checkout(addr);
        req.headers_mut().insert(header::HOST, host.clone());
        let (mut link, mut reused) = match idle {
            Some(link) => (link, true),
            None => (self.connect(addr).await?, false),
        };
        loop {
            let sent = {
                let mut answer = std::pin::pin!(link.tx.try_send_request(req));
                let conn = &mut link.conn;
                let mut conn_done = false;
                poll_fn(|cx| {
                    if !conn_done && conn.as_mut().poll(cx).is_ready() {
                        // Ended or failed: the answer future now resolves with its outcome.
                        conn_done = true;
                    }
                    answer.as_mut().poll(cx)
                })
                .await
            };
            match sent {
                Ok(response) => {
                    let (parts, body) = response.into_parts();
                    let driven = Driven {
                        body,
                        link: Some(link),
                        addr,
                        pool: std::sync::Arc::clone(self),
                    };
                    return Ok(Response::from_parts(parts, Body::new(driven)));
                }
                Err(mut e) => match e.take_message() {
                    // Not written: a reused connection closed meanwhile; once more on a new one.
                    Some(again) if reused => {
                        req = again;
                        link = self.connect(addr).await?;
                        reused = false;
                    }
                    _ => {
                        return Err(ProxyError::Unreachable {
                            reason: error_chain(e.error()),
                        })
                    }
                },
            }
        }
    }

    /// Sends a request that asks to switch protocols on a connection of its own, run in a task
    /// with hyper's upgrade support.
    pub(super) async fn send_upgrade(
        &self,
        addr: SocketAddr,
        mut req: Request<Body>,
    ) -> Result<Response<Incoming>, ProxyError> {
        req.headers_mut().insert(header::HOST, self.slot_host(addr));
        let Link { mut tx, conn } = self.connect(addr).await?;
        let conn = Pin::into_inner(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "an upgrade connection to an app ended");
            }
        });
        tx.send_request(req)
            .await
            .map_err(|e| ProxyError::Unreachable {
                reason: error_chain(&e),
            })
    }

    /// The `Host` value for `addr` (and its slot created).
    fn slot_host(&self, addr: SocketAddr) -> HeaderValue {
        let mut slots = self.lock();
        let slot = slots.by_addr.entry(addr).or_insert_with(|| new_slot(addr));
        slot.host.clone()
    }

    /// The `Host` value for `addr` and an idle connection ready for a request, if any.
    fn checkout(&self, addr: SocketAddr) -> (HeaderValue, Option<Link>) {
        let now = Instant::now();
        let mut slots = self.lock();
        let slot = slots.by_addr.entry(addr).or_insert_with(|| new_slot(addr));
        let host = slot.host.clone();
        while let Some(mut idle) = slot.idle.pop_back() {
            if now.duration_since(idle.since) < self.idle_timeout && idle.link.ready_now() {
                return (host, Some(idle.link));
            }
        }
        (host, None)
    }

    /// Keeps a connection whose response has ended for the next request to `addr`.
    fn checkin(&self, addr: SocketAddr, link: Link) {
        if link.tx.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut slots = self.lock();
        if now.duration_since(slots.swept) > self.idle_timeout / 4 {
            slots.swept = now;
            let timeout = self.idle_timeout;
            slots.by_addr.retain(|_, slot| {
                slot.idle
                    .retain(|i| now.duration_since(i.since) < timeout && !i.link.tx.is_closed());
                !slot.idle.is_empty()
            });
        }
        let slot = slots.by_addr.entry(addr).or_insert_with(|| new_slot(addr));
        if slot.idle.len() >= self.max_idle {
            slot.idle.pop_front();
        }
        slot.idle.push_back(Idle { link, since: now });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn connect(&self, addr: SocketAddr) -> Result<Link, ProxyError> {
        let unreachable = |e: &dyn std::error::Error| ProxyError::Unreachable {
            reason: error_chain(e),
        };
        let uri: Uri = format!("http://{addr}")
            .parse()
            .map_err(|e: axum::http::uri::InvalidUri| unreachable(&e))?;
        let mut connector = self.connector.clone();
        poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(|e| unreachable(&e))?;
        let io = connector.call(uri).await.map_err(|e| unreachable(&e))?;
        let (tx, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| unreachable(&e))?;
        Ok(Link {
            tx,
            conn: Box::pin(conn),
        })
    }
}

fn new_slot(addr: SocketAddr) -> Slot {
    // A socket address is always a valid header value.
    let host = HeaderValue::from_str(&addr.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
    Slot {
        host,
        idle: VecDeque::new(),
    }
}

/// The app's response body; polling it also drives the connection it comes on, which goes back
/// to the pool once the body has ended (dropped before: the connection is closed).
struct Driven {
    body: Incoming,
    link: Option<Link>,
    addr: SocketAddr,
    pool: std::sync::Arc<Pool>,
}

impl Driven {
    fn release(&mut self) {
        if let Some(link) = self.link.take() {
            self.pool.checkin(self.addr, link);
        }
    }
}

impl hyper::body::Body for Driven {
    type Data = hyper::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let mut drove = false;
        loop {
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Ready(None) => {
                    this.release();
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Ok(frame))) => {
                    if this.body.is_end_stream() {
                        this.release();
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.link = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Pending => {}
            }
            let Some(link) = this.link.as_mut() else {
                return Poll::Pending;
            };
            if drove {
                return Poll::Pending;
            }
            drove = true;
            if link.conn.as_mut().poll(cx).is_ready() {
                // The connection ended: the body sees how (its end, or an error) next.
                this.link = None;
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        // A body never polled to its end (HEAD, 304, a length reached) may still have ended.
        if self.body.is_end_stream() {
            self.release();
        }
    }
}
