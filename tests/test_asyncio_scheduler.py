"""AsyncIOScheduler and AsyncIOExecutor (issue #6): jobs on a real asyncio event loop."""

from __future__ import annotations

import asyncio
import functools
import threading
from datetime import datetime, timedelta, timezone

import pytest

from apscheduler_rs.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    EVENT_SCHEDULER_SHUTDOWN,
    EVENT_SCHEDULER_STARTED,
)
from apscheduler_rs.executors.asyncio import AsyncIOExecutor
from apscheduler_rs.schedulers import SchedulerNotRunningError
from apscheduler_rs.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from apscheduler_rs.schedulers.base import STATE_RUNNING, STATE_STOPPED

pytestmark = pytest.mark.timeout(30)


async def until(cond, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def add(a, b):
    await asyncio.sleep(0)
    return a + b, threading.current_thread() is threading.main_thread()


def sync_add(a, b):
    return a + b, threading.current_thread() is threading.main_thread()


async def boom():
    await asyncio.sleep(0)
    raise ValueError("coroutine failed")


def collect(sched, mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR):
    events = []
    sched.add_listener(events.append, mask)
    return events


def test_start_outside_a_running_loop_raises_and_stays_stopped():
    sched = AsyncIOScheduler(timezone="UTC")
    with pytest.raises(RuntimeError, match="no running event loop"):
        sched.start()
    assert sched.state == STATE_STOPPED


def test_wakeup_before_start_is_an_attribute_error_like_upstream():
    with pytest.raises(AttributeError):
        AsyncIOScheduler(timezone="UTC").wakeup()


def test_coroutine_job_is_awaited_on_the_loop_with_asyncio_run():
    async def main():
        sched = AsyncIOScheduler(timezone="UTC")
        events = collect(sched)
        sched.add_job(add, args=[2, 3], id="coro")
        sched.start()
        await until(lambda: events)
        sched.shutdown()
        await asyncio.sleep(0.01)
        return events

    (event,) = asyncio.run(main())
    assert event.code == EVENT_JOB_EXECUTED
    assert event.retval == (5, True)  # awaited, on the loop thread


async def test_partial_of_a_coroutine_function_is_awaited_too():
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)
    sched.start()
    sched.add_job(functools.partial(functools.partial(add, 1), 1), id="p")
    await until(lambda: events)
    assert events[0].retval == (2, True)
    sched.shutdown()


async def test_plain_function_runs_in_the_loops_default_executor():
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)
    sched.start()
    sched.add_job(sync_add, args=[1, 2], id="s")
    await until(lambda: events)
    assert events[0].retval == (3, False)
    sched.shutdown()


async def test_coroutine_exception_reaches_the_error_event():
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)
    sched.start()
    sched.add_job(boom, id="b")
    await until(lambda: events)
    assert events[0].code == EVENT_JOB_ERROR
    assert isinstance(events[0].exception, ValueError)
    assert "boom" in events[0].traceback
    sched.shutdown()


async def test_listeners_see_start_submitted_executed_and_shutdown():
    sched = AsyncIOScheduler(timezone="UTC")
    codes = []
    sched.add_listener(lambda e: codes.append(e.code))
    sched.add_job(add, args=[0, 0], id="x")
    sched.start()
    await until(lambda: EVENT_JOB_EXECUTED in codes)
    sched.shutdown()
    await until(lambda: EVENT_SCHEDULER_SHUTDOWN in codes)
    assert codes.index(EVENT_SCHEDULER_STARTED) < codes.index(EVENT_JOB_EXECUTED)
    assert EVENT_JOB_SUBMITTED in codes


def test_start_before_the_loop_runs_with_event_loop_given():
    loop = asyncio.new_event_loop()
    try:
        sched = AsyncIOScheduler(timezone="UTC", event_loop=loop)
        events = collect(sched)
        sched.add_job(add, args=[20, 22], id="early")
        sched.start()  # the loop is not running yet
        assert sched.state == STATE_RUNNING
        loop.run_until_complete(until(lambda: events))
        assert events[0].retval == (42, True)
        sched.shutdown()
        loop.run_until_complete(asyncio.sleep(0.01))
        assert sched.state == STATE_STOPPED
    finally:
        loop.close()


