//! Running instances: one container per start, its state, its stop; a Space's named volume.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, DeviceRequest,
    EndpointSettings, HostConfig, Mount, MountTypeEnum, NetworkingConfig, PortBinding,
    VolumeCreateOptions,
};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, RemoveContainerOptions, RemoveVolumeOptions,
    StartContainerOptions, StopContainerOptions,
};
use spaces_core::{SpaceId, DATA_DIR};

use super::{egress, engine_error, names, security, standby, status_of, DockerRuntime};
use crate::nvidia::GpuAssignment;
use crate::runtime::{Instance, InstanceId, InstanceSpec, InstanceState};
use crate::Error;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The prefix of this backend's GPU holders (`docker:<container name>`).
pub(crate) const GPU_HOLDER_PREFIX: &str = "docker:";

/// The GPU holder name of a container.
pub(crate) fn gpu_holder(id: &InstanceId) -> String {
    format!("{GPU_HOLDER_PREFIX}{id}")
}

/// The engine's request for exactly `gpu`'s devices, by UUID, through the NVIDIA runtime.
pub(crate) fn device_request(gpu: &GpuAssignment) -> DeviceRequest {
    DeviceRequest {
        driver: Some("nvidia".into()),
        device_ids: Some(gpu.uuids.clone()),
        capabilities: Some(vec![vec!["gpu".into(), "utility".into(), "compute".into()]]),
        ..Default::default()
    }
}

/// Refuses a GPU flavor when the engine has no `nvidia` runtime.
async fn check_nvidia_runtime(rt: &DockerRuntime, spec: &InstanceSpec) -> Result<(), Error> {
    let info = rt
        .docker
        .info()
        .await
        .map_err(engine_error("reading the engine's runtimes"))?;
    let runtimes: Vec<String> = info
        .runtimes
        .map(|r| r.into_keys().collect())
        .unwrap_or_default();
    if runtimes.iter().any(|r| r == "nvidia") {
        return Ok(());
    }
    let flavor = spec.hardware.as_ref().map(|h| h.id.as_str()).unwrap_or("?");
    Err(Error::Unsupported {
        backend: super::BACKEND,
        what: format!(
            "the GPU flavor {flavor}: the engine has no `nvidia` runtime (it has: {}); install \
             the NVIDIA Container Toolkit and register its runtime",
            runtimes.join(", ")
        ),
    })
}

/// A name suffix unique on this engine: time, process and a counter.
pub(crate) fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}{:x}{}",
        nanos & 0xffff_ffff_ffff,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The container's creation request for `spec`, run as `user` (never root: see
/// [`security`]). The environment goes into `Env` only.
pub(crate) fn create_body(
    rt: &DockerRuntime,
    spec: &InstanceSpec,
    user: &str,
    gpu: Option<&GpuAssignment>,
) -> Result<ContainerCreateBody, Error> {
    let image = &spec.image;
    let port = format!("{}/tcp", spec.app_port);
    let env: Vec<String> = spec
        .env
        .entries()
        .iter()
        .map(|(name, value)| format!("{name}={}", value.expose()))
        .collect();
    let mounts = match spec.volume {
        Some(_) => Some(vec![Mount {
            target: Some(DATA_DIR.into()),
            source: Some(rt.volume_name(&image.space)?),
            typ: Some(MountTypeEnum::VOLUME),
            ..Default::default()
        }]),
        None => None,
    };
    let mut labels = rt.labels(Some(&image.space), Some(image.revision.as_str()));
    labels.insert(names::LABEL_APP_PORT.into(), spec.app_port.to_string());
    let (memory, nano_cpus) = match &spec.hardware {
        Some(hw) => (
            Some(i64::from(hw.memory_gb) * 1024 * 1024 * 1024),
            Some(i64::from(hw.vcpu) * 1_000_000_000),
        ),
        None => (None, None),
    };
    Ok(ContainerCreateBody {
        image: Some(image.reference.clone()),
        user: Some(user.to_owned()),
        env: Some(env),
        labels: Some(labels),
        exposed_ports: Some(HashMap::from([(port.clone(), HashMap::new())])),
        host_config: Some(HostConfig {
            port_bindings: Some(HashMap::from([(
                port,
                Some(vec![PortBinding {
                    host_ip: Some(Ipv4Addr::LOCALHOST.to_string()),
                    host_port: Some(String::new()),
                }]),
            )])),
            mounts,
            memory,
            // No swap beyond the memory limit.
            memory_swap: memory,
            nano_cpus,
            pids_limit: Some(security::PIDS_LIMIT),
            cap_drop: Some(security::CAP_DROP.iter().map(|c| (*c).to_owned()).collect()),
            security_opt: Some(
                security::SECURITY_OPT
                    .iter()
                    .map(|o| (*o).to_owned())
                    .collect(),
            ),
            init: Some(true),
            network_mode: Some(rt.network.clone()),
            device_requests: gpu.map(|g| vec![device_request(g)]),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                rt.network.clone(),
                EndpointSettings::default(),
            )])),
        }),
        ..Default::default()
    })
}

