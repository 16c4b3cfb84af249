"""``apscheduler.schedulers.qt``: a scheduler driven by the Qt event loop."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import BaseScheduler

__all__ = ("QtScheduler",)

# Same binding search order as upstream: for each major version, PySide before PyQt.
_BINDINGS = tuple(f"{flavour}{major}" for major in range(6, 1, -1) for flavour in ("PySide", "PyQt"))

for _binding in _BINDINGS:
    try:
        QtCore: Any = import_module(f"{_binding}.QtCore")
        break
    except ImportError:
        continue
else:
    raise ImportError("QtScheduler requires either PySide/PyQt (v6 to v2) installed")

# The largest interval a QTimer takes, in milliseconds.
_MAX_TIMER_MS = 2147483647

# PySide names it Signal, PyQt pyqtSignal.
_Signal = getattr(QtCore, "Signal", None) or QtCore.pyqtSignal


class _Waker(QtCore.QObject):  # type: ignore[misc]
    """Lives in the thread that started the scheduler; emitting ``wake`` from any other
    thread queues the call into that thread's event loop."""

    wake = _Signal()


class QtScheduler(BaseScheduler):
    """Runs processing passes from single-shot ``QTimer``s on the Qt event loop."""

    _timer: Any = None

    _waker: Any = None

    def start(self, *args: Any, **kwargs: Any) -> None:
        if self._waker is None:
            self._waker = _Waker()
            self._waker.wake.connect(self._wakeup_in_qt_thread)
        self._engine.set_waker(self.wakeup)
        super().start(*args, **kwargs)

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        super().shutdown(*args, **kwargs)
        self._engine.set_waker(None)
        self._stop_timer()

    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None:
            timer = QtCore.QTimer()
            timer.setSingleShot(True)
            timer.timeout.connect(self._process_jobs)
            timer.start(min(int(wait_seconds * 1000), _MAX_TIMER_MS))
            self._timer = timer

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def wakeup(self) -> None:
        """Thread-safe: the pass always runs in the Qt thread that started the scheduler."""
        if self._waker is None:
            self._start_timer(0)
        else:
            self._waker.wake.emit()

    def _wakeup_in_qt_thread(self) -> None:
        self._start_timer(0)

    def _process_jobs(self) -> None:
        wait = self._engine.process_pass(self)
        self._start_timer(wait)
