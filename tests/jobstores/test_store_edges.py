"""The persistent job stores with unusual data and edge cases, on the real services.

Differential: every test not marked rs-only passes with ``APSCHEDULER_RS_ORACLE=1`` (APScheduler
3.11.3 + SQLAlchemy) and is expected to pass with apscheduler_rs. PostgreSQL URLs use
``postgresql+psycopg://`` (psycopg 3 is what is installed; apscheduler_rs ignores the driver).

Care for the oracle: 3.x's paused BackgroundScheduler processes due jobs once when it is shut
down (its loop runs one more pass after the state became STOPPED), so tests remove due jobs
before shutting down.
"""

from __future__ import annotations

import collections
import decimal
import fractions
import logging
import os
import pickle
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from apscheduler_rs.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler_rs.jobstores.redis import RedisJobStore
from apscheduler_rs.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler_rs.schedulers.background import BackgroundScheduler

ORACLE_MODE = os.environ.get("APSCHEDULER_RS_ORACLE", "") not in ("", "0", "false", "no")
from .conftest import PG_URL, REDIS_ADDR, _drop_mysql, _drop_pg, require_server

UTC = timezone.utc
PG = PG_URL.replace("postgresql://", "postgresql+psycopg://")
MY = "mysql+pymysql://root@127.0.0.1:3306/test"
RHOST, RPORT = REDIS_ADDR.rsplit(":", 1)
FAR = datetime(2090, 1, 1, tzinfo=UTC)

rs_only = pytest.mark.skipif(ORACLE_MODE, reason="documented apscheduler_rs-only behaviour")


# ----------------------------------------------------------------------------------------
# Module-level job functions and picklable values
# ----------------------------------------------------------------------------------------
def noop(*args, **kwargs):
    return None


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __repr__(self):
        return f"Point({self.x}, {self.y})"

    def method(self, *args):
        return args


POINT = Point(1, 2)
Pair = collections.namedtuple("Pair", "a b")
ENGINE = None  # set by test_engine_given_as_a_text_reference


# ----------------------------------------------------------------------------------------
# Targets
# ----------------------------------------------------------------------------------------
class Target:
    """One store location (an SQL table or a pair of Redis keys) and how to open it."""

    def __init__(self, kind, url=None, table=None, keys=None):
        self.kind, self.url, self.table, self.keys = kind, url, table, keys

    def store(self, **kwargs):
        if self.kind == "redis":
            jobs_key, run_times_key = self.keys
            return RedisJobStore(jobs_key=jobs_key, run_times_key=run_times_key, host=RHOST, port=int(RPORT),
                                 **kwargs)
        return SQLAlchemyJobStore(url=self.url, tablename=self.table, **kwargs)

    def scheduler(self, **kwargs):
        store = self.store(**kwargs)
        s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
        s.start(paused=True)
        return s, store

    def stored_ids(self):
        """Ids in the job table / hash, read with an independent client."""
        if self.kind == "redis":
            return sorted(k.decode() for k in _redis().hkeys(self.keys[0]))
        if self.kind == "sqlite":
            with sqlite3.connect(self.url[len("sqlite:///"):]) as conn:
                return sorted(r[0] for r in conn.execute(f"SELECT id FROM {_dq(self.table)}"))
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                return sorted(r[0] for r in conn.execute(f"SELECT id FROM {_dq(self.table)}"))
        conn = _mysql()
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT id FROM {_bq(self.table)}")
                return sorted(r[0] for r in cur.fetchall())
        finally:
            conn.close()

    def corrupt(self, job_id, state: bytes):
        """Overwrites a stored job state with other bytes, behind the store's back."""
        if self.kind == "redis":
            _redis().hset(self.keys[0], job_id, state)
        elif self.kind == "sqlite":
            with sqlite3.connect(self.url[len("sqlite:///"):]) as conn:
                conn.execute(f"UPDATE {_dq(self.table)} SET job_state = ? WHERE id = ?", (state, job_id))
        elif self.kind == "postgresql":
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"UPDATE {_dq(self.table)} SET job_state = %s WHERE id = %s", (state, job_id))
        else:
            conn = _mysql()
            try:
                with conn.cursor() as cur:
                    cur.execute(f"UPDATE {_bq(self.table)} SET job_state = %s WHERE id = %s", (state, job_id))
                conn.commit()
            finally:
                conn.close()


