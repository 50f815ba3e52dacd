#!/usr/bin/env python3
"""`mlc build` benchmark: whole-process time and peak memory, and KCL side by side.

Usage (from anywhere in the repository):
    python3 benches/build/run.py                 # the documented defaults
    python3 benches/build/run.py [--repeat 3] [--mlc PATH] [--out DIR] [--no-kcl]

Needs a Rust toolchain (it builds `mlc` with `cargo build --release -p mlc`, into
$CARGO_TARGET_DIR or target/) and Python 3 with `venv`; the first run installs
`kcl-lib` (pinned) into target/kcl-venv, the only step that needs the network.

It generates two specs (benches/build/specgen.py): 1,000 inference services over 100
training jobs and their datasets, and 10,000 services over the same 100 training jobs.
Each is built with `mlc build SPEC -o DIR` (check, plan and every target) as one
process, timed with /usr/bin/time -v for peak memory where it exists (else the rusage of
Python's os.wait4):
wall time and peak resident memory, best of --repeat. Targets: under 100 ms and 100 MiB
for 1,000 services + 100 training jobs, under 1 s for 10,000 services.

Then the 1,000 services' Deployment + Service + HorizontalPodAutoscaler are rendered
with KCL (benches/build/services.k, the same objects and fields as mlc's
service-*.yaml) in one process (benches/build/kcl_render.py), best of --repeat, and both
times are printed side by side with their ratio. Exit status 1 when a build fails or a
target is missed.

Everything (specs, outputs, CSV) is written under --out (default target/build-bench).
"""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KCL_LIB = "kcl-lib==0.13.2"
VENV = os.path.join(ROOT, "target", "kcl-venv")
GNU_TIME = "/usr/bin/time"
MIB = 1024 * 1024

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import specgen  # noqa: E402

# (name, services, training jobs, wall-time target in seconds, peak-memory target in MiB)
CASES = [
    ("1k_services_100_trains", 1000, 100, 0.100, 100),
    ("10k_services_100_trains", 10000, 100, 1.0, None),
]
KCL_SERVICES = 1000


