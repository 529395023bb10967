#!/usr/bin/env bash
# Load figures for spaces-server (issue 11), release build, loopback only, bounded in time:
#  1. 100,000 registered Spaces (`spaces-server seed`): wrk on GET /api/spaces/{id}/runtime (ids
#     spread over the seeded Spaces) and on a static JSON route of the same server
#     (GET /api/spaces/hardware); req/s, p99 and the ratio, i.e. what the store costs per request.
#  2. 1,000,000 registered Spaces: the server's memory (VmRSS / VmHWM from /proc) once it listens
#     and after a few reads.
#
#   bash spaces-server/scripts/load.sh
#
# Environment: SPACES_SERVER_BIN (skip the build), LOAD_SPACES (default 100000), LOAD_SPACES_RSS
# (default 1000000; 0 skips part 2), WRK_ARGS (default "-t2 -c32 -d10s"), LOAD_KEEP_TMP=1.
# Not a test: it prints figures and exits 0 unless something fails to run.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
N=${LOAD_SPACES:-100000}
N_RSS=${LOAD_SPACES_RSS:-1000000}
read -r -a WRK <<<"${WRK_ARGS:--t2 -c32 -d10s}"

say() { printf '\n==> %s\n' "$*"; }

if [ -n "${SPACES_SERVER_BIN:-}" ]; then
  BIN=$SPACES_SERVER_BIN
else
  say "cargo build --release -p spaces-server"
  cargo build -q --release -p spaces-server
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/spaces-server
fi

if ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/spaces-load.XXXXXX")
SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${LOAD_KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # start DATA LOG: sets SERVER_PID, ENDPOINT; prints the time to listen
  local data=$1 log=$2 line="" t0
  t0=$(date +%s.%N)
  # The per-token rate limit (100/s by default) would answer most of wrk's requests with 429.
  local extra=()
  if "$BIN" serve --help 2>/dev/null | grep -q -- '--rate-limit'; then extra=(--rate-limit 0); fi
  "$BIN" serve --data "$data" --listen 127.0.0.1:0 "${extra[@]}" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 3000); do
    line=$(grep -m1 -o 'listening on http://[^[:space:]]*' "$log" 2>/dev/null || true)
    if [ -n "$line" ]; then
      ENDPOINT=${line#listening on }
      printf 'server pid %s listening on %s after %.1f s\n' "$SERVER_PID" "$ENDPOINT" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited:" >&2; tail -n 30 "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "server not listening after 300 s" >&2
  return 1
}

stop() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

mem() { # mem PID: VmRSS and VmHWM in MiB
  awk '/^VmRSS|^VmHWM/ {printf "%s %.0f MiB  ", $1, $2/1024}' "/proc/$1/status"
  echo
}

seed() { # seed DATA COUNT
  mkdir -p "$1"
  "$BIN" users add --data "$1" bench >/dev/null
  local t0=$SECONDS
  "$BIN" seed --data "$1" --owner bench --count "$2" >"$1.seed.log" 2>&1 || { cat "$1.seed.log" >&2; return 1; }
  echo "seeded $2 Spaces in $((SECONDS - t0)) s (data: $(du -sh "$1" | cut -f1))"
}

