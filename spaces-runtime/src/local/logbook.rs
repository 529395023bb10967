//! An instance's log: kept lines plus followers that receive new lines as they come.
//!
//! Everything here is bounded: at most [`KEPT_LINES`] lines and [`KEPT_BYTES`] bytes are kept
//! (the oldest go first), a line longer than [`MAX_LINE_BYTES`] is cut with a marker, and each
//! follower has a channel of [`FOLLOW_BUFFER`] lines. A follower that does not keep up loses lines
//! (and is told how many in a marker line) instead of making the log grow; the app's pipe reader
//! never waits for a follower.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::Mutex;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::runtime::{LogLine, LogSource, LogStream};

/// How many lines an instance keeps.
pub(crate) const KEPT_LINES: usize = 10_000;

/// How many bytes of text an instance keeps.
pub(crate) const KEPT_BYTES: usize = 4 * 1024 * 1024;

/// The longest line kept whole, in bytes; longer lines are cut with a marker.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024;

/// How many new lines a follower may have unread before it loses lines.
pub(crate) const FOLLOW_BUFFER: usize = 1024;

#[derive(Debug)]
struct Follower {
    tx: mpsc::Sender<LogLine>,
    /// Lines lost since the last one delivered.
    dropped: u64,
}

impl Follower {
    fn lost_marker(&self) -> LogLine {
        LogLine {
            source: LogSource::Runtime,
            text: format!(
                "[{} log lines dropped: this reader did not keep up]",
                self.dropped
            ),
        }
    }

    /// Delivers a line without waiting. One slot is always kept free for the marker that says
    /// lines were lost. Returns false once the reader is gone.
    fn offer(&mut self, line: &LogLine) -> bool {
        if self.tx.is_closed() {
            return false;
        }
        if self.dropped > 0 {
            if self.tx.capacity() < 2 {
                self.dropped += 1;
                return true;
            }
            if self.tx.try_send(self.lost_marker()).is_err() {
                return !self.tx.is_closed();
            }
            self.dropped = 0;
        }
        if self.tx.capacity() < 2 {
            self.dropped += 1;
            return true;
        }
        match self.tx.try_send(line.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// The stream ends: the reader learns what it lost, in the slot kept for it.
    fn finish(self) {
        if self.dropped > 0 {
            let _ = self.tx.try_send(self.lost_marker());
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    lines: VecDeque<LogLine>,
    bytes: usize,
    followers: Vec<Follower>,
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

    /// Appends a line (cut at [`MAX_LINE_BYTES`]) and offers it to the followers. Never waits.
    pub(crate) fn push(&self, source: LogSource, text: impl Into<String>) {
        self.append(LogLine {
            source,
            text: cap_line(text.into()),
        });
    }

    /// Appends a line already cut to size (by [`line_text`]).
    fn append(&self, line: LogLine) {
        let mut inner = self.lock();
        if inner.closed {
            return;
        }
        inner.followers.retain_mut(|f| f.offer(&line));
        inner.bytes += line.text.len();
        inner.lines.push_back(line);
        while inner.lines.len() > KEPT_LINES || inner.bytes > KEPT_BYTES {
            match inner.lines.pop_front() {
                Some(old) => inner.bytes -= old.text.len(),
                None => break,
            }
        }
    }

    /// No more lines will come: followers' streams end.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        for follower in inner.followers.drain(..) {
            follower.finish();
        }
    }

    /// A stream of the kept lines and, with `follow`, the lines to come.
    pub(crate) fn stream(&self, follow: bool) -> LogStream {
        let mut inner = self.lock();
        // Room for every kept line, then FOLLOW_BUFFER new ones (the last slot is the marker's).
        let (tx, rx) = mpsc::channel(inner.lines.len() + FOLLOW_BUFFER + 1);
        for line in &inner.lines {
            // Cannot fail: the channel has room for all of them and its receiver is here.
            let _ = tx.try_send(line.clone());
        }
        if follow && !inner.closed {
            inner.followers.push(Follower { tx, dropped: 0 });
        }
        LogStream::new(rx)
    }
}

/// Cuts a line longer than [`MAX_LINE_BYTES`] at a character boundary and says so.
fn cap_line(mut text: String) -> String {
    if text.len() <= MAX_LINE_BYTES {
        return text;
    }
    let total = text.len();
    let mut cut = MAX_LINE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push_str(&format!(
        " [line truncated: {total} bytes, first {cut} kept]"
    ));
    text
}

/// Reads one line into `buf`, keeping at most `cap` bytes of it; the rest of a longer line is
/// read and thrown away. Returns the line's full length without its `\n` (`None` at the end).
async fn read_capped_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<usize>> {
    buf.clear();
    let mut total = 0usize;
    let mut read_any = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(read_any.then_some(total));
        }
        read_any = true;
        let (len, newline) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..len.min(room)]);
        total = total.saturating_add(len);
        reader.consume(len + usize::from(newline));
        if newline {
            return Ok(Some(total));
        }
    }
}

