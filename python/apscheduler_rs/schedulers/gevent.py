"""``apscheduler.schedulers.gevent``: a scheduler running in a greenlet."""

from __future__ import annotations

from typing import Any

try:
    import gevent
    from gevent.event import Event
    from gevent.lock import RLock
except ImportError as exc:  # same message as upstream
    raise ImportError("GeventScheduler requires gevent installed") from exc

from ..executors.base import BaseExecutor
from ..executors.gevent import GeventExecutor
from ..util import TIMEOUT_MAX
from .base import STATE_STOPPED, BaseScheduler
from .blocking import BlockingScheduler

__all__ = ("GeventScheduler",)


class GeventScheduler(BlockingScheduler):
    """``start()`` spawns the scheduler loop as a greenlet and returns it.

    The loop waits on a gevent ``Event`` (so other greenlets keep running) and runs each
    processing pass natively; jobs run in greenlets with the default ``GeventExecutor``.
    """

    _greenlet: Any = None

    def start(self, *args: Any, **kwargs: Any) -> Any:
        self._event = Event()
        # Jobs added from other greenlets wake the loop through the engine.
        self._engine.set_waker(self._event.set)
        BaseScheduler.start(self, *args, **kwargs)
        self._greenlet = gevent.spawn(self._main_loop)
        return self._greenlet

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        BaseScheduler.shutdown(self, *args, **kwargs)
        self._engine.set_waker(None)
        self._event.set()
        greenlet, self._greenlet = self._greenlet, None
        if greenlet is not None and greenlet is not gevent.getcurrent():
            greenlet.join()

    def _main_loop(self) -> None:
        wait: float | None = TIMEOUT_MAX
        while self.state != STATE_STOPPED:
            self._event.wait(wait)
            self._event.clear()
            wait = self._engine.process_pass(self)

    def wakeup(self) -> None:
        self._event.set()

    def _create_lock(self) -> Any:
        return RLock()

    def _create_default_executor(self) -> BaseExecutor:
        return GeventExecutor()
