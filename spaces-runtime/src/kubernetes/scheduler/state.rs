//! The scheduler's picture of the cluster, kept in step with watch events: nodes as hosts of a
//! [`Scheduler`], every pod bound to a node accounted on it, and the queue of pods to place.
//!
//! Pure and synchronous: the [controller](super::controller) feeds it events and carries out
//! what it decides (bindings, events).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use k8s_openapi::api::core::v1::{Node, Pod};
use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};
use spaces_core::GpuModel;

use super::config::SchedulerConfig;
use super::explain::{explain, Rejected};
use super::objects::{Mismatch, NodeView, PodView};
use crate::scheduler::{Demand, Fleet, HostId, HostState, Scheduler};

/// Our id of a pod (cheap to hash; never reused).
pub(crate) type PodId = u64;

/// A pod to bind to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BindJob {
    pub(crate) id: PodId,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) node: String,
}

/// A pod that did not fit, to be told so (event and `PodScheduled=False`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FailedJob {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) uid: String,
    pub(crate) message: String,
}

/// What to do next for a queued pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Bind(BindJob),
    Failed(FailedJob),
}

/// How a binding ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BindOutcome {
    /// Bound.
    Bound,
    /// The pod is gone or already bound elsewhere (404, 409): the watch will say where.
    Gone,
    /// Another failure: place it again.
    Retry,
}

struct PodEntry {
    view: PodView,
    /// The node it is bound to, or being bound to by us.
    node: Option<String>,
    /// A binding of ours is in flight.
    binding: bool,
    /// Its requests are taken on its node in `sched` (else it is in the node's overflow).
    accounted: bool,
    /// Waiting for capacity; the last message told, and when.
    unschedulable: Option<(String, Instant)>,
}

struct NodeEntry {
    view: NodeView,
    host: HostId,
    /// Pods bound to it (accounted or in overflow).
    pods: u32,
    /// Bound pods that do not fit in its accounts (bound by others beyond our view of it).
    overflow: FxHashSet<PodId>,
    /// Whether it is drained in `sched`.
    drained: bool,
}

/// The cluster as the scheduler sees it.
pub(crate) struct ClusterState {
    config: SchedulerConfig,
    sched: Scheduler<PodId>,
    nodes: HashMap<String, NodeEntry>,
    host_names: Vec<String>,
    pods: FxHashMap<PodId, PodEntry>,
    ids: HashMap<String, PodId>,
    node_pods: HashMap<String, FxHashSet<PodId>>,
    queue: VecDeque<PodId>,
    waiting: FxHashSet<PodId>,
    next_id: PodId,
    /// Capacity was freed or added since the last [`ClusterState::retry_waiting`].
    pub(crate) capacity_changed: bool,
}

impl ClusterState {
    pub(crate) fn new(config: SchedulerConfig) -> Self {
        Self {
            config,
            sched: Scheduler::new(Fleet::new()),
            nodes: HashMap::new(),
            host_names: Vec::new(),
            pods: HashMap::with_hasher(FxBuildHasher),
            ids: HashMap::new(),
            node_pods: HashMap::new(),
            queue: VecDeque::new(),
            waiting: HashSet::with_hasher(FxBuildHasher),
            next_id: 0,
            capacity_changed: false,
        }
    }

    /// Node names known.
    pub(crate) fn node_names(&self) -> impl Iterator<Item = &String> {
        self.nodes.keys()
    }

    /// Pod keys known (`namespace/name`).
    pub(crate) fn pod_keys(&self) -> impl Iterator<Item = &String> {
        self.ids.keys()
    }

    /// Pods waiting for capacity.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    // --- nodes -------------------------------------------------------------------------------

    /// A node was added or changed.
    pub(crate) fn apply_node(&mut self, node: &Node) {
        let Some(name) = node.metadata.name.clone() else {
            return;
        };
        let view = NodeView::from_node(node, &self.config);
        match self.nodes.get_mut(&name) {
            Some(entry) if entry.view == view => return,
            Some(entry) if entry.view.spec == view.spec => {
                entry.view = view;
            }
            Some(_) => {
                // Its allocatable or GPU model changed: a new host, with its pods re-accounted.
                self.remove_node(&name);
                self.add_node(name.clone(), view);
            }
            None => self.add_node(name.clone(), view),
        }
        self.sync_host(&name);
        self.capacity_changed = true;
    }

