//! Instances: a Deployment per running (or sleeping) instance, its Secret, its pod's state.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ContainerStatus, Node, Pod, Secret};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Resource};
use serde_json::json;
use spaces_core::SpaceId;

use super::objects::{self, Placement, APP_CONTAINER, GPU_RESOURCE};
use super::{api_error, code_of, names, storage, KubernetesRuntime, BACKEND};
use crate::runtime::{Instance, InstanceId, InstanceSpec, InstanceState};
use crate::Error;

/// Waiting reasons that do not pass by themselves: the instance will not run. (Transient ones,
/// `ErrImagePull` before its back-off, `CreateContainerError`, `RunContainerError`, are retried
/// by the kubelet and read as starting.)
///
/// Even these can pass on a fresh pod (a Secret created a moment before its pod may not have
/// reached the kubelet yet: `CreateContainerConfigError`), so a start reads them as the end only
/// after [`STUCK_GRACE`].
const STUCK_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

pub(crate) fn deployments(rt: &KubernetesRuntime) -> Api<Deployment> {
    Api::namespaced(rt.client.clone(), &rt.config.namespace)
}

pub(crate) fn pods(rt: &KubernetesRuntime) -> Api<Pod> {
    Api::namespaced(rt.client.clone(), &rt.config.namespace)
}

pub(crate) fn secrets(rt: &KubernetesRuntime) -> Api<Secret> {
    Api::namespaced(rt.client.clone(), &rt.config.namespace)
}

pub(crate) fn annotation<'a, K: Resource>(obj: &'a K, key: &str) -> Option<&'a str> {
    obj.meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

pub(crate) fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub(crate) fn owned_by(d: &Deployment, space: &SpaceId) -> bool {
    annotation(d, names::ANNOTATION_SPACE_ID) == Some(space.as_str())
}

/// Refuses a GPU flavor when no node advertises `nvidia.com/gpu`.
async fn check_gpus(rt: &KubernetesRuntime, spec: &InstanceSpec) -> Result<(), Error> {
    let Some(hw) = spec.hardware.as_ref().filter(|h| h.gpu.is_some()) else {
        return Ok(());
    };
    let nodes = Api::<Node>::all(rt.client.clone())
        .list(&ListParams::default())
        .await
        .map_err(api_error("listing nodes"))?;
    let has_gpus = nodes.items.iter().any(|n| {
        n.status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .and_then(|a| a.get(GPU_RESOURCE))
            .is_some_and(|q| q.0 != "0")
    });
    if has_gpus {
        return Ok(());
    }
    Err(Error::Unsupported {
        backend: BACKEND,
        what: format!(
            "the GPU flavor {}: no node of the cluster advertises {GPU_RESOURCE} (install the \
             NVIDIA device plugin on GPU nodes)",
            hw.id.as_str()
        ),
    })
}

/// Whether this machine can listen on `port` now (host networking: the pod binds it here).
fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Picks the Deployment (a sleeping one of the Space, or a new slot) and the port.
async fn place(
    rt: &KubernetesRuntime,
    spec: &InstanceSpec,
) -> Result<(Placement, Option<Deployment>), Error> {
    let space = &spec.image.space;
    let all = deployments(rt)
        .list(&ListParams::default().labels(&rt.selector(None)))
        .await
        .map_err(api_error("listing deployments"))?;
    let key = names::space_key(space);
    let mine: Vec<&Deployment> = all
        .items
        .iter()
        .filter(|d| {
            d.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(names::LABEL_SPACE))
                == Some(&key)
        })
        .collect();
    if let Some(foreign) = mine.iter().find(|d| !owned_by(d, space)) {
        return Err(Error::Conflict {
            what: format!(
                "deployment {} carries the key of {space} but belongs to another Space",
                foreign.metadata.name.as_deref().unwrap_or("?")
            ),
        });
    }
    let taken: BTreeSet<String> = mine
        .iter()
        .filter_map(|d| d.metadata.name.clone())
        .collect();
    let sleeping = mine
        .iter()
        .filter(|d| replicas(d) == 0 && d.metadata.deletion_timestamp.is_none())
        .min_by_key(|d| d.metadata.name.clone())
        .map(|d| (*d).clone());
    let deployment = match &sleeping {
        Some(d) => d.metadata.name.clone().unwrap_or_default(),
        None => (0..1000)
            .map(|slot| names::deployment(&rt.prefix, space, slot))
            .find(|n| !taken.contains(n))
            .ok_or_else(|| Error::Conflict {
                what: format!("{space} has 1000 instances already"),
            })?,
    };
    let port = if rt.config.host_network {
        let held: BTreeSet<u16> = all
            .items
            .iter()
            .filter(|d| d.metadata.name.as_deref() != Some(deployment.as_str()))
            .filter_map(|d| annotation(d, names::ANNOTATION_HOST_PORT)?.parse().ok())
            .collect();
        let previous = sleeping.as_ref().and_then(|d| {
            annotation(d, names::ANNOTATION_HOST_PORT)?
                .parse::<u16>()
                .ok()
        });
        previous
            .into_iter()
            .chain(rt.config.host_ports.clone())
            .find(|p| !held.contains(p) && port_free(*p))
            .ok_or_else(|| Error::Unavailable {
                backend: BACKEND,
                reason: format!("no free host port in {:?}", rt.config.host_ports),
            })?
    } else {
        spec.app_port
    };
    let nonce = crate::docker::container::unique();
    Ok((
        Placement {
            deployment,
            nonce,
            port,
        },
        sleeping,
    ))
}