def _dq(name):
    return '"' + name.replace('"', '""') + '"'


def _bq(name):
    return "`" + name.replace("`", "``") + "`"


def _redis():
    import redis

    return redis.Redis(host=RHOST, port=int(RPORT))


def _mysql():
    import pymysql

    return pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test", charset="utf8mb4")


def _make_target(kind, tmp_path):
    name = f"qa_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        return Target(kind, url=f"sqlite:///{tmp_path / 'jobs.sqlite'}", table=name), lambda: None
    if kind == "postgresql":
        require_server("PostgreSQL", "127.0.0.1", 5432)
        return Target(kind, url=PG, table=name), lambda: _drop_pg(name)
    if kind == "mysql":
        require_server("MariaDB/MySQL", "127.0.0.1", 3306)
        return Target(kind, url=MY, table=name), lambda: _drop_mysql(name)
    require_server("Redis", RHOST, int(RPORT))

    def cleanup():
        client = _redis()
        for key in client.keys(f"{name}*"):
            client.delete(key)

    return Target(kind, keys=(f"{name}.jobs", f"{name}.run_times")), cleanup


@pytest.fixture(params=["sqlite", "postgresql", "mysql", "redis"])
def target(request, tmp_path):
    t, cleanup = _make_target(request.param, tmp_path)
    yield t
    cleanup()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def sql(request, tmp_path):
    t, cleanup = _make_target(request.param, tmp_path)
    yield t
    cleanup()


@pytest.fixture
def redis_target(tmp_path):
    t, cleanup = _make_target("redis", tmp_path)
    yield t
    cleanup()


