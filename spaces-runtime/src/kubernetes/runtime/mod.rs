//! `KubernetesRuntime`: Spaces as Deployments on a Kubernetes cluster (kube-rs), behind the
//! `kubernetes` feature.
//!
//! - **Connection**: [`KubernetesRuntime::connect`] reads [`KubernetesConfig::kubeconfig`], or
//!   infers the configuration (`KUBECONFIG`, `~/.kube/config`, in-cluster), and asks the API
//!   server its version: no answer is [`Error::Unavailable`]. Everything lives in one
//!   namespace ([`KubernetesConfig::namespace`]).
//! - **Names** ([`names`]): deterministic DNS-1123 names from the Space id, injective for ids
//!   up to [`names::KEY_MAX`] escaped characters and hashed (SHA-256, checked against a full-id
//!   annotation) beyond. Every object carries `spaces.io/managed=<prefix>`,
//!   `spaces.io/space=<key>` and [`KubernetesConfig::extra_labels`]; never a secret.
//! - **Images** ([`image`]): built by the Docker backend's builder ([`DockerRuntime`], the same
//!   `Dockerfile` handling, logs and errors), then tagged `<registry>/<docker tag>` and pushed to
//!   [`KubernetesConfig::registry`]; the image reference handed back is pinned by digest
//!   (`<registry>/<repo>@sha256:...`), so `IfNotPresent` never runs a stale image on any node.
//!   Without a registry the local tag is used as is (a single node sharing the builder's engine,
//!   with pull policy `Never`). [`Runtime::remove_image`] removes the local tags and deletes the
//!   manifest from the registry (a registry refusing deletes keeps it; its blobs go only with
//!   the registry's garbage collection).
//! - **Instances** ([`instance`], [`objects`]): an instance is a Deployment
//!   `<prefix>-<key>-<slot>` with 1 replica, strategy `Recreate`, and its environment
//!   (variables and secrets alike) in a Secret `<deployment>-env` read through `envFrom`,
//!   never inline. A start reuses a Space's Deployment scaled to 0 (its sleeping instance):
//!   the Secret and the Deployment are replaced with the new spec (same template: the same
//!   ReplicaSet scales up again), so a wake is one scale 0 → 1; a second concurrent instance of
//!   a Space gets the next slot. The instance id is `<deployment>:<nonce>`, the nonce an
//!   annotation of the Deployment: an id of a stopped instance never names its successor.
//! - **Resources**: the flavor's vCPUs and memory as requests and limits; a GPU flavor adds
//!   `nvidia.com/gpu` limits and a node selector [`KubernetesConfig::gpu_model_label`] =
//!   the GPU model, and is [`Error::Unsupported`] (nothing created) when no node advertises
//!   `nvidia.com/gpu`. Ephemeral-disk limits are not set (nodes' disks vary; documented gap).
//!   `schedulerName` is [`KubernetesConfig::scheduler_name`] (`None`: the default scheduler).
//! - **Hardening** (issue 8, as in [`crate::docker::security`]): pod and container run as uid
//!   and gid 1000 with `runAsNonRoot`, drop ALL capabilities, `allowPrivilegeEscalation: false`,
//!   not privileged, seccomp `RuntimeDefault`, no service-account token, no service links. The
//!   **pids limit cannot be set per pod** in Kubernetes: it is the kubelet's `--pod-max-pids`
//!   (set it to [`crate::docker::security::PIDS_LIMIT`] on nodes running Spaces). There is no
//!   `--init` either: the app is PID 1 of its container.
//! - **Storage** ([`storage`]): a claim `<prefix>-<key>-data` (RWO, [`VolumeSpec`]'s size in
//!   GiB, [`KubernetesConfig::storage_class`]) mounted at `/data`, created at the first start
//!   with storage, kept across stops and deleted only by [`Runtime::delete_volume`]. Claims are
//!   expand-only: a start with a bigger size patches the claim's request (the class must allow
//!   expansion; whether the volume really grows is the provisioner's, see
//!   [`KubernetesRuntime::claim_sizes`]: on the test cluster's host-path provisioner the spec's
//!   request grows and the status capacity stays at the first size, as that plugin cannot
//!   resize); a smaller size keeps the bigger claim. `/data` is
//!   made writable for uid 1000 by `fsGroup: 1000` (volume types that support ownership
//!   management) **and** an init container `data-owner` running `chown 1000:1000 /data` from
//!   the Space's image as root with only `CAP_CHOWN` (no escalation, seccomp default): host-path
//!   volumes ignore `fsGroup` and are created `root 0750` (checked on the test cluster), so
//!   without it uid 1000 cannot even enter `/data`. It needs a `chown` in the image
//!   (busybox, coreutils); turn it off with [`KubernetesConfig::chown_data_init`].
//! - **Addresses**: the pod's IP and the app port; with [`KubernetesConfig::host_network`] (a
//!   single-node cluster, the tests) the pod uses the node's network and a host port the
//!   backend allocates from [`KubernetesConfig::host_ports`] (free on this machine and not held
//!   by another of its Deployments), handed to the app as `PORT`: **in that mode the app must
//!   listen on `$PORT`** (two instances cannot share one port on one host).
//! - **Readiness**: an HTTP probe on `/` of the app port (the supervisor still checks health
//!   itself, through [`crate::wait_healthy`]).
//! - **State and logs** ([`logs`]): from the pod. The instance is one run of its container, as
//!   on Docker: once the container has terminated (`terminated`, or restarted with a
//!   `lastState.terminated`) the state is [`InstanceState::Exited`] with its exit code and
//!   `OOMKilled`, even while Kubernetes restarts it (the supervisor decides about restarts).
//!   An image in pull back-off or a container the kubelet cannot configure (a missing Secret) is
//!   `Exited { code: None }`; a start waits such a reason out for 20 s first, since a Secret
//!   created a moment before its pod may not have reached the kubelet yet. Logs are the
//!   container's (stdout and stderr merged by the kubelet: all reported as stdout), after
//!   runtime lines derived from the pod's status, never from its environment.
//! - **Stop** = scale to 0 and wait until the pod is gone
//!   ([`KubernetesConfig::termination_grace`], 2 s by default); the kubelet's removal of the
//!   pod object lags its containers' end by 5-15 s on the test node. (Deleting the pod with
//!   grace 0 once its containers had ended cut that, but one conformance run then saw a new
//!   pod fail: not kept.) [`Runtime::running`] lists the
//!   Deployments of this namespace and label set with 1 replica and a pod, whatever the pod's
//!   state (a crash-looping orphan is listed, so that a reopening supervisor stops it; its
//!   address is the unspecified one while its pod has no IP, outside host networking).
//! - **Prepared state** ([`prepared`]): a stopped (0-replica) Deployment and its Secret are the Space's
//!   prepared instance. [`Runtime::discard_prepared`] deletes the Secrets and the 0-replica
//!   Deployments of the Space (no secret at rest for a paused or deleted Space; a running
//!   instance keeps its own). After stop, `remove_image`, `discard_prepared` and
//!   `delete_volume` nothing labelled with the Space is left in the namespace.
//!
//! ```no_run
//! # async fn demo() -> Result<(), spaces_runtime::Error> {
//! use std::sync::Arc;
//! use spaces_runtime::kubernetes::runtime::{KubernetesConfig, KubernetesRuntime};
//! use spaces_runtime::Runtime;
//!
//! let config = KubernetesConfig {
//!     registry: Some("127.0.0.1:5000".into()),
//!     host_network: true,
//!     ..KubernetesConfig::default()
//! };
//! let runtime: Arc<dyn Runtime> = Arc::new(KubernetesRuntime::connect(config).await?);
//! assert_eq!(runtime.name(), "kubernetes");
//! # Ok(()) }
//! ```

