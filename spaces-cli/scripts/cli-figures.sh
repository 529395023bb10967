#!/usr/bin/env bash
# Figures of the `spaces` CLI against a local spaces-server (no Docker): the round trip of
# `spaces status` (process start + GET runtime), the upload of a 20 MiB file through LFS, and
# the wait after it. Usage: bash spaces-cli/scripts/cli-figures.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/../.."
profile=debug
flags=()
if [ "${1:-}" = "--release" ]; then profile=release; flags=(--release); fi
cargo build -q "${flags[@]}" -p spaces-cli -p spaces-server
target="${CARGO_TARGET_DIR:-target}/$profile"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$target/spaces-server" users add --data "$work/data" alice >/dev/null
token="$("$target/spaces-server" tokens create --data "$work/data" alice)"
"$target/spaces-server" serve --data "$work/data" --listen "127.0.0.1:$port" --rate-limit 0 >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$work/server.log" && break; sleep 0.1; done
export HF_ENDPOINT="http://127.0.0.1:$port" HF_TOKEN="$token" HF_HOME="$work/home"
"$target/spaces" create alice/site --sdk static >/dev/null
"$target/spaces" wait alice/site >/dev/null
SPACES="$target/spaces" WORK="$work" python3 - <<'PY'
import os, statistics, subprocess, time
c, work = os.environ["SPACES"], os.environ["WORK"]
ts = []
for _ in range(30):
    t = time.perf_counter()
    subprocess.run([c, "status", "alice/site", "--json"], check=True, capture_output=True)
    ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print(f"spaces status (process start + GET runtime), 30 runs: median {statistics.median(ts):.1f} ms, p90 {ts[26]:.1f} ms")
site = os.path.join(work, "site")
os.makedirs(site)
open(os.path.join(site, "index.html"), "w").write("<h1>figures</h1>")
with open(os.path.join(site, "big.bin"), "wb") as f:
    f.write(os.urandom(20 * 1024 * 1024))
t = time.perf_counter()
subprocess.run([c, "upload", "alice/site", site], check=True, capture_output=True)
print(f"spaces upload, 20 MiB through LFS + 1 small file: {time.perf_counter() - t:.2f} s")
t = time.perf_counter()
subprocess.run([c, "wait", "alice/site"], check=True, capture_output=True)
print(f"spaces wait after the upload: {time.perf_counter() - t:.2f} s")
PY
