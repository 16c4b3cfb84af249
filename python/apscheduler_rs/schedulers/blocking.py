"""``apscheduler.schedulers.blocking``: a scheduler that runs in the foreground."""

from __future__ import annotations

import threading

from .base import STATE_STOPPED, BaseScheduler

__all__ = ("BlockingScheduler",)


class BlockingScheduler(BaseScheduler):
    """``start()`` runs the scheduler in the calling thread and returns after ``shutdown()``.

    On the main thread, Ctrl+C (``KeyboardInterrupt``) shuts the scheduler down and then
    propagates out of ``start()``, as it does with APScheduler.
    """

    def start(self, *args, **kwargs) -> None:
        super().start(*args, **kwargs)
        self._main_loop()

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)
        self._engine.stop()

    def _main_loop(self) -> None:
        on_main_thread = threading.current_thread() is threading.main_thread()
        try:
            self._engine.run_loop(self, on_main_thread)
        except BaseException:
            if self.state != STATE_STOPPED:
                self.shutdown(wait=False)
            raise

    def wakeup(self) -> None:
        self._engine.wakeup()
