//! An instance's log, read from the engine: runtime lines derived from the container's inspection
//! (never its environment), then stdout and stderr demultiplexed, line by line.
//!
//! Memory is bounded whatever the app writes and however slowly the log is read:
//! - a line longer than [`MAX_LINE`] bytes is cut there and ends with [`TRUNCATED`]; the rest of
//!   it, up to its newline, is dropped (an app writing without newlines holds at most
//!   `MAX_LINE` bytes per stream);
//! - the channel to the reader holds at most [`CHANNEL_LINES`] lines. A slow reader makes the
//!   copy wait (the engine keeps the log in its log driver, on disk), so nothing is lost and
//!   nothing grows here;
//! - the copy ends as soon as the reader drops its [`LogStream`], even while the app is silent
//!   (so an abandoned follower holds no task and no engine connection).

use bollard::container::LogOutput;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{InspectContainerOptions, LogsOptions};
use futures_util::StreamExt;
use spaces_core::DATA_DIR;
use tokio::sync::mpsc;

use super::{engine_error, names, status_of, DockerRuntime};
use crate::runtime::{InstanceId, LogLine, LogSource, LogStream};
use crate::Error;

/// The longest log line kept, in bytes (16 KiB); longer ones are cut.
pub const MAX_LINE: usize = 16 * 1024;

/// What ends a line that was cut at [`MAX_LINE`].
pub const TRUNCATED: &str = " [line truncated]";

/// How many lines the channel to a log's reader holds.
pub const CHANNEL_LINES: usize = 256;

fn runtime_line(text: impl Into<String>) -> LogLine {
    LogLine {
        source: LogSource::Runtime,
        text: text.into(),
    }
}

/// What the runtime says about a container, from its inspection. Only names, labels the backend
/// set, limits, ports and mounts: never `Env`, `Cmd` or other labels.
fn preamble(info: &ContainerInspectResponse) -> Vec<LogLine> {
    let mut lines = Vec::new();
    let name = info.name.as_deref().unwrap_or("?").trim_start_matches('/');
    let labels = info.config.as_ref().and_then(|c| c.labels.as_ref());
    let label = |key: &str| {
        labels
            .and_then(|l| l.get(key))
            .map_or("?", String::as_str)
            .to_owned()
    };
    let image = info
        .config
        .as_ref()
        .and_then(|c| c.image.as_deref())
        .unwrap_or("?");
    lines.push(runtime_line(format!(
        "container {name} of {} at revision {} from image {image}",
        label(names::LABEL_SPACE),
        label(names::LABEL_REVISION)
    )));
    if let Some(started) = info.state.as_ref().and_then(|s| s.started_at.as_ref()) {
        lines.push(runtime_line(format!("started at {started}")));
    }
    let host = info.host_config.as_ref();
    let cpus = host.and_then(|h| h.nano_cpus).filter(|n| *n > 0);
    let memory = host.and_then(|h| h.memory).filter(|m| *m > 0);
    if cpus.is_some() || memory.is_some() {
        lines.push(runtime_line(format!(
            "limits: {} CPU, {} memory (no swap)",
            cpus.map_or_else(|| "no".into(), |n| format!("{}", n / 1_000_000_000)),
            memory.map_or_else(|| "no".into(), |m| format!("{} GiB", m >> 30)),
        )));
    }
    let env_count = info
        .config
        .as_ref()
        .and_then(|c| c.env.as_ref())
        .map_or(0, Vec::len);
    lines.push(runtime_line(format!(
        "{env_count} environment variables (values not shown), user {}",
        info.config
            .as_ref()
            .and_then(|c| c.user.as_deref())
            .filter(|u| !u.is_empty())
            .unwrap_or("of the image")
    )));
    if let Some(ports) = info
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
    {
        for (port, bindings) in ports {
            for b in bindings.iter().flatten() {
                lines.push(runtime_line(format!(
                    "app port {port} published on {}:{}",
                    b.host_ip.as_deref().unwrap_or("?"),
                    b.host_port.as_deref().unwrap_or("?")
                )));
            }
        }
    }
    for m in info.mounts.iter().flatten() {
        if m.destination.as_deref() == Some(DATA_DIR) {
            lines.push(runtime_line(format!(
                "persistent storage: volume {} at {DATA_DIR}",
                m.name.as_deref().unwrap_or("?")
            )));
        }
    }
    lines
}

