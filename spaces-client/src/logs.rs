//! Logs: `GET /api/spaces/{id}/logs/{build|run}` (server-sent events, hub-api.md §5.4) as a
//! [`Stream`] of [`LogLine`]s.
//!
//! Only lines starting with `data: {` are events (keep-alives are skipped). Without `follow`, a
//! single connection is read until the server ends it or stays silent for 5 s. With `follow`,
//! `?follow=true` is sent (spaces-server streams new run lines only when asked; the Hub ignores
//! the parameter) and a dropped connection or 120 s of silence reconnects, up to 5 times in a
//! row with 1–10 s of backoff, skipping the events already yielded (counted by index, as the
//! official client does). HTTP errors are never retried.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use spaces_core::{SpaceId, Timestamp};

use crate::client::Client;
use crate::error::Error;
use crate::retry::{Call, Idempotent};

/// Which log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// The last build's log (`/logs/build`).
    Build,
    /// The running app's log (`/logs/run`).
    Run,
}

impl LogKind {
    fn path(self) -> &'static str {
        match self {
            LogKind::Build => "build",
            LogKind::Run => "run",
        }
    }
}

/// One event of a log stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// `data`: the text, usually ending with a newline.
    pub text: String,
    /// `timestamp`.
    pub timestamp: Option<Timestamp>,
}

const NO_FOLLOW_SILENCE: Duration = Duration::from_secs(5);
const FOLLOW_SILENCE: Duration = Duration::from_secs(120);
const MAX_RETRIES: u32 = 5;

/// A response body as a stream of chunks.
type Chunks = Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

struct Reader {
    client: Client,
    url: String,
    follow: bool,
    body: Option<Chunks>,
    partial: Vec<u8>,
    ready: VecDeque<LogLine>,
    /// Events yielded so far (skipped on a reconnect).
    seen: usize,
    /// Index of the next event on the current connection.
    index: usize,
    tries: u32,
    wait: Duration,
    done: bool,
}

/// The event of one SSE line, if it is one.
pub fn parse_event(line: &str) -> Option<LogLine> {
    let data = line.strip_prefix("data: ")?;
    if !data.starts_with('{') {
        return None;
    }
    let v: Value = serde_json::from_str(data).ok()?;
    Some(LogLine {
        text: v
            .get("data")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        timestamp: v
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok()),
    })
}

impl Reader {
    fn take_lines(&mut self) {
        while let Some(pos) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            if let Some(ev) = parse_event(text) {
                if self.index >= self.seen {
                    self.ready.push_back(ev);
                    self.seen += 1;
                    self.tries = 0;
                    self.wait = Duration::ZERO;
                }
                self.index += 1;
            }
        }
    }

    /// After a dropped connection: `Ok` to reconnect (after a backoff), or the error to end with.
    async fn retry_or(&mut self, err: Error) -> Result<(), Error> {
        self.body = None;
        self.partial.clear();
        if !self.follow || self.tries >= MAX_RETRIES {
            return Err(err);
        }
        self.tries += 1;
        self.wait = (self.wait * 2).clamp(Duration::from_secs(1), Duration::from_secs(10));
        tracing::warn!(url = %self.url, error = %err, wait = ?self.wait, "log stream dropped; reconnecting");
        tokio::time::sleep(self.wait).await;
        Ok(())
    }

    async fn next_line(&mut self) -> Option<Result<LogLine, Error>> {
        loop {
            if let Some(l) = self.ready.pop_front() {
                return Some(Ok(l));
            }
            if self.done {
                return None;
            }
            if self.body.is_none() {
                let mut call = Call::new(Method::GET, self.url.clone(), Idempotent::No);
                if self.follow {
                    call = call.query("follow", "true");
                }
                match self.client.send(call).await {
                    Ok(r) => {
                        self.index = 0;
                        self.body = Some(Box::pin(r.bytes_stream().map(|c| c.map(|b| b.to_vec()))));
                    }
                    Err(e @ Error::Transport { .. }) => match self.retry_or(e).await {
                        Ok(()) => continue,
                        Err(e) => {
                            self.done = true;
                            return Some(Err(e));
                        }
                    },
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
            let silence = if self.follow {
                FOLLOW_SILENCE
            } else {
                NO_FOLLOW_SILENCE
            };
            let Some(body) = self.body.as_mut() else {
                continue;
            };
            match tokio::time::timeout(silence, body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    self.partial.extend_from_slice(&chunk);
                    self.take_lines();
                }
                Ok(None) => {
                    // The server ended the stream: the log is complete.
                    self.partial.push(b'\n');
                    self.take_lines();
                    self.done = true;
                }
                Ok(Some(Err(e))) => {
                    let err = Error::Transport {
                        url: self.url.clone(),
                        source: e.without_url(),
                    };
                    if let Err(e) = self.retry_or(err).await {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                Err(_) if !self.follow => {
                    // No-follow: silence means the buffer is drained.
                    self.done = true;
                }
                Err(_) => {
                    if self.tries >= MAX_RETRIES {
                        self.done = true;
                        continue;
                    }
                    let err = Error::Decode {
                        url: self.url.clone(),
                        message: format!("no event for {} s", silence.as_secs()),
                    };
                    if let Err(e) = self.retry_or(err).await {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
        }
    }
}

impl Client {
    /// A Space's build or run log as a stream of lines; see the module doc for `follow`.
    pub fn logs(
        &self,
        id: &SpaceId,
        kind: LogKind,
        follow: bool,
    ) -> impl Stream<Item = Result<LogLine, Error>> + Send + Unpin {
        let reader = Reader {
            client: self.clone(),
            url: self.api(&format!("spaces/{id}/logs/{}", kind.path())),
            follow,
            body: None,
            partial: Vec::new(),
            ready: VecDeque::new(),
            seen: 0,
            index: 0,
            tries: 0,
            wait: Duration::ZERO,
            done: false,
        };
        Box::pin(stream::unfold(reader, |mut r| async move {
            let item = r.next_line().await?;
            Some((item, r))
        }))
    }
}