/// Starts a fresh container for `spec`. See the [module docs](super).
pub(crate) async fn start(rt: &DockerRuntime, spec: InstanceSpec) -> Result<Instance, Error> {
    let image = &spec.image;
    // Before anything is created: a GPU flavor without GPUs is refused outright.
    security::check_hardware(spec.hardware.as_ref(), rt.gpus.is_some())?;
    let gpu_want = spec.hardware.as_ref().and_then(|h| h.gpu.clone());
    if gpu_want.is_some() {
        check_nvidia_runtime(rt, &spec).await?;
    } else if let Some(name) = standby::take(rt, &spec).await {
        match start_standby(rt, &name, &spec).await {
            Ok(instance) => return Ok(instance),
            // Gone or broken (its network removed, say): a container as usual.
            Err(_) => {
                let _ = remove(rt, &name).await;
            }
        }
    }
    if spec.volume.is_some() {
        ensure_volume(rt, &image.space).await?;
    }
    let name = names::container_name(&rt.prefix, &image.space, &image.revision, &unique());
    let holder = gpu_holder(&InstanceId(name.clone()));
    let gpu = match (&gpu_want, &rt.gpus) {
        (Some(want), Some(gpus)) => Some(gpus.assign(&image.space, &holder, want)?),
        _ => None,
    };
    let started = start_container(rt, &spec, name, gpu.as_ref()).await;
    if started.is_err() {
        if let (Some(_), Some(gpus)) = (&gpu, &rt.gpus) {
            let _ = gpus.release(&holder);
        }
    }
    started
}

/// Creates and starts the container `name` for `spec` with `gpu`'s devices.
async fn start_container(
    rt: &DockerRuntime,
    spec: &InstanceSpec,
    name: String,
    gpu: Option<&GpuAssignment>,
) -> Result<Instance, Error> {
    let image = &spec.image;
    let user = security::user_for(rt, image).await?;
    let body = create_body(rt, spec, &user, gpu)?;
    // Twice at most: when the network was removed from outside since it was last seen, the
    // engine refuses the container (at create or at start); it is then made again.
    let mut attempt = 0;
    let created = loop {
        attempt += 1;
        egress::ensure_network(rt).await?;
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let created = match rt
            .docker
            .create_container(Some(options), body.clone())
            .await
        {
            Ok(created) => created,
            Err(e) if attempt == 1 && network_missing(&e) => {
                egress::forget_network(rt).await;
                continue;
            }
            Err(e) => {
                return Err(engine_error(format!(
                    "creating a container of {} for {}",
                    image.reference, image.space
                ))(e))
            }
        };
        match rt
            .docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
        {
            Ok(()) => break created,
            Err(e) => {
                let _ = remove(rt, &created.id).await;
                if attempt == 1 && network_missing(&e) {
                    egress::forget_network(rt).await;
                    continue;
                }
                return Err(engine_error(format!("starting container {name}"))(e));
            }
        }
    };
    let id = InstanceId(name.clone());
    let address = match published_address(rt, &created.id, spec.app_port).await {
        Ok(address) => address,
        Err(e) => {
            let _ = remove(rt, &created.id).await;
            return Err(e);
        }
    };
    rt.running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), spec.clone());
    Ok(Instance {
        id,
        space: image.space.clone(),
        address,
    })
}

/// Starts the standby container `name`, created for `spec`.
async fn start_standby(
    rt: &DockerRuntime,
    name: &str,
    spec: &InstanceSpec,
) -> Result<Instance, Error> {
    rt.docker
        .start_container(name, None::<StartContainerOptions>)
        .await
        .map_err(engine_error(format!("starting standby container {name}")))?;
    let address = published_address(rt, name, spec.app_port).await?;
    let id = InstanceId(name.to_owned());
    rt.running
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), spec.clone());
    Ok(Instance {
        id,
        space: spec.image.space.clone(),
        address,
    })
}

/// Whether the engine refused a container because its network does not exist.
fn network_missing(e: &bollard::errors::Error) -> bool {
    status_of(e) == Some(404) && e.to_string().contains("network")
}

async fn inspect(
    rt: &DockerRuntime,
    id: &str,
) -> Result<ContainerInspectResponse, bollard::errors::Error> {
    rt.docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
}

