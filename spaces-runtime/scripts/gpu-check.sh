#!/usr/bin/env bash
# The GPU checks of spaces-runtime (tests/nvidia_gpu.rs) on a machine with an NVIDIA GPU, its
# driver and a python3 that has torch. CI never runs this (it has no GPU).
#
# Usage:
#   spaces-runtime/scripts/gpu-check.sh                 # builds the test binary with cargo, runs it
#   GPUCHECK_BIN_DIR=dir spaces-runtime/scripts/gpu-check.sh
#       # runs prebuilt binaries dir/nvidia_gpu* (for a machine without cargo: build them with
#       # `cargo test -p spaces-runtime --features nvidia --test nvidia_gpu --no-run` and copy
#       # the executable cargo names, stripped)
# The log goes to stdout and, when OUT is set, to $OUT/gpu-check.log.
#
# Seen on one NVIDIA H200 (driver 580.159.04, torch 2.11.0+cu130), 2026-11-29: 3 passed in 4.5 s;
# NVML: "NVIDIA H200", GPU-5c246604..., 143771 MiB -> model H200 (141 GB); the h200x1 Space
# answered {"device_name": "NVIDIA H200", "device_count": 1, "CUDA_VISIBLE_DEVICES": "GPU-5c246604-...",
# "ACCELERATOR": "h200x1"}; the second Space was refused: "bob/torch asks for 1x H200 (141 GB): 0 of
# the 1 such GPUs on this machine are free (GPU 0 (GPU-5c246604) held by alice/torch)".
set -uo pipefail

log="${OUT:-/tmp}/gpu-check.log"
exec > >(tee "$log") 2>&1

echo "== machine"
date -u
nvidia-smi -L 2>&1 || echo "nvidia-smi: not found"
# NVML and libcuda are found by the loader; a driver mounted off its paths is added here.
if ! ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml.so'; then
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu/nvidia; do
        [ -d "$d" ] && export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    done
fi
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
# The python3 that has torch (the local runtime takes python3 from PATH).
[ -x /opt/torch/.venv/bin/python3 ] && export PATH="/opt/torch/.venv/bin:$PATH"
echo "python3: $(command -v python3)"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1

bins=()
if [ -n "${GPUCHECK_BIN_DIR:-}" ]; then
    for b in "$GPUCHECK_BIN_DIR"/nvidia_gpu*; do [ -x "$b" ] && bins+=("$b"); done
else
    root="$(cd "$(dirname "$0")/../.." && pwd)"
    while IFS= read -r b; do bins+=("$b"); done < <(
        cd "$root" && cargo test -p spaces-runtime --features nvidia --test nvidia_gpu --no-run \
            --message-format=json 2>/dev/null |
            python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("executable") and m.get("target", {}).get("name") == "nvidia_gpu": print(m["executable"])')
fi
[ ${#bins[@]} -gt 0 ] || { echo "no nvidia_gpu test binary found"; exit 2; }

status=0
for b in "${bins[@]}"; do
    echo "== $b"
    SPACES_GPU_TESTS=1 RUST_BACKTRACE=1 timeout 250 "$b" --nocapture --test-threads=1 || status=$?
done
echo "== exit $status"
exit $status
