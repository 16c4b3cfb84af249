"""``apscheduler.job``: the ``Job`` class (implemented natively, see ``src/py/job.rs``)."""

from ._core import Job

__all__ = ("Job",)
