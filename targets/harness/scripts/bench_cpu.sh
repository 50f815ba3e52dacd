#!/usr/bin/env bash
# CPU training-step throughput: mlc-harness (candle, release) vs PyTorch on the same model,
# batch, optimizer, data and thread count. Prints one JSON line per run and a ratio table.
#
# Usage: targets/harness/scripts/bench_cpu.sh [THREADS...]        (default: 1 2)
# Env:   PYTHON  python with torch + numpy (default /tmp/torchvenv/bin/python;
#                create it with: python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch numpy)
#        REPEATS alternating runs per point, median reported (default 3)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
PYTHON="${PYTHON:-/tmp/torchvenv/bin/python}"
REPEATS="${REPEATS:-3}"
THREADS=("$@")
[ ${#THREADS[@]} -eq 0 ] && THREADS=(1 2)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-harness}"

cargo build --release -q -p mlc-harness --manifest-path "$ROOT/Cargo.toml"
HARNESS="$CARGO_TARGET_DIR/release/mlc-harness"
DATA="$(mktemp -d)"
trap 'rm -rf "$DATA"' EXIT
"$PYTHON" "$HERE/make_bench_data.py" "$DATA"

# Median step time of a harness run, skipping 5 warm-up steps.
harness_steps_per_s() {
  "$PYTHON" -c '
import json, statistics, sys
times = [json.loads(l)["step_time_ms"] for l in sys.stdin if l.startswith("{")][5:]
print(1000.0 / statistics.median(times))'
}

median() { "$PYTHON" -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

printf '\n%-20s %7s %14s %14s %8s\n' model threads harness_step/s torch_step/s ratio
for name in mlp_medium transformer_small; do
  config="$DATA/$name.json"
  sed "s#DATA_DIR#$DATA#g" "$HERE/bench/$name.json" > "$config"
  steps=$([ "$name" = mlp_medium ] && echo 300 || echo 100)
  for t in "${THREADS[@]}"; do
    h=(); p=()
    for _ in $(seq "$REPEATS"); do
      h+=("$(RAYON_NUM_THREADS=$t CANDLE_NUM_THREADS=1 "$HARNESS" --config "$config" --max-steps $((steps + 5)) | harness_steps_per_s)")
      p+=("$("$PYTHON" "$HERE/bench_torch.py" --config "$config" --data "$DATA" --threads "$t" --steps "$steps" \
             | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["steps_per_s"])')")
    done
    hm=$(median "${h[@]}"); pm=$(median "${p[@]}")
    printf '%-20s %7s %14.1f %14.1f %8.2f\n' "$name" "$t" "$hm" "$pm" "$("$PYTHON" -c "print($hm/$pm)")"
  done
done
echo "(ratio = harness steps/s / torch steps/s; >= 1.0 means the harness is at least as fast)"
