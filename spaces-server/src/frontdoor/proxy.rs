//! [`Proxy`]: the reverse proxy from the front door to a Space's instance.
//!
//! - One pool of HTTP/1.1 connections for every instance (`upstream`): connections are kept
//!   alive and reused (per address), `TCP_NODELAY` on, a connect timeout; a connection is driven
//!   by the task of the request using it (no task of its own), so a proxied request is handled
//!   by the caller's connection task alone, without crossing worker threads.
//! - Bodies are streamed both ways (never read whole): hyper's buffers bound what is held per
//!   connection, and a slow reader slows its writer (back-pressure), so SSE and large uploads
//!   pass through with bounded memory.
//! - Hop-by-hop headers (RFC 9110 §7.6.1, plus those the `Connection` header names) are removed
//!   both ways; `X-Forwarded-For` (appended), `X-Forwarded-Proto` and `X-Forwarded-Host` are
//!   set. The caller's credentials for this server are removed by the caller of
//!   [`Proxy::forward`] before it gets here (see `frontdoor::access`).
//! - Upgrades (WebSocket): a request with `Connection: upgrade` keeps its `Upgrade` header; when
//!   the app answers `101 Switching Protocols`, both upgraded connections are joined with
//!   `tokio::io::copy_bidirectional` in a task of their own, and the 101 goes back to the caller.
//! - Timeouts: connecting, and the app's response head (`upstream_timeout`); a streamed body
//!   has none (an SSE stream may last hours).

mod upstream;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1; `proxy-*` too).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// The caller's address, and its text as a header value (made once per connection by the
/// server's connections, so that `X-Forwarded-For` costs no formatting per request).
#[derive(Clone, Debug)]
pub struct Peer {
    /// The caller's address.
    pub ip: IpAddr,
    /// `ip` as a header value.
    pub value: HeaderValue,
}

impl Peer {
    /// The peer `ip`.
    pub fn new(ip: IpAddr) -> Self {
        // An IP address's text is always a valid header value.
        let value = HeaderValue::from_str(&ip.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Self { ip, value }
    }
}

/// Why a request could not be forwarded.
#[derive(Debug)]
pub enum ProxyError {
    /// The app could not be reached (connection refused, reset before an answer).
    Unreachable {
        /// What failed.
        reason: String,
    },
    /// The app did not start answering within the timeout.
    TimedOut,
}

/// The connection pool and its settings. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Proxy {
    pool: Arc<upstream::Pool>,
    upstream_timeout: Duration,
}

impl Proxy {
    /// A proxy whose connections are kept idle up to 90 s; `connect` bounds a connection's
    /// set-up, `upstream_timeout` the wait for the app's response head.
    pub fn new(connect: Duration, upstream_timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(connect));
        connector.set_keepalive(Some(Duration::from_secs(60)));
        Self {
            pool: Arc::new(upstream::Pool::new(connector, Duration::from_secs(90), 512)),
            upstream_timeout,
        }
    }

    /// Forwards `req` to the app at `address` as `path_and_query`; `peer` is the caller's
    /// address (for `X-Forwarded-For`), `host` the host the caller asked for.
    pub async fn forward(
        &self,
        address: SocketAddr,
        path_and_query: &str,
        mut req: Request<Body>,
        peer: Option<&Peer>,
        host: Option<HeaderValue>,
    ) -> Result<Response<Body>, ProxyError> {
        let upgrade = wants_upgrade(req.headers());
        let upgrade_to = req.headers().get(header::UPGRADE).cloned();
        let caller_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
        // Origin-form (the connection is to `address` already; `Host` is set to it).
        let target = if path_and_query.is_empty() {
            "/"
        } else {
            path_and_query
        };
        let uri: Uri = target.parse().map_err(|e| ProxyError::Unreachable {
            reason: format!("bad path {path_and_query:?}: {e}"),
        })?;
        *req.uri_mut() = uri;
        *req.version_mut() = axum::http::Version::HTTP_11;
        let headers = req.headers_mut();
        strip_hop_by_hop(headers);
        headers.remove(header::HOST);
        forwarded(headers, peer, host);
        if let (true, Some(to)) = (upgrade, upgrade_to) {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, to);
        }
        if !upgrade {
            let sent =
                tokio::time::timeout(self.upstream_timeout, self.pool.send(address, req)).await;
            let response = match sent {
                Err(_) => return Err(ProxyError::TimedOut),
                Ok(r) => r?,
            };
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                return Err(ProxyError::Unreachable {
                    reason: "the app switched protocols unasked".into(),
                });
            }
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            return Ok(Response::from_parts(parts, body));
        }
        let sent =
            tokio::time::timeout(self.upstream_timeout, self.pool.send_upgrade(address, req)).await;
        let mut response = match sent {
            Err(_) => return Err(ProxyError::TimedOut),
            Ok(r) => r?,
        };
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let Some(caller_side) = caller_upgrade else {
                return Err(ProxyError::Unreachable {
                    reason: "the app switched protocols unasked".into(),
                });
            };
            let app_side = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                match tokio::try_join!(caller_side, app_side) {
                    Ok((a, b)) => {
                        let (mut a, mut b) = (TokioIo::new(a), TokioIo::new(b));
                        if let Err(e) = tokio::io::copy_bidirectional(&mut a, &mut b).await {
                            tracing::debug!(error = %e, "an upgraded connection ended");
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "an upgrade failed"),
                }
            });
            let (mut parts, _) = response.into_parts();
            let to = parts.headers.get(header::UPGRADE).cloned();
            strip_hop_by_hop(&mut parts.headers);
            parts
                .headers
                .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            if let Some(to) = to {
                parts.headers.insert(header::UPGRADE, to);
            }
            return Ok(Response::from_parts(parts, Body::empty()));
        }
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        Ok(Response::from_parts(parts, Body::new(body)))
    }
}

/// Whether the request asks to switch protocols (`Connection: upgrade` and an `Upgrade`).
pub fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Removes the hop-by-hop headers and those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none but `Connection`, if that: one pass over the names tells, where
    // removing each of them would hash and look up every one (this runs twice per request).
    if !headers.keys().any(|k| HOP_BY_HOP.contains(k)) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for h in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(h);
    }
}

fn forwarded(headers: &mut HeaderMap, peer: Option<&Peer>, host: Option<HeaderValue>) {
    static XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
    static XFP: HeaderName = HeaderName::from_static("x-forwarded-proto");
    static XFH: HeaderName = HeaderName::from_static("x-forwarded-host");
    if let Some(peer) = peer {
        let value = match headers.get(&XFF).and_then(|v| v.to_str().ok()) {
            Some(before) => HeaderValue::from_str(&format!("{before}, {}", peer.ip)).ok(),
            None => Some(peer.value.clone()),
        };
        if let Some(v) = value {
            headers.insert(XFF.clone(), v);
        }
    }
    if !headers.contains_key(&XFP) {
        headers.insert(XFP.clone(), HeaderValue::from_static("http"));
    }
    if let Some(h) = host {
        headers.insert(XFH.clone(), h);
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            "keep-alive, x-secret-hop".parse().unwrap(),
        );
        h.insert("x-secret-hop", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        h.insert("x-kept", "1".parse().unwrap());
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key("x-kept"));
    }

    #[test]
    fn forwarded_headers_append_the_peer() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "10.0.0.1".parse().unwrap());
        forwarded(
            &mut h,
            Some(&Peer::new("127.0.0.1".parse().unwrap())),
            Some(HeaderValue::from_static("alice-demo.localhost")),
        );
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "alice-demo.localhost");
    }
}
