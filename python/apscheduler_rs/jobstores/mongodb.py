"""Placeholder for ``apscheduler.jobstores.mongodb``: MongoDBJobStore is planned in issue #4."""

from __future__ import annotations

from .._unavailable import unavailable

unavailable(
    "MongoDBJobStore",
    4,
    requires=("pymongo",),
    missing_message="MongoDBJobStore requires PyMongo installed",
)
