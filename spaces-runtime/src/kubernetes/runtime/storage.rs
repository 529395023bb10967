//! A Space's persistent storage: one claim, created at its first start with storage, grown
//! (never shrunk) by later starts, deleted only by [`Runtime::delete_volume`](crate::Runtime).

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::Api;
use serde_json::json;
use spaces_core::SpaceId;

use super::{api_error, code_of, names, objects, quantity, KubernetesRuntime};
use crate::runtime::VolumeSpec;
use crate::Error;

fn claims(rt: &KubernetesRuntime) -> Api<PersistentVolumeClaim> {
    Api::namespaced(rt.client.clone(), &rt.config.namespace)
}

/// Bytes of a quantity such as `20Gi`, `1G`, `512Mi` (the forms claims use); `None` otherwise.
pub fn bytes_of(q: &str) -> Option<u128> {
    let q = q.trim();
    let split = q.find(|c: char| !c.is_ascii_digit()).unwrap_or(q.len());
    let (num, unit) = q.split_at(split);
    let n: u128 = num.parse().ok()?;
    let factor: u128 = match unit {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    };
    Some(n * factor)
}

fn requested(claim: &PersistentVolumeClaim) -> Option<String> {
    claim
        .spec
        .as_ref()?
        .resources
        .as_ref()?
        .requests
        .as_ref()?
        .get("storage")
        .map(|q| q.0.clone())
}

/// Makes sure the Space's claim exists and requests at least `volume`'s size.
pub(crate) async fn ensure(
    rt: &KubernetesRuntime,
    space: &SpaceId,
    volume: &VolumeSpec,
) -> Result<(), Error> {
    let api = claims(rt);
    let name = names::claim(&rt.prefix, space);
    let existing = api
        .get_opt(&name)
        .await
        .map_err(api_error(format!("reading claim {name}")))?;
    let Some(claim) = existing else {
        let claim = objects::claim(&rt.config, &rt.prefix, space, volume.size_gb)?;
        return match api.create(&PostParams::default(), &claim).await {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e) == Some(409) => Ok(()),
            Err(e) => Err(api_error(format!("creating claim {name}"))(e)),
        };
    };
    check_owner(&claim, space, &name)?;
    if claim.metadata.deletion_timestamp.is_some() {
        // Deleted a moment ago (delete_volume): wait until it is gone, then create it afresh.
        wait_gone(&api, &name, Duration::from_secs(60)).await?;
        return Box::pin(ensure(rt, space, volume)).await;
    }
    let want = quantity(volume);
    let bigger = match requested(&claim).as_deref().and_then(bytes_of) {
        Some(have) => bytes_of(&want).is_some_and(|w| w > have),
        None => true,
    };
    if bigger {
        let patch = json!({ "spec": { "resources": { "requests": { "storage": want } } } });
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(api_error(format!(
                "expanding claim {name} of {space} to {want} (does its storage class allow \
                 volume expansion?)"
            )))?;
    }
    Ok(())
}

fn check_owner(claim: &PersistentVolumeClaim, space: &SpaceId, name: &str) -> Result<(), Error> {
    let owner = claim
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(names::ANNOTATION_SPACE_ID));
    match owner {
        Some(o) if o == space.as_str() => Ok(()),
        _ => Err(Error::Conflict {
            what: format!("claim {name} exists and does not belong to {space}"),
        }),
    }
}

async fn wait_gone(
    api: &Api<PersistentVolumeClaim>,
    name: &str,
    limit: Duration,
) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let claim = api
            .get_opt(name)
            .await
            .map_err(api_error(format!("reading claim {name}")))?;
        if claim.is_none() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Io {
                context: format!("deleting claim {name}"),
                source: std::io::Error::other(format!("still there after {}s", limit.as_secs())),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Deletes the Space's claim and waits until it is gone (its volume is then released, and the
/// host-path provisioner deletes its folder). A missing claim is not an error.
pub(crate) async fn delete(rt: &KubernetesRuntime, space: &SpaceId) -> Result<(), Error> {
    let api = claims(rt);
    let name = names::claim(&rt.prefix, space);
    match api.get_opt(&name).await {
        Ok(Some(claim)) => check_owner(&claim, space, &name)?,
        Ok(None) => return Ok(()),
        Err(e) => return Err(api_error(format!("reading claim {name}"))(e)),
    }
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(e) if code_of(&e) == Some(404) => return Ok(()),
        Err(e) => return Err(api_error(format!("deleting claim {name}"))(e)),
    }
    // A claim used by a pod stays (Terminating) until the pod is gone: stop first.
    wait_gone(&api, &name, rt.config.stop_timeout).await
}

/// The claim's requested size and its reported capacity.
pub(crate) async fn sizes(
    rt: &KubernetesRuntime,
    space: &SpaceId,
) -> Result<Option<(Option<String>, Option<String>)>, Error> {
    let name = names::claim(&rt.prefix, space);
    let claim = claims(rt)
        .get_opt(&name)
        .await
        .map_err(api_error(format!("reading claim {name}")))?;
    Ok(claim.map(|c| {
        let capacity = c
            .status
            .as_ref()
            .and_then(|s| s.capacity.as_ref())
            .and_then(|m| m.get("storage"))
            .map(|q| q.0.clone());
        (requested(&c), capacity)
    }))
}

#[cfg(test)]
mod tests {
    use super::bytes_of;

    #[test]
    fn quantities() {
        assert_eq!(bytes_of("20Gi"), Some(20 << 30));
        assert_eq!(bytes_of("1G"), Some(1_000_000_000));
        assert!(bytes_of("150Gi") > bytes_of("20Gi"));
        assert_eq!(bytes_of("1.5Gi"), None);
    }
}