/// The text of a line read by [`read_capped_line`]: invalid UTF-8 replaced, a trailing `\r`
/// dropped, a cut line marked.
fn line_text(buf: &[u8], total: usize) -> String {
    if total > buf.len() {
        // Do not end on half a character.
        let valid = match std::str::from_utf8(buf) {
            Ok(_) => buf.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => buf.len(),
        };
        let kept = String::from_utf8_lossy(&buf[..valid]);
        return format!("{kept} [line truncated: {total} bytes, first {valid} kept]");
    }
    let buf = buf.strip_suffix(b"\r").unwrap_or(buf);
    String::from_utf8_lossy(buf).into_owned()
}

/// Copies an app's output into its log, line by line, until the pipe closes. Bytes that are not
/// UTF-8 are replaced; lines are cut at [`MAX_LINE_BYTES`].
pub(crate) fn pipe_lines<R>(reader: R, source: LogSource, log: Arc<Logbook>)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut buf = Vec::new();
        while let Ok(Some(total)) = read_capped_line(&mut reader, &mut buf, MAX_LINE_BYTES).await {
            log.append(LogLine {
                source,
                text: line_text(&buf, total),
            });
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    async fn texts(stream: &mut LogStream) -> Vec<String> {
        stream
            .collect_for(Duration::from_millis(100))
            .await
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[tokio::test]
    async fn long_lines_are_cut_with_a_marker_and_bad_utf8_does_not_stop_the_reader() {
        let log = Arc::new(Logbook::default());
        let (mut w, r) = tokio::io::duplex(4096);
        pipe_lines(r, LogSource::Stdout, Arc::clone(&log));
        let long = "é".repeat(100_000); // 200,000 bytes, no newline for a while
        w.write_all(long.as_bytes()).await.unwrap();
        w.write_all(b"\n\xff\xfe bad\r\nafter\nlast without newline")
            .await
            .unwrap();
        drop(w);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let lines = texts(&mut log.stream(false)).await;
        assert_eq!(
            lines.len(),
            4,
            "{:?}",
            lines.iter().map(|l| l.len()).collect::<Vec<_>>()
        );
        assert!(lines[0].len() < MAX_LINE_BYTES + 100, "{}", lines[0].len());
        assert!(lines[0].starts_with("éé"));
        assert!(lines[0].ends_with("[line truncated: 200000 bytes, first 16384 kept]"));
        assert_eq!(lines[1], "\u{fffd}\u{fffd} bad");
        assert_eq!(lines[2], "after");
        assert_eq!(lines[3], "last without newline");

        // Lines pushed directly are cut the same way.
        log.push(LogSource::Runtime, "x".repeat(MAX_LINE_BYTES + 1));
        let last = texts(&mut log.stream(false)).await.pop().unwrap();
        assert!(last.starts_with(&"x".repeat(MAX_LINE_BYTES)));
        assert!(last.ends_with("[line truncated: 16385 bytes, first 16384 kept]"));
    }

    #[tokio::test]
    async fn a_slow_follower_loses_lines_with_a_marker_instead_of_growing_memory() {
        let log = Logbook::default();
        log.push(LogSource::Stdout, "before");
        let mut follower = log.stream(true);
        for i in 0..10 * FOLLOW_BUFFER {
            log.push(LogSource::Stdout, format!("line {i}"));
        }
        log.close();
        let lines = texts(&mut follower).await;
        // The kept line, FOLLOW_BUFFER new ones, then the marker in the reserved slot.
        assert_eq!(lines.len(), FOLLOW_BUFFER + 2);
        assert_eq!(lines[0], "before");
        assert_eq!(lines[FOLLOW_BUFFER], format!("line {}", FOLLOW_BUFFER - 1));
        let lost = 9 * FOLLOW_BUFFER;
        assert_eq!(
            lines[FOLLOW_BUFFER + 1],
            format!("[{lost} log lines dropped: this reader did not keep up]")
        );
    }

    #[tokio::test]
    async fn a_follower_that_catches_up_gets_the_marker_then_new_lines() {
        let log = Logbook::default();
        let mut follower = log.stream(true);
        for i in 0..FOLLOW_BUFFER + 10 {
            log.push(LogSource::Stdout, format!("line {i}"));
        }
        assert_eq!(texts(&mut follower).await.len(), FOLLOW_BUFFER);
        log.push(LogSource::Stdout, "fresh");
        let lines = texts(&mut follower).await;
        assert_eq!(
            lines,
            [
                "[10 log lines dropped: this reader did not keep up]".to_string(),
                "fresh".to_string()
            ]
        );
    }

    #[test]
    fn kept_lines_are_bounded_in_count_and_bytes() {
        let log = Logbook::default();
        for _ in 0..(KEPT_BYTES / MAX_LINE_BYTES) * 2 {
            log.push(LogSource::Stdout, "y".repeat(MAX_LINE_BYTES));
        }
        {
            let inner = log.lock();
            assert!(inner.bytes <= KEPT_BYTES);
            assert_eq!(
                inner.bytes,
                inner.lines.iter().map(|l| l.text.len()).sum::<usize>()
            );
        }
        for i in 0..KEPT_LINES + 5 {
            log.push(LogSource::Stdout, format!("{i}"));
        }
        assert_eq!(log.lock().lines.len(), KEPT_LINES);
    }
}
