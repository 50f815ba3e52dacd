#!/usr/bin/env python3
"""Plan benchmarks: optimality of `mlc plan` against HiGHS on generated specs, and scale.

Usage (from anywhere in the repository):
    python3 benches/plan/run.py                  # both parts, the documented defaults
    python3 benches/plan/run.py optimality [--sizes 5,20,50,100,200] [--seeds 2]
        [--shapes chain,tree,dag] [--highs-time-limit 60]
    python3 benches/plan/run.py scale [--scale 10000,100000] [--repeat 3]

Needs a Rust toolchain (it builds `mlc` with `cargo build --release -p mlc`, into
$CARGO_TARGET_DIR or target/) and, for `optimality`, `highspy` (pinned), which it
installs into target/optimality-venv the first time (the only step that needs the
network). `--mlc PATH` uses an existing binary instead of building.

Optimality: each spec (benches/plan/specgen.py) is planned with
`mlc plan SPEC --format json --export-model SPEC.mps`; HiGHS solves the MPS with
mip_rel_gap = 0 on one thread within the time limit, and mlc's `total_monthly_usd` must
equal HiGHS's optimum (relative 1e-6) wherever HiGHS proves one. Times are whole-process
wall time for mlc (parse, check, plan, JSON, writing the MPS; best of --repeat) and
HiGHS's `run()` alone (the model already read). Exit status 1 when HiGHS finds a
cheaper plan than mlc's, or mlc fails on a spec.

Scale: specs of many pipelines of 3-30 workloads; whole-process wall time and CPU time
(user + system; medians of --repeat) and peak memory of `mlc check SPEC` and
`mlc plan SPEC --format json`.

Everything (specs, MPS, JSON, CSV) is written under --out (default target/plan-bench).
"""

import argparse
import csv
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HIGHSPY = "highspy==1.15.1"
VENV = os.path.join(ROOT, "target", "optimality-venv")
TOLERANCE = 1e-6

sys.path.insert(0, HERE)
import specgen  # noqa: E402


def ensure_venv():
    """Re-run this script inside a venv that has highspy (installed the first time)."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", HIGHSPY], check=True)
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def mlc_binary(args):
    if args.mlc:
        return os.path.abspath(args.mlc)
    subprocess.run(["cargo", "build", "--release", "-p", "mlc", "--quiet"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "mlc")


def run_timed(command, stdout):
    """(exit status, wall seconds, peak resident KiB, CPU seconds) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.stderr.write(stderr[-4000:])
    return process.returncode, seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def highs_solve(path, time_limit):
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


