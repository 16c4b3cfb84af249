"""Issue #5: several scheduler processes on one store (SQLite file, PostgreSQL, Redis).

Every test runs real node processes (node.py: ``BackgroundScheduler`` +
``ThreadPoolExecutor(20)``) on a real shared store. Jobs record the scheduled run they are
executing (``apscheduler_rs.current_run()``) in a record database that is independent of the
store, with a counter per ``(job id, run time)``; the tests read that record.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from contextlib import closing

import pytest

from .cluster_jobs import shared
from .conftest import Cluster, Node, read_runs

JOBS = 200
NODES = 4
WINDOW = 20  # seconds of runs that must each appear exactly once
CRASH_WINDOW = 19  # the same in the crash test: kill at +4.1 s, stop at +5.1 s for STOP_FOR
LEASE = 3.0  # lease_seconds of the crash test
# How long the SIGSTOPped node stays stopped: past its lease (which ends LEASE after its last
# renewal, renewed every LEASE/3) and the 2 s the store tolerates before it counts a silent
# node as dead, plus a look at the store (0.5 s) to notice it: at most 6.5 s; the rest is
# slack for a loaded VM.
STOP_FOR = 10.0
VISIBLE = 1.0  # a change made on one node is honoured by the others within this
SLACK = 0.5  # scheduling noise allowed on top of VISIBLE on a loaded 2-core VM
US = 1_000_000


def fleet(record: str, t0: int, **options) -> list[dict]:
    """The 200 fixed-id interval jobs: every second from ``t0``, each run recorded (the job
    then lingers up to 50 ms). Every run must fire, so no coalescing and a long grace time;
    ``max_instances=10`` so that a run held by a dead node until it is found dead does not
    make the next runs of its job skip (that is ``max_instances`` working, not a lost run)."""
    return [dict(id=f"job{i:03d}", func="cluster_jobs:record", args=[record, 0.05], trigger="interval",
                 seconds=1, start_date=t0, misfire_grace_time=60, coalesce=False, max_instances=10, **options)
            for i in range(JOBS)]


def add_everywhere(nodes: list[Node], jobs: list[dict]) -> float:
    """Every node adds the same jobs at the same moment: exactly one add per id wins, every
    other add raises ConflictingIdError. Returns when the last node finished."""
    for node in nodes:
        node.send("add", jobs=jobs)
    replies = [node.receive(timeout=60) for node in nodes]
    ids = [job["id"] for job in jobs]
    winners: Counter[str] = Counter()
    for node, reply in zip(nodes, replies):
        assert sorted(reply["won"] + reply["conflicts"]) == sorted(ids), f"node {node.pid}: adds neither won nor conflicted"
        winners.update(reply["won"])
    assert sorted(winners) == sorted(ids), f"ids nobody added: {sorted(set(ids) - set(winners))[:5]}"
    assert set(winners.values()) == {1}, f"ids added twice: {[i for i, c in winners.items() if c > 1][:5]}"
    assert sorted(nodes[0].call("job_ids")["ids"]) == sorted(ids)
    return max(reply["t"] for reply in replies)


def expected_runs(first: int, last: int) -> set[tuple[str, int]]:
    return {(f"job{i:03d}", s * US) for i in range(JOBS) for s in range(first, last + 1)}


def wait_for_runs(record: str, expected: set, until: float, excused=lambda: set()) -> None:
    """Wait until every expected run is recorded (or excused), at most until ``until``."""
    while time.time() < until:
        missing = expected - {(j, r) for j, r, *_ in read_runs(record)}
        if not missing or (len(missing) < 100 and missing <= excused()):
            return
        time.sleep(0.5)


def sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.time()))


def check_no_duplicates(runs: list) -> None:
    twice = [(j, r / US, n) for j, r, n, *_ in runs if n > 1]
    assert not twice, f"{len(twice)} runs executed more than once, e.g. {twice[:5]}"


def check_aligned(runs: list, t0: int) -> None:
    odd = [(j, r / US) for j, r, *_ in runs if (r - t0 * US) % US or not j.startswith("job")]
    assert not odd, f"runs that are not on the schedule: {odd[:5]}"


def spread(runs: list) -> dict[int, int]:
    return dict(Counter(pid for *_, pid, _ in runs))


@pytest.mark.timeout(60)
def test_four_nodes_start_together_on_a_fresh_store(cluster: Cluster):
    """Workers of a web server start at the same moment: each creates the store's tables if
    they are missing, and none may fail because another one just created them."""
    nodes = cluster.start(NODES, together=True)
    t0 = math.ceil(time.time()) + 20
    add_everywhere(nodes, fleet(cluster.spec["record"], t0)[:10])
    cluster.shutdown()


@pytest.mark.timeout(150)
def test_every_run_fires_exactly_once_across_four_nodes(cluster: Cluster):
    """4 nodes add the same 200 jobs at once (one add per id wins), then run them every
    second: each run of a 20 s window is executed exactly once, and no run twice."""
    nodes = cluster.start(NODES)
    t0 = math.ceil(time.time()) + 2
    added = add_everywhere(nodes, fleet(cluster.spec["record"], t0))
    first = max(t0, math.ceil(added))
    last = first + WINDOW
    sleep_until(last + 1)
    expected = expected_runs(first, last)
    wait_for_runs(cluster.spec["record"], expected, last + 15)
    cluster.shutdown()

    runs = read_runs(cluster.spec["record"])
    check_no_duplicates(runs)
    check_aligned(runs, t0)
    missing = expected - {(j, r) for j, r, *_ in runs}
    assert not missing, (f"{len(missing)} of {len(expected)} runs between {first} and {last} never ran, "
                         f"e.g. {sorted(missing)[:5]}; runs per node: {spread(runs)}")


@pytest.mark.timeout(150)
def test_sigkill_and_sigstop_past_the_lease_run_nothing_twice(cluster: Cluster):
    """One node is SIGKILLed mid-run and another SIGSTOPped for longer than its lease, then
    continued: no run twice; a run is missing only if ``lost_runs()`` reports it (it had
    started on a node that died), and only runs that had started can be lost; the stopped
    node's unstarted runs are taken over while it is stopped (except on SQLite when it was
    stopped holding the write lock: then everybody waits, a documented limit)."""
    nodes = cluster.start(NODES, lease_seconds=LEASE)
    t0 = math.ceil(time.time()) + 2
    added = add_everywhere(nodes, fleet(cluster.spec["record"], t0))
    first = max(t0, math.ceil(added))
    last = first + CRASH_WINDOW

    def executing(candidates: list[Node], second: int) -> Node:
        """The node executing the burst of runs due at ``second`` (one node often claims a
        whole burst): the one that has recorded most of them so far."""
        while True:
            per_pid = Counter(pid for _, r, _, pid, _ in read_runs(cluster.spec["record"]) if r == second * US)
            if any(per_pid[n.pid] for n in candidates) or time.time() > second + 0.5:
                return max(candidates, key=lambda n: per_pid[n.pid])
            time.sleep(0.01)

    # Each signal lands about 0.1 s into a burst of 200 due runs, on a node that is executing
    # some of them and still holds others claimed but not started.
    sleep_until(first + 4.08)
    victim = executing(nodes, first + 4)
    victim.kill()
    t_kill = time.time()
    sleep_until(first + 5.08)
    sleeper = executing([n for n in nodes if n is not victim], first + 5)
    sleeper.stop()
    t_stop = time.time()
    sleep_until(t_stop + STOP_FOR)  # well past its lease: the others count it as dead
    sleeper.cont()
    t_cont = time.time()
    observer = next(n for n in nodes if n not in (victim, sleeper))

    def lost() -> set[tuple[str, int]]:
        return {(j, round(r * US)) for j, r, _ in observer.call("lost")["lost"]}

    sleep_until(last + 1)
    expected = expected_runs(first, last)
    wait_for_runs(cluster.spec["record"], expected, last + 15, lost)
    lost_runs = observer.call("lost")["lost"]
    cluster.shutdown()

    runs = read_runs(cluster.spec["record"])
    print(f"killed {victim.pid} at +{t_kill - first:.2f} s, stopped {sleeper.pid} at +{t_stop - first:.2f} s "
          f"until +{t_cont - first:.2f} s; lost runs per node: {Counter(n for *_, n in lost_runs)}; "
          f"runs per node: {spread(runs)}; node ids: { {n.pid: n.node_id for n in nodes} }")
    print("runs per node and second:", {s - first: dict(Counter(p for j, r, _, p, _ in runs if r // US == s))
                                         for s in range(first, last + 1)})
    check_no_duplicates(runs)
    check_aligned(runs, t0)
    lost_set = {(j, round(r * US)) for j, r, _ in lost_runs}
    missing = expected - {(j, r) for j, r, *_ in runs}
    unexplained = missing - lost_set
    assert not unexplained, (f"{len(unexplained)} runs between {first} and {last} never ran and are not in "
                             f"lost_runs(), e.g. {sorted(unexplained)[:5]} (killed at {t_kill:.1f}, "
                             f"stopped at {t_stop:.1f}); runs per node: {spread(runs)}")
    # Only runs that had started on the two dead nodes can be lost: at most 20 each (the size
    # of their thread pools), scheduled no later than the moment the node stopped.
    assert victim.node_id and sleeper.node_id, "store.node_id is missing"
    assert len(lost_set) == len(lost_runs), f"lost_runs() lists a run twice: {lost_runs}"
    per_node = Counter(node for *_, node in lost_runs)
    assert set(per_node) <= {victim.node_id, sleeper.node_id}, f"runs lost on live nodes: {lost_runs}"
    assert max(per_node.values(), default=0) <= 20, f"more lost runs than worker threads: {per_node}"
    late = [(j, r) for j, r, _ in lost_runs if r > t_stop]
    assert not late, f"runs reported lost that were scheduled after both nodes had stopped: {late[:5]}"
    # The others went on while the node was stopped, and took its unstarted runs over then.
    # (SQLite's documented limit: a node stopped while it holds the file's write lock stalls
    # the others until it continues. Nothing may run twice even then, but nothing is taken over.)
    # On SQLite the stall shows as: nothing started elsewhere during the stop, or the stopped
    # node never found dead (none of its runs reported lost).
    went_on = [(j, r / US, pid, started - t_stop) for j, r, n, pid, started in runs if t_stop + 1 < started < t_cont]
    if cluster.spec["kind"] == "sqlite" and (not went_on or sleeper.node_id not in per_node):
        print(f"the stopped node held the SQLite write lock: the others waited for it; "
              f"started during the stop: {went_on[:5]}")
        return
    assert went_on, "no run started anywhere while one node was stopped"
    held = sorted((j, r / US, started - t_cont) for j, r, n, pid, started in runs
                  if r / US <= t_stop and started >= t_cont and (j, r) not in lost_set)
    assert not held, (f"{len(held)} runs due before the SIGSTOP started only after the SIGCONT "
                      f"({STOP_FOR:.0f} s later), e.g. {held[:3]}: the stopped node's claims were not taken over; "
                      f"started during the stop: {went_on[:5]}")


@pytest.mark.timeout(90)
def test_max_instances_one_holds_across_the_cluster(cluster: Cluster):
    """A job slower than its interval, ``max_instances=1``, on 4 nodes: it runs again and
    again, and never while another instance of it is running on any node."""
    record = cluster.spec["record"]
    with closing(shared(record)) as conn:
        conn.execute("INSERT INTO gauge VALUES ('slow', 0)")
    nodes = cluster.start(NODES)
    t0 = math.ceil(time.time()) + 2
    add_everywhere(nodes, [dict(id="slow", func="cluster_jobs:slow", args=[record, 2.5, "slow"],
                                trigger="interval", seconds=1, start_date=t0, max_instances=1,
                                misfire_grace_time=30)])
    sleep_until(t0 + 9.5)  # starts expected at +0, +3, +6, +9 s
    cluster.shutdown()

    with closing(shared(record)) as conn:
        spans = conn.execute("SELECT pid, started, ended, running_at_start FROM spans ORDER BY started").fetchall()
        (left,) = conn.execute("SELECT running FROM gauge WHERE name = 'slow'").fetchone()
    assert left == 0
    overlapping = [s for s in spans if s[3] != 1]
    assert not overlapping, f"instances that started while another was running: {overlapping}"
    for before, after in zip(spans, spans[1:]):
        assert after[1] >= before[2], f"two instances at once: {before} and {after}"
    assert len(spans) >= 3, f"the job ran only {len(spans)} times in 9.5 s: {spans}"
    check_no_duplicates(read_runs(record))


@pytest.mark.timeout(90)
def test_changes_on_one_node_are_honoured_by_the_others_within_a_second(cluster: Cluster):
    """Node 0 (paused, so it runs nothing itself) adds, reschedules, pauses, resumes and
    removes jobs; the three other nodes must act on each change within a second."""
    record = cluster.spec["record"]
    changer = cluster.start(1, paused=True)[0]
    workers = cluster.start(3)
    worker_pids = {n.pid for n in workers}
    limit = VISIBLE + SLACK

    def starts(job_id: str) -> list[tuple[float, int]]:
        return sorted((started, pid) for j, _, _, pid, started in read_runs(record) if j == job_id)

    def first_start(job_id: str, timeout: float = 5) -> tuple[float, int]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if found := starts(job_id):
                return found[0]
            time.sleep(0.05)
        pytest.fail(f"{job_id} never ran on any node")

    def job(job_id: str, trigger: str, **args) -> dict:
        return dict(id=job_id, func="cluster_jobs:record", args=[record], trigger=trigger,
                    misfire_grace_time=30, **args)

    time.sleep(1.5)  # every worker is idle, with no job in sight

    # Added: a date job due shortly.
    due = time.time() + 0.3
    added = changer.call("add", jobs=[job("added", "date", run_date=due)])
    started, pid = first_start("added")
    assert pid in worker_pids
    assert started - max(due, added["t"]) <= limit, f"an added job ran {started - max(due, added['t']):.2f} s late"

    # Modified: a job due in an hour is brought forward.
    changer.call("add", jobs=[job("moved", "interval", hours=1)])
    time.sleep(1.2)  # the workers have seen it due in an hour
    due = time.time() + 0.3
    moved = changer.call("modify_job", id="moved", changes={"next_run_time": due})
    started, pid = first_start("moved")
    assert pid in worker_pids
    assert started - max(due, moved["t"]) <= limit, f"a modified job ran {started - max(due, moved['t']):.2f} s late"

    # Paused, resumed and removed: a job every 0.25 s.
    changer.call("add", jobs=[job("tick", "interval", seconds=0.25)])
    time.sleep(1.5)
    assert len(starts("tick")) >= 3
    paused = changer.call("pause_job", id="tick")["t"]
    time.sleep(limit + 0.75)
    after = [s for s, _ in starts("tick") if s > paused + limit]
    assert not after, f"a paused job still ran {after[0] - paused:.2f} s after pause_job returned"
    resumed = changer.call("resume_job", id="tick")["t"]
    started = first_start_after("tick", resumed, starts)
    assert started - resumed <= 0.25 + limit, f"a resumed job ran {started - resumed:.2f} s after resume_job"
    time.sleep(1.0)
    removed = changer.call("remove_job", id="tick")["t"]
    time.sleep(limit + 0.75)
    after = [s for s, _ in starts("tick") if s > removed + limit]
    assert not after, f"a removed job still ran {after[0] - removed:.2f} s after remove_job returned"
    assert {pid for _, pid in starts("tick")} <= worker_pids
    cluster.shutdown()
    check_no_duplicates(read_runs(record))


def first_start_after(job_id: str, t: float, starts, timeout: float = 5) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        later = [s for s, _ in starts(job_id) if s > t]
        if later:
            return later[0]
        time.sleep(0.05)
    pytest.fail(f"{job_id} did not run again after being resumed")