    fn add_node(&mut self, name: String, view: NodeView) {
        let host = self.sched.add_host(view.spec.clone());
        let index = host.index() as usize;
        if self.host_names.len() <= index {
            self.host_names.resize(index + 1, String::new());
        }
        if let Some(slot) = self.host_names.get_mut(index) {
            slot.clone_from(&name);
        }
        self.nodes.insert(
            name.clone(),
            NodeEntry {
                view,
                host,
                pods: 0,
                overflow: HashSet::with_hasher(FxBuildHasher),
                drained: false,
            },
        );
        let bound: Vec<PodId> = self
            .node_pods
            .get(&name)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        for id in bound {
            self.account(id, &name);
        }
    }

    /// A node was deleted: its pods stay bound to it (the pod garbage collector deletes them)
    /// but hold nothing we can place on.
    pub(crate) fn remove_node(&mut self, name: &str) {
        let Some(entry) = self.nodes.remove(name) else {
            return;
        };
        if let Ok(evicted) = self.sched.remove_host(entry.host) {
            for r in evicted {
                if let Some(p) = self.pods.get_mut(&r.space) {
                    p.accounted = false;
                }
            }
        }
    }

    /// Drains or resumes a node's host: it takes new pods only when not cordoned, below its pod
    /// limit, and not over-committed by pods bound elsewhere.
    fn sync_host(&mut self, name: &str) {
        let Some(entry) = self.nodes.get_mut(name) else {
            return;
        };
        let open =
            !entry.view.cordoned && entry.pods < entry.view.max_pods && entry.overflow.is_empty();
        if open != entry.drained {
            return;
        }
        let result = if open {
            self.sched.resume_host(entry.host)
        } else {
            self.sched.drain_host(entry.host)
        };
        if result.is_ok() {
            entry.drained = !open;
        }
    }

    // --- pods --------------------------------------------------------------------------------

