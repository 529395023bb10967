#!/usr/bin/env bash
# The official clients against spaces-server (issue 11): huggingface_hub 2.4.0 and 1.33.0 drive every
# Spaces call (tests/hub_client/drive.py), schemathesis fuzzes /openapi.json, and a restart test
# SIGKILLs the server and reads everything back (tests/hub_client/restart.py); the upload phase
# (issue 12) drives the commit API with upload_folder, hf_hub_download and create_commit
# (tests/hub_client/upload.py).
#
#   bash spaces-server/scripts/hub-clients.sh            # all phases
#   HUB_PHASES="drive" bash spaces-server/scripts/hub-clients.sh   # some of: drive upload schemathesis restart
#
# Needs python3 with venv (Debian: python3-venv) and PyPI. Venvs are cached under target/hub-venvs/.
# Environment: SPACES_SERVER_BIN (skip the build, use this binary), CARGO_TARGET_DIR,
# HUB_ST_EXAMPLES (schemathesis examples per operation), HUB_ST_SEED, HUB_KEEP_TMP=1 (keep data/logs).
# Exit status: non-zero if any call misbehaves in any phase.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/spaces-server/tests/hub_client
VENVS=$ROOT/target/hub-venvs
PHASES=${HUB_PHASES:-drive upload schemathesis restart}
HF_VERSIONS=(2.4.0 1.33.0)
ST_SPEC="schemathesis==4.32.5"
t_start=$SECONDS

say() { printf '\n==> %s\n' "$*"; }

# ---------------------------------------------------------------- build
if [ -n "${SPACES_SERVER_BIN:-}" ]; then
  BIN=$SPACES_SERVER_BIN
else
  say "cargo build -p spaces-server"
  cargo build -q -p spaces-server
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/spaces-server
fi
[ -x "$BIN" ] || { echo "error: no server binary at $BIN" >&2; exit 1; }

# ---------------------------------------------------------------- venvs
mkdir -p "$VENVS"
venv() { # venv NAME PIP_SPEC... : create or reuse $VENVS/NAME with exactly these requirements
  local dir=$VENVS/$1
  shift
  local spec="$*"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.spec" 2>/dev/null)" = "$spec" ]; then
    return 0
  fi
  rm -rf "$dir"
  if ! python3 -m venv "$dir" >"$VENVS/venv-error.log" 2>&1; then
    echo "error: 'python3 -m venv' failed; on Debian install python3-venv (apt-get install -y python3-venv):" >&2
    cat "$VENVS/venv-error.log" >&2
    rm -rf "$dir"
    exit 1
  fi
  echo "installing $spec into $dir"
  if ! "$dir/bin/pip" install -q --disable-pip-version-check "$@"; then
    echo "error: pip install $spec failed" >&2
    rm -rf "$dir"
    exit 1
  fi
  echo "$spec" >"$dir/.spec"
}
say "venvs under target/hub-venvs"
for v in "${HF_VERSIONS[@]}"; do venv "hf-$v" "huggingface_hub==$v"; done
case " $PHASES " in *" schemathesis "*) venv schemathesis "$ST_SPEC" ;; esac
for v in "${HF_VERSIONS[@]}"; do
  got=$("$VENVS/hf-$v/bin/python" -c 'import huggingface_hub as h; print(h.__version__)')
  [ "$got" = "$v" ] || { echo "error: venv hf-$v has huggingface_hub $got" >&2; exit 1; }
done

