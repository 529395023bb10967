//! The commit API's requests as `huggingface_hub` 2.4.0's `create_commit` sends them
//! (preupload, the LFS batch API and basic transfer, the NDJSON commit), written down from its
//! `_commit_api.py` / `lfs.py`, checked against what the loopback `TestServer` received; and
//! the token kept off LFS hrefs on other hosts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod test_server;

use serde_json::{json, Value};
use spaces_client::{Commit, CommitOperation, FileSource, SpaceId};
use test_server::{expect, Reply, TestServer};

fn id() -> SpaceId {
    "alice/demo".parse().unwrap()
}

#[tokio::test]
async fn commit_with_a_regular_and_an_lfs_file() {
    let s = TestServer::start().await;
    let c = s.client();
    let big = vec![7u8; 2048];
    s.on(
        "POST",
        "/api/spaces/alice/demo/preupload/main",
        Reply::json(
            200,
            json!({"files": [
            {"path": "index.html", "uploadMode": "regular", "shouldIgnore": false, "oid": null},
            {"path": "model.bin", "uploadMode": "lfs", "shouldIgnore": false, "oid": null}]}),
        ),
    );
    let put_href = format!("{}/lfs-objects/upload-here?sig=abc", s.url);
    let verify_href = format!("{}/lfs-objects/verify", s.url);
    // The batch answer is built once the oid is known: compute it like the client.
    use sha2::Digest;
    let oid: String = sha2::Sha256::digest(&big)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    s.on(
        "POST",
        "/spaces/alice/demo.git/info/lfs/objects/batch",
        Reply::json(
            200,
            json!({"transfer": "basic", "objects": [{"oid": oid, "size": 2048,
            "actions": {"upload": {"href": put_href, "header": {"x-upload-extra": "1"}},
                        "verify": {"href": verify_href}}}]}),
        ),
    );
    s.on("PUT", "/lfs-objects/upload-here", Reply::text(200, ""));
    s.on("POST", "/lfs-objects/verify", Reply::json(200, json!({})));
    s.on(
        "POST",
        "/api/spaces/alice/demo/commit/main",
        Reply::json(200, json!({"commitUrl": "http://x/spaces/alice/demo/commit/abc", "commitOid": "abc", "success": true})),
    );
    let mut commit = Commit::new("Add files");
    commit.description = "two files".into();
    commit.operations = vec![
        CommitOperation::Add {
            path: "index.html".into(),
            source: FileSource::Bytes(b"<h1>hi</h1>".to_vec()),
        },
        CommitOperation::Add {
            path: "model.bin".into(),
            source: FileSource::Bytes(big.clone()),
        },
        CommitOperation::Delete {
            path: "old.txt".into(),
        },
        CommitOperation::DeleteFolder { path: "old".into() },
    ];
    let info = c.create_commit(&id(), commit).await.unwrap();
    assert_eq!(info.commit_oid.as_deref(), Some("abc"));
    assert_eq!(info.lfs_files, 1);
    let reqs = s.requests();
    assert_eq!(reqs.len(), 5, "{reqs:?}");
    // 1. preupload: {"files": [{"path", "sample" (base64 of the first 512 bytes), "size"}]}
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    expect(
        &reqs[0],
        "POST",
        "/api/spaces/alice/demo/preupload/main",
        &[],
        json!({"files": [
            {"path": "index.html", "sample": b64(b"<h1>hi</h1>"), "size": 11},
            {"path": "model.bin", "sample": b64(&big[..512]), "size": 2048}]}),
    );
    // 2. LFS batch (lfs.py post_lfs_batch_info, transfers: basic only here).
    let batch = &reqs[1];
    assert_eq!(batch.path, "/spaces/alice/demo.git/info/lfs/objects/batch");
    assert_eq!(batch.header("accept"), Some("application/vnd.git-lfs+json"));
    assert_eq!(
        batch.header("content-type"),
        Some("application/vnd.git-lfs+json")
    );
    assert_eq!(
        batch.json(),
        json!({"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": 2048}],
               "hash_algo": "sha256", "ref": {"name": "refs/heads/main"}})
    );
    // 3. The basic transfer: PUT the bytes with the action's headers; then verify.
    assert_eq!(reqs[2].method, "PUT");
    assert_eq!(reqs[2].body, big);
    assert_eq!(reqs[2].header("x-upload-extra"), Some("1"));
    assert_eq!(reqs[3].path, "/lfs-objects/verify");
    assert_eq!(reqs[3].json(), json!({"oid": oid, "size": 2048}));
    // 4. The NDJSON commit.
    let commit = &reqs[4];
    assert_eq!(commit.path, "/api/spaces/alice/demo/commit/main");
    assert_eq!(commit.header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<Value> = String::from_utf8(commit.body.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![
            json!({"key": "header", "value": {"summary": "Add files", "description": "two files"}}),
            json!({"key": "file", "value": {"content": b64(b"<h1>hi</h1>"), "path": "index.html", "encoding": "base64"}}),
            json!({"key": "lfsFile", "value": {"path": "model.bin", "algo": "sha256", "oid": oid, "size": 2048}}),
            json!({"key": "deletedFile", "value": {"path": "old.txt"}}),
            json!({"key": "deletedFolder", "value": {"path": "old"}}),
        ]
    );
}

