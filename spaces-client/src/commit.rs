//! Commits over the Hub's commit API: `POST /api/spaces/{id}/preupload/{rev}` (which files
//! go to LFS), the LFS batch API for those ([`crate::lfs`]), then `POST
//! /api/spaces/{id}/commit/{rev}` with an NDJSON body (`header`, `file` base64, `lfsFile`,
//! `deletedFile`, `deletedFolder` lines), as `create_commit` and `upload_folder` send them.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::Engine;
use futures_util::stream::{self, Stream};
use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use spaces_core::SpaceId;

use crate::client::Client;
use crate::error::Error;
use crate::retry::{Body, Call, Idempotent};

/// Where an added file's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSource {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A local file, read (and for LFS, streamed) when the commit is made.
    Path(PathBuf),
}

/// One change of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitOperation {
    /// Adds or replaces the file at `path` (a repository path, `/`-separated).
    Add {
        /// The repository path.
        path: String,
        /// The content.
        source: FileSource,
    },
    /// Deletes a file.
    Delete {
        /// The repository path.
        path: String,
    },
    /// Deletes a folder and everything under it.
    DeleteFolder {
        /// The repository path.
        path: String,
    },
}

/// A commit to make with [`Client::create_commit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The branch (`main` by default).
    pub revision: String,
    /// The title.
    pub summary: String,
    /// The longer description.
    pub description: String,
    /// Refuse (412) unless the branch is at this commit.
    pub parent_commit: Option<String>,
    /// The changes.
    pub operations: Vec<CommitOperation>,
}

impl Commit {
    /// A commit on `main` with this summary and no change yet.
    pub fn new(summary: impl Into<String>) -> Self {
        Self {
            revision: "main".to_owned(),
            summary: summary.into(),
            description: String::new(),
            parent_commit: None,
            operations: Vec::new(),
        }
    }
}

/// What a commit answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// `commitUrl`.
    pub commit_url: Option<String>,
    /// `commitOid`: the new commit.
    pub commit_oid: Option<String>,
    /// `pullRequestUrl`.
    pub pull_request_url: Option<String>,
    /// How many files went through LFS.
    pub lfs_files: usize,
    /// The whole answer.
    pub raw: Value,
}

/// Upload progress: bytes sent (or committed) of the total to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes done.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// A progress callback.
pub type OnProgress = Arc<dyn Fn(Progress) + Send + Sync>;

