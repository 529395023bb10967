//! Clone, edit, push: a static and a Python Space rebuild while the old revision serves, the
//! runtime's `sha` follows each push, and a visit with a trailing slash reaches the app.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_space_clone_edit_push_serves_the_new_revision() {
    let s = Server::start(&[]);
    let id = "alice/site";
    create(
        &s,
        json!({"name": "site", "type": "space", "sdk": "static"}),
    )
    .await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let old = info_sha(&s, id).await;

    let work = s.folder("w");
    // `.git` is accepted at the end of the URL.
    let tree = clone(
        &work,
        &format!("{}.git", s.git_url(id, Some(&s.alice))),
        "site",
    );
    assert_eq!(head(&tree), old, "the clone's HEAD is the runtime's sha");
    assert!(
        tree.join("index.html").is_file(),
        "no index.html in the clone"
    );
    assert!(
        tree.join("README.md").is_file(),
        "no README.md in the clone"
    );

    let marker = format!("static v2 {}", nonce());
    write(
        &tree,
        "index.html",
        &format!("<!doctype html><p>{marker}</p>\n"),
    );
    // Enough files that the build (a copy of the revision) lasts long enough to be seen.
    for i in 0..400 {
        write(
            &tree,
            &format!("assets/f{i}.txt"),
            &format!("file {i} {marker}\n"),
        );
    }
    let new = commit_all(&tree, "new page");
    let w = watch(&s, id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    push_ok(&tree).await;
    let remote = git_ok(&tree, &["ls-remote", "origin", "refs/heads/main"]);
    assert!(
        remote.starts_with(&new),
        "ls-remote after the push: {remote}"
    );
    wait_running_on(&s, id, &new, 60).await;
    let seen = w.finish().await;
    assert_rebuilt(&seen, &old, &new);

    let (status, body) = visit(&s, id, "").await;
    assert_eq!(status, 200, "GET /spaces/{id}/ after the push: {body}");
    assert!(
        body.contains(&marker),
        "GET /spaces/{id}/ serves {body:?}, expected {marker:?}"
    );
    let (status, body) = visit(&s, id, "assets/f7.txt").await;
    assert_eq!(
        (status, body.trim()),
        (200, format!("file 7 {marker}").as_str())
    );

    assert_eq!(info_sha(&s, id).await, new, "space_info sha after the push");

    // Anyone may clone a public Space and gets the new revision.
    let other = clone(&work, &s.git_url(id, Some(&s.bob)), "bob-site");
    assert_eq!(head(&other), new);
    let anon = clone(&work, &s.git_url(id, None), "anon-site");
    assert_eq!(
        std::fs::read_to_string(anon.join("index.html")).unwrap(),
        format!("<!doctype html><p>{marker}</p>\n")
    );
}

/// A Python app serving `text` on `$PORT`; `padding` lines of data make its compile (the build's
/// check) last long enough for the rebuild to be seen.
fn app_py(text: &str, padding: usize) -> String {
    let mut data = String::from("DATA = [");
    for i in 0..padding {
        data.push_str(&i.to_string());
        data.push(',');
    }
    data.push_str("]\n");
    format!(
        r#"import http.server
import os

{data}
BODY = {text:?}.encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_space_push_rebuilds_while_the_old_revision_serves() {
    let s = Server::start(&[]);
    let id = "alice/app";
    let v1 = format!("python v1 {}", nonce());
    create(
        &s,
        json!({"name": "app", "type": "space", "sdk": "gradio",
               "files": [{"path": "app.py", "content": app_py(&v1, 0), "encoding": "utf-8"}]}),
    )
    .await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let old = info_sha(&s, id).await;
    let (status, body) = visit(&s, id, "").await;
    assert_eq!((status, body.as_str()), (200, v1.as_str()));

    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "app");
    assert_eq!(head(&tree), old);
    let readme = std::fs::read_to_string(tree.join("README.md")).unwrap();
    assert!(
        readme.contains("sdk: gradio"),
        "README of the clone: {readme}"
    );

    let v2 = format!("python v2 {}", nonce());
    write(&tree, "app.py", &app_py(&v2, 150_000));
    let new = commit_all(&tree, "v2");
    let w = watch(&s, id);
    tokio::time::sleep(Duration::from_millis(50)).await;
    push_ok(&tree).await;

    // While the new revision builds, the old one answers.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut old_served_while_building = 0;
    let mut rebuilt = false;
    loop {
        let before = runtime(&s, id).await;
        let running = before["stage"] == "RUNNING";
        rebuilt |= !running;
        let on_new = match before.get("sha") {
            Some(sha) => sha == new.as_str(),
            None => rebuilt && info_sha(&s, id).await == new,
        };
        if running && on_new {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{id}: no RUNNING on {new}: {before}\n{}",
            s.log_tail()
        );
        if before["stage"] == "RUNNING_BUILDING" {
            let (status, body) = visit(&s, id, "").await;
            let after = runtime(&s, id).await;
            if after["stage"] == "RUNNING_BUILDING" {
                assert_eq!(
                    (status, body.as_str()),
                    (200, v1.as_str()),
                    "a visit during RUNNING_BUILDING must reach the old revision"
                );
                old_served_while_building += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = w.finish().await;
    assert_rebuilt(&seen, &old, &new);
    assert!(
        old_served_while_building > 0,
        "no visit landed during RUNNING_BUILDING: {}",
        short(&seen)
    );
    let (status, body) = visit(&s, id, "").await;
    assert_eq!(
        (status, body.as_str()),
        (200, v2.as_str()),
        "GET /spaces/{id}/ after the push"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_sha_follows_each_push() {
    let s = Server::start(&[]);
    let id = "alice/sha";
    create(&s, json!({"name": "sha", "type": "space", "sdk": "static"})).await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let first = info_sha(&s, id).await;
    let rt = runtime(&s, id).await;
    assert_eq!(
        rt["sha"],
        first.as_str(),
        "GET /api/spaces/{id}/runtime sha before any push: {rt}"
    );
    let work = s.folder("w");
    let tree = clone(&work, &s.git_url(id, Some(&s.alice)), "sha");
    for i in 0..2 {
        let marker = format!("sha {i} {}", nonce());
        write(&tree, "index.html", &format!("<p>{marker}</p>\n"));
        let new = commit_all(&tree, &marker);
        push_ok(&tree).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = visit(&s, id, "").await;
            if status == 200 && body.contains(&marker) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{id}: push {i} not served: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let rt = wait_until(&s, id, 10, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
        assert_eq!(
            rt["sha"],
            new.as_str(),
            "GET /api/spaces/{id}/runtime sha after push {i} (serving it): {rt}"
        );
        assert_eq!(info_sha(&s, id).await, new);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_with_a_trailing_slash_reaches_the_app() {
    let s = Server::start(&[]);
    let id = "alice/slash";
    create(
        &s,
        json!({"name": "slash", "type": "space", "sdk": "static"}),
    )
    .await;
    wait_until(&s, id, 60, "RUNNING", |rt| rt["stage"] == "RUNNING").await;
    let (_, plain) = visit(&s, id, "").await;
    let url = format!("{}/spaces/{id}/", s.base);
    let r = client().get(&url).send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(status, 200, "GET /spaces/{id}/: {body}");
    assert_eq!(body, plain, "GET /spaces/{id}/ and GET /spaces/{id} differ");
}
