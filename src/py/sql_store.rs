//! The native half of the persistent stores (`SQLAlchemyJobStore`, `RedisJobStore`): jobs are
//! pickled here and handed to a [`RowStore`] as `(id, timestamp, bytes)` rows.
//!
//! Rules: every database call runs with the GIL released (`py.detach`), and the GIL is never
//! requested while a row store holds its connection lock *except* inside a claim's decide step,
//! which is only ever entered from the engine thread without the GIL. Rows that cannot be
//! restored are logged with APScheduler's message and moved aside, never deleted.

use crate::core::engine::{Claim, Plan, Ticket};
use crate::core::store::cluster::{ClaimContext, Decision, DueBatch, Submission};
use crate::core::store::ledger::NodeLedger;
use crate::core::store::sql::sqlite::SqliteRows;
use crate::core::store::sql::url::{self, Target};
use crate::core::store::sql::{
    Change, Row, RowError, RowResult, RowStore, TableNames, micros_to_timestamp, timestamp_to_micros,
};
use crate::core::time::{Zone, ZonedTime};
use crate::py::errors::{conflicting_id_error, job_lookup_error};
use crate::py::job::{Home, Job, JobRecord, JobRef};
use crate::py::pyref::Cached;
use crate::py::restore::{RestoreCache, Restored, decode_job, fetch_and_restore};
use crate::py::state_pickle::pickle_state;
use crate::py::store::NativeStore;
use crate::py::time::{zoned_from_datetime, zoned_to_datetime};
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// A node whose lease ended longer ago than this (by the claimer's clock) is dead: the clock
/// skew tolerated between schedulers. Leases are renewed every third of their length and
/// claims run at least every `POLL_US`, so a node that stops is taken for dead between
/// `lease * 2/3 + SKEW` and `lease + SKEW + 0.5` seconds later.
const SKEW: f64 = 2.0;
/// A shared store is looked at again this often, so changes made by other schedulers are
/// seen within a second.
const POLL_US: i64 = 500_000;

static PICKLE_DUMPS: Cached = Cached::new("pickle", "dumps");
static COMPAT_LOADS: Cached = Cached::new("apscheduler_rs._compat", "loads");

/// `(shared, lease_seconds)` as the Python constructors pass them.
#[derive(FromPyObject)]
pub struct Sharing(bool, f64);

/// Scheduler, alias and logger of a started store.
struct Bound3 {
    scheduler: Py<PyAny>,
    alias: Py<PyString>,
    logger: Py<PyAny>,
}

#[pyclass(module = "apscheduler_rs._core", frozen)]
pub struct RowJobStore {
    rows: Arc<dyn RowStore>,
    pickle_protocol: i32,
    started: Mutex<Option<Bound3>>,
    lease: Duration,
    /// Whether several schedulers may share the store (a lease, a fenced run ledger, polling).
    shared: bool,
    /// This scheduler's lease and run fence while the store is started.
    ledger: Mutex<Option<Arc<NodeLedger>>>,
}

pub fn backend_error(e: RowError) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

impl RowJobStore {
    pub fn new_native(rows: Arc<dyn RowStore>, pickle_protocol: i32, sharing: Sharing) -> PyResult<Self> {
        let Sharing(shared, lease_seconds) = sharing;
        if !(lease_seconds.is_finite() && lease_seconds >= 0.5) {
            return Err(PyValueError::new_err("lease_seconds must be a number of seconds >= 0.5"));
        }
        Ok(RowJobStore {
            rows,
            pickle_protocol,
            started: Mutex::new(None),
            lease: Duration::from_secs_f64(lease_seconds),
            shared,
            ledger: Mutex::new(None),
        })
    }

    /// Logs a run that started on a scheduler that then died.
    fn log_lost(&self, py: Python<'_>, lost: &crate::core::store::cluster::LostRun) {
        let Some(logger) = self.started.lock().as_ref().map(|s| s.logger.clone_ref(py)) else { return };
        let at = ZonedTime::from_micros(timestamp_to_micros(lost.run_time), Zone::Utc);
        let at = zoned_to_datetime(py, &at, None).map(|d| d.into_any().unbind()).unwrap_or_else(|_| py.None());
        let _ = logger.call_method1(
            py,
            "warning",
            (
                "Run of job \"%s\" scheduled at %s was lost: scheduler %s stopped while running it",
                &lost.job_id,
                at,
                &lost.node_id,
            ),
        );
    }

