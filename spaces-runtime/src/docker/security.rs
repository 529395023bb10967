//! What every Space container is refused: root, capabilities, new privileges, unbounded
//! processes, GPUs.
//!
//! - **Never root**: the container runs as [`DockerConfig::user`](super::DockerConfig::user)
//!   (`1000:1000` by default, as on the Hub). With `user: None` the image's `USER` is used, unless
//!   it is empty, `root` or uid `0` (with or without a group): then [`FALLBACK_USER`]. A configured
//!   root user is refused when the runtime connects. A `USER` given by name (`app`) is taken as
//!   it is: the engine resolves it in the image's `/etc/passwd`, which the backend does not read.
//! - **No capabilities**: `CapDrop: ["ALL"]` (an app listens on an unprivileged port, 7860).
//! - **No new privileges**: `SecurityOpt: ["no-new-privileges"]` (setuid binaries do not raise).
//! - **At most [`PIDS_LIMIT`] processes** (a fork bomb stays inside its Space).
//! - **GPU flavors** are [`Error::Unsupported`] unless the runtime has a GPU allocator
//!   ([`DockerRuntime::with_gpus`](super::DockerRuntime::with_gpus)); nothing is created for
//!   them. With one, a container gets exactly its GPUs by UUID through the `nvidia` runtime.

use spaces_core::HardwareSpec;

use super::{engine_error, DockerRuntime, BACKEND};
use crate::runtime::Image;
use crate::Error;

/// The most processes (and threads) one Space container may hold: enough for a web server with
/// worker pools (gunicorn, uvicorn, a tokenizer's threads), few enough that a fork bomb cannot
/// starve the host.
pub const PIDS_LIMIT: i64 = 512;

/// The user an app runs as when neither the configuration nor the image names a non-root one.
pub const FALLBACK_USER: &str = "1000:1000";

/// The capabilities every container drops.
pub const CAP_DROP: &[&str] = &["ALL"];

/// The security options of every container.
pub const SECURITY_OPT: &[&str] = &["no-new-privileges"];

/// Whether a Docker `user[:group]` spec runs as root: empty (the image default), `root` or uid 0.
pub fn is_root(user: &str) -> bool {
    let uid = user.split(':').next().unwrap_or("").trim();
    uid.is_empty() || uid == "root" || uid.parse::<u64>().is_ok_and(|n| n == 0)
}

/// Refuses a configuration that would run apps as root.
pub(crate) fn check_config_user(user: Option<&str>) -> Result<(), Error> {
    match user {
        Some(u) if is_root(u) => Err(Error::Unsupported {
            backend: BACKEND,
            what: format!(
                "running apps as root (DockerConfig::user = {u:?}): name a non-root uid, or \
                 None to use the image's USER ({FALLBACK_USER} when that is root)"
            ),
        }),
        _ => Ok(()),
    }
}

/// The user the containers of `image` run as (see the [module docs](self)).
pub(crate) async fn user_for(rt: &DockerRuntime, image: &Image) -> Result<String, Error> {
    if let Some(user) = &rt.config.user {
        return Ok(user.clone());
    }
    let info = rt
        .docker
        .inspect_image(&image.reference)
        .await
        .map_err(engine_error(format!(
            "inspecting image {} of {}",
            image.reference, image.space
        )))?;
    let user = info.config.and_then(|c| c.user).unwrap_or_default();
    Ok(if is_root(&user) {
        FALLBACK_USER.to_owned()
    } else {
        user
    })
}

/// Refuses a flavor with GPUs when the runtime has no GPU allocator.
pub(crate) fn check_hardware(hardware: Option<&HardwareSpec>, has_gpus: bool) -> Result<(), Error> {
    match hardware {
        Some(hw) if hw.gpu.is_some() && !has_gpus => Err(Error::Unsupported {
            backend: BACKEND,
            what: format!(
                "the GPU flavor {} (this backend has no GPU allocator: give it one with \
                 DockerRuntime::with_gpus over an NVIDIA inventory)",
                hw.id.as_str()
            ),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_users_are_recognised() {
        for root in ["", "root", "0", "0:0", "root:1000", "00", " 0 "] {
            assert!(is_root(root), "{root:?}");
        }
        for user in ["1000", "1000:1000", "app", "1000:0"] {
            assert!(!is_root(user), "{user:?}");
        }
        assert!(check_config_user(Some("0:0")).is_err());
        assert!(check_config_user(Some("1000:1000")).is_ok());
        assert!(check_config_user(None).is_ok());
    }

    #[test]
    fn gpu_flavors_are_refused() {
        let catalog = spaces_core::Catalog::seed();
        let t4 = catalog.flavor(&spaces_core::Flavor::T4Small).unwrap();
        let err = check_hardware(Some(t4), false).unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err}");
        let cpu = catalog.flavor(&spaces_core::Flavor::CpuBasic).unwrap();
        assert!(check_hardware(Some(cpu), false).is_ok());
        assert!(check_hardware(None, false).is_ok());
    }
}
