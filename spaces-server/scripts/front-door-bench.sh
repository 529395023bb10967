#!/usr/bin/env bash
# Front door figures (issue 13), release build, loopback only, side by side in one run:
#  1. wrk through the front door (Host: <space>.localhost) and through Debian's nginx as a
#     reverse proxy (keep-alive upstream) to the same running instance, back to back
#     FRONT_DOOR_REPEAT times: req/s and p99 for both, and the ratio (the goal: >= 90% of nginx's
#     throughput, p99 within 1 ms of it), with the CPU time per request of each proxy. Two
#     instances (FRONT_DOOR_UPSTREAMS): "in-process", a static Space (served inside the server's
#     process, so the front door shares its threads with it), and "out-of-process", a Python
#     Space whose app execs nginx (one worker) serving the same page (proxy against proxy).
#     Both proxies pin their workers to a CPU each: the server's connection threads by default,
#     nginx with `worker_cpu_affinity auto` (NGINX_CPU_AFFINITY; empty: unpinned).
#  2. The first request to a sleeping Space through the front door against starting the same app
#     directly (static, Python, Docker): median and p90 over FRONT_DOOR_ROUNDS (20) rounds (the
#     ignored test `front_door_bench`, in release).
#  3. 10,000 concurrent idle WebSocket connections through the front door to a Python Space:
#     the server's memory (VmRSS) before and with them. Raises `ulimit -n` (each connection holds
#     two descriptors in the server; root can raise the hard limit).
#
#   bash spaces-server/scripts/front-door-bench.sh
#
# Environment: SPACES_SERVER_BIN (skip the build), WRK_ARGS (default "-t2 -c64 -d10s"),
# FRONT_DOOR_REPEAT (3), FRONT_DOOR_UPSTREAMS ("in-process out-of-process"), NGINX_WORKERS (auto),
# NGINX_CPU_AFFINITY (auto), FRONT_DOOR_VERBOSE=1 (wrk's latency distribution),
# FRONT_DOOR_ROUNDS (20), FRONT_DOOR_WS (10000; 0 skips part 3), FRONT_DOOR_PARTS ("1 2 3"),
# FRONT_DOOR_KEEP_TMP=1. Not a test: it prints figures and exits 0 unless something fails to run.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
read -r -a WRK <<<"${WRK_ARGS:--t2 -c64 -d10s}"
PARTS=${FRONT_DOOR_PARTS:-1 2 3}
WS_N=${FRONT_DOOR_WS:-10000}

say() { printf '\n==> %s\n' "$*"; }

want=()
command -v wrk >/dev/null 2>&1 || want+=(wrk)
command -v nginx >/dev/null 2>&1 || want+=(nginx)
if [ "${#want[@]}" -gt 0 ]; then
  say "installing ${want[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${want[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${want[@]}" >/dev/null; }
fi
# The WebSocket part holds 2 descriptors per connection in the server, 1 in the client and 1 in
# the app.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
echo "ulimit -n: $(ulimit -n)"

if [ -n "${SPACES_SERVER_BIN:-}" ]; then
  BIN=$SPACES_SERVER_BIN