/// Creates or replaces `obj` named `name` (replace keeps nothing of the old spec).
async fn upsert<K>(api: &Api<K>, name: &str, mut obj: K, existing: Option<K>) -> Result<(), Error>
where
    K: Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let existing = match existing {
        Some(e) => Some(e),
        None => api
            .get_opt(name)
            .await
            .map_err(api_error(format!("reading {name}")))?,
    };
    match existing {
        Some(old) => {
            obj.meta_mut().resource_version = old.meta().resource_version.clone();
            api.replace(name, &PostParams::default(), &obj)
                .await
                .map_err(api_error(format!("replacing {name}")))?;
        }
        None => {
            api.create(&PostParams::default(), &obj)
                .await
                .map_err(api_error(format!("creating {name}")))?;
        }
    }
    Ok(())
}

/// Starts an instance of `spec`. See the [runtime docs](super).
pub(crate) async fn start(rt: &KubernetesRuntime, spec: InstanceSpec) -> Result<Instance, Error> {
    check_gpus(rt, &spec).await?;
    let space = spec.image.space.clone();
    if let Some(volume) = &spec.volume {
        storage::ensure(rt, &space, volume).await?;
    }
    let placement = {
        let _guard = rt.start_lock.lock().await;
        let (placement, sleeping) = place(rt, &spec).await?;
        let secret_name = names::secret(&placement.deployment);
        let secret = objects::secret(&rt.config, &rt.prefix, &spec, &secret_name)?;
        upsert(&secrets(rt), &secret_name, secret, None).await?;
        let deployment = objects::deployment(&rt.config, &rt.prefix, &spec, &placement)?;
        upsert(
            &deployments(rt),
            &placement.deployment,
            deployment,
            sleeping,
        )
        .await?;
        placement
    };
    let id = InstanceId(names::instance_id(&placement.deployment, &placement.nonce));
    match wait_started(rt, &placement.deployment).await {
        Ok(ip) => Ok(Instance {
            id,
            space,
            address: SocketAddr::new(ip, placement.port),
        }),
        Err(e) => {
            let _ = stop(rt, &id).await;
            Err(e)
        }
    }
}

/// Waits until the Deployment's pod runs its app container (or its container has ended or is
/// stuck: the state then says so); returns the pod's IP.
/// How long a start waits out a waiting reason of [`STUCK_REASONS`] before reporting the
/// instance as exited.
const STUCK_GRACE: Duration = Duration::from_secs(20);