pub mod image;
pub mod instance;
pub mod logs;
pub mod names;
pub mod objects;
pub mod prepared;
pub mod storage;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use kube::Client;
use spaces_core::SpaceId;

use crate::docker::recent::{RecentSet, STOPPED_REMEMBERED};
use crate::docker::{DockerConfig, DockerRuntime};
use crate::runtime::{
    BuildOutput, BuildRequest, Image, Instance, InstanceId, InstanceSpec, InstanceState, LogStream,
    Runtime, VolumeSpec,
};
use crate::Error;

const BACKEND: &str = "kubernetes";

/// How the backend reaches the cluster and what it creates there.
#[derive(Clone, Debug)]
pub struct KubernetesConfig {
    /// The kubeconfig file; `None`: `KUBECONFIG`, `~/.kube/config` or the in-cluster account.
    pub kubeconfig: Option<PathBuf>,
    /// The namespace of every object (`default`).
    pub namespace: String,
    /// Prefix of every object name and value of the `spaces.io/managed` label (`spaces`); cut
    /// to [`names::PREFIX_MAX`] characters.
    pub prefix: String,
    /// Labels added to every object (an operator's or a test's bookkeeping).
    pub extra_labels: BTreeMap<String, String>,
    /// The registry images are pushed to and pulled from (`host:port`); `None`: no push.
    pub registry: Option<String>,
    /// The pods' `imagePullPolicy` (`IfNotPresent`; `Never` without a registry).
    pub image_pull_policy: String,
    /// The pods' `schedulerName` (`Some("spaces")` for the Spaces scheduler); `None`: the
    /// cluster's default scheduler.
    pub scheduler_name: Option<String>,
    /// The claims' storage class; `None`: the cluster's default class.
    pub storage_class: Option<String>,
    /// Pods on the node's network with a host port from [`Self::host_ports`] (single-node
    /// clusters); see "Addresses" in the [module docs](self).
    pub host_network: bool,
    /// The host ports given out with [`Self::host_network`].
    pub host_ports: RangeInclusive<u16>,
    /// The pods' `terminationGracePeriodSeconds`.
    pub termination_grace: Duration,
    /// How long a start waits for its container to run (or fail).
    pub start_timeout: Duration,
    /// How long a stop waits for the pod to be gone.
    pub stop_timeout: Duration,
    /// Run the `data-owner` init container (see "Storage" in the [module docs](self)).
    pub chown_data_init: bool,
    /// The node label selecting a GPU model (its value: [`spaces_core::GpuModel::as_str`]).
    pub gpu_model_label: String,
    /// The Docker backend that builds images (its engine must be able to push to the registry).
    pub docker: DockerConfig,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            namespace: "default".into(),
            prefix: "spaces".into(),
            extra_labels: BTreeMap::new(),
            registry: None,
            image_pull_policy: "IfNotPresent".into(),
            scheduler_name: None,
            storage_class: None,
            host_network: false,
            host_ports: 42000..=42999,
            termination_grace: Duration::from_secs(2),
            start_timeout: Duration::from_secs(120),
            stop_timeout: Duration::from_secs(90),
            chown_data_init: true,
            gpu_model_label: "spaces.io/gpu-model".into(),
            docker: DockerConfig {
                standby: false,
                ..DockerConfig::default()
            },
        }
    }
}

