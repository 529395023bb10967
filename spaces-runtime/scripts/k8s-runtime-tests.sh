#!/usr/bin/env bash
# The Kubernetes runtime's tests against a throwaway cluster with a kubelet and a registry.
#
#   bash spaces-runtime/scripts/k8s-runtime-tests.sh [extra cargo test filter args]
#
# 1. installs Debian's docker-registry when missing and starts it on a free loopback port with a
#    storage folder of its own (Docker treats 127.0.0.0/8 registries as insecure: http works);
# 2. starts the test cluster (`shared/k8s/up --kubelet`: Kubernetes 1.20 on the local Docker
#    engine; found in $SPACES_K8S_DIR, or shared/k8s next to or above the repository);
# 3. runs the tests kubernetes_conformance and kubernetes_lifecycle one at a time with
#    SPACES_REQUIRE_KUBERNETES=1 (a missing cluster fails instead of skipping), printing the
#    FIGURE lines (apply -> ready, wake -> first 200) and each step's time;
# 4. always stops the cluster (`down`) and the registry, and removes the registry's folder.
#
# Run as root (the kubelet needs it). Honours CARGO_TARGET_DIR. Only one cluster with a kubelet
# may run on a machine at a time.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

# The harness: $SPACES_K8S_DIR (what .ci/run exports), else shared/k8s in, next to or above
# the repository, else /work/shared/k8s.
k8s=""
for d in "${SPACES_K8S_DIR:-}" "$repo/shared/k8s" "$repo/../shared/k8s" /work/shared/k8s; do
  if [ -n "$d" ] && [ -f "$d/up" ]; then k8s=$(cd "$d" && pwd); break; fi
done
if [ -z "$k8s" ]; then
  echo "no shared/k8s scripts found (set SPACES_K8S_DIR)" >&2
  exit 1
fi

t0=$EPOCHREALTIME
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
step() { printf '\n==> %s (at %ss)\n' "$*" "$(since "$t0")"; }

step "docker-registry"
if ! command -v docker-registry >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq docker-registry >/dev/null
fi
reg_dir=$(mktemp -d /tmp/spaces-k8s-registry.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$reg_dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $reg_dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$reg_dir/config.yml" >"$reg_dir/registry.log" 2>&1 &
reg_pid=$!

cleanup() {
  local rc=$?
  step "cleanup"
  bash "$k8s/down" || rc=1
  if kill -0 "$reg_pid" 2>/dev/null; then kill "$reg_pid"; wait "$reg_pid" 2>/dev/null || true; fi
  rm -rf "$reg_dir"
  printf 'total %ss\n' "$(since "$t0")"
  exit "$rc"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null
echo "registry on 127.0.0.1:$port (storage $reg_dir/data)"
export SPACES_K8S_REGISTRY="127.0.0.1:$port"

step "cluster (up --kubelet)"
out=$(bash "$k8s/up" --kubelet)
eval "$out"
export KUBECONFIG SPACES_K8S_NODE SPACES_K8S_KUBECTL

step "build the tests"
export SPACES_REQUIRE_KUBERNETES=1
cargo test -p spaces-runtime --features kubernetes --no-run \
  --test kubernetes_conformance --test kubernetes_lifecycle

for t in kubernetes_conformance kubernetes_lifecycle; do
  step "cargo test --test $t"
  s=$EPOCHREALTIME
  cargo test -p spaces-runtime --features kubernetes --test "$t" -- --test-threads=1 --nocapture "$@" \
    2>&1 | tee "$reg_dir/$t.log"
  printf '%s: %ss\n' "$t" "$(since "$s")"
done

step "figures"
grep -ho 'FIGURE.*' "$reg_dir"/*.log || echo "(none)"
