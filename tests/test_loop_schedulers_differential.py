"""Differential QA of the event-loop schedulers against APScheduler 3.11.3.

Each scenario is a small child script run twice: once with the real ``apscheduler`` (the
oracle) and once with the package under test (``apscheduler_rs``, or ``apscheduler`` again
with ``APSCHEDULER_RS_ORACLE=1``). The script prints what a user can observe (event codes,
log records with times normalised, states, thread kinds); the two outputs must be equal.
A child per run also keeps reactors, Qt applications and gevent monkey patching isolated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(120)

ORACLE = os.environ.get("APSCHEDULER_RS_ORACLE", "") not in ("", "0", "false", "no")
TARGET = "apscheduler" if ORACLE else "apscheduler_rs"

PRELUDE = r'''
import faulthandler
faulthandler.dump_traceback_later(30, exit=True)  # a hung child reports where it hangs
import os, sys, re, logging, importlib, threading, time
from datetime import datetime, timedelta, timezone
PKG = os.environ["QA_PKG"]
def imp(mod):
    return importlib.import_module(PKG + mod)
ev = imp(".events")
CODES = {v: k for k, v in vars(ev).items() if k.startswith("EVENT_") and k != "EVENT_ALL"
         and isinstance(v, int) and v & (v - 1) == 0}

def norm(s):
    s = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d| UTC| [A-Z]{3,5})?", "<T>", s)
    s = re.sub(r"\d+:\d\d:\d\d(\.\d+)?", "<D>", s)
    s = re.sub(r"in -?\d+(\.\d+)? seconds", "in <N> seconds", s)
    s = s.replace("apscheduler_rs", "apscheduler")
    return s

class _H(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []
    def emit(self, r):
        line = (r.name, r.levelname, norm(r.getMessage()))
        if r.exc_info and r.exc_info[1] is not None:
            line += (type(r.exc_info[1]).__name__,)
        self.lines.append(line)

LOG = _H()
logging.getLogger("apscheduler").addHandler(LOG)
logging.getLogger("apscheduler").setLevel(logging.DEBUG)

def out(*a):
    print(*a, flush=True)

def dump_logs(min_level=logging.INFO, sort=False, skip=()):
    lines = [l for l in LOG.lines if logging.getLevelName(l[1]) >= min_level
             and not any(s in l[2] for s in skip)]
    for l in (sorted(lines) if sort else lines):
        out("LOG", *l)

def evrepr(e):
    parts = [CODES.get(e.code, e.code)]
    if getattr(e, "job_id", None) is not None:
        parts.append(e.job_id)
    if getattr(e, "exception", None) is not None:
        parts.append(type(e.exception).__name__)
    if getattr(e, "retval", None) is not None:
        parts.append(repr(e.retval))
    return " ".join(map(str, parts))

def thread_kind():
    t = threading.current_thread()
    return "main" if t is threading.main_thread() else "other"

def wait_for(cond, timeout=5.0, step=0.005):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            out("TIMEOUT")
            return False
        time.sleep(step)
    return True

async def await_for(cond, timeout=5.0):
    import asyncio
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            out("TIMEOUT")
            return False
        await asyncio.sleep(0.005)
    return True
'''


def run_child(pkg: str, body: str, env: dict | None = None, timeout: float = 60) -> str:
    script = PRELUDE + textwrap.dedent(body)
    full_env = {**os.environ, "QA_PKG": pkg, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    full_env.pop("APSCHEDULER_RS_ORACLE", None)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=full_env
    )
    return f"{proc.stdout}rc={proc.returncode}\n" + (
        "STDERR-LAST: " + proc.stderr.strip().splitlines()[-1] if proc.returncode and proc.stderr.strip() else ""
    )


def assert_same(body: str, **kw) -> str:
    expected = run_child("apscheduler", body, **kw)
    actual = run_child(TARGET, body, **kw)
    assert actual == expected, f"\n--- APScheduler 3.x ---\n{expected}\n--- {TARGET} ---\n{actual}"
    return expected


# ===========================================================================================
# AsyncIOScheduler
# ===========================================================================================


def test_asyncio_wakeup_before_start_does_not_stop_later_passes():
    # 3.x: wakeup() before start() is an AttributeError (no loop yet) and has no after-effect.
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler

        async def job():
            return "ok"

        async def main():
            s = AsyncIOScheduler(timezone="UTC")
            try:
                s.wakeup()
            except AttributeError:
                out("wakeup before start: AttributeError")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED)
            s.start()
            s.add_job(job, id="j")
            await await_for(lambda: got, timeout=3)
            out(got)
            s.shutdown()
            await asyncio.sleep(0.01)

        asyncio.run(main())
    """)


