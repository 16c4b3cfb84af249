"""``apscheduler.schedulers.tornado``: a scheduler driven by a Tornado IOLoop."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from typing import Any, Callable

try:
    from tornado.ioloop import IOLoop
except ImportError as exc:  # same message as upstream
    raise ImportError("TornadoScheduler requires tornado installed") from exc

from ..executors.base import BaseExecutor
from ..executors.tornado import TornadoExecutor
from ..util import maybe_ref
from . import SchedulerNotRunningError
from ._loop import _LoopScheduler

__all__ = ("TornadoScheduler", "run_in_ioloop")


def run_in_ioloop(func: Callable[..., Any]) -> Callable[..., None]:
    """Makes a method run on ``self._ioloop`` (called from any thread, returns at once)."""

    @wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        self._ioloop.add_callback(func, self, *args, **kwargs)

    return wrapper


class TornadoScheduler(_LoopScheduler):
    """Runs processing passes on a Tornado IOLoop (``io_loop`` option, default
    ``IOLoop.current()`` when configured). Coroutine jobs run on the IOLoop with the default
    ``TornadoExecutor``; other jobs in its thread pool."""

    _ioloop: Any = None

    def _configure(self, config: dict[str, Any]) -> None:
        self._ioloop = maybe_ref(config.pop("io_loop", None)) or IOLoop.current()
        super()._configure(config)

    def _create_default_executor(self) -> BaseExecutor:
        return TornadoExecutor()

    def _call_soon_threadsafe(self, callback: Any) -> None:
        if self._ioloop is None:
            raise SchedulerNotRunningError
        self._ioloop.add_callback(callback)

    def _arm_timer(self, seconds: float, callback: Any) -> Any:
        return self._ioloop.add_timeout(timedelta(seconds=seconds), callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._ioloop.remove_timeout(self._timer)
            self._timer = None
