//! The native index behind `MemoryJobStore`, and the engine's view of any job store.

use crate::core::engine::{Claim, EngineStore, Plan};
use crate::core::job_id::JobId;
use crate::core::store::memory::{IndexError, Keyed, MemoryIndex, PAUSED};
use crate::core::time::ZonedTime;
use crate::py::errors::{conflicting_id_error, job_lookup_error};
use crate::py::job::{Job, JobRecord, JobRef};
use crate::py::time::{zoned_from_datetime, zoned_to_datetime};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyList;
use std::sync::Arc;

fn sort_key(job: &JobRecord) -> i64 {
    job.fields.lock().next_run_time.flatten().map_or(PAUSED, |t| t.micros())
}

/// Jobs ordered by next run time then id, paused last; O(log n) changes.
#[pyclass(module = "apscheduler_rs._core", frozen)]
#[derive(Default)]
pub struct MemoryIndexStore {
    index: Mutex<MemoryIndex<JobRef>>,
}

impl MemoryIndexStore {
    pub fn due(&self, now_us: i64) -> Vec<JobRef> {
        self.index.lock().due(now_us).cloned().collect()
    }
    pub fn update_ref(&self, job: &JobRef) -> Result<(), IndexError> {
        let key = sort_key(job);
        self.index.lock().update(key, job.clone())
    }
    pub fn remove_id(&self, id: &JobId) -> Result<JobRef, IndexError> {
        self.index.lock().remove(id)
    }
    pub fn add_ref(&self, job: JobRef) -> Result<(), IndexError> {
        let key = sort_key(&job);
        self.index.lock().add(key, job)
    }
    pub fn next_run_us(&self) -> Option<i64> {
        self.index.lock().next_run_time()
    }
}

fn to_list<'py>(py: Python<'py>, jobs: Vec<JobRef>) -> PyResult<Bound<'py, PyList>> {
    Job::list(py, &jobs)
}

#[pymethods]
impl MemoryIndexStore {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    fn lookup(&self, py: Python<'_>, job_id: &str) -> PyResult<Option<Py<Job>>> {
        let found = self.index.lock().get(&JobId::new(job_id)).cloned();
        found.map(|j| Job::handle(py, &j)).transpose()
    }

    fn add(&self, py: Python<'_>, job: Py<Job>) -> PyResult<()> {
        let job = job.get().rec.clone();
        let id = job.given_id().cloned();
        match self.add_ref(job) {
            Ok(()) => Ok(()),
            Err(_) => Err(conflicting_id_error(py, &id.map_or_else(String::new, |i| i.to_string()))),
        }
    }

    fn update(&self, py: Python<'_>, job: Py<Job>) -> PyResult<()> {
        let job = job.get().rec.clone();
        self.update_ref(&job).map_err(|_| job_lookup_error(py, &job.id().unwrap_or_else(|| Arc::from(""))))
    }

    fn remove(&self, py: Python<'_>, job_id: &str) -> PyResult<()> {
        self.remove_id(&JobId::new(job_id)).map(drop).map_err(|_| job_lookup_error(py, job_id))
    }

    fn remove_all(&self) {
        let removed = self.index.lock().clear();
        drop(removed); // outside the lock: dropping jobs may run Python finalizers
    }

    fn due_jobs<'py>(&self, py: Python<'py>, now: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let now = zoned_from_datetime(now)?.micros();
        to_list(py, self.due(now))
    }

    fn all_jobs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let jobs: Vec<JobRef> = self.index.lock().iter().cloned().collect();
        to_list(py, jobs)
    }

    /// The first job's own next run time, or `None` (empty store or first job paused).
    fn next_run_time(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let first = self.index.lock().iter().next().cloned();
        let Some(job) = first else { return Ok(None) };
        let next = job.fields.lock().next_run_time.flatten();
        next.map(|t| zoned_to_datetime(py, &t, None).map(|d| d.into_any().unbind())).transpose()
    }

    fn __len__(&self) -> usize {
        self.index.lock().len()
    }
}

/// A store the engine can drive without going through Python methods.
pub trait NativeStore: Send + Sync {
    fn claim_due_jobs(
        &self,
        now: &ZonedTime,
        plan: &mut dyn FnMut(&JobRef) -> Plan,
    ) -> Result<Vec<Claim<JobRef>>, String>;
    fn next_run_time(&self) -> Result<Option<i64>, String>;
    /// See [`EngineStore::poll_interval`].
    fn poll_interval(&self) -> Option<i64> {
        None
    }
}

/// A store as the engine drives it: natively, or through its Python methods (stores written
/// in Python, and subclasses that override ours).
pub enum StoreHandle {
    Native(Arc<dyn NativeStore>),
    Python(Py<PyAny>),
}