def test_asyncio_full_run_events_logs_and_default_executor():
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler

        async def coro_ok(x):
            await asyncio.sleep(0)
            return (x, thread_kind())

        async def coro_bad():
            await asyncio.sleep(0)
            raise ValueError("bad coro")

        def plain_ok(x):
            return (x, thread_kind(), threading.current_thread().name.rstrip("0123456789"))

        def plain_bad():
            raise KeyError("bad plain")

        async def main():
            loop = asyncio.get_running_loop()
            s = AsyncIOScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)))
            s.add_job(coro_ok, args=[1], id="c1", name="c1")
            s.add_job(plain_ok, args=[2], id="p1", name="p1")
            out("eventloop before start", s._eventloop)
            s.start()
            out("eventloop is running loop", s._eventloop is loop)
            out("executor", type(s._executors["default"]).__name__)
            s.add_job(coro_bad, id="c2", name="c2")
            s.add_job(plain_bad, id="p2", name="p2")
            await await_for(lambda: sum(("EXECUTED" in g or "ERROR" in g) for g in got) == 4)
            s.shutdown()
            out("running right after shutdown()", s.running)
            await asyncio.sleep(0.02)
            out("state", s.state, "eventloop", s._eventloop)
            for g in sorted(got):
                out("EV", g)
            dump_logs(sort=True)

        asyncio.run(main())
    """)


def test_asyncio_explicit_event_loop_started_before_the_loop_runs():
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler
        loop = asyncio.new_event_loop()
        s = AsyncIOScheduler(timezone="UTC", event_loop=loop)
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_ERROR
                       | ev.EVENT_SCHEDULER_SHUTDOWN)

        async def job(x):
            return x * 2

        s.add_job(job, args=[21], id="early")
        s.start()
        out("state after start, loop not running", s.state)
        out("executor loop is given loop", s._executors["default"]._eventloop is loop)
        loop.run_until_complete(await_for(lambda: got))
        s.shutdown()
        loop.run_until_complete(asyncio.sleep(0.01))
        out(got, s.state, s._eventloop)
        # A second start outside any running loop now fails: the loop was forgotten at shutdown.
        try:
            s.start()
        except RuntimeError as e:
            out("restart:", e)
        out("state", s.state)
        loop.close()
    """)


def test_asyncio_start_paused_then_resume_and_pause():
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler

        async def job():
            return "ran"

        async def main():
            s = AsyncIOScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)))
            s.start(paused=True)
            out("state", s.state)
            s.add_job(job, id="j")
            await asyncio.sleep(0.2)
            out("while paused", got)
            s.resume()
            await await_for(lambda: any("EXECUTED" in g for g in got))
            s.pause()
            s.add_job(job, id="k")
            await asyncio.sleep(0.2)
            out("paused again, k ran:", any("EXECUTED k" in g for g in got))
            out("k next_run_time set", s.get_job("k").next_run_time is not None)
            s.resume()
            await await_for(lambda: any("EXECUTED k" in g for g in got))
            s.shutdown()
            await asyncio.sleep(0.01)
            for g in got:
                out("EV", g)
            dump_logs(skip=("Added job",))

        asyncio.run(main())
    """)


def test_asyncio_shutdown_from_inside_a_coroutine_job_that_keeps_awaiting():
    # 3.x: shutdown() is scheduled on the loop; once it runs, the job's task is cancelled in its
    # await, which run_coroutine_job reports as the job's error (after the shutdown event).
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler

        async def main():
            s = AsyncIOScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)))
            steps = []

            async def stopper():
                s.shutdown(wait=False)
                steps.append(("after shutdown()", s.running))
                try:
                    await asyncio.sleep(1)
                    steps.append("slept")
                except asyncio.CancelledError:
                    steps.append("cancelled")
                    raise
                return "done"

            s.start()
            s.add_job(stopper, id="stopper")
            await await_for(lambda: any("ERROR" in g or "EXECUTED" in g for g in got), timeout=3)
            await asyncio.sleep(0.02)
            out(steps)
            for g in got:
                out("EV", g)
            out("state", s.state)
            dump_logs(skip=("Added job",))

        asyncio.run(main())
    """)


