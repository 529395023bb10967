//! The caller: `Authorization: Bearer <token>` read into a [`Principal`], and the access rules
//! every route applies.
//!
//! - No header: an anonymous caller (reads of public Spaces only).
//! - A header that is not `Bearer <token>`, or an unknown token: 401 with `X-Error-Message:
//!   Invalid credentials in Authorization header`, on every route.
//! - A private (or protected) Space is 404 `RepoNotFound` to anyone but its owner and the members
//!   of its owning organisation, never 403, so its existence does not leak.
//! - A mutation needs a token (401 without one), a `write` token (403 for a `read` one) and a
//!   caller who is the owner or a member of the owning organisation (403 otherwise, or 404 when
//!   the Space is private).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use spaces_core::{SpaceId, Visibility};

use crate::error::ApiError;
use crate::identity::{Principal, Role};
use crate::App;

/// The caller of a request: `None` when anonymous.
#[derive(Clone, Debug)]
pub struct Caller(pub Option<Principal>);

/// The token in an `Authorization` header, if the header is there: `Bearer <token>`, or HTTP
/// Basic with the token as the password (any user name), as git sends it. `Err` when the header
/// is malformed.
pub(crate) fn bearer(parts: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = parts.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ApiError::InvalidCredentials)?;
    if let Some(basic) = text
        .strip_prefix("Basic ")
        .or_else(|| text.strip_prefix("basic "))
    {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .map_err(|_| ApiError::InvalidCredentials)?;
        let pair = String::from_utf8(decoded).map_err(|_| ApiError::InvalidCredentials)?;
        let token = pair
            .split_once(':')
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::InvalidCredentials)?;
        return Ok(Some(token.to_owned()));
    }
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::InvalidCredentials)?;
    Ok(Some(token.to_owned()))
}

/// Reads the caller of a request from its `Authorization` header.
async fn identify(headers: &axum::http::HeaderMap, app: &App) -> Result<Caller, ApiError> {
    let Some(token) = bearer(headers)? else {
        return Ok(Caller(None));
    };
    let db = std::sync::Arc::clone(&app.db);
    let principal = tokio::task::spawn_blocking(move || db.principal(&token))
        .await
        .map_err(|e| ApiError::internal(format!("reading a token: {e}")))??;
    principal
        .map(|p| Caller(Some(p)))
        .ok_or(ApiError::InvalidCredentials)
}

/// The middleware that checks every request's token, on every route: a bad one is 401
/// (`Invalid credentials in Authorization header`) wherever it is sent. The caller is kept in
/// the request's extensions for the [`Caller`] extractor.
pub(crate) async fn authenticate(
    axum::extract::State(app): axum::extract::State<App>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match identify(req.headers(), &app).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(c) => Ok(c.clone()),
            None => identify(&parts.headers, app).await,
        }
    }
}

impl Caller {
    /// The principal, or 401 when anonymous.
    pub fn require(&self) -> Result<&Principal, ApiError> {
        self.0.as_ref().ok_or_else(|| ApiError::Unauthenticated {
            message: "You must be authenticated to do this: send `Authorization: Bearer <token>`"
                .into(),
        })
    }

    /// The principal with a write token, or 401 / 403.
    pub fn require_write(&self) -> Result<&Principal, ApiError> {
        let p = self.require()?;
        if p.role != Role::Write {
            return Err(ApiError::forbidden(
                "Your token has the read role: this operation needs a token with the write role",
            ));
        }
        Ok(p)
    }

    /// Whether the caller may see a Space of `owner` with `visibility`.
    pub fn can_see(&self, owner: &str, visibility: Visibility) -> bool {
        visibility == Visibility::Public || self.0.as_ref().is_some_and(|p| p.acts_for(owner))
    }
}

impl App {
    /// Checks that the caller may read the Space: 404 `RepoNotFound` when it does not exist or
    /// is hidden from the caller.
    pub fn readable(&self, caller: &Caller, id: &SpaceId) -> Result<crate::meta::Entry, ApiError> {
        match self.registry.get(id) {
            Some(e) if caller.can_see(id.owner(), e.visibility) => Ok(e),
            _ => Err(ApiError::RepoNotFound { id: id.to_string() }),
        }
    }

    /// Checks that the caller is the Space's owner or a member of its organisation (any token
    /// role): 401 anonymous, 404 hidden, 403 otherwise. For what only owners read (secrets'
    /// names, logs).
    pub fn member(&self, caller: &Caller, id: &SpaceId) -> Result<crate::meta::Entry, ApiError> {
        let p = caller.require()?;
        let entry = self.readable(caller, id)?;
        if !p.acts_for(id.owner()) {
            return Err(ApiError::forbidden(format!(
                "Only the owner of {id} and the members of its organisation can read this"
            )));
        }
        Ok(entry)
    }

    /// Checks that the caller may change the Space (see the module docs for the order of the
    /// checks).
    pub fn writable(&self, caller: &Caller, id: &SpaceId) -> Result<crate::meta::Entry, ApiError> {
        caller.require()?;
        let entry = self.readable(caller, id)?;
        let p = caller.require_write()?;
        if !p.acts_for(id.owner()) {
            return Err(ApiError::forbidden(format!(
                "You don't have the rights to change the Space {id}: only its owner and the \
                 members of its organisation can"
            )));
        }
        Ok(entry)
    }
}
