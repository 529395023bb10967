#!/usr/bin/env bash
# The tests of the `spaces` Kubernetes scheduler (spaces_runtime::kubernetes::scheduler) against
# a throwaway Kubernetes 1.20 control plane without a kubelet (shared/k8s: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler), brought up here and taken down on exit.
#
#   spaces-runtime/scripts/k8s-scheduler-test.sh
#
# Run as root (shared/k8s/up installs what it lacks with apt-get and builds Kubernetes once,
# about 15 min on 2 cores, cached in $SPACES_K8S_CACHE). Honours CARGO_TARGET_DIR.
# Environment:
#   SPACES_K8S_DIR     where shared/k8s is (default: <repo>/shared/k8s, else /work/shared/k8s)
#   SPACES_K8S_STATE   the cluster's state folder (default: /tmp/spaces-k8s-sched-test-<pid>)
#   SPACES_K8S_SCHED_TEST_NODES / _PODS   sizes of the big test (default 1000 / 10000)
# The tests fail (rather than skip) if the cluster is missing: SPACES_REQUIRE_KUBERNETES=1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
k8s=${SPACES_K8S_DIR:-$repo/shared/k8s}
[ -f "$k8s/up" ] || k8s=$repo/../shared/k8s
[ -f "$k8s/up" ] || k8s=/work/shared/k8s
[ -f "$k8s/up" ] || { echo "k8s-scheduler-test: no shared/k8s (set SPACES_K8S_DIR)" >&2; exit 2; }
export SPACES_K8S_STATE=${SPACES_K8S_STATE:-/tmp/spaces-k8s-sched-test-$$}

# Build first, so the cluster is not up (and its nodes tainted) while cargo compiles.
cd "$repo"
cargo test -p spaces-runtime --features kubernetes --no-run \
  --test kubernetes_scheduler --test kubernetes_scheduler_events

out=$(bash "$k8s/up")
eval "$out"
trap 'bash "$k8s/down"' EXIT
export SPACES_REQUIRE_KUBERNETES=1

cargo test -p spaces-runtime --features kubernetes --lib kubernetes::scheduler
cargo test -p spaces-runtime --features kubernetes --test kubernetes_scheduler_events -- --nocapture
cargo test -p spaces-runtime --features kubernetes --test kubernetes_scheduler -- --nocapture
echo "k8s-scheduler-test: all passed"
