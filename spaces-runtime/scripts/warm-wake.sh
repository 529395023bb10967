#!/usr/bin/env bash
# Wake of a sleeping Gradio Space on the local runtime, cold (new interpreter) against warm (fork
# server), side by side in one run: median and p90 from the start to the first HTTP 200, and the
# fork server's resident memory. Usage: spaces-runtime/scripts/warm-wake.sh [rounds] (20 default).
# Needs python3 and PyPI the first time; pip's downloads are cached in $SPACES_PIP_CACHE
# (default: <target>/tmp/pip-cache, the cache the tests use).
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
export SPACES_PIP_CACHE="${SPACES_PIP_CACHE:-$target/tmp/pip-cache}"
mkdir -p "$SPACES_PIP_CACHE"
cargo run -q -p spaces-runtime --example warm_wake -- "${1:-20}"
