"""``apscheduler.schedulers.asyncio``: a scheduler driven by an asyncio event loop."""

from __future__ import annotations

import asyncio
from functools import partial, wraps
from typing import Any, Callable

from ..executors.asyncio import AsyncIOExecutor
from ..executors.base import BaseExecutor
from ..util import maybe_ref
from . import SchedulerNotRunningError
from ._loop import _LoopScheduler

__all__ = ("AsyncIOScheduler", "SchedulerNotRunningError", "run_in_event_loop")


def run_in_event_loop(func: Callable[..., Any]) -> Callable[..., None]:
    """Makes a method run on ``self._eventloop`` (called from any thread, returns at once)."""

    @wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        self._eventloop.call_soon_threadsafe(partial(func, self, *args, **kwargs))

    return wrapper


class AsyncIOScheduler(_LoopScheduler):
    """Runs processing passes on an asyncio event loop.

    ``event_loop`` (an event loop or a ``module:attr`` reference) may be given to start the
    scheduler before that loop runs; without it, ``start()`` takes the running loop.
    Coroutine-function jobs are awaited on the loop by the default ``AsyncIOExecutor``.
    """

    _eventloop: asyncio.AbstractEventLoop | None = None

    def start(self, paused: bool = False) -> None:
        if not self._eventloop or self._eventloop.is_closed():
            # Outside a running loop this raises RuntimeError('no running event loop').
            self._eventloop = asyncio.get_running_loop()
        super().start(paused)

    def _shutdown_now(self, wait: bool = True) -> None:
        super()._shutdown_now(wait)
        # The next start() picks up whichever loop is running then.
        self._eventloop = None

    def _configure(self, config: dict[str, Any]) -> None:
        self._eventloop = maybe_ref(config.pop("event_loop", None))
        super()._configure(config)

    def _create_default_executor(self) -> BaseExecutor:
        return AsyncIOExecutor()

    def _call_soon_threadsafe(self, callback: Any) -> None:
        self._eventloop.call_soon_threadsafe(callback)  # type: ignore[union-attr]

    def _arm_timer(self, seconds: float, callback: Any) -> Any:
        return self._eventloop.call_later(seconds, callback)  # type: ignore[union-attr]

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
