//! The objects a Space is made of: its Deployment, its Secret, its claim. Pure functions of the
//! spec and the configuration (no API calls), so they are checked by unit tests.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use serde_json::{json, Value};
use spaces_core::{SpaceId, DATA_DIR};

use super::names;
use super::KubernetesConfig;
use crate::runtime::InstanceSpec;
use crate::Error;

/// The uid and gid apps run as (as on the Hub, and as in the Docker backend).
pub const APP_UID: i64 = 1000;

/// The name of the app's container in the pod.
pub const APP_CONTAINER: &str = "app";

/// The name of the init container that gives `/data` to [`APP_UID`].
pub const DATA_OWNER_CONTAINER: &str = "data-owner";

/// The resource name of NVIDIA GPUs (the NVIDIA device plugin's).
pub const GPU_RESOURCE: &str = "nvidia.com/gpu";

/// What a Deployment is made for: its name, the instance nonce, the ports.
#[derive(Clone, Debug)]
pub struct Placement {
    /// The Deployment's name.
    pub deployment: String,
    /// The instance it runs.
    pub nonce: String,
    /// The port the app listens on: the host port with host networking, else the app port.
    pub port: u16,
}

fn bad_object(what: &str) -> impl FnOnce(serde_json::Error) -> Error + '_ {
    move |e| Error::Io {
        context: format!("building the {what} object"),
        source: std::io::Error::other(e.to_string()),
    }
}

/// The labels every object of `space` carries (none holds a secret).
pub fn labels(cfg: &KubernetesConfig, prefix: &str, space: &SpaceId) -> BTreeMap<String, String> {
    let mut labels = cfg.extra_labels.clone();
    labels.insert(names::LABEL_MANAGED.into(), prefix.into());
    labels.insert(names::LABEL_SPACE.into(), names::space_key(space));
    labels
}

/// The Secret holding the app's whole environment (variables and secrets alike: nothing is
/// inlined in the pod spec). Later entries win, as in the process environment.
pub fn secret(
    cfg: &KubernetesConfig,
    prefix: &str,
    spec: &InstanceSpec,
    name: &str,
) -> Result<Secret, Error> {
    let space = &spec.image.space;
    let data: BTreeMap<&str, &str> = spec
        .env
        .entries()
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": cfg.namespace,
            "labels": labels(cfg, prefix, space),
            "annotations": { names::ANNOTATION_SPACE_ID: space.as_str() },
        },
        "type": "Opaque",
        "stringData": data,
    }))
    .map_err(bad_object("Secret"))
}

/// The claim of a Space's storage, `size_gb` GiB.
pub fn claim(
    cfg: &KubernetesConfig,
    prefix: &str,
    space: &SpaceId,
    size_gb: u32,
) -> Result<PersistentVolumeClaim, Error> {
    let mut spec = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": { "requests": { "storage": format!("{size_gb}Gi") } },
    });
    if let Some(class) = &cfg.storage_class {
        spec["storageClassName"] = json!(class);
    }
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": names::claim(prefix, space),
            "namespace": cfg.namespace,
            "labels": labels(cfg, prefix, space),
            "annotations": { names::ANNOTATION_SPACE_ID: space.as_str() },
        },
        "spec": spec,
    }))
    .map_err(bad_object("PersistentVolumeClaim"))
}

