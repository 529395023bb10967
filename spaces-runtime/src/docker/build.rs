//! Building a Space's revision: the folder as a tar context, the classic builder, the log.

use std::path::Path;

use bollard::query_parameters::{BuildImageOptions, BuilderVersion, RemoveImageOptions};
use futures_util::StreamExt;

use super::{engine_error, names, status_of, DockerRuntime};
use crate::runtime::{BuildOutput, BuildRequest, Image};
use crate::Error;

/// How many log lines a [`Error::BuildFailed`] carries.
const TAIL_LINES: usize = 40;

/// The empty folder, in the context, that the appended step copies to `/data`.
pub const DATA_SKELETON: &str = ".spaces-runtime/data";

/// The step appended to the `Dockerfile` the engine receives: `/data` owned by the app's user.
pub const DATA_STEP: &str = "COPY --chown=1000:1000 .spaces-runtime/data/ /data/";

/// The build context of `source`: every file except `.git`, with `dockerfile` replaced by its
/// text plus [`DATA_STEP`], and the empty [`DATA_SKELETON`] folder.
pub fn context_tar(source: &Path, dockerfile: &str) -> std::io::Result<Vec<u8>> {
    let mut text = std::fs::read_to_string(source.join(dockerfile))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(
        "# added by the spaces Docker runtime: /data belongs to the app's user (uid 1000)\n",
    );
    text.push_str(DATA_STEP);
    text.push('\n');

    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    append_tree(&mut tar, source, Path::new(""), dockerfile)?;

    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    tar.append_data(&mut header, dockerfile, text.as_bytes())?;

    for dir in [".spaces-runtime", DATA_SKELETON] {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(0);
        header.set_mode(0o755);
        header.set_mtime(0);
        tar.append_data(&mut header, format!("{dir}/"), std::io::empty())?;
    }
    tar.into_inner()
}

fn append_tree(
    tar: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    rel: &Path,
    dockerfile: &str,
) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(root.join(rel))?.collect::<Result<Vec<_>, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let path = rel.join(&name);
        if name == ".git" || path == Path::new(dockerfile) || path.starts_with(".spaces-runtime") {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            tar.append_dir(&path, entry.path())?;
            append_tree(tar, root, &path, dockerfile)?;
        } else {
            // Files and symlinks as they are (symlinks are not followed).
            tar.append_path_with_name(entry.path(), &path)?;
        }
    }
    Ok(())
}

fn tail(log: &[String]) -> String {
    log[log.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// Builds `req` with the classic builder. See the [module docs](super).
pub(crate) async fn build(rt: &DockerRuntime, req: BuildRequest) -> Result<BuildOutput, Error> {
    let tag = names::image_tag(&rt.prefix, &req.space, &req.revision)?;
    let mut log = vec![format!(
        "building {} at {} into {tag} (classic builder{})",
        req.space,
        req.revision.short(),
        if req.no_cache { ", no cache" } else { "" }
    )];
    let failed = |reason: String, log: &[String]| Error::BuildFailed {
        space: req.space.clone(),
        reason,
        log_tail: tail(log),
    };
    if !req.source.join(&req.app_file).is_file() {
        log.push(format!(
            "error: `{}` not found in the repository",
            req.app_file
        ));
        return Err(failed(format!("`{}` not found", req.app_file), &log));
    }
    let (source, dockerfile) = (req.source.clone(), req.app_file.clone());
    let context = tokio::task::spawn_blocking(move || context_tar(&source, dockerfile.as_str()))
        .await
        .map_err(|e| Error::io("packing the build context")(std::io::Error::other(e)))?
        .map_err(Error::io(format!(
            "packing {} as a build context",
            req.source.display()
        )))?;
    log.push(format!(
        "sending a build context of {} bytes",
        context.len()
    ));

    // The image the tag points at now, removed once the tag moves.
    let previous = rt.docker.inspect_image(&tag).await.ok().and_then(|i| i.id);

    let options = BuildImageOptions {
        dockerfile: req.app_file.to_string(),
        t: Some(tag.clone()),
        nocache: req.no_cache,
        rm: true,
        forcerm: true,
        labels: Some(rt.labels(Some(&req.space), Some(req.revision.as_str()))),
        version: BuilderVersion::BuilderV1,
        ..Default::default()
    };
    let mut stream = rt.docker.build_image(
        options,
        None,
        Some(bollard::body_full(bytes::Bytes::from(context))),
    );
    let mut partial = String::new();
    let mut error: Option<String> = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.or(info.status) {
                    partial.push_str(&text);
                    while let Some(end) = partial.find('\n') {
                        let line: String = partial.drain(..=end).collect();
                        log.push(line.trim_end().to_owned());
                    }
                }
                if let Some(e) = info.error.or(info.error_detail.and_then(|d| d.message)) {
                    error = Some(e);
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error: e }) => error = Some(e),
            Err(e) => {
                let status = status_of(&e);
                let message = e.to_string();
                if status.is_some() {
                    // The engine refused the build itself (a bad Dockerfile path, say).
                    log.push(format!("error: {message}"));
                    return Err(failed(message, &log));
                }
                return Err(engine_error(format!("building {tag}"))(e));
            }
        }
    }
    if !partial.trim().is_empty() {
        log.push(partial.trim_end().to_owned());
    }
    if let Some(e) = error {
        log.push(format!("error: {}", e.trim_end()));
        return Err(failed(e.trim_end().to_owned(), &log));
    }
    let image = rt
        .docker
        .inspect_image(&tag)
        .await
        .map_err(engine_error(format!("inspecting the built image {tag}")))?;
    if let (Some(old), Some(new)) = (previous, image.id.as_ref()) {
        if &old != new {
            // The tag moved: the image it named is no longer needed (in use: kept by the engine).
            let _ = rt
                .docker
                .remove_image(&old, None::<RemoveImageOptions>, None)
                .await;
        }
    }
    log.push(format!(
        "image ready: {tag} ({})",
        image.id.as_deref().unwrap_or("no id")
    ));
    Ok(BuildOutput {
        image: Image {
            reference: tag,
            space: req.space,
            revision: req.revision,
            sdk: req.sdk,
            app_file: req.app_file,
        },
        log,
    })
}

/// Removes the image tag `reference` (and the image when no other tag names it). A missing image
/// is not an error.
pub(crate) async fn remove_image(rt: &DockerRuntime, reference: &str) -> Result<(), Error> {
    match rt
        .docker
        .remove_image(reference, None::<RemoveImageOptions>, None)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if status_of(&e) == Some(404) => Ok(()),
        Err(e) => Err(engine_error(format!("removing image {reference}"))(e)),
    }
}
