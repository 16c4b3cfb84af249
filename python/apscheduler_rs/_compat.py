"""Reading state written by APScheduler itself: its pickles and references name
``apscheduler.*`` classes, which live under ``apscheduler_rs.*`` here."""

from __future__ import annotations

import io
import pickle
from typing import Any

_UPSTREAM = "apscheduler"


def native_module(module: str) -> str:
    """``apscheduler.triggers.cron`` -> ``apscheduler_rs.triggers.cron`` (others unchanged)."""
    if module == _UPSTREAM or module.startswith(_UPSTREAM + "."):
        return "apscheduler_rs" + module[len(_UPSTREAM) :]
    return module


def native_ref(ref: str) -> str:
    """The same mapping for a ``module:attr`` reference."""
    module, sep, rest = ref.partition(":")
    return native_module(module) + sep + rest


class CompatUnpickler(pickle.Unpickler):
    """Unpickles states that name APScheduler's classes as ours.

    Resolved globals are remembered for the life of the process: the default lookup imports
    the module every time, which costs about two thirds of restoring a stored job.
    """

    _resolved: dict[tuple[str, str], Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._resolved[module, name]
        except KeyError:
            obj = super().find_class(native_module(module), name)
            if len(self._resolved) < 10_000:
                self._resolved[module, name] = obj
            return obj


def loads(data: bytes) -> Any:
    return CompatUnpickler(io.BytesIO(data)).load()