    /// `(id, timestamp, pickle)` of a job; fails (writing nothing) if the job cannot be pickled.
    fn to_row(&self, job: &Bound<'_, PyAny>) -> PyResult<Row> {
        let py = job.py();
        let handle = job.cast::<Job>()?;
        if handle.is_exact_instance_of::<Job>() {
            return self.record_row(py, &handle.get().rec);
        }
        let bytes = PICKLE_DUMPS.get(py)?.call1((job.call_method0("__getstate__")?, self.pickle_protocol))?;
        Ok(Self::row(&handle.get().rec, bytes.cast_into::<PyBytes>()?.as_bytes().to_vec()))
    }

    /// [`Self::to_row`] of a record: pickled natively when it has the common shape (the same
    /// bytes, see `py/state_pickle.rs`), else by Python's pickle.
    fn record_row(&self, py: Python<'_>, job: &JobRecord) -> PyResult<Row> {
        let state = match pickle_state(py, job, self.pickle_protocol) {
            Some(state) => state,
            None => {
                let bytes = PICKLE_DUMPS.get(py)?.call1((job.state(py)?, self.pickle_protocol))?;
                bytes.cast_into::<PyBytes>()?.as_bytes().to_vec()
            }
        };
        Ok(Self::row(job, state))
    }

    fn row(job: &JobRecord, state: Vec<u8>) -> Row {
        let (id, next) = {
            let f = job.fields.lock();
            (job.id().unwrap_or_else(|| Arc::from("")), f.next_run_time.flatten())
        };
        Row { id: id.to_string(), next_run_time: next.map(|t| micros_to_timestamp(t.micros())), state }
    }

    /// A new `Job` from stored bytes, bound to the scheduler and alias of the started store.
    fn reconstitute(&self, py: Python<'_>, state: &[u8]) -> PyResult<JobRef> {
        self.reconstitute_in(py, &mut RestoreCache::default(), &self.home(py), Cow::Borrowed(state))
    }

    /// Where the started store's jobs belong (its scheduler and alias), shared by its jobs.
    fn home(&self, py: Python<'_>) -> Option<Arc<Home>> {
        let started = self.started.lock();
        let s = started.as_ref()?;
        Home::of(Some(s.scheduler.clone_ref(py)), Some(s.alias.clone_ref(py).into_any()))
    }

    /// [`Self::reconstitute`] sharing `cache` and `home` with the other rows of one batch:
    /// natively when the state has a common shape, else through Python's pickle.
    fn reconstitute_in(
        &self,
        py: Python<'_>,
        cache: &mut RestoreCache,
        home: &Option<Arc<Home>>,
        state: Cow<'_, [u8]>,
    ) -> PyResult<JobRef> {
        self.finish_restore(py, home, decode_job(py, cache, state))
    }

    /// A decoded record, or one made by `Job.__setstate__` from Python's pickle for a state
    /// the native decoder left alone, bound to `home`.
    fn finish_restore(
        &self,
        py: Python<'_>,
        home: &Option<Arc<Home>>,
        decoded: Result<JobRef, Cow<'_, [u8]>>,
    ) -> PyResult<JobRef> {
        let job = match decoded {
            Ok(job) => job,
            Err(state) => {
                let dict = COMPAT_LOADS.get(py)?.call1((PyBytes::new(py, &state),))?.cast_into::<PyDict>()?;
                let job = Py::new(py, Job::empty())?;
                job.bind(py).call_method1("__setstate__", (dict,))?;
                job.get().rec.clone()
            }
        };
        if let Some(home) = home {
            job.fields.lock().set_shared_home(home.clone());
        }
        Ok(job)
    }

    /// Logs APScheduler's message for a row that cannot be restored.
    fn log_unrestorable(&self, py: Python<'_>, id: &str, err: PyErr) {
        let logger = match self.started.lock().as_ref() {
            Some(s) => s.logger.clone_ref(py).into_bound(py),
            None => match py.import("logging").and_then(|l| l.call_method1("getLogger", ("apscheduler.jobstores",))) {
                Ok(l) => l,
                Err(_) => return,
            },
        };
        let kw = PyDict::new(py);
        let _ = kw.set_item("exc_info", err.into_value(py));
        let _ = logger.call_method("error", ("Unable to restore job \"%s\" -- removing it", id), Some(&kw));
    }

