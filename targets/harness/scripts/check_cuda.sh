#!/usr/bin/env bash
# Compile-checks the `cuda` + `nccl` code paths on a machine without a GPU or CUDA toolkit,
# using nvcc from PyPI's NVIDIA wheels. candle-kernels runs nvcc even for `cargo check`, so
# this takes ~12 minutes on 2 cores (cached afterwards). Not part of `cargo test`.
#
# Usage: targets/harness/scripts/check_cuda.sh
# Env:   NVCC_VENV          venv for the wheels (default /tmp/nvccvenv)
#        CUDA_WHEEL_VERSION nvcc/nvvm/crt/runtime wheel version, all pinned alike (default 13.2)
#        CUDARC_CUDA_VERSION matching cudarc version code (default 13020)
#        CUDA_COMPUTE_CAP   target SM (default 90)
# With a real toolkit on PATH (nvcc), skip the wheels: NVCC=$(which nvcc) ... cargo check.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="${NVCC_VENV:-/tmp/nvccvenv}"
VERSION="${CUDA_WHEEL_VERSION:-13.2}"

if command -v nvcc >/dev/null 2>&1; then
  NVCC_BIN="$(command -v nvcc)"
  CUDA_ROOT="$(dirname "$(dirname "$NVCC_BIN")")"
else
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  # The wheels must share a minor version: an unpinned nvvm/crt made ptxas reject the PTX.
  # cccl provides <nv/target>, which cuda_fp16.h includes.
  "$VENV/bin/pip" install -q "nvidia-cuda-nvcc==$VERSION.*" "nvidia-nvvm==$VERSION.*" \
    "nvidia-cuda-crt==$VERSION.*" "nvidia-cuda-runtime==$VERSION.*" "nvidia-cuda-cccl==$VERSION.*"
  CUDA_ROOT="$("$VENV/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')"
  NVCC_BIN="$CUDA_ROOT/bin/nvcc"
fi
echo "nvcc: $NVCC_BIN ($("$NVCC_BIN" --version | tail -1))"

export NVCC="$NVCC_BIN" CUDA_HOME="$CUDA_ROOT" PATH="$CUDA_ROOT/bin:$PATH"
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13020}"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-harness-cuda}"
time cargo check -p mlc-harness --features nccl --all-targets --manifest-path "$ROOT/Cargo.toml"
echo "cuda/nccl compile-check passed"
