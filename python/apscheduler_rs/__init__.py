"""apscheduler-rs: APScheduler 3.x with a Rust core. Import paths mirror ``apscheduler``."""
from importlib.metadata import PackageNotFoundError, version as _dist_version

try:
    release = _dist_version("apscheduler-rs")
except PackageNotFoundError:  # running from a source tree without metadata
    release = "0.1.0"

version_info = tuple(int(part) if part.isdigit() else part for part in release.split("."))
version = __version__ = ".".join(str(part) for part in version_info[:3])


def current_run():  # type: ignore[no-untyped-def]
    """``(job_id, scheduled_run_time)`` of the run executing in the calling thread (a
    ``ThreadPoolExecutor`` worker), or ``None``: tells a job which of its runs it is."""
    from ._core import current_run as native

    return native()