def _drop_sql_tables(url, prefix, schema=None):
    """Drops every table whose name starts with ``prefix`` (through SQLAlchemy)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        names = [t for t in sa.inspect(engine).get_table_names(schema=schema) if t.startswith(prefix)]
        quote = engine.dialect.identifier_preparer.quote
        with engine.begin() as conn:
            for name in names:
                conn.execute(sa.text("DROP TABLE " + (f"{quote(schema)}." if schema else "") + quote(name)))
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------------
# Job ids
# ----------------------------------------------------------------------------------------
ODD_IDS = ["ünïcødé-€-😀", "it's \"quoted\"", "with space", "100%", "%s", "%(id)s", "back\\slash", "tab\tnl\n",
           "semi;colon--", "x" * 190, "y" * 191]


def test_unusual_job_ids_round_trip(target):
    s, _store = target.scheduler()
    try:
        for job_id in ODD_IDS:
            s.add_job(noop, "interval", hours=1, id=job_id)
        assert sorted(j.id for j in s.get_jobs()) == sorted(ODD_IDS)
        assert target.stored_ids() == sorted(ODD_IDS)
        for job_id in ODD_IDS:
            assert s.get_job(job_id).id == job_id
        with pytest.raises(ConflictingIdError):
            s.add_job(noop, "interval", hours=1, id="100%")
        # a second store instance (a restart) reads the same ids back
        s2, _ = target.scheduler()
        assert sorted(j.id for j in s2.get_jobs()) == sorted(ODD_IDS)
        s2.shutdown()
        for job_id in ODD_IDS:
            s.remove_job(job_id)
        assert target.stored_ids() == []
    finally:
        s.shutdown()


def test_empty_id_gets_a_generated_one(target):
    s, _store = target.scheduler()
    try:
        job = s.add_job(noop, "interval", hours=1, id="")
        assert len(job.id) == 32 and target.stored_ids() == [job.id]
        with pytest.raises(JobLookupError):
            s.remove_job("")
    finally:
        s.shutdown()


def test_192_character_id_is_refused_by_the_servers_and_nothing_is_written(sql):
    """``id VARCHAR(191)``: PostgreSQL and MariaDB refuse a longer id (SQLite does not check)."""
    s, _store = sql.scheduler()
    try:
        long_id = "z" * 192
        if sql.kind == "sqlite":
            s.add_job(noop, "interval", hours=1, id=long_id)
            assert sql.stored_ids() == [long_id]
            return
        with pytest.raises(Exception, match="too long"):
            s.add_job(noop, "interval", hours=1, id=long_id)
        assert sql.stored_ids() == [] and s.get_jobs() == []
        s.add_job(noop, "interval", hours=1, id="after")  # the connection is still usable
        assert sql.stored_ids() == ["after"]
    finally:
        s.shutdown()


def test_postgresql_errors_carry_the_servers_message(tmp_path):
    """3.x shows the driver's error ('value too long for type character varying(191)',
    'database "…" does not exist'); the message must say what went wrong."""
    t, cleanup = _make_target("postgresql", tmp_path)
    s, _store = t.scheduler()
    try:
        with pytest.raises(Exception, match="too long"):
            s.add_job(noop, "interval", hours=1, id="z" * 192)
        with pytest.raises(Exception, match="NUL|0x00"):
            s.add_job(noop, "interval", hours=1, id="nul\x00byte")
    finally:
        s.shutdown()
        cleanup()
    bad = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(
        url=PG.replace("/test", "/qa_no_such_db"), tablename="t")}, timezone="UTC")
    with pytest.raises(Exception, match="qa_no_such_db"):
        bad.start(paused=True)


# ----------------------------------------------------------------------------------------
# Arguments
# ----------------------------------------------------------------------------------------
def test_custom_and_stdlib_objects_round_trip(target):
    args = (decimal.Decimal("1.10"), uuid.UUID(int=5), fractions.Fraction(1, 3), Point(3, 4), Pair(1, [2]),
            complex(1, 2), datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            float("nan"), {"nested": [(1, {2: frozenset({3})})]})
    kwargs = {"point": POINT, "": b"\x00"}
    s, _store = target.scheduler()
    try:
        s.add_job(noop, "interval", hours=1, id="objs", args=args, kwargs=kwargs)
        s2, _ = target.scheduler()
        job = s2.get_job("objs")
        assert repr(job.args) == repr(args) and job.kwargs == kwargs
        assert [type(a) for a in job.args] == [type(a) for a in args]
        s2.shutdown()
    finally:
        s.shutdown()


def test_one_megabyte_bytes_argument(target):
    """SQLite, PostgreSQL (BYTEA) and Redis keep it; MariaDB's BLOB holds 64 KiB: refused, nothing written."""
    blob = os.urandom(1 << 20)
    s, _store = target.scheduler()
    try:
        if target.kind == "mysql":
            with pytest.raises(Exception, match="too long"):
                s.add_job(noop, "interval", hours=1, id="big", args=(blob,))
            assert target.stored_ids() == [] and s.get_jobs() == []
            return
        s.add_job(noop, "interval", hours=1, id="big", args=(blob,))
        s2, _ = target.scheduler()
        assert s2.get_job("big").args == (blob,)
        s2.shutdown()
    finally:
        s.shutdown()


def test_unserializable_jobs_fail_at_add_job_and_write_nothing(target):
    def local():  # pragma: no cover
        pass

    s, _store = target.scheduler()
    try:
        with pytest.raises(TypeError, match="cannot pickle '_thread.lock' object"):
            s.add_job(noop, "interval", hours=1, id="lock", args=(threading.Lock(),))
        with pytest.raises((pickle.PicklingError, AttributeError), match="pickle"):
            s.add_job(noop, "interval", hours=1, id="lambda-arg", args=(lambda: 0,))
        with pytest.raises(ValueError, match="cannot be serialized"):
            s.add_job(lambda: 0, "interval", hours=1, id="lambda")
        with pytest.raises(ValueError, match="cannot be serialized"):
            s.add_job(local, "interval", hours=1, id="local")
        assert target.stored_ids() == [] and s.get_jobs() == []
    finally:
        s.shutdown()


