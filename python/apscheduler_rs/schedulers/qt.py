"""Placeholder for ``apscheduler.schedulers.qt``: QtScheduler is planned in issue #6."""

from __future__ import annotations

from .._unavailable import unavailable

# Same binding search order as upstream: for each major version, PySide before PyQt.
_BINDINGS = tuple(
    f"{flavour}{major}" for major in range(6, 1, -1) for flavour in ("PySide", "PyQt")
)

unavailable(
    "QtScheduler",
    6,
    requires=_BINDINGS,
    missing_message="QtScheduler requires either PySide/PyQt (v6 to v2) installed",
)
