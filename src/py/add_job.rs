//! `add_job` on a running scheduler whose target store is native (the memory index, or the
//! rows of an exact `SQLAlchemyJobStore`/`RedisJobStore`): the whole of APScheduler's
//! add-and-store sequence in one native call (validation, job defaults, the first run time,
//! the insert, the ADDED event and log, the wake-up). Every other case (stopped scheduler,
//! other stores, store subclasses) takes the Python path in `schedulers/base.py`.

use crate::core::clock::{Clock, SystemClock};
use crate::core::time::ZonedTime;
use crate::py::engine::{Engine, STATE_RUNNING};
use crate::py::errors::conflicting_id_error;
use crate::py::events::{EVENT_JOB_ADDED, INFO, JOB_EVENT, enabled};
use crate::py::job::{Changes, Job, TriggerSlot, new_job_id};
use crate::py::pyref::Cached;
use crate::py::sql_store::RowJobStore;
use crate::py::store::MemoryIndexStore;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use std::sync::atomic::Ordering;

static UNDEFINED: Cached = Cached::new("apscheduler_rs.util", "undefined");

/// Adds a job to `store` (the native part of the store `alias`: a `MemoryIndexStore` or a
/// `RowJobStore`) of a started scheduler and returns it.
#[pyfunction]
#[pyo3(signature = (engine, scheduler, store, alias, replace_existing, defaults, trigger, executor,
                    func, args, kwargs, id, name, misfire_grace_time, coalesce, max_instances,
                    next_run_time, trigger_private=false))]
#[allow(clippy::too_many_arguments)]
pub fn add_job_native<'py>(
    py: Python<'py>,
    engine: &Bound<'py, Engine>,
    scheduler: &Bound<'py, PyAny>,
    store: &Bound<'py, PyAny>,
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
    trigger_private: bool,
) -> PyResult<Py<Job>> {
    let index = store.cast::<MemoryIndexStore>().ok();
    let rows = match index {
        Some(_) => None,
        None => Some(store.cast::<RowJobStore>()?),
    };
    let undefined = UNDEFINED.get(py)?;
    let args = if args.is_none() {
        PyTuple::empty(py).into_any()
    } else {
        PyTuple::new(py, args.try_iter()?.collect::<PyResult<Vec<_>>>()?)?.into_any()
    };
    let kwargs = if kwargs.is_none() {
        crate::py::job::shared_empty_kwargs(py).clone().into_any()
    } else {
        py.get_type::<PyDict>().call1((kwargs,))?
    };
    let id = if id.is_truthy()? { id.clone() } else { PyString::new(py, &new_job_id()).into_any() };
    // Options left undefined take the scheduler's job defaults, validated like any change.
    let or_default = |value: &Bound<'py, PyAny>, i: usize| -> PyResult<Bound<'py, PyAny>> {
        if value.is(undefined) { defaults.get_item(i) } else { Ok(value.clone()) }
    };
    let explicit_next = !next_run_time.is(undefined);
    let changes = Changes {
        id: Some(id.clone()),
        func: Some(func.clone()),
        args: Some(args),
        kwargs: Some(kwargs),
        name: Some(name.clone()),
        misfire_grace_time: Some(or_default(misfire_grace_time, 0)?),
        coalesce: Some(or_default(coalesce, 1)?),
        max_instances: Some(or_default(max_instances, 2)?),
        trigger: Some(trigger.clone()),
        executor: Some(executor.clone()),
        next_run_time: explicit_next.then(|| next_run_time.clone()),
    };

    let job = Job::empty();
    job.fields.lock().set_scheduler(py, Some(scheduler.clone().unbind()));
    job.apply(py, changes, None)?;
    let engine = engine.get();
    let next = if explicit_next {
        job.fields.lock().next_run_time.flatten()
    } else {
        let now = ZonedTime::from_micros(SystemClock.now_micros(), engine.zone());
        let next = job.trigger_next(None, &now)?;
        job.fields.lock().next_run_time = Some(next);
        next
    };
    job.fields.lock().set_jobstore_alias(py, Some(alias.clone().into_any().unbind()));
    let native = job.fields.lock().trigger.as_ref().is_some_and(TriggerSlot::is_native);
    if trigger_private && native {
        // The trigger was made from an alias for this job alone: keep only its native form
        // (a persistent store pickles that form natively, without making the object).
        job.drop_private_trigger(py, trigger);
    }
    let job = Py::new(py, job)?;
    untrack_from_gc(job.bind(py).as_any());
    if native && !has_instance_dict(trigger) {
        untrack_from_gc(trigger);
    }

    let insert = |replace: bool| match (index, rows) {
        (Some(index), _) => index.get().insert(py, &job, replace),
        (_, Some(rows)) => rows.get().insert(job.bind(py), replace),
        (None, None) => Ok(false),
    };
    // A new id cannot race with a processing pass; a replacement can, so it takes the lock.
    let added = if replace_existing {
        let lock = scheduler.getattr(intern!(py, "_jobstores_lock"))?;
        lock.call_method0("acquire")?;
        let added = insert(true);
        lock.call_method0("release")?;
        added
    } else {
        insert(false)
    };
    if !added? {
        return Err(conflicting_id_error(py, &id.str()?.to_string()));
    }

    if engine.listener_mask.load(Ordering::Relaxed) & EVENT_JOB_ADDED != 0 {
        let event = JOB_EVENT.get(py)?.call1((EVENT_JOB_ADDED, &id, alias))?;
        engine.listeners.dispatch(py, &event, EVENT_JOB_ADDED);
    }
    let logger = scheduler.getattr(intern!(py, "_logger"))?;
    if enabled(&logger, INFO) {
        let name = job.get().fields.lock().name.as_ref().map(|n| n.clone_ref(py));
        logger.call_method1("info", ("Added job \"%s\" to job store \"%s\"", name, alias))?;
    }
    if engine.state() == STATE_RUNNING
        && let Some(next) = next
    {
        engine.wake_if_before(next.micros());
    }
    Ok(job)
}

/// Takes an object out of the cyclic garbage collector's lists. pyo3 makes every pyclass a GC
/// type, but ours report no references to the collector (they have no `__traverse__`), so
/// scanning them can never find a cycle: with 100,000 jobs that scanning was a fifth of the
/// cost of `add_job`. Objects with a `__dict__` (user subclasses) stay tracked.
pub fn untrack_from_gc(obj: &Bound<'_, PyAny>) {
    // SAFETY: `obj` is a live GC object; untracking an untracked object is a no-op, and
    // deallocation untracks again safely.
    unsafe { pyo3::ffi::PyObject_GC_UnTrack(obj.as_ptr().cast()) }
}

/// Whether instances of `obj`'s class carry a `__dict__` (user subclasses without slots).
fn has_instance_dict(obj: &Bound<'_, PyAny>) -> bool {
    // SAFETY: reading a field of the live object's type.
    unsafe { (*pyo3::ffi::Py_TYPE(obj.as_ptr())).tp_dictoffset != 0 }
}

impl MemoryIndexStore {
    /// Adds `job`, or replaces a job with the same id when `replace`; false on a conflict.
    pub fn insert(&self, _py: Python<'_>, job: &Py<Job>, replace: bool) -> PyResult<bool> {
        let job_ref = job.get().rec.clone();
        match self.add_ref(job_ref.clone()) {
            Ok(()) => Ok(true),
            Err(_) if replace => Ok(self.update_ref(&job_ref).is_ok()),
            Err(_) => Ok(false),
        }
    }
}
