#!/usr/bin/env bash
# The `spaces` Kubernetes scheduler against kube-scheduler 1.20 (the harness's, defaults: client
# QPS 50, burst 100), side by side on one throwaway API server without a kubelet, as Kubernetes'
# scheduler_perf compares schedulers: same fake nodes, same pods, one scheduler after the other,
# the pods deleted in between. Release build. Prints a Markdown table: time to bind all pods,
# pods bound per second, and packing (nodes used, mean/max cpu use of the nodes used). For
# reference a second kube-scheduler 1.20 runs too, with its client rate limit raised to QPS 5000.
#
#   spaces-runtime/scripts/k8s-scheduler-bench.sh
#
# Method (tests/kubernetes_scheduler_bench.rs): per node count, create the nodes and wait until
# the node lifecycle controller has tainted them unreachable (no heartbeats; the pods tolerate
# it), so nothing changes during the runs. Per scheduler: create every pod while the scheduler
# is not running (kube-scheduler held with SIGSTOP; ours not started), then start the clock and
# the scheduler (SIGCONT; ours starts cold and first lists nodes and pods), and stop the clock
# when a watch has seen the last pod bound. Both record a `Scheduled` event per pod.
# Run as root; honours CARGO_TARGET_DIR. Environment:
#   SPACES_BENCH_NODES  node counts (default 1000,5000)
#   SPACES_BENCH_PODS   pods per run (default 3000: a few minutes in all on 2 cores)
#   SPACES_K8S_DIR, SPACES_K8S_STATE as for k8s-scheduler-test.sh
#
# Seen on this 2-core machine, 2026-11-30, 3000 pods (third run, quietest machine; two earlier
# runs under other builds' load gave spaces 3.6-7.3 s at 1,000 nodes, 3.7-11.9 s at 5,000):
# | nodes | scheduler                            | bind all | pods/s | nodes used | mean/max cpu |
# | 1000  | kube-scheduler 1.20 (QPS 50)         | 58.0 s   |  52    |  997       | 12% / 27%    |
# | 1000  | kube-scheduler 1.20, client QPS 5000 |  7.6 s   | 394    | 1000       | 12% / 29%    |
# | 1000  | spaces                               |  3.5 s   | 863    |  170       | 95% / 100%   |
# | 5000  | kube-scheduler 1.20 (QPS 50)         | 58.1 s   |  52    | 1915       |  4% / 15%    |
# | 5000  | kube-scheduler 1.20, client QPS 5000 | 16.3 s   | 185    | 1929       |  4% / 15%    |
# | 5000  | spaces                               |  7.5 s   | 401    |  169       | 95% / 100%   |
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
k8s=${SPACES_K8S_DIR:-$repo/shared/k8s}
[ -f "$k8s/up" ] || k8s=$repo/../shared/k8s
[ -f "$k8s/up" ] || k8s=/work/shared/k8s
[ -f "$k8s/up" ] || { echo "k8s-scheduler-bench: no shared/k8s (set SPACES_K8S_DIR)" >&2; exit 2; }
export SPACES_K8S_STATE=${SPACES_K8S_STATE:-/tmp/spaces-k8s-sched-bench-$$}

cd "$repo"
cargo test --release -p spaces-runtime --features kubernetes --test kubernetes_scheduler_bench --no-run

out=$(bash "$k8s/up")
eval "$out"
sched_pid=
for p in $SPACES_K8S_PIDS; do
  if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = kube-scheduler ]; then sched_pid=$p; fi
done
fast_pid=
cleanup() {
  # No `set -e` here: every step runs, and the cluster always goes down.
  set +e
  [ -n "$sched_pid" ] && kill -CONT "$sched_pid" 2>/dev/null
  if [ -n "$fast_pid" ]; then
    kill -CONT "$fast_pid" 2>/dev/null
    kill "$fast_pid" 2>/dev/null
    wait "$fast_pid" 2>/dev/null
  fi
  bash "$k8s/down"
}
trap cleanup EXIT
[ -n "$sched_pid" ] || { echo "k8s-scheduler-bench: kube-scheduler not among $SPACES_K8S_PIDS" >&2; exit 1; }

# A second kube-scheduler 1.20, same binary, with its client rate limit (QPS 50, burst 100 by
# default) raised, to show what kube-scheduler does without it. SPACES_BENCH_UNTHROTTLED_KUBE=0
# leaves it out.
if [ "${SPACES_BENCH_UNTHROTTLED_KUBE:-1}" = 1 ]; then
  cfg=$SPACES_K8S_STATE/bench-kube-scheduler.yaml
  # Its healthz/metrics server on a free loopback port (it cannot be turned off with --config).
  port=
  for p in $(shuf -i 20000-31999 -n 50); do
    ss -ltn | grep -q ":$p " || { port=$p; break; }
  done
  cat > "$cfg" <<YAML
apiVersion: kubescheduler.config.k8s.io/v1beta1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $KUBECONFIG
  qps: 5000
  burst: 10000
leaderElection:
  leaderElect: false
healthzBindAddress: 127.0.0.1:$port
metricsBindAddress: 127.0.0.1:$port
profiles:
- schedulerName: kube-scheduler-qps5000
YAML
  k8s_bin=${SPACES_K8S_CACHE:-/var/cache/spaces-k8s/1.20.2}/bin
  "$k8s_bin/kube-scheduler" --config "$cfg" --port 0 --secure-port 0 \
    > "$SPACES_K8S_STATE/logs/bench-kube-scheduler.log" 2>&1 &
  fast_pid=$!
  sleep 5
  if kill -0 "$fast_pid" 2>/dev/null; then
    export SPACES_BENCH_EXTRA_SCHEDULER="kube-scheduler 1.20, client QPS 5000:kube-scheduler-qps5000:$fast_pid"
  else
    echo "k8s-scheduler-bench: the second kube-scheduler did not start; left out:" >&2
    tail -5 "$SPACES_K8S_STATE/logs/bench-kube-scheduler.log" >&2 || true
    fast_pid=
  fi
fi

export SPACES_K8S_SCHED_BENCH=1 SPACES_BENCH_KUBE_SCHEDULER_PID=$sched_pid SPACES_REQUIRE_KUBERNETES=1
export RUST_LOG=${RUST_LOG:-warn}
cargo test --release -p spaces-runtime --features kubernetes --test kubernetes_scheduler_bench \
  -- --nocapture
