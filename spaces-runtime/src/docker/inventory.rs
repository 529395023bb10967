//! The instances of this runtime's namespace on the engine, whoever started them
//! ([`Runtime::running`](crate::Runtime::running)).
//!
//! The engine is the source of truth: the containers listed are those labelled with this
//! runtime's prefix ([`names::LABEL_MANAGED`]) and every one of its
//! [`extra_labels`](super::DockerConfig::extra_labels), that were made to run an app
//! ([`names::LABEL_APP_PORT`]: build containers never carry it), except standbys that were
//! never started. Listed whatever their state: a running app, an app that exited, a container a
//! crashed process created but never started. Each holds its Space's secrets in its `Env` until
//! it is removed, so the caller's [`Runtime::stop`](crate::Runtime::stop) (which removes it) is
//! what an orphan needs. A runtime with another prefix or other extra labels never sees them.

use std::net::{Ipv4Addr, SocketAddr};

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::ListContainersOptions;
use spaces_core::SpaceId;

use super::{engine_error, names, DockerRuntime};
use crate::runtime::{Instance, InstanceId};
use crate::Error;

/// Every instance of this runtime's namespace on the engine. See the [module docs](self).
pub(crate) async fn running(rt: &DockerRuntime) -> Result<Vec<Instance>, Error> {
    let mut labels = rt.namespace_filter();
    labels.push(names::LABEL_APP_PORT.to_owned());
    let list = rt
        .docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(std::collections::HashMap::from([(
                "label".to_owned(),
                labels,
            )])),
            ..Default::default()
        }))
        .await
        .map_err(engine_error(format!(
            "listing the containers of prefix {}",
            rt.prefix
        )))?;
    let mut instances: Vec<Instance> = list.iter().filter_map(instance_of).collect();
    instances.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(instances)
}

/// The instance a listed container is, or `None` for a standby never started and for a
/// container whose labels this backend did not write (no Space, no name).
fn instance_of(c: &ContainerSummary) -> Option<Instance> {
    let labels = c.labels.as_ref()?;
    let standby = labels
        .get(names::LABEL_STANDBY)
        .is_some_and(|v| v == "true");
    if standby && c.state == Some(ContainerSummaryStateEnum::CREATED) {
        return None;
    }
    let space: SpaceId = labels.get(names::LABEL_SPACE)?.parse().ok()?;
    let app_port: u16 = labels.get(names::LABEL_APP_PORT)?.parse().ok()?;
    let name = c
        .names
        .as_ref()?
        .iter()
        .map(|n| n.trim_start_matches('/'))
        .find(|n| !n.is_empty() && !n.contains('/'))?;
    // The app port's loopback binding; none when the container does not run (port 0, as
    // `start` reports an app that exited before its port was read).
    let port = c
        .ports
        .iter()
        .flatten()
        .filter(|p| p.private_port == app_port)
        .filter(|p| p.ip.as_deref().is_none_or(|ip| ip == "127.0.0.1"))
        .find_map(|p| p.public_port)
        .unwrap_or(0);
    Some(Instance {
        id: InstanceId(name.to_owned()),
        space,
        address: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    })
}
