"""How close `IntervalTrigger.get_next_fire_time` is to the floor of a Python call.

    python benches/trigger_floor.py [seconds]

Times, in CPU time per iteration (best of 5 rounds, so a busy VM hurts less than in
wall-clock runs), the loop the `trigger` workload runs (`prev = nxt(prev, prev)`, 499 calls
per round) with:

- `operator.is_(prev, prev)`: a C function of two arguments that allocates nothing;
- `prev + td` and `td.__radd__(prev)`: C code that returns a new aware `datetime`;
- APScheduler 3.11.3's and apscheduler_rs's `IntervalTrigger(seconds=7)` in Europe/Berlin.

The workload's 20x target leaves APScheduler's time / 20 per call; the floors show how much
of that the interpreter and the result `datetime` take before any trigger arithmetic.
"""
from __future__ import annotations

import operator
import sys
import time
from datetime import datetime, timedelta, timezone


def per_call(step, seconds):
    best = float("inf")
    for _ in range(5):
        calls, t0 = 0, time.process_time()
        while True:
            step()
            calls += 499
            elapsed = time.process_time() - t0
            if elapsed >= seconds / 5:
                break
        best = min(best, elapsed / calls * 1e9)
    return best


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    from apscheduler.triggers.interval import IntervalTrigger as ApInterval

    from apscheduler_rs.triggers.interval import IntervalTrigger as RsInterval

    td = timedelta(seconds=7)
    steps = {}
    for name, cls in (("apscheduler", ApInterval), ("apscheduler_rs", RsInterval)):
        t = cls(seconds=7, timezone="Europe/Berlin")
        start = datetime(2026, 1, 1, tzinfo=timezone.utc).astimezone(t.timezone)

        def walk(nxt=t.get_next_fire_time, first=t.get_next_fire_time(None, start)):
            prev = first
            for _ in range(499):
                prev = nxt(prev, prev)

        steps[f"{name} IntervalTrigger.get_next_fire_time"] = walk

    def bare_call(is_=operator.is_):
        prev = start
        for _ in range(499):
            is_(prev, prev)

    def add():
        prev = start
        for _ in range(499):
            prev = prev + td

    def radd(radd=td.__radd__):
        prev = start
        for _ in range(499):
            prev = radd(prev)

    steps["floor: operator.is_(prev, prev)"] = bare_call
    steps["floor: prev + td"] = add
    steps["floor: td.__radd__(prev)"] = radd
    results = {name: per_call(step, seconds) for name, step in steps.items()}
    for name, ns in results.items():
        print(f"{name:48s} {ns:8.1f} ns/call")
    target = results["apscheduler IntervalTrigger.get_next_fire_time"] / 20
    print(f"{'20x target (apscheduler / 20)':48s} {target:8.1f} ns/call")


if __name__ == "__main__":
    main()