/// Runs Spaces as Deployments on a Kubernetes cluster. See the [module docs](self).
pub struct KubernetesRuntime {
    client: Client,
    config: KubernetesConfig,
    prefix: String,
    docker: DockerRuntime,
    server_version: String,
    /// Held while a start picks its slot and host port.
    start_lock: tokio::sync::Mutex<()>,
    /// The last instances stopped through this runtime.
    stopped: Mutex<RecentSet<InstanceId>>,
}

impl KubernetesRuntime {
    /// Connects to the cluster and to the Docker engine that builds images.
    ///
    /// Fails with [`Error::Unavailable`] when the API server or the engine does not answer.
    pub async fn connect(mut config: KubernetesConfig) -> Result<Self, Error> {
        let unavailable = |reason: String| Error::Unavailable {
            backend: BACKEND,
            reason,
        };
        let kube_config = match &config.kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| unavailable(format!("reading {}: {e}", path.display())))?;
                kube::Config::from_custom_kubeconfig(file, &Default::default())
                    .await
                    .map_err(|e| unavailable(format!("kubeconfig {}: {e}", path.display())))?
            }
            None => kube::Config::infer()
                .await
                .map_err(|e| unavailable(format!("no cluster configured: {e}")))?,
        };
        let client = Client::try_from(kube_config)
            .map_err(|e| unavailable(format!("building the client: {e}")))?;
        let version = tokio::time::timeout(Duration::from_secs(10), client.apiserver_version())
            .await
            .map_err(|_| unavailable("no answer from the API server within 10s".into()))?
            .map_err(|e| unavailable(format!("API server: {e}")))?;
        if config.registry.is_none() && config.image_pull_policy == "IfNotPresent" {
            config.image_pull_policy = "Never".into();
        }
        let prefix = names::prefix(&config.prefix);
        config.docker.prefix = prefix.clone();
        config.docker.standby = false;
        let docker = DockerRuntime::connect(config.docker.clone()).await?;
        Ok(Self {
            client,
            prefix,
            docker,
            server_version: version.git_version,
            config,
            start_lock: tokio::sync::Mutex::new(()),
            stopped: Mutex::new(RecentSet::new(STOPPED_REMEMBERED)),
        })
    }

    /// The kube-rs client (for tests and operators).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The Docker backend that builds images.
    pub fn builder(&self) -> &DockerRuntime {
        &self.docker
    }

    /// The configuration in use.
    pub fn config(&self) -> &KubernetesConfig {
        &self.config
    }

    /// The API server's version (`v1.20.2`).
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// The label selector of this runtime's objects (its prefix and extra labels), optionally
    /// narrowed to one Space.
    pub fn selector(&self, space: Option<&SpaceId>) -> String {
        let mut parts = vec![format!("{}={}", names::LABEL_MANAGED, self.prefix)];
        parts.extend(
            self.config
                .extra_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}")),
        );
        if let Some(space) = space {
            parts.push(format!(
                "{}={}",
                names::LABEL_SPACE,
                names::space_key(space)
            ));
        }
        parts.join(",")
    }

    /// The name of a Space's claim.
    pub fn claim_name(&self, space: &SpaceId) -> String {
        names::claim(&self.prefix, space)
    }

    /// A Space's claim sizes: what its spec requests and what its status reports as capacity
    /// (`None` each when absent), as Kubernetes quantities (`20Gi`).
    pub async fn claim_sizes(
        &self,
        space: &SpaceId,
    ) -> Result<Option<(Option<String>, Option<String>)>, Error> {
        storage::sizes(self, space).await
    }

    fn is_stopped(&self, id: &InstanceId) -> bool {
        self.stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    fn mark_stopped(&self, id: &InstanceId) {
        self.stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
    }
}

