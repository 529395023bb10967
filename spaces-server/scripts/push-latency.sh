#!/usr/bin/env bash
# Push-to-serve latency (issue 12), a benchmark, not a test: the time from `git push` returning, and
# from huggingface_hub's `upload_folder` returning, to the first 200 of the new content through the
# server's visit route (GET /spaces/{owner}/{name}/), for a static Space and a Python Space on the
# local runtime; median and p90 over PUSH_COUNT (default 20) pushes per series.
#
#   bash spaces-server/scripts/push-latency.sh
#
# Release build (SPACES_SERVER_BIN: use this binary instead), loopback only, every wait bounded
# (PUSH_TIMEOUT seconds per revision, default 60). The huggingface_hub 2.4.0 venv is shared with
# hub-clients.sh (target/hub-venvs/hf-2.4.0). Exit status 1 when a revision is not served in time.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/spaces-server/tests/hub_client
VENV=$ROOT/target/hub-venvs/hf-2.4.0
SPEC="huggingface_hub==2.4.0"

if [ -n "${SPACES_SERVER_BIN:-}" ]; then
  BIN=$SPACES_SERVER_BIN
else
  echo "==> cargo build --release -p spaces-server"
  cargo build -q --release -p spaces-server
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/spaces-server
fi
[ -x "$BIN" ] || { echo "error: no server binary at $BIN" >&2; exit 1; }
command -v git >/dev/null || { echo "error: no git command" >&2; exit 1; }

if ! [ -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.spec" 2>/dev/null)" != "$SPEC" ]; then
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV" || { echo "error: python3 -m venv failed (Debian: apt-get install -y python3-venv)" >&2; exit 1; }
  "$VENV/bin/pip" install -q --disable-pip-version-check "$SPEC"
  echo "$SPEC" >"$VENV/.spec"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/push-latency.XXXXXX")
SERVER_PID=
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  # Apps the server started (their folders are under $TMP) that outlived it.
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    case "$cwd" in "$TMP"/*) kill -KILL "${p#/proc/}" 2>/dev/null || true ;; esac
  done
  if [ "${PUSH_KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DATA=$TMP/data
mkdir -p "$DATA" "$TMP/work"
"$BIN" users add --data "$DATA" alice >/dev/null
ALICE=$("$BIN" tokens create --data "$DATA" alice)
serve_args=()
if "$BIN" serve --help 2>/dev/null | grep -q -- '--rate-limit'; then serve_args=(--rate-limit 0); fi
"$BIN" serve --data "$DATA" --listen 127.0.0.1:0 "${serve_args[@]}" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
ENDPOINT=
for _ in $(seq 1 300); do
  line=$(grep -m1 -o 'listening on http://[^[:space:]]*' "$TMP/server.log" 2>/dev/null || true)
  if [ -n "$line" ]; then ENDPOINT=${line#listening on }; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "error: the server exited:" >&2; tail -n 30 "$TMP/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$ENDPOINT" ] || { echo "error: the server did not listen within 30 s" >&2; exit 1; }
echo "==> server $ENDPOINT ($(basename "$BIN"), $(nproc) cores)"

HF_HOME=$TMP/hf-home timeout "${PUSH_BENCH_LIMIT:-1800}" "$VENV/bin/python" "$HERE/upload_bench.py" \
  --endpoint "$ENDPOINT" --alice "$ALICE" --work "$TMP/work" \
  --pushes "${PUSH_COUNT:-20}" --timeout "${PUSH_TIMEOUT:-60}"
