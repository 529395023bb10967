//! The front door: one listener for every Space, as `*.hf.space` is on the Hub.
//!
//! A request whose `Host` is `<subdomain>.<domain>` (see [`hosts`] for how a Space's subdomain
//! is assigned) goes to that Space's app through the reverse [`proxy`]; a request for the bare
//! domain (or any other host) goes to the API, git and the dashboard. A sleeping Space is woken
//! by its first request, which is held until the app answers and then proxied ([`wake`]);
//! browsers get a "waking up" page that reloads itself instead. Other stages answer with a
//! page ([`pages`]): `PAUSED` 503 "paused by its owner", building, errors and `NO_APP_FILE`
//! 503 with the stage (and, for the owner, the build log's tail).
//!
//! Access: a private Space needs its owner's (or an owning organisation member's) token, in
//! `Authorization` (Bearer, or Basic with the token as password) or in the `spaces_token`
//! cookie the dashboard's login sets; anyone else gets 404, as for a Space that does not exist.
//! The caller's token for this server (header or cookie) is never forwarded to the app.
//!
//! Embedding: [`FrontDoor`] (from [`crate::Server::front_door`]) serves Space traffic alone
//! ([`FrontDoor::router`], [`FrontDoor::handle`]), so an embedder can mount it on a listener of
//! its own; [`crate::Server::router`] puts it in front of the API when a domain is set
//! ([`crate::ServerBuilder::spaces_domain`]).

pub mod hosts;
pub mod pages;
pub mod proxy;
pub mod wake;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Response};
use axum::middleware::Next;
use spaces_core::{SpaceId, Stage, Visibility};

use crate::identity::Principal;
use crate::App;

use self::hosts::HostTable;
use self::proxy::{Peer, Proxy, ProxyError};
use self::wake::{Route, WakeError, Waker};

/// The cookie the dashboard's login sets (the token; `HttpOnly`).
pub const TOKEN_COOKIE: &str = "spaces_token";

/// The front door's settings.
#[derive(Clone, Debug)]
pub struct FrontDoorConfig {
    /// Requests that may wait for one Space's wake; more get 503.
    pub max_waiting: usize,
    /// How long a request (of an API client) waits for a wake.
    pub wake_timeout: Duration,
    /// How long a browser's request waits for a wake before the "waking up" page.
    pub browser_hold: Duration,
    /// Connecting to an instance.
    pub connect_timeout: Duration,
    /// The wait for the app's response head.
    pub upstream_timeout: Duration,
}

impl Default for FrontDoorConfig {
    fn default() -> Self {
        Self {
            max_waiting: 1024,
            wake_timeout: Duration::from_secs(300),
            browser_hold: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(5),
            upstream_timeout: Duration::from_secs(120),
        }
    }
}

/// What the front door keeps (in [`App`]).
#[derive(Debug)]
pub struct FrontState {
    /// Subdomain ↔ Space.
    pub hosts: HostTable,
    /// The reverse proxy.
    pub proxy: Proxy,
    /// Wakes and routes.
    pub waker: Arc<Waker>,
    /// The settings.
    pub config: FrontDoorConfig,
}

impl FrontState {
    /// The front door's state over a supervisor.
    pub fn new(sup: spaces_runtime::supervisor::Supervisor, config: FrontDoorConfig) -> Self {
        Self {
            hosts: HostTable::default(),
            proxy: Proxy::new(config.connect_timeout, config.upstream_timeout),
            waker: Arc::new(Waker::new(sup, config.max_waiting, config.wake_timeout)),
            config,
        }
    }
}

/// Space traffic by host: see the [module docs](self). Cheap to clone.
#[derive(Clone, Debug)]
pub struct FrontDoor {
    app: App,
    domain: String,
}

impl FrontDoor {
    pub(crate) fn new(app: App, domain: String) -> Self {
        Self {
            app,
            domain: domain.to_ascii_lowercase(),
        }
    }

    /// The domain Space hosts are under.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// How many wakes the front door started.
    pub fn wakes(&self) -> u64 {
        self.app.front.waker.wakes()
    }

    /// The host a Space is served on (`<subdomain>.<domain>`).
    pub fn host_of(&self, id: &SpaceId) -> String {
        format!("{}.{}", self.app.front.hosts.subdomain(id), self.domain)
    }

