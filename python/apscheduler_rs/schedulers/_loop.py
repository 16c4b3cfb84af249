"""Shared plumbing of the schedulers whose passes run on someone else's event loop.

asyncio, Tornado, Twisted and Qt all work the same way: a wake-up (from any thread) asks the
loop to run one native processing pass (``Engine.process_pass``), and the pass's answer arms
one timer for the next. Several wake-ups before the loop gets round to the pass collapse into
one pass. The native engine calls :meth:`_LoopScheduler._request_pass` itself when a job
added from another thread must run before the armed timer.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from typing import Any

from . import SchedulerNotRunningError
from .base import STATE_STOPPED, BaseScheduler


class _LoopScheduler(BaseScheduler):
    """Subclasses provide ``_call_soon_threadsafe(cb)``, ``_arm_timer(seconds, cb)`` and
    ``_cancel_timer()``."""

    _timer: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pass_requested = False
        self._pass_flag_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def start(self, paused: bool = False) -> None:
        self._engine.set_waker(self._request_pass)
        try:
            super().start(paused)
        except BaseException:
            if self.state == STATE_STOPPED:
                self._engine.set_waker(None)
            raise

    def _shutdown_now(self, wait: bool = True) -> None:
        """The real shutdown, run on the loop."""
        if self.state == STATE_STOPPED:
            return
        BaseScheduler.shutdown(self, wait)
        self._engine.set_waker(None)
        self._cancel_timer()

    def shutdown(self, wait: bool = True) -> None:
        """Schedules the shutdown on the loop; ``state`` changes once the loop has run it."""
        if self.state == STATE_STOPPED:
            raise SchedulerNotRunningError
        self._call_soon_threadsafe(lambda: self._shutdown_now(wait))

    def wakeup(self) -> None:
        self._request_pass()

    def _request_pass(self) -> None:
        with self._pass_flag_lock:
            if self._pass_requested:
                return
            self._pass_requested = True
        try:
            self._call_soon_threadsafe(self._run_pass)
        except BaseException:
            # No loop to ask (not running yet, or closed): later wake-ups must try again.
            with self._pass_flag_lock:
                self._pass_requested = False
            raise

    def _run_pass(self) -> None:
        with self._pass_flag_lock:
            self._pass_requested = False
        self._cancel_timer()
        if self.state == STATE_STOPPED:
            return  # a wake-up queued before the shutdown ran: the executors are gone
        wait = self._engine.process_pass(self)
        if wait is not None and self.state != STATE_STOPPED:
            self._timer = self._arm_timer(wait, self._run_pass)

    # 3.x's timer helpers, for subclasses with a wakeup() of their own that call them.
    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None:
            self._timer = self._arm_timer(wait_seconds, self.wakeup)

    def _stop_timer(self) -> None:
        self._cancel_timer()

    # --- per event loop ------------------------------------------------------------------------

    @abstractmethod
    def _call_soon_threadsafe(self, callback: Any) -> None:
        """Run ``callback()`` on the event loop, from any thread."""

    @abstractmethod
    def _arm_timer(self, seconds: float, callback: Any) -> Any:
        """Schedule ``callback()`` on the loop after ``seconds``; return a cancellable handle."""

    @abstractmethod
    def _cancel_timer(self) -> None:
        """Cancel the armed timer, if any."""
