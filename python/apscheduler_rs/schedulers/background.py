"""``apscheduler.schedulers.background``: a scheduler running in a background thread."""

from __future__ import annotations

import atexit
import sys
import threading
import weakref
from typing import Any

from ..util import asbool
from .base import BaseScheduler
from .blocking import BlockingScheduler

__all__ = ("BackgroundScheduler", "BaseScheduler", "BlockingScheduler")

_running: weakref.WeakSet[BackgroundScheduler] = weakref.WeakSet()


@atexit.register
def _stop_loops_at_exit() -> None:
    # A daemon scheduler thread must not be inside the native loop while the interpreter is
    # torn down: stop every loop still running and wait for its thread.
    for scheduler in list(_running):
        scheduler._engine.stop()
        thread = scheduler._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)


def _os_thread_class() -> Any:
    """``threading.Thread``, or one that starts a real OS thread when gevent has patched
    ``threading``: the native loop blocks its thread, and a greenlet blocked there would freeze
    every other greenlet (``start()`` would never return)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return threading.Thread
    start_new_thread = monkey.get_original("_thread", "start_new_thread")
    allocate_lock = monkey.get_original("_thread", "allocate_lock")

    class OsThread:
        def __init__(self, target: Any, name: str, daemon: bool) -> None:
            self.name, self.daemon, self._target = name, daemon, target
            self._running = allocate_lock()

        def start(self) -> None:
            self._running.acquire()

            def run() -> None:
                try:
                    self._target()
                finally:
                    self._running.release()

            start_new_thread(run, ())

        def is_alive(self) -> bool:
            return self._running.locked()

        def join(self, timeout: float | None = None) -> None:
            if self._running.acquire(timeout=-1 if timeout is None else timeout):
                self._running.release()

    return OsThread


class BackgroundScheduler(BlockingScheduler):
    """Runs the scheduler in a thread named ``APScheduler`` (``daemon`` option, default True)."""

    _thread: threading.Thread | None = None

    def _configure(self, config: dict[str, Any]) -> None:
        self._daemon = asbool(config.pop("daemon", True))
        super()._configure(config)

    def start(self, *args, **kwargs) -> None:
        BaseScheduler.start(self, *args, **kwargs)
        thread_class = _os_thread_class()
        self._thread = thread_class(target=self._main_loop, name="APScheduler", daemon=self._daemon)
        self._thread.start()
        _running.add(self)

    def shutdown(self, *args, **kwargs) -> None:
        super().shutdown(*args, **kwargs)
        _running.discard(self)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
