"""MongoDBJobStore against a real server: runs only when MONGODB_URL is set (none on this
machine; the README says the store is untested where no server is available)."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone

import pytest

MONGODB_URL = os.environ.get("MONGODB_URL")
needs_server = pytest.mark.skipif(not MONGODB_URL, reason="MONGODB_URL is not set: no MongoDB server to test against")
UTC = timezone.utc


def noop():
    return None


@needs_server
def test_store_contract_and_document_layout():
    pytest.importorskip("pymongo")
    from apscheduler_rs.jobstores.base import ConflictingIdError, JobLookupError
    from apscheduler_rs.jobstores.mongodb import MongoDBJobStore
    from apscheduler_rs.schedulers.background import BackgroundScheduler
    from apscheduler_rs.triggers.date import DateTrigger

    collection = f"jobs_{uuid.uuid4().hex[:8]}"
    store = MongoDBJobStore(database="apscheduler_rs_test", collection=collection, host=MONGODB_URL)
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    s.start(paused=True)
    try:
        s.add_job(noop, DateTrigger(datetime(2030, 1, 2, tzinfo=UTC)), id="later")
        s.add_job(noop, DateTrigger(datetime(2030, 1, 1, tzinfo=UTC)), id="early")
        s.add_job(noop, DateTrigger(datetime(2030, 1, 3, tzinfo=UTC)), id="paused").pause()
        assert [j.id for j in store.get_all_jobs()] == ["early", "later", "paused"]
        assert store.get_next_run_time() == datetime(2030, 1, 1, tzinfo=UTC)
        document = store.collection.find_one("early")
        assert document["next_run_time"] == 1893456000.0 and bytes(document["job_state"])[:1] == b"\x80"
        with pytest.raises(ConflictingIdError):
            store.add_job(store.lookup_job("early"))
        store.remove_job("early")
        with pytest.raises(JobLookupError):
            store.remove_job("early")
        store.collection.update_one({"_id": "later"}, {"$set": {"job_state": b"\x80\x05bad"}})
        assert [j.id for j in store.get_all_jobs()] == ["paused"]
        assert [i for i, _ in store.unrestorable_jobs()] == ["later"]
    finally:
        store.client.drop_database("apscheduler_rs_test")
        s.shutdown()


@pytest.mark.skipif(bool(MONGODB_URL), reason="the real server test runs instead")
def test_with_mongomock_when_installed():
    """A smoke test of the store logic against mongomock (not a server); skipped without it."""
    mongomock = pytest.importorskip("mongomock")
    pytest.importorskip("pymongo")
    from apscheduler_rs.jobstores.mongodb import MongoDBJobStore
    from apscheduler_rs.schedulers.background import BackgroundScheduler

    store = MongoDBJobStore(client=mongomock.MongoClient())
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    s.start(paused=True)
    try:
        s.add_job(noop, "date", run_date=datetime(2030, 1, 2, tzinfo=UTC), id="later")
        s.add_job(noop, "date", run_date=datetime(2030, 1, 1, tzinfo=UTC), id="early")
        assert [j.id for j in s.get_jobs()] == ["early", "later"]
        assert store.get_next_run_time() == datetime(2030, 1, 1, tzinfo=UTC)
        store.collection.update_one({"_id": "later"}, {"$set": {"job_state": b"\x80\x05bad"}})
        assert [j.id for j in s.get_jobs()] == ["early"]
        assert [i for i, _ in store.unrestorable_jobs()] == ["later"]
    finally:
        s.shutdown()


def test_import_error_without_pymongo(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "pymongo", None)
    monkeypatch.delitem(sys.modules, "apscheduler_rs.jobstores.mongodb", raising=False)
    with pytest.raises(ImportError, match="^MongoDBJobStore requires PyMongo installed$"):
        importlib.import_module("apscheduler_rs.jobstores.mongodb")