async def test_shutdown_is_scheduled_on_the_loop_and_restart_in_same_loop_works():
    sched = AsyncIOScheduler(timezone="UTC")
    sched.start()
    sched.shutdown()
    assert sched.running  # only scheduled
    await asyncio.sleep(0.01)
    assert not sched.running
    with pytest.raises(SchedulerNotRunningError):
        sched.shutdown()
    events = collect(sched)
    sched.start()  # picks up the running loop again
    sched.add_job(add, args=[1, 1], id="again")
    await until(lambda: events)
    sched.shutdown()


async def test_shutdown_from_a_coroutine_job_inside_the_loop():
    sched = AsyncIOScheduler(timezone="UTC")
    stopped = []
    sched.add_listener(lambda e: stopped.append(e), EVENT_SCHEDULER_SHUTDOWN)

    async def stop_me():
        sched.shutdown()

    sched.start()
    sched.add_job(stop_me, id="stop")
    await until(lambda: stopped)
    assert sched.state == STATE_STOPPED


async def test_job_added_from_another_thread_wakes_the_loop():
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)
    sched.start()
    # A far-away job arms a long timer; a job added later from a thread must not wait for it.
    sched.add_job(add, "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), args=[0, 0])
    await asyncio.sleep(0.02)
    t = threading.Thread(target=lambda: sched.add_job(sync_add, args=[4, 4], id="from-thread"))
    t.start()
    t.join()
    await until(lambda: events)
    assert events[0].job_id == "from-thread"
    sched.shutdown()


async def test_interval_job_repeats_on_the_loop():
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)
    sched.start()
    sched.add_job(add, "interval", seconds=0.05, args=[1, 0], next_run_time=datetime.now(timezone.utc))
    await until(lambda: len(events) >= 3)
    sched.shutdown()


async def test_pending_futures_are_tracked_and_cancelled_at_shutdown():
    sched = AsyncIOScheduler(timezone="UTC")
    started = asyncio.Event()

    async def forever():
        started.set()
        await asyncio.sleep(3600)

    errors = collect(sched, EVENT_JOB_ERROR)
    sched.start()
    sched.add_job(forever, id="forever")
    await asyncio.wait_for(started.wait(), 5)
    executor = sched._executors["default"]
    assert isinstance(executor, AsyncIOExecutor)
    (future,) = executor._pending_futures
    sched.shutdown()
    await asyncio.sleep(0.01)
    # The cancellation lands inside the job's await: like upstream, it is the job's error.
    assert future.done()
    assert isinstance(errors[0].exception, asyncio.CancelledError)
    assert not executor._pending_futures


async def test_run_in_event_loop_runs_the_method_on_the_loop():
    class Thing:
        def __init__(self):
            self._eventloop = asyncio.get_running_loop()
            self.threads = []

        @run_in_event_loop
        def record(self, value):
            self.threads.append((value, threading.current_thread().name))

    thing = Thing()
    t = threading.Thread(target=thing.record, args=(1,), name="other")
    t.start()
    t.join()
    await until(lambda: thing.threads)
    assert thing.threads == [(1, threading.current_thread().name)]


# --- the native coroutine path and its fall-backs ------------------------------------------


async def test_coroutine_called_with_wrong_arguments_is_a_job_error():
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)
    sched.start()
    job = sched.add_job(add, args=[1, 2], id="w")
    job.args = (1,)  # bypass add_job's signature check, as a store could
    await until(lambda: events)
    assert events[0].code == EVENT_JOB_ERROR and isinstance(events[0].exception, TypeError)
    sched.shutdown()


async def test_bound_async_method_is_awaited():
    class Service:
        async def ping(self, x):
            await asyncio.sleep(0)
            return ("pong", x)

    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)
    sched.start()
    sched.add_job(Service().ping, args=[3], id="m")
    await until(lambda: events)
    assert events[0].retval == ("pong", 3)
    sched.shutdown()


async def test_max_instances_counts_running_coroutines():
    from apscheduler_rs.events import EVENT_JOB_MAX_INSTANCES

    sched = AsyncIOScheduler(timezone="UTC")
    skipped = []
    sched.add_listener(skipped.append, EVENT_JOB_MAX_INSTANCES)
    release = asyncio.Event()

    async def long():
        await release.wait()

    sched.start()
    sched.add_job(long, "interval", seconds=0.02, next_run_time=datetime.now(timezone.utc), id="long")
    await until(lambda: skipped)
    executor = sched._executors["default"]
    assert executor._instances == {"long": 1}
    release.set()
    sched.shutdown()