else
  say "cargo build --release -p spaces-server"
  cargo build -q --release -p spaces-server
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/spaces-server
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/spaces-front-door.XXXXXX")
SERVER_PID="" NGINX_PID="" CLIENT_PID=""
cleanup() {
  local rc=$?
  for pid in "$CLIENT_PID" "$NGINX_PID"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${FRONT_DOOR_KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mem() { # mem PID: VmRSS and VmHWM in MiB
  awk '/^VmRSS|^VmHWM/ {printf "%s %.1f MiB  ", $1, $2/1024}' "/proc/$1/status"
  echo
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

start_server() { # sets SERVER_PID, PORT, TOKEN
  local data=$TMP/data line=""
  mkdir -p "$data"
  "$BIN" users add --data "$data" bench >/dev/null
  TOKEN=$("$BIN" tokens create --data "$data" bench)
  "$BIN" serve --data "$data" --listen 127.0.0.1:0 --rate-limit 0 --domain localhost >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    line=$(grep -m1 -o 'listening on http://[^[:space:]]*' "$TMP/server.log" 2>/dev/null || true)
    if [ -n "$line" ]; then
      PORT=${line##*:}
      echo "server pid $SERVER_PID on port $PORT"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$TMP/server.log" >&2; return 1; }
    sleep 0.1
  done
  return 1
}

api() { # api METHOD PATH [JSON]
  curl -s -X "$1" -H "Host: localhost:$PORT" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "http://127.0.0.1:$PORT$2"
}

wait_running() { # wait_running ID
  for _ in $(seq 1 1200); do
    if api GET "/api/spaces/$1/runtime" | grep -q '"stage":"RUNNING"'; then return 0; fi
    sleep 0.1
  done
  echo "error: $1 not RUNNING: $(api GET "/api/spaces/$1/runtime")" >&2
  return 1
}

# cpu_ticks PID...: user + system CPU time of the processes (each counted once), in clock ticks
cpu_ticks() {
  local t=0 pid
  for pid in $(printf '%s\n' "$@" | sort -u); do
    [ -r "/proc/$pid/stat" ] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$t"
}

# bench NAME URL [wrk args...]: prints req/s, p99 and the CPU time per request of the processes
# in PROXY_PIDS (the proxy) and CPU_PIDS (the proxy and the instance): load-independent, unlike
# req/s on a shared machine; sets RPS, P99 (ms), PROXY_US and CPU_US
bench() {
  local name=$1 url=$2 out errors c0 c1 p0 p1 reqs hz
  shift 2
  hz=$(getconf CLK_TCK)
  wrk -t1 -c4 -d2s "$@" "$url" >/dev/null # warm-up
  c0=$(cpu_ticks ${CPU_PIDS:-}) p0=$(cpu_ticks ${PROXY_PIDS:-})
  out=$(wrk "${WRK[@]}" --latency "$@" "$url")
  c1=$(cpu_ticks ${CPU_PIDS:-}) p1=$(cpu_ticks ${PROXY_PIDS:-})
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  CPU_US=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  PROXY_US=$(awk -v t=$((p1 - p0)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  RPS=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  P99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  printf '%-34s %9s req/s  p99 %7s ms  CPU/req: proxy %6s us, with instance %6s us  %s\n' \
    "$name" "$RPS" "$P99" "$PROXY_US" "$CPU_US" "$errors"
  if [ -n "$errors" ]; then echo "$out"; fi
  if [ "${FRONT_DOOR_VERBOSE:-0}" = 1 ]; then
    grep -E '^ +(Latency|Req/Sec)|^ +(50|75|90|99)%' <<<"$out" | tr -s ' ' | paste -sd' '
  fi
}

if [[ " $PARTS " == *" 1 "* || " $PARTS " == *" 3 "* ]]; then
  start_server
fi

# ---------------------------------------------------------------- part 1: wrk vs nginx
# start_nginx UPSTREAM: Debian's nginx as a reverse proxy to UPSTREAM; sets NGINX_PID, NGINX_PORT
start_nginx() {
  NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx/nginx.conf" <<CONF
daemon off;
worker_processes ${NGINX_WORKERS:-auto};
$([ -n "${NGINX_CPU_AFFINITY-auto}" ] && echo "worker_cpu_affinity ${NGINX_CPU_AFFINITY-auto};")
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx; fastcgi_temp_path $TMP/nginx;
  uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
  upstream app { server $1; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
    }
  }
}
CONF
  nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" &
  NGINX_PID=$!
  for _ in $(seq 1 50); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/")" = 200 ] && return 0
    sleep 0.1
  done
  echo "error: nginx does not answer 200" >&2
  return 1
}

stop_nginx() {
  [ -n "$NGINX_PID" ] || return 0
  kill -TERM "$NGINX_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
  NGINX_PID=""
}

# compare LABEL HOST UPSTREAM INSTANCE_PIDS: wrk straight to the instance, then FRONT_DOOR_REPEAT
# (3) times the front door and nginx back to back; the ratio and p99 difference of each pair,
# and the medians. CPU per request: of the proxy alone, and of the proxy with the instance.
compare() {
  local label=$1 host=$2 upstream=$3 inst=$4 i fr fp ngpids code
  local ratios="" p99s="" fdc="" ngc="" fdp="" ngp=""
  say "part 1, $label: wrk ${WRK[*]}, front door and nginx to the same instance ($upstream)"
  start_nginx "$upstream"
  ngpids="$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $host:$PORT" "http://127.0.0.1:$PORT/")
  [ "$code" = 200 ] || { echo "error: the front door answered $code" >&2; exit 1; }
  PROXY_PIDS="" CPU_PIDS="$inst" bench "direct to the instance (no proxy)" "http://$upstream/"
  for i in $(seq 1 "${FRONT_DOOR_REPEAT:-3}"); do
    PROXY_PIDS="$SERVER_PID" CPU_PIDS="$SERVER_PID $inst" \
      bench "front door #$i" "http://127.0.0.1:$PORT/" -H "Host: $host:$PORT"
    fr=$RPS fp=$P99 fdc+="$CPU_US " fdp+="$PROXY_US "
    PROXY_PIDS="$ngpids" CPU_PIDS="$ngpids $inst" \
      bench "nginx (keepalive upstream) #$i" "http://127.0.0.1:$NGINX_PORT/"
    ngc+="$CPU_US " ngp+="$PROXY_US "
    ratios+="$(awk -v a="$fr" -v b="$RPS" 'BEGIN {printf "%.3f", a / b}') "
    p99s+="$(awk -v a="$fp" -v b="$P99" 'BEGIN {printf "%.2f", a - b}') "
  done
  python3 - "$ratios" "$p99s" "$fdp" "$ngp" "$fdc" "$ngc" <<'PY'
import statistics as st, sys
r, d, fp, np_, fc, nc = ([float(x) for x in a.split()] for a in sys.argv[1:])
print(f"front door / nginx throughput per pair: {' '.join(f'{x:.2f}' for x in r)}; "
      f"median {st.median(r):.2f} (goal >= 0.90)")
print(f"p99 front door - nginx per pair: {' '.join(f'{x:+.2f}' for x in d)} ms; "
      f"median {st.median(d):+.2f} ms (goal <= +1 ms)")
print(f"CPU per request (medians): proxy alone {st.median(fp):.1f} us vs nginx {st.median(np_):.1f} us; "
      f"proxy + instance {st.median(fc):.1f} us vs {st.median(nc):.1f} us")
PY
  stop_nginx
}

if [[ " $PARTS " == *" 1 "* ]]; then
  UPSTREAMS=${FRONT_DOOR_UPSTREAMS:-in-process out-of-process}
  if [[ " $UPSTREAMS " == *" in-process "* ]]; then
    # A static Space: its instance is served inside the server process (on the same tokio
    # runtime), so the front door shares its process and threads with the instance, and the
    # instance's CPU counts in the front door's "proxy alone" figure.
    api POST /api/repos/create '{"name":"site","type":"space","sdk":"static","files":[{"path":"index.html","content":"<!doctype html><p>front door bench</p>","encoding":"utf-8"}]}' >/dev/null
    wait_running bench/site
    HOST=$(api GET /api/spaces/bench/site/runtime | python3 -c 'import json,sys; print(json.load(sys.stdin)["domains"][0]["domain"])')
    # The instance's address, from the local runtime's record.
    UPSTREAM=$(grep -rhoE '"address": *"[0-9.]+:[0-9]+"' "$TMP/data/runtime/instances" | head -n1 | grep -oE '[0-9.]+:[0-9]+')
    [ -n "$UPSTREAM" ] || { echo "error: no instance address under $TMP/data/runtime/instances" >&2; exit 1; }
    compare "in-process instance (static Space)" "$HOST" "$UPSTREAM" "$SERVER_PID"
  fi
  if [[ " $UPSTREAMS " == *" out-of-process "* ]]; then
    # A Python Space whose app execs nginx (one worker) serving the same page: the instance is
    # another process, so the rows compare proxy against proxy, each proxy's CPU apart.
    mkdir -p "$TMP/app"
    sed -e "s|@DIR@|$TMP/app|g" -e "s|@NGINX@|$(command -v nginx)|g" >"$TMP/app.py" <<'APP'
import os
d, port = "@DIR@", os.environ["PORT"]
open(os.path.join(d, "index.html"), "w").write("<!doctype html><p>front door bench</p>")
open(os.path.join(d, "nginx.conf"), "w").write(
    # As root, nginx's worker would run as nobody, who cannot read this folder.
    ("user root;\n" if os.geteuid() == 0 else "") +
    "daemon off; worker_processes 1; pid %s/app.pid; error_log %s/error.log;\n"
    "events { worker_connections 4096; }\n"
    "http { access_log off; client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
    "  uwsgi_temp_path %s; scgi_temp_path %s; server { listen 127.0.0.1:%s; root %s; } }\n"
    % (d, d, d, d, d, d, d, port, d))
os.execv("@NGINX@", ["@NGINX@", "-c", os.path.join(d, "nginx.conf"), "-p", d])
APP
    python3 -c 'import json,sys; json.dump({"name": "ext", "type": "space", "sdk": "gradio", "files": [{"path": "app.py", "content": open(sys.argv[1]).read(), "encoding": "utf-8"}]}, open(sys.argv[2], "w"))' "$TMP/app.py" "$TMP/ext.json"
    api POST /api/repos/create "$(cat "$TMP/ext.json")" >/dev/null
    wait_running bench/ext
    EXT_HOST=$(api GET /api/spaces/bench/ext/runtime | python3 -c 'import json,sys; print(json.load(sys.stdin)["domains"][0]["domain"])')
    EXT_PORT=$(grep -oE 'listen 127.0.0.1:[0-9]+' "$TMP/app/nginx.conf" | grep -oE '[0-9]+$')
    APP_PID=$(cat "$TMP/app/app.pid")
    compare "out-of-process instance (nginx, 1 worker, serving the same page)" "$EXT_HOST" \
      "127.0.0.1:$EXT_PORT" "$APP_PID $(pgrep -P "$APP_PID" | tr '\n' ' ')"
  fi
  echo "server memory after the runs: $(mem "$SERVER_PID")"
fi

# ---------------------------------------------------------------- part 3: 10k idle WebSockets
if [[ " $PARTS " == *" 3 "* ]] && [ "$WS_N" -gt 0 ]; then
  say "part 3: $WS_N idle WebSocket connections through the front door"
  python3 - "$TMP/ws.json" <<'PY'
import json, sys
app = r'''
import asyncio, base64, hashlib, os
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        h = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                h[k.strip().lower()] = v.strip()
        if "sec-websocket-key" in h:
            acc = base64.b64encode(hashlib.sha1(h["sec-websocket-key"].encode() + GUID).digest())
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
            await writer.drain()
            while await reader.read(4096):
                pass
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()
async def main():
    s = await asyncio.start_server(handle, "127.0.0.1", int(os.environ["PORT"]), backlog=8192)
    async with s:
        await s.serve_forever()
asyncio.run(main())
'''
json.dump({"name": "ws", "type": "space", "sdk": "gradio",
           "files": [{"path": "app.py", "content": app, "encoding": "utf-8"}]},
          open(sys.argv[1], "w"))
PY
  api POST /api/repos/create "$(cat "$TMP/ws.json")" >/dev/null
  wait_running bench/ws
  WS_HOST=$(api GET /api/spaces/bench/ws/runtime | python3 -c 'import json,sys; print(json.load(sys.stdin)["domains"][0]["domain"])')
  before=$(rss_kib "$SERVER_PID")
  echo "server before: $(mem "$SERVER_PID")"
  python3 - "$PORT" "$WS_HOST" "$WS_N" "$TMP/ws.ready" <<'PY' &
import asyncio, sys
port, host, n, ready = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
REQ = (f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
conns, failed = [], 0
async def one(sem):
    global failed
    async with sem:
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(REQ)
            await w.drain()
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 60)
            if not head.startswith(b"HTTP/1.1 101"):
                failed += 1
                w.close()
                return
            conns.append((r, w))
        except Exception:
            failed += 1
async def main():
    sem = asyncio.Semaphore(256)
    await asyncio.gather(*(one(sem) for _ in range(n)))
    open(ready, "w").write(f"{len(conns)} {failed}\n")
    await asyncio.sleep(3600)
asyncio.run(main())
PY
  CLIENT_PID=$!
  for _ in $(seq 1 1800); do [ -s "$TMP/ws.ready" ] && break; sleep 0.1; done
  read -r open failed <"$TMP/ws.ready" || { echo "error: the client did not finish" >&2; exit 1; }
  sleep 2
  with=$(rss_kib "$SERVER_PID")
  echo "open: $open upgraded, $failed failed"
  echo "server with them: $(mem "$SERVER_PID")"
  python3 -c "import sys; b,w,n=map(int,sys.argv[1:]); print(f'RSS {b/1024:.1f} MiB -> {w/1024:.1f} MiB: {(w-b)/max(n,1):.1f} KiB per idle WebSocket connection')" "$before" "$with" "$open"
  kill -TERM "$CLIENT_PID" 2>/dev/null || true
  CLIENT_PID=""
fi

if [ -n "$SERVER_PID" ]; then
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  SERVER_PID=""
fi

# ---------------------------------------------------------------- part 2: first request latency
if [[ " $PARTS " == *" 2 "* ]]; then
  say "part 2: first request to a sleeping Space vs the app started directly (${FRONT_DOOR_ROUNDS:-20} rounds)"
  FRONT_DOOR_ROUNDS=${FRONT_DOOR_ROUNDS:-20} cargo test -q --release -p spaces-server --test front_door_bench \
    -- --ignored --nocapture 2>&1 | grep -E "^(first request|static|python|docker|skipped)|panicked|FAILED"
fi
