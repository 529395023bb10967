//! An instance's log, read from the engine: runtime lines derived from the container's inspection
//! (never its environment), then stdout and stderr demultiplexed, line by line.

use bollard::container::LogOutput;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{InspectContainerOptions, LogsOptions};
use futures_util::StreamExt;
use spaces_core::DATA_DIR;
use tokio::sync::mpsc;

use super::{engine_error, names, status_of, DockerRuntime};
use crate::runtime::{InstanceId, LogLine, LogSource, LogStream};
use crate::Error;

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

/// Splits chunks into lines per source, keeping a partial line until its end comes.
#[derive(Default)]
struct Lines {
    out: String,
    err: String,
}

impl Lines {
    fn push(&mut self, source: LogSource, chunk: &[u8]) -> Vec<LogLine> {
        let buf = match source {
            LogSource::Stderr => &mut self.err,
            _ => &mut self.out,
        };
        buf.push_str(&String::from_utf8_lossy(chunk));
        let mut lines = Vec::new();
        while let Some(end) = buf.find('\n') {
            let line: String = buf.drain(..=end).collect();
            lines.push(LogLine {
                source,
                text: line.trim_end_matches(['\n', '\r']).to_owned(),
            });
        }
        lines
    }

    fn finish(self) -> Vec<LogLine> {
        [(LogSource::Stdout, self.out), (LogSource::Stderr, self.err)]
            .into_iter()
            .filter(|(_, rest)| !rest.is_empty())
            .map(|(source, text)| LogLine { source, text })
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
    let (tx, rx) = mpsc::channel(1024);
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
    tokio::spawn(async move {
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
        while let Some(item) = logs.next().await {
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

#[cfg(test)]
mod tests {
    use super::*;

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