    fn rows_to_list<'py>(py: Python<'py>, rows: Vec<Row>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, rows.into_iter().map(|r| (r.id, PyBytes::new(py, &r.state))))
    }
}

fn now_ts(now: &Bound<'_, PyAny>) -> PyResult<f64> {
    Ok(micros_to_timestamp(zoned_from_datetime(now)?.micros()))
}

#[pymethods]
impl RowJobStore {
    /// The store of a SQLAlchemy-style URL (nothing is opened until `start`).
    #[staticmethod]
    #[pyo3(signature = (url, tablename, tableschema, pickle_protocol, sharing))]
    fn sql(
        url: &str,
        tablename: String,
        tableschema: Option<String>,
        pickle_protocol: i32,
        sharing: Sharing,
    ) -> PyResult<Self> {
        let target = url::parse(url).map_err(|e| PyValueError::new_err(e.0))?;
        let names = TableNames::new(tablename, tableschema);
        let rows: Arc<dyn RowStore> = match target {
            Target::SqliteMemory => Arc::new(SqliteRows::new(None, names)),
            Target::SqliteFile(path) => Arc::new(SqliteRows::new(Some(path), names)),
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => Arc::new(crate::core::store::sql::postgres::PostgresRows::new(url, names)),
            #[cfg(feature = "mysql")]
            Target::Mysql { url, options } => {
                Arc::new(crate::core::store::sql::mysql::MysqlRows::new(url, options, names))
            }
            #[allow(unreachable_patterns)]
            _ => return Err(PyValueError::new_err("this build of apscheduler_rs has no client for this database")),
        };
        Self::new_native(rows, pickle_protocol, sharing)
    }

    /// The store of APScheduler's Redis layout at `url` (`redis://host:port/db`).
    #[cfg(feature = "redis")]
    #[staticmethod]
    fn redis(
        url: String,
        jobs_key: String,
        run_times_key: String,
        pickle_protocol: i32,
        sharing: Sharing,
    ) -> PyResult<Self> {
        let rows = crate::core::store::redis::RedisRows::new(url, jobs_key, run_times_key);
        Self::new_native(Arc::new(rows), pickle_protocol, sharing)
    }

    /// `url` with its password masked, as SQLAlchemy prints it.
    #[staticmethod]
    fn masked_url(url: &str) -> String {
        url::masked(url)
    }

    /// Binds the store to its scheduler (rows restored from now on carry it) and creates the
    /// tables when missing.
    /// and joins the schedulers sharing the store (registers this node, starts its lease).
    fn start(&self, py: Python<'_>, scheduler: Py<PyAny>, alias: Py<PyString>, logger: Py<PyAny>) -> PyResult<()> {
        *self.started.lock() = Some(Bound3 { scheduler, alias, logger });
        let (rows, lease, shared) = (self.rows.clone(), self.lease, self.shared);
        let ledger = py.detach(|| {
            rows.create_tables()?;
            shared.then(|| NodeLedger::join(node_id(), rows.sibling(), lease)).transpose()
        });
        *self.ledger.lock() = ledger.map_err(backend_error)?;
        Ok(())
    }

    fn shutdown(&self, py: Python<'_>) {
        let (rows, ledger) = (self.rows.clone(), self.ledger.lock().take());
        py.detach(|| {
            if let Some(ledger) = ledger {
                ledger.leave();
            }
            rows.close()
        });
    }

    /// This scheduler's id among those sharing the store (`None` until started).
    #[getter]
    fn node_id(&self) -> Option<String> {
        self.ledger.lock().as_ref().map(|l| l.node.clone())
    }

