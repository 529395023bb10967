//! Pushes without write access are refused, private Spaces are not cloned by others, and a
//! pushed README with a bad value is a `CONFIG_ERROR` naming its line and column.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_without_write_access_are_refused_and_private_spaces_are_not_cloned_by_others() {
    let s = Server::start(&[]);
    create(&s, json!({"name": "pub", "type": "space", "sdk": "static"})).await;
    create(
        &s,
        json!({"name": "priv", "type": "space", "sdk": "static", "private": true}),
    )
    .await;
    wait_until(&s, "alice/pub", 60, "RUNNING", |rt| {
        rt["stage"] == "RUNNING"
    })
    .await;
    let sha = info_sha(&s, "alice/pub").await;
    let work = s.folder("w");

    // bob (another user), alice's read-only token and no token at all: each push is refused.
    let cases: [(&str, Option<&str>); 3] = [
        ("bob", Some(&s.bob)),
        ("alice-read", Some(&s.alice_read)),
        ("anonymous", None),
    ];
    for (who, token) in cases {
        let tree = clone(&work, &s.git_url("alice/pub", token), &format!("pub-{who}"));
        write(&tree, "index.html", &format!("<p>defaced by {who}</p>\n"));
        commit_all(&tree, "deface");
        let out = push(&tree).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "a push by {who} to alice/pub was accepted: {err}"
        );
        let remote = git_ok(
            &tree,
            &[
                "ls-remote",
                &s.git_url("alice/pub", Some(&s.alice)),
                "refs/heads/main",
            ],
        );
        assert!(
            remote.starts_with(&sha),
            "main moved after {who}'s refused push: {remote}"
        );
        eprintln!("push by {who} refused: {}", err.trim().replace('\n', " | "));
    }
    assert_eq!(info_sha(&s, "alice/pub").await, sha);
    let (_, body) = visit(&s, "alice/pub", "").await;
    assert!(
        !body.contains("defaced"),
        "a refused push is served: {body}"
    );

    // The private Space: bob and anonymous clones fail (ls-remote too), alice's works.
    for (who, token) in [("bob", Some(s.bob.as_str())), ("anonymous", None)] {
        let url = s.git_url("alice/priv", token);
        let out = git(&work, &["clone", "-q", &url, &format!("priv-{who}")]);
        assert!(
            !out.status.success(),
            "{who} cloned the private alice/priv: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!work.join(format!("priv-{who}")).join("README.md").exists());
        let out = git(&work, &["ls-remote", &url]);
        assert!(
            !out.status.success(),
            "{who} listed the refs of the private alice/priv"
        );
        eprintln!(
            "clone by {who} refused: {}",
            String::from_utf8_lossy(&out.stderr)
                .trim()
                .replace('\n', " | ")
        );
    }
    let tree = clone(
        &work,
        &s.git_url("alice/priv", Some(&s.alice)),
        "priv-alice",
    );
    assert!(tree.join("README.md").is_file());
    // bob cannot push to it either.
    let out = git(
        &tree,
        &[
            "push",
            "-q",
            &s.git_url("alice/priv", Some(&s.bob)),
            "HEAD:main",
        ],
    );
    assert!(
        !out.status.success(),
        "bob pushed to the private alice/priv"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_readme_with_a_bad_color_is_a_config_error_with_its_line_and_column() {
    let s = Server::start(&[]);
    let id = "alice/cfg";
    create(&s, json!({"name": "cfg", "type": "space", "sdk": "static"})).await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "cfg");
    let good = std::fs::read_to_string(tree.join("README.md")).unwrap();
    // `colorFrom: orange` on line 4.
    write(
        &tree,
        "README.md",
        "---\ntitle: Cfg\nemoji: 🚀\ncolorFrom: orange\ncolorTo: blue\nsdk: static\npinned: false\n---\n\nBad colour.\n",
    );
    let bad = commit_all(&tree, "orange");
    push_ok(&tree).await;
    let rt = wait_until(&s, id, 60, "CONFIG_ERROR", |rt| {
        rt["stage"] == "CONFIG_ERROR"
    })
    .await;
    let message = rt["errorMessage"].as_str().unwrap_or("").to_owned();
    let at = message
        .find("README.md:")
        .unwrap_or_else(|| panic!("errorMessage without README.md:LINE:COL: {rt}"));
    let mut parts = message[at + "README.md:".len()..].split(':');
    let line: u32 = parts.next().unwrap_or("").parse().unwrap_or(0);
    let col: u32 = parts
        .next()
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    eprintln!("CONFIG_ERROR errorMessage: {message}");
    assert_eq!(line, 4, "line in errorMessage {message:?}");
    // `colorFrom: orange`: the value starts at column 12.
    assert_eq!(col, 12, "column in errorMessage {message:?}");
    assert!(
        message.contains("orange") || message.contains("colorFrom"),
        "{message:?}"
    );
    assert_eq!(
        info_sha(&s, id).await,
        bad,
        "space_info follows the pushed commit"
    );

    // Fixing the README builds and serves again.
    write(&tree, "README.md", &good);
    let fixed = commit_all(&tree, "fix");
    push_ok(&tree).await;
    wait_running_on(&s, id, &fixed, 60).await;
    let (status, _) = visit(&s, id, "").await;
    assert_eq!(status, 200);
}
