//! A Docker Space rebuilt on the Docker engine by a push (skipped with a printed reason when no
//! engine answers, unless `SPACES_REQUIRE_DOCKER=1`).

use super::*;

fn docker_answers() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|st| st.success())
        .unwrap_or(false)
}

/// The fixture's serving Space (busybox `httpd`), its page replaced by `text`.
fn docker_space(dir: &Path, tag: &str, text: &str) {
    spaces_runtime::docker::fixtures::write_serving(dir, Some(tag)).unwrap();
    let script = spaces_runtime::docker::fixtures::serving_script();
    let script = script.replace(
        "echo \"persistent=$persistent ephemeral=$ephemeral\" > /app/www/index.html",
        &format!("echo '{text}' > /app/www/index.html"),
    );
    assert!(
        script.contains(text),
        "the fixture's start.sh changed shape"
    );
    write(dir, "start.sh", &script);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_space_push_rebuilds_on_the_docker_engine() {
    if !docker_answers() {
        assert!(
            std::env::var("SPACES_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "SPACES_REQUIRE_DOCKER=1 and no Docker engine answers `docker version`"
        );
        eprintln!("skipped: no Docker engine answers `docker version` (SPACES_REQUIRE_DOCKER=1 makes this a failure)");
        return;
    }
    let s = Server::start(&["--docker"]);
    let id = "alice/dock";
    let tag = format!("git-push-{}", nonce());
    create(
        &s,
        json!({"name": "dock", "type": "space", "sdk": "docker"}),
    )
    .await;
    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "dock");
    write(
        &tree,
        "README.md",
        "---\ntitle: Dock\nemoji: 🐳\ncolorFrom: blue\ncolorTo: green\nsdk: docker\napp_port: 7860\npinned: false\n---\n",
    );
    let v1 = format!("docker v1 {}", nonce());
    docker_space(&tree, &tag, &v1);
    let first = commit_all(&tree, "docker v1");
    push_ok(&tree).await;
    let result = async {
        wait_running_on(&s, id, &first, 300).await;
        let (status, body) = visit(&s, id, "").await;
        assert_eq!(
            (status, body.trim()),
            (200, v1.as_str()),
            "GET /spaces/{id}/ after the first push"
        );

        let v2 = format!("docker v2 {}", nonce());
        docker_space(&tree, &tag, &v2);
        let new = commit_all(&tree, "docker v2");
        let w = watch(&s, id);
        tokio::time::sleep(Duration::from_millis(50)).await;
        push_ok(&tree).await;
        wait_running_on(&s, id, &new, 300).await;
        let seen = w.finish().await;
        assert_rebuilt(&seen, &first, &new);
        let (status, body) = visit(&s, id, "").await;
        assert_eq!(
            (status, body.trim()),
            (200, v2.as_str()),
            "GET /spaces/{id}/ after the second push"
        );
    };
    let outcome = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(result)).await;
    // Clean up: the Space (its containers) and every image of the fixture's tag.
    let _ = api(
        reqwest::Method::DELETE,
        format!("{}/api/repos/delete", s.base),
        Some(&s.alice),
        Some(json!({"name": "dock", "type": "space"})),
    )
    .await;
    drop(s);
    let ids = Command::new("docker")
        .args([
            "images",
            "-q",
            "--filter",
            &format!("label=io.spaces.fixture={tag}"),
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let _ = Command::new("docker")
            .args(["rmi", "-f"])
            .args(&ids)
            .output();
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}