async def test_missed_and_batched_run_times_take_the_general_path():
    from apscheduler_rs.events import EVENT_JOB_MISSED

    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    sched.start()
    past = datetime.now(timezone.utc) - timedelta(seconds=2.35)
    # Past run times, not coalesced: one batch of several run times.
    sched.add_job(add, "interval", seconds=1, args=[1, 1], next_run_time=past, coalesce=False,
                  misfire_grace_time=None, id="batch")
    sched.add_job(add, "date", run_date=past, args=[0, 0], misfire_grace_time=1, id="late")
    await until(lambda: sum(e.job_id == "batch" for e in events) >= 3 and any(e.job_id == "late" for e in events))
    late = [e for e in events if e.job_id == "late"]
    assert late[0].code == EVENT_JOB_MISSED
    sched.shutdown()


async def test_subclass_submit_hook_is_honoured():
    calls = []

    class Mine(AsyncIOExecutor):
        def _do_submit_job(self, job, run_times):
            calls.append(job.id)
            super()._do_submit_job(job, run_times)

    sched = AsyncIOScheduler(timezone="UTC", executors={"default": Mine()})
    events = collect(sched)
    sched.start()
    sched.add_job(add, args=[2, 2], id="sub")
    await until(lambda: events)
    assert calls == ["sub"] and events[0].retval == (4, True)
    sched.shutdown()


# --- the native runner: tasks, chunks, and what a job sees -----------------------------------


async def test_a_coroutine_job_runs_in_its_own_task_with_task_features():
    import contextvars
    import sys

    var = contextvars.ContextVar("var", default="loop")
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)
    seen = {}

    async def inspect_task():
        task = asyncio.current_task()  # before the first await, too
        seen["task"] = task
        seen["pending"] = task in sched._executors["default"]._pending_futures
        var.set("job")
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(5):
                await asyncio.sleep(0)
        else:
            await asyncio.wait_for(asyncio.sleep(0), 5)
        seen["same"] = asyncio.current_task() is task
        seen["repr"] = repr(task)
        return var.get()

    sched.start()
    sched.add_job(inspect_task, id="t")
    await until(lambda: events)
    assert events[0].code == EVENT_JOB_EXECUTED and events[0].retval == "job"
    assert isinstance(seen["task"], asyncio.Task)
    assert seen["pending"] and seen["same"]
    assert "inspect_task" in seen["repr"]
    assert var.get() == "loop"  # the job's context was a copy
    assert seen["task"].done() and seen["task"] not in sched._executors["default"]._pending_futures
    sched.shutdown()


async def test_a_job_that_finishes_without_awaiting_reports_like_any_other():
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)

    async def instant(x):
        return x * 2

    async def instant_boom():
        raise KeyError("instant")

    sched.start()
    sched.add_job(instant, args=[21], id="ok")
    sched.add_job(instant_boom, id="bad")
    await until(lambda: len(events) == 2)
    by_id = {e.job_id: e for e in events}
    assert by_id["ok"].code == EVENT_JOB_EXECUTED and by_id["ok"].retval == 42
    assert by_id["bad"].code == EVENT_JOB_ERROR and isinstance(by_id["bad"].exception, KeyError)
    assert "instant_boom" in by_id["bad"].traceback
    assert sched._executors["default"]._instances == {}
    sched.shutdown()


async def test_a_burst_larger_than_a_chunk_runs_in_order_and_is_all_pending():
    from apscheduler_rs.events import EVENT_JOB_SUBMITTED

    sched = AsyncIOScheduler(timezone="UTC")
    executor = AsyncIOExecutor()
    sched.add_executor(executor)
    executor._runner.chunk = 3
    order = []
    release = asyncio.Event()
    submitted = collect(sched, EVENT_JOB_SUBMITTED)
    events = collect(sched)

    async def job(i):
        order.append(i)
        await release.wait()
        return i

    sched.start(paused=True)
    now = datetime.now(timezone.utc)
    for i in range(20):
        sched.add_job(job, "date", run_date=now, args=[i], id=f"j{i:02}", misfire_grace_time=None)
    sched.resume()
    await until(lambda: len(submitted) == 20)
    # Reading _pending_futures starts every queued run: all 20 tasks are there at once.
    assert len(executor._pending_futures) == 20
    await until(lambda: len(order) == 20)
    assert order == list(range(20))
    release.set()
    await until(lambda: len(events) == 20)
    assert sorted(e.retval for e in events) == list(range(20))
    assert not executor._pending_futures and executor._instances == {}
    sched.shutdown()