def test_modify_with_an_unpicklable_argument_keeps_the_stored_job(target):
    s, _store = target.scheduler()
    try:
        s.add_job(noop, "interval", hours=1, id="m", args=(1,))
        with pytest.raises(TypeError, match="pickle"):
            s.modify_job("m", args=(threading.Lock(),))
        s2, _ = target.scheduler()
        assert s2.get_job("m").args == (1,)
        s2.shutdown()
        s.modify_job("m", args=(2,))
        assert s.get_job("m").args == (2,)
    finally:
        s.shutdown()


# ----------------------------------------------------------------------------------------
# Callables
# ----------------------------------------------------------------------------------------
def test_text_reference_and_bound_method(target):
    """A bound method of an instance is stored as its class path plus the instance pickled as
    the first argument (3.x's Job.__getstate__)."""
    s, _store = target.scheduler()
    try:
        s.add_job(f"{__name__}:noop", "interval", hours=1, id="text")
        s.add_job(POINT.method, "interval", hours=1, id="bound", args=(5,))
        s2, _ = target.scheduler()
        text, bound = s2.get_job("text"), s2.get_job("bound")
        assert text.func is noop and text.func_ref == f"{__name__}:noop"
        assert bound.func_ref == f"{__name__}:Point.method" and bound.func is Point.method
        assert bound.args == (POINT, 5) and bound.args[0] is not POINT
        assert bound.func(*bound.args) == (5,)
        s2.shutdown()
        with pytest.raises(LookupError):
            s.add_job(f"{__name__}:no_such_function", "interval", hours=1, id="missing")
        assert target.stored_ids() == ["bound", "text"]
    finally:
        s.shutdown()


# ----------------------------------------------------------------------------------------
# Run times
# ----------------------------------------------------------------------------------------
def test_far_future_and_long_past_run_times(target):
    s, store = target.scheduler()
    try:
        far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
        s.add_job(noop, "date", run_date=far, id="far")
        s.add_job(noop, "interval", hours=1, id="past", next_run_time=datetime(1970, 1, 2, 0, 0, 0, 500000, tzinfo=UTC))
        s.add_job(noop, "date", run_date=datetime(1, 1, 2, tzinfo=UTC), id="year1")
        s.add_job(noop, "interval", hours=1, id="paused", next_run_time=None)
        s2, store2 = target.scheduler()
        jobs = {j.id: j.next_run_time for j in s2.get_jobs()}
        assert jobs == {"far": far, "past": datetime(1970, 1, 2, 0, 0, 0, 500000, tzinfo=UTC),
                        "year1": datetime(1, 1, 2, tzinfo=UTC), "paused": None}
        assert store2.get_next_run_time() == datetime(1, 1, 2, tzinfo=UTC)
        # 3.x's RedisJobStore asks for scores from 0 up: a run time before 1970 is never due there
        # (apscheduler_rs keeps that quirk)
        early = ["past"] if target.kind == "redis" else ["year1", "past"]
        assert [j.id for j in store2.get_due_jobs(datetime(2000, 1, 1, tzinfo=UTC))] == early
        assert [j.id for j in store2.get_due_jobs(far)] == early + ["far"]
        s2.remove_job("year1")
        s2.remove_job("past")
        s2.shutdown()
        assert sorted(j.id for j in s.get_jobs()) == ["far", "paused"]
    finally:
        s.shutdown()


def test_sql_get_jobs_lists_paused_jobs_last_even_after_year_9999(sql):
    s, _store = sql.scheduler()
    try:
        s.add_job(noop, "interval", hours=1, id="paused", next_run_time=None)
        s.add_job(noop, "date", run_date=datetime(9999, 12, 31, 12, tzinfo=UTC), id="far")
        s.add_job(noop, "date", run_date=FAR, id="near")
        assert [j.id for j in s.get_jobs()] == ["near", "far", "paused"]
    finally:
        s.shutdown()