fn state_line(info: &ContainerInspectResponse) -> Option<LogLine> {
    let state = info.state.as_ref()?;
    if state.running.unwrap_or(false) {
        return None;
    }
    Some(runtime_line(format!(
        "exited with code {}{}",
        state
            .exit_code
            .map_or_else(|| "unknown".into(), |c| c.to_string()),
        if state.oom_killed.unwrap_or(false) {
            " (killed for memory)"
        } else {
            ""
        }
    )))
}

/// One stream's partial line: at most [`MAX_LINE`] bytes, and whether the line it belongs to
/// was already cut (its rest is dropped up to the newline). Also splits the build log.
#[derive(Default)]
pub(crate) struct Partial {
    buf: Vec<u8>,
    cut: bool,
}

impl Partial {
    /// Adds a chunk; the lines it completes (or cuts) go to `out`, without their newline.
    pub(crate) fn push(&mut self, mut chunk: &[u8], out: &mut Vec<String>) {
        while !chunk.is_empty() {
            let end = chunk.iter().position(|b| *b == b'\n');
            let (piece, rest) = match end {
                Some(i) => (&chunk[..i], Some(&chunk[i + 1..])),
                None => (chunk, None),
            };
            if !self.cut {
                let room = MAX_LINE.saturating_sub(self.buf.len());
                self.buf.extend_from_slice(&piece[..piece.len().min(room)]);
                if piece.len() > room {
                    let mut text = String::from_utf8_lossy(&self.buf).into_owned();
                    text.push_str(TRUNCATED);
                    out.push(text);
                    self.buf.clear();
                    self.cut = true;
                }
            }
            match rest {
                Some(rest) => {
                    if !self.cut {
                        out.push(text_of(&self.buf));
                    }
                    self.buf.clear();
                    self.cut = false;
                    chunk = rest;
                }
                None => break,
            }
        }
    }

    /// The last line, when it had no newline.
    pub(crate) fn finish(self) -> Option<String> {
        (!self.cut && !self.buf.is_empty()).then(|| text_of(&self.buf))
    }
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches('\r')
        .to_owned()
}

/// Splits chunks into lines per source, keeping a partial line until its end comes.
#[derive(Default)]
struct Lines {
    out: Partial,
    err: Partial,
}

impl Lines {
    fn push(&mut self, source: LogSource, chunk: &[u8]) -> Vec<LogLine> {
        let partial = match source {
            LogSource::Stderr => &mut self.err,
            _ => &mut self.out,
        };
        let mut texts = Vec::new();
        partial.push(chunk, &mut texts);
        texts
            .into_iter()
            .map(|text| LogLine { source, text })
            .collect()
    }

