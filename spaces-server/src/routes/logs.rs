//! Logs: `GET /api/spaces/{id}/logs/build` and `/logs/run`, as server-sent events of the form
//! `data: {"data": "<line>", "timestamp": "<ISO-8601>"}`.
//!
//! Build logs are the supervisor's kept log of the last build. Run logs are the serving (or
//! starting) instance's; a Space with no instance has none (an empty stream). Without
//! `?follow=true` the stream ends after what was logged so far (huggingface_hub's no-follow
//! mode returns at once); with it, new run log lines follow until the instance stops, with a
//! keep-alive comment every 30 s (longer than the client's 5 s no-follow read timeout, shorter
//! than its 120 s follow timeout). Only the owner and the members of its organisation read logs.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use spaces_runtime::LogStream;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::wire::iso;
use crate::App;

fn event(line: &str) -> Result<Event, Infallible> {
    let data =
        serde_json::json!({"data": format!("{line}\n"), "timestamp": iso(jiff::Timestamp::now())});
    Ok(Event::default().data(data.to_string()))
}

fn sse<S>(s: S) -> Response
where
    S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    Sse::new(s)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(30)))
        .into_response()
}

/// `GET /api/spaces/{id}/logs/{build|run}[?follow=true]`.
pub(crate) async fn logs(
    State(app): State<App>,
    Path((namespace, name, kind)): Path<(String, String, String)>,
    Query(q): Query<Vec<(String, String)>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let id = super::space_id(&namespace, &name)?;
    let follow = q
        .iter()
        .any(|(k, v)| k == "follow" && (v.eq_ignore_ascii_case("true") || v == "1"));
    match kind.as_str() {
        "build" => {
            app.member(&caller, &id)?;
            let lines = app.sup.build_log(&id)?;
            Ok(sse(stream::iter(lines).map(|l| event(&l))))
        }
        "run" => {
            app.member(&caller, &id)?;
            let logs = match app.sup.logs(&id, follow).await {
                Ok(s) => Some(s),
                Err(spaces_runtime::Error::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            let lines = stream::unfold(logs, |logs: Option<LogStream>| async move {
                let mut logs = logs?;
                let line = logs.next().await?;
                Some((event(&line.text), Some(logs)))
            });
            Ok(sse(lines))
        }
        other => Err(ApiError::NotFound {
            message: format!("no `{other}` logs: use /logs/build or /logs/run"),
        }),
    }
}
