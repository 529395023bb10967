#!/usr/bin/env bash
# The `spaces` Kubernetes scheduler against kube-scheduler 1.20 (the harness's, defaults: client
# QPS 50, burst 100), side by side on one throwaway API server without a kubelet, as Kubernetes'
# scheduler_perf compares schedulers: same fake nodes, same pods, one scheduler after the other,
# the pods deleted in between. Release build. Prints a Markdown table: time to bind all pods,
# pods bound per second, and packing (nodes used, mean/max cpu use of the nodes used).
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
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
k8s=${SPACES_K8S_DIR:-$repo/shared/k8s}
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
trap '[ -n "$sched_pid" ] && kill -CONT "$sched_pid" 2>/dev/null; bash "$k8s/down"' EXIT
[ -n "$sched_pid" ] || { echo "k8s-scheduler-bench: kube-scheduler not among $SPACES_K8S_PIDS" >&2; exit 1; }

export SPACES_K8S_SCHED_BENCH=1 SPACES_BENCH_KUBE_SCHEDULER_PID=$sched_pid SPACES_REQUIRE_KUBERNETES=1
export RUST_LOG=${RUST_LOG:-warn}
cargo test --release -p spaces-runtime --features kubernetes --test kubernetes_scheduler_bench \
  -- --nocapture