    /// `[(job_id, run_time, node_id)]` of runs that started on a scheduler that then died.
    fn lost_runs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.rows.clone();
        let lost = py.detach(|| rows.lost_runs()).map_err(backend_error)?;
        let items = lost
            .into_iter()
            .map(|l| {
                let at = ZonedTime::from_micros(timestamp_to_micros(l.run_time), Zone::Utc);
                Ok((l.job_id, zoned_to_datetime(py, &at, None)?, l.node_id))
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn add(&self, py: Python<'_>, job: &Bound<'_, PyAny>) -> PyResult<()> {
        let row = self.to_row(job)?;
        let rows = self.rows.clone();
        match py.detach(|| rows.insert(&row)) {
            Ok(()) => Ok(()),
            Err(RowError::Conflict) => Err(conflicting_id_error(py, &row.id)),
            Err(e) => Err(backend_error(e)),
        }
    }

    fn update(&self, py: Python<'_>, job: &Bound<'_, PyAny>) -> PyResult<()> {
        let row = self.to_row(job)?;
        let rows = self.rows.clone();
        match py.detach(|| rows.update(&row)) {
            Ok(()) => Ok(()),
            Err(RowError::NotFound) => Err(job_lookup_error(py, &row.id)),
            Err(e) => Err(backend_error(e)),
        }
    }

    fn remove(&self, py: Python<'_>, job_id: &str) -> PyResult<()> {
        let rows = self.rows.clone();
        match py.detach(|| rows.delete(job_id)) {
            Ok(()) => Ok(()),
            Err(RowError::NotFound) => Err(job_lookup_error(py, job_id)),
            Err(e) => Err(backend_error(e)),
        }
    }

    fn remove_all(&self, py: Python<'_>) -> PyResult<()> {
        let rows = self.rows.clone();
        py.detach(|| rows.delete_all()).map_err(backend_error)
    }

    /// The stored pickle of one job, or `None`.
    fn lookup_state<'py>(&self, py: Python<'py>, job_id: &str) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let rows = self.rows.clone();
        let state = py.detach(|| rows.lookup(job_id)).map_err(backend_error)?;
        Ok(state.map(|s| PyBytes::new(py, &s)))
    }

    /// `[(id, pickle)]` of the due jobs, earliest first.
    fn due_states<'py>(&self, py: Python<'py>, now: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let now = now_ts(now)?;
        let rows = self.rows.clone();
        Self::rows_to_list(py, py.detach(|| rows.due(now)).map_err(backend_error)?)
    }

    /// `[(id, pickle)]` of every job, earliest first, paused last.
    fn all_states<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.rows.clone();
        Self::rows_to_list(py, py.detach(|| rows.all()).map_err(backend_error)?)
    }

    /// The jobs themselves (for the exact store class: no per-row Python hook).
    fn all_jobs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rows = self.rows.clone();
        let home = self.home(py);
        let mut failed = Vec::new();
        let _paused = GcPaused::new(py);
        let mut reread = |id: &str| py.detach(|| rows.lookup(id));
        // A handle that cannot be made (only running out of memory does that) is raised once
        // the listing is done: a `PyResult` per row would triple what the rows take while they
        // are sorted (measured: 5 ms more for 100,000 jobs).
        let mut out_of_memory = None;
        let mut keep = |restored| {
            let job = self.keep_one(py, &home, restored, &mut failed)?;
            Job::handle(py, &job).map_err(|e| out_of_memory = Some(e)).ok()
        };
        let jobs = match fetch_and_restore(py, &*rows, &mut reread, &mut keep) {
            Ok(jobs) => jobs,
            Err(e) => {
                // Rows logged as unrestorable before the reading failed are set aside all the
                // same, when the store still answers.
                let _ = self.set_aside_failed(py, failed);
                return Err(backend_error(e));
            }
        };
        self.set_aside_failed(py, failed)?;
        if let Some(e) = out_of_memory {
            return Err(e);
        }
        PyList::new(py, jobs)
    }

    fn due_jobs<'py>(&self, py: Python<'py>, now: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let now = now_ts(now)?;
        let rows = self.rows.clone();
        let rows = py.detach(|| rows.due(now)).map_err(backend_error)?;
        let (jobs, failed) = self.restore_all(py, rows)?;
        self.set_aside_failed(py, failed)?;
        Job::list(py, &jobs)
    }

    fn lookup(&self, py: Python<'_>, job_id: &str) -> PyResult<Option<Py<Job>>> {
        let rows = self.rows.clone();
        let state = py.detach(|| rows.lookup(job_id)).map_err(backend_error)?;
        state.map(|s| self.reconstitute(py, &s).and_then(|r| Job::handle(py, &r))).transpose()
    }

    /// The earliest next run time as an aware UTC datetime, or `None`.
    fn next_run_time<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let rows = self.rows.clone();
        let ts = py.detach(|| rows.next_run_time()).map_err(backend_error)?;
        ts.map(|ts| {
            let t = ZonedTime::from_micros(timestamp_to_micros(ts), Zone::Utc);
            zoned_to_datetime(py, &t, None).map(|d| d.into_any())
        })
        .transpose()
    }

    /// Moves rows that failed to restore aside: `[(id, error_text)]`.
    fn set_aside(&self, py: Python<'_>, failed: Vec<(String, String)>) -> PyResult<()> {
        let rows = self.rows.clone();
        py.detach(|| rows.set_aside(&failed)).map_err(backend_error)
    }

    /// Replaces the stored state of one job as is (used by format conversions).
    fn write_state(
        &self,
        py: Python<'_>,
        job_id: String,
        next_run_time: Option<&Bound<'_, PyAny>>,
        state: &[u8],
    ) -> PyResult<()> {
        let next = match next_run_time {
            Some(t) if !t.is_none() => Some(now_ts(t)?),
            _ => None,
        };
        let row = Row { id: job_id, next_run_time: next, state: state.to_vec() };
        let rows = self.rows.clone();
        match py.detach(|| rows.update(&row)) {
            Ok(()) => Ok(()),
            Err(RowError::NotFound) => Err(job_lookup_error(py, &row.id)),
            Err(e) => Err(backend_error(e)),
        }
    }

    /// `[(id, error_text)]` of the rows kept aside.
    fn set_aside_rows(&self, py: Python<'_>) -> PyResult<Vec<(String, String)>> {
        let rows = self.rows.clone();
        py.detach(|| rows.set_aside_rows()).map_err(backend_error)
    }

    /// Puts the rows kept aside back into the job table; returns how many moved.
    fn restore_set_aside(&self, py: Python<'_>) -> PyResult<usize> {
        let rows = self.rows.clone();
        py.detach(|| rows.restore_set_aside()).map_err(backend_error)
    }
}