# ---------------------------------------------------------------- servers
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hub-clients.XXXXXX")
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # Apps the servers started (python3 app.py in a folder of our data dirs) that outlived them.
  local left=()
  for p in /proc/[0-9]*; do
    local cwd
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    case "$cwd" in "$TMP"/*) left+=("${p#/proc/}") ;; esac
  done
  if [ "${#left[@]}" -gt 0 ]; then
    echo "note: ${#left[@]} app process(es) outlived the server; ending them: ${left[*]}" >&2
    for pid in "${left[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  if [ "${HUB_KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# prepare DATA: users alice (org acme) and bob; tokens into $DATA.tokens
prepare() {
  local data=$1
  mkdir -p "$data"
  "$BIN" users add --data "$data" alice --org acme >/dev/null
  "$BIN" users add --data "$data" bob >/dev/null
  ALICE=$("$BIN" tokens create --data "$data" alice)
  ALICE_READ=$("$BIN" tokens create --data "$data" alice --read-only)
  BOB=$("$BIN" tokens create --data "$data" bob)
  for t in "$ALICE" "$ALICE_READ" "$BOB"; do
    [ -n "$t" ] && [ "$(printf '%s' "$t" | wc -l)" -eq 0 ] || { echo "error: 'tokens create' printed more than a token: $t" >&2; exit 1; }
  done
}

# start DATA LOG [ADDR [SERVE_ARGS...]]: sets SERVER_PID and ENDPOINT
start() {
  local data=$1 log=$2 addr=${3:-127.0.0.1:0} line="" before
  shift $(($# < 3 ? $# : 3))
  # The log is appended to across restarts: wait for a "listening on" line of this start.
  before=$(grep -c 'listening on http://' "$log" 2>/dev/null || true)
  before=${before:-0}
  "$BIN" serve --data "$data" --listen "$addr" "$@" >>"$log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 600); do
    line=""
    if [ "$(grep -c 'listening on http://' "$log" 2>/dev/null || true)" -gt "$before" ]; then
      line=$(grep -o 'listening on http://[^[:space:]]*' "$log" | tail -n 1)
    fi
    if [ -n "$line" ]; then
      ENDPOINT=${line#listening on }
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "error: the server exited before listening; its log:" >&2
      tail -n 40 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "error: no 'listening on' line after 60 s; log:" >&2
  tail -n 40 "$log" >&2
  return 1
}

stop() { # stop PID: SIGTERM, then SIGKILL after 10 s
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

FAILED=()
SUMMARY=()

# ---------------------------------------------------------------- drive: each client version
if [[ " $PHASES " == *" drive "* ]]; then
  say "huggingface_hub drivers"
  prepare "$TMP/drive"
  start "$TMP/drive" "$TMP/drive.log"
  echo "server: $ENDPOINT (pid $SERVER_PID)"
  for v in "${HF_VERSIONS[@]}"; do
    t0=$SECONDS
    if HF_HOME="$TMP/hf-home-$v" "$VENVS/hf-$v/bin/python" "$HERE/drive.py" --endpoint "$ENDPOINT" \
      --alice "$ALICE" --alice-read "$ALICE_READ" --bob "$BOB" | tee "$TMP/drive-$v.out"; then
      :
    else
      FAILED+=("huggingface_hub $v")
    fi
    line=$(grep -E "^huggingface_hub $v: " "$TMP/drive-$v.out" || echo "huggingface_hub $v: driver crashed (no count)")
    SUMMARY+=("$line ($((SECONDS - t0)) s)")
  done
  stop "$SERVER_PID"
fi

# ---------------------------------------------------------------- upload: the commit API, each client version
if [[ " $PHASES " == *" upload "* ]]; then
  say "uploads: upload_folder, list_repo_files, paths-info, hf_hub_download, parentCommit"
  prepare "$TMP/up"
  start "$TMP/up" "$TMP/up.log"
  echo "server: $ENDPOINT (pid $SERVER_PID)"
  for v in "${HF_VERSIONS[@]}"; do
    t0=$SECONDS
    if HUB_REQUIRE_XET=1 HF_HOME="$TMP/hf-home-up-$v" "$VENVS/hf-$v/bin/python" "$HERE/upload.py" --endpoint "$ENDPOINT" \
      --alice "$ALICE" --bob "$BOB" | tee "$TMP/up-$v.out"; then
      :
    else
      FAILED+=("upload with huggingface_hub $v")
    fi
    line=$(grep -E "^upload huggingface_hub $v: " "$TMP/up-$v.out" || echo "upload huggingface_hub $v: crashed (no count)")
    SUMMARY+=("$line ($((SECONDS - t0)) s)")
  done
  stop "$SERVER_PID"
fi

# ---------------------------------------------------------------- schemathesis
if [[ " $PHASES " == *" schemathesis "* ]]; then
  say "schemathesis against /openapi.json"
  prepare "$TMP/st"
  # Without the per-token rate limit (when the server has the knob), so that the generated requests
  # reach the handlers instead of mostly testing the limiter's 429.
  st_serve=()
  if "$BIN" serve --help 2>/dev/null | grep -q -- '--rate-limit'; then st_serve=(--rate-limit 0); fi
  start "$TMP/st" "$TMP/st.log" 127.0.0.1:0 "${st_serve[@]}"
  echo "server: $ENDPOINT (pid $SERVER_PID) ${st_serve[*]}"
  "$VENVS/schemathesis/bin/python" "$HERE/st_setup.py" "$ENDPOINT" "$ALICE" "$BOB"
  t0=$SECONDS
  st_out=$TMP/st.out
  st_rc=0
  # (from $TMP: schemathesis keeps a .schemathesis/ cache in its working folder)
  (cd "$TMP" && "$VENVS/schemathesis/bin/st" --config-file "$HERE/schemathesis.toml" run "$ENDPOINT/openapi.json" \
    --url "$ENDPOINT" \
    -H "Authorization: Bearer $ALICE" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "${HUB_ST_EXAMPLES:-40}" \
    --seed "${HUB_ST_SEED:-11}" \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check all \
    --report ndjson --report-ndjson-path "$TMP/st.ndjson" \
    --no-color) >"$st_out" 2>&1 || st_rc=$?
  # requests made: one HTTP interaction per recorded check context in the ndjson events
  requests=$("$VENVS/schemathesis/bin/python" "$HERE/st_count.py" "$TMP/st.ndjson" -v 2>"$TMP/st.hist" || echo "?")
  cat "$TMP/st.hist" 2>/dev/null || true
  if [ "$st_rc" -ne 0 ]; then head -n 400 "$st_out"; else tail -n 25 "$st_out"; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server died during schemathesis; its log:"
    tail -n 40 "$TMP/st.log"
    st_rc=1
  fi
  if [ "$st_rc" -ne 0 ]; then FAILED+=("schemathesis (exit $st_rc)"); fi
  if [ "$requests" != "?" ] && [ "$requests" -lt 1000 ]; then
    FAILED+=("schemathesis made only $requests requests (< 1000)")
  fi
  SUMMARY+=("schemathesis: $requests requests, exit $st_rc ($((SECONDS - t0)) s)")
  stop "$SERVER_PID"
fi

# ---------------------------------------------------------------- restart
if [[ " $PHASES " == *" restart "* ]]; then
  say "restart test: SIGKILL and restart on the same data"
  prepare "$TMP/rs"
  start "$TMP/rs" "$TMP/rs.log"
  echo "server: $ENDPOINT (pid $SERVER_PID)"
  t0=$SECONDS
  rs_py=$VENVS/hf-1.33.0/bin/python
  rs_args=(--endpoint "$ENDPOINT" --alice "$ALICE" --bob "$BOB" --state "$TMP/rs-state.json")
  rs_ok=1
  HF_HOME="$TMP/hf-home-rs" "$rs_py" "$HERE/restart.py" setup "${rs_args[@]}" || rs_ok=0
  addr=${ENDPOINT#http://}
  kill -KILL "$SERVER_PID"
  while kill -0 "$SERVER_PID" 2>/dev/null; do sleep 0.05; done
  echo "SIGKILLed pid $SERVER_PID; starting again on $addr"
  started=0
  for _ in $(seq 1 20); do
    if start "$TMP/rs" "$TMP/rs.log" "$addr" 2>/dev/null; then started=1; break; fi
    sleep 0.5
  done
  if [ "$started" = 1 ]; then
    HF_HOME="$TMP/hf-home-rs" "$rs_py" "$HERE/restart.py" verify "${rs_args[@]}" | tee "$TMP/rs.out" || rs_ok=0
    stop "$SERVER_PID"
  else
    echo "the server did not start again on $addr; log:"
    tail -n 40 "$TMP/rs.log"
    rs_ok=0
  fi
  line=$(grep -E "^restart: " "$TMP/rs.out" 2>/dev/null || echo "restart: no result")
  [ "$rs_ok" = 1 ] || FAILED+=("restart test")
  SUMMARY+=("$line ($((SECONDS - t0)) s)")
fi

say "summary ($((SECONDS - t_start)) s)"
printf '%s\n' "${SUMMARY[@]}"
if [ "${#FAILED[@]}" -gt 0 ]; then
  printf 'misbehaving: %s\n' "${FAILED[@]}"
  exit 1
fi
echo "all Hub client checks behave"
