//! Logs: runtime lines from the pod's status, then the app container's log through the API
//! server (stdout and stderr come merged from the kubelet: all are reported as
//! [`LogSource::Stdout`]).

use futures_util::io::AsyncBufReadExt;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams};
use tokio::sync::mpsc;

use super::instance::{self, describe, pod_state};
use super::objects::APP_CONTAINER;
use super::{api_error, names, KubernetesRuntime};
use crate::runtime::{InstanceId, InstanceState, LogLine, LogSource, LogStream};
use crate::Error;

/// How many lines wait for a slow reader.
pub const CHANNEL_LINES: usize = 1024;

/// Lines are cut at this many bytes.
pub const MAX_LINE: usize = 16 * 1024;

fn line(source: LogSource, mut text: String) -> LogLine {
    if text.len() > MAX_LINE {
        let mut end = MAX_LINE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" [truncated]");
    }
    LogLine { source, text }
}

/// The instance's log (see the [module docs](self)).
pub(crate) async fn stream(
    rt: &KubernetesRuntime,
    id: &InstanceId,
    follow: bool,
) -> Result<LogStream, Error> {
    let (name, _) = names::split_instance(&id.0).ok_or_else(|| Error::NotFound {
        what: format!("instance {id}"),
    })?;
    let (tx, rx) = mpsc::channel(CHANNEL_LINES);
    let running = instance::current(rt, id).await?.is_ok();
    let list = instance::pods(rt)
        .list(&ListParams::default().labels(&format!("{}={name}", names::LABEL_DEPLOYMENT)))
        .await
        .map_err(api_error(format!("listing the pods of {name}")))?;
    let pod: Option<Pod> = if running {
        list.items
            .into_iter()
            .find(|p| p.metadata.deletion_timestamp.is_none())
    } else {
        None
    };
    let mut header = vec![format!("instance {id}: deployment {name}")];
    let Some(pod) = pod else {
        header.push("no pod runs this instance (stopped, or not scheduled yet)".into());
        for text in header {
            let _ = tx.send(line(LogSource::Runtime, text)).await;
        }
        return Ok(LogStream::new(rx));
    };
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    header.push(format!(
        "pod {pod_name} on node {}: {}",
        pod.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or("(none)"),
        describe(&pod)
    ));
    let state = pod_state(&pod);
    if let Some(InstanceState::Exited { code, oom_killed }) = &state {
        header.push(format!(
            "the app exited{}{}",
            code.map(|c| format!(" with code {c}")).unwrap_or_default(),
            if *oom_killed {
                " (killed for memory)"
            } else {
                ""
            }
        ));
    }
    for text in header {
        let _ = tx.send(line(LogSource::Runtime, text)).await;
    }
    // A restarted container: its previous run is the instance's log.
    let previous = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.iter().find(|c| c.name == APP_CONTAINER))
        .is_some_and(|c| c.restart_count > 0);
    let params = LogParams {
        container: Some(APP_CONTAINER.into()),
        follow: follow && !previous,
        previous,
        ..LogParams::default()
    };
    let api = instance::pods(rt);
    if !params.follow {
        let text = match api.logs(&pod_name, &params).await {
            Ok(t) => t,
            Err(e) => {
                let _ = tx
                    .send(line(LogSource::Runtime, format!("no log yet: {e}")))
                    .await;
                String::new()
            }
        };
        tokio::spawn(async move {
            for l in text.lines() {
                if tx
                    .send(line(LogSource::Stdout, l.to_owned()))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        return Ok(LogStream::new(rx));
    }
    let reader = api
        .log_stream(&pod_name, &params)
        .await
        .map_err(api_error(format!("reading the log of {pod_name}")))?;
    tokio::spawn(async move {
        let mut lines = reader.lines();
        while let Some(Ok(l)) = lines.next().await {
            if tx.send(line(LogSource::Stdout, l)).await.is_err() {
                break;
            }
        }
    });
    Ok(LogStream::new(rx))
}
