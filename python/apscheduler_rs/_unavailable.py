"""Import-time guard for modules whose feature is not built yet.

A placeholder module calls ``unavailable()`` at import so that it never pretends to work.
If the third-party library the feature needs is missing, the error is APScheduler's own
(users' ``except ImportError`` handling and messages stay the same); otherwise it says which
feature is missing and which issue tracks it.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import NoReturn


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def unavailable(
    feature: str,
    issue: int,
    *,
    requires: tuple[str, ...] = (),
    missing_message: str | None = None,
) -> NoReturn:
    """Raise ``ImportError`` for a not-yet-implemented ``feature``.

    ``requires`` lists alternative top-level modules, any one of which satisfies the
    dependency; when none is installed, ``missing_message`` (upstream's text) is raised, or,
    if it is ``None``, the plain ``ModuleNotFoundError`` of importing the first one.
    """
    if requires and not any(_installed(name) for name in requires):
        if missing_message is None:
            __import__(requires[0])  # raises the same ModuleNotFoundError as upstream
        raise ImportError(missing_message)
    raise ImportError(
        f"{feature} is not implemented in apscheduler_rs yet (tracked in issue #{issue})"
    )
