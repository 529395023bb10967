//! [`SdkRouter`]: one [`Runtime`] over two backends, chosen by the Space's SDK: static and Python
//! Spaces on the local runtime, Docker Spaces on a Docker backend when one is given.

use std::sync::Arc;

use async_trait::async_trait;
use spaces_core::{Sdk, SpaceId};

use crate::local::LocalRuntime;
use crate::runtime::{
    BuildOutput, BuildRequest, Image, Instance, InstanceId, InstanceSpec, InstanceState, LogStream,
    Runtime,
};
use crate::Error;

/// Static and Python Spaces on a [`LocalRuntime`], Docker Spaces on `docker` (any backend, in
/// practice `DockerRuntime`). Without `docker`, a Docker Space's build is `Unsupported` with a
/// message that says what to do. Instances are told apart by their ids (the local runtime's start
/// with `local-`).
///
/// ```no_run
/// use std::sync::Arc;
/// use spaces_runtime::{LocalRuntime, Runtime, SdkRouter};
///
/// let local = Arc::new(LocalRuntime::new("/tmp/spaces-local")?);
/// let runtime: Arc<dyn Runtime> = Arc::new(SdkRouter::new(local, None));
/// assert_eq!(runtime.name(), "sdk-router");
/// # Ok::<(), spaces_runtime::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SdkRouter {
    local: Arc<LocalRuntime>,
    docker: Option<Arc<dyn Runtime>>,
}

impl SdkRouter {
    /// A router over the local runtime and, optionally, a Docker backend.
    pub fn new(local: Arc<LocalRuntime>, docker: Option<Arc<dyn Runtime>>) -> Self {
        Self { local, docker }
    }

    fn for_sdk(&self, sdk: Sdk) -> Result<&dyn Runtime, Error> {
        match (sdk, &self.docker) {
            (Sdk::Docker, Some(docker)) => Ok(docker.as_ref()),
            (Sdk::Docker, None) => Err(Error::Unsupported {
                backend: "local",
                what: "Docker Spaces on this platform: it runs without a Docker backend (start it with the Docker engine enabled, e.g. `spaces-server serve --docker`)".into(),
            }),
            _ => Ok(self.local.as_ref()),
        }
    }

    fn for_instance(&self, id: &InstanceId) -> &dyn Runtime {
        match &self.docker {
            Some(docker) if !id.0.starts_with("local-") => docker.as_ref(),
            _ => self.local.as_ref(),
        }
    }

    fn all(&self) -> impl Iterator<Item = &dyn Runtime> {
        std::iter::once(self.local.as_ref() as &dyn Runtime).chain(self.docker.as_deref())
    }
}

#[async_trait]
impl Runtime for SdkRouter {
    fn name(&self) -> &'static str {
        "sdk-router"
    }

    async fn build(&self, request: BuildRequest) -> Result<BuildOutput, Error> {
        self.for_sdk(request.sdk)?.build(request).await
    }

    async fn start(&self, spec: InstanceSpec) -> Result<Instance, Error> {
        self.for_sdk(spec.image.sdk)?.start(spec).await
    }

    async fn state(&self, instance: &InstanceId) -> Result<InstanceState, Error> {
        self.for_instance(instance).state(instance).await
    }

    async fn logs(&self, instance: &InstanceId, follow: bool) -> Result<LogStream, Error> {
        self.for_instance(instance).logs(instance, follow).await
    }

    async fn stop(&self, instance: &InstanceId) -> Result<(), Error> {
        self.for_instance(instance).stop(instance).await
    }

    async fn remove_image(&self, image: &Image) -> Result<(), Error> {
        self.for_sdk(image.sdk)?.remove_image(image).await
    }

    async fn delete_volume(&self, space: &SpaceId) -> Result<(), Error> {
        // The volume is on one of them; deleting one that does not exist is not an error.
        let mut first = Ok(());
        for rt in self.all() {
            if let Err(e) = rt.delete_volume(space).await {
                first = first.and(Err(e));
            }
        }
        first
    }

    async fn running(&self) -> Result<Vec<Instance>, Error> {
        let mut out = Vec::new();
        for rt in self.all() {
            out.extend(rt.running().await?);
        }
        Ok(out)
    }

    async fn discard_prepared(&self, space: &SpaceId) -> Result<(), Error> {
        let mut first = Ok(());
        for rt in self.all() {
            if let Err(e) = rt.discard_prepared(space).await {
                first = first.and(Err(e));
            }
        }
        first
    }
}
