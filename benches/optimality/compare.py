#!/usr/bin/env python3
"""Re-solve mlc's exported placement models with HiGHS and compare optima and times.

Usage (from the repository root):
    cargo bench -p mlc --bench solver -- target/optimality
    python3 benches/optimality/compare.py target/optimality [NAME_PREFIX ...]

Installs highspy (pinned) into a virtual environment under target/ the first time.
Reads OUT/results.csv (mlc's totals and solve times, written by benches/solver.rs),
solves every OUT/<name>.mps (or those whose name starts with one of the given prefixes)
with mip_rel_gap = 0 on one thread (HIGHS_TIME_LIMIT seconds each, default 300), and
prints both times side by side.
Exits non-zero when any optimum differs by more than 1e-6 relative.
"""

import csv
import os
import subprocess
import sys
import time

HIGHSPY = "highspy==1.15.1"
VENV = os.path.join("target", "optimality-venv")


def ensure_venv():
    """Re-run this script inside a venv that has highspy."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", HIGHSPY], check=True)
    os.execv(python, [python, *sys.argv])


def solve(path, time_limit):
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", time_limit)
    h.readModel(path)
    start = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - start
    status = h.modelStatusToString(h.getModelStatus())
    return h.getInfo().objective_function_value, seconds, status


def main():
    ensure_venv()
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "optimality")
    time_limit = float(os.environ.get("HIGHS_TIME_LIMIT", "300"))
    with open(os.path.join(out, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    prefixes = sys.argv[2:]
    if prefixes:
        rows = [r for r in rows if any(r["name"].startswith(p) for p in prefixes)]
    print(f"| instance | workloads | mlc total USD | HiGHS optimum | mlc s | HiGHS s | speed-up |")
    print(f"|---|---|---|---|---|---|---|")
    bad = 0
    for row in rows:
        mlc_total = float(row["mlc_total_usd"])
        mlc_s = float(row["mlc_seconds"])
        highs_total, highs_s, status = solve(os.path.join(out, row["name"] + ".mps"), time_limit)
        same = abs(highs_total - mlc_total) <= 1e-6 * max(abs(highs_total), abs(mlc_total), 1.0)
        if status != "Optimal" or not same:
            bad += 1
        flag = "" if same and status == "Optimal" else f" **{status}, differs**"
        print(
            f"| {row['name']} | {row['workloads']} | {mlc_total:,.2f} | {highs_total:,.2f}{flag} "
            f"| {mlc_s:.4f} | {highs_s:.3f} | {highs_s / max(mlc_s, 1e-9):,.0f}x |",
            flush=True,
        )
    print(f"\n{len(rows) - bad} of {len(rows)} instances: mlc == HiGHS (relative 1e-6)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