def test_asyncio_shutdown_cancels_a_running_plain_function_job():
    # 3.x: the run_in_executor future is cancelled: "Error running job" is logged (no event);
    # the thread itself finishes the function and logs its success.
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler
        started = threading.Event()
        release = threading.Event()

        def slow():
            started.set()
            release.wait(5)
            return "finished"

        async def main():
            s = AsyncIOScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)))
            s.start()
            s.add_job(slow, id="slow", name="slow")
            await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
            s.shutdown(wait=True)
            await asyncio.sleep(0.05)
            out("instances", dict(s._executors["default"]._instances))
            release.set()
            await asyncio.sleep(0.1)
            for g in got:
                out("EV", g)
            dump_logs(skip=("Added job",))

        asyncio.run(main())
    """)


def test_asyncio_jobs_changed_from_another_thread_wake_the_loop():
    # add_job / modify_job / reschedule_job / resume_job from a foreign thread must not wait
    # for a far-away armed timer.
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler
        far = datetime.now(timezone.utc) + timedelta(hours=1)

        async def job(tag):
            return tag

        async def main():
            s = AsyncIOScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED)
            s.start()
            s.add_job(job, "date", run_date=far, args=["mod"], id="mod")
            s.add_job(job, "interval", hours=1, args=["resched"], id="resched")
            s.add_job(job, "date", run_date=far, args=["paused"], id="paused")
            s.pause_job("paused")
            await asyncio.sleep(0.05)
            for action in (
                lambda: s.add_job(job, args=["added"], id="added"),
                lambda: s.modify_job("mod", next_run_time=datetime.now(timezone.utc)),
                lambda: s.reschedule_job("resched", trigger="date"),
            ):
                before = len(got)
                t0 = time.monotonic()
                th = threading.Thread(target=action)
                th.start()
                th.join()
                ok = await await_for(lambda: len(got) > before, timeout=3)
                out(got[-1] if ok else "not run", time.monotonic() - t0 < 2)
            s.shutdown()
            await asyncio.sleep(0.01)

        asyncio.run(main())
    """)


def test_asyncio_loop_in_a_background_thread_run_coroutine_threadsafe():
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler
        loop = asyncio.new_event_loop()
        lt = threading.Thread(target=loop.run_forever, name="loop")
        lt.start()
        got = []

        async def job(x):
            return (x, threading.current_thread().name)

        # 1) started from the main thread with the loop given
        s = AsyncIOScheduler(timezone="UTC", event_loop=loop)
        s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED | ev.EVENT_SCHEDULER_SHUTDOWN)
        s.start()
        s.add_job(job, args=[1], id="a")
        wait_for(lambda: got)
        s.shutdown()
        wait_for(lambda: not s.running)
        out("1", got, s.state)

        # 2) started on the loop through run_coroutine_threadsafe
        got.clear()
        s2 = AsyncIOScheduler(timezone="UTC")
        s2.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED | ev.EVENT_SCHEDULER_SHUTDOWN)

        async def start_it():
            s2.start()
            return s2._eventloop is asyncio.get_running_loop()

        out("2 started on loop", asyncio.run_coroutine_threadsafe(start_it(), loop).result(5))
        s2.add_job(job, args=[2], id="b")
        wait_for(lambda: got)
        s2.shutdown()
        wait_for(lambda: not s2.running)
        out("2", got, s2.state)
        loop.call_soon_threadsafe(loop.stop)
        lt.join()
        loop.close()
    """)


def test_asyncio_misfire_when_the_loop_is_blocked():
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler

        async def blocker():
            time.sleep(1.6)  # blocks the loop

        async def quick(tag):
            return tag

        def plain(tag):
            return tag

        async def main():
            s = AsyncIOScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)),
                           ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_MISSED | ev.EVENT_JOB_ERROR)
            s.start(paused=True)
            now = datetime.now(timezone.utc)
            s.add_job(blocker, "date", run_date=now, id="blocker")
            soon = now + timedelta(seconds=0.2)
            s.add_job(quick, "date", run_date=soon, args=["c"], id="coro-late", misfire_grace_time=1)
            s.add_job(plain, "date", run_date=soon, args=["p"], id="plain-late", misfire_grace_time=1)
            s.add_job(quick, "date", run_date=soon, args=["g"], id="coro-grace", misfire_grace_time=30)
            s.resume()
            await await_for(lambda: len(got) == 4, timeout=6)
            for g in sorted(got):
                out("EV", g)
            dump_logs(logging.WARNING, sort=True)
            s.shutdown()
            await asyncio.sleep(0.01)

        asyncio.run(main())
    """)


