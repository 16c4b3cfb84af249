"""TornadoScheduler, TwistedScheduler and GeventScheduler with the real libraries (issue #6)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from apscheduler_rs.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_SCHEDULER_SHUTDOWN
from apscheduler_rs.schedulers.base import STATE_STOPPED

pytestmark = pytest.mark.timeout(60)


def on_main():
    return threading.current_thread() is threading.main_thread()


async def coro_job(x):
    await asyncio.sleep(0)
    return x, on_main()


def sync_job(x):
    return x, on_main()


# --- tornado ------------------------------------------------------------------------------


async def test_tornado_scheduler_runs_coroutines_on_the_ioloop_and_functions_in_threads():
    pytest.importorskip("tornado")
    from apscheduler_rs.executors.tornado import TornadoExecutor
    from apscheduler_rs.schedulers.tornado import TornadoScheduler

    sched = TornadoScheduler(timezone="UTC")
    events = {}
    sched.add_listener(lambda e: events.__setitem__(e.job_id, e), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    sched.add_job(coro_job, args=["c"], id="c")
    sched.start()
    sched.add_job(sync_job, args=["s"], id="s")
    for _ in range(500):
        if len(events) == 2:
            break
        await asyncio.sleep(0.01)
    assert isinstance(sched._executors["default"], TornadoExecutor)
    assert events["c"].retval == ("c", True)
    assert events["s"].retval == ("s", False)

    # A job added from another thread wakes the IOLoop before a far-away timer would.
    sched.add_job(sync_job, "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), args=["far"])
    await asyncio.sleep(0.02)
    t = threading.Thread(target=lambda: sched.add_job(sync_job, args=["t"], id="t"))
    t.start()
    t.join()
    for _ in range(500):
        if "t" in events:
            break
        await asyncio.sleep(0.01)
    assert events["t"].retval == ("t", False)

    sched.shutdown()
    assert sched.running  # scheduled on the IOLoop
    await asyncio.sleep(0.05)
    assert sched.state == STATE_STOPPED


# --- twisted (the reactor runs once per process: in a child interpreter) --------------------


def test_twisted_scheduler_runs_jobs_in_the_reactor_thread_pool():
    pytest.importorskip("twisted")
    script = textwrap.dedent("""
        import threading
        from twisted.internet import reactor
        from apscheduler_rs.schedulers.twisted import TwistedScheduler, run_in_reactor
        from apscheduler_rs.executors.twisted import TwistedExecutor
        from apscheduler_rs.events import EVENT_JOB_EXECUTED, EVENT_JOB_ERROR, EVENT_SCHEDULER_SHUTDOWN

        results = {}

        def job(x):
            return x * 2, threading.current_thread() is threading.main_thread()

        def bad():
            raise KeyError("oops")

        sched = TwistedScheduler(timezone="UTC")

        def listener(event):
            if event.code == EVENT_SCHEDULER_SHUTDOWN:
                reactor.stop()
                return
            results[event.job_id] = event
            if len(results) == 3:
                sched.shutdown()

        sched.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_SCHEDULER_SHUTDOWN)
        sched.add_job(job, args=[21], id="a")
        sched.add_job(bad, id="b")
        sched.start()
        assert isinstance(sched._executors["default"], TwistedExecutor)
        # Added from a foreign thread once the reactor runs: must wake the reactor.
        reactor.callWhenRunning(lambda: threading.Thread(target=lambda: sched.add_job(job, args=[1], id="t")).start())
        reactor.callLater(20, reactor.stop)
        reactor.run(installSignalHandlers=False)
        assert results["a"].retval == (42, False), results
        assert isinstance(results["b"].exception, KeyError)
        assert results["t"].retval == (2, False)
        assert not sched.running
        print("TWISTED-OK")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=50)
    assert "TWISTED-OK" in out.stdout, out.stderr


# --- gevent ---------------------------------------------------------------------------------


