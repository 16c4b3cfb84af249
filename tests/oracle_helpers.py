"""Shared helpers for the differential tests against APScheduler 3.11.3 (the oracle).

Not a test module. Hypothesis profiles: ``dev`` (default, quick) and ``ci`` (deep), chosen
with ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=150, deadline=None)
settings.register_profile(
    "ci", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def outcome(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What a call did, in a comparable form: its result, or the exception type and text."""
    try:
        result = func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the exception *is* the outcome
        return ("raised", type(exc).__name__, str(exc))
    return ("returned", type(result).__name__, repr(result))


def same_outcome(ours: Callable[..., Any], theirs: Callable[..., Any], *args: Any) -> None:
    """Assert both implementations behave the same for ``args``."""
    assert outcome(ours, *args) == outcome(theirs, *args), args
