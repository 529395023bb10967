//! The small HTML pages the front door answers with when it does not proxy: waking up, paused,
//! building, failed, no app file, not found; like the Hub's. Every value written into a page is
//! HTML-escaped.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use spaces_core::{SpaceId, Stage};

/// Escapes text for HTML (element content and quoted attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: `title`, a paragraph (already HTML), and a reload every `reload` seconds.
fn page(status: StatusCode, title: &str, body_html: &str, reload: Option<u32>) -> Response<Body> {
    let refresh = reload
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">"))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">{refresh}<title>{t}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;\
         padding:0 1rem;color:#222}}pre{{background:#f4f4f4;padding:1rem;overflow:auto;\
         white-space:pre-wrap}}.stage{{font-weight:bold}}</style></head><body>\
         <h1>{t}</h1>{body_html}</body></html>",
        t = escape(title)
    );
    let mut r = Response::new(Body::from(html));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if reload.is_some() || status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    r
}

/// The Space wakes: a page that reloads itself every 2 s.
pub fn waking(id: &SpaceId) -> Response<Body> {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("{id} is waking up"),
        "<p class=\"stage\" data-stage=\"APP_STARTING\">This Space was asleep and is starting. \
         The page reloads by itself as soon as it is ready.</p>",
        Some(2),
    )
}

/// The owner paused the Space.
pub fn paused(id: &SpaceId) -> Response<Body> {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("{id} is paused"),
        "<p class=\"stage\" data-stage=\"PAUSED\">This Space has been paused by its owner. \
         Only the owner can restart it.</p>",
        None,
    )
}

/// A stage that does not serve: building (reloads), an error or no app file (the owner sees
/// `log_tail`, the build log's or the error's tail).
pub fn not_serving(
    id: &SpaceId,
    stage: &Stage,
    message: Option<&str>,
    log_tail: Option<&str>,
) -> Response<Body> {
    let (title, text, reload) = match stage {
        Stage::Building | Stage::RunningBuilding => (
            format!("{id} is building"),
            "This Space is being built. The page reloads by itself when it is ready.",
            Some(5),
        ),
        Stage::NoAppFile => (
            format!("{id} has no app file"),
            "This Space's repository has no application file yet: push one (app.py, \
             index.html or a Dockerfile, by its SDK).",
            None,
        ),
        Stage::ConfigError => (
            format!("{id}: configuration error"),
            "This Space's README configuration cannot be used.",
            None,
        ),
        Stage::BuildError => (
            format!("{id}: build error"),
            "This Space's build failed.",
            None,
        ),
        Stage::RuntimeError => (
            format!("{id}: runtime error"),
            "This Space's app crashed or did not become healthy in time.",
            None,
        ),
        Stage::Stopped => (
            format!("{id} is stopped"),
            "This Space was stopped by the platform; its owner can restart it.",
            None,
        ),
        _ => (
            format!("{id} is not serving"),
            "This Space is not serving right now.",
            Some(5),
        ),
    };
    let mut body = format!(
        "<p class=\"stage\" data-stage=\"{s}\">Stage: {s}</p><p>{text}</p>",
        s = escape(stage.as_str())
    );
    if let Some(m) = message {
        body.push_str(&format!("<p>{}</p>", escape(m)));
    }
    if let Some(log) = log_tail {
        body.push_str(&format!(
            "<h2>Build log (the last lines)</h2><pre class=\"log\">{}</pre>",
            escape(log)
        ));
    }
    page(StatusCode::SERVICE_UNAVAILABLE, &title, &body, reload)
}

/// No Space at this host (or a private one the caller may not see).
pub fn not_found() -> Response<Body> {
    page(
        StatusCode::NOT_FOUND,
        "404: no such Space",
        "<p>Sorry, we can't find the Space you are looking for.</p>",
        None,
    )
}

/// Too many requests wait for this Space to wake.
pub fn queue_full(id: &SpaceId) -> Response<Body> {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("{id} is busy waking up"),
        "<p>Too many requests are waiting for this Space to start; try again in a moment.</p>",
        Some(2),
    )
}

/// The wake took longer than a request may wait.
pub fn wake_timed_out(id: &SpaceId) -> Response<Body> {
    page(
        StatusCode::GATEWAY_TIMEOUT,
        &format!("{id} did not start in time"),
        "<p>The Space is still starting; try again in a moment.</p>",
        None,
    )
}

/// The app did not answer.
pub fn bad_gateway(id: &SpaceId, timed_out: bool) -> Response<Body> {
    let (status, text) = if timed_out {
        (
            StatusCode::GATEWAY_TIMEOUT,
            "The Space's app did not answer in time.",
        )
    } else {
        (
            StatusCode::BAD_GATEWAY,
            "The Space's app could not be reached.",
        )
    };
    page(
        status,
        &format!("{id}: no answer"),
        &format!("<p>{text}</p>"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
