//! The controller loop: watches nodes and pods, feeds the [state](super::state), and carries
//! out what it decides (bindings, events) with bounded concurrency.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};
use tokio::sync::{mpsc, Semaphore};

use super::api;
use super::config::SchedulerConfig;
use super::state::{BindJob, BindOutcome, ClusterState, Next};
use crate::Error;

/// A Kubernetes scheduler placing pods whose `schedulerName` is ours with
/// [`crate::scheduler::Scheduler`]; see the [module documentation](super).
#[derive(Clone)]
pub struct SpacesScheduler {
    client: Client,
    config: SchedulerConfig,
}

impl std::fmt::Debug for SpacesScheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpacesScheduler")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Where a watch restart (relist) is: the keys listed so far.
#[derive(Default)]
struct Relist {
    seen: Option<HashSet<String>>,
    done_once: bool,
}

impl SpacesScheduler {
    /// A scheduler talking to the API server through `client`.
    pub fn new(client: Client, config: SchedulerConfig) -> Self {
        Self { client, config }
    }

    /// Its settings.
    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// Runs until a watch ends for good (it retries with backoff on errors, so in practice until
    /// the future is dropped). Bindings and events already sent to the API server are finished
    /// by their own tasks even if this future is dropped, so no pod is left half-told.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when a watch stream ends.
    pub async fn run(self) -> Result<(), Error> {
        let config = self.config.clone();
        let client = self.client.clone();
        let nodes_api: Api<Node> = Api::all(client.clone());
        // Every namespace's pods, even with `config.namespace`: all bound pods count on nodes.
        let pods_api: Api<Pod> = Api::all(client.clone());
        let mut nodes = watcher::watcher(nodes_api, watcher::Config::default())
            .default_backoff()
            .boxed();
        let pod_filter = watcher::Config::default()
            .fields("status.phase!=Succeeded,status.phase!=Failed")
            .page_size(1000);
        let mut pods = watcher::watcher(pods_api, pod_filter)
            .default_backoff()
            .boxed();

        let mut state = ClusterState::new(config.clone());
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(BindJob, BindOutcome)>();
        let reports = Arc::new(Semaphore::new(config.concurrency));
        let mut in_flight = 0usize;
        let mut node_relist = Relist::default();
        let mut pod_relist = Relist::default();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut last_retry = Instant::now();
        loop {
            tokio::select! {
                Some((job, outcome)) = done_rx.recv() => {
                    in_flight = in_flight.saturating_sub(1);
                    state.bind_done(&job, outcome);
                }
                event = nodes.next() => match event {
                    Some(Ok(e)) => on_node(&mut state, &mut node_relist, e),
                    Some(Err(e)) => tracing::warn!(error = %e, "node watch"),
                    None => return Err(unavailable("the node watch ended")),
                },
                event = pods.next() => match event {
                    Some(Ok(e)) => on_pod(&mut state, &mut pod_relist, e),
                    Some(Err(e)) => tracing::warn!(error = %e, "pod watch"),
                    None => return Err(unavailable("the pod watch ended")),
                },
                _ = tick.tick() => {
                    if state.capacity_changed || last_retry.elapsed() >= config.retry_every {
                        last_retry = Instant::now();
                        state.retry_waiting();
                    }
                }
            }
            // Place only once both lists are complete: every node known, every bound pod counted.
            if !(node_relist.done_once && pod_relist.done_once) {
                continue;
            }
            while in_flight < config.concurrency {
                match state.next() {
                    Some(Next::Bind(job)) => {
                        in_flight += 1;
                        let client = client.clone();
                        let tx = done_tx.clone();
                        let name = config.scheduler_name.clone();
                        let events = config.scheduled_events;
                        // Detached: a binding sent is finished (and its event recorded) even if
                        // `run` is dropped meanwhile.
                        tokio::spawn(async move {
                            let outcome = api::bind(&client, &job).await;
                            if events && outcome == BindOutcome::Bound {
                                let msg = format!(
                                    "Successfully assigned {}/{} to {}",
                                    job.namespace, job.name, job.node
                                );
                                api::record_event(
                                    &client,
                                    &name,
                                    (&job.namespace, &job.name, &job.uid),
                                    false,
                                    "Scheduled",
                                    &msg,
                                )
                                .await;
                            }
                            let _ = tx.send((job, outcome));
                        });
                    }
                    Some(Next::Failed(job)) => {
                        let client = client.clone();
                        let name = config.scheduler_name.clone();
                        let permits = Arc::clone(&reports);
                        tokio::spawn(async move {
                            let _permit = permits.acquire_owned().await;
                            api::report_unschedulable(&client, &name, &job).await;
                        });
                    }
                    None => break,
                }
            }
        }
    }
}

fn unavailable(reason: &str) -> Error {
    Error::Unavailable {
        backend: "kubernetes",
        reason: reason.to_owned(),
    }
}

fn on_node(state: &mut ClusterState, relist: &mut Relist, event: Event<Node>) {
    match event {
        Event::Apply(node) => state.apply_node(&node),
        Event::Delete(node) => {
            if let Some(name) = node.metadata.name.as_deref() {
                state.remove_node(name);
            }
        }
        Event::Init => relist.seen = Some(HashSet::new()),
        Event::InitApply(node) => {
            if let (Some(seen), Some(name)) = (relist.seen.as_mut(), node.metadata.name.clone()) {
                seen.insert(name);
            }
            state.apply_node(&node);
        }
        Event::InitDone => {
            if let Some(seen) = relist.seen.take() {
                state.retain_nodes(&seen);
            }
            relist.done_once = true;
            tracing::info!(nodes = state.node_names().count(), "node list complete");
        }
    }
}

fn on_pod(state: &mut ClusterState, relist: &mut Relist, event: Event<Pod>) {
    let key = |pod: &Pod| {
        Some(format!(
            "{}/{}",
            pod.metadata.namespace.as_deref()?,
            pod.metadata.name.as_deref()?
        ))
    };
    match event {
        Event::Apply(pod) => state.apply_pod(&pod),
        Event::Delete(pod) => {
            if let Some(k) = key(&pod) {
                state.delete_pod(&k);
            }
        }
        Event::Init => relist.seen = Some(HashSet::new()),
        Event::InitApply(pod) => {
            if let (Some(seen), Some(k)) = (relist.seen.as_mut(), key(&pod)) {
                seen.insert(k);
            }
            state.apply_pod(&pod);
        }
        Event::InitDone => {
            if let Some(seen) = relist.seen.take() {
                state.retain_pods(&seen);
            }
            relist.done_once = true;
            tracing::info!(
                pods = state.pod_keys().count(),
                waiting = state.waiting(),
                "pod list complete"
            );
        }
    }
}