async fn wait_started(rt: &KubernetesRuntime, deployment: &str) -> Result<IpAddr, Error> {
    let began = tokio::time::Instant::now();
    let deadline = began + rt.config.start_timeout;
    let selector = format!("{}={deployment}", names::LABEL_DEPLOYMENT);
    let mut last = String::from("no pod yet");
    loop {
        let list = pods(rt)
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(api_error(format!("listing the pods of {deployment}")))?;
        for pod in list
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
        {
            let ip = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.as_deref())
                .and_then(|ip| ip.parse().ok());
            let state = pod_state(pod);
            let started = match &state {
                Some(InstanceState::Running) => app_status(pod)
                    .and_then(|s| s.state.as_ref())
                    .is_some_and(|s| s.running.is_some()),
                // A stuck waiting reason (the only source of an exit without a code): final
                // once it has lasted.
                Some(InstanceState::Exited { code: None, .. }) => began.elapsed() >= STUCK_GRACE,
                Some(_) => true,
                None => false,
            };
            if started {
                return Ok(ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            }
            last = describe(pod);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Unavailable {
                backend: BACKEND,
                reason: format!(
                    "the pod of {deployment} did not start within {}s: {last}",
                    rt.config.start_timeout.as_secs()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A line about a pod's progress (phase, conditions, container waiting reasons; never its env).
pub(crate) fn describe(pod: &Pod) -> String {
    let Some(status) = &pod.status else {
        return "no status yet".into();
    };
    let mut parts = vec![format!("phase {}", status.phase.as_deref().unwrap_or("?"))];
    for c in status
        .conditions
        .iter()
        .flatten()
        .filter(|c| c.status != "True")
    {
        parts.push(format!(
            "{} {}: {}",
            c.type_,
            c.reason.as_deref().unwrap_or(""),
            c.message.as_deref().unwrap_or("")
        ));
    }
    let all = status.init_container_statuses.iter().flatten();
    for c in all.chain(status.container_statuses.iter().flatten()) {
        if let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            parts.push(format!(
                "container {} waiting: {} {}",
                c.name,
                w.reason.as_deref().unwrap_or(""),
                w.message.as_deref().unwrap_or("")
            ));
        }
    }
    parts.join("; ")
}

fn app_status(pod: &Pod) -> Option<&ContainerStatus> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == APP_CONTAINER)
}

fn exited(t: &k8s_openapi::api::core::v1::ContainerStateTerminated) -> InstanceState {
    InstanceState::Exited {
        code: Some(t.exit_code),
        oom_killed: t.reason.as_deref() == Some("OOMKilled"),
    }
}

/// The state of the instance a pod runs: `None` while it is being set up (scheduling, pulling,
/// init containers running). See "State and logs" in the [runtime docs](super).
pub(crate) fn pod_state(pod: &Pod) -> Option<InstanceState> {
    let status = pod.status.as_ref()?;
    for init in status.init_container_statuses.iter().flatten() {
        let last = init.last_state.as_ref().and_then(|s| s.terminated.as_ref());
        let now = init.state.as_ref().and_then(|s| s.terminated.as_ref());
        if let Some(t) = now.filter(|t| t.exit_code != 0).or(last) {
            return Some(exited(t));
        }
        if let Some(w) = init.state.as_ref().and_then(|s| s.waiting.as_ref()) {
            if STUCK_REASONS.contains(&w.reason.as_deref().unwrap_or("")) {
                return Some(InstanceState::Exited {
                    code: None,
                    oom_killed: false,
                });
            }
        }
    }
    let app = app_status(pod)?;
    let state = app.state.as_ref()?;
    if let Some(t) = &state.terminated {
        return Some(exited(t));
    }
    if app.restart_count > 0 {
        if let Some(t) = app.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            return Some(exited(t));
        }
    }
    if let Some(w) = &state.waiting {
        if STUCK_REASONS.contains(&w.reason.as_deref().unwrap_or("")) {
            return Some(InstanceState::Exited {
                code: None,
                oom_killed: false,
            });
        }
        return None;
    }
    state.running.as_ref().map(|_| InstanceState::Running)
}

/// The Deployment of an instance, when it still runs that instance.
pub(crate) async fn current(
    rt: &KubernetesRuntime,
    id: &InstanceId,
) -> Result<Result<Deployment, InstanceState>, Error> {
    let (name, nonce) = names::split_instance(&id.0).ok_or_else(|| Error::NotFound {
        what: format!("instance {id} (not an id of the {BACKEND} runtime)"),
    })?;
    let deployment = deployments(rt)
        .get_opt(name)
        .await
        .map_err(api_error(format!("reading deployment {name}")))?;
    Ok(match deployment {
        // Removed from outside.
        None => Err(InstanceState::Exited {
            code: None,
            oom_killed: false,
        }),
        Some(d)
            if annotation(&d, names::ANNOTATION_INSTANCE) != Some(nonce) || replicas(&d) == 0 =>
        {
            Err(InstanceState::Stopped)
        }
        Some(d) => Ok(d),
    })
}

/// The instance's state.
pub(crate) async fn state(rt: &KubernetesRuntime, id: &InstanceId) -> Result<InstanceState, Error> {
    let deployment = match current(rt, id).await? {
        Ok(d) => d,
        Err(state) => return Ok(state),
    };
    let name = deployment.metadata.name.unwrap_or_default();
    let list = pods(rt)
        .list(&ListParams::default().labels(&format!("{}={name}", names::LABEL_DEPLOYMENT)))
        .await
        .map_err(api_error(format!("listing the pods of {name}")))?;
    let states: Vec<InstanceState> = list.items.iter().filter_map(pod_state).collect();
    // A pod being replaced after a crash: the exit is the news.
    Ok(states
        .iter()
        .find(|s| **s != InstanceState::Running)
        .or(states.first())
        .cloned()
        .unwrap_or(InstanceState::Running))
}

/// Scales the instance's Deployment to 0 and waits until its pods are gone.
pub(crate) async fn stop(rt: &KubernetesRuntime, id: &InstanceId) -> Result<(), Error> {
    let deployment = match current(rt, id).await? {
        Ok(d) => d,
        Err(_) => return Ok(()),
    };
    let name = deployment.metadata.name.unwrap_or_default();
    let patch = json!({ "spec": { "replicas": 0 } });
    match deployments(rt)
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {}
        Err(e) if code_of(&e) == Some(404) => return Ok(()),
        Err(e) => return Err(api_error(format!("scaling {name} to 0"))(e)),
    }
    wait_no_pods(rt, &name).await
}

