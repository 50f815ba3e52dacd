#!/usr/bin/env bash
# GPU benchmark for a machine with NVIDIA GPUs and a CUDA toolkit (nvcc on PATH, NCCL for
# multi-GPU): builds the harness with `--features nccl`, trains transformers on synthetic data
# in bf16 and prints tokens/s and MFU. With 2+ GPUs it also runs 2-rank NCCL data parallelism.
#
# Usage: targets/harness/scripts/gpu_bench.sh [STEPS]          (default 300)
# Env:   PEAK_TFLOPS  dense bf16 peak of one GPU for MFU (default 989, H100/H200 SXM)
#        CUDA_COMPUTE_CAP (default: from nvidia-smi)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
STEPS="${1:-300}"
PEAK_TFLOPS="${PEAK_TFLOPS:-989}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-harness-cuda}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
cargo build --release -q -p mlc-harness --features nccl --manifest-path "$ROOT/Cargo.toml"
HARNESS="$CARGO_TARGET_DIR/release/mlc-harness"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Median tokens/s after 10 warm-up steps, and MFU from 6*N + 12*L*H*T FLOPs per token.
summarise() {
  python3 -c '
import json, statistics, sys
cfg = json.load(open(sys.argv[1])); m = cfg["model"]; peak = float(sys.argv[2]) * 1e12
V, T, L, H, r = m["vocab_size"], m["seq_len"], m["layers"], m["hidden"], m.get("mlp_ratio", 4)
n = V*H + T*H + L*(4*H + 3*H*H + 3*H + H*H + H + 2*r*H*H + r*H + H) + 2*H + H*V + V
rows = [json.loads(l) for l in sys.stdin if l.startswith("{")]
tps = statistics.median(r["tokens_per_s"] for r in rows[10:])
world = rows[-1]["world_size"]
mfu = tps * (6*n + 12*L*H*T) / (peak * world)
print(json.dumps({"model": cfg["name"], "params": n, "world_size": world, "steps": rows[-1]["step"],
                  "first_loss": rows[0]["loss"], "last_loss": rows[-1]["loss"],
                  "tokens_per_s": round(tps), "mfu": round(mfu, 4)}))' "$1" "$PEAK_TFLOPS"
}

make_config() { # name layers hidden heads seq vocab batch parallelism
  cat > "$WORK/$1.json" <<JSON
{"schema_version": 1, "name": "$1", "seed": 1,
 "model": {"kind": "transformer", "vocab_size": $6, "seq_len": $5, "layers": $2, "hidden": $3, "heads": $4},
 "optimizer": {"kind": "adamw", "lr": 0.001, "weight_decay": 0.1},
 "schedule": {"warmup_steps": 20, "decay": "cosine", "min_lr_ratio": 0.1},
 "batch": {"size": $7}, "grad_clip_norm": 1.0, "precision": "bf16", "device": "cuda",
 "parallelism": $8, "checkpoint": {"dir": "$WORK/ckpt-$1", "at_end": false},
 "training": {"max_steps": $STEPS}, "metrics": {"log_every_steps": 1, "progress_bar": false}}
JSON
}

make_config small 2 128 4 64 256 16 '{"kind": "none"}'
make_config medium 6 512 8 256 8192 32 '{"kind": "none"}'
for name in small medium; do
  "$HARNESS" --config "$WORK/$name.json" --synthetic | summarise "$WORK/$name.json"
done

GPUS=$(nvidia-smi -L | wc -l)
if [ "$GPUS" -ge 2 ]; then
  make_config medium_dp 6 512 8 256 8192 64 '{"kind": "data"}'
  for rank in 0 1; do
    WORLD_SIZE=2 RANK=$rank LOCAL_RANK=$rank MASTER_ADDR=127.0.0.1 MASTER_PORT=29511 \
      "$HARNESS" --config "$WORK/medium_dp.json" --synthetic > "$WORK/rank$rank.jsonl" &
  done
  wait
  summarise "$WORK/medium_dp.json" < "$WORK/rank0.jsonl"
  make_config medium_pp 6 512 8 256 8192 32 '{"kind": "pipeline", "stages": 2, "micro_batches": 4}'
  "$HARNESS" --config "$WORK/medium_pp.json" --synthetic | summarise "$WORK/medium_pp.json"
fi
