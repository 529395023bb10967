//! Issue 12 through the router: a Space's repository and the Hub's commit API — a first commit
//! like the Hub's, preupload, an NDJSON commit that rebuilds the Space, 412 on a stale
//! `parentCommit`, tree / paths-info / resolve, paths that escape refused, a README error that
//! ends in `CONFIG_ERROR` with its line and column, git's protocol refusing anonymous pushes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_common;

use api_common::env;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

fn ndjson(lines: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

#[tokio::test]
async fn commit_api_round_trip() {
    let e = env().await;
    assert_eq!(
        e.create(json!({"type": "space", "name": "site", "sdk": "static"}))
            .await
            .status,
        StatusCode::OK
    );
    let rt = e.wait("alice/site", None).await;
    assert_eq!(rt["stage"], "RUNNING", "{rt}");
    let tree = e.get("/api/spaces/alice/site/tree/main", None).await;
    assert_eq!(tree.status, StatusCode::OK, "{}", tree.text);
    let names: Vec<&str> = tree
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, [".gitattributes", "README.md", "index.html"]);
    let readme = e
        .get("/spaces/alice/site/resolve/main/README.md", None)
        .await;
    assert_eq!(readme.status, StatusCode::OK);
    for needle in ["sdk: static", "emoji:", "colorFrom:", "pinned: false"] {
        assert!(readme.text.contains(needle), "{}", readme.text);
    }
    let head = readme.header("x-repo-commit").unwrap().to_owned();
    assert_eq!(head.len(), 40);

    // preupload: regular, with the blob id of a file that is there.
    let pre = e
        .post(
            "/api/spaces/alice/site/preupload/main",
            Some(&e.alice),
            json!({"files": [{"path": "index.html", "size": 3, "sample": ""}, {"path": "new.txt", "size": 1, "sample": ""}]}),
        )
        .await;
    assert_eq!(pre.status, StatusCode::OK, "{}", pre.text);
    assert_eq!(pre.body["files"][0]["uploadMode"], "regular");
    assert!(pre.body["files"][0]["oid"].is_string());
    assert!(pre.body["files"][1]["oid"].is_null());

    // A commit: a new page and a folder.
    let body = ndjson(&[
        json!({"key": "header", "value": {"summary": "v2", "description": "", "parentCommit": head}}),
        json!({"key": "file", "value": {"path": "index.html", "content": "PHA+djI8L3A+", "encoding": "base64"}}),
        json!({"key": "file", "value": {"path": "sub/a.txt", "content": "YQ==", "encoding": "base64"}}),
    ]);
    let c = e
        .raw(
            Method::POST,
            "/api/spaces/alice/site/commit/main",
            Some(&e.alice),
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let sha = c.body["commitOid"].as_str().unwrap().to_owned();
    assert!(c.body["commitUrl"].as_str().unwrap().ends_with(&sha));
    // The same parent again: stale.
    let stale = e
        .raw(
            Method::POST,
            "/api/spaces/alice/site/commit/main",
            Some(&e.alice),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );
    // The Space rebuilds on the new commit.
    let mut rt = Value::Null;
    for _ in 0..100 {
        rt = e.wait("alice/site", None).await;
        let info = e.get("/api/spaces/alice/site", None).await;
        if info.body["sha"] == sha.as_str() && rt["stage"] == "RUNNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(rt["stage"], "RUNNING", "{rt}");
    let info = e.get("/api/spaces/alice/site", None).await;
    assert_eq!(info.body["sha"], sha.as_str());
    let file = e
        .get("/spaces/alice/site/resolve/main/sub/a.txt", None)
        .await;
    assert_eq!(file.text, "a");
    let rec = e
        .get("/api/spaces/alice/site/tree/main?recursive=true", None)
        .await;
    assert!(rec.text.contains("\"sub/a.txt\"") && rec.text.contains("\"directory\""));
    let pi = e
        .raw(
            Method::POST,
            "/api/spaces/alice/site/paths-info/main",
            None,
            Some(b"paths=sub&paths=index.html&paths=nope".to_vec()),
            &[],
        )
        .await;
    assert_eq!(pi.body.as_array().map(Vec::len), Some(2), "{}", pi.text);

    // Refusals: an escaping path, a ref with `..`, a read token, an unknown file.
    let bad = ndjson(&[
        json!({"key": "header", "value": {"summary": "x"}}),
        json!({"key": "file", "value": {"path": "../x", "content": "", "encoding": "base64"}}),
    ]);
    let r = e
        .raw(
            Method::POST,
            "/api/spaces/alice/site/commit/main",
            Some(&e.alice),
            Some(bad.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = e
        .raw(
            Method::POST,
            "/api/spaces/alice/site/commit/a..b",
            Some(&e.alice),
            Some(bad.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = e
        .raw(
            Method::POST,
            "/api/spaces/alice/site/commit/main",
            Some(&e.alice_read),
            Some(bad),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = e
        .get("/spaces/alice/site/resolve/main/nope.txt", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.header("x-error-code"), Some("EntryNotFound"));
    let r = e.get("/api/spaces/alice/site/tree/nope", None).await;
    assert_eq!(r.header("x-error-code"), Some("RevisionNotFound"));

    // A README with an error: CONFIG_ERROR with the line and column.
    let readme = "---\ntitle: x\nsdk: static\ncolorFrom: orange\n---\n";
    let body = ndjson(&[
        json!({"key": "header", "value": {"summary": "bad"}}),
        json!({"key": "file", "value": {"path": "README.md", "content": readme, "encoding": "utf-8"}}),
    ]);
    let r = e
        .raw(
            Method::POST,
            "/api/spaces/alice/site/commit/main",
            Some(&e.alice),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut rt = Value::Null;
    for _ in 0..200 {
        rt = e.get("/api/spaces/alice/site/runtime", None).await.body;
        if rt["stage"] == "CONFIG_ERROR" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(rt["stage"], "CONFIG_ERROR", "{rt}");
    assert!(
        rt["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("README.md:4:"),
        "{rt}"
    );

    // git: an anonymous push is challenged; a duplicate copies the history; delete removes it.
    let r = e
        .get(
            "/spaces/alice/site/info/refs?service=git-receive-pack",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("www-authenticate").is_some());
    let d = e
        .post(
            "/api/spaces/alice/site/duplicate",
            Some(&e.alice),
            json!({"repository": "alice/copy"}),
        )
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    let copy = e
        .get("/spaces/alice/copy/resolve/main/sub/a.txt", Some(&e.alice))
        .await;
    assert_eq!(copy.text, "a");
    assert!(e.dir.path().join("git/alice/site.git").is_dir());
    let del = e
        .call(
            Method::DELETE,
            "/api/repos/delete",
            Some(&e.alice),
            Some(json!({"type": "space", "name": "alice/site"})),
        )
        .await;
    assert_eq!(del.status, StatusCode::OK);
    assert!(!e.dir.path().join("git/alice/site.git").exists());
}

#[tokio::test]
async fn lfs_batch_upload_commit_and_resolve() {
    use sha2::Digest;
    let e = env().await;
    e.create(json!({"type": "space", "name": "big", "sdk": "static"}))
        .await;
    let content = vec![7u8; 5000];
    let oid: String = sha2::Sha256::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // preupload: `*.bin` is LFS by the first commit's .gitattributes.
    let pre = e
        .post(
            "/api/spaces/alice/big/preupload/main",
            Some(&e.alice),
            json!({"files": [{"path": "w.bin", "size": 5000, "sample": ""}]}),
        )
        .await;
    assert_eq!(pre.body["files"][0]["uploadMode"], "lfs", "{}", pre.text);
    let batch = json!({"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": 5000}]});
    let anon = e
        .post(
            "/spaces/alice/big.git/info/lfs/objects/batch",
            None,
            batch.clone(),
        )
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let b = e
        .post(
            "/spaces/alice/big.git/info/lfs/objects/batch",
            Some(&e.alice),
            batch.clone(),
        )
        .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    let href = b.body["objects"][0]["actions"]["upload"]["href"]
        .as_str()
        .unwrap();
    let path = href.strip_prefix("http://hub.test:8080").unwrap();
    // A wrong content is refused; the right one is stored (no credentials: the href is signed).
    let bad = e
        .raw(Method::PUT, path, None, Some(vec![1u8; 5000]), &[])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let up = e
        .raw(Method::PUT, path, None, Some(content.clone()), &[])
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text);
    let again = e
        .post(
            "/spaces/alice/big.git/info/lfs/objects/batch",
            Some(&e.alice),
            batch,
        )
        .await;
    assert!(
        again.body["objects"][0].get("actions").is_none(),
        "{}",
        again.text
    );
    // Over the file size limit: 413 naming it.
    let huge = e
        .post(
            "/spaces/alice/big.git/info/lfs/objects/batch",
            Some(&e.alice),
            json!({"operation": "upload", "objects": [{"oid": oid, "size": 1u64 << 40}]}),
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(huge.text.contains("limit"), "{}", huge.text);
    let body = ndjson(&[
        json!({"key": "header", "value": {"summary": "lfs"}}),
        json!({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": 5000}}),
    ]);
    let c = e
        .raw(
            Method::POST,
            "/api/spaces/alice/big/commit/main",
            Some(&e.alice),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    let r = e.get("/spaces/alice/big/resolve/main/w.bin", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text.len(), 5000);
    assert_eq!(r.header("x-linked-size"), Some("5000"));
    assert_eq!(r.header("etag"), Some(format!("\"{oid}\"").as_str()));
}

#[tokio::test]
async fn suggested_hardware_applies_at_creation_only() {
    let e = env().await;
    let readme = "---\ntitle: s\nsdk: docker\nsuggested_storage: small\n---\n";
    let r = e
        .create(json!({"type": "space", "name": "sugg", "sdk": "docker",
            "files": [{"path": "README.md", "content": readme}]}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rt = e.get("/api/spaces/alice/sugg/runtime", None).await.body;
    assert_eq!(rt["storage"], "small", "{rt}");
    // A later commit's suggestion changes nothing.
    let body = ndjson(&[
        json!({"key": "header", "value": {"summary": "m"}}),
        json!({"key": "file", "value": {"path": "README.md", "content": readme.replace("small", "large")}}),
    ]);
    let c = e
        .raw(
            Method::POST,
            "/api/spaces/alice/sugg/commit/main",
            Some(&e.alice),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.text);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let rt = e.get("/api/spaces/alice/sugg/runtime", None).await.body;
    assert_eq!(rt["storage"], "small", "{rt}");
}

/// The request timeout bounds API calls, not transfers: an LFS upload whose body takes longer
/// than the timeout to arrive is stored, not cut off with 503.
#[tokio::test]
async fn a_slow_lfs_upload_outlasts_the_request_timeout() {
    use sha2::Digest;
    use tower::ServiceExt;
    let e = api_common::env_with(spaces_server::Limits {
        rate_per_second: 0,
        request_timeout: std::time::Duration::from_secs(2),
        ..spaces_server::Limits::default()
    })
    .await;
    let created = e
        .create(json!({"type": "space", "name": "slow", "sdk": "static"}))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let content = vec![9u8; 4 * 1024];
    let oid: String = sha2::Sha256::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let b = e
        .post(
            "/spaces/alice/slow.git/info/lfs/objects/batch",
            Some(&e.alice),
            json!({"operation": "upload", "transfers": ["basic"],
                   "objects": [{"oid": oid, "size": content.len()}]}),
        )
        .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    let href = b.body["objects"][0]["actions"]["upload"]["href"]
        .as_str()
        .unwrap();
    let path = href
        .strip_prefix("http://hub.test:8080")
        .unwrap()
        .to_owned();
    // Four pieces, 1 s apart: about 4 s in all, twice the timeout.
    let pieces: Vec<Vec<u8>> = content.chunks(1024).map(<[u8]>::to_vec).collect();
    let stream =
        futures_util::StreamExt::then(futures_util::stream::iter(pieces), |piece| async move {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            Ok::<_, std::io::Error>(piece)
        });
    let req = axum::http::Request::builder()
        .method(Method::PUT)
        .uri(path)
        .header("host", "hub.test:8080")
        .body(axum::body::Body::from_stream(stream))
        .unwrap();
    let started = std::time::Instant::now();
    let response = e.server.router().oneshot(req).await.unwrap();
    assert!(started.elapsed() > std::time::Duration::from_secs(3));
    assert_eq!(response.status(), StatusCode::OK);
}

/// A commit on `main` is answered once the supervisor holds its push: the runtime shows the new
/// `sha` at once, so `upload` then `wait for RUNNING` never takes the old revision's RUNNING for
/// the new one.
#[tokio::test]
async fn a_commit_is_answered_once_the_runtime_shows_its_revision() {
    let e = env().await;
    e.create(json!({"type": "space", "name": "quick", "sdk": "static"}))
        .await;
    let rt = e.wait("alice/quick", None).await;
    assert_eq!(rt["stage"], "RUNNING", "{rt}");
    for round in 0..3 {
        let body = ndjson(&[
            json!({"key": "header", "value": {"summary": format!("round {round}")}}),
            json!({"key": "file", "value": {"path": "index.html",
                "content": base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("<p>round {round}</p>"),
                ),
                "encoding": "base64"}}),
        ]);
        let c = e
            .raw(
                Method::POST,
                "/api/spaces/alice/quick/commit/main",
                Some(&e.alice),
                Some(body),
                &[],
            )
            .await;
        assert_eq!(c.status, StatusCode::OK, "{}", c.text);
        let sha = c.body["commitOid"].as_str().unwrap().to_owned();
        let now = e.get("/api/spaces/alice/quick/runtime", None).await;
        assert_eq!(
            now.body["sha"], sha,
            "round {round}: right after the commit the runtime is {}",
            now.text
        );
        let rt = e.wait("alice/quick", None).await;
        assert_eq!(rt["stage"], "RUNNING", "{rt}");
        assert_eq!(rt["sha"], sha);
    }
}
