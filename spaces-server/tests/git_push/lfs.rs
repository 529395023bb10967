//! The `git lfs` command line against the server: a file tracked by LFS is pushed through the
//! batch API (basic transfer), stored by its SHA-256, served by the running Space as its bytes
//! (not its pointer), resolved byte-identical over HTTP, and a fresh clone smudges it back.
//! Skipped with a printed reason when `git lfs` is not installed, unless
//! `SPACES_REQUIRE_GIT_LFS=1` (CI installs Debian's `git-lfs`).

use super::*;

fn git_lfs_present() -> bool {
    let present = Command::new("git")
        .args(["lfs", "version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !present && std::env::var("SPACES_REQUIRE_GIT_LFS").as_deref() == Ok("1") {
        panic!("SPACES_REQUIRE_GIT_LFS=1 but `git lfs` is not installed (apt-get install git-lfs)");
    }
    present
}

/// Bytes that do not compress and are not text: 1.5 MiB from a fixed xorshift.
fn binary_blob() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..3 * 512 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_lfs_push_stores_the_object_and_the_space_serves_its_bytes() {
    if !git_lfs_present() {
        eprintln!("skipped: `git lfs` is not installed (apt-get install git-lfs)");
        return;
    }
    let s = Server::start(&[]);
    let id = "alice/lfs-site";
    create(
        &s,
        json!({"name": "lfs-site", "type": "space", "sdk": "static"}),
    )
    .await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;

    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "lfs-site");
    git_ok(&tree, &["lfs", "install", "--local"]);
    git_ok(&tree, &["lfs", "track", "*.bin"]);
    let blob = binary_blob();
    std::fs::create_dir_all(tree.join("data")).unwrap();
    std::fs::write(tree.join("data/blob.bin"), &blob).unwrap();
    let new = commit_all(&tree, "an LFS file");
    // What git stores is the pointer.
    let stored = git_ok(&tree, &["show", "HEAD:data/blob.bin"]);
    assert!(
        stored.starts_with("version https://git-lfs.github.com/spec/v1"),
        "the commit holds {stored:?}, not a pointer"
    );
    push_ok(&tree).await;
    wait_running_on(&s, id, &new, 60).await;

    // The running Space serves the bytes, not the pointer.
    let url = format!("{}/spaces/{id}/data/blob.bin", s.base);
    let served = client().get(&url).send().await.unwrap();
    assert_eq!(served.status(), 200, "GET {url}");
    assert!(
        served.bytes().await.unwrap().as_ref() == blob.as_slice(),
        "the Space serves other bytes than the pushed LFS file"
    );
    // resolve (hf_hub_download's URL) gives the bytes too.
    let url = format!("{}/spaces/{id}/resolve/main/data/blob.bin", s.base);
    let resolved = client()
        .get(&url)
        .bearer_auth(&s.alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200, "GET {url}");
    assert!(resolved.bytes().await.unwrap().as_ref() == blob.as_slice());

    // A fresh clone with LFS smudges the file back (the batch API's download).
    let copy = clone(&work, &s.git_url(id, Some(&s.bob)), "bob-copy");
    git_ok(&copy, &["lfs", "install", "--local"]);
    git_ok(&copy, &["lfs", "pull"]);
    assert!(
        std::fs::read(copy.join("data/blob.bin")).unwrap() == blob,
        "git lfs pull in a fresh clone gives other bytes"
    );
}
