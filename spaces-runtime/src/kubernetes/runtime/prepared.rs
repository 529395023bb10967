//! The prepared state of a Space: its sleeping (0-replica) Deployments and their Secrets, and
//! how [`Runtime::discard_prepared`](crate::Runtime::discard_prepared) removes them.

use std::collections::BTreeSet;
use std::time::Duration;

use kube::api::{DeleteParams, ListParams};
use spaces_core::SpaceId;

use super::instance::{annotation, deployments, owned_by, replicas, secrets};
use super::{api_error, code_of, names, KubernetesRuntime};
use crate::Error;

/// Deletes the Space's sleeping (0-replica) Deployments, waiting for their ReplicaSets to go,
/// and every Secret of the Space that no running Deployment uses.
pub(crate) async fn discard(rt: &KubernetesRuntime, space: &SpaceId) -> Result<(), Error> {
    let selector = rt.selector(Some(space));
    let list = deployments(rt)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(api_error("listing deployments"))?;
    let mut keep = BTreeSet::new();
    let mut gone = Vec::new();
    for d in list.items.iter().filter(|d| owned_by(d, space)) {
        let name = d.metadata.name.clone().unwrap_or_default();
        if replicas(d) > 0 {
            keep.insert(names::secret(&name));
            continue;
        }
        match deployments(rt)
            .delete(&name, &DeleteParams::foreground())
            .await
        {
            Ok(_) => gone.push(name),
            Err(e) if code_of(&e) == Some(404) => {}
            Err(e) => return Err(api_error(format!("deleting deployment {name}"))(e)),
        }
    }
    let secret_list = secrets(rt)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(api_error("listing secrets"))?;
    for s in &secret_list.items {
        let name = s.metadata.name.clone().unwrap_or_default();
        if keep.contains(&name) || annotation(s, names::ANNOTATION_SPACE_ID) != Some(space.as_str())
        {
            continue;
        }
        match secrets(rt).delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if code_of(&e) == Some(404) => {}
            Err(e) => return Err(api_error(format!("deleting secret {name}"))(e)),
        }
    }
    // Foreground deletion: the Deployment goes once its ReplicaSet is gone.
    let deadline = tokio::time::Instant::now() + rt.config.stop_timeout;
    for name in gone {
        while deployments(rt)
            .get_opt(&name)
            .await
            .map_err(api_error(format!("reading deployment {name}")))?
            .is_some()
        {
            if tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}