/// The native engine of a store object's `_native` attribute, if it has one we know.
pub fn native_store(obj: &Bound<'_, PyAny>) -> Option<Arc<dyn NativeStore>> {
    if let Ok(index) = obj.cast::<MemoryIndexStore>() {
        return Some(Arc::new(MemoryStoreEngine(index.clone().unbind())));
    }
    if let Ok(rows) = obj.cast::<crate::py::sql_store::RowJobStore>() {
        return Some(Arc::new(crate::py::sql_store::RowStoreEngine(rows.clone().unbind())));
    }
    None
}

struct MemoryStoreEngine(Py<MemoryIndexStore>);

impl NativeStore for MemoryStoreEngine {
    fn claim_due_jobs(
        &self,
        now: &ZonedTime,
        plan: &mut dyn FnMut(&JobRef) -> Plan,
    ) -> Result<Vec<Claim<JobRef>>, String> {
        // Plans are made without holding the index lock: a Python trigger takes the GIL.
        // Concurrent changes are excluded by the scheduler's store lock, held for the pass.
        let store = self.0.get();
        let due = store.due(now.micros());
        let mut claimed = Vec::with_capacity(due.len());
        for job in due {
            let p = plan(&job);
            match &p {
                Plan::Run { next: Some(next), .. } => {
                    job.fields.lock().next_run_time = Some(Some(*next));
                    store.update_ref(&job).map_err(|e| format!("{e:?}"))?;
                }
                Plan::Run { next: None, .. } | Plan::NoExecutor => {
                    store.remove_id(job.job_id()).map_err(|e| format!("{e:?}"))?;
                }
                Plan::Nothing | Plan::Adopted { .. } => {}
            }
            claimed.push(Claim::local(job, p));
        }
        Ok(claimed)
    }

    fn next_run_time(&self) -> Result<Option<i64>, String> {
        Ok(self.0.get().next_run_us())
    }
}

pub struct EngineStoreRef<'a> {
    pub alias: &'a str,
    pub handle: &'a StoreHandle,
}

fn py_error_text(py: Python<'_>, e: &PyErr) -> String {
    e.value(py).str().map(|s| s.to_string()).unwrap_or_else(|_| "<unprintable error>".into())
}

impl EngineStore<JobRef> for EngineStoreRef<'_> {
    fn alias(&self) -> &str {
        self.alias
    }

    fn claim_due_jobs(
        &self,
        now: &ZonedTime,
        plan: &mut dyn FnMut(&JobRef) -> Plan,
    ) -> Result<Vec<Claim<JobRef>>, String> {
        match self.handle {
            StoreHandle::Native(store) => store.claim_due_jobs(now, plan),
            StoreHandle::Python(store) => {
                let due = Python::attach(|py| {
                    let run = || -> PyResult<Vec<JobRef>> {
                        let now = zoned_to_datetime(py, now, None)?;
                        let jobs = store.bind(py).call_method1("get_due_jobs", (now,))?;
                        jobs.try_iter()?.map(|j| Ok(j?.cast_into::<Job>()?.get().rec.clone())).collect()
                    };
                    run().map_err(|e| py_error_text(py, &e))
                })?;
                let mut claimed = Vec::with_capacity(due.len());
                for job in due {
                    let p = plan(&job);
                    if let Plan::Run { next: Some(next), .. } = &p {
                        job.fields.lock().next_run_time = Some(Some(*next));
                    }
                    Python::attach(|py| {
                        let store = store.bind(py);
                        let result = match &p {
                            Plan::Run { next: Some(_), .. } => {
                                Job::handle(py, &job).and_then(|j| store.call_method1("update_job", (j,)))
                            }
                            Plan::Run { next: None, .. } | Plan::NoExecutor => {
                                let id = job.id().unwrap_or_else(|| Arc::from(""));
                                store.call_method1("remove_job", (&*id,))
                            }
                            Plan::Nothing | Plan::Adopted { .. } => Ok(py.None().into_bound(py)),
                        };
                        result.map(drop).map_err(|e| py_error_text(py, &e))
                    })?;
                    claimed.push(Claim::local(job, p));
                }
                Ok(claimed)
            }
        }
    }

    fn poll_interval(&self) -> Option<i64> {
        match self.handle {
            StoreHandle::Native(store) => store.poll_interval(),
            StoreHandle::Python(_) => None,
        }
    }

    fn next_run_time(&self) -> Result<Option<i64>, String> {
        match self.handle {
            StoreHandle::Native(store) => store.next_run_time(),
            StoreHandle::Python(store) => Python::attach(|py| {
                let run = || -> PyResult<Option<i64>> {
                    let t = store.bind(py).call_method0("get_next_run_time")?;
                    if t.is_none() { Ok(None) } else { Ok(Some(zoned_from_datetime(&t)?.micros())) }
                };
                run().map_err(|e| py_error_text(py, &e))
            }),
        }
    }
}
