//! The conformance suite on the local runtime, with Python and static fixtures; plus local-only
//! checks: apps left running by a supervisor that was SIGKILLed are found and stopped by the next
//! one, a stop kills everything an app forked, app files behind links are refused.
//!
//! Without `python3` on `PATH` the Python tests print `SKIPPED: <reason>` and pass, unless
//! `SPACES_REQUIRE_PYTHON=1`: then they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

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

/// Set to `1` to make the Python tests fail instead of skipping when there is no `python3`.
const REQUIRE_PYTHON: &str = "SPACES_REQUIRE_PYTHON";

fn python_or_skip(rt: &LocalRuntime) -> bool {
    if rt.python().is_some() {
        return true;
    }
    let reason = "no python3 (or python) on PATH; the local runtime runs Python Spaces with it";
    if std::env::var(REQUIRE_PYTHON).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE_PYTHON}=1 and the Python tests cannot run: {reason}");
    }
    println!("SKIPPED: {reason}; set {REQUIRE_PYTHON}=1 to fail instead");
    false
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
async fn running_lists_started_instances() {
    let (_root, rt) = runtime();
    if python_or_skip(&rt) {
        conformance::running_lists_started_instances(&rt, &PythonFixtures)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn discard_prepared_without_preparation_is_ok() {
    let (_root, rt) = runtime();
    if python_or_skip(&rt) {
        conformance::discard_prepared_without_preparation_is_ok(&rt, &PythonFixtures)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn gpu_flavor_is_unsupported() {
    let (root, rt) = runtime();
    if python_or_skip(&rt) {
        conformance::gpu_flavor_is_unsupported_or_served(&rt, &PythonFixtures)
            .await
            .unwrap();
        let left: Vec<_> = std::fs::read_dir(root.path().join("instances"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "a refused GPU start left {left:?}");
    }
}

#[test]
fn python_tests_fail_without_python_when_it_is_required() {
    let exe = std::env::current_exe().unwrap();
    let run = |required: bool| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["failing_build_reports_log", "--exact", "--nocapture"])
            .env("PATH", "/nonexistent");
        if required {
            cmd.env(REQUIRE_PYTHON, "1");
        } else {
            cmd.env_remove(REQUIRE_PYTHON);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (passed, text) = run(true);
    assert!(!passed, "required Python was silently skipped:\n{text}");
    assert!(
        text.contains("SPACES_REQUIRE_PYTHON=1 and the Python tests cannot run"),
        "{text}"
    );
    let (passed, text) = run(false);
    assert!(passed, "{text}");
    assert!(text.contains("SKIPPED: no python3"), "{text}");
}

/// An app that forks a child which ignores SIGTERM, writes `<leader pid> <child pid>` into
/// `$SPACE_DATA_DIR/pids` once the child is ready, and answers `GET /` with `forked`.
const FORKING: &str = r#"
import http.server, os, subprocess, sys, time
data = os.environ["SPACE_DATA_DIR"]
ready = os.path.join(data, "child-ready")
child = subprocess.Popen([sys.executable, "-c",
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "open(sys.argv[1], 'w').write('x')\n"
    "time.sleep(600)\n", ready])
for _ in range(1000):
    if os.path.exists(ready):
        break
    time.sleep(0.01)
with open(os.path.join(data, "pids.tmp"), "w") as f:
    f.write("%d %d" % (os.getpid(), child.pid))
os.rename(os.path.join(data, "pids.tmp"), os.path.join(data, "pids"))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"forked")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

/// Builds and starts `source` as a gradio Space with a volume.
async fn start_python(
    rt: &LocalRuntime,
    space: &spaces_core::SpaceId,
    source: &str,
) -> spaces_runtime::Instance {
    use spaces_core::{AppEnvironment, Revision};
    use spaces_runtime::{BuildRequest, InstanceSpec, Runtime, VolumeSpec};
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("app.py"), source).unwrap();
    let built = rt
        .build(BuildRequest {
            space: space.clone(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Gradio,
            source: src.path().into(),
            app_file: Sdk::Gradio.default_app_path(),
            no_cache: false,
        })
        .await
        .unwrap();
    let inst = rt
        .start(InstanceSpec {
            image: built.image,
            env: AppEnvironment::default(),
            hardware: None,
            app_port: 7860,
            volume: Some(VolumeSpec { size_gb: 20 }),
        })
        .await
        .unwrap();
    spaces_runtime::wait_healthy(rt, &inst, Duration::from_secs(30))
        .await
        .unwrap();
    inst
}

/// The `(leader, child)` pids the forking app wrote.
async fn forked_pids(rt: &LocalRuntime, space: &spaces_core::SpaceId) -> (i32, i32) {
    let file = rt.volume_dir(space).join("pids");
    for _ in 0..1000 {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let (a, b) = text.split_once(' ').unwrap();
            return (a.parse().unwrap(), b.parse().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the forking app wrote no pids");
}

/// Whether `pid` no longer runs (gone, or a zombie nobody reaped yet).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

async fn wait_gone(pid: i32) -> bool {
    for _ in 0..200 {
        if gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn stop_kills_everything_the_app_forked() {
    use spaces_runtime::Runtime;
    let (_root, rt) = runtime();
    if !python_or_skip(&rt) {
        return;
    }
    let space = "alice/forks".parse().unwrap();
    let inst = start_python(&rt, &space, FORKING).await;
    let (leader, child) = forked_pids(&rt, &space).await;
    assert!(!gone(leader) && !gone(child));
    rt.stop(&inst.id).await.unwrap();
    assert!(
        wait_gone(leader).await,
        "the app {leader} survived its stop"
    );
    assert!(
        wait_gone(child).await,
        "the app's child {child} (ignoring SIGTERM) survived its stop"
    );
}

/// The environment variable that turns a run of this test binary into the helper of
/// [`apps_of_a_killed_supervisor_are_found_and_stopped`]: a root folder to start instances in.
const ORPHAN_ROOT: &str = "SPACES_TEST_ORPHAN_ROOT";

/// Not a test on its own: with [`ORPHAN_ROOT`] set, starts a forking Python app and a static
/// Space under that root, prints `ORPHANS <python id> <static id>` and sleeps until killed.
#[tokio::test]
async fn orphan_helper_process() {
    use spaces_core::{AppEnvironment, Revision};
    use spaces_runtime::{BuildRequest, InstanceSpec, Runtime};
    let Ok(root) = std::env::var(ORPHAN_ROOT) else {
        return;
    };
    let rt = LocalRuntime::new(root).unwrap();
    let space = "alice/orphan".parse().unwrap();
    let python = start_python(&rt, &space, FORKING).await;
    forked_pids(&rt, &space).await;
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("index.html"), "static").unwrap();
    let built = rt
        .build(BuildRequest {
            space: "alice/page".parse().unwrap(),
            revision: Revision::new("abcd").unwrap(),
            sdk: Sdk::Static,
            source: src.path().into(),
            app_file: Sdk::Static.default_app_path(),
            no_cache: false,
        })
        .await
        .unwrap();
    let page = rt
        .start(InstanceSpec {
            image: built.image,
            env: AppEnvironment::default(),
            hardware: None,
            app_port: 7860,
            volume: None,
        })
        .await
        .unwrap();
    println!("ORPHANS {} {}", python.id, page.id);
    tokio::time::sleep(Duration::from_secs(600)).await;
}

#[tokio::test]
async fn apps_of_a_killed_supervisor_are_found_and_stopped() {
    use spaces_runtime::{InstanceState, Runtime};
    use tokio::io::AsyncBufReadExt;
    let (root, rt) = runtime();
    if !python_or_skip(&rt) {
        return;
    }
    drop(rt);
    // Another OS process starts the instances, then dies by SIGKILL.
    let mut helper = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "orphan_helper_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ORPHAN_ROOT, root.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(helper.stdout.take().unwrap()).lines();
    let ids = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // The harness may print `test <name> ... ` before it on the same line.
            if let Some((_, ids)) = line.split_once("ORPHANS ") {
                return ids.trim().to_owned();
            }
        }
        panic!("the helper ended without starting its instances");
    })
    .await
    .expect("the helper did not start its instances within 60 s");
    let (python_id, static_id) = ids.split_once(' ').unwrap();
    helper.kill().await.unwrap(); // SIGKILL: no cleanup of any kind
    let instances = root.path().join("instances");

    // A fresh runtime over the same root finds the app, and only the app.
    let rt = LocalRuntime::new(root.path()).unwrap();
    let space = "alice/orphan".parse().unwrap();
    let (leader, child) = forked_pids(&rt, &space).await;
    assert!(
        !gone(leader) && !gone(child),
        "the app died with its supervisor"
    );
    let running = rt.running().await.unwrap();
    assert_eq!(
        running.iter().map(|i| i.id.0.as_str()).collect::<Vec<_>>(),
        [python_id],
        "{running:?}"
    );
    assert_eq!(running[0].space, space);
    // The static Space died with its process: its record and folder are gone.
    assert!(!instances.join(static_id).exists());
    assert!(!instances.join(format!("{static_id}.json")).exists());
    let page = spaces_runtime::http_get(running[0].address, "/", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(&page.body[..], b"forked");
    assert_eq!(
        rt.state(&running[0].id).await.unwrap(),
        InstanceState::Running
    );

    rt.stop(&running[0].id).await.unwrap();
    assert!(
        wait_gone(leader).await,
        "the orphaned app {leader} survived its stop"
    );
    assert!(
        wait_gone(child).await,
        "the orphan's child {child} survived its stop"
    );
    assert!(rt.running().await.unwrap().is_empty());
    assert!(!instances.join(python_id).exists());
    assert!(!instances.join(format!("{python_id}.json")).exists());
    assert_eq!(
        rt.state(&running[0].id).await.unwrap(),
        InstanceState::Stopped
    );
    rt.stop(&running[0].id).await.unwrap(); // twice is fine
}

#[tokio::test]
async fn python_app_files_behind_links_are_refused() {
    use spaces_core::{AppPath, Revision};
    use spaces_runtime::{BuildRequest, Error, Runtime};
    let (root, rt) = runtime();
    if !python_or_skip(&rt) {
        return;
    }
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("app.py"), "print('outside')\n").unwrap();
    let src = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path().join("app.py"), src.path().join("app.py")).unwrap();
    std::os::unix::fs::symlink(outside.path(), src.path().join("src")).unwrap();
    for app_file in ["app.py", "src/app.py"] {
        let err = rt
            .build(BuildRequest {
                space: "alice/linked".parse().unwrap(),
                revision: Revision::new("abcd").unwrap(),
                sdk: Sdk::Gradio,
                source: src.path().into(),
                app_file: AppPath::new(app_file).unwrap(),
                no_cache: false,
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::BuildFailed { reason, .. } if reason.contains("symbolic link")),
            "{app_file}: {err}"
        );
    }
    let images: Vec<_> = std::fs::read_dir(root.path().join("images"))
        .unwrap()
        .collect();
    assert!(images.is_empty(), "{images:?}");
    // Nothing was compiled next to the outside file.
    assert!(!outside.path().join("__pycache__").exists());
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
