"""Shared pytest setup for the apscheduler-rs Python tests.

Oracle switch
-------------
With ``APSCHEDULER_RS_ORACLE=1`` in the environment, every ``apscheduler_rs`` /
``apscheduler_rs.x.y`` import is answered with the real ``apscheduler`` /
``apscheduler.x.y`` module (APScheduler 3.11.3, installed as the test oracle).
That lets the acceptance tests be proven against the reference implementation
while apscheduler-rs is still being written.  Without the variable the tests
import the real ``apscheduler_rs`` package.

The switch is a ``sys.meta_path`` finder placed first on the path.  Its loader
uses the "replace yourself in sys.modules" protocol of ``importlib``: the
loader puts the *same object* as the upstream module into
``sys.modules['apscheduler_rs...']``, so ``apscheduler_rs.events`` *is*
``apscheduler.events`` (identity, not a copy).  Upstream modules keep their
own ``__name__``/``__spec__`` untouched, so pickling, logger names and
``obj_to_ref`` behave exactly as in plain APScheduler.
"""

from __future__ import annotations

import gc
import importlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import types

import pytest

ORACLE_ENV = "APSCHEDULER_RS_ORACLE"
ORACLE_MODE = os.environ.get(ORACLE_ENV, "") not in ("", "0", "false", "no")

RS_PACKAGE = "apscheduler_rs"
UPSTREAM_PACKAGE = "apscheduler"


# --------------------------------------------------------------------------------------
# Oracle import hook
# --------------------------------------------------------------------------------------
class _OracleAliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):
        # A throwaway placeholder; exec_module swaps the real module in.
        return types.ModuleType(spec.name)

    def exec_module(self, module) -> None:
        real = importlib.import_module(self.target)
        # importlib re-reads sys.modules[name] after exec_module, so the alias
        # name ends up bound to the upstream module object itself.
        sys.modules[module.__name__] = real


class OracleAliasFinder(importlib.abc.MetaPathFinder):
    """Resolve ``apscheduler_rs[.x.y]`` to ``apscheduler[.x.y]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != RS_PACKAGE and not fullname.startswith(RS_PACKAGE + "."):
            return None
        upstream = UPSTREAM_PACKAGE + fullname[len(RS_PACKAGE):]
        if importlib.util.find_spec(upstream) is None:
            return None  # lets the import fail with a normal ModuleNotFoundError
        return importlib.util.spec_from_loader(fullname, _OracleAliasLoader(upstream))


def install_oracle_alias() -> None:
    if any(isinstance(f, OracleAliasFinder) for f in sys.meta_path):
        return
    # Forget anything already imported from the real apscheduler_rs tree.
    for name in list(sys.modules):
        if name == RS_PACKAGE or name.startswith(RS_PACKAGE + "."):
            del sys.modules[name]
    sys.meta_path.insert(0, OracleAliasFinder())


if ORACLE_MODE:
    install_oracle_alias()


# --------------------------------------------------------------------------------------
# pytest configuration: markers, hypothesis profiles, report header
# --------------------------------------------------------------------------------------
MARKERS = {
    "issue4": "needs a feature scheduled for issue 4 (persistent job stores: SQLAlchemy, Redis, ...)",
    "issue6": "needs a feature scheduled for issue 6 (AsyncIOScheduler, ProcessPoolExecutor)",
    "oracle_verified": "example verified against APScheduler 3.11.3 (examples-A.md)",
    "differential": "hypothesis differential test against APScheduler 3.11.3",
}


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def pytest_report_header(config):
    if ORACLE_MODE:
        return f"{ORACLE_ENV}=1: apscheduler_rs imports resolve to the real apscheduler (oracle mode)"
    return "apscheduler_rs imports resolve to apscheduler-rs"


try:  # hypothesis profiles: small by default, large with HYPOTHESIS_PROFILE=ci
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "default", deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.register_profile(
        "ci", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
except ImportError:  # pragma: no cover
    pass


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------
@pytest.fixture
def oracle_mode() -> bool:
    return ORACLE_MODE


def _is_apscheduler_logger(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in (UPSTREAM_PACKAGE, RS_PACKAGE))


def _apscheduler_loggers():
    names = [n for n in logging.Logger.manager.loggerDict if _is_apscheduler_logger(n)]
    names.append(UPSTREAM_PACKAGE)
    return {n: logging.getLogger(n) for n in set(names)}


@pytest.fixture(autouse=True)
def _restore_apscheduler_logging():
    """Examples add handlers and change levels on 'apscheduler' loggers: undo that."""
    saved = {
        name: (list(lg.handlers), lg.level, lg.propagate, lg.disabled)
        for name, lg in _apscheduler_loggers().items()
    }
    yield
    for name, lg in _apscheduler_loggers().items():
        handlers, level, propagate, disabled = saved.get(name, ([], logging.NOTSET, True, False))
        for handler in list(lg.handlers):
            if handler not in handlers:
                lg.removeHandler(handler)
        lg.setLevel(level)
        lg.propagate = propagate
        lg.disabled = disabled


class LogCapture:
    """Collects records from one logger (and its children) while a test runs."""

    def __init__(self) -> None:
        self._installed: list[tuple[logging.Logger, logging.Handler, int]] = []

    def __call__(self, name: str = "apscheduler", level: int = logging.DEBUG) -> list:
        records: list[logging.LogRecord] = []

        class _Handler(logging.Handler):
            def emit(self, record):
                records.append(record)

        logger = logging.getLogger(name)
        handler = _Handler(level)
        self._installed.append((logger, handler, logger.level))
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
        return records

    def close(self) -> None:
        for logger, handler, old_level in reversed(self._installed):
            logger.removeHandler(handler)
            logger.setLevel(old_level)
        self._installed.clear()


@pytest.fixture
def capture_logs():
    """``records = capture_logs("apscheduler.scheduler", logging.INFO)``.

    Returns a live list of ``LogRecord`` objects emitted on that logger or its
    children; the handler is removed and the level restored after the test.
    """
    capture = LogCapture()
    yield capture
    capture.close()


def _scheduler_base_classes():
    classes = []
    for modname in (RS_PACKAGE + ".schedulers.base", UPSTREAM_PACKAGE + ".schedulers.base"):
        try:
            classes.append(importlib.import_module(modname).BaseScheduler)
        except Exception:  # implementation not importable yet, or oracle absent
            pass
    return tuple(classes)


def shutdown_quietly(scheduler) -> None:
    """Shut a scheduler down without waiting and without raising."""
    try:
        if getattr(scheduler, "running", False):
            scheduler.shutdown(wait=False)
    except Exception:
        pass


@pytest.fixture(autouse=True)
def _shutdown_leftover_schedulers():
    """A failing assertion must not leave a scheduler thread running into the next test.

    Schedulers are found through the garbage collector's object list (the
    failing test's frame still references them) and shut down without waiting.
    """
    yield
    bases = _scheduler_base_classes()
    if not bases:
        return
    for obj in gc.get_objects():
        try:
            is_sched = isinstance(obj, bases)
        except Exception:
            continue
        if is_sched:
            shutdown_quietly(obj)