impl std::fmt::Debug for KubernetesRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesRuntime")
            .field("server_version", &self.server_version)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Maps an API error: 404 is [`Error::NotFound`], 409 [`Error::Conflict`], a transport failure
/// [`Error::Unavailable`], anything else [`Error::Io`] with `context`.
pub(crate) fn api_error(context: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let context = context.into();
    move |e| match e {
        kube::Error::Api(status) if status.code == 404 => Error::NotFound {
            what: format!("{context}: {}", status.message),
        },
        kube::Error::Api(status) if status.code == 409 => Error::Conflict {
            what: format!("{context}: {}", status.message),
        },
        kube::Error::Api(status) => Error::Io {
            context: format!("kubernetes: {context}"),
            source: std::io::Error::other(format!("{} ({})", status.message, status.code)),
        },
        other => Error::Unavailable {
            backend: BACKEND,
            reason: format!("{context}: {other}"),
        },
    }
}

/// The HTTP status of an API error answer.
pub(crate) fn code_of(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[async_trait]
impl Runtime for KubernetesRuntime {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn build(&self, request: BuildRequest) -> Result<BuildOutput, Error> {
        image::build(self, request).await
    }

    async fn start(&self, spec: InstanceSpec) -> Result<Instance, Error> {
        instance::start(self, spec).await
    }

    async fn state(&self, id: &InstanceId) -> Result<InstanceState, Error> {
        if self.is_stopped(id) {
            return Ok(InstanceState::Stopped);
        }
        instance::state(self, id).await
    }

    async fn logs(&self, id: &InstanceId, follow: bool) -> Result<LogStream, Error> {
        logs::stream(self, id, follow).await
    }

    async fn stop(&self, id: &InstanceId) -> Result<(), Error> {
        instance::stop(self, id).await?;
        self.mark_stopped(id);
        Ok(())
    }

    async fn remove_image(&self, image: &Image) -> Result<(), Error> {
        image::remove(self, image).await
    }

    async fn delete_volume(&self, space: &SpaceId) -> Result<(), Error> {
        storage::delete(self, space).await
    }

    async fn running(&self) -> Result<Vec<Instance>, Error> {
        instance::running(self).await
    }

    async fn discard_prepared(&self, space: &SpaceId) -> Result<(), Error> {
        prepared::discard(self, space).await
    }
}

/// The size of a [`VolumeSpec`] as a quantity.
pub(crate) fn quantity(volume: &VolumeSpec) -> String {
    format!("{}Gi", volume.size_gb)
}