def optimality(args, mlc, stdlib):
    import json

    out = args.out
    rows = []
    print("## Optimality: mlc plan vs HiGHS on the exported MPS\n")
    print(
        "| instance | workloads | options | mlc total USD/month | HiGHS | "
        "mlc s (whole process) | HiGHS s (solve) | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for shape in args.shapes:
        for n in args.sizes:
            for seed in range(1, args.seeds + 1):
                name = f"{shape}_{n}_{seed}"
                spec = os.path.join(out, name + ".mlc")
                with open(spec, "w") as f:
                    f.write(specgen.optimality_spec(stdlib, shape, n, seed))
                mps = os.path.join(out, name + ".mps")
                plan_json = os.path.join(out, name + ".json")
                command = [mlc, "plan", spec, "--format", "json", "--export-model", mps]
                times = []
                for _ in range(args.repeat):
                    with open(plan_json, "w") as f:
                        rc, seconds, _, _ = run_timed(command, f)
                    if rc != 0:
                        break
                    times.append(seconds)
                if rc != 0:
                    print(f"| {name} | {n} | | **mlc failed (exit {rc})** | | | | |", flush=True)
                    rows.append(dict(name=name, shape=shape, workloads=n, verdict="mlc failed"))
                    continue
                with open(plan_json) as f:
                    plan = json.load(f)
                mlc_total = plan["total_monthly_usd"]
                options = plan["solver"]["options"]
                mlc_s = min(times)
                highs_total, highs_s, status = highs_solve(mps, args.highs_time_limit)
                same = abs(highs_total - mlc_total) <= TOLERANCE * max(
                    abs(highs_total), abs(mlc_total), 1.0
                )
                if status == "Optimal":
                    verdict = "equal" if same else "MISMATCH"
                    shown = f"{highs_total:,.2f}" + ("" if same else " **differs**")
                elif highs_total < mlc_total and not same:
                    verdict = "HiGHS cheaper"
                    shown = f"{highs_total:,.2f} **{status}, cheaper than mlc**"
                else:
                    verdict = "HiGHS unproven"
                    shown = f"{highs_total:,.2f} ({status}; best found, not cheaper)"
                speedup = highs_s / max(mlc_s, 1e-9)
                print(
                    f"| {name} | {n} | {options:,} | {mlc_total:,.2f} | {shown} | {mlc_s:.3f} "
                    f"| {highs_s:.3f} | {speedup:,.1f}x |",
                    flush=True,
                )
                rows.append(
                    dict(
                        name=name,
                        shape=shape,
                        workloads=n,
                        options=options,
                        mlc_total_usd=mlc_total,
                        highs_usd=highs_total,
                        highs_status=status,
                        mlc_seconds=round(mlc_s, 4),
                        highs_seconds=round(highs_s, 4),
                        speedup=round(speedup, 2),
                        verdict=verdict,
                    )
                )
    write_csv(os.path.join(out, "optimality.csv"), rows)
    return summarize_optimality(rows, args)


def summarize_optimality(rows, args):
    equal = [r for r in rows if r["verdict"] == "equal"]
    unproven = [r for r in rows if r["verdict"] == "HiGHS unproven"]
    bad = [r for r in rows if r["verdict"] in ("MISMATCH", "HiGHS cheaper", "mlc failed")]
    print(f"\n{len(equal)} of {len(rows)} instances: HiGHS proved an optimum and it equals mlc's")
    if unproven:
        names = ", ".join(r["name"] for r in unproven)
        print(
            f"{len(unproven)} stopped at HiGHS's {args.highs_time_limit:g} s limit with a "
            f"best solution no cheaper than mlc's: {names}"
        )
    for r in bad:
        spec = os.path.join(args.out, r["name"] + ".mlc")
        print(f"BUG: {r['name']}: {r['verdict']} (spec: {spec})")
    big_dags = [r for r in rows if r["shape"] == "dag" and r["workloads"] >= 50 and "speedup" in r]
    if big_dags:
        low = min(big_dags, key=lambda r: r["speedup"])
        goal = "met" if low["speedup"] >= 10 else "NOT met"
        print(
            f"DAGs of >= 50 workloads: mlc (whole process) is {low['speedup']:,.1f}x to "
            f"{max(r['speedup'] for r in big_dags):,.1f}x faster than HiGHS (solve only); "
            f"goal >= 10x {goal}"
        )
    return 1 if bad else 0


def scale(args, mlc, stdlib):
    out = args.out
    rows = []
    print("\n## Scale: whole-process time of mlc check and mlc plan\n")
    print(
        "| workloads | spec MiB | mlc check s (CPU s) | mlc plan s (CPU s) | plan peak MiB "
        "| plan s vs previous |"
    )
    print("|---|---|---|---|---|---|")
    previous = None
    for n in args.scale:
        spec = os.path.join(out, f"scale_{n}.mlc")
        with open(spec, "w") as f:
            f.write(specgen.scale_spec(stdlib, n, 1))
        mib = os.path.getsize(spec) / 2**20
        measured = {}
        for what, command in (
            ("check", [mlc, "check", spec]),
            ("plan", [mlc, "plan", spec, "--format", "json"]),
        ):
            times, cpu, peak = [], [], 0
            for _ in range(args.repeat):
                with open(os.devnull, "w") as sink:
                    rc, seconds, rss, cpu_seconds = run_timed(command, sink)
                if rc != 0:
                    print(f"mlc {what} failed on {spec} (exit {rc})")
                    return 1
                times.append(seconds)
                cpu.append(cpu_seconds)
                peak = max(peak, rss)
            measured[what] = (statistics.median(times), peak, statistics.median(cpu))
        plan_s = measured["plan"][0]
        ratio = "" if previous is None else f"{plan_s / previous[1]:.1f}x for {n / previous[0]:g}x"
        print(
            f"| {n:,} | {mib:.1f} | {measured['check'][0]:.3f} ({measured['check'][2]:.3f}) "
            f"| {plan_s:.3f} ({measured['plan'][2]:.3f}) "
            f"| {measured['plan'][1] / 1024:.0f} | {ratio} |",
            flush=True,
        )
        rows.append(
            dict(
                workloads=n,
                spec_mib=round(mib, 2),
                check_seconds=round(measured["check"][0], 4),
                check_cpu_seconds=round(measured["check"][2], 4),
                plan_seconds=round(plan_s, 4),
                plan_cpu_seconds=round(measured["plan"][2], 4),
                plan_peak_mib=round(measured["plan"][1] / 1024, 1),
            )
        )
        previous = (n, plan_s)
    write_csv(os.path.join(out, "scale.csv"), rows)
    return 0


def write_csv(path, rows):
    if not rows:
        return
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def numbers(text):
    return [int(x) for x in text.split(",") if x]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", nargs="?", default="all", choices=["all", "optimality", "scale"])
    parser.add_argument("--sizes", type=numbers, default=[5, 20, 50, 100, 200])
    parser.add_argument("--shapes", type=lambda s: s.split(","), default=["chain", "tree", "dag"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--highs-time-limit", type=float, default=60.0)
    parser.add_argument("--scale", type=numbers, default=[10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "plan-bench"))
    parser.add_argument("--mlc", help="an mlc binary to use instead of building one")
    args = parser.parse_args()
    if args.part in ("all", "optimality"):
        ensure_venv()
    os.makedirs(args.out, exist_ok=True)
    mlc = mlc_binary(args)
    stdlib = specgen.Stdlib(ROOT)
    status = 0
    if args.part in ("all", "optimality"):
        status |= optimality(args, mlc, stdlib)
    if args.part in ("all", "scale"):
        status |= scale(args, mlc, stdlib)
    sys.exit(status)


if __name__ == "__main__":
    main()
