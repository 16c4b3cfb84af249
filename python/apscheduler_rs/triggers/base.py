"""``BaseTrigger``: the abstract trigger interface (APScheduler 3.x compatible)."""
from __future__ import annotations

import copyreg
import random
from abc import ABCMeta, abstractmethod
from datetime import timedelta

__all__ = ["BaseTrigger"]


class BaseTrigger(metaclass=ABCMeta):
    """Decides when a job runs. Subclass it and implement :meth:`get_next_fire_time`."""

    __slots__ = ()

    @abstractmethod
    def get_next_fire_time(self, previous_fire_time, now):
        """Return the next aware datetime to fire on after ``previous_fire_time`` (``None``
        when the job is new), or ``None`` if the trigger will not fire again."""

    def __reduce_ex__(self, protocol):
        # Protocols 0 and 1 rebuild an object with `object.__new__`, which the native trigger
        # classes refuse; `copyreg.__newobj__` (protocol 2's NEWOBJ) works with every protocol.
        if protocol < 2:
            return copyreg.__newobj__, (type(self),), self.__getstate__()
        return super().__reduce_ex__(protocol)

    def _apply_jitter(self, next_fire_time, jitter, now):
        """Delay ``next_fire_time`` by a random 0..``jitter`` seconds (wall-clock addition)."""
        if next_fire_time is None or not jitter:
            return next_fire_time
        return next_fire_time + timedelta(seconds=random.uniform(0, jitter))