    /// The subdomain of a `Host` header value when it is `<subdomain>.<domain>[:port]`.
    pub fn subdomain_of<'a>(&self, host: &'a str) -> Option<&'a str> {
        subdomain_in(host, &self.domain)
    }

    /// The Space a subdomain is (new Spaces are looked for at most once a second).
    pub fn space_of(&self, subdomain: &str) -> Option<SpaceId> {
        let sub = subdomain.to_ascii_lowercase();
        let hosts = &self.app.front.hosts;
        if let Some(id) = hosts.lookup(&sub) {
            return Some(id);
        }
        let len = self.app.registry.read().len();
        if !hosts.rescan_due(len) {
            return None;
        }
        let all: Vec<(SpaceId, spaces_core::Timestamp)> = self
            .app
            .registry
            .read()
            .iter()
            .map(|(id, e)| (id.clone(), e.created_at))
            .collect();
        hosts.assign_all(all);
        hosts.lookup(&sub)
    }

    /// Serves a request sent to a Space's host (404 page for a host that is no Space's).
    pub async fn handle(&self, req: Request) -> Response<Body> {
        self.handle_with(req, &self.app.front.proxy).await
    }

    /// [`FrontDoor::handle`] through `proxy`'s connections: a server that serves connections
    /// on several runtimes gives each its own proxy, so that an upstream connection is only
    /// ever polled on the runtime whose I/O driver it is registered with.
    pub async fn handle_with(&self, req: Request, proxy: &Proxy) -> Response<Body> {
        let id = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| self.subdomain_of(h))
            .and_then(|s| self.space_of(s));
        let Some(id) = id else {
            return pages::not_found();
        };
        // `PathAndQuery` is a cheap clone (shared bytes).
        let path = req.uri().path_and_query().cloned();
        let path = path.as_ref().map_or("/", |p| p.as_str());
        serve_space(&self.app, proxy, &id, None, req, path, Mode::Host).await
    }

    /// A router that serves everything as Space traffic (mount it on a listener of its own).
    pub fn router(self) -> axum::Router {
        axum::Router::new().fallback(move |req: Request| {
            let door = self.clone();
            async move { door.handle(req).await }
        })
    }
}

/// The subdomain of a `Host` value `<subdomain>.<domain>[:port]` (one label, any case).
pub fn subdomain_in<'a>(host: &'a str, domain: &str) -> Option<&'a str> {
    let name = match host.rsplit_once(':') {
        Some((n, port)) if !n.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => host,
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.len() <= domain.len() + 1 || !name.is_char_boundary(name.len() - domain.len()) {
        return None;
    }
    let (sub, dom) = name.split_at(name.len() - domain.len());
    let sub = sub.strip_suffix('.')?;
    (dom.eq_ignore_ascii_case(domain) && !sub.is_empty() && !sub.contains('.')).then_some(sub)
}

/// The middleware that sends Space hosts to the front door and the rest on.
pub(crate) async fn dispatch(
    State(door): State<FrontDoor>,
    req: Request,
    next: Next,
) -> Response<Body> {
    let is_space = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| door.subdomain_of(h))
        .is_some();
    if is_space {
        door.handle(req).await
    } else {
        next.run(req).await
    }
}

/// Who calls, for the answers that are not proxied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Through a Space's host: pages for every stage.
    Host,
    /// Through `/spaces/{owner}/{name}/...` on the API's host: 409 JSON for API clients (the
    /// route's earlier contract), pages for browsers.
    Path,
}

/// Whether the request comes from a browser (its `Accept` asks for HTML).
pub fn is_browser(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The token in the `spaces_token` cookie.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == TOKEN_COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Removes the `spaces_token` cookie from the `Cookie` headers (the others stay).
fn strip_token_cookie(headers: &mut HeaderMap) {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.split_once('=').map(|(k, _)| k) != Some(TOKEN_COOKIE))
        .map(str::to_owned)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&kept.join("; ")) {
            headers.insert(header::COOKIE, v);
        }
    }
}

/// The principal of a token of this server, if it is one.
pub(crate) async fn principal_of(app: &App, token: String) -> Option<Principal> {
    let db = Arc::clone(&app.db);
    tokio::task::spawn_blocking(move || db.principal(&token))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
}

/// Reads who calls from the `Authorization` header or the cookie, and removes this server's
/// credentials from the request (an `Authorization` header that is not one of this server's
/// tokens is the app's business and stays).
async fn caller_of(app: &App, headers: &mut HeaderMap) -> Option<Principal> {
    let mut principal = None;
    if let Ok(Some(token)) = crate::auth::bearer(headers) {
        principal = principal_of(app, token).await;
        if principal.is_some() {
            headers.remove(header::AUTHORIZATION);
        }
    }
    if let Some(token) = cookie_token(headers) {
        if principal.is_none() {
            principal = principal_of(app, token).await;
        }
        strip_token_cookie(headers);
    }
    principal
}