    fn finish(self) -> Vec<LogLine> {
        [
            self.out.finish().map(|text| LogLine {
                source: LogSource::Stdout,
                text,
            }),
            self.err.finish().map(|text| LogLine {
                source: LogSource::Stderr,
                text,
            }),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The log of an instance: what was logged so far and, with `follow`, what comes next (the
/// stream ends when the container stops).
pub(crate) async fn stream(
    rt: &DockerRuntime,
    id: &InstanceId,
    follow: bool,
) -> Result<LogStream, Error> {
    let (tx, rx) = mpsc::channel(CHANNEL_LINES);
    if rt.is_stopped(id) {
        let _ = tx.try_send(runtime_line(format!(
            "instance {id} was stopped; its container and its log are gone"
        )));
        return Ok(LogStream::new(rx));
    }
    let info = rt
        .docker
        .inspect_container(&id.0, None::<InspectContainerOptions>)
        .await
        .map_err(|e| {
            if status_of(&e) == Some(404) {
                Error::NotFound {
                    what: format!("instance {id}"),
                }
            } else {
                engine_error(format!("inspecting container {id}"))(e)
            }
        })?;
    let docker = rt.docker.clone();
    let id = id.clone();
    let open = LogTask::new(&rt.log_tasks);
    tokio::spawn(async move {
        let _open = open;
        for line in preamble(&info) {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let mut logs = docker.logs(
            &id.0,
            Some(LogsOptions {
                follow,
                stdout: true,
                stderr: true,
                tail: "all".into(),
                ..Default::default()
            }),
        );
        let mut lines = Lines::default();
        loop {
            // The reader may leave while the app is silent: stop waiting for the engine then.
            let item = tokio::select! {
                item = logs.next() => item,
                () = tx.closed() => return,
            };
            let Some(item) = item else { break };
            let out = match item {
                Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                    lines.push(LogSource::Stdout, &message)
                }
                Ok(LogOutput::StdErr { message }) => lines.push(LogSource::Stderr, &message),
                Ok(LogOutput::StdIn { .. }) => Vec::new(),
                Err(e) => vec![runtime_line(format!("log stream ended: {e}"))],
            };
            for line in out {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        }
        for line in lines.finish() {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let last = docker
            .inspect_container(&id.0, None::<InspectContainerOptions>)
            .await
            .ok()
            .and_then(|i| state_line(&i));
        if let Some(line) = last {
            let _ = tx.send(line).await;
        }
    });
    Ok(LogStream::new(rx))
}

/// Counts a log copy while it runs (see [`DockerRuntime::log_tasks`]).
struct LogTask(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl LogTask {
    fn new(count: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(std::sync::Arc::clone(count))
    }
}

impl Drop for LogTask {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_with_a_marker_and_their_rest_dropped() {
        let mut l = Lines::default();
        let mut got = Vec::new();
        // 1 MiB without a newline, in 4 KiB chunks: one cut line, nothing held beyond MAX_LINE.
        for _ in 0..256 {
            got.extend(l.push(LogSource::Stdout, &[b'a'; 4096]));
            assert!(l.out.buf.len() <= MAX_LINE);
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text.len(), MAX_LINE + TRUNCATED.len());
        assert!(got[0].text.ends_with(TRUNCATED));
        // Its end comes: dropped; the next line is whole.
        let got = l.push(LogSource::Stdout, b"aaa\nnext\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, "next");
        // A line of exactly MAX_LINE bytes is kept whole; one more byte cuts it.
        let mut exact = vec![b'b'; MAX_LINE];
        exact.push(b'\n');
        assert_eq!(l.push(LogSource::Stderr, &exact)[0].text.len(), MAX_LINE);
        let mut over = vec![b'c'; MAX_LINE + 1];
        over.push(b'\n');
        let got = l.push(LogSource::Stderr, &over);
        assert_eq!(got.len(), 1);
        assert!(got[0].text.ends_with(TRUNCATED));
        assert!(l.finish().is_empty());
    }

    #[test]
    fn a_multibyte_character_split_across_chunks_is_kept() {
        let mut l = Lines::default();
        let bytes = "héllo\n".as_bytes();
        assert!(l.push(LogSource::Stdout, &bytes[..2]).is_empty());
        assert_eq!(l.push(LogSource::Stdout, &bytes[2..])[0].text, "héllo");
    }

    #[test]
    fn chunks_are_split_into_lines_per_source() {
        let mut l = Lines::default();
        assert!(l.push(LogSource::Stdout, b"hel").is_empty());
        let got = l.push(LogSource::Stderr, b"oops\n");
        assert_eq!(got[0].source, LogSource::Stderr);
        let got = l.push(LogSource::Stdout, b"lo\nwor");
        assert_eq!(got[0].text, "hello");
        assert_eq!(l.finish()[0].text, "wor");
    }
}