def test_remove_all_jobs_on_an_empty_store(target):
    s, store = target.scheduler()
    try:
        s.remove_all_jobs()
        store.remove_all_jobs()
        assert s.get_jobs() == [] and store.get_next_run_time() is None
        assert store.get_due_jobs(datetime(9999, 1, 1, tzinfo=UTC)) == []
        assert store.lookup_job("nope") is None
    finally:
        s.shutdown()


# ----------------------------------------------------------------------------------------
# pickle_protocol
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickle_protocol_is_used_for_every_trigger(tmp_path, protocol):
    t, _ = _make_target("sqlite", tmp_path)
    s, _store = t.scheduler(pickle_protocol=protocol)
    try:
        s.add_job(noop, "interval", seconds=30, id="i", args=(1, "x"))
        s.add_job(noop, "date", run_date=FAR, id="d")
        s.add_job(noop, "cron", hour=3, id="c")
        s.modify_job("i", args=(2,))
        with sqlite3.connect(t.url[len("sqlite:///"):]) as conn:
            states = dict(conn.execute(f'SELECT id, job_state FROM "{t.table}"'))
        assert {k: v[:2] for k, v in states.items()} == {k: bytes([0x80, protocol]) for k in "idc"}
        s2, _ = t.scheduler()
        assert s2.get_job("i").args == (2,) and str(s2.get_job("c").trigger) == "cron[hour='3']"
        s2.shutdown()
    finally:
        s.shutdown()


@pytest.mark.parametrize("protocol", [0, 1])
@pytest.mark.parametrize("trigger", ["interval", "date", "cron"])
def test_pickle_protocol_0_and_1(tmp_path, protocol, trigger):
    """3.x's triggers pickle with any protocol; so must a store given pickle_protocol=0 or 1."""
    t, _ = _make_target("sqlite", tmp_path)
    s, _store = t.scheduler(pickle_protocol=protocol)
    options = {"interval": {"seconds": 30}, "date": {"run_date": FAR}, "cron": {"hour": 3}}[trigger]
    try:
        s.add_job(noop, trigger, id="j", **options)
        with sqlite3.connect(t.url[len("sqlite:///"):]) as conn:
            (state,) = conn.execute(f'SELECT job_state FROM "{t.table}"').fetchone()
        assert state[:1] != b"\x80"  # protocols 0 and 1 have no PROTO opcode
        s2, _ = t.scheduler()
        assert s2.get_job("j").trigger.__class__.__name__.lower().startswith(trigger)
        s2.shutdown()
    finally:
        s.shutdown()


# ----------------------------------------------------------------------------------------
# Table names, schemas, engine=, metadata=
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["MixedCase_Jobs", "weird-name.with dots", "select", "q\"uo'te`d"])
def test_mixed_case_reserved_and_punctuated_table_names(sql, name):
    table = f"{name}_{uuid.uuid4().hex[:6]}"
    t = Target(sql.kind, url=sql.url, table=table)
    try:
        s, _store = t.scheduler()
        s.add_job(noop, "interval", hours=1, id="a")
        s.shutdown()
        assert t.stored_ids() == ["a"]
        s, _store = t.scheduler()
        assert [j.id for j in s.get_jobs()] == ["a"]
        s.shutdown()
    finally:
        if sql.kind != "sqlite":
            _drop_sql_tables(sql.url, table)


@pytest.mark.parametrize("length", [48, 51, 58, 63])
@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_long_table_names_that_apscheduler_accepts(tmp_path, kind, length):
    """3.x works with any table name the server accepts (PostgreSQL: 63 bytes, MariaDB: 64);
    SQLAlchemy shortens the index name when ``ix_{table}_next_run_time`` is too long."""
    t, _ = _make_target(kind, tmp_path)
    table = ("q" + uuid.uuid4().hex + "l" * 64)[:length]
    t = Target(kind, url=t.url, table=table)
    try:
        s, _store = t.scheduler()
        s.add_job(noop, "interval", hours=1, id="a")
        assert [j.id for j in s.get_jobs()] == ["a"]
        s.shutdown()
        assert t.stored_ids() == ["a"]
    finally:
        _drop_sql_tables(t.url, table[:40])


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_tableschema_on_sqlite_and_mariadb(tmp_path, kind):
    """SQLite's schema ``main`` and MariaDB's database name as ``tableschema``."""
    t, _ = _make_target(kind, tmp_path)
    schema = "main" if kind == "sqlite" else "test"
    table = f"qa_schema_{uuid.uuid4().hex[:8]}"
    try:
        s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=t.url, tablename=table,
                                                                        tableschema=schema)}, timezone="UTC")
        s.start(paused=True)
        s.add_job(noop, "interval", hours=1, id="a")
        assert [j.id for j in s.get_jobs()] == ["a"]
        s.shutdown()
        assert Target(kind, url=t.url, table=table).stored_ids() == ["a"]
    finally:
        if kind != "sqlite":
            _drop_sql_tables(t.url, table)


