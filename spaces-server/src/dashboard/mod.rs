//! The dashboard: plain server-rendered HTML with a little JavaScript (no build tool), on the
//! bare domain.
//!
//! - `GET /`: the caller's Spaces (those of the user and of its organisations) with stage,
//!   hardware, storage, sleep time, host link and this month's cost so far (rated from the
//!   ledger); refreshed live by polling `GET /dashboard/spaces.json` every 2 s. An anonymous
//!   caller gets the login form.
//! - `GET /spaces/{owner}/{name}` from a browser (HTML `Accept`; git and API clients are
//!   answered by the routes in `routes/visit.rs`): the app in an iframe, its stage (live, from
//!   `GET /dashboard/spaces/{owner}/{name}.json`) and its logs (build log and the run log so
//!   far, for members).
//! - `GET /login` (a form), `POST /login` (`token=...&next=/path`: a token of this server, set as the
//!   `spaces_token` cookie, `HttpOnly`, `SameSite=Lax`, for the domain so that Space hosts get
//!   it too), `POST /logout`.
//!
//! Who calls: the `Authorization` header (as on the API), else the cookie.

mod html;
mod view;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::frontdoor::{cookie_token, principal_of, TOKEN_COOKIE};
use crate::identity::Principal;
use crate::App;

pub use self::view::SpaceView;

/// The caller: the API's (from `Authorization`), else the cookie's token.
async fn who(app: &App, caller: Caller, headers: &HeaderMap) -> Option<Principal> {
    if let Some(p) = caller.0 {
        return Some(p);
    }
    let token = cookie_token(headers)?;
    principal_of(app, token).await
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The port the caller used (for links to Space hosts on the same listener).
fn port_of(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let (_, port) = host.rsplit_once(':')?;
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())).then(|| port.to_owned())
}

/// `GET /`.
pub(crate) async fn index(State(app): State<App>, caller: Caller, req: Request) -> Response {
    let Some(p) = who(&app, caller, req.headers()).await else {
        return html(StatusCode::OK, html::login(None));
    };
    let port = port_of(req.headers());
    let spaces = view::spaces_of(&app, &p, port.as_deref()).await;
    html(StatusCode::OK, html::index(&p, &spaces))
}

/// `GET /dashboard/spaces.json`: what the index shows, for its refresh.
pub(crate) async fn spaces_json(
    State(app): State<App>,
    caller: Caller,
    req: Request,
) -> Result<Json<Vec<SpaceView>>, ApiError> {
    let p = who(&app, caller, req.headers())
        .await
        .ok_or_else(|| ApiError::Unauthenticated {
            message: "log in first".into(),
        })?;
    let port = port_of(req.headers());
    Ok(Json(view::spaces_of(&app, &p, port.as_deref()).await))
}

/// `GET /spaces/{owner}/{name}` from a browser.
pub(crate) async fn space_page(
    State(app): State<App>,
    namespace: String,
    name: String,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let id = crate::routes::space_id(&namespace, &name)?;
    let p = who(&app, caller, req.headers()).await;
    app.readable(&Caller(p.clone()), &id)?;
    let port = port_of(req.headers());
    let member = p.as_ref().is_some_and(|p| p.acts_for(id.owner()));
    let view = view::space_view(&app, &id, port.as_deref(), member).await?;
    let logs = if member {
        Some(view::logs(&app, &id).await)
    } else {
        None
    };
    Ok(html(StatusCode::OK, html::space(&view, logs.as_ref())))
}

/// `GET /dashboard/spaces/{owner}/{name}.json`: one Space's row, for the Space page's refresh.
pub(crate) async fn space_json(
    State(app): State<App>,
    Path((namespace, name)): Path<(String, String)>,
    caller: Caller,
    req: Request,
) -> Result<Json<SpaceView>, ApiError> {
    let name = name.strip_suffix(".json").unwrap_or(&name).to_owned();
    let id = crate::routes::space_id(&namespace, &name)?;
    let p = who(&app, caller, req.headers()).await;
    app.readable(&Caller(p.clone()), &id)?;
    let member = p.as_ref().is_some_and(|p| p.acts_for(id.owner()));
    let port = port_of(req.headers());
    Ok(Json(
        view::space_view(&app, &id, port.as_deref(), member).await?,
    ))
}

/// `GET /login`.
pub(crate) async fn login_form() -> Response {
    html(StatusCode::OK, html::login(None))
}

/// `POST /login` with `token=<token>` (form-encoded).
pub(crate) async fn login(State(app): State<App>, req: Request) -> Response {
    let asked_host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':')
                .map_or(h, |(n, _)| n)
                .to_ascii_lowercase()
        });
    let body = match axum::body::to_bytes(req.into_body(), 16 * 1024).await {
        Ok(b) => b,
        Err(_) => return html(StatusCode::BAD_REQUEST, html::login(Some("bad form"))),
    };
    // Where to go after: a path of this site only (`/...`, never `//host`).
    let next = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let token = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic() && b != b';'));
    let Some(token) = token else {
        return html(
            StatusCode::BAD_REQUEST,
            html::login(Some("Paste a token of this server.")),
        );
    };
    if principal_of(&app, token.clone()).await.is_none() {
        return html(
            StatusCode::UNAUTHORIZED,
            html::login(Some("This token is not valid here.")),
        );
    }
    let mut cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(domain) = app
        .spaces_domain
        .as_deref()
        .filter(|d| d.contains('.') && asked_host.as_deref() == Some(*d))
    {
        // Space hosts (`<subdomain>.<domain>`) get the cookie too (private Spaces). Browsers
        // refuse `Domain=localhost` (no dot): there a private Space's host needs the token in
        // `Authorization`.
        cookie.push_str(&format!("; Domain={domain}"));
    }
    let mut r = (StatusCode::SEE_OTHER, "").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    let next = HeaderValue::from_str(&next).unwrap_or(HeaderValue::from_static("/"));
    r.headers_mut().insert(header::LOCATION, next);
    r
}

/// `POST /logout`.
pub(crate) async fn logout() -> Response {
    let mut r = (StatusCode::SEE_OTHER, "").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("spaces_token=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
    );
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/"));
    r
}
