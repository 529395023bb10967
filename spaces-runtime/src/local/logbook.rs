//! An instance's log: kept lines plus followers that receive new lines as they come.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::mpsc;

use crate::runtime::{LogLine, LogSource, LogStream};

/// How many lines an instance keeps.
const KEPT_LINES: usize = 10_000;

#[derive(Debug, Default)]
struct Inner {
    lines: VecDeque<LogLine>,
    followers: Vec<mpsc::UnboundedSender<LogLine>>,
    closed: bool,
}

/// The log of one instance.
#[derive(Debug, Default)]
pub(crate) struct Logbook {
    inner: Mutex<Inner>,
}

impl Logbook {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a line and hands it to the followers.
    pub(crate) fn push(&self, source: LogSource, text: impl Into<String>) {
        let line = LogLine {
            source,
            text: text.into(),
        };
        let mut inner = self.lock();
        inner.followers.retain(|f| f.send(line.clone()).is_ok());
        if inner.lines.len() == KEPT_LINES {
            inner.lines.pop_front();
        }
        inner.lines.push_back(line);
    }

    /// No more lines will come: followers' streams end.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.followers.clear();
    }

    /// A stream of the kept lines and, with `follow`, the lines to come.
    pub(crate) fn stream(&self, follow: bool) -> LogStream {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut inner = self.lock();
        for line in &inner.lines {
            // The receiver is alive: it is in this function.
            let _ = tx.send(line.clone());
        }
        if follow && !inner.closed {
            inner.followers.push(tx);
        } else {
            drop(tx);
        }
        drop(inner);
        // Bridge the unbounded channel to the bounded one LogStream holds.
        let (out_tx, out_rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if out_tx.send(line).await.is_err() {
                    break;
                }
            }
        });
        LogStream::new(out_rx)
    }
}
