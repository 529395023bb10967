//! Standby containers: the create cost of the next wake, paid when a Space stops.
//!
//! When an instance started by this runtime stops, a new container is created (not started) for
//! the same [`InstanceSpec`]: a fresh ephemeral disk, ready. The next [`start`](super::container)
//! of that Space with an equal spec only starts it, which is what `docker start` of a stopped
//! container costs, without reusing the old disk. A spec that changed (new image, env, flavor,
//! storage) discards the standby and creates a container as usual. Standbys are removed by
//! [`Runtime::remove_image`](crate::Runtime::remove_image) of their image,
//! [`Runtime::delete_volume`](crate::Runtime::delete_volume) of their Space,
//! [`DockerRuntime::discard_standbys`], and, for a runtime that ended without discarding them,
//! when a runtime with the same prefix connects (they are the backend's containers that were
//! never started). [`DockerConfig::standby`](super::DockerConfig::standby) turns this off.
//!
//! A standby holds its Space's environment, secrets included, in its `Env`: it exists only for a
//! sleeping Space. [`Runtime::discard_prepared`](crate::Runtime::discard_prepared) (called by the
//! supervisor when a Space is paused or deleted and when its secrets change) removes it, both the
//! one this process remembers and any container on the engine labelled as a standby of that
//! Space in this runtime's namespace. A standby being created while its Space is discarded is
//! removed as soon as its creation returns (every discard moves an epoch that
//! [`prepare`] checks before it keeps what it made). A start whose spec differs in anything
//! (a secret's value included) never starts a standby made for another spec.
//!
//! The specs (secrets included) are kept in this process's memory only, never on the engine
//! outside the container's `Env`.

use std::sync::atomic::Ordering;

use bollard::query_parameters::{CreateContainerOptions, ListContainersOptions};
use spaces_core::SpaceId;

use super::{container, names, security, DockerRuntime};
use crate::runtime::InstanceSpec;

/// A created, never started container for a Space, and the spec it was created for.
#[derive(Debug)]
pub(crate) struct Standby {
    /// The container's name.
    pub(crate) name: String,
    /// The spec it was created for.
    pub(crate) spec: InstanceSpec,
}

/// Whether two specs would create the same container.
pub(crate) fn same_spec(a: &InstanceSpec, b: &InstanceSpec) -> bool {
    a.image == b.image
        && a.env == b.env
        && a.hardware == b.hardware
        && a.app_port == b.app_port
        && a.volume == b.volume
}

/// Creates the standby of `spec`'s Space (replacing any older one). Failures are ignored: the
/// next start creates its container as usual.
pub(crate) async fn prepare(rt: &DockerRuntime, spec: InstanceSpec) {
    // A GPU instance gets no standby: it would hold GPUs while the Space sleeps.
    if !rt.config.standby || spec.hardware.as_ref().is_some_and(|h| h.gpu.is_some()) {
        return;
    }
    let epoch = rt.discard_epoch.load(Ordering::SeqCst);
    let image = &spec.image;
    let name = names::container_name(
        &rt.prefix,
        &image.space,
        &image.revision,
        &container::unique(),
    );
    let Ok(user) = security::user_for(rt, image).await else {
        return;
    };
    let Ok(mut body) = container::create_body(rt, &spec, &user, None) else {
        return;
    };
    if let Some(labels) = body.labels.as_mut() {
        labels.insert(names::LABEL_STANDBY.into(), "true".into());
    }
    let created = rt
        .docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.clone()),
                ..Default::default()
            }),
            body,
        )
        .await;
    if created.is_err() {
        return;
    }
    let space = image.space.clone();
    let old = {
        let mut standbys = rt.standbys.lock().unwrap_or_else(|e| e.into_inner());
        if rt.discard_epoch.load(Ordering::SeqCst) == epoch {
            standbys.insert(space, Standby { name, spec })
        } else {
            // Discarded while it was being created: it must not keep the secrets.
            Some(Standby { name, spec })
        }
    };
    if let Some(old) = old {
        let _ = container::remove(rt, &old.name).await;
    }
}

/// The standby of `spec`'s Space when it was created for this very spec; a stale one is removed.
pub(crate) async fn take(rt: &DockerRuntime, spec: &InstanceSpec) -> Option<String> {
    let standby = rt
        .standbys
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&spec.image.space)?;
    if same_spec(&standby.spec, spec) {
        Some(standby.name)
    } else {
        let _ = container::remove(rt, &standby.name).await;
        None
    }
}

/// Removes the standbys that `discard` selects.
pub(crate) async fn discard_where(
    rt: &DockerRuntime,
    discard: impl Fn(&SpaceId, &Standby) -> bool,
) {
    rt.discard_epoch.fetch_add(1, Ordering::SeqCst);
    let taken: Vec<Standby> = {
        let mut map = rt.standbys.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<SpaceId> = map
            .iter()
            .filter(|(space, s)| discard(space, s))
            .map(|(space, _)| space.clone())
            .collect();
        keys.iter().filter_map(|k| map.remove(k)).collect()
    };
    for standby in taken {
        let _ = container::remove(rt, &standby.name).await;
    }
}

/// Removes the Space's standby: the one this process remembers and any other on the engine
/// (this namespace, never started).
pub(crate) async fn discard_space(rt: &DockerRuntime, space: &SpaceId) -> Result<(), crate::Error> {
    discard_where(rt, |s, _| s == space).await;
    remove_on_engine(rt, Some(space)).await
}

/// Removes the standby containers of this namespace that were never started, of one Space or of
/// all: left by a runtime that ended without discarding them. Build containers and starting
/// instances are not touched.
pub(crate) async fn remove_on_engine(
    rt: &DockerRuntime,
    space: Option<&SpaceId>,
) -> Result<(), crate::Error> {
    let mut labels = rt.namespace_filter();
    labels.push(format!("{}=true", names::LABEL_STANDBY));
    if let Some(space) = space {
        labels.push(format!("{}={space}", names::LABEL_SPACE));
    }
    let filters = std::collections::HashMap::from([
        ("label".to_owned(), labels),
        ("status".to_owned(), vec!["created".to_owned()]),
    ]);
    let list = rt
        .docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .map_err(super::engine_error("listing standby containers"))?;
    for id in list.iter().filter_map(|c| c.id.as_deref()) {
        match container::remove(rt, id).await {
            Ok(()) => {}
            Err(e) if matches!(super::status_of(&e), Some(404 | 409)) => {}
            Err(e) => return Err(super::engine_error(format!("removing standby {id}"))(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spaces_core::{AppEnvironment, Revision, Sdk, Secret, Space, Visibility};

    fn spec(secret: &str) -> InstanceSpec {
        let id: SpaceId = "alice/app".parse().unwrap();
        let now = "2026-11-01T00:00:00Z".parse().unwrap();
        let mut space = Space::new(id.clone(), Sdk::Docker, Visibility::Private, now);
        space
            .set_secret("TOKEN", Secret::new(secret), None, now)
            .unwrap();
        InstanceSpec {
            image: crate::Image {
                reference: "spaces/alice/app:abcd".into(),
                space: id,
                revision: Revision::new("abcd").unwrap(),
                sdk: Sdk::Docker,
                app_file: Sdk::Docker.default_app_path(),
            },
            env: AppEnvironment::for_space(&space, None),
            hardware: None,
            app_port: 7860,
            volume: None,
        }
    }

    #[test]
    fn a_changed_secret_value_is_a_changed_spec() {
        assert!(same_spec(&spec("old"), &spec("old")));
        assert!(!same_spec(&spec("old"), &spec("new")));
    }
}