def test_asyncio_max_instances_and_coalesce_with_blocked_loop():
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler
        release = None

        async def long():
            await release.wait()

        async def main():
            global release
            release = asyncio.Event()
            s = AsyncIOScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)),
                           ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_MAX_INSTANCES | ev.EVENT_JOB_ERROR)
            s.start()
            s.add_job(long, "interval", seconds=0.05, id="long", name="long",
                      next_run_time=datetime.now(timezone.utc))
            await await_for(lambda: got)
            release.set()
            await await_for(lambda: any("EXECUTED" in g for g in got))
            s.shutdown()
            await asyncio.sleep(0.01)
            out(got[0])
            dump_logs(logging.WARNING, sort=True, skip=())
            out("instances", dict(s._executors["default"]._instances))

        asyncio.run(main())
    """)


def test_asyncio_scheduler_forgets_its_loop_and_restarts_in_a_new_asyncio_run():
    assert_same("""
        import asyncio
        AsyncIOScheduler = imp(".schedulers.asyncio").AsyncIOScheduler
        s = AsyncIOScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED)

        async def job(n):
            return n

        async def run(n):
            s.start()
            s.add_job(job, args=[n], id=f"j{n}")
            await await_for(lambda: len(got) == n)
            s.shutdown()
            await asyncio.sleep(0.01)
            return s.state

        out(asyncio.run(run(1)), asyncio.run(run(2)), got)
    """)


# ===========================================================================================
# TornadoScheduler
# ===========================================================================================

TORNADO_PRELUDE = """
import asyncio
from tornado.ioloop import IOLoop
TornadoScheduler = imp(".schedulers.tornado").TornadoScheduler
"""


def test_tornado_full_run_events_logs_and_threads():
    pytest.importorskip("tornado")
    assert_same(TORNADO_PRELUDE + """
        async def coro_ok(x):
            await asyncio.sleep(0)
            return (x, thread_kind())

        async def coro_bad():
            raise ValueError("bad")

        def plain_ok(x):
            return (x, thread_kind(), threading.current_thread().name.rstrip("0123456789"))

        def plain_bad():
            raise KeyError("bad")

        async def main():
            s = TornadoScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)))
            s.add_job(coro_ok, args=[1], id="c1", name="c1")
            s.start()
            out("executor", type(s._executors["default"]).__name__, "ioloop", type(s._ioloop).__name__)
            s.add_job(plain_ok, args=[2], id="p1", name="p1")
            s.add_job(coro_bad, id="c2", name="c2")
            s.add_job(plain_bad, id="p2", name="p2")
            await await_for(lambda: sum(("EXECUTED" in g or "ERROR" in g) for g in got) == 4)
            s.shutdown()
            out("running right after shutdown()", s.running)
            await asyncio.sleep(0.02)
            out("state", s.state)
            for g in sorted(got):
                out("EV", g)
            dump_logs(sort=True)

        IOLoop.current().run_sync(main)
    """)


def test_tornado_start_paused_shutdown_from_a_job_and_restart():
    pytest.importorskip("tornado")
    assert_same(TORNADO_PRELUDE + """
        async def main():
            s = TornadoScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)))

            async def stop_me():
                s.shutdown()
                return s.running

            s.start(paused=True)
            s.add_job(stop_me, id="stop")
            await asyncio.sleep(0.15)
            out("paused", got)
            s.resume()
            await await_for(lambda: not s.running)
            await asyncio.sleep(0.02)
            out("stopped", got, s.state)
            got.clear()
            s.start()
            s.add_job(lambda: "again", id="again")
            await await_for(lambda: any("EXECUTED" in g for g in got))
            s.shutdown()
            await asyncio.sleep(0.02)
            out("restart", got, s.state)

        IOLoop.current().run_sync(main)
    """)


def test_tornado_wakeup_and_add_job_from_another_thread():
    pytest.importorskip("tornado")
    assert_same(TORNADO_PRELUDE + """
        async def main():
            s = TornadoScheduler(timezone="UTC")
            got = []
            s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED)
            s.start()
            j = s.add_job(lambda: "far", "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), id="far")
            await asyncio.sleep(0.05)
            # Move the job's time behind the scheduler's back, then wake it from a thread.
            j.next_run_time  # noqa
            t0 = time.monotonic()
            th = threading.Thread(target=lambda: s.modify_job("far", next_run_time=datetime.now(timezone.utc)))
            th.start(); th.join()
            ok = await await_for(lambda: got, timeout=3)
            out(got, ok and time.monotonic() - t0 < 2)
            s.shutdown()
            await asyncio.sleep(0.01)

        IOLoop.current().run_sync(main)
    """)


# ===========================================================================================
# TwistedScheduler (one reactor run per child)
# ===========================================================================================


def test_twisted_events_logs_shutdown_from_a_job_and_paused_start():
    pytest.importorskip("twisted")
    assert_same("""
        from twisted.internet import reactor
        TwistedScheduler = imp(".schedulers.twisted").TwistedScheduler
        s = TwistedScheduler(timezone="UTC")
        got = []

        def listener(e):
            got.append(evrepr(e))
            if e.code == ev.EVENT_SCHEDULER_SHUTDOWN:
                reactor.callLater(0.05, reactor.stop)

        s.add_listener(listener)

        def ok(x):
            return (x, thread_kind())

        def bad():
            raise KeyError("k")

        def stopper():
            s.shutdown()  # from a reactor pool thread: the reactor runs it (callFromThread)
            return "stopper"

        def go():
            s.add_job(ok, args=[1], id="ok", name="ok")
            s.add_job(bad, id="bad", name="bad")
            reactor.callLater(0.3, lambda: out("paused phase", got))
            reactor.callLater(0.35, s.resume)
            reactor.callLater(0.6, lambda: s.add_job(stopper, id="stopper", name="stopper"))

        s.start(paused=True)
        out("executor", type(s._executors["default"]).__name__)
        reactor.callWhenRunning(go)
        reactor.callLater(15, reactor.stop)
        reactor.run(installSignalHandlers=False)
        out("state", s.state)
        for g in sorted(got):
            out("EV", g)
        dump_logs(skip=("Added job",), sort=True)
    """)


def test_twisted_wakeup_from_a_thread_and_misfire_while_reactor_blocked():
    pytest.importorskip("twisted")
    assert_same("""
        from twisted.internet import reactor
        TwistedScheduler = imp(".schedulers.twisted").TwistedScheduler
        s = TwistedScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)),
                       ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_MISSED | ev.EVENT_JOB_ERROR)

        def job(tag):
            return tag

        def phase1():
            s.add_job(job, "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), args=["far"], id="far")
            t0 = time.monotonic()
            def from_thread():
                time.sleep(0.1)
                s.add_job(job, args=["thread"], id="thread")
                wait_for(lambda: got, 3)
                out("thread job", got, time.monotonic() - t0 < 2)
                reactor.callFromThread(phase2)
            threading.Thread(target=from_thread).start()

        def phase2():
            got.clear()
            s.add_job(job, "date", run_date=datetime.now(timezone.utc) + timedelta(seconds=0.2),
                      args=["late"], id="late", misfire_grace_time=1)
            time.sleep(1.5)  # block the reactor past the grace time
            reactor.callLater(0.3, finish)

        def finish():
            out("late", got)
            dump_logs(logging.WARNING)
            s.shutdown()
            reactor.callLater(0.05, reactor.stop)

        s.start()
        reactor.callWhenRunning(phase1)
        reactor.callLater(15, reactor.stop)
        reactor.run(installSignalHandlers=False)
        out("state", s.state)
    """)


# ===========================================================================================
# GeventScheduler
# ===========================================================================================


def test_gevent_events_logs_and_shutdown_from_a_job():
    pytest.importorskip("gevent")
    assert_same("""
        import gevent
        GeventScheduler = imp(".schedulers.gevent").GeventScheduler
        s = GeventScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)))

        def ok(x):
            gevent.sleep(0)
            return (x, thread_kind())

        def bad():
            raise KeyError("k")

        def stopper():
            s.shutdown(wait=False)
            return "stopper"

        s.add_job(ok, args=[1], id="ok", name="ok")
        g = s.start(paused=True)
        out("executor", type(s._executors["default"]).__name__, type(g).__name__)
        gevent.sleep(0.15)
        out("paused", got)
        s.resume()
        s.add_job(bad, id="bad", name="bad")
        gevent.sleep(0.15)
        s.add_job(stopper, id="stopper", name="stopper")
        g.join(timeout=5)
        gevent.sleep(0.05)
        out("dead", g.dead, "state", s.state)
        for e in got:
            out("EV", e)
        dump_logs(skip=("Added job",))
    """)


def test_gevent_monkey_patched_gevent_scheduler():
    pytest.importorskip("gevent")
    assert_same("""
        from gevent import monkey
        monkey.patch_all()
        import gevent
        GeventScheduler = imp(".schedulers.gevent").GeventScheduler
        s = GeventScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_ERROR)

        def job(tag):
            time.sleep(0.01)  # patched: yields
            return tag

        g = s.start()
        s.add_job(job, args=["a"], id="a")
        s.add_job(job, "interval", seconds=0.05, args=["tick"], id="tick")
        # A (patched) thread adds a job: it is a greenlet now.
        threading.Thread(target=lambda: s.add_job(job, args=["thr"], id="thr")).start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (
            "EXECUTED a 'a'" in got and "EXECUTED thr 'thr'" in got and got.count("EXECUTED tick 'tick'") >= 2
        ):
            gevent.sleep(0.01)
        s.shutdown()
        out("a", "EXECUTED a 'a'" in got, "thr", "EXECUTED thr 'thr'" in got,
            "ticks>=2", got.count("EXECUTED tick 'tick'") >= 2, "dead", g.dead, s.state)
    """)


def test_gevent_monkey_patched_background_scheduler_start_returns():
    # gevent + monkey.patch_all() + BackgroundScheduler (e.g. gunicorn gevent workers): 3.x's
    # scheduler "thread" is a greenlet that waits on a patched Event, so start() returns.
    pytest.importorskip("gevent")
    assert_same("""
        from gevent import monkey
        monkey.patch_all()
        BackgroundScheduler = imp(".schedulers.background").BackgroundScheduler
        s = BackgroundScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED | ev.EVENT_JOB_ERROR)
        s.start()
        out("start returned")
        s.add_job(lambda: "bg", id="bg")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not got:
            time.sleep(0.01)
        s.shutdown()
        out("background", got, s.state)
    """)


# ===========================================================================================
# QtScheduler (offscreen, one QCoreApplication per child)
# ===========================================================================================


def test_qt_events_logs_default_executor_pause_and_shutdown_from_a_job():
    pytest.importorskip("PyQt6.QtCore")
    assert_same("""
        from PyQt6.QtCore import QCoreApplication, QTimer
        app = QCoreApplication(sys.argv)
        QtScheduler = imp(".schedulers.qt").QtScheduler
        s = QtScheduler(timezone="UTC")
        got = []

        def listener(e):
            got.append(evrepr(e))
            if e.code == ev.EVENT_SCHEDULER_SHUTDOWN:
                QTimer.singleShot(50, app.quit)

        s.add_listener(listener)

        def ok(x):
            return (x, thread_kind())

        def bad():
            raise KeyError("k")

        def stopper():
            s.shutdown(wait=False)
            return "stopped"

        s.add_job(ok, args=[1], id="ok", name="ok")
        s.start(paused=True)
        out("executor", type(s._executors["default"]).__name__)
        QTimer.singleShot(200, lambda: (out("paused", got), s.resume()))
        QTimer.singleShot(350, lambda: s.add_job(bad, id="bad", name="bad"))
        QTimer.singleShot(600, lambda: s.add_job(stopper, id="stopper", name="stopper"))
        QTimer.singleShot(15000, app.quit)
        app.exec()
        out("state", s.state)
        for e in sorted(got):
            out("EV", e)
        dump_logs(skip=("Added job",), sort=True)
    """)


def test_qt_jobs_changed_from_the_qt_thread_wake_the_scheduler():
    # (From another thread, 3.x's QtScheduler.wakeup() creates a QTimer in that thread and the
    # job does not run; apscheduler_rs wakes the Qt thread: not compared here.)
    pytest.importorskip("PyQt6.QtCore")
    assert_same("""
        from PyQt6.QtCore import QCoreApplication, QTimer
        app = QCoreApplication(sys.argv)
        QtScheduler = imp(".schedulers.qt").QtScheduler
        s = QtScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED)
        s.start()
        s.add_job(lambda: "far", "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), id="far")
        s.add_job(lambda: "paused", "interval", hours=1, id="paused")
        s.pause_job("paused")
        marks = {}
        def step1():
            marks["t0"] = time.monotonic()
            s.modify_job("far", next_run_time=datetime.now(timezone.utc))
            s.resume_job("paused")
            s.reschedule_job("paused", trigger="date")
        QTimer.singleShot(100, step1)
        QTimer.singleShot(600, app.quit)
        app.exec()
        out(sorted(got), s.get_job("paused"))
        s.pause()
        s.add_job(lambda: "while-paused", id="wp")
        QTimer.singleShot(200, app.quit)
        app.exec()
        out("after pause", sorted(got))
        s.resume()
        QTimer.singleShot(200, app.quit)
        app.exec()
        out("after resume", sorted(got))
        s.shutdown()
        out(s.state)
    """)


# ===========================================================================================
# BlockingScheduler
# ===========================================================================================


def test_blocking_paused_start_resumed_and_woken_from_threads():
    assert_same("""
        BlockingScheduler = imp(".schedulers.blocking").BlockingScheduler
        s = BlockingScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)))

        def job(tag):
            return (tag, thread_kind())

        def bad():
            raise KeyError("k")

        def driver():
            wait_for(lambda: s.running)
            time.sleep(0.15)
            out("paused", [g for g in got if "EXECUTED" in g])
            s.resume()
            wait_for(lambda: any("EXECUTED j" in g for g in got))
            s.add_job(job, "date", run_date=datetime.now(timezone.utc) + timedelta(hours=1), args=["far"], id="far")
            time.sleep(0.05)
            t0 = time.monotonic()
            s.modify_job("far", next_run_time=datetime.now(timezone.utc))
            wait_for(lambda: any("EXECUTED far" in g for g in got))
            out("far fast", time.monotonic() - t0 < 2)
            s.add_job(bad, id="bad", name="bad")
            wait_for(lambda: any("ERROR bad" in g for g in got))
            s.shutdown()

        s.add_job(job, args=["j"], id="j", name="j")
        threading.Thread(target=driver).start()
        s.start(paused=True)
        out("returned", s.state)
        for g in sorted(got):
            out("EV", g)
        dump_logs(skip=("Added job",), sort=True)
    """)


def test_blocking_shutdown_from_a_job_with_wait_false_and_events_order():
    assert_same("""
        BlockingScheduler = imp(".schedulers.blocking").BlockingScheduler
        s = BlockingScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)))
        steps = []

        def last():
            s.shutdown(wait=False)
            steps.append(("after shutdown", s.state))
            time.sleep(0.1)
            steps.append("job end")
            return "last"

        # (a one-off "date" job makes 3.x fail: its pass removes the job after the store shut down)
        s.add_job(last, "interval", seconds=0.05, id="last", name="last")
        s.start()
        out("start returned", s.state)
        time.sleep(0.3)
        out(steps)
        for g in sorted(got):
            out("EV", g)
        dump_logs(skip=("Added job",), sort=True)
    """)


def test_blocking_start_on_a_worker_thread_and_thread_names():
    assert_same("""
        BlockingScheduler = imp(".schedulers.blocking").BlockingScheduler
        s = BlockingScheduler(timezone="UTC")
        names = []

        def job():
            names.append(re.sub(r"\\d+", "N", threading.current_thread().name))
            s.shutdown(wait=False)

        s.add_job(job)
        t = threading.Thread(target=s.start, name="runner")
        t.start()
        t.join(5)
        out("joined", not t.is_alive(), s.state, names)
    """)


def test_blocking_shutdown_wait_true_from_another_thread_waits_for_the_running_job():
    assert_same("""
        BlockingScheduler = imp(".schedulers.blocking").BlockingScheduler
        s = BlockingScheduler(timezone="UTC")
        got = []
        s.add_listener(lambda e: got.append(evrepr(e)), ev.EVENT_JOB_EXECUTED | ev.EVENT_SCHEDULER_SHUTDOWN)
        started = threading.Event()
        steps = []

        def slow():
            started.set()
            time.sleep(0.3)
            steps.append("job end")
            return "slow"

        def stopper():
            started.wait(5)
            s.shutdown(wait=True)
            steps.append(("shutdown returned", s.state))

        s.add_job(slow, "interval", seconds=30, next_run_time=datetime.now(timezone.utc), id="slow")
        t = threading.Thread(target=stopper)
        t.start()
        s.start()
        steps.append("start returned")
        t.join()
        # shutdown(wait=True) returns after the job has finished
        out(sorted(map(str, steps)), steps.index("job end") < steps.index(("shutdown returned", 0)), got)
    """)
