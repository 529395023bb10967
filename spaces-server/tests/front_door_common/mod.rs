//! Shared set-up of the front door tests: a real server (local runtime, optionally Docker) on a
//! real listener under the domain `spaces.test`, served as the binary serves it (one connection
//! thread per core, `Server::serve_per_core`), with a manual clock so a test can put a Space to
//! sleep; requests reach a Space's host through the `Host` header.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spaces_core::{ManualClock, SpaceId, Stage};
use spaces_server::{App, CoreListeners, FrontDoor, FrontDoorConfig, Limits, Role, ServerBuilder};

pub const DOMAIN: &str = "spaces.test";

/// A served server and its users' tokens.
pub struct Door {
    /// The served server's state (its supervisor, its tables).
    pub app: App,
    /// Its front door (wake counts).
    pub front: FrontDoor,
    pub addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub alice: String,
    pub bob: String,
    pub domain: String,
    pub http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: tokio::task::JoinHandle<Result<(), spaces_server::Error>>,
}

pub async fn start(docker: bool, config: FrontDoorConfig) -> Door {
    start_on(DOMAIN, docker, config).await
}

/// [`start`] under another domain (`localhost`, which browsers resolve with every subdomain).
pub async fn start_on(domain: &str, docker: bool, config: FrontDoorConfig) -> Door {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new("2026-11-03T10:00:00Z".parse().unwrap()));
    let server = ServerBuilder::new(dir.path().join("data"))
        .limits(Limits {
            rate_per_second: 0,
            ..Limits::default()
        })
        .clock(Arc::clone(&clock) as Arc<dyn spaces_core::Clock>)
        .tick(Duration::from_millis(50))
        .spaces_domain(domain)
        .front_door(config)
        .docker(docker)
        .build()
        .await
        .unwrap();
    server.db().add_user("alice", &["acme".to_owned()]).unwrap();
    server.db().add_user("bob", &[]).unwrap();
    let alice = server.db().create_token("alice", Role::Write).unwrap();
    let bob = server.db().create_token("bob", Role::Write).unwrap();
    let listeners = CoreListeners::bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
    let addr = listeners.local_addr();
    let app = server.app().clone();
    let front = server.front_door(domain);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_per_core(listeners, async move {
        let _ = stopped.await;
    }));
    Door {
        app,
        front,
        addr,
        clock,
        dir,
        alice,
        bob,
        domain: domain.to_owned(),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
        stop: Some(stop),
        serving,
    }
}

impl Door {
    /// The API's base URL (the bare domain's host is sent).
    pub fn api(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("http://{}{path}", self.addr))
            .header("host", format!("{}:{}", self.domain, self.addr.port()))
    }

    /// A request to a Space's host.
    pub fn space(
        &self,
        method: reqwest::Method,
        host: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("http://{}{path}", self.addr))
            .header("host", format!("{host}:{}", self.addr.port()))
    }

    pub async fn create(&self, body: Value) {
        let r = self
            .http
            .post(format!("http://{}/api/repos/create", self.addr))
            .header("host", &self.domain)
            .bearer_auth(&self.alice)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, 200, "create {body}: {text}");
    }

    pub async fn runtime(&self, id: &str) -> Value {
        let r = self
            .api(&format!("/api/spaces/{id}/runtime"))
            .bearer_auth(&self.alice)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// The host of a Space, as its runtime's `domains` reports it.
    pub async fn host(&self, id: &str) -> String {
        self.runtime(id).await["domains"][0]["domain"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn stage(&self, id: &str) -> Stage {
        let id: SpaceId = id.parse().unwrap();
        self.app.sup.status(&id).unwrap().stage
    }

    pub async fn wait_stage(&self, id: &str, want: Stage, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let stage = self.stage(id);
            if stage == want {
                return;
            }
            if Instant::now() > deadline {
                let rt = self.runtime(id).await;
                panic!("{id}: no {want} after {secs} s, stage {stage}; runtime {rt}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Puts a running Space to sleep: its idle time passes on the manual clock (49 h: more than
    /// the 48 h of free hardware and static Spaces) and the ticker sends it to `SLEEPING`.
    pub async fn sleep(&self, id: &str) {
        self.wait_stage(id, Stage::Running, 300).await;
        self.clock.advance(Duration::from_secs(49 * 3600));
        self.wait_stage(id, Stage::Sleeping, 30).await;
    }

    /// Stops serving: the listener and the connections, then every instance (the server's
    /// shutdown).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = tokio::time::timeout(Duration::from_secs(60), &mut self.serving)
            .await
            .expect("the server stops within a minute");
        served.unwrap().unwrap();
    }
}

/// Whether python3 runs here; `SPACES_REQUIRE_PYTHON=1` makes its absence a failure.
pub fn python_or_skip() -> bool {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("SPACES_REQUIRE_PYTHON").as_deref() != Ok("1"),
            "SPACES_REQUIRE_PYTHON=1 and no python3"
        );
        eprintln!("skipped: no python3 (SPACES_REQUIRE_PYTHON=1 makes this a failure)");
    }
    ok
}

/// Whether a Docker engine answers; `SPACES_REQUIRE_DOCKER=1` makes its absence a failure.
pub fn docker_or_skip() -> bool {
    let ok = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("SPACES_REQUIRE_DOCKER").as_deref() != Ok("1"),
            "SPACES_REQUIRE_DOCKER=1 and no Docker engine answers `docker version`"
        );
        eprintln!("skipped: no Docker engine answers `docker version` (SPACES_REQUIRE_DOCKER=1 makes this a failure)");
    }
    ok
}

