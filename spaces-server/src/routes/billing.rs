//! The billing view (an extension of this server): `GET /api/billing/{namespace}/{YYYY-MM}`,
//! the invoice of the namespace's Spaces for that month in the JSON of billing.md, rated from
//! the usage ledger against the server's catalog. Only the user or a member of the
//! organisation may read it.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use spaces_billing::Period;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::App;

/// `GET /api/billing/{namespace}/{period}`.
pub(crate) async fn invoice(
    State(app): State<App>,
    Path((namespace, period)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let p = caller.require()?;
    let period: Period = period
        .parse()
        .map_err(|e| ApiError::bad_request(format!("`period` must be YYYY-MM: {e}")))?;
    if !p.acts_for(&namespace) {
        return Err(ApiError::forbidden(format!(
            "Only `{namespace}` and the members of the organisation `{namespace}` can read its billing"
        )));
    }
    let (ledger, catalog) = (std::sync::Arc::clone(&app.ledger), app.catalog.clone());
    let invoice = tokio::task::spawn_blocking(move || ledger.invoice(&namespace, period, &catalog))
        .await
        .map_err(|e| ApiError::internal(format!("rating usage: {e}")))?
        .map_err(|e| ApiError::internal(format!("rating usage: {e}")))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        invoice.to_json(),
    )
        .into_response())
}