def test_engine_and_metadata_arguments(sql):
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(sql.url)
    store = SQLAlchemyJobStore(engine=engine, tablename=sql.table, metadata=sa.MetaData())
    assert store.engine is engine
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    s.start(paused=True)
    try:
        s.add_job(noop, "interval", hours=1, id="via-engine")
        assert sql.stored_ids() == ["via-engine"]
        s2, _ = sql.scheduler()  # the same table opened through the URL
        assert [j.id for j in s2.get_jobs()] == ["via-engine"]
        s2.shutdown()
    finally:
        s.shutdown()
        engine.dispose()


def test_engine_given_as_a_text_reference(tmp_path):
    global ENGINE
    sa = pytest.importorskip("sqlalchemy")
    ENGINE = sa.create_engine(f"sqlite:///{tmp_path / 'ref.sqlite'}")
    try:
        store = SQLAlchemyJobStore(engine=f"{__name__}:ENGINE", tablename="ref_jobs")
        assert store.engine is ENGINE
        s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
        s.start(paused=True)
        s.add_job(noop, "interval", hours=1, id="r")
        s.shutdown()
        with sqlite3.connect(tmp_path / "ref.sqlite") as conn:
            assert conn.execute("SELECT id FROM ref_jobs").fetchall() == [("r",)]
    finally:
        ENGINE.dispose()
        ENGINE = None


# ----------------------------------------------------------------------------------------
# URLs
# ----------------------------------------------------------------------------------------
def test_sqlite_paths_with_spaces_and_unicode(tmp_path):
    for name in ["with space.sqlite", "ünï€.sqlite"]:
        url = f"sqlite:///{tmp_path / name}"
        s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
        s.start(paused=True)
        s.add_job(noop, "interval", hours=1, id="a")
        s.shutdown()
        assert (tmp_path / name).exists()


def test_sqlite_url_path_is_percent_decoded_as_sqlalchemy_does(tmp_path):
    """SQLAlchemy decodes ``%xx`` in the database part of the URL: ``my%20jobs.sqlite`` is the
    file ``my jobs.sqlite``. A 3.x user's URL must open the same file (and its jobs)."""
    plain = f"sqlite:///{tmp_path / 'my jobs.sqlite'}"
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=plain)}, timezone="UTC")
    s.start(paused=True)
    s.add_job(noop, "interval", hours=1, id="kept")
    s.shutdown()
    encoded = f"sqlite:///{tmp_path}/my%20jobs.sqlite"
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=encoded)}, timezone="UTC")
    s.start(paused=True)
    try:
        assert [j.id for j in s.get_jobs()] == ["kept"]
        assert not (tmp_path / "my%20jobs.sqlite").exists()
    finally:
        s.shutdown()


def test_sqlite_file_in_a_missing_directory_fails_at_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing' / 'jobs.sqlite'}"
    s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
    with pytest.raises(Exception, match="unable to open database file"):
        s.start(paused=True)