async def test_queued_runs_are_cancelled_at_shutdown_and_release_their_instances(caplog):
    sched = AsyncIOScheduler(timezone="UTC")
    executor = AsyncIOExecutor()
    sched.add_executor(executor)
    executor._runner.chunk = 2
    ran = []

    async def job(i):
        ran.append(i)

    sched.start(paused=True)
    now = datetime.now(timezone.utc)
    for i in range(10):
        sched.add_job(job, "date", run_date=now, args=[i], misfire_grace_time=None)
    sched.resume()
    await asyncio.sleep(0)  # the pass runs; at most one chunk has been started
    sched.shutdown()
    await asyncio.sleep(0.05)
    assert len(ran) < 10
    assert executor._instances == {}
    assert not sched.running


async def test_the_misfire_check_happens_when_the_task_starts():
    from apscheduler_rs.events import EVENT_JOB_MISSED

    sched = AsyncIOScheduler(timezone="UTC")
    executor = AsyncIOExecutor()
    sched.add_executor(executor)
    executor._runner.chunk = 1
    events = collect(sched, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)

    async def slow_start():
        import time

        time.sleep(1.2)  # blocks the loop: later queued runs start late

    async def quick():
        return "ran"

    sched.start(paused=True)
    now = datetime.now(timezone.utc)
    sched.add_job(slow_start, "date", run_date=now, id="a-slow", misfire_grace_time=None)
    sched.add_job(quick, "date", run_date=now, id="b-late", misfire_grace_time=1)
    sched.resume()
    await until(lambda: len(events) == 2)
    late = next(e for e in events if e.job_id == "b-late")
    assert late.code == EVENT_JOB_MISSED
    sched.shutdown()


async def test_direct_submit_shows_in_pending_futures_and_is_cancelled_at_shutdown():
    sched = AsyncIOScheduler(timezone="UTC")
    sched.start(paused=True)
    executor = sched._executors["default"]
    job = sched.add_job(add, "interval", seconds=60, args=[1, 2], id="direct")
    executor.submit_job(job, [datetime.now(timezone.utc)])
    futures = executor._pending_futures.copy()
    assert len(futures) == 1
    executor.shutdown()
    with pytest.raises(asyncio.CancelledError):
        await futures.pop()
    assert executor._instances == {}
    sched.shutdown()


async def test_system_exit_in_a_coroutine_job_is_the_jobs_error_as_in_3x():
    sched = AsyncIOScheduler(timezone="UTC")
    events = collect(sched)

    async def leave():
        await asyncio.sleep(0)
        raise SystemExit(3)

    sched.start()
    sched.add_job(leave, id="exit")
    await until(lambda: events)
    assert events[0].code == EVENT_JOB_ERROR and isinstance(events[0].exception, SystemExit)
    assert sched.running
    sched.shutdown()


@pytest.mark.skipif(not hasattr(asyncio, "eager_task_factory"), reason="Python 3.12+")
async def test_an_eager_task_factory_is_honoured():
    loop = asyncio.get_running_loop()
    loop.set_task_factory(asyncio.eager_task_factory)
    try:
        sched = AsyncIOScheduler(timezone="UTC")
        events = collect(sched)
        seen = []

        async def instant():
            seen.append(asyncio.current_task())
            return "eager"

        async def slow():
            await asyncio.sleep(0.01)
            return "slow"

        sched.start()
        sched.add_job(instant, id="instant")
        sched.add_job(slow, id="slow")
        await until(lambda: len(events) == 2)
        assert {e.retval for e in events} == {"eager", "slow"}
        assert isinstance(seen[0], asyncio.Task)
        assert not sched._executors["default"]._pending_futures
        sched.shutdown()
    finally:
        loop.set_task_factory(None)


async def test_a_task_factory_that_fails_is_logged_and_releases_the_instance(caplog):
    loop = asyncio.get_running_loop()
    sched = AsyncIOScheduler(timezone="UTC")
    sched.start()
    executor = sched._executors["default"]

    def factory(loop, coro, **kwargs):
        coro.close()
        raise RuntimeError("no tasks today")

    loop.set_task_factory(factory)
    try:
        with caplog.at_level("ERROR", logger="apscheduler.executors.default"):
            sched.add_job(add, args=[1, 1], id="nofactory")
            await until(lambda: any("Error running job" in r.getMessage() for r in caplog.records))
    finally:
        loop.set_task_factory(None)
    assert executor._instances == {}
    assert not executor._pending_futures
    sched.shutdown()
