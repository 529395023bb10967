//! The in-process HTTP server of static Spaces: serves the files of the instance's folder.
//!
//! An instance's folder is a fresh copy of its image and nothing runs in it that could change
//! it, so the files it serves are kept in memory once read (like nginx's `open_file_cache`, but
//! holding the bytes): each file up to [`CACHED_FILE_MAX`], [`CACHE_MAX`] in all per instance;
//! larger files are read at every request. A hit costs no system call and no hop to the
//! blocking pool.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The largest file kept in memory.
pub(crate) const CACHED_FILE_MAX: usize = 1 << 20;
/// The most bytes of files kept in memory per instance.
pub(crate) const CACHE_MAX: usize = 32 << 20;

/// An instance's folder and the files of it already read, by URL path.
#[derive(Debug)]
struct Site {
    root: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    files: HashMap<String, (&'static str, Bytes)>,
    bytes: usize,
}

impl Site {
    fn cached(&self, url_path: &str) -> Option<(&'static str, Bytes)> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.files.get(url_path).cloned()
    }

    fn keep(&self, url_path: &str, content_type: &'static str, bytes: &Bytes) {
        if bytes.len() > CACHED_FILE_MAX {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.bytes + bytes.len() <= CACHE_MAX
            && !cache.files.contains_key(url_path)
            && url_path.len() <= 1024
        {
            cache.bytes += bytes.len();
            cache
                .files
                .insert(url_path.to_owned(), (content_type, bytes.clone()));
        }
    }
}

/// Serves `root` on `listener` until the returned task is aborted.
pub(crate) fn serve(listener: TcpListener, root: PathBuf) -> JoinHandle<()> {
    let root = Arc::new(Site {
        root,
        cache: Mutex::default(),
    });
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let root = Arc::clone(&root);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let root = Arc::clone(&root);
                    async move { Ok::<_, Infallible>(answer(&root, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

fn response(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

async fn answer(site: &Site, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return response(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET and HEAD\n",
        );
    }
    let url_path = req.uri().path();
    if let Some((kind, bytes)) = site.cached(url_path) {
        return response(StatusCode::OK, kind, bytes);
    }
    let Some(path) = resolve(&site.root, url_path) else {
        return response(StatusCode::NOT_FOUND, "text/plain", "not found\n");
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let (kind, bytes) = (content_type(&path), Bytes::from(bytes));
            site.keep(url_path, kind, &bytes);
            response(StatusCode::OK, kind, bytes)
        }
        Err(_) => response(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

/// Maps a URL path to a file under `root`, refusing anything that would leave it.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for part in Path::new(url_path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => path.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    Some(path)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js" | "mjs") => "text/javascript",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("wasm") => "application/wasm",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_leave_the_root() {
        let root = Path::new("/srv/space");
        assert_eq!(
            resolve(root, "/a/b.html"),
            Some(PathBuf::from("/srv/space/a/b.html"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../x"), None);
    }

    #[tokio::test]
    #[allow(clippy::unwrap_used)]
    async fn small_files_are_served_from_memory_once_read_and_large_ones_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(dir.path().join("big.bin"), vec![7u8; CACHED_FILE_MAX + 1]).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = serve(listener, dir.path().to_path_buf());
        let get = |path: &'static str| async move {
            crate::http_get(addr, path, std::time::Duration::from_secs(5))
                .await
                .unwrap()
        };
        assert_eq!(&get("/").await.body[..], b"<p>hi</p>");
        assert_eq!(get("/big.bin").await.body.len(), CACHED_FILE_MAX + 1);
        std::fs::remove_file(dir.path().join("index.html")).unwrap();
        std::fs::remove_file(dir.path().join("big.bin")).unwrap();
        // The page read once is kept; the large file is not.
        let page = get("/").await;
        assert_eq!((page.status, &page.body[..]), (200, &b"<p>hi</p>"[..]));
        assert_eq!(get("/big.bin").await.status, 404);
        task.abort();
    }
}