@pytest.mark.parametrize("query", ["charset=utf8mb4", "charset=utf8mb4&binary_prefix=true", "connect_timeout=5"])
def test_mariadb_url_query_parameters_sqlalchemy_users_write(tmp_path, query):
    """``?charset=utf8mb4`` is what SQLAlchemy's MySQL documentation tells users to add."""
    t, cleanup = _make_target("mysql", tmp_path)
    t.url = f"{t.url}?{query}"
    try:
        s, _store = t.scheduler()
        s.add_job(noop, "interval", hours=1, id="ü😀")
        assert [j.id for j in s.get_jobs()] == ["ü😀"]
        s.shutdown()
    finally:
        cleanup()


def test_percent_encoded_user_and_database_in_server_urls(tmp_path):
    for kind, url in [("postgresql", PG.replace("postgres@", "p%6Fstgres@").replace("/test", "/t%65st")),
                      ("mysql", MY.replace("root@", "r%6Fot@").replace("/test", "/t%65st"))]:
        t, cleanup = _make_target(kind, tmp_path)
        t.url = url
        try:
            s, _store = t.scheduler()
            s.add_job(noop, "interval", hours=1, id="a")
            s.shutdown()
            assert t.stored_ids() == ["a"]
        finally:
            cleanup()


# ----------------------------------------------------------------------------------------
# Several stores, several schedulers
# ----------------------------------------------------------------------------------------
def test_two_persistent_stores_in_one_scheduler(tmp_path, redis_target):
    sqlite_target, _ = _make_target("sqlite", tmp_path)
    s = BackgroundScheduler(jobstores={"sql": sqlite_target.store(), "red": redis_target.store()}, timezone="UTC")
    s.start(paused=True)
    try:
        s.add_job(noop, "interval", hours=1, id="same", jobstore="sql")
        s.add_job(noop, "interval", hours=2, id="same", jobstore="red")
        s.add_job(noop, "interval", hours=3, id="only-red", jobstore="red")
        assert sorted((j.id, j._jobstore_alias) for j in s.get_jobs()) == [
            ("only-red", "red"), ("same", "red"), ("same", "sql")]
        assert s.get_job("same", "red").trigger.interval == timedelta(hours=2)
        with pytest.raises(KeyError, match="No such job store: nope"):
            s.add_job(noop, "interval", hours=1, id="x", jobstore="nope")
        with pytest.raises(ConflictingIdError):
            s.add_job(noop, "interval", hours=1, id="only-red", jobstore="red")
        s.add_job(noop, "interval", hours=1, id="only-red", jobstore="sql")  # other store: no conflict
        s.remove_job("same", "red")
        assert sqlite_target.stored_ids() == ["only-red", "same"] and redis_target.stored_ids() == ["only-red"]
        s.remove_all_jobs(jobstore="sql")
        assert sqlite_target.stored_ids() == [] and redis_target.stored_ids() == ["only-red"]
    finally:
        s.shutdown()


def test_one_table_used_by_two_schedulers_in_one_process(target):
    s1, store1 = target.scheduler()
    s2, store2 = target.scheduler()
    try:
        s1.add_job(noop, "interval", hours=1, id="from-1", args=("a",))
        assert [(j.id, j.args) for j in s2.get_jobs()] == [("from-1", ("a",))]
        s2.modify_job("from-1", args=("b",))
        assert s1.get_job("from-1").args == ("b",)
        with pytest.raises(ConflictingIdError):
            s2.add_job(noop, "interval", hours=1, id="from-1")
        s2.remove_job("from-1")
        assert s1.get_jobs() == [] and store1.get_next_run_time() is None
    finally:
        s2.shutdown()
        s1.shutdown()


# ----------------------------------------------------------------------------------------
# Bad data written behind the store's back
# ----------------------------------------------------------------------------------------
GARBAGE = b"\x80\x05garbage\x00\xff"


