//! Images: built by the Docker backend, pushed to the cluster's registry, pinned by digest.

use std::time::Duration;

use bollard::query_parameters::{PushImageOptions, RemoveImageOptions, TagImageOptions};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::KubernetesRuntime;
use crate::runtime::{BuildOutput, BuildRequest, Image, Runtime};
use crate::Error;

/// Splits `<repository>:<tag>` (a registry's `host:port` may hold a `:` too).
fn split_tag(reference: &str) -> (&str, &str) {
    match reference.rfind(':') {
        Some(i) if !reference[i..].contains('/') => (&reference[..i], &reference[i + 1..]),
        _ => (reference, "latest"),
    }
}

/// Builds with the Docker backend, then tags and pushes to the registry. See the
/// [runtime docs](super).
pub(crate) async fn build(rt: &KubernetesRuntime, req: BuildRequest) -> Result<BuildOutput, Error> {
    let mut out = rt.docker.build(req).await?;
    let Some(registry) = rt.config.registry.clone() else {
        return Ok(out);
    };
    let local = out.image.reference.clone();
    let (repo, tag) = split_tag(&local);
    let remote_repo = format!("{registry}/{repo}");
    let failed = |reason: String, log: &[String]| Error::BuildFailed {
        space: out.image.space.clone(),
        reason: reason.clone(),
        log_tail: format!(
            "{}\nerror: {reason}",
            log[log.len().saturating_sub(10)..].join("\n")
        ),
    };
    let docker = rt.docker.client();
    docker
        .tag_image(
            &local,
            Some(TagImageOptions {
                repo: Some(remote_repo.clone()),
                tag: Some(tag.to_owned()),
            }),
        )
        .await
        .map_err(|e| {
            failed(
                format!("tagging {local} as {remote_repo}:{tag}: {e}"),
                &out.log,
            )
        })?;
    out.log.push(format!("pushing {remote_repo}:{tag}"));
    let mut stream = docker.push_image(
        &remote_repo,
        Some(PushImageOptions {
            tag: Some(tag.to_owned()),
            ..Default::default()
        }),
        None,
    );
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(e) = info.error.or(info.error_detail.and_then(|d| d.message)) {
                    error = Some(e);
                }
            }
            Err(e) => error = Some(e.to_string()),
        }
    }
    if let Some(e) = error {
        return Err(failed(
            format!("pushing {remote_repo}:{tag}: {e}"),
            &out.log,
        ));
    }
    let inspected = docker
        .inspect_image(&format!("{remote_repo}:{tag}"))
        .await
        .map_err(|e| failed(format!("inspecting {remote_repo}:{tag}: {e}"), &out.log))?;
    let pinned = inspected
        .repo_digests
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.starts_with(&format!("{remote_repo}@")))
        .ok_or_else(|| {
            failed(
                format!("the registry gave {remote_repo} no digest"),
                &out.log,
            )
        })?;
    out.log.push(format!("pushed: {pinned}"));
    out.image.reference = pinned;
    Ok(out)
}

/// Removes the image's local tags (the build's and the registry's) and its manifest from the
/// registry. Missing tags and a registry refusing deletes are not errors.
pub(crate) async fn remove(rt: &KubernetesRuntime, image: &Image) -> Result<(), Error> {
    let local = crate::docker::names::image_tag(&rt.prefix, &image.space, &image.revision)?;
    let Some(registry) = rt.config.registry.as_deref() else {
        return rt.docker.remove_image(image).await;
    };
    let (repo, tag) = split_tag(&local);
    let remote_tag = format!("{registry}/{repo}:{tag}");
    for reference in [remote_tag.as_str(), local.as_str()] {
        match rt
            .docker
            .client()
            .remove_image(reference, None::<RemoveImageOptions>, None)
            .await
        {
            Ok(_) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => {}
            Err(e) => {
                return Err(crate::docker::engine_error(format!(
                    "removing image {reference}"
                ))(e))
            }
        }
    }
    if let Some((_, digest)) = image.reference.split_once('@') {
        delete_manifest(registry, repo, digest).await?;
    }
    Ok(())
}

/// `DELETE /v2/<repo>/manifests/<digest>` on the registry (plain HTTP: a loopback registry, as
/// in the tests). 202 deleted, 404 already gone, 405 deletes disabled: all fine.
async fn delete_manifest(registry: &str, repo: &str, digest: &str) -> Result<(), Error> {
    let io = |what: String| {
        move |e: std::io::Error| Error::Io {
            context: what,
            source: e,
        }
    };
    let addr = tokio::net::lookup_host(registry)
        .await
        .map_err(io(format!("resolving the registry {registry}")))?
        .next()
        .ok_or_else(|| Error::Unavailable {
            backend: super::BACKEND,
            reason: format!("the registry {registry} has no address"),
        })?;
    let path = format!("/v2/{repo}/manifests/{digest}");
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        let driver = tokio::spawn(conn);
        let request = hyper::Request::delete(path.as_str())
            .header(hyper::header::HOST, registry)
            .body(Empty::<Bytes>::new())
            .map_err(std::io::Error::other)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(std::io::Error::other)?;
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        driver.abort();
        Ok::<u16, std::io::Error>(status)
    };
    let status = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| Error::Unavailable {
            backend: super::BACKEND,
            reason: format!("the registry {registry} did not answer DELETE {path} within 10s"),
        })?
        .map_err(io(format!("DELETE {path} on {registry}")))?;
    match status {
        200..=299 | 404 | 405 => Ok(()),
        other => Err(Error::Io {
            context: format!("deleting {repo}@{digest} from {registry}"),
            source: std::io::Error::other(format!("HTTP {other}")),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::split_tag;

    #[test]
    fn tags_split_after_the_registry_port() {
        assert_eq!(split_tag("spaces/a/b:abc"), ("spaces/a/b", "abc"));
        assert_eq!(
            split_tag("127.0.0.1:5000/spaces/a/b"),
            ("127.0.0.1:5000/spaces/a/b", "latest")
        );
    }
}