#[tokio::test]
async fn lfs_hrefs_on_another_host_get_no_token() {
    let hub = TestServer::start().await;
    let storage = TestServer::start().await;
    let c = hub.client();
    hub.on(
        "POST",
        "/api/spaces/alice/demo/preupload/main",
        Reply::json(
            200,
            json!({"files": [{"path": "a.bin", "uploadMode": "lfs", "shouldIgnore": false}]}),
        ),
    );
    use sha2::Digest;
    let oid: String = sha2::Sha256::digest(b"abc")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hub.on(
        "POST",
        "/spaces/alice/demo.git/info/lfs/objects/batch",
        Reply::json(
            200,
            json!({"objects": [{"oid": oid, "size": 3,
            "actions": {"upload": {"href": format!("{}/bucket/obj", storage.url)}}}]}),
        ),
    );
    storage.on("PUT", "/bucket/obj", Reply::text(200, ""));
    hub.on(
        "POST",
        "/api/spaces/alice/demo/commit/main",
        Reply::json(200, json!({"commitOid": "x"})),
    );
    let mut commit = Commit::new("lfs");
    commit.operations = vec![CommitOperation::Add {
        path: "a.bin".into(),
        source: FileSource::Bytes(b"abc".to_vec()),
    }];
    c.create_commit(&id(), commit).await.unwrap();
    let put = storage.last();
    assert_eq!(put.body, b"abc");
    assert_eq!(
        put.header("authorization"),
        None,
        "the token stays on the Hub's origin"
    );
}

#[tokio::test]
async fn a_retried_lfs_upload_streams_the_file_again_and_counts_it_once() {
    let s = TestServer::start().await;
    let c = s.client();
    let dir = tempfile::tempdir().unwrap();
    let content = vec![5u8; 300_000];
    let path = dir.path().join("weights.bin");
    std::fs::write(&path, &content).unwrap();
    use sha2::Digest;
    let oid: String = sha2::Sha256::digest(&content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    s.on(
        "POST",
        "/api/spaces/alice/demo/preupload/main",
        Reply::json(
            200,
            json!({"files": [{"path": "weights.bin", "uploadMode": "lfs"}]}),
        ),
    );
    s.on(
        "POST",
        "/spaces/alice/demo.git/info/lfs/objects/batch",
        Reply::json(
            200,
            json!({"objects": [{"oid": oid, "size": 300_000,
            "actions": {"upload": {"href": format!("{}/put/it", s.url)}}}]}),
        ),
    );
    s.on("PUT", "/put/it", Reply::json(503, json!({"error": "busy"})));
    s.on("PUT", "/put/it", Reply::text(200, ""));
    s.on(
        "POST",
        "/api/spaces/alice/demo/commit/main",
        Reply::json(200, json!({"commitOid": "c"})),
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let progress: spaces_client::OnProgress =
        std::sync::Arc::new(move |p| s2.lock().unwrap().push(p));
    let mut commit = Commit::new("weights");
    commit.operations = vec![CommitOperation::Add {
        path: "weights.bin".into(),
        source: FileSource::Path(path),
    }];
    c.create_commit_with(&id(), commit, Some(progress))
        .await
        .unwrap();
    let puts: Vec<_> = s
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2, "retried once");
    assert_eq!(
        puts[1].body, content,
        "the retry streams the whole file again"
    );
    let seen = seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!((last.done, last.total), (300_000, 300_000));
    assert!(seen.iter().all(|p| p.done <= p.total));
}