def test_gevent_scheduler_runs_in_a_greenlet():
    gevent = pytest.importorskip("gevent")
    from apscheduler_rs.executors.gevent import GeventExecutor
    from apscheduler_rs.schedulers.gevent import GeventScheduler

    sched = GeventScheduler(timezone="UTC")
    events = {}
    sched.add_listener(lambda e: events.__setitem__(e.job_id, e), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    sched.add_job(sync_job, args=["first"], id="first")
    greenlet = sched.start()
    assert isinstance(greenlet, gevent.Greenlet)
    assert isinstance(sched._executors["default"], GeventExecutor)
    for _ in range(500):
        if "first" in events:
            break
        gevent.sleep(0.01)
    assert events["first"].retval == ("first", True)  # greenlets share the main thread

    # Added while the loop greenlet sleeps on a far-away timer: the engine wakes it.
    sched.add_job(sync_job, "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), args=["far"])
    gevent.sleep(0.02)
    sched.add_job(sync_job, args=["second"], id="second")
    sched.add_job(sync_job, "interval", seconds=0.02, args=["tick"], id="tick")
    for _ in range(500):
        if "second" in events and "tick" in events:
            break
        gevent.sleep(0.01)
    assert events["second"].retval == ("second", True)

    shut = []
    sched.add_listener(shut.append, EVENT_SCHEDULER_SHUTDOWN)
    sched.shutdown()
    assert shut and greenlet.dead


def test_gevent_scheduler_is_woken_by_a_job_added_from_another_os_thread():
    gevent = pytest.importorskip("gevent")
    import gevent.event
    import gevent.monkey
    from apscheduler_rs.schedulers.gevent import GeventScheduler

    assert not gevent.monkey.is_module_patched("threading")  # so threading.Thread is a real OS thread
    sched = GeventScheduler(timezone="UTC")
    ran = gevent.event.Event()
    times = {}

    def job():
        times["ran"] = time.monotonic()
        times["thread"] = threading.get_ident()
        ran.set()

    greenlet = sched.start()
    # The loop greenlet now waits on a timer an hour away; nothing else is scheduled on the hub.
    sched.add_job(sync_job, "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), args=["far"])
    gevent.sleep(0.05)

    def from_thread():
        time.sleep(0.2)  # the hub is blocked in its idle wait by now
        times["thread_added"] = threading.get_ident()
        times["added"] = time.monotonic()
        sched.add_job(job, id="from-thread")

    other = threading.Thread(target=from_thread)
    other.start()
    # One hub wait with no polling: only the engine's waker can wake the scheduler's greenlet.
    assert ran.wait(timeout=10), "the job added from another thread did not run"
    other.join()
    assert times["thread_added"] != threading.get_ident()
    assert times["thread"] == threading.get_ident()  # the job ran in a greenlet of the hub's thread
    assert times["ran"] - times["added"] < 2.0, times
    sched.shutdown()
    assert greenlet.dead


# --- Qt (one QCoreApplication per process: in a child interpreter) --------------------------


def test_qt_scheduler_runs_passes_from_qtimers():
    pytest.importorskip("PyQt6.QtCore")
    script = textwrap.dedent("""
        import sys
        from PyQt6.QtCore import QCoreApplication, QTimer
        app = QCoreApplication(sys.argv)
        from apscheduler_rs.schedulers.qt import QtScheduler
        from apscheduler_rs.events import EVENT_JOB_EXECUTED

        results = []

        def job(x):
            return x

        def listener(event):
            results.append(event.retval)
            if len(results) >= 3:
                app.quit()

        sched = QtScheduler(timezone="UTC")
        sched.add_listener(listener, EVENT_JOB_EXECUTED)
        sched.add_job(job, args=["once"])
        sched.add_job(job, "interval", seconds=0.05, args=["tick"])
        sched.start()
        QTimer.singleShot(20000, app.quit)
        app.exec()
        assert results[0] == "once" and results[1:] == ["tick", "tick"], results

        # A job added from another thread wakes the Qt thread (a far-away timer is armed).
        import threading
        from datetime import datetime, timedelta, timezone
        sched.remove_all_jobs()
        sched.add_job(job, "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), args=["far"])
        results.clear()
        QTimer.singleShot(50, lambda: threading.Thread(
            target=lambda: [sched.add_job(job, args=[f"t{i}"]) for i in range(3)]).start())
        QTimer.singleShot(20000, app.quit)
        app.exec()
        sched.shutdown()
        assert sorted(results) == ["t0", "t1", "t2"], results
        print("QT-OK")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=50,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert "QT-OK" in out.stdout, out.stderr
