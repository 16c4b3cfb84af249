"""BlockingScheduler: runs in the calling thread, stops on Ctrl+C and on shutdown()."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

from apscheduler_rs.schedulers.base import STATE_STOPPED
from apscheduler_rs.schedulers.blocking import BlockingScheduler

SCRIPT = textwrap.dedent(
    """
    import sys
    from apscheduler_rs.schedulers.blocking import BlockingScheduler

    def tick():
        print("tick", flush=True)

    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(tick, "interval", seconds=0.1)
    try:
        scheduler.start()
    except KeyboardInterrupt:
        print("interrupted, running:", scheduler.running, flush=True)
        sys.exit(3)
    """
)


def test_ctrl_c_stops_the_scheduler_cleanly():
    child = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "tick"  # the scheduler is running
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=10)
    assert child.returncode == 3
    assert out.splitlines()[-1] == "interrupted, running: False"


def test_shutdown_from_another_thread_returns_start():
    scheduler = BlockingScheduler(timezone="UTC")
    ran = threading.Event()
    scheduler.add_job(ran.set, "interval", seconds=0.05)

    def stop_later():
        ran.wait(5)
        scheduler.shutdown()

    stopper = threading.Thread(target=stop_later)
    stopper.start()
    started = time.monotonic()
    scheduler.start()  # blocks until the other thread shuts the scheduler down
    stopper.join()
    assert ran.is_set()
    assert scheduler.state == STATE_STOPPED
    assert time.monotonic() - started < 5


def test_a_job_can_shut_down_its_own_blocking_scheduler():
    scheduler = BlockingScheduler(timezone="UTC")
    calls = []

    def last_job():
        calls.append(1)
        scheduler.shutdown(wait=False)

    scheduler.add_job(last_job, "interval", seconds=0.05)
    scheduler.start()
    assert calls == [1]
    assert not scheduler.running
