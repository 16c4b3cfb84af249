//! `add_job` on a running scheduler whose target store is the native memory index: the whole
//! of APScheduler's add-and-store sequence in one native call (validation, job defaults, the
//! first run time, the index insert, the ADDED event and log, the wake-up). Every other case
//! (stopped scheduler, other stores) takes the Python path in `schedulers/base.py`.

use crate::core::clock::{Clock, SystemClock};
use crate::core::time::ZonedTime;
use crate::py::engine::{Engine, STATE_RUNNING};
use crate::py::errors::conflicting_id_error;
use crate::py::events::{enabled, EVENT_JOB_ADDED, INFO, JOB_EVENT};
use crate::py::job::{new_job_id, Job};
use crate::py::pyref::Cached;
use crate::py::store::MemoryIndexStore;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use std::sync::atomic::Ordering;
use std::sync::Arc;

static UNDEFINED: Cached = Cached::new("apscheduler_rs.util", "undefined");

/// Adds a job to `index` (the store `alias`) of a started scheduler and returns it.
#[pyfunction]
#[pyo3(signature = (engine, scheduler, index, alias, replace_existing, defaults, trigger, executor,
                    func, args, kwargs, id, name, misfire_grace_time, coalesce, max_instances,
                    next_run_time))]
#[allow(clippy::too_many_arguments)]
pub fn add_job_native<'py>(
    py: Python<'py>,
    engine: &Bound<'py, Engine>,
    scheduler: &Bound<'py, PyAny>,
    index: &Bound<'py, MemoryIndexStore>,
    alias: &Bound<'py, PyString>,
    replace_existing: bool,
    defaults: &Bound<'py, PyTuple>,
    trigger: &Bound<'py, PyAny>,
    executor: &Bound<'py, PyAny>,
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyAny>,
    kwargs: &Bound<'py, PyAny>,
    id: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
    misfire_grace_time: &Bound<'py, PyAny>,
    coalesce: &Bound<'py, PyAny>,
    max_instances: &Bound<'py, PyAny>,
    next_run_time: &Bound<'py, PyAny>,
) -> PyResult<Py<Job>> {
    let undefined = UNDEFINED.get(py)?;
    let changes = PyDict::new(py);
    changes.set_item("trigger", trigger)?;
    changes.set_item("executor", executor)?;
    changes.set_item("func", func)?;
    let args = if args.is_none() { PyTuple::empty(py).into_any() } else { PyTuple::new(py, args.try_iter()?.collect::<PyResult<Vec<_>>>()?)?.into_any() };
    changes.set_item("args", args)?;
    let kwargs = if kwargs.is_none() {
        crate::py::job::shared_empty_kwargs(py).clone().into_any()
    } else {
        py.get_type::<PyDict>().call1((kwargs,))?
    };
    changes.set_item("kwargs", kwargs)?;
    let id = if id.is_truthy()? { id.clone() } else { PyString::new(py, &new_job_id()).into_any() };
    changes.set_item("id", &id)?;
    changes.set_item("name", name)?;
    // Options left undefined take the scheduler's job defaults, validated like any change.
    for (i, (key, value)) in
        [("misfire_grace_time", misfire_grace_time), ("coalesce", coalesce), ("max_instances", max_instances)]
            .into_iter()
            .enumerate()
    {
        if value.is(undefined) {
            changes.set_item(key, defaults.get_item(i)?)?;
        } else {
            changes.set_item(key, value)?;
        }
    }
    let explicit_next = !next_run_time.is(undefined);
    if explicit_next {
        changes.set_item("next_run_time", next_run_time)?;
    }

    let job = Job::empty();
    job.fields.lock().scheduler = Some(scheduler.clone().unbind());
    job.modify_fields(py, &changes)?;
    let engine = engine.get();
    let next = if explicit_next {
        job.fields.lock().next_run_time.flatten()
    } else {
        let now = ZonedTime::from_micros(SystemClock.now_micros(), engine.zone());
        let next = job.trigger_next(None, &now)?;
        job.fields.lock().next_run_time = Some(next);
        next
    };
    job.fields.lock().jobstore_alias = Some(alias.clone().into_any().unbind());
    let job = Py::new(py, job)?;

    // A new id cannot race with a processing pass; a replacement can, so it takes the lock.
    let added = if replace_existing {
        let lock = scheduler.getattr("_jobstores_lock")?;
        lock.call_method0("acquire")?;
        let added = index.get().insert(py, &job, true);
        lock.call_method0("release")?;
        added
    } else {
        index.get().insert(py, &job, false)
    };
    if !added? {
        return Err(conflicting_id_error(py, &id.str()?.to_string()));
    }

    if engine.listener_mask.load(Ordering::Relaxed) & EVENT_JOB_ADDED != 0 {
        let event = JOB_EVENT.get(py)?.call1((EVENT_JOB_ADDED, &id, alias))?;
        engine.listeners.dispatch(py, &event, EVENT_JOB_ADDED);
    }
    let logger = scheduler.getattr("_logger")?;
    if enabled(&logger, INFO) {
        let name = job.get().fields.lock().name.as_ref().map(|n| n.clone_ref(py));
        logger.call_method1("info", ("Added job \"%s\" to job store \"%s\"", name, alias))?;
    }
    if engine.state() == STATE_RUNNING {
        if let Some(next) = next {
            engine.wake_if_before(next.micros());
        }
    }
    Ok(job)
}

impl MemoryIndexStore {
    /// Adds `job`, or replaces a job with the same id when `replace`; false on a conflict.
    pub fn insert(&self, _py: Python<'_>, job: &Py<Job>, replace: bool) -> PyResult<bool> {
        let job_ref = Arc::new(job.clone_ref(_py));
        match self.add_ref(job_ref.clone()) {
            Ok(()) => Ok(true),
            Err(_) if replace => Ok(self.update_ref(&job_ref).is_ok()),
            Err(_) => Ok(false),
        }
    }
}