/// An added file, measured.
struct Addition {
    path: String,
    source: FileSource,
    size: u64,
    sha256: String,
    sample: Vec<u8>,
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn measure(path: String, source: FileSource) -> Result<Addition, Error> {
    match &source {
        FileSource::Bytes(b) => Ok(Addition {
            size: b.len() as u64,
            sha256: hex(&Sha256::digest(b)),
            sample: b[..b.len().min(512)].to_vec(),
            path,
            source,
        }),
        FileSource::Path(p) => {
            let mut f = std::fs::File::open(p).map_err(|e| io(p, e))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            let mut sample = Vec::new();
            loop {
                let n = f.read(&mut buf).map_err(|e| io(p, e))?;
                if n == 0 {
                    break;
                }
                if sample.len() < 512 {
                    let take = (512 - sample.len()).min(n);
                    sample.extend_from_slice(&buf[..take]);
                }
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Ok(Addition {
                path,
                size,
                sha256: hex(&hasher.finalize()),
                sample,
                source,
            })
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's content as a stream of chunks. `on_chunk` is told the bytes sent beyond what
/// `reported` already counts, so that a retried upload (which starts again from the first
/// byte) does not count its bytes twice.
pub(crate) fn file_chunks(
    path: PathBuf,
    on_chunk: Arc<dyn Fn(u64) + Send + Sync>,
    reported: Arc<AtomicU64>,
) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    stream::unfold(
        (None, 0u64),
        move |(file, sent): (Option<tokio::fs::File>, u64)| {
            let path = path.clone();
            let on_chunk = on_chunk.clone();
            let reported = reported.clone();
            async move {
                use tokio::io::AsyncReadExt;
                let mut f = match file {
                    Some(f) => f,
                    None => match tokio::fs::File::open(&path).await {
                        Ok(f) => f,
                        Err(e) => return Some((Err(e), (None, sent))),
                    },
                };
                let mut buf = vec![0u8; 256 * 1024];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        let sent = sent + n as u64;
                        let before = reported.fetch_max(sent, Ordering::Relaxed);
                        if sent > before {
                            on_chunk(sent - before);
                        }
                        Some((Ok(buf), (Some(f), sent)))
                    }
                    Err(e) => Some((Err(e), (None, sent))),
                }
            }
        },
    )
}

/// Every file under `folder` (not `.git/`), as (repository path, local path), sorted.
pub fn folder_files(folder: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut out = Vec::new();
    let mut todo = vec![folder.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| io(&path, e))?;
            if entry.file_name() == ".git" {
                continue;
            }
            if kind.is_dir() {
                todo.push(path);
            } else if kind.is_file() {
                let rel = path
                    .strip_prefix(folder)
                    .map_err(|_| Error::InvalidInput(format!("{} is outside", path.display())))?;
                let repo_path = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((repo_path, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

impl Client {
    /// Makes a commit: preupload, LFS uploads for the files the server wants in LFS, then the
    /// NDJSON commit.
    pub async fn create_commit(&self, id: &SpaceId, commit: Commit) -> Result<CommitInfo, Error> {
        self.create_commit_with(id, commit, None).await
    }

    /// [`Client::create_commit`] with a progress callback.
    pub async fn create_commit_with(
        &self,
        id: &SpaceId,
        commit: Commit,
        progress: Option<OnProgress>,
    ) -> Result<CommitInfo, Error> {
        let rev = commit.revision.clone();
        let mut additions = Vec::new();
        let mut others = Vec::new();
        for op in commit.operations {
            match op {
                CommitOperation::Add { path, source } => {
                    let measured = tokio::task::spawn_blocking(move || measure(path, source)).await;
                    additions.push(measured.map_err(|e| Error::InvalidInput(e.to_string()))??);
                }
                other => others.push(other),
            }
        }
        let total: u64 = additions.iter().map(|a| a.size).sum();
        let done = Arc::new(AtomicU64::new(0));
        let report = {
            let done = done.clone();
            let progress = progress.clone();
            Arc::new(move |n: u64| {
                let d = done.fetch_add(n, Ordering::Relaxed) + n;
                if let Some(p) = &progress {
                    p(Progress { done: d, total });
                }
            }) as Arc<dyn Fn(u64) + Send + Sync>
        };

        // 1. Which files go to LFS.
        let mut modes: HashMap<String, String> = HashMap::new();
        for chunk in additions.chunks(256) {
            let files: Vec<Value> = chunk
                .iter()
                .map(|a| {
                    json!({
                        "path": a.path,
                        "sample": base64::engine::general_purpose::STANDARD.encode(&a.sample),
                        "size": a.size,
                    })
                })
                .collect();
            let url = self.api(&format!(
                "spaces/{id}/preupload/{}",
                crate::controls::quote(&rev)
            ));
            let v: Value = self
                .send_json(
                    Call::new(Method::POST, url, Idempotent::Yes).json(json!({"files": files})),
                )
                .await?;
            for f in v
                .get("files")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(p), Some(m)) = (
                    f.get("path").and_then(Value::as_str),
                    f.get("uploadMode").and_then(Value::as_str),
                ) {
                    modes.insert(p.to_owned(), m.to_owned());
                }
            }
        }
        let is_lfs = |a: &Addition| modes.get(&a.path).is_some_and(|m| m == "lfs");

        // 2. LFS uploads.
        let lfs: Vec<&Addition> = additions.iter().filter(|a| is_lfs(a)).collect();
        if !lfs.is_empty() {
            let objects: Vec<crate::lfs::LfsObject> = lfs
                .iter()
                .map(|a| crate::lfs::LfsObject {
                    oid: a.sha256.clone(),
                    size: a.size,
                    body: match &a.source {
                        FileSource::Bytes(b) => Body::Bytes(b.clone(), "application/octet-stream"),
                        FileSource::Path(p) => Body::File {
                            path: p.clone(),
                            size: a.size,
                            on_chunk: report.clone(),
                            reported: Arc::new(AtomicU64::new(0)),
                        },
                    },
                })
                .collect();
            self.lfs_upload(id, &rev, objects, report.clone()).await?;
        }

        // 3. The commit.
        let mut header = json!({"summary": commit.summary, "description": commit.description});
        if let Some(p) = &commit.parent_commit {
            header["parentCommit"] = json!(p);
        }
        let mut lines = vec![json!({"key": "header", "value": header})];
        let mut regular_bytes = 0u64;
        for a in &additions {
            if is_lfs(a) {
                lines.push(json!({"key": "lfsFile", "value": {
                    "path": a.path, "algo": "sha256", "oid": a.sha256, "size": a.size}}));
            } else {
                let bytes = match &a.source {
                    FileSource::Bytes(b) => b.clone(),
                    FileSource::Path(p) => tokio::fs::read(p).await.map_err(|e| io(p, e))?,
                };
                regular_bytes += bytes.len() as u64;
                lines.push(json!({"key": "file", "value": {
                    "content": base64::engine::general_purpose::STANDARD.encode(&bytes),
                    "path": a.path, "encoding": "base64"}}));
            }
        }
        for op in &others {
            match op {
                CommitOperation::Delete { path } => {
                    lines.push(json!({"key": "deletedFile", "value": {"path": path}}));
                }
                CommitOperation::DeleteFolder { path } => {
                    lines.push(json!({"key": "deletedFolder", "value": {"path": path}}));
                }
                CommitOperation::Add { .. } => {}
            }
        }
        let mut ndjson = Vec::new();
        for l in &lines {
            ndjson.extend_from_slice(l.to_string().as_bytes());
            ndjson.push(b'\n');
        }
        let mut call = Call::new(
            Method::POST,
            self.api(&format!(
                "spaces/{id}/commit/{}",
                crate::controls::quote(&rev)
            )),
            Idempotent::No,
        );
        call.body = Some(Body::Bytes(ndjson, "application/x-ndjson"));
        let v: Value = self.send_json(call).await?;
        report(regular_bytes);
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(CommitInfo {
            commit_url: s("commitUrl"),
            commit_oid: s("commitOid"),
            pull_request_url: s("pullRequestUrl"),
            lfs_files: lfs.len(),
            raw: v,
        })
    }

    /// Uploads every file under `folder` (but `.git/`) to the root of the Space's `main`
    /// branch in one commit.
    pub async fn upload_folder(
        &self,
        id: &SpaceId,
        folder: &Path,
        message: &str,
        progress: Option<OnProgress>,
    ) -> Result<CommitInfo, Error> {
        let dir = folder.to_path_buf();
        let files = tokio::task::spawn_blocking(move || folder_files(&dir))
            .await
            .map_err(|e| Error::InvalidInput(e.to_string()))??;
        let mut commit = Commit::new(message);
        commit.operations = files
            .into_iter()
            .map(|(path, local)| CommitOperation::Add {
                path,
                source: FileSource::Path(local),
            })
            .collect();
        self.create_commit_with(id, commit, progress).await
    }
}