impl RowJobStore {
    /// Stores a new job (`add_job`'s native path), or replaces the stored job of the same id
    /// when `replace`; false on a conflict.
    pub fn insert(&self, job: &Bound<'_, Job>, replace: bool) -> PyResult<bool> {
        let py = job.py();
        let row = self.to_row(job.as_any())?;
        let rows = self.rows.clone();
        let result = py.detach(|| match rows.insert(&row) {
            Err(RowError::Conflict) if replace => rows.update(&row).map(|()| true),
            Err(RowError::Conflict) => Ok(false),
            other => other.map(|()| true),
        });
        match result {
            Err(RowError::NotFound) => Err(job_lookup_error(py, &row.id)), // removed meanwhile
            result => result.map_err(backend_error),
        }
    }

    /// Restores rows in order; returns the jobs and `(id, error)` of the rows that failed
    /// (already logged).
    fn restore_all(&self, py: Python<'_>, rows: Vec<Row>) -> PyResult<RestoredBatch> {
        self.keep_restored(py, |cache| {
            let restore =
                |Row { id, state, .. }| decode_job(py, cache, Cow::Owned(state)).map_err(|s| (id, s.into_owned()));
            Ok(rows.into_iter().map(restore).collect())
        })
    }

    /// The jobs `restore` makes (with a restore cache), bound to this store, and `(id, error)`
    /// of the rows that failed (logged).
    fn keep_restored(
        &self,
        py: Python<'_>,
        restore: impl FnOnce(&mut RestoreCache) -> RowResult<Vec<Restored>>,
    ) -> PyResult<RestoredBatch> {
        let mut failed = Vec::new();
        let home = self.home(py);
        let _paused = GcPaused::new(py);
        let restored = restore(&mut RestoreCache::default()).map_err(backend_error)?;
        let jobs = restored.into_iter().filter_map(|r| self.keep_one(py, &home, r, &mut failed)).collect();
        Ok((jobs, failed))
    }

    /// A restored job bound to this store; a row left to Python (`Err((id, state))`) is
    /// unpickled there, and one that fails is logged and added to `failed` as `(id, error)`.
    fn keep_one(
        &self,
        py: Python<'_>,
        home: &Option<Arc<Home>>,
        restored: Restored,
        failed: &mut Vec<(String, String)>,
    ) -> Option<JobRef> {
        let (id, decoded) = match restored {
            Ok(job) => (None, Ok(job)),
            Err((id, state)) => (Some(id), Err(Cow::Owned(state))),
        };
        match self.finish_restore(py, home, decoded) {
            Ok(job) => Some(job),
            Err(e) => {
                let id = id.unwrap_or_default();
                failed.push((id.clone(), error_text(py, &e)));
                self.log_unrestorable(py, &id, e);
                None
            }
        }
    }