def test_a_corrupted_state_is_dropped_from_listings_with_apschedulers_log(target, caplog):
    s, store = target.scheduler()
    try:
        for job_id in ("a", "bad", "c"):
            s.add_job(noop, "date", run_date=FAR, id=job_id)
        target.corrupt("bad", GARBAGE)
        with pytest.raises(pickle.UnpicklingError):
            store.lookup_job("bad")
        with caplog.at_level(logging.ERROR):
            assert [j.id for j in s.get_jobs()] == ["a", "c"]
        # (3.x's RedisJobStore logs the id as bytes: "b'bad'")
        assert ('Unable to restore job "bad" -- removing it' in caplog.text
                or 'Unable to restore job "b\'bad\'" -- removing it' in caplog.text)
        assert target.stored_ids() == ["a", "c"]
        assert store.lookup_job("bad") is None
        s.add_job(noop, "date", run_date=FAR, id="bad")  # the id is free again
        assert sorted(j.id for j in s.get_jobs()) == ["a", "bad", "c"]
    finally:
        s.shutdown()


@rs_only
def test_a_corrupted_state_is_kept_aside_and_can_be_put_back(target, caplog):
    s, store = target.scheduler()
    try:
        s.add_job(noop, "date", run_date=FAR, id="a")
        s.add_job(noop, "date", run_date=FAR, id="bad")
        s.add_job(noop, "date", run_date=FAR, id="taken")
        good_state = None
        if target.kind == "redis":
            good_state = _redis().hget(target.keys[0], "bad")
        target.corrupt("bad", GARBAGE)
        target.corrupt("taken", GARBAGE)
        assert [j.id for j in s.get_jobs()] == ["a"]
        assert sorted(i for i, _ in store.unrestorable_jobs()) == ["bad", "taken"]
        s.add_job(noop, "date", run_date=FAR, id="taken")  # meanwhile a new job takes that id
        if good_state is not None:
            assert store.restore_unrestorable_jobs() == 1  # "taken" stays aside
            assert [i for i, _ in store.unrestorable_jobs()] == ["taken"]
    finally:
        s.shutdown()


def test_redis_run_time_without_a_job_is_cleaned_up(redis_target):
    """A ``run_times`` entry whose job is missing from the hash: 3.x logs 'Unable to restore
    job' and deletes it in get_due_jobs, so the next wakeup is the real job's."""
    s, store = redis_target.scheduler()
    try:
        s.add_job(noop, "date", run_date=FAR, id="real")
        _redis().zadd(redis_target.keys[1], {"orphan": 1.0})
        store.get_due_jobs(datetime.now(UTC))
        assert store.get_next_run_time() == FAR
        assert [m.decode() for m in _redis().zrange(redis_target.keys[1], 0, -1)] == ["real"]
    finally:
        s.shutdown()


def test_redis_orphan_run_time_does_not_keep_a_running_scheduler_busy(redis_target):
    _redis().zadd(redis_target.keys[1], {"orphan": 1.0})
    s = BackgroundScheduler(jobstores={"default": redis_target.store()}, timezone="UTC")
    s.add_job(noop, "date", run_date=FAR, id="real")
    cpu = time.process_time()
    s.start()
    try:
        time.sleep(1.5)
        used = time.process_time() - cpu
        assert [m.decode() for m in _redis().zrange(redis_target.keys[1], 0, -1)] == ["real"]
        assert used < 0.3, f"{used:.2f} CPU seconds in 1.5 s"
    finally:
        s.shutdown()


def test_redis_keys_with_unicode_and_spaces_in_another_database(tmp_path):
    require_server("Redis", RHOST, int(RPORT))
    import redis

    prefix = f"qa é ü {uuid.uuid4().hex[:8]}"
    db3 = redis.Redis(host=RHOST, port=int(RPORT), db=3)
    store = RedisJobStore(db=3, jobs_key=f"{prefix}.jobs", run_times_key=f"{prefix}.run_times",
                          host=RHOST, port=int(RPORT))
    s = BackgroundScheduler(jobstores={"default": store}, timezone="UTC")
    s.start(paused=True)
    try:
        s.add_job(noop, "date", run_date=FAR, id="ü")
        assert db3.hkeys(f"{prefix}.jobs") == ["ü".encode()]
        assert db3.zscore(f"{prefix}.run_times", "ü") == FAR.timestamp()
        assert _redis().keys(f"{prefix}*") == []  # nothing in db 0
    finally:
        s.shutdown()
        for key in db3.keys(f"{prefix}*"):
            db3.delete(key)