/// Serves a request to a Space through `proxy`: access, wake, proxy, or a page. `known`: the caller when the
/// API already read it (the path route); `path`: the path and query the app gets.
pub(crate) async fn serve_space(
    app: &App,
    proxy: &Proxy,
    id: &SpaceId,
    known: Option<Principal>,
    mut req: Request,
    path: &str,
    mode: Mode,
) -> Response<Body> {
    let Some(entry) = app.registry.get(id) else {
        return pages::not_found();
    };
    let from_request = caller_of(app, req.headers_mut()).await;
    let principal = known.or(from_request);
    let member = principal.as_ref().is_some_and(|p| p.acts_for(id.owner()));
    if entry.visibility != Visibility::Public && !member {
        return pages::not_found();
    }
    let browser = is_browser(req.headers());
    let hold = browser.then_some(app.front.config.browser_hold);
    let route = match app.front.waker.route(id, hold).await {
        Ok(r) => r,
        Err(WakeError::Gone) => return pages::not_found(),
        Err(WakeError::QueueFull) => return pages::queue_full(id),
        Err(WakeError::TimedOut) => return pages::wake_timed_out(id),
    };
    let address = match route {
        Route::Serving(a) => a,
        Route::Waking => return pages::waking(id),
        Route::NotServing(status) => {
            if mode == Mode::Path && !browser {
                let why = crate::wire::runtime::error_message(&status)
                    .unwrap_or_else(|| format!("stage {}", status.stage));
                return axum::response::IntoResponse::into_response(
                    crate::error::ApiError::Conflict {
                        message: format!("the Space {id} is not running ({why}): see its runtime"),
                        url: None,
                    },
                );
            }
            return not_serving_page(app, &status, member);
        }
    };
    // The connection's (`connections`), or made from the caller's address.
    let peer: Option<Peer> = req.extensions().get::<Peer>().cloned().or_else(|| {
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| Peer::new(c.0.ip()))
    });
    let host = req.headers().get(header::HOST).cloned();
    match proxy.forward(address, path, req, peer.as_ref(), host).await {
        Ok(r) => r,
        Err(ProxyError::TimedOut) => pages::bad_gateway(id, true),
        Err(ProxyError::Unreachable { reason }) => {
            tracing::debug!(space = %id, %reason, "the app could not be reached");
            pages::bad_gateway(id, false)
        }
    }
}

fn not_serving_page(
    app: &App,
    status: &spaces_runtime::supervisor::SpaceStatus,
    member: bool,
) -> Response<Body> {
    if status.stage == Stage::Paused {
        return pages::paused(&status.id);
    }
    let message = crate::wire::runtime::error_message(status);
    let log = member
        .then(|| app.sup.build_log(&status.id).ok())
        .flatten()
        .filter(|l| !l.is_empty())
        .map(|lines| lines[lines.len().saturating_sub(30)..].join("\n"));
    pages::not_serving(
        &status.id,
        &status.stage,
        message.as_deref(),
        log.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn space_hosts_are_one_label_under_the_domain() {
        assert_eq!(
            subdomain_in("alice-demo.localhost:8080", "localhost"),
            Some("alice-demo")
        );
        assert_eq!(
            subdomain_in("Alice-Demo.LOCALHOST", "localhost"),
            Some("Alice-Demo")
        );
        assert_eq!(
            subdomain_in("alice-demo.spaces.example.", "spaces.example"),
            Some("alice-demo")
        );
        assert_eq!(subdomain_in("localhost:8080", "localhost"), None);
        assert_eq!(subdomain_in("a.b.localhost", "localhost"), None);
        assert_eq!(subdomain_in("alice-demolocalhost", "localhost"), None);
        assert_eq!(subdomain_in("127.0.0.1:80", "localhost"), None);
    }

    #[test]
    fn the_token_cookie_is_read_and_stripped_alone() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; spaces_token=hf_x; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_token(&h).as_deref(), Some("hf_x"));
        strip_token_cookie(&mut h);
        assert_eq!(h[header::COOKIE], "a=1; b=2");
        let mut only = HeaderMap::new();
        only.insert(header::COOKIE, "spaces_token=hf_x".parse().unwrap());
        strip_token_cookie(&mut only);
        assert!(!only.contains_key(header::COOKIE));
    }
}
