//! Git over HTTP at the Hub's remote URL, `/spaces/{owner}/{name}` (`.git` suffix accepted):
//! clone, fetch and push with the git CLI, served by git's own `git http-backend` as a CGI
//! child process over the Space's bare repository.
//!
//! Access: HTTP Basic with the token as the password (any user name), or `Bearer`. A caller
//! without credentials who may not read (a private Space), or who pushes, gets 401 with a Basic
//! challenge so that git sends its credentials; a caller with credentials who may not see the
//! Space gets 404; a push needs write access (403 otherwise). When a push moves `main`, the new
//! commit builds in the background; other branches are stored only.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use spaces_core::SpaceId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::App;

/// Whether a path below `/spaces/{owner}/{name}/` is git's smart HTTP protocol.
pub(crate) fn is_git_path(path: &str) -> bool {
    matches!(path, "info/refs" | "git-upload-pack" | "git-receive-pack")
}

fn challenge() -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        "Authentication required: use a token of this server as the password\n",
    )
        .into_response();
    r.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"spaces\""),
    );
    r.headers_mut().insert(
        "x-error-message",
        HeaderValue::from_static("Authentication required"),
    );
    r
}

/// Serves one request of git's smart HTTP protocol.
pub(crate) async fn serve(
    app: App,
    namespace: &str,
    name: &str,
    path: &str,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let name = name.strip_suffix(".git").unwrap_or(name);
    let id: SpaceId = super::space_id(namespace, name)?;
    let query = req.uri().query().unwrap_or("").to_owned();
    let push = path == "git-receive-pack"
        || (path == "info/refs" && query.split('&').any(|kv| kv == "service=git-receive-pack"));
    if caller.0.is_none() && (push || app.readable(&caller, &id).is_err()) {
        return Ok(challenge());
    }
    let principal = if push {
        app.writable(&caller, &id)?;
        caller.require_write()?.user.clone()
    } else {
        app.readable(&caller, &id)?;
        caller
            .0
            .as_ref()
            .map(|p| p.user.clone())
            .unwrap_or_default()
    };
    let repo = crate::git::repo_path(&app.data, &id);
    if !repo.is_dir() {
        return Err(ApiError::RepoNotFound { id: id.to_string() });
    }
    let before = if push {
        let r = repo.clone();
        tokio::task::spawn_blocking(move || crate::git::head(&r))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
    } else {
        None
    };
    let headers = req.headers().clone();
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", crate::git::root(&app.data))
        .env("GIT_HTTP_EXPORT_ALL", "1")
        // A push's pack is bounded by the file size limit (git names the limit when it refuses).
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "receive.maxInputSize")
        .env("GIT_CONFIG_VALUE_0", app.limits.max_file_bytes.to_string())
        .env(
            "PATH_INFO",
            format!("/{}/{}.git/{path}", id.owner(), id.name()),
        )
        .env("QUERY_STRING", &query)
        .env("REQUEST_METHOD", req.method().as_str())
        .env("CONTENT_TYPE", header("content-type"))
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("HTTP_GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_USER", &principal)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("GIT_COMMITTER_NAME", "spaces-server")
        .env("GIT_COMMITTER_EMAIL", "noreply@spaces.local")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let length = header("content-length");
    if !length.is_empty() {
        cmd.env("CONTENT_LENGTH", length);
    }
    drop(headers);
    let mut child = cmd
        .spawn()
        .map_err(|e| ApiError::internal(format!("starting git http-backend: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| ApiError::internal("git http-backend: no stdin"))?;
    let mut body = req.into_body().into_data_stream();
    let feeder = tokio::spawn(async move {
        while let Some(chunk) = body.next().await {
            let Ok(chunk) = chunk else { break };
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = stdin.shutdown().await;
    });
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| ApiError::internal("git http-backend: no stdout"))?;
    // The CGI headers, up to the blank line.
    let mut head = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        let n = stdout
            .read(&mut buf)
            .await
            .map_err(|e| ApiError::internal(format!("reading git http-backend: {e}")))?;
        if n == 0 {
            break None;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(at) = find(&head, b"\r\n\r\n") {
            break Some((at, 4));
        }
        if let Some(at) = find(&head, b"\n\n") {
            break Some((at, 2));
        }
        if head.len() > 64 * 1024 {
            break None;
        }
    };
    let Some((at, sep)) = split else {
        let _ = feeder.await;
        let out = child.wait_with_output().await.ok();
        let err = out
            .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
            .unwrap_or_default();
        return Err(ApiError::internal(format!(
            "git http-backend answered nothing: {err}"
        )));
    };
    let rest = head.split_off(at + sep);
    let mut out = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(&head[..at]).lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("status") {
            let code = v
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            out = out.status(code);
        } else if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::try_from(k.trim()),
            HeaderValue::from_str(v),
        ) {
            out = out.header(k, v);
        }
    }
    if push {
        // A push's answer is small: read it whole, then build when `main` moved.
        let mut all = rest;
        stdout
            .read_to_end(&mut all)
            .await
            .map_err(|e| ApiError::internal(format!("reading git http-backend: {e}")))?;
        let _ = feeder.await;
        let _ = child.wait().await;
        if path == "git-receive-pack" {
            let r = repo.clone();
            let after = tokio::task::spawn_blocking(move || crate::git::head(&r))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten();
            if let Some(after) = after {
                if Some(&after) != before.as_ref() {
                    tracing::info!(space = %id, commit = %after, "main moved: building");
                    app.spawn_build(id.clone(), after);
                }
            }
        }
        return out
            .body(Body::from(all))
            .map_err(|e| ApiError::internal(format!("answering git: {e}")));
    }
    let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes(rest)) });
    let tail = tokio_util_stream(stdout, child);
    out.body(Body::from_stream(first.chain(tail)))
        .map_err(|e| ApiError::internal(format!("answering git: {e}")))
}

fn bytes(v: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(v)
}

/// The rest of the child's stdout as a stream; the child is reaped at the end.
fn tokio_util_stream(
    stdout: tokio::process::ChildStdout,
    child: tokio::process::Child,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send {
    futures_util::stream::unfold(
        (stdout, Some(child)),
        |(mut stdout, mut child)| async move {
            let mut buf = vec![0u8; 64 * 1024];
            match stdout.read(&mut buf).await {
                Ok(0) => {
                    if let Some(mut c) = child.take() {
                        let _ = c.wait().await;
                    }
                    None
                }
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes(buf)), (stdout, child)))
                }
                Err(e) => Some((Err(e), (stdout, child))),
            }
        },
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