def ensure_venv():
    """Re-run this script inside a venv that has kcl-lib (installed the first time)."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", KCL_LIB], check=True)
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def mlc_binary(args):
    if args.mlc:
        return os.path.abspath(args.mlc)
    subprocess.run(["cargo", "build", "--release", "-p", "mlc", "--quiet"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "mlc")


def run_timed(command):
    """(wall seconds, peak resident bytes, stdout, CPU seconds) of one process, which
    must succeed.

    Wall time is measured around the process (with GNU time, around `time` and the
    command: fork and exec of `time` add about a millisecond, and `time -v` itself
    reports only hundredths). Peak RSS is the command's own: `time -v`'s "Maximum
    resident set size", or without GNU time the rusage that wait4 returns for the child
    (getrusage(RUSAGE_CHILDREN) would be the largest of every child so far)."""
    if os.path.exists(GNU_TIME):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
            start = time.perf_counter()
            result = subprocess.run(
                [GNU_TIME, "-v", "-o", report.name, *command], capture_output=True, text=True
            )
            wall = time.perf_counter() - start
            text = report.read()
        check(result.returncode, result.stderr, command)
        rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
        cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
        return wall, rss_kib * 1024, result.stdout, cpu
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        check(os.waitstatus_to_exitcode(status), err.read(), command)
        return wall, usage.ru_maxrss * 1024, out.read(), usage.ru_utime + usage.ru_stime


def check(returncode, stderr, command):
    if returncode != 0:
        sys.stderr.write(stderr[-4000:])
        sys.exit(f"failed (exit {returncode}): {' '.join(command)}")


def best_of(repeat, command, before=None):
    runs = []
    for _ in range(repeat):
        if before:
            before()
        runs.append(run_timed(command))
    wall = min(r[0] for r in runs)
    rss = min(r[1] for r in runs)
    cpu = min(r[3] for r in runs)
    return wall, rss, runs[-1][2], cpu


def output_stats(folder):
    files = 0
    size = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(dirpath, name))
    return files, size


def bench_mlc(args, mlc, stdlib):
    rows = []
    print("## mlc build (check, plan, every target; whole process)\n")
    print(
        "| spec | size | files written | wall (best of %d) | target | CPU (user + sys) "
        "| peak RSS | target |" % args.repeat
    )
    print("|---|---|---|---|---|---|---|---|")
    failed = False
    for name, services, trains, wall_target, rss_target in CASES:
        spec = os.path.join(args.out, name + ".mlc")
        with open(spec, "w") as f:
            f.write(specgen.services_spec(stdlib, services, trains))
        out = os.path.join(args.out, name + ".out")

        def fresh():
            # Every run writes a new folder, as a first build does.
            shutil.rmtree(out, ignore_errors=True)

        wall, rss, _, cpu = best_of(args.repeat, [mlc, "build", spec, "-o", out], fresh)
        files, size = output_stats(out)
        wall_ok = wall < wall_target
        rss_ok = rss_target is None or rss < rss_target * MIB
        failed |= not (wall_ok and rss_ok)
        rss_goal = f"< {rss_target} MiB {'met' if rss_ok else '**missed**'}" if rss_target else ""
        print(
            f"| {services:,} services + {trains} training jobs | "
            f"{os.path.getsize(spec) / MIB:.2f} MiB | {files:,} ({size / MIB:.1f} MiB) | "
            f"{wall * 1000:,.0f} ms | < {wall_target * 1000:,.0f} ms "
            f"{'met' if wall_ok else '**missed**'} | {cpu * 1000:,.0f} ms | {rss / MIB:.0f} MiB "
            f"| {rss_goal} |",
            flush=True,
        )
        rows.append(
            dict(
                tool="mlc build",
                spec=name,
                services=services,
                trains=trains,
                files=files,
                bytes=size,
                wall_seconds=round(wall, 4),
                cpu_seconds=round(cpu, 3),
                peak_rss_mib=round(rss / MIB, 1),
            )
        )
    return rows, failed


def bench_kcl(args, mlc, stdlib):
    """The 1,000 services' Deployment + Service + HPA with KCL and with mlc, side by side."""
    name, services, trains = CASES[0][:3]
    spec = os.path.join(args.out, name + ".mlc")
    services_json = os.path.join(args.out, name + ".services.json")
    with open(services_json, "w") as f:
        json.dump(specgen.services_list(services, trains, 1), f)
    kcl_yaml = os.path.join(args.out, name + ".kcl.yaml")
    python = os.path.join(VENV, "bin", "python")
    kcl_command = [python, os.path.join(HERE, "kcl_render.py"), services_json, kcl_yaml]
    kcl_wall, kcl_rss, stdout, kcl_cpu = best_of(args.repeat, kcl_command)
    exec_seconds, documents = stdout.split()
    # Only the interpreter and kcl-lib's import: what a KCL run costs before any KCL.
    startup_command = [python, "-c", "import kcl_lib.api"]
    startup_wall, _, _, _ = best_of(args.repeat, startup_command)
    rows = []
    print(f"\n## {services:,} Deployment + Service + HorizontalPodAutoscaler sets\n")
    print(
        "| tool | what it does | wall (best of %d) | CPU | peak RSS | KCL / mlc (wall) |"
        % args.repeat
    )
    print("|---|---|---|---|---|---|")
    kubernetes_out = os.path.join(args.out, name + ".k8s.out")

    def fresh():
        shutil.rmtree(kubernetes_out, ignore_errors=True)

    measured = []
    for label, what, command in [
        (
            "mlc build",
            "check, plan, every target",
            [mlc, "build", spec, "-o", kubernetes_out],
        ),
        (
            "mlc build --target kubernetes",
            "check, plan, Kubernetes only, plan.json",
            [mlc, "build", spec, "-o", kubernetes_out, "--target", "kubernetes"],
        ),
    ]:
        wall, rss, _, cpu = best_of(args.repeat, command, fresh)
        written = sum(len(files) for _, _, files in os.walk(kubernetes_out))
        measured.append((label, f"{what} ({written:,} files)", wall, rss, cpu))
    for label, what, wall, rss, cpu in measured:
        print(
            f"| {label} | {what} | {wall * 1000:,.0f} ms | {cpu * 1000:,.0f} ms | "
            f"{rss / MIB:.0f} MiB | {kcl_wall / wall:.1f}x |"
        )
        rows.append(
            dict(
                tool=label,
                spec=name,
                wall_seconds=round(wall, 4),
                cpu_seconds=round(cpu, 3),
                peak_rss_mib=round(rss / MIB, 1),
            )
        )
    print(
        f"| KCL {KCL_LIB.split('==')[1]} (kcl-lib, Python) | render the {int(documents):,} "
        f"documents into one YAML file | {kcl_wall * 1000:,.0f} ms | {kcl_cpu * 1000:,.0f} ms | "
        f"{kcl_rss / MIB:.0f} MiB | 1.0x |"
    )
    print(
        f"\nKCL's time is the whole process: Python and kcl-lib start in "
        f"{startup_wall * 1000:,.0f} ms; `exec_program` alone takes "
        f"{float(exec_seconds) * 1000:,.0f} ms (last run)."
    )
    rows.append(
        dict(
            tool="kcl",
            spec=name,
            wall_seconds=round(kcl_wall, 4),
            cpu_seconds=round(kcl_cpu, 3),
            peak_rss_mib=round(kcl_rss / MIB, 1),
        )
    )
    return rows


def write_csv(path, rows):
    keys = sorted({k for row in rows for k in row})
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "build-bench"))
    parser.add_argument("--mlc", help="an mlc binary to use instead of building one")
    parser.add_argument("--no-kcl", action="store_true", help="skip the KCL comparison")
    args = parser.parse_args()
    if not args.no_kcl:
        ensure_venv()
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    mlc = mlc_binary(args)
    stdlib = specgen.Stdlib(ROOT)
    if not os.path.exists(GNU_TIME):
        print(f"({GNU_TIME} not found: peak RSS from the rusage of os.wait4)\n")
    rows, failed = bench_mlc(args, mlc, stdlib)
    if not args.no_kcl:
        rows += bench_kcl(args, mlc, stdlib)
    write_csv(os.path.join(args.out, "build.csv"), rows)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