    /// A pod was added or changed.
    pub(crate) fn apply_pod(&mut self, pod: &Pod) {
        let Some(view) = PodView::from_pod(pod, &self.config) else {
            return;
        };
        let key = view.key();
        if view.terminated {
            self.delete_pod(&key);
            return;
        }
        if let Some(&id) = self.ids.get(&key) {
            let same_uid = self.pods.get(&id).is_some_and(|p| p.view.uid == view.uid);
            if !same_uid {
                self.delete_pod(&key);
            } else {
                self.update_pod(id, view);
                return;
            }
        }
        let ours = view.scheduler_name == self.config.scheduler_name
            && self
                .config
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == view.namespace);
        if view.node_name.is_none() && !ours {
            return; // another scheduler's pending pod: nothing to do until it is bound
        }
        let id = self.next_id;
        self.next_id += 1;
        let node = view.node_name.clone();
        self.ids.insert(key, id);
        self.pods.insert(
            id,
            PodEntry {
                view,
                node: None,
                binding: false,
                accounted: false,
                unschedulable: None,
            },
        );
        match node {
            Some(node) => self.bind_to(id, node),
            None => self.queue.push_back(id),
        }
    }

    fn update_pod(&mut self, id: PodId, view: PodView) {
        let Some(entry) = self.pods.get_mut(&id) else {
            return;
        };
        match (view.node_name.clone(), entry.node.clone()) {
            (Some(now), Some(was)) if now == was => entry.binding = false,
            (Some(now), Some(_)) => {
                self.unbind(id);
                self.bind_to(id, now);
            }
            (Some(now), None) => {
                self.waiting.remove(&id);
                self.bind_to(id, now);
            }
            (None, _) => {}
        }
        if let Some(entry) = self.pods.get_mut(&id) {
            entry.view = view;
        }
    }

    /// A pod was deleted (or terminated).
    pub(crate) fn delete_pod(&mut self, key: &str) {
        let Some(id) = self.ids.remove(key) else {
            return;
        };
        self.unbind(id);
        self.waiting.remove(&id);
        self.pods.remove(&id);
    }

    /// Records that pod `id` is on `node` (bound by anyone) and takes its requests there.
    fn bind_to(&mut self, id: PodId, node: String) {
        let Some(entry) = self.pods.get_mut(&id) else {
            return;
        };
        entry.node = Some(node.clone());
        entry.unschedulable = None;
        self.node_pods.entry(node.clone()).or_default().insert(id);
        self.account(id, &node);
    }

    /// Takes a bound pod's requests on its node, or puts it in the node's overflow.
    fn account(&mut self, id: PodId, node: &str) {
        let (Some(entry), Some(n)) = (self.pods.get_mut(&id), self.nodes.get_mut(node)) else {
            return;
        };
        let model = entry
            .view
            .need
            .as_ref()
            .is_ok_and(|r| r.gpus > 0)
            .then(|| n.view.spec.gpu_model())
            .flatten();
        n.pods = n.pods.saturating_add(1);
        let placed = entry
            .view
            .demand_on(model)
            .is_some_and(|d| self.sched.place_on(id, n.host, &d).is_ok());
        entry.accounted = placed;
        if !placed {
            n.overflow.insert(id);
        }
        self.sync_host(node);
    }

    /// Forgets where pod `id` is bound and gives back what it took.
    fn unbind(&mut self, id: PodId) {
        let Some(entry) = self.pods.get_mut(&id) else {
            return;
        };
        let Some(node) = entry.node.take() else {
            return;
        };
        entry.binding = false;
        let was_accounted = std::mem::take(&mut entry.accounted);
        if let Some(set) = self.node_pods.get_mut(&node) {
            set.remove(&id);
            if set.is_empty() {
                self.node_pods.remove(&node);
            }
        }
        if was_accounted {
            let _ = self.sched.release(&id);
        }
        if let Some(n) = self.nodes.get_mut(&node) {
            n.pods = n.pods.saturating_sub(1);
            n.overflow.remove(&id);
            // Freed room may let an over-committed pod be accounted after all.
            let overflow: Vec<PodId> = n.overflow.iter().copied().collect();
            for other in overflow {
                self.retry_overflow(other, &node);
            }
        }
        self.sync_host(&node);
        self.capacity_changed = true;
    }

    fn retry_overflow(&mut self, id: PodId, node: &str) {
        let (Some(entry), Some(n)) = (self.pods.get_mut(&id), self.nodes.get_mut(node)) else {
            return;
        };
        let model = entry
            .view
            .need
            .as_ref()
            .is_ok_and(|r| r.gpus > 0)
            .then(|| n.view.spec.gpu_model())
            .flatten();
        let Some(demand) = entry.view.demand_on(model) else {
            return;
        };
        // A draining host accepts `place_on`.
        if self.sched.place_on(id, n.host, &demand).is_ok() {
            entry.accounted = true;
            n.overflow.remove(&id);
        }
    }

    /// Drops nodes and pods a watch restart did not list again.
    pub(crate) fn retain_nodes(&mut self, seen: &HashSet<String>) {
        let gone: Vec<String> = self
            .nodes
            .keys()
            .filter(|n| !seen.contains(*n))
            .cloned()
            .collect();
        for name in gone {
            self.remove_node(&name);
        }
    }

    /// See [`ClusterState::retain_nodes`].
    pub(crate) fn retain_pods(&mut self, seen: &HashSet<String>) {
        let gone: Vec<String> = self
            .ids
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.delete_pod(&key);
        }
    }

    // --- placing -----------------------------------------------------------------------------

    /// Puts every pod waiting for capacity back in the queue.
    pub(crate) fn retry_waiting(&mut self) {
        self.capacity_changed = false;
        let waiting = std::mem::take(&mut self.waiting);
        self.queue.extend(waiting);
    }

    /// Places the next queued pod: a binding to make, or a failure to report (`None`: the
    /// queue is empty).
    pub(crate) fn next(&mut self) -> Option<Next> {
        while let Some(id) = self.queue.pop_front() {
            let Some(entry) = self.pods.get(&id) else {
                continue;
            };
            if entry.node.is_some() || self.waiting.contains(&id) {
                continue;
            }
            match self.place(id) {
                Ok(node) => {
                    let Some(entry) = self.pods.get_mut(&id) else {
                        continue;
                    };
                    entry.binding = true;
                    entry.accounted = true;
                    entry.node = Some(node.clone());
                    entry.unschedulable = None;
                    let job = BindJob {
                        id,
                        namespace: entry.view.namespace.clone(),
                        name: entry.view.name.clone(),
                        uid: entry.view.uid.clone(),
                        node: node.clone(),
                    };
                    self.node_pods.entry(node.clone()).or_default().insert(id);
                    if let Some(n) = self.nodes.get_mut(&node) {
                        n.pods = n.pods.saturating_add(1);
                    }
                    self.sync_host(&node);
                    return Some(Next::Bind(job));
                }
                Err(message) => {
                    self.waiting.insert(id);
                    let Some(entry) = self.pods.get_mut(&id) else {
                        continue;
                    };
                    let now = Instant::now();
                    let tell = match &entry.unschedulable {
                        Some((last, at)) => {
                            *last != message || now.duration_since(*at).as_secs() >= 60
                        }
                        None => true,
                    };
                    if tell {
                        entry.unschedulable = Some((message.clone(), now));
                        return Some(Next::Failed(FailedJob {
                            namespace: entry.view.namespace.clone(),
                            name: entry.view.name.clone(),
                            uid: entry.view.uid.clone(),
                            message,
                        }));
                    }
                }
            }
        }
        None
    }

    /// Chooses a node for pod `id` and takes its requests there; or says why none fits.
    fn place(&mut self, id: PodId) -> Result<String, String> {
        let Some(entry) = self.pods.get(&id) else {
            return Err("the pod is gone".to_owned());
        };
        let view = entry.view.clone();
        let need = view
            .need
            .clone()
            .map_err(|e| format!("the pod's requests: {e}"))?;
        let models: Vec<Option<GpuModel>> = if need.gpus == 0 {
            vec![None]
        } else if let Some(m) = &view.gpu_model {
            vec![Some(m.clone())]
        } else {
            // No model asked for: any, in the fleet's order of models.
            let mut models: Vec<GpuModel> = self
                .nodes
                .values()
                .filter_map(|n| n.view.spec.gpu_model().cloned())
                .collect();
            models.sort();
            models.dedup();
            if models.is_empty() {
                models.push(GpuModel::Other("any".to_owned()));
            }
            models.into_iter().map(Some).collect()
        };
        let mut skipped: Vec<HostId> = Vec::new();
        let mut rejected = Rejected::default();
        let mut last_error = None;
        let mut found = None;
        'models: for model in models {
            let demand = Demand::new(need, model);
            loop {
                match self.sched.place_demand(id, &demand) {
                    Ok(host) => {
                        let name = self.host_names.get(host.index() as usize);
                        let mismatch = name
                            .and_then(|n| self.nodes.get(n).map(|e| (n, e)))
                            .map_or(Some(Mismatch::Selector), |(n, e)| view.mismatch(n, &e.view));
                        match mismatch {
                            None => {
                                found = name.cloned();
                                break 'models;
                            }
                            Some(m) => {
                                // Not for this pod: keep the host out of this search only.
                                let _ = self.sched.release(&id);
                                let _ = self.sched.drain_host(host);
                                skipped.push(host);
                                match m {
                                    Mismatch::Taint(key) => {
                                        rejected.taint += 1;
                                        rejected.taint_key.get_or_insert(key);
                                    }
                                    Mismatch::Selector | Mismatch::Affinity => {
                                        rejected.selector += 1
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        last_error = Some(e);
                        break;
                    }
                }
            }
        }
        for host in skipped {
            if self.sched.fleet().host(host).map(|h| h.state()) == Some(HostState::Draining) {
                let _ = self.sched.resume_host(host);
            }
        }
        match (found, last_error) {
            (Some(node), _) => Ok(node),
            (None, Some(e)) => Err(explain(
                &e,
                self.nodes.len(),
                &rejected,
                &self.config.gpu_resource,
                |h| {
                    self.host_names
                        .get(h.index() as usize)
                        .cloned()
                        .unwrap_or_else(|| h.to_string())
                },
            )),
            (None, None) => Err("no node fits".to_owned()),
        }
    }

    /// A binding ended.
    pub(crate) fn bind_done(&mut self, job: &BindJob, outcome: BindOutcome) {
        let Some(entry) = self.pods.get_mut(&job.id) else {
            return;
        };
        if entry.node.as_deref() != Some(job.node.as_str()) || !entry.binding {
            return; // the watch already told us where it is
        }
        match outcome {
            BindOutcome::Bound => entry.binding = false,
            BindOutcome::Gone => self.unbind(job.id),
            BindOutcome::Retry => {
                self.unbind(job.id);
                self.queue.push_back(job.id);
            }
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
