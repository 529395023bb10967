//! Accepting and serving HTTP/1.1 connections: on the caller's runtime ([`Server::serve`]) or
//! on one runtime per core ([`Server::serve_per_core`], see [`per_core`]).
//!
//! Every request first meets the [`Entry`]: a request for a Space's host is the front door's,
//! served right there on the connection's task, past the API's router and its layers (none of
//! which apply to an app's traffic: they would only cost a clone of the layered service per
//! request); every other request goes to the API's router. Served per core, an API request is
//! run on the server's main runtime (spawned there), so that whatever it starts (a build, an
//! instance, a wake) lives there and not on a connection thread, while Space traffic stays on
//! the thread its connection came on, through that thread's own upstream pool: a proxied
//! request never crosses threads.
//!
//! Shutdown: when the stop signal comes, the listener is closed, every connection is told to
//! finish the request in flight and close (idle keep-alive connections close at once), and the
//! loop returns once all have closed, or after [`SHUTDOWN_GRACE`] (a followed log stream only
//! ends when its instance stops, which the server does after this). Upgraded connections
//! (WebSocket) are not waited for.
//!
//! [`Server::serve`]: crate::Server::serve
//! [`Server::serve_per_core`]: crate::Server::serve_per_core

pub mod per_core;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::frontdoor::proxy::{Peer, Proxy};
use crate::frontdoor::FrontDoor;

/// How long a stopping server waits for the requests in flight.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Where a request goes: the front door (Space hosts) or the API.
pub(crate) struct Entry {
    door: Option<FrontDoor>,
    api: axum::Router,
    /// Where API requests run (served per core: the main runtime); `None`: on the connection's.
    api_runtime: Option<tokio::runtime::Handle>,
    /// This runtime's connections to instances.
    proxy: Proxy,
}

impl Entry {
    pub(crate) fn new(
        door: Option<FrontDoor>,
        api: axum::Router,
        api_runtime: Option<tokio::runtime::Handle>,
        proxy: Proxy,
    ) -> Self {
        Self {
            door,
            api,
            api_runtime,
            proxy,
        }
    }

    async fn serve(&self, req: Request<Incoming>, peer: SocketAddr, from: &Peer) -> Response<Body> {
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(from.clone());
        if let Some(door) = &self.door {
            let for_space = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .is_some_and(|h| door.subdomain_of(h).is_some());
            if for_space {
                return door.handle_with(req, &self.proxy).await;
            }
        }
        let api = self.api.clone();
        let Some(runtime) = &self.api_runtime else {
            return match api.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
        };
        match runtime.spawn(api.oneshot(req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(never)) => match never {},
            Err(e) => {
                tracing::error!(error = %e, "an API request's task ended without an answer");
                let mut r = Response::new(Body::from("internal error: the request's task ended"));
                *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                r
            }
        }
    }
}

/// Accepts connections on `listener` and serves them until `stop` turns true; then closes the
/// listener, lets every connection finish its request in flight and returns once they closed
/// (or after [`SHUTDOWN_GRACE`]).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    entry: Arc<Entry>,
    mut stop: watch::Receiver<bool>,
) {
    // Each connection's task holds a receiver; the loop waits for all of them to be dropped.
    let (closed_tx, closed_rx) = watch::channel(());
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            a = accept(&listener) => a,
        };
        let Some((stream, peer)) = accepted else {
            continue;
        };
        tokio::spawn(serve_connection(
            stream,
            peer,
            Arc::clone(&entry),
            stop.clone(),
            closed_rx.clone(),
        ));
    }
    drop(listener);
    drop(closed_rx);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, closed_tx.closed()).await;
}

/// The next connection (`TCP_NODELAY` on); `None` when accepting failed for this once.
async fn accept(listener: &TcpListener) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    match listener.accept().await {
        Ok((stream, peer)) => {
            // TCP_NODELAY: without it, a response's last segment can wait for the client's
            // delayed ACK (40 ms on Linux), which a proxy would pay per request.
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
            Some((stream, peer))
        }
        Err(e) if is_connection_error(&e) => None,
        Err(e) => {
            // Out of descriptors, say: wait a little rather than spin.
            tracing::warn!(error = %e, "accepting a connection failed");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

/// Serves one connection until it closes; once `stop` turns true, it finishes the request in
/// flight and closes. `hold` is dropped when the connection has closed.
async fn serve_connection<H: Send + 'static>(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    entry: Arc<Entry>,
    mut stop: watch::Receiver<bool>,
    hold: H,
) {
    let from = Peer::new(peer.ip());
    let service = hyper::service::service_fn(move |req| {
        let entry = Arc::clone(&entry);
        let from = from.clone();
        async move { Ok::<_, Infallible>(entry.serve(req, peer, &from).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::trace!(error = %e, "a connection ended with an error");
                }
                break;
            }
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(hold);
}

/// Errors of one connection (the peer went away before it was accepted), not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
