//! The workload: a seeded generator of commands, and its own record of what the supervisor
//! acknowledged (which it turns into a usage log of its own, to price against the ledger's).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use spaces_core::Timestamp;

use super::Backend;

/// A small seeded generator (SplitMix64): the same seed gives the same workload.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

pub fn billable(stage: &str) -> bool {
    matches!(
        stage,
        "APP_STARTING" | "RUNNING" | "RUNNING_BUILDING" | "RUNNING_APP_STARTING"
    )
}

/// What is known of a Space: its stage, hardware and storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Track {
    pub stage: String,
    pub hw: Option<String>,
    pub storage: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Static,
    Python,
    Docker,
}

pub struct Model {
    ids: Vec<(String, Kind)>,
    fixtures: PathBuf,
    /// The last acknowledged state of each existing Space.
    known: BTreeMap<String, Track>,
    /// Every Space ever seen.
    seen: std::collections::BTreeSet<String>,
    /// The workload's own usage log (billing.md lines).
    lines: Vec<String>,
}

pub fn write_fixtures(dir: &Path, backend: &Backend) {
    for k in 0..3 {
        let d = dir.join(format!("static-{k}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("index.html"), format!("<h1>version {k}</h1>\n")).unwrap();
    }
    let d = dir.join("python");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("app.py"),
        "import http.server, os\n\
         class H(http.server.BaseHTTPRequestHandler):\n    \
             def do_GET(self):\n        \
                 self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n    \
             def log_message(self, *a):\n        pass\n\
         http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n",
    )
    .unwrap();
    #[cfg(feature = "docker")]
    if let Backend::Docker { .. } = backend {
        let d = dir.join("docker");
        std::fs::create_dir_all(&d).unwrap();
        spaces_runtime::docker::fixtures::write_serving(&d, None).unwrap();
    }
    #[cfg(not(feature = "docker"))]
    let _ = backend;
}

impl Model {
    pub fn new(backend: &Backend, fixtures: PathBuf) -> Self {
        let mut ids = Vec::new();
        for i in 0..20 {
            let kind = match backend {
                Backend::Docker { .. } => Kind::Docker,
                Backend::Local { python: true } if i % 4 == 0 => Kind::Python,
                Backend::Local { .. } => Kind::Static,
            };
            ids.push((format!("owner{}/space-{i}", i % 5), kind));
        }
        // Two ids whose naive names collide (`bob-x/data`, `bob/x-data`).
        ids.push(("bob-x/data".into(), ids[0].1));
        ids.push(("bob/x-data".into(), ids[0].1));
        Self {
            ids,
            fixtures,
            known: BTreeMap::new(),
            seen: Default::default(),
            lines: Vec::new(),
        }
    }

    pub fn spaces_seen(&self) -> usize {
        self.seen.len()
    }

    /// The next instant: mostly minutes to two hours later, sometimes two days (free hardware's
    /// 48 h sleep).
    pub fn advance(&self, rng: &mut Rng, at: Timestamp) -> Timestamp {
        let secs = if rng.below(40) == 0 {
            49 * 3600
        } else {
            rng.below(120) * 60 + rng.below(60)
        };
        at.checked_add(jiff::SignedDuration::from_secs(secs as i64))
            .unwrap()
    }

    pub fn next_command(&self, rng: &mut Rng, at: Timestamp) -> Value {
        let (id, kind) = rng.pick(&self.ids).clone();
        let at = at.to_string();
        let Some(track) = self.known.get(&id) else {
            let sdk = match kind {
                Kind::Static => "static",
                Kind::Python => "gradio",
                Kind::Docker => "docker",
            };
            return json!({"at": at, "op": "create", "space": id, "sdk": sdk});
        };
        let push = || {
            let files = match kind {
                Kind::Static => self.fixtures.join(format!("static-{}", at.len() % 3)),
                Kind::Python => self.fixtures.join("python"),
                Kind::Docker => self.fixtures.join("docker"),
            };
            json!({"at": at, "op": "push", "space": id, "files": files})
        };
        if track.stage == "NO_APP_FILE" && rng.below(4) != 0 {
            let mut p = push();
            p["rev"] = json!(format!("{:07x}", rng.next() & 0xfff_ffff));
            return p;
        }
        let with_hw = kind != Kind::Static;
        let roll = rng.below(100);
        let mut cmd = match roll {
            0..=27 => json!({"op": "visit"}),
            28..=37 => json!({"op": "tick"}),
            38..=46 => {
                let mut p = push();
                p["rev"] = json!(format!("{:07x}", rng.next() & 0xfff_ffff));
                p
            }
            47..=52 => json!({"op": "pause"}),
            53..=60 => json!({"op": "restart"}),
            61..=69 if with_hw => {
                json!({"op": "hardware", "flavor": rng.pick(&["cpu-basic", "cpu-upgrade"])})
            }
            70..=75 if with_hw => {
                let minutes = [Value::Null, json!(30), json!(90), json!(240)];
                json!({"op": "sleep_time", "minutes": rng.pick(&minutes)})
            }
            76..=83 if with_hw => {
                json!({"op": "storage", "tier": rng.pick(&["small", "medium", "large"])})
            }
            84..=87 if with_hw => json!({"op": "delete_storage"}),
            88..=93 => json!({"op": "delete"}),
            _ => json!({"op": "visit"}),
        };
        cmd["at"] = json!(at);
        cmd["space"] = json!(id);
        cmd
    }

    /// Records what the supervisor acknowledged (the status of every Space) at `at`, checking
    /// that every serving instance answers HTTP. Returns how many answered.
    pub fn observe(&mut self, at: Timestamp, spaces: &Value) -> usize {
        let mut answered = 0;
        let mut present = BTreeMap::new();
        for s in spaces.as_array().unwrap() {
            let id = s["id"].as_str().unwrap().to_owned();
            let track = Track {
                stage: s["stage"].as_str().unwrap().to_owned(),
                hw: s["hw"].as_str().map(str::to_owned),
                storage: s["storage"].as_str().map(str::to_owned),
            };
            if let Some(addr) = s["address"].as_str() {
                let addr: SocketAddr = addr.parse().unwrap();
                let status = http_status(addr)
                    .unwrap_or_else(|e| panic!("{id} is acknowledged as serving at {addr}: {e}"));
                assert!(status < 500, "{id} answers {status}");
                answered += 1;
            }
            present.insert(id, track);
        }
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|k| !present.contains_key(*k))
            .cloned()
            .collect();
        for id in gone {
            let old = self.known.remove(&id).unwrap_or_default();
            if old.storage.is_some() {
                self.line(at, &id, "storage", "tier", None);
            }
            if old.stage != "DELETING" {
                self.line(at, &id, "stage", "stage", Some("DELETING"));
            }
        }
        for (id, t) in present {
            self.seen.insert(id.clone());
            let old = self.known.get(&id).cloned();
            let first = old.is_none();
            let old = old.unwrap_or_default();
            if (first || old.storage != t.storage) && !(first && t.storage.is_none()) {
                self.line(at, &id, "storage", "tier", t.storage.as_deref());
            }
            if let Some(hw) = &t.hw {
                if first || old.hw.as_ref() != Some(hw) {
                    self.line(at, &id, "hardware", "flavor", Some(hw));
                }
            }
            if first || old.stage != t.stage {
                self.line(at, &id, "stage", "stage", Some(&t.stage));
            }
            // The hardware last billed is kept while no instance runs (as the ledger does).
            let hw = t.hw.clone().or(old.hw);
            self.known.insert(id, Track { hw, ..t });
        }
        answered
    }

    fn line(&mut self, at: Timestamp, space: &str, kind: &str, field: &str, value: Option<&str>) {
        let n = self.lines.len();
        self.lines.push(
            json!({"at": at.to_string(), "space": space, "kind": kind, field: value, "id": format!("model-{n}")})
                .to_string(),
        );
    }

    pub fn usage_jsonl(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// The ledger's last stage, hardware and storage of each Space equal the acknowledged ones.
    pub fn agrees_with_ledger(&self, ledger: &BTreeMap<String, Track>) {
        for (id, t) in &self.known {
            let l = ledger
                .get(id)
                .unwrap_or_else(|| panic!("{id} exists but the ledger never heard of it"));
            assert_eq!(l.stage, t.stage, "{id}: stage in the ledger vs the state");
            assert_eq!(
                l.storage, t.storage,
                "{id}: storage in the ledger vs the state"
            );
            if billable(&t.stage) {
                assert_eq!(l.hw, t.hw, "{id}: hardware in the ledger vs the state");
            }
        }
        for (id, l) in ledger {
            if !self.known.contains_key(id) {
                assert_eq!(
                    l.stage, "DELETING",
                    "{id} is gone but the ledger says {l:?}"
                );
            }
        }
    }
}

/// The status code of `GET /`.
fn http_status(addr: SocketAddr) -> std::io::Result<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: space\r\n\r\n")?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))
}