/// The host address the app port is published on, read back from the engine.
pub(crate) async fn published_address(
    rt: &DockerRuntime,
    container: &str,
    app_port: u16,
) -> Result<SocketAddr, Error> {
    let info = inspect(rt, container)
        .await
        .map_err(engine_error(format!("inspecting container {container}")))?;
    let key = format!("{app_port}/tcp");
    let binding = info
        .network_settings
        .and_then(|n| n.ports)
        .and_then(|mut p| p.remove(&key))
        .flatten()
        .and_then(|b| b.into_iter().next());
    let port = binding
        .as_ref()
        .and_then(|b| b.host_port.as_deref())
        .and_then(|p| p.parse::<u16>().ok());
    match port {
        Some(port) => Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
        // The app exited before its port was looked up (the engine unpublishes the ports of
        // a stopped container): port 0, and the state says it exited.
        None if !info.state.and_then(|s| s.running).unwrap_or(false) => {
            Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        }
        None => Err(Error::Io {
            context: format!("docker: container {container}"),
            source: std::io::Error::other(format!("port {key} is not published")),
        }),
    }
}

/// The state of an instance's container, from the engine.
pub(crate) async fn state(rt: &DockerRuntime, id: &InstanceId) -> Result<InstanceState, Error> {
    let info = match inspect(rt, &id.0).await {
        Ok(info) => info,
        // Removed from outside: it is gone, as if it had been killed (and nothing of it is
        // kept: its spec is forgotten, no standby follows it).
        Err(e) if status_of(&e) == Some(404) => {
            rt.running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id);
            return Ok(InstanceState::Exited {
                code: None,
                oom_killed: false,
            });
        }
        Err(e) => return Err(engine_error(format!("inspecting container {id}"))(e)),
    };
    let state = info.state.unwrap_or_default();
    Ok(match state.status {
        Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD) => {
            InstanceState::Exited {
                code: state.exit_code.and_then(|c| i32::try_from(c).ok()),
                oom_killed: state.oom_killed.unwrap_or(false),
            }
        }
        // Created, running, paused, restarting, being removed: the container is there.
        _ => InstanceState::Running,
    })
}

pub(crate) async fn remove(rt: &DockerRuntime, id: &str) -> Result<(), bollard::errors::Error> {
    rt.docker
        .remove_container(
            id,
            Some(RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            }),
        )
        .await
}

/// Stops the container (SIGTERM, SIGKILL after the grace period) and removes it with its
/// ephemeral disk. A missing container is not an error.
pub(crate) async fn stop(rt: &DockerRuntime, id: &InstanceId) -> Result<(), Error> {
    let grace = i32::try_from(rt.config.stop_grace.as_secs()).unwrap_or(i32::MAX);
    match rt
        .docker
        .stop_container(
            &id.0,
            Some(StopContainerOptions {
                t: Some(grace),
                ..Default::default()
            }),
        )
        .await
    {
        // 304: already stopped; 404: already gone.
        Ok(()) => {}
        Err(e) if matches!(status_of(&e), Some(304 | 404)) => {}
        Err(e) => return Err(engine_error(format!("stopping container {id}"))(e)),
    }
    match remove(rt, &id.0).await {
        Ok(()) => Ok(()),
        Err(e) if status_of(&e) == Some(404) => Ok(()),
        // 409: a removal is already in progress.
        Err(e) if status_of(&e) == Some(409) => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(())
        }
        Err(e) => Err(engine_error(format!("removing container {id}"))(e)),
    }
}

/// Creates the Space's named volume when it does not exist (creating is idempotent).
async fn ensure_volume(rt: &DockerRuntime, space: &SpaceId) -> Result<(), Error> {
    let name = rt.volume_name(space)?;
    rt.docker
        .create_volume(VolumeCreateOptions {
            name: Some(name.clone()),
            labels: Some(rt.labels(Some(space), None)),
            ..Default::default()
        })
        .await
        .map_err(engine_error(format!("creating volume {name}")))?;
    Ok(())
}

/// Deletes the Space's named volume and its data. A missing volume is not an error; a volume in
/// use by a container is.
pub(crate) async fn delete_volume(rt: &DockerRuntime, space: &SpaceId) -> Result<(), Error> {
    let name = rt.volume_name(space)?;
    match rt
        .docker
        .remove_volume(&name, None::<RemoveVolumeOptions>)
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if status_of(&e) == Some(404) => Ok(()),
        Err(e) => Err(engine_error(format!("deleting volume {name} of {space}"))(
            e,
        )),
    }
}

#[cfg(test)]
mod gpu_tests {
    use super::*;

    #[test]
    fn the_device_request_names_the_gpus_by_uuid_through_the_nvidia_driver() {
        let gpu = GpuAssignment {
            holder: "docker:x".into(),
            uuids: vec!["GPU-a".into(), "GPU-b".into()],
        };
        let r = device_request(&gpu);
        assert_eq!(r.driver.as_deref(), Some("nvidia"));
        assert_eq!(r.device_ids, Some(vec!["GPU-a".into(), "GPU-b".into()]));
        assert_eq!(
            r.capabilities,
            Some(vec![vec!["gpu".into(), "utility".into(), "compute".into()]])
        );
        assert_eq!(r.count, None);
        assert_eq!(gpu_holder(&InstanceId("c1".into())), "docker:c1");
    }
}
