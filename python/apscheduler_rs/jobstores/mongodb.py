"""``apscheduler.jobstores.mongodb``: jobs in a MongoDB collection, through PyMongo.

APScheduler 3.x's document layout: ``{'_id': job id, 'next_run_time': UTC timestamp or None,
'job_state': Binary(pickle)}`` with a sparse ascending index on ``next_run_time``. This store is
written in Python on top of PyMongo and driven by the engine through its methods.

Differences from 3.x: documents that cannot be restored are moved to the collection
``{collection}_unrestorable`` (with the error text) instead of being deleted. Tested against a
real server only when ``MONGODB_URL`` is set (see the README).
"""

from __future__ import annotations

import pickle
import time
import warnings
from datetime import datetime, timezone
from typing import Any

from .. import _compat
from ..job import Job
from ..util import maybe_ref
from .base import BaseJobStore, ConflictingIdError, JobLookupError

try:
    import pymongo
    from bson.binary import Binary
    from pymongo import ASCENDING
    from pymongo.errors import DuplicateKeyError
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("MongoDBJobStore requires PyMongo installed") from exc

__all__ = ("MongoDBJobStore",)


def _timestamp(value: datetime | None) -> float | None:
    if value is None:
        return None
    return value.timestamp()


class MongoDBJobStore(BaseJobStore):
    """Stores jobs in a MongoDB collection.

    :param database: database name
    :param collection: collection name
    :param client: a ``MongoClient`` (or a text reference to one); otherwise one is created
        from ``connect_args`` (with ``w=1`` unless given)
    :param pickle_protocol: pickle protocol of the stored job state
    """

    def __init__(
        self,
        database: str = "apscheduler",
        collection: str = "jobs",
        client: Any = None,
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        **connect_args: Any,
    ) -> None:
        super().__init__()
        self.pickle_protocol = pickle_protocol
        if not database:
            raise ValueError('The "database" parameter must not be empty')
        if not collection:
            raise ValueError('The "collection" parameter must not be empty')
        if client:
            self.client = maybe_ref(client)
        else:
            connect_args.setdefault("w", 1)
            self.client = pymongo.MongoClient(**connect_args)
        self.collection = self.client[database][collection]
        self._aside = self.client[database][f"{collection}_unrestorable"]

    @property
    def connection(self) -> Any:
        warnings.warn('The "connection" member is deprecated -- use "client" instead', DeprecationWarning)
        return self.client

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self.collection.create_index("next_run_time", sparse=True)

    def lookup_job(self, job_id: str) -> Job | None:
        document = self.collection.find_one(job_id, ["job_state"])
        return self._reconstitute_job(document["job_state"]) if document else None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        return self._get_jobs({"next_run_time": {"$lte": _timestamp(now)}})

    def get_next_run_time(self) -> datetime | None:
        document = self.collection.find_one(
            {"next_run_time": {"$ne": None}}, projection=["next_run_time"], sort=[("next_run_time", ASCENDING)]
        )
        if not document:
            return None
        return datetime.fromtimestamp(document["next_run_time"], timezone.utc)

    def get_all_jobs(self) -> list[Job]:
        jobs = self._get_jobs({})
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    def _document(self, job: Job) -> dict[str, Any]:
        state = pickle.dumps(job.__getstate__(), self.pickle_protocol)
        return {"next_run_time": _timestamp(job.next_run_time), "job_state": Binary(state)}

    def add_job(self, job: Job) -> None:
        document = self._document(job)
        try:
            self.collection.insert_one({"_id": job.id, **document})
        except DuplicateKeyError:
            raise ConflictingIdError(job.id) from None

    def update_job(self, job: Job) -> None:
        result = self.collection.update_one({"_id": job.id}, {"$set": self._document(job)})
        if result and result.matched_count == 0:
            raise JobLookupError(job.id)

    def remove_job(self, job_id: str) -> None:
        result = self.collection.delete_one({"_id": job_id})
        if result and result.deleted_count == 0:
            raise JobLookupError(job_id)

    def remove_all_jobs(self) -> None:
        self.collection.delete_many({})

    def shutdown(self) -> None:
        self.client.close()

    def unrestorable_jobs(self) -> list[tuple[str, str]]:
        """``(job id, error)`` of every document moved aside because it could not be restored."""
        return [(d["_id"], d["error"]) for d in self._aside.find({}, ["error"]).sort("set_aside_at", ASCENDING)]

    def restore_unrestorable_jobs(self) -> int:
        """Moves the documents kept aside back (ids taken meanwhile stay aside)."""
        moved = 0
        for document in list(self._aside.find({})):
            document.pop("error", None)
            document.pop("set_aside_at", None)
            try:
                self.collection.insert_one(document)
            except DuplicateKeyError:
                continue
            self._aside.delete_one({"_id": document["_id"]})
            moved += 1
        return moved

    def _reconstitute_job(self, job_state: bytes) -> Job:
        state = _compat.loads(job_state)
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _get_jobs(self, conditions: dict[str, Any]) -> list[Job]:
        jobs: list[Job] = []
        failed: list[tuple[Any, str]] = []
        cursor = self.collection.find(conditions, ["_id", "job_state"], sort=[("next_run_time", ASCENDING)])
        for document in cursor:
            try:
                jobs.append(self._reconstitute_job(document["job_state"]))
            except BaseException as exc:
                self._logger.exception('Unable to restore job "%s" -- removing it', document["_id"])
                failed.append((document["_id"], f"{type(exc).__name__}: {exc}"))
        for job_id, error in failed:
            document = self.collection.find_one({"_id": job_id})
            if document is not None:
                document.update(error=error, set_aside_at=time.time())
                self._aside.replace_one({"_id": job_id}, document, upsert=True)
                self.collection.delete_one({"_id": job_id})
        return jobs

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} (client={self.client!r})>"