async fn wait_no_pods(rt: &KubernetesRuntime, deployment: &str) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + rt.config.stop_timeout;
    let selector = format!("{}={deployment}", names::LABEL_DEPLOYMENT);
    loop {
        let list = pods(rt)
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(api_error(format!("listing the pods of {deployment}")))?;
        if list.items.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Io {
                context: format!("stopping {deployment}"),
                source: std::io::Error::other(format!(
                    "{} pod(s) still there after {}s",
                    list.items.len(),
                    rt.config.stop_timeout.as_secs()
                )),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every instance of this runtime that runs now.
pub(crate) async fn running(rt: &KubernetesRuntime) -> Result<Vec<Instance>, Error> {
    let selector = rt.selector(None);
    let all = deployments(rt)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(api_error("listing deployments"))?;
    let pod_list = pods(rt)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(api_error("listing pods"))?;
    let mut out = Vec::new();
    for d in all.items.iter().filter(|d| replicas(d) > 0) {
        let (Some(name), Some(nonce), Some(space)) = (
            d.metadata.name.as_deref(),
            annotation(d, names::ANNOTATION_INSTANCE),
            annotation(d, names::ANNOTATION_SPACE_ID).and_then(|s| s.parse::<SpaceId>().ok()),
        ) else {
            continue;
        };
        let port = annotation(d, names::ANNOTATION_HOST_PORT)
            .or(annotation(d, names::ANNOTATION_APP_PORT))
            .and_then(|p| p.parse::<u16>().ok());
        // Its pod, whatever its state: a crash-looping orphan is listed too, so that a
        // supervisor reopening stops it.
        let pod = pod_list.items.iter().find(|p| {
            p.metadata.deletion_timestamp.is_none()
                && p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(names::LABEL_DEPLOYMENT))
                    == Some(&name.to_owned())
        });
        let Some(pod) = pod else {
            continue;
        };
        let ip = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .unwrap_or(if rt.config.host_network {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            });
        if let Some(port) = port {
            out.push(Instance {
                id: InstanceId(names::instance_id(name, nonce)),
                space,
                address: SocketAddr::new(ip, port),
            });
        }
    }
    Ok(out)
}
