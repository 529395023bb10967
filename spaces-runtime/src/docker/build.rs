//! Building a Space's revision: the folder as a tar context, the classic builder, the log.

use std::path::Path;

use bollard::query_parameters::{BuildImageOptions, BuilderVersion, RemoveImageOptions};
use futures_util::StreamExt;

use super::logs::{Partial, MAX_LINE};
use super::{engine_error, names, status_of, DockerRuntime};
use crate::runtime::{BuildOutput, BuildRequest, Image};
use crate::Error;

/// How many log lines a [`Error::BuildFailed`] carries.
const TAIL_LINES: usize = 40;

/// How many lines of a build log are kept: the first [`LOG_HEAD`] and the last ones, with a line
/// saying how many were dropped between them. Lines are cut at [`MAX_LINE`] bytes.
pub const LOG_LINES: usize = 10_000;

/// How many of the first lines of a build log are always kept.
pub const LOG_HEAD: usize = 1_000;

/// A build log of bounded size (see [`LOG_LINES`]).
#[derive(Default)]
struct BuildLog {
    head: Vec<String>,
    tail: std::collections::VecDeque<String>,
    dropped: usize,
}

impl BuildLog {
    fn push(&mut self, mut line: String) {
        if line.len() > MAX_LINE {
            let mut end = MAX_LINE;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
            line.push_str(super::logs::TRUNCATED);
        }
        if self.head.len() < LOG_HEAD {
            self.head.push(line);
            return;
        }
        self.tail.push_back(line);
        if self.tail.len() > LOG_LINES - LOG_HEAD {
            self.tail.pop_front();
            self.dropped += 1;
        }
    }

    fn lines(&self) -> Vec<String> {
        let mut out = self.head.clone();
        if self.dropped > 0 {
            out.push(format!("[{} build log lines dropped]", self.dropped));
        }
        out.extend(self.tail.iter().cloned());
        out
    }

    fn tail(&self) -> String {
        let lines = self.lines();
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }
}

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

/// Builds `req` with the classic builder. See the [module docs](super).
pub(crate) async fn build(rt: &DockerRuntime, req: BuildRequest) -> Result<BuildOutput, Error> {
    let tag = names::image_tag(&rt.prefix, &req.space, &req.revision)?;
    let mut log = BuildLog::default();
    log.push(format!(
        "building {} at {} into {tag} (classic builder{})",
        req.space,
        req.revision.short(),
        if req.no_cache { ", no cache" } else { "" }
    ));
    let failed = |reason: String, log: &BuildLog| Error::BuildFailed {
        space: req.space.clone(),
        reason,
        log_tail: log.tail(),
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
    let mut partial = Partial::default();
    let mut lines = Vec::new();
    let mut error: Option<String> = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.or(info.status) {
                    partial.push(text.as_bytes(), &mut lines);
                    for line in lines.drain(..) {
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
    if let Some(rest) = partial.finish().filter(|r| !r.trim().is_empty()) {
        log.push(rest.trim_end().to_owned());
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
        log: log.lines(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_log_is_bounded() {
        let mut log = BuildLog::default();
        log.push("x".repeat(MAX_LINE * 4));
        for i in 0..LOG_LINES * 3 {
            log.push(format!("step {i}"));
        }
        let lines = log.lines();
        assert_eq!(lines.len(), LOG_LINES + 1);
        assert!(lines[0].ends_with(super::super::logs::TRUNCATED));
        assert!(lines[0].len() <= MAX_LINE + 32);
        assert_eq!(
            lines[LOG_HEAD].to_string(),
            format!("[{} build log lines dropped]", LOG_LINES * 2 + 1)
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some(format!("step {}", LOG_LINES * 3 - 1).as_str())
        );
        assert!(log.tail().lines().count() <= TAIL_LINES);
    }
}