/// A stdlib-only asyncio app (HTTP/1.1 keep-alive): `/` answers `body`; `/sse` sends `data: 1`,
/// waits for a request to `/sse-next`, sends `data: 2` and ends; `/ws` is a WebSocket echo;
/// `/headers` answers the request's headers (one `name: value` a line); `POST /echo` answers
/// the body. Each start appends a line to `start_log`.
pub fn app_py(body: &str, start_log: &std::path::Path) -> String {
    format!(
        r#"import asyncio, base64, hashlib, os

BODY = {body:?}.encode()
with open({log:?}, "a") as f:
    f.write("started\n")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
NEXT = []


async def ws_echo(reader, writer):
    while True:
        b1, b2 = await reader.readexactly(2)
        op, n = b1 & 0x0F, b2 & 0x7F
        if n == 126:
            n = int.from_bytes(await reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await reader.readexactly(8), "big")
        mask = await reader.readexactly(4) if b2 & 0x80 else b"\0\0\0\0"
        raw = await reader.readexactly(n)
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(raw))
        if op == 8:
            writer.write(b"\x88\x00")
            await writer.drain()
            return
        if op in (1, 2):
            if n < 126:
                head = bytes([0x80 | op, n])
            elif n < 65536:
                head = bytes([0x80 | op, 126]) + n.to_bytes(2, "big")
            else:
                head = bytes([0x80 | op, 127]) + n.to_bytes(8, "big")
            writer.write(head + data)
            await writer.drain()


async def chunk(writer, data):
    writer.write(b"%x\r\n" % len(data) + data + b"\r\n")
    await writer.drain()


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers.append((k.strip().lower(), v.strip()))
            h = dict(headers)
            n = int(h.get("content-length", "0") or 0)
            body = await reader.readexactly(n) if n else b""
            if path == "/ws":
                key = h.get("sec-websocket-key", "").encode()
                accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
                writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
                await writer.drain()
                await ws_echo(reader, writer)
                return
            if path == "/sse":
                ev = asyncio.Event()
                NEXT.append(ev)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
                await chunk(writer, b"data: 1\n\n")
                try:
                    await asyncio.wait_for(ev.wait(), 30)
                except asyncio.TimeoutError:
                    pass
                await chunk(writer, b"data: 2\n\n")
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                continue
            if path == "/sse-next":
                for ev in NEXT:
                    ev.set()
                out = b"ok"
            elif path == "/headers":
                out = "".join("%s: %s\n" % kv for kv in headers).encode()
            elif method == "POST" and path == "/echo":
                out = body
            else:
                out = BODY
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                         % len(out) + out)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(os.environ["PORT"]), backlog=4096)
    async with server:
        await server.serve_forever()


asyncio.run(main())
"#,
        log = start_log.to_str().unwrap(),
    )
}

/// A WebSocket handshake on `stream` to `host` `/ws`; panics unless the answer is 101 with the
/// right `Sec-WebSocket-Accept`.
pub async fn ws_connect(addr: SocketAddr, host: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {host}:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        addr.port()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).await.unwrap();
        assert_eq!(
            n,
            1,
            "closed during the handshake: {}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    s
}

/// Sends one masked text frame and reads the echoed frame's payload.
pub async fn ws_echo(s: &mut tokio::net::TcpStream, text: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let payload = text.as_bytes();
    assert!(payload.len() < 126);
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).await.unwrap();
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(head[0], 0x81);
    let mut data = vec![0u8; (head[1] & 0x7f) as usize];
    s.read_exact(&mut data).await.unwrap();
    String::from_utf8(data).unwrap()
}

/// The create body of a Python (`gradio` SDK) Space running [`app_py`].
pub fn python_space(name: &str, body: &str, start_log: &std::path::Path) -> Value {
    json!({"name": name, "type": "space", "sdk": "gradio",
           "files": [{"path": "app.py", "content": app_py(body, start_log), "encoding": "utf-8"}]})
}

/// Runs `git` in `dir` (no prompt); panics with its stderr when it fails.
pub fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Creates alice's Docker Space `dock` and pushes the serving fixture (labelled `tag`) to it
/// through git, which keeps the executable bits the image needs (busybox, start.sh). `work` is
/// the folder the clone goes in.
pub async fn push_docker_space(d: &Door, work: &std::path::Path, tag: &str) {
    d.create(json!({"name": "dock", "type": "space", "sdk": "docker"}))
        .await;
    std::fs::create_dir_all(work).unwrap();
    let url = format!("http://user:{}@{}/spaces/alice/dock", d.alice, d.addr);
    git(work, &["clone", "-q", &url, "dock"]);
    let src = work.join("dock");
    spaces_runtime::docker::fixtures::write_serving(&src, Some(tag)).unwrap();
    std::fs::write(
        src.join("README.md"),
        "---\ntitle: Dock\nemoji: 🐳\ncolorFrom: blue\ncolorTo: green\nsdk: docker\napp_port: 7860\npinned: false\n---\n",
    )
    .unwrap();
    git(&src, &["add", "-A"]);
    git(
        &src,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "docker app",
        ],
    );
    git(&src, &["push", "-q", "origin", "HEAD:main"]);
}