    fn set_aside_failed(&self, py: Python<'_>, failed: Vec<(String, String)>) -> PyResult<()> {
        if failed.is_empty() {
            return Ok(());
        }
        let rows = self.rows.clone();
        py.detach(|| rows.set_aside(&failed)).map_err(backend_error)
    }
}

/// `_core._sqlite_library()`: the file of the SQLite library the SQLite store runs on (for
/// tests: it must be the one Python's `sqlite3` module loads), or `None` when it is compiled in.
#[pyfunction]
#[pyo3(name = "_sqlite_library")]
pub fn sqlite_library() -> Option<String> {
    let sqlite = file_of(rusqlite::ffi::sqlite3_libversion as *const libc::c_void)?;
    (Some(&sqlite) != file_of(sqlite_library as *const libc::c_void).as_ref()).then_some(sqlite)
}

/// The file of the loaded object (library or extension) that `address` lies in.
fn file_of(address: *const libc::c_void) -> Option<String> {
    // SAFETY: `Dl_info` is plain data (pointers and integers), so all-zero is a valid value;
    // dladdr only reads the loader's tables and fills it in; `dli_fname` is a NUL-terminated
    // path owned by the loader, valid while the object stays loaded (it is copied at once).
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(address, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    Some(unsafe { std::ffi::CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned())
}

/// Restored jobs, and `(id, error text)` of the rows that failed.
type RestoredBatch = (Vec<JobRef>, Vec<(String, String)>);

/// Python's cyclic GC paused while it lives. Making 100,000 jobs and their handles would
/// otherwise set off collections that walk the whole heap for nothing (the objects made here
/// hold no cycles; natively restored jobs are not even tracked).
struct GcPaused(bool);

impl GcPaused {
    fn new(_py: Python<'_>) -> Self {
        // SAFETY: a plain call with the GIL held (the token proves it).
        GcPaused(unsafe { pyo3::ffi::PyGC_Disable() } == 1)
    }
}

impl Drop for GcPaused {
    fn drop(&mut self) {
        if self.0 {
            // SAFETY: dropped where it was made, with the GIL still held.
            unsafe { pyo3::ffi::PyGC_Enable() };
        }
    }
}

fn error_text(py: Python<'_>, e: &PyErr) -> String {
    let kind = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
    let msg = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    format!("{kind}: {msg}")
}

/// The engine's view of a [`RowJobStore`]: claims run as one transaction of the row store.
pub struct RowStoreEngine(pub Py<RowJobStore>);

impl NativeStore for RowStoreEngine {
    fn claim_due_jobs(
        &self,
        now: &ZonedTime,
        plan: &mut dyn FnMut(&JobRef) -> Plan,
    ) -> Result<Vec<Claim<JobRef>>, String> {
        let store = self.0.get();
        let ledger = store.ledger.lock().clone();
        let mut claimed: Vec<Claim<JobRef>> = Vec::new();
        let now_ts = micros_to_timestamp(now.micros());
        let node = ledger.as_ref().map_or(String::new(), |l| l.node.clone());
        // Without a ledger (never in a started scheduler) nothing is reaped or recorded.
        let dead_before = if ledger.is_some() { now_ts - SKEW } else { f64::MIN };
        let cx = ClaimContext { node: &node, now: now_ts, dead_before };
        let result = store.rows.claim(&cx, &mut |batch: DueBatch| {
            // One GIL hold for the whole batch: restoring and re-pickling need Python anyway.
            // A store may call this again after a conflict (Redis): start from scratch.
            claimed.clear();
            Python::attach(|py| decide(py, store, ledger.as_ref(), batch, plan, &mut claimed))
        });
        match result {
            Ok(()) => Ok(claimed),
            // Nothing was committed: the runs stay due and nothing is submitted.
            Err(e) => Err(e.to_string()),
        }
    }

    fn next_run_time(&self) -> Result<Option<i64>, String> {
        let ts = self.0.get().rows.next_run_time().map_err(|e| e.to_string())?;
        Ok(ts.map(timestamp_to_micros))
    }

    fn poll_interval(&self) -> Option<i64> {
        self.0.get().shared.then_some(POLL_US)
    }
}

/// The claimer's side of a claim: restore each due job, plan it, record its submission.
fn decide(
    py: Python<'_>,
    store: &RowJobStore,
    ledger: Option<&Arc<NodeLedger>>,
    batch: DueBatch,
    plan: &mut dyn FnMut(&JobRef) -> Plan,
    claimed: &mut Vec<Claim<JobRef>>,
) -> Decision {
    let DueBatch { due, mut busy, adopted, lost } = batch;
    let mut decision = Decision::default();
    for run in &lost {
        store.log_lost(py, run);
    }
    // Records a submission for this node unless the cluster runs `max_instances` already.
    let mut record = |job: &JobRef, id: &str, run_times: &[ZonedTime], adopted: bool, claim: &mut Claim<JobRef>| {
        let Some(ledger) = ledger else { return };
        let running = busy.entry(id.to_owned()).or_default();
        let max = job.fields.lock().max_instances().unwrap_or(1).max(1) as usize;
        if *running >= max && !adopted {
            claim.busy = true;
            return;
        }
        *running += 1;
        let times = run_times.iter().map(|t| micros_to_timestamp(t.micros())).collect();
        let sub = Submission { job_id: id.to_owned(), run_times: times };
        claim.ticket = Some(Ticket { ledger: ledger.clone(), key: sub.key() });
        decision.submissions.push(sub);
    };
    let mut cache = RestoreCache::default();
    let home = store.home(py);
    for row in due {
        let job = match store.reconstitute_in(py, &mut cache, &home, Cow::Borrowed(&row.state)) {
            Ok(job) => job,
            Err(e) => {
                decision.changes.push(Change::SetAside { id: row.id.clone(), error: error_text(py, &e) });
                store.log_unrestorable(py, &row.id, e);
                continue;
            }
        };
        let p = plan(&job);
        match &p {
            Plan::Run { next: Some(next), .. } => {
                job.fields.lock().next_run_time = Some(Some(*next));
                // Protocols below 4 do not keep `fold`; those stores re-pickle in Python.
                let patched = (store.pickle_protocol >= 4).then(|| job.stored_state_with_next(next)).flatten();
                let ts = Some(micros_to_timestamp(next.micros()));
                let new_row = match patched {
                    Some(state) => Ok(Row { id: row.id.clone(), next_run_time: ts, state }),
                    None => store.record_row(py, &job),
                };
                match new_row {
                    Ok(new_row) => decision.changes.push(Change::Update(new_row)),
                    Err(e) => {
                        // Keep the old state but move the schedule on: never run twice.
                        e.print(py);
                        decision.changes.push(Change::Update(Row { next_run_time: ts, ..row.clone() }));
                    }
                }
            }
            Plan::Run { next: None, .. } | Plan::NoExecutor => decision.changes.push(Change::Delete(row.id.clone())),
            Plan::Nothing | Plan::Adopted { .. } => {}
        }
        let mut claim = Claim::local(job, p);
        if let Plan::Run { run_times, .. } = &claim.plan {
            let (job, times) = (claim.job.clone(), run_times.clone());
            record(&job, &row.id, &times, false, &mut claim);
        }
        claimed.push(claim);
    }
    for (row, times) in adopted {
        let job = match store.reconstitute_in(py, &mut cache, &home, Cow::Borrowed(&row.state)) {
            Ok(job) => job,
            Err(e) => {
                store.log_unrestorable(py, &row.id, e);
                continue;
            }
        };
        let zone = job.fields.lock().next_run_time.flatten().map_or(Zone::Utc, |t| t.zone);
        let run_times: Vec<ZonedTime> =
            times.iter().map(|t| ZonedTime::from_micros(timestamp_to_micros(*t), zone)).collect();
        let mut claim = Claim::local(job.clone(), Plan::Adopted { run_times: run_times.clone() });
        record(&job, &row.id, &run_times, true, &mut claim);
        claimed.push(claim);
    }
    decision
}

/// `{host}-{pid}-{random}`: unique per scheduler start, readable in the nodes table.
fn node_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "host".into());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    format!("{host}-{}-{:08x}", std::process::id(), hasher.finish() as u32)
}
