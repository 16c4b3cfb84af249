"""APScheduler 3.11.3 vs apscheduler_rs: the issue #2 workloads, one table.

    python benches/run.py [--quick] [--reps N] [workload ...]

Every (workload, implementation, repetition) runs in a fresh ``workloads.py`` subprocess; the
two implementations alternate within each repetition so that drift on a noisy VM hits both.
Each cell is the median over the repetitions; the ratio is the median of the per-repetition
ratios (paired runs). A workload that fails shows its error in its row and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMPLS = ("apscheduler", "apscheduler_rs")
WORKLOADS = ("dispatch", "dispatch_fn", "lateness", "add_job", "trigger",
             "store_add", "commit_floor_sqlite", "store_fire", "store_fire_solo", "store_cold", "store_add_pg", "commit_floor_pg",
             "fetch_floor_pg",
             "store_fire_pg", "store_fire_pg_solo", "store_cold_pg", "store_fire_cron", "store_fire_cron_pg",
             "procpool", "asyncio", "cluster", "cluster_pg")
SPREAD = 1.3  # max/min over the repetitions above which a cell is marked noisy
LABELS = {"dispatch": "dispatch (listener)", "dispatch_fn": "dispatch (job counts)",
          "store_add": "add jobs, SQLite", "store_fire": "fire due jobs, SQLite",
          "store_cold": "cold start+get_jobs, SQLite", "store_add_pg": "add jobs, PostgreSQL",
          "commit_floor_pg": "bare INSERT+COMMIT, PostgreSQL (floor)",
          "commit_floor_sqlite": "bare INSERT+COMMIT, SQLite (floor)",
          "fetch_floor_pg": "bare libpq fetch of the rows, PostgreSQL (floor)",
          "store_fire_pg": "fire due jobs, PostgreSQL",
          "store_fire_cron": "fire recurring cron jobs, SQLite",
          "store_fire_cron_pg": "fire recurring cron jobs, PostgreSQL",
          "store_fire_solo": "fire due jobs, SQLite, shared=False",
          "store_fire_pg_solo": "fire due jobs, PostgreSQL, shared=False", "store_cold_pg": "cold start+get_jobs, PostgreSQL",
          "procpool": "process pool (small CPU jobs)", "asyncio": "asyncio coroutine jobs",
          "cluster": "shared store, SQLite file", "cluster_pg": "shared store, PostgreSQL"}
# Rows with no APScheduler run of their own, compared with another of its metrics instead:
# APScheduler 3.x cannot share a store, so several apscheduler_rs schedulers are compared
# with its single one (the ratio is marked with a *).
COMPARE_WITH = {(w, f"runs/s, {k} schedulers"): "runs/s, 1 scheduler" for w in ("cluster", "cluster_pg") for k in (2, 4)}
# (workload, metric) -> target for the ratio apscheduler_rs / apscheduler (issue #2)
TARGETS = {
    ("dispatch", "exec/s"): ">=10",
    ("dispatch_fn", "exec/s"): ">=10",
    ("lateness", "p99 ms"): "<=1/10",
    ("add_job", "jobs/s"): ">=10",
    ("add_job", "bytes/job"): "<=1/3",
    ("trigger", "cron */5min calls/s"): ">=50",
    ("trigger", "cron 9-17 mon-fri calls/s"): ">=50",
    ("trigger", "cron day=last calls/s"): ">=50",
    ("trigger", "interval 7s calls/s"): ">=20",
    # issue #4: persistent stores
    ("store_add", "jobs/s"): ">=20",
    ("store_fire", "exec/s"): ">=20",
    ("store_cold", "s"): "<=1/20",
    ("store_add_pg", "jobs/s"): ">=20",
    ("store_fire_pg", "exec/s"): ">=20",
    ("store_cold_pg", "s"): "<=1/20",
    ("procpool", "jobs/s"): ">=3",  # issue #6
    ("asyncio", "exec/s"): ">=5",  # issue #6
}


def meets(ratio: float, target: str) -> bool:
    bound = eval(target[2:])  # "10" or "1/10": a constant from the table above
    return ratio >= bound if target.startswith(">=") else ratio <= bound


def run_one(impl: str, workload: str, quick: bool, timeout: float) -> dict:
    cmd = [sys.executable, str(HERE / "workloads.py"), impl, workload] + ["--quick"] * quick
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}


def cpu_pressure() -> str:
    """Share of the last 60 s in which some runnable task waited for a CPU (Linux PSI)."""
    try:
        with open("/proc/pressure/cpu") as f:
            return f.readline().split()[2].split("=")[1] + "%"
    except (OSError, IndexError):
        return "n/a"


def machine() -> str:
    try:
        rs = version("apscheduler-rs")
        commit = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip()
    except Exception as exc:  # noqa: BLE001
        rs, commit = f"? ({exc})", "?"
    return (f"machine: {platform.node()}, nproc={os.cpu_count()} "
            f"(usable {len(os.sched_getaffinity(0))}), loadavg={os.getloadavg()[0]:.2f}, cpu pressure (60 s) {cpu_pressure()}, "
            f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}\n"
            f"apscheduler {version('apscheduler')}, apscheduler_rs {rs} (git {commit})")


def fmt(value) -> str:
    if isinstance(value, str):
        return value
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def fmt_ratio(r: float) -> str:
    return f"{r:.1f}" if r >= 1 else f"1/{1 / r:.1f}" if r > 0 else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*", metavar="workload",
                    help=f"any of {', '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run (< 60 s)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per cell (default 3)")
    args = ap.parse_args()
    if unknown := set(args.workloads) - set(WORKLOADS):
        ap.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    reps = args.reps
    timeout = 60 if args.quick else 300

    print(machine())
    print(f"mode: {'quick' if args.quick else 'full'}, median of {reps} run(s), fresh process each\n",
          flush=True)
    t_start = time.monotonic()
    rows, notes, noisy = [], set(), set()
    for workload in args.workloads or WORKLOADS:
        print(f"running {workload} ...", file=sys.stderr, flush=True)
        samples = {impl: {} for impl in IMPLS}  # impl -> metric -> [numbers or error strings]
        failed = {}  # impl -> error of a run that produced no metrics
        for _ in range(reps):
            for impl in IMPLS:
                result = run_one(impl, workload, args.quick, timeout)
                notes.update(f"{impl}: {n}" for n in result.get("notes", []))
                if "metrics" not in result:
                    failed.setdefault(impl, result.get("error", "?"))
                for metric, value in result.get("metrics", {}).items():
                    samples[impl].setdefault(metric, []).append(value)
        for metric in dict.fromkeys([*samples["apscheduler"], *samples["apscheduler_rs"]]) or ["(error)"]:
            cells = []
            for impl in IMPLS:
                values = samples[impl].get(metric, [])
                errors = [v for v in values if isinstance(v, str)] + ([failed[impl]] if impl in failed else [])
                cells.append(errors[0][:70] if errors else statistics.median(values) if values else "-")
                if not errors and len(values) > 1 and min(values) > 0 and max(values) / min(values) > SPREAD:
                    noisy.add((workload, metric, impl))
            base, ours = cells
            target = TARGETS.get((workload, metric), "")
            ratio, star = None, ""
            base_metric = metric
            if base == "-" and (workload, metric) in COMPARE_WITH:
                base_metric, star = COMPARE_WITH[(workload, metric)], "*"
                compared = samples["apscheduler"].get(base_metric, [])
                if not compared or any(isinstance(v, str) for v in compared):
                    base_metric = metric
            if samples["apscheduler"].get(base_metric) and not isinstance(ours, str) and not any(
                    isinstance(v, str) for v in samples["apscheduler"][base_metric]):
                # Paired: each repetition ran both sides back to back, so drift cancels out.
                pairs = zip(samples["apscheduler"][base_metric], samples["apscheduler_rs"][metric])
                ratio = statistics.median(o / b if b else float("nan") for b, o in pairs)
            verdict = ("ok" if meets(ratio, target) else "MISS") if ratio is not None and target else ""
            mark = lambda impl: "~" if (workload, metric, impl) in noisy else ""  # noqa: E731
            rows.append((LABELS.get(workload, workload), metric, fmt(base) + mark("apscheduler"),
                         fmt(ours) + mark("apscheduler_rs"),
                         fmt_ratio(ratio) + star if ratio is not None else "-", target, verdict))

    header = ("workload", "metric", "apscheduler", "apscheduler_rs", "ratio", "target", "")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for i, row in enumerate([header, *rows]):
        print("  ".join(str(c).ljust(w) if j < 2 else str(c).rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print("\nratio = apscheduler_rs / apscheduler, median of the per-repetition ratios (throughput: higher is better; ms and bytes: lower)")
    if any(row[4].endswith("*") for row in rows):
        print("* = against APScheduler's single scheduler on the same store (3.x cannot share a store)")
    if noisy:
        print(f"~ = the fastest and slowest run differ by more than {SPREAD:.1f}x: "
              "noisy, try --reps 5 on a quieter machine")
    for note in sorted(notes):
        print("note:", note)
    print(f"total {time.monotonic() - t_start:.0f} s, loadavg now {os.getloadavg()[0]:.2f}, cpu pressure (60 s) {cpu_pressure()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