/// The security context of the app's container: no capabilities, no privilege escalation,
/// uid/gid 1000, never root, the runtime's default seccomp profile.
fn app_security() -> Value {
    json!({
        "runAsUser": APP_UID,
        "runAsGroup": APP_UID,
        "runAsNonRoot": true,
        "allowPrivilegeEscalation": false,
        "privileged": false,
        "capabilities": { "drop": ["ALL"] },
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

/// The Deployment running `spec` (see the [runtime docs](super) for every choice).
pub fn deployment(
    cfg: &KubernetesConfig,
    prefix: &str,
    spec: &InstanceSpec,
    placement: &Placement,
) -> Result<Deployment, Error> {
    let space = &spec.image.space;
    let name = &placement.deployment;
    let mut pod_labels = labels(cfg, prefix, space);
    pod_labels.insert(names::LABEL_DEPLOYMENT.into(), name.clone());

    let mut resources = json!({});
    if let Some(hw) = &spec.hardware {
        let amounts =
            json!({ "cpu": hw.vcpu.to_string(), "memory": format!("{}Gi", hw.memory_gb) });
        resources = json!({ "requests": amounts.clone(), "limits": amounts });
        if let Some(gpu) = &hw.gpu {
            resources["limits"][GPU_RESOURCE] = json!(gpu.count.to_string());
        }
    }
    let mut env = Vec::new();
    if cfg.host_network {
        // The app must listen on the port the backend allocated (see the runtime docs).
        env.push(json!({ "name": "PORT", "value": placement.port.to_string() }));
    }
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    let mut init = Vec::new();
    if spec.volume.is_some() {
        mounts.push(json!({ "name": "data", "mountPath": DATA_DIR }));
        volumes.push(json!({
            "name": "data",
            "persistentVolumeClaim": { "claimName": names::claim(prefix, space) },
        }));
        if cfg.chown_data_init {
            init.push(json!({
                "name": DATA_OWNER_CONTAINER,
                "image": spec.image.reference,
                "imagePullPolicy": cfg.image_pull_policy,
                "command": ["chown", format!("{APP_UID}:{APP_UID}"), DATA_DIR],
                "volumeMounts": mounts.clone(),
                "resources": {
                    "requests": { "cpu": "10m", "memory": "16Mi" },
                    "limits": { "cpu": "100m", "memory": "64Mi" },
                },
                // Root, but only CAP_CHOWN: it can change the owner of /data and nothing else.
                "securityContext": {
                    "runAsUser": 0,
                    "runAsGroup": 0,
                    "runAsNonRoot": false,
                    "allowPrivilegeEscalation": false,
                    "privileged": false,
                    "capabilities": { "drop": ["ALL"], "add": ["CHOWN"] },
                    "seccompProfile": { "type": "RuntimeDefault" },
                },
            }));
        }
    }
    let mut port = json!({ "name": "http", "containerPort": placement.port, "protocol": "TCP" });
    if cfg.host_network {
        port["hostPort"] = json!(placement.port);
    }
    let container = json!({
        "name": APP_CONTAINER,
        "image": spec.image.reference,
        "imagePullPolicy": cfg.image_pull_policy,
        "envFrom": [{ "secretRef": { "name": names::secret(name) } }],
        "env": env,
        "ports": [port],
        "resources": resources,
        "volumeMounts": mounts,
        "readinessProbe": {
            "httpGet": { "path": "/", "port": placement.port },
            "periodSeconds": 1,
            "timeoutSeconds": 1,
            "failureThreshold": 1,
            "successThreshold": 1,
        },
        "securityContext": app_security(),
    });
    let mut pod = json!({
        "terminationGracePeriodSeconds": cfg.termination_grace.as_secs(),
        "enableServiceLinks": false,
        "automountServiceAccountToken": false,
        "restartPolicy": "Always",
        "securityContext": {
            "runAsUser": APP_UID,
            "runAsGroup": APP_UID,
            "runAsNonRoot": true,
            "fsGroup": APP_UID,
            "seccompProfile": { "type": "RuntimeDefault" },
        },
        "initContainers": init,
        "containers": [container],
        "volumes": volumes,
    });
    if cfg.host_network {
        pod["hostNetwork"] = json!(true);
        pod["dnsPolicy"] = json!("ClusterFirstWithHostNet");
    }
    if let Some(scheduler) = &cfg.scheduler_name {
        pod["schedulerName"] = json!(scheduler);
    }
    if let Some(gpu) = spec.hardware.as_ref().and_then(|h| h.gpu.as_ref()) {
        pod["nodeSelector"] = json!({ cfg.gpu_model_label.as_str(): gpu.model.as_str() });
    }
    let mut annotations = BTreeMap::from([
        (
            names::ANNOTATION_SPACE_ID.to_owned(),
            space.as_str().to_owned(),
        ),
        (
            names::ANNOTATION_INSTANCE.to_owned(),
            placement.nonce.clone(),
        ),
        (
            names::ANNOTATION_APP_PORT.to_owned(),
            spec.app_port.to_string(),
        ),
    ]);
    if cfg.host_network {
        annotations.insert(
            names::ANNOTATION_HOST_PORT.into(),
            placement.port.to_string(),
        );
    }
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": cfg.namespace,
            "labels": labels(cfg, prefix, space),
            "annotations": annotations,
        },
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 0,
            "strategy": { "type": "Recreate" },
            "selector": { "matchLabels": { names::LABEL_DEPLOYMENT: name } },
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": { names::ANNOTATION_SPACE_ID: space.as_str() },
                },
                "spec": pod,
            },
        },
    }))
    .map_err(bad_object("Deployment"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{Image, VolumeSpec};
    use spaces_core::{
        AppEnvironment, Catalog, Flavor, Revision, Sdk, Secret as CoreSecret, Space, Visibility,
    };

    fn spec(volume: bool, flavor: Option<Flavor>) -> InstanceSpec {
        let space: SpaceId = "alice/flan".parse().unwrap();
        let now = "2026-11-01T00:00:00Z".parse().unwrap();
        let mut s = Space::new(space.clone(), Sdk::Docker, Visibility::Private, now);
        s.set_secret("TOKEN", CoreSecret::new("hunter2-secret"), None, now)
            .unwrap();
        let catalog = Catalog::seed();
        let hardware = flavor.and_then(|f| catalog.flavor(&f).cloned());
        InstanceSpec {
            image: Image {
                reference: "127.0.0.1:5000/spaces/alice/flan@sha256:00".into(),
                space,
                revision: Revision::new("abc1234").unwrap(),
                sdk: Sdk::Docker,
                app_file: Sdk::Docker.default_app_path(),
            },
            env: AppEnvironment::for_space(&s, hardware.as_ref()),
            hardware,
            app_port: 7860,
            volume: volume.then_some(VolumeSpec { size_gb: 20 }),
        }
    }

    fn placement() -> Placement {
        Placement {
            deployment: "spaces-5-alice-flan-0".into(),
            nonce: "n1".into(),
            port: 42001,
        }
    }

    #[test]
    fn the_deployment_is_hardened_and_holds_no_secret() {
        let cfg = KubernetesConfig {
            host_network: true,
            ..KubernetesConfig::default()
        };
        let d = deployment(
            &cfg,
            "spaces",
            &spec(true, Some(Flavor::CpuUpgrade)),
            &placement(),
        )
        .unwrap();
        let text = serde_json::to_string(&d).unwrap();
        assert!(!text.contains("hunter2-secret"), "{text}");
        let pod = d.spec.unwrap().template.spec.unwrap();
        assert_eq!(pod.host_network, Some(true));
        let app = &pod.containers[0];
        let sc = app.security_context.clone().unwrap();
        assert_eq!(sc.run_as_user, Some(APP_UID));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.capabilities.unwrap().drop, Some(vec!["ALL".to_owned()]));
        let res = app.resources.clone().unwrap();
        assert_eq!(res.limits, res.requests);
        assert_eq!(app.ports.as_ref().unwrap()[0].host_port, Some(42001));
        let init = &pod.init_containers.unwrap()[0];
        let caps = init.security_context.clone().unwrap().capabilities.unwrap();
        assert_eq!(caps.add, Some(vec!["CHOWN".to_owned()]));
        assert_eq!(pod.scheduler_name, None);
    }

    #[test]
    fn gpu_flavors_get_limits_and_a_node_selector() {
        let cfg = KubernetesConfig {
            scheduler_name: Some("spaces".into()),
            ..KubernetesConfig::default()
        };
        let d = deployment(
            &cfg,
            "spaces",
            &spec(false, Some(Flavor::T4Small)),
            &placement(),
        )
        .unwrap();
        let pod = d.spec.unwrap().template.spec.unwrap();
        assert_eq!(pod.scheduler_name.as_deref(), Some("spaces"));
        assert_eq!(
            pod.node_selector
                .unwrap()
                .get(&cfg.gpu_model_label)
                .map(String::as_str),
            Some("T4")
        );
        let limits = pod.containers[0].resources.clone().unwrap().limits.unwrap();
        assert_eq!(limits.get(GPU_RESOURCE).map(|q| q.0.as_str()), Some("1"));
        assert!(pod.init_containers.unwrap_or_default().is_empty());
    }

    #[test]
    fn the_secret_holds_the_environment() {
        let cfg = KubernetesConfig::default();
        let s = secret(&cfg, "spaces", &spec(false, None), "x-env").unwrap();
        let data = s.string_data.unwrap();
        assert_eq!(
            data.get("TOKEN").map(String::as_str),
            Some("hunter2-secret")
        );
        assert!(!s
            .metadata
            .labels
            .unwrap()
            .values()
            .any(|v| v.contains("hunter2")));
    }
}
