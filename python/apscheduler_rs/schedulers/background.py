"""``apscheduler.schedulers.background``: a scheduler running in a background thread."""

from __future__ import annotations

import atexit
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


class BackgroundScheduler(BlockingScheduler):
    """Runs the scheduler in a thread named ``APScheduler`` (``daemon`` option, default True)."""

    _thread: threading.Thread | None = None

    def _configure(self, config: dict[str, Any]) -> None:
        self._daemon = asbool(config.pop("daemon", True))
        super()._configure(config)

    def start(self, *args, **kwargs) -> None:
        BaseScheduler.start(self, *args, **kwargs)
        self._thread = threading.Thread(target=self._main_loop, name="APScheduler", daemon=self._daemon)
        self._thread.start()
        _running.add(self)

    def shutdown(self, *args, **kwargs) -> None:
        super().shutdown(*args, **kwargs)
        _running.discard(self)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
