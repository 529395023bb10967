//! The conformance suite on the local runtime, with Python and static fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use spaces_core::Sdk;
use spaces_runtime::conformance::{self, FixtureApp, Fixtures};
use spaces_runtime::LocalRuntime;

/// Python fixtures (the local runtime runs `python3 app.py`).
struct PythonFixtures;

const SERVING: &str = r#"
import http.server, os
data = os.environ.get("SPACE_DATA_DIR")
had_data = bool(data) and os.path.exists(os.path.join(data, "marker"))
had_ephemeral = os.path.exists("ephemeral-marker")
open("ephemeral-marker", "w").write("x")
if data:
    open(os.path.join(data, "marker"), "w").write("x")
print("hello from the app", flush=True)
body = ("persistent=%s ephemeral=%s" % ("yes" if had_data else "no", "yes" if had_ephemeral else "no")).encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

const UNHEALTHY: &str = r#"
import http.server, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

fn app(dir: &Path, source: &str) -> std::io::Result<FixtureApp> {
    std::fs::write(dir.join("app.py"), source)?;
    Ok(FixtureApp {
        sdk: Sdk::Gradio,
        app_file: "app.py".into(),
        app_port: 7860,
    })
}

impl Fixtures for PythonFixtures {
    fn serving(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        app(dir, SERVING)
    }
    fn failing_build(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        app(dir, "def broken(:\n    pass\n")
    }
    fn exiting(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        app(dir, "import sys\nprint('bye', flush=True)\nsys.exit(3)\n")
    }
    fn never_healthy(&self, dir: &Path) -> std::io::Result<FixtureApp> {
        app(dir, UNHEALTHY)
    }
}

fn runtime() -> (tempfile::TempDir, LocalRuntime) {
    let root = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::new(root.path()).unwrap();
    (root, rt)
}

fn python_or_skip(rt: &LocalRuntime) -> bool {
    if rt.python().is_none() {
        println!("SKIPPED: no python3 on PATH; the local runtime runs Python Spaces with it");
        return false;
    }
    true
}

#[tokio::test]
async fn build_start_health_logs_stop() {
    let (_root, rt) = runtime();
    if python_or_skip(&rt) {
        conformance::build_start_health_logs_stop(&rt, &PythonFixtures)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn restart_keeps_data_and_wipes_ephemeral() {
    let (_root, rt) = runtime();
    if python_or_skip(&rt) {
        conformance::restart_keeps_data_and_wipes_ephemeral(&rt, &PythonFixtures)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn failing_build_reports_log() {
    let (_root, rt) = runtime();
    if python_or_skip(&rt) {
        conformance::failing_build_reports_log(&rt, &PythonFixtures)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn exiting_app_is_reported() {
    let (_root, rt) = runtime();
    if python_or_skip(&rt) {
        conformance::exiting_app_is_reported(&rt, &PythonFixtures)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn never_healthy_times_out() {
    let (_root, rt) = runtime();
    if python_or_skip(&rt) {
        conformance::never_healthy_times_out(&rt, &PythonFixtures)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn static_spaces_are_served_in_process() {
    use spaces_core::{AppEnvironment, Revision, SpaceId};
    use spaces_runtime::{BuildRequest, InstanceSpec, Runtime};
    let (_root, rt) = runtime();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("index.html"), "<h1>hello static</h1>").unwrap();
    std::fs::create_dir(src.path().join("css")).unwrap();
    std::fs::write(src.path().join("css/site.css"), "h1{}").unwrap();
    let space: SpaceId = "alice/page".parse().unwrap();
    let built = rt
        .build(BuildRequest {
            space: space.clone(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Static,
            source: src.path().into(),
            app_file: Sdk::Static.default_app_path(),
            no_cache: false,
        })
        .await
        .unwrap();
    let inst = rt
        .start(InstanceSpec {
            image: built.image.clone(),
            env: AppEnvironment::default(),
            hardware: None,
            app_port: 7860,
            volume: None,
        })
        .await
        .unwrap();
    spaces_runtime::wait_healthy(&rt, &inst, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let page = spaces_runtime::http_get(inst.address, "/", std::time::Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        (page.status, &page.body[..]),
        (200, &b"<h1>hello static</h1>"[..])
    );
    let css = spaces_runtime::http_get(
        inst.address,
        "/css/site.css",
        std::time::Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert_eq!(css.status, 200);
    let missing =
        spaces_runtime::http_get(inst.address, "/nope", std::time::Duration::from_secs(2))
            .await
            .unwrap();
    assert_eq!(missing.status, 404);
    rt.stop(&inst.id).await.unwrap();

    // No index.html: the build fails and says why.
    let empty = tempfile::tempdir().unwrap();
    let err = rt
        .build(BuildRequest {
            space,
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Static,
            source: empty.path().into(),
            app_file: Sdk::Static.default_app_path(),
            no_cache: false,
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("index.html"), "{err}");
}

#[tokio::test]
async fn docker_spaces_are_unsupported_locally() {
    use spaces_core::Revision;
    use spaces_runtime::{BuildRequest, Error, Runtime};
    let (_root, rt) = runtime();
    let src = tempfile::tempdir().unwrap();
    let err = rt
        .build(BuildRequest {
            space: "alice/box".parse().unwrap(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Docker,
            source: src.path().into(),
            app_file: Sdk::Docker.default_app_path(),
            no_cache: false,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                backend: "local",
                ..
            }
        ),
        "{err}"
    );
}