# wrk_lua FILE TOKEN PATH... : a wrk script cycling over the paths (each thread from its own offset)
wrk_lua() {
  local file=$1 token=$2
  shift 2
  {
    echo "wrk.headers[\"Authorization\"] = \"Bearer $token\""
    echo "local paths = {"
    printf '  "%s",\n' "$@"
    echo "}"
    cat <<'LUA'
local i = 0
function setup(thread)
  thread:set("offset", math.random(#paths))
end
function init(args)
  i = tonumber(offset) or 0
end
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
  } >"$file"
}

# bench NAME LUA URL: runs wrk, prints req/s and p99, sets RPS and P99 (ms)
bench() {
  local name=$1 lua=$2 url=$3 out
  wrk -t1 -c4 -d2s -s "$lua" "$url" >/dev/null # warm-up
  out=$(wrk "${WRK[@]}" --latency -s "$lua" "$url")
  RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  P99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  local errors
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  printf '%-40s %10s req/s   p99 %8s ms   %s\n' "$name" "$RPS" "$P99" "$errors"
  if [ -n "$errors" ]; then echo "$out"; fi
}

# ---------------------------------------------------------------- part 1: wrk
say "part 1: $N registered Spaces, wrk ${WRK[*]} on loopback"
seed "$TMP/a" "$N"
TOKEN=$("$BIN" tokens create --data "$TMP/a" bench)
start "$TMP/a" "$TMP/a.log"
echo "memory with $N Spaces: $(mem "$SERVER_PID")"
# ids to hit: from the owner's list
python3 - "$ENDPOINT" "$TOKEN" "$N" >"$TMP/ids" <<'PY'
import json, random, re, sys, urllib.request
endpoint, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def get(url):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r), r.headers.get("Link")
ids, url = [], f"{endpoint}/api/spaces?author=bench&limit=1000"
for _ in range(3):
    page, link = get(url)
    ids += [s["id"] for s in page]
    if not link or 'rel="next"' not in link:
        break
    url = link.split(";")[0].strip().strip("<>")
# `seed` names its Spaces <owner>/<prefix>-<n>: when the listed ids show that pattern, hit 5,000 ids
# spread over all N instead of the first pages only (each one is checked by the curl below or wrk's
# non-2xx count).
m = re.fullmatch(r"(bench/.+-)(\d+)", ids[0]) if ids else None
if m and len(ids) < n:
    prefix, width = m.group(1), len(m.group(2))
    rng = random.Random(11)
    ids = [f"{prefix}{i:0{width}d}" for i in rng.sample(range(n), min(5000, n))]
print("\n".join(ids))
PY
mapfile -t IDS <"$TMP/ids"
[ "${#IDS[@]}" -gt 0 ] || { echo "error: no seeded Space listed by GET /api/spaces?author=bench" >&2; exit 1; }
echo "hitting ${#IDS[@]} distinct Spaces"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$ENDPOINT/api/spaces/${IDS[0]}/runtime")
[ "$code" = 200 ] || { echo "error: GET /api/spaces/${IDS[0]}/runtime -> $code" >&2; exit 1; }
paths=()
for id in "${IDS[@]}"; do paths+=("/api/spaces/$id/runtime"); done
wrk_lua "$TMP/runtime.lua" "$TOKEN" "${paths[@]}"
wrk_lua "$TMP/static.lua" "$TOKEN" /api/spaces/hardware
bench "GET /api/spaces/{id}/runtime" "$TMP/runtime.lua" "$ENDPOINT"
RT_RPS=$RPS RT_P99=$P99
bench "GET /api/spaces/hardware (static JSON)" "$TMP/static.lua" "$ENDPOINT"
ST_RPS=$RPS ST_P99=$P99
python3 - "$RT_RPS" "$ST_RPS" "$RT_P99" "$ST_P99" <<'PY'
import sys
rt, st, rp, sp = map(float, sys.argv[1:])
print(f"runtime/static: {rt / st:.2f}x the throughput, p99 {rp:.2f} ms vs {sp:.2f} ms")
PY
echo "memory after the runs: $(mem "$SERVER_PID")"
stop

# ---------------------------------------------------------------- part 2: RSS at 1M
if [ "$N_RSS" -gt 0 ]; then
  say "part 2: $N_RSS registered Spaces, server memory"
  rm -rf "$TMP/a"
  seed "$TMP/b" "$N_RSS"
  TOKEN=$("$BIN" tokens create --data "$TMP/b" bench)
  start "$TMP/b" "$TMP/b.log"
  echo "memory once listening: $(mem "$SERVER_PID")"
  for path in /api/spaces/hardware "/api/spaces?author=bench&limit=100" /api/whoami-v2; do
    curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$ENDPOINT$path"
  done
  id=$(curl -s -H "Authorization: Bearer $TOKEN" "$ENDPOINT/api/spaces?author=bench&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$ENDPOINT/api/spaces/$id/runtime")
  echo "GET /api/spaces/$id/runtime -> $code"
  sleep 2
  echo "memory with $N_RSS Spaces, after reads: $(mem "$SERVER_PID")"
  stop
fi
