"""``apscheduler.schedulers.twisted``: a scheduler driven by the Twisted reactor."""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable

try:
    from twisted.internet import reactor as default_reactor
except ImportError as exc:  # same message as upstream
    raise ImportError("TwistedScheduler requires Twisted installed") from exc

from ..executors.base import BaseExecutor
from ..executors.twisted import TwistedExecutor
from ..util import maybe_ref
from ._loop import _LoopScheduler

__all__ = ("TwistedScheduler", "run_in_reactor")


def run_in_reactor(func: Callable[..., Any]) -> Callable[..., None]:
    """Makes a method run in the reactor thread (called from any thread, returns at once)."""

    @wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        self._reactor.callFromThread(func, self, *args, **kwargs)

    return wrapper


class TwistedScheduler(_LoopScheduler):
    """Runs processing passes in the Twisted reactor (``reactor`` option, default the global
    reactor); jobs run in the reactor's thread pool with the default ``TwistedExecutor``."""

    def _configure(self, config: dict[str, Any]) -> None:
        self._reactor = maybe_ref(config.pop("reactor", default_reactor))
        super()._configure(config)

    def _create_default_executor(self) -> BaseExecutor:
        return TwistedExecutor()

    def _call_soon_threadsafe(self, callback: Any) -> None:
        self._reactor.callFromThread(callback)

    def _arm_timer(self, seconds: float, callback: Any) -> Any:
        return self._reactor.callLater(seconds, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
