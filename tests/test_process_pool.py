"""The native ProcessPoolExecutor (issue #6): real worker processes, real crashes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import procpool_jobs as jobs
from apscheduler_rs.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler_rs.executors.pool import ProcessPoolExecutor
from apscheduler_rs.schedulers.background import BackgroundScheduler

pytestmark = pytest.mark.timeout(60)


class Collector:
    def __init__(self):
        self.events = []
        self.cond = threading.Condition()

    def __call__(self, event):
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait(self, count, timeout=20):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.events) >= count, timeout), self.events
        return self.events

    def by_id(self):
        return {e.job_id: e for e in self.events}


@pytest.fixture
def run():
    """A started scheduler with a process pool; yields (scheduler, executor, collector)."""
    made = []

    def make(max_workers=2, **pool_kwargs):
        executor = ProcessPoolExecutor(max_workers, pool_kwargs or None)
        sched = BackgroundScheduler(timezone="UTC", executors={"default": executor})
        collector = Collector()
        sched.add_listener(collector, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        sched.start()
        made.append(sched)
        return sched, executor, collector

    yield make
    for sched in made:
        if sched.running:
            sched.shutdown()


def test_return_value_and_exception_reach_events(run):
    sched, _, got = run()
    sched.add_job(jobs.square, args=[12], id="ok")
    sched.add_job(jobs.fail, args=["nope"], id="bad")
    events = got.wait(2)
    by_id = {e.job_id: e for e in events}
    assert by_id["ok"].code == EVENT_JOB_EXECUTED and by_id["ok"].retval == 144
    bad = by_id["bad"]
    assert bad.code == EVENT_JOB_ERROR
    assert isinstance(bad.exception, ValueError) and str(bad.exception) == "nope"
    assert "in fail" in bad.traceback and "raise ValueError(message)" in bad.traceback


def test_jobs_really_run_in_other_processes(run):
    sched, _, got = run()
    sched.add_job(jobs.pid, id="p")
    (event,) = got.wait(1)
    assert event.retval != os.getpid()


@pytest.mark.parametrize("func,args,how", [(jobs.kill_self, [], "signal 9"), (jobs.exit_abruptly, [7], "exit code 7")])
def test_dead_worker_fails_only_its_job_and_is_replaced(run, func, args, how):
    sched, executor, got = run(max_workers=1)
    sched.add_job(jobs.pid, id="before")
    got.wait(1)
    sched.add_job(func, args=args, id="dies")
    got.wait(2)
    for i in range(3):
        sched.add_job(jobs.pid, id=f"after{i}")
    events = got.wait(5)
    by_id = {e.job_id: e for e in events}
    dead = by_id["dies"]
    assert dead.code == EVENT_JOB_ERROR
    assert how in str(dead.exception)
    after = {by_id[f"after{i}"].retval for i in range(3)}
    assert all(by_id[f"after{i}"].code == EVENT_JOB_EXECUTED for i in range(3))
    assert len(after) == 1 and by_id["before"].retval not in after  # one fresh worker
    assert executor._pool.spawned == 2
    assert executor._instances == {}


def test_max_tasks_per_child_recycles_workers(run):
    sched, executor, got = run(max_workers=1, max_tasks_per_child=2)
    assert executor.pool_kwargs["max_tasks_per_child"] == 2
    for i in range(6):
        sched.add_job(jobs.pid, id=f"j{i}")
    events = got.wait(6)
    pids = [e.retval for e in events]
    assert len(set(pids)) == 3
    assert all(pids.count(p) == 2 for p in set(pids))


def test_thousand_jobs_complete_with_a_flat_worker_count(run):
    sched, executor, got = run(max_workers=3)
    seen_counts = []
    for i in range(1000):
        sched.add_job(jobs.pid, id=f"n{i}")
        if i % 100 == 0:
            seen_counts.append(len(executor._pool.worker_pids()))
    events = got.wait(1000, timeout=40)
    assert all(e.code == EVENT_JOB_EXECUTED for e in events)
    assert len({e.retval for e in events}) <= 3
    assert executor._pool.spawned <= 3
    assert max(seen_counts) <= 3 and len(executor._pool.worker_pids()) <= 3


def test_unpicklable_job_is_an_executor_error_without_job_event(run, caplog):
    sched, executor, got = run()
    caplog.set_level(logging.ERROR, "apscheduler.executors.default")
    sched.add_job(lambda: None, id="lam")
    sched.add_job(jobs.unpicklable_result, id="res")
    deadline = time.time() + 10
    while len([r for r in caplog.records if r.getMessage().startswith("Error running job")]) < 2:
        assert time.time() < deadline
        time.sleep(0.02)
    messages = {r.getMessage() for r in caplog.records}
    assert {"Error running job lam", "Error running job res"} <= messages
    assert got.events == []
    assert executor._instances == {}


def test_initializer_runs_in_each_worker(run):
    sched, _, got = run(max_workers=1, initializer=jobs.initializer, initargs=("ready",))
    sched.add_job(jobs.initialized, id="i")
    assert got.wait(1)[0].retval == ["ready"]


def test_shutdown_stops_the_workers(run):
    sched, executor, got = run(max_workers=2)
    sched.add_job(jobs.pid, id="a")
    pid = got.wait(1)[0].retval
    sched.shutdown()
    assert executor._pool.worker_pids() == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_constructor_options_like_upstream():
    executor = ProcessPoolExecutor("3")
    assert executor._pool.max_workers == 3
    assert executor.pool_kwargs["mp_context"].get_start_method() == "spawn"
    with pytest.raises(ValueError, match="max_workers must be greater than 0"):
        ProcessPoolExecutor(0)
    with pytest.raises(ValueError, match="max_tasks_per_child must be >= 1"):
        ProcessPoolExecutor(1, {"max_tasks_per_child": 0})
    with pytest.raises(TypeError):
        ProcessPoolExecutor(1, {"bogus": 1})


def test_works_when_the_main_module_is_a_script(tmp_path):
    script = tmp_path / "main_script.py"
    script.write_text(textwrap.dedent("""
        import threading
        from apscheduler_rs.schedulers.background import BackgroundScheduler
        from apscheduler_rs.executors.pool import ProcessPoolExecutor
        from apscheduler_rs.events import EVENT_JOB_EXECUTED

        def triple(x):
            return x * 3

        if __name__ == "__main__":
            done = threading.Event()
            result = []
            sched = BackgroundScheduler(timezone="UTC", executors={"default": ProcessPoolExecutor(1)})
            sched.add_listener(lambda e: (result.append(e.retval), done.set()), EVENT_JOB_EXECUTED)
            sched.start()
            sched.add_job(triple, args=[14])
            assert done.wait(20)
            sched.shutdown()
            print("RESULT", result[0])
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=40, cwd=tmp_path)
    assert "RESULT 42" in out.stdout, out.stderr


def test_jobs_queued_behind_a_dying_job_still_run(run):
    sched, executor, got = run(max_workers=1)
    sched.add_job(jobs.pid, id="warm")
    got.wait(1)
    sched.pause()
    sched.add_job(jobs.kill_self, id="dies")
    for i in range(4):
        sched.add_job(jobs.pid, id=f"behind{i}")
    sched.resume()
    by_id = {e.job_id: e for e in got.wait(6)}
    assert by_id["dies"].code == EVENT_JOB_ERROR
    assert all(by_id[f"behind{i}"].code == EVENT_JOB_EXECUTED for i in range(4))


def test_a_long_job_does_not_hold_a_short_one_while_a_worker_is_idle(run):
    sched, _, got = run(max_workers=2)
    sched.add_job(jobs.pid, id="warm1")
    sched.add_job(jobs.pid, id="warm2")
    got.wait(2)
    sched.add_job(jobs.slow, args=[2.0], id="long")
    time.sleep(0.2)
    started = time.monotonic()
    sched.add_job(jobs.pid, id="short")
    deadline = time.monotonic() + 10
    while "short" not in got.by_id():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert time.monotonic() - started < 1.5
