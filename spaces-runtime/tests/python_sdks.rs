//! Real Gradio and Streamlit Spaces on the local runtime: built from their `requirements.txt`
//! into a virtual environment with pip (from PyPI), started like the Hub starts them, answering
//! HTTP (Gradio's API lists and runs the function), put to sleep (stopped) and woken (started
//! again from the same image); a second Space with the same requirements reuses the environment;
//! a bad requirement fails the build with pip's message; an unavailable `python_version` is a
//! configuration error.
//!
//! These tests need `python3` and PyPI (or the pip configuration of the machine). Without them
//! they print `SKIPPED: <reason>` and pass, unless `SPACES_REQUIRE_PYTHON=1`: then they fail.
//! pip's downloads are cached in `SPACES_PIP_CACHE`, else in `<target>/tmp/pip-cache`, shared by
//! every test and run (the first run downloads, later ones install from the cache).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use spaces_core::{AppEnvironment, Revision, Sdk, SpaceId};
use spaces_runtime::{
    http_get, wait_healthy, BuildRequest, Error, Image, Instance, InstanceSpec, InstanceState,
    LocalRuntime, Runtime,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The Gradio release the tests install.
const GRADIO: &str = "5.50.0";
/// The Streamlit release the tests install.
const STREAMLIT: &str = "1.67.0";
/// How long an app may take to answer its first request (the SDK import is slow on a busy
/// machine).
const STARTUP: Duration = Duration::from_secs(180);

const REQUIRE_PYTHON: &str = "SPACES_REQUIRE_PYTHON";

const GRADIO_APP: &str = r#"import gradio as gr

print("gradio app starting", flush=True)


def greet(name):
    return "Hello, " + name + "!"


demo = gr.Interface(
    fn=greet,
    inputs=gr.Textbox(label="name"),
    outputs=gr.Textbox(label="greeting"),
    api_name="greet",
)
demo.launch()
"#;

fn pip_cache() -> PathBuf {
    std::env::var_os("SPACES_PIP_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("pip-cache"))
}

fn runtime() -> (tempfile::TempDir, LocalRuntime) {
    let root = tempfile::tempdir().unwrap();
    let rt = LocalRuntime::new(root.path())
        .unwrap()
        .with_pip_cache(pip_cache());
    (root, rt)
}

fn skip(reason: &str) -> bool {
    if std::env::var(REQUIRE_PYTHON).is_ok_and(|v| v == "1") {
        panic!("{REQUIRE_PYTHON}=1 and the Python SDK tests cannot run: {reason}");
    }
    println!("SKIPPED: {reason}; set {REQUIRE_PYTHON}=1 to fail instead");
    false
}

fn python_or_skip(rt: &LocalRuntime) -> bool {
    rt.python().is_some() || skip("no python3 (or python) on PATH")
}

/// Python, and an index pip can reach (`pip index versions pip`, with the machine's pip
/// configuration).
async fn pypi_or_skip(rt: &LocalRuntime) -> bool {
    let Some(python) = rt.python() else {
        return skip("no python3 (or python) on PATH");
    };
    let probe = tokio::process::Command::new(python)
        .args(["-m", "pip", "index", "versions", "pip"])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(60), probe).await {
        Ok(Ok(out)) if out.status.success() => true,
        Ok(Ok(out)) => skip(&format!(
            "pip cannot reach its package index: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(Err(e)) => skip(&format!("pip cannot run: {e}")),
        Err(_) => skip("pip's package index did not answer within 60 s"),
    }
}

fn source(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn readme(sdk: &str, version: &str, extra: &str) -> String {
    format!("---\ntitle: Test\nsdk: {sdk}\nsdk_version: {version}\napp_file: app.py\n{extra}---\n")
}

async fn build(rt: &LocalRuntime, space: &str, sdk: Sdk, src: &Path) -> Result<Image, Error> {
    let out = rt
        .build(BuildRequest {
            space: space.parse::<SpaceId>().unwrap(),
            revision: Revision::new("c0ffee1").unwrap(),
            sdk,
            source: src.to_path_buf(),
            app_file: "app.py".parse().unwrap(),
            no_cache: false,
        })
        .await?;
    let log = out.log.join("\n");
    println!("--- build log of {space} ---\n{log}");
    Ok(out.image)
}

async fn build_log(rt: &LocalRuntime, space: &str, sdk: Sdk, src: &Path) -> Vec<String> {
    rt.build(BuildRequest {
        space: space.parse::<SpaceId>().unwrap(),
        revision: Revision::new("c0ffee1").unwrap(),
        sdk,
        source: src.to_path_buf(),
        app_file: "app.py".parse().unwrap(),
        no_cache: false,
    })
    .await
    .unwrap()
    .log
}

async fn start(rt: &LocalRuntime, image: &Image) -> Instance {
    let instance = rt
        .start(InstanceSpec {
            image: image.clone(),
            env: AppEnvironment::default(),
            hardware: None,
            app_port: 7860,
            volume: None,
        })
        .await
        .unwrap();
    if let Err(e) = wait_healthy(rt, &instance, STARTUP).await {
        let mut logs = rt.logs(&instance.id, false).await.unwrap();
        let lines = logs.collect_for(Duration::from_millis(300)).await;
        let _ = rt.stop(&instance.id).await;
        panic!("{e}; log: {lines:#?}");
    }
    instance
}

/// `POST path` with a JSON body; the status and body.
async fn post_json(addr: SocketAddr, path: &str, json: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Gradio's API lists `greet`, and a call of it returns the greeting.
async fn gradio_answers(addr: SocketAddr) {
    let info = http_get(addr, "/gradio_api/info", Duration::from_secs(30))
        .await
        .unwrap();
    let info_text = String::from_utf8_lossy(&info.body);
    assert_eq!(info.status, 200, "{info_text}");
    assert!(info_text.contains("\"/greet\""), "{info_text}");

    let (status, body) = post_json(addr, "/gradio_api/call/greet", r#"{"data": ["Spaces"]}"#).await;
    assert_eq!(status, 200, "{body}");
    let event: serde_json::Value = serde_json::from_str(
        body.lines()
            .find(|l| l.trim_start().starts_with('{'))
            .unwrap_or(&body),
    )
    .unwrap_or_else(|e| panic!("{e}: {body}"));
    let event_id = event["event_id"].as_str().unwrap();
    let result = http_get(
        addr,
        &format!("/gradio_api/call/greet/{event_id}"),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let result_text = String::from_utf8_lossy(&result.body);
    assert!(
        result_text.contains("event: complete") && result_text.contains("Hello, Spaces!"),
        "{result_text}"
    );
}

#[tokio::test]
async fn gradio_builds_from_requirements_serves_sleeps_wakes_and_shares_its_environment() {
    let (_root, rt) = runtime();
    if !pypi_or_skip(&rt).await {
        return;
    }
    let front_matter = readme("gradio", GRADIO, "");
    let files = [
        ("README.md", front_matter.as_str()),
        // Already a dependency of Gradio: resolved from the SDK's own set.
        ("requirements.txt", "pandas\n"),
        ("app.py", GRADIO_APP),
    ];
    let src = source(&files);
    let image = build(&rt, "alice/greeter", Sdk::Gradio, src.path())
        .await
        .unwrap();

    let instance = start(&rt, &image).await;
    gradio_answers(instance.address).await;
    let mut logs = rt.logs(&instance.id, false).await.unwrap();
    let lines = logs.collect_for(Duration::from_millis(300)).await;
    assert!(
        lines.iter().any(|l| l.text.contains("gradio app starting")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.text.contains("python environment")),
        "{lines:#?}"
    );

    // Sleep, then wake from the same image.
    rt.stop(&instance.id).await.unwrap();
    assert_eq!(
        rt.state(&instance.id).await.unwrap(),
        InstanceState::Stopped
    );
    let woken = start(&rt, &image).await;
    gradio_answers(woken.address).await;
    rt.stop(&woken.id).await.unwrap();

    // A second Space with the same requirements: nothing installed, nothing downloaded.
    let second = source(&files);
    let log = build_log(&rt, "bob/greeter", Sdk::Gradio, second.path()).await;
    let text = log.join("\n");
    assert!(text.contains("reused"), "{text}");
    assert!(
        !log.iter()
            .any(|l| l.starts_with("Collecting") || l.contains("Downloading")),
        "{text}"
    );
    // An unchanged rebuild of the first Space installs nothing either.
    let again = build_log(&rt, "alice/greeter", Sdk::Gradio, src.path()).await;
    assert!(again.join("\n").contains("reused"), "{again:?}");
}

#[tokio::test]
async fn streamlit_builds_from_requirements_serves_sleeps_and_wakes() {
    let (_root, rt) = runtime();
    if !pypi_or_skip(&rt).await {
        return;
    }
    // The example Space itself (streamlit at sdk_version, pandas from requirements.txt).
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/spaces/hello-streamlit");
    let front_matter = std::fs::read_to_string(example.join("README.md")).unwrap();
    assert!(front_matter.contains(&format!("sdk_version: {STREAMLIT}")));
    let image = build(&rt, "alice/streamer", Sdk::Streamlit, &example)
        .await
        .unwrap();
    for round in ["first start (cold)", "wake (forked from the fork server)"] {
        let instance = if round.starts_with("wake") {
            start_warm(&rt, &image, &AppEnvironment::default()).await
        } else {
            start(&rt, &image).await
        };
        let health = http_get(instance.address, "/_stcore/health", Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(health.status, 200, "{round}");
        assert_eq!(String::from_utf8_lossy(&health.body), "ok", "{round}");
        let page = http_get(instance.address, "/", Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(page.status, 200, "{round}");
        let mut logs = rt.logs(&instance.id, false).await.unwrap();
        let lines = logs.collect_for(Duration::from_millis(300)).await;
        assert!(
            lines.iter().any(|l| l.text.contains("streamlit run")),
            "{lines:#?}"
        );
        rt.stop(&instance.id).await.unwrap();
    }
}

#[tokio::test]
async fn a_bad_requirement_fails_the_build_with_pips_message() {
    let (root, rt) = runtime();
    if !pypi_or_skip(&rt).await {
        return;
    }
    let src = source(&[
        ("README.md", readme("gradio", GRADIO, "").as_str()),
        ("requirements.txt", "spaces-no-such-package-7f3a9c==1.0.0\n"),
        ("app.py", GRADIO_APP),
    ]);
    match build(&rt, "alice/broken", Sdk::Gradio, src.path()).await {
        Err(Error::BuildFailed {
            reason, log_tail, ..
        }) => {
            assert!(reason.contains("pip install"), "{reason}");
            assert!(
                log_tail.contains("spaces-no-such-package-7f3a9c")
                    && (log_tail.contains("No matching distribution")
                        || log_tail.contains("Could not find a version")),
                "{log_tail}"
            );
        }
        other => panic!("expected BuildFailed, got {other:?}"),
    }
    // Nothing half-built is kept: the next build tries again.
    let left: Vec<_> = std::fs::read_dir(root.path().join("envs"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn an_unavailable_python_version_is_a_configuration_error() {
    let (_root, rt) = runtime();
    if !python_or_skip(&rt) {
        return;
    }
    let src = source(&[
        (
            "README.md",
            readme("gradio", GRADIO, "python_version: \"3.4\"\n").as_str(),
        ),
        ("app.py", GRADIO_APP),
    ]);
    match build(&rt, "alice/old-python", Sdk::Gradio, src.path()).await {
        Err(Error::BuildFailed { reason, .. }) => {
            assert!(
                reason.contains("configuration error") && reason.contains("python_version 3.4"),
                "{reason}"
            );
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

/// Reports what it can see of another Space: its variables, state left in a module the fork
/// server imported, and every `leakcheck<16 hex>` string anywhere in its own memory.
const ISOLATION_APP: &str = r#"import http.server, json, os, re
import gradio  # imported by the fork server before any fork

if os.environ.get("ROLE") == "a":
    gradio.SPACES_LEAK = os.environ["SECRET_A"]
    os.environ["LEAKED_BY_A"] = "1"


def scan():
    needle = re.compile(rb"leakcheck[0-9a-f]{16}")
    hits = set()
    regions = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else ""
            if parts[1].startswith("r") and name not in ("[vvar]", "[vsyscall]", "[vdso]"):
                regions.append((lo, hi))
    with open("/proc/self/mem", "rb", 0) as mem:
        for lo, hi in regions:
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue
            hits.update(m.group().decode() for m in needle.finditer(data))
    return sorted(hits)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "env": sorted(os.environ),
            "module_state": getattr(gradio, "SPACES_LEAK", None) is not None,
            "memory": scan() if self.path == "/scan" else [],
        }).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


print("isolation app ready", flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

fn env_with(space: &str, vars: &[(&str, &str, bool)]) -> AppEnvironment {
    use spaces_core::{Actor, Event, RepoCheck, Secret, Space, Visibility};
    let now = jiff::Timestamp::UNIX_EPOCH;
    let id: SpaceId = space.parse().unwrap();
    let mut s = Space::new(id, Sdk::Gradio, Visibility::Private, now);
    for (name, value, secret) in vars {
        if *secret {
            s.set_secret(name, Secret::new(*value), None, now).unwrap();
        } else {
            s.set_variable(name, *value).unwrap();
        }
    }
    let _ = s.apply(
        Event::Push {
            revision: Revision::new("c0ffee1").unwrap(),
            repo: RepoCheck::Ready,
        },
        Actor::Owner,
        now,
    );
    AppEnvironment::for_space(&s, None)
}

/// Starts `image` until it is forked from the fork server (the first start of an environment is
/// cold and warms the server up).
async fn start_warm(rt: &LocalRuntime, image: &Image, env: &AppEnvironment) -> Instance {
    let deadline = std::time::Instant::now() + STARTUP;
    loop {
        let instance = rt
            .start(InstanceSpec {
                image: image.clone(),
                env: env.clone(),
                hardware: None,
                app_port: 7860,
                volume: None,
            })
            .await
            .unwrap();
        let mut logs = rt.logs(&instance.id, false).await.unwrap();
        let lines = logs.collect_for(Duration::from_millis(100)).await;
        if lines.iter().any(|l| l.text.contains("warm: forked")) {
            wait_healthy(rt, &instance, STARTUP).await.unwrap();
            return instance;
        }
        rt.stop(&instance.id).await.unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "never forked: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn report(addr: SocketAddr, path: &str) -> serde_json::Value {
    let r = http_get(addr, path, Duration::from_secs(120))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

#[tokio::test]
async fn spaces_forked_from_one_interpreter_share_no_secret_and_no_state() {
    let (_root, rt) = runtime();
    if !pypi_or_skip(&rt).await {
        return;
    }
    let front_matter = readme("gradio", GRADIO, "");
    let files = [
        ("README.md", front_matter.as_str()),
        ("requirements.txt", "pandas\n"),
        ("app.py", ISOLATION_APP),
    ];
    let (src_a, src_b) = (source(&files), source(&files));
    let image_a = build(&rt, "alice/isolated", Sdk::Gradio, src_a.path())
        .await
        .unwrap();
    let image_b = build(&rt, "bob/isolated", Sdk::Gradio, src_b.path())
        .await
        .unwrap();
    let nanos = jiff::Timestamp::now().as_nanosecond() as u64;
    let secret_a = format!("leakcheck{nanos:016x}");
    let secret_b = format!(
        "leakcheck{:016x}",
        nanos
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
    );
    let env_a = env_with(
        "alice/isolated",
        &[("SECRET_A", &secret_a, true), ("ROLE", "a", false)],
    );
    let env_b = env_with(
        "bob/isolated",
        &[("SECRET_B", &secret_b, true), ("ROLE", "b", false)],
    );

    let a = start_warm(&rt, &image_a, &env_a).await;
    let seen_by_a = report(a.address, "/").await;
    assert_eq!(seen_by_a["module_state"], true, "{seen_by_a}");
    assert!(seen_by_a["env"].to_string().contains("SECRET_A"));

    let b = start_warm(&rt, &image_b, &env_b).await;
    let seen_by_b = report(b.address, "/scan").await;
    let env_b_names = seen_by_b["env"].to_string();
    assert!(env_b_names.contains("SECRET_B"), "{seen_by_b}");
    assert!(
        !env_b_names.contains("SECRET_A") && !env_b_names.contains("LEAKED_BY_A"),
        "{seen_by_b}"
    );
    assert_eq!(seen_by_b["module_state"], false, "{seen_by_b}");
    let memory = seen_by_b["memory"].to_string();
    assert!(
        memory.contains(&secret_b),
        "the scan must see B's own secret: {memory}"
    );
    assert!(
        !memory.contains(&secret_a),
        "A's secret is in B's memory: {memory}"
    );

    rt.stop(&a.id).await.unwrap();
    rt.stop(&b.id).await.unwrap();
}
