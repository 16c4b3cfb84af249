//! The native submission path of `AsyncIOExecutor`.
//!
//! The processing pass runs on the event loop's thread, so a due coroutine-function job can be
//! started right there: the runner counts the instance, calls the function, wraps the coroutine
//! in a task on the loop and attaches a native done-callback that builds the execution event
//! (only if a listener wants it), logs and releases the instance. This replaces a Python
//! wrapper coroutine, a Python done-callback and three `__init__`s per run.
//!
//! Everything else goes through the Python executor's `_do_submit_job` (which reports back via
//! `release`): plain functions (they run in the loop's default thread pool), batches of several
//! run times, misfired run times, and functions that fail when called.

use crate::core::engine::Submission;
use crate::core::time::ZonedTime;
use crate::py::engine::Engine;
use crate::py::errors::max_instances_reached;
use crate::py::events::*;
use crate::py::job::{Job, JobRef};
use crate::py::pyref::{Cached, FORMAT_TB};
use crate::py::time::zoned_to_datetime;
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

static IS_COROUTINE_PARTIAL: Cached = Cached::new("apscheduler_rs.util", "iscoroutinefunction_partial");
static CANCELLED_ERROR: Cached = Cached::new("asyncio", "CancelledError");
static CLEAR_FRAMES: Cached = Cached::new("traceback", "clear_frames");
/// `CO_COROUTINE` in a code object's `co_flags`.
const CO_COROUTINE: i64 = 0x80;

/// `iscoroutinefunction_partial`, answered without a Python call for plain functions and
/// bound methods (the common cases); anything else asks the Python helper.
fn is_coroutine_function(func: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = func.py();
    let target = if func.is_instance_of::<pyo3::types::PyFunction>() {
        Some(func.clone())
    } else if func.get_type().name()? == "method" {
        func.getattr(pyo3::intern!(py, "__func__")).ok().filter(|f| f.is_instance_of::<pyo3::types::PyFunction>())
    } else {
        None
    };
    match target {
        Some(f) => {
            let flags: i64 =
                f.getattr(pyo3::intern!(py, "__code__"))?.getattr(pyo3::intern!(py, "co_flags"))?.extract()?;
            Ok(flags & CO_COROUTINE != 0)
        }
        None => IS_COROUTINE_PARTIAL.get(py)?.call1((func,))?.is_truthy(),
    }
}

struct Context {
    /// The Python `AsyncIOExecutor` (its `_do_submit_job` is the general path).
    executor: Py<PyAny>,
    scheduler: Py<PyAny>,
    engine: Option<Py<Engine>>,
    event_loop: Py<PyAny>,
    /// `executor._pending_futures`.
    pending: Py<PyAny>,
    logger: Py<PyAny>,
    /// Only the exact `AsyncIOExecutor` class: a subclass's `_do_submit_job` is always used.
    fast: bool,
}

impl Context {
    fn mask(&self) -> u32 {
        self.engine.as_ref().map_or(u32::MAX, |e| e.get().listener_mask.load(Ordering::Relaxed))
    }

    fn dispatch(&self, py: Python<'_>, event: &Bound<'_, PyAny>, code: u32) -> PyResult<()> {
        match &self.engine {
            Some(engine) => engine.get().listeners.dispatch(py, event, code),
            None => {
                self.scheduler.bind(py).call_method1(pyo3::intern!(py, "_dispatch_event"), (event,))?;
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Shared {
    instances: Mutex<HashMap<Arc<str>, i64>>,
    context: RwLock<Option<Arc<Context>>>,
}

impl Shared {
    fn release(&self, id: &str) {
        let mut instances = self.instances.lock();
        if let Some(n) = instances.get_mut(id) {
            *n -= 1;
            if *n <= 0 {
                instances.remove(id);
            }
        }
    }
}

#[pyclass(module = "apscheduler_rs._core", frozen)]
pub struct CoroutineRunner {
    shared: Arc<Shared>,
}

/// The done-callback of one task started by the runner.
#[pyclass(module = "apscheduler_rs._core", frozen)]
struct TaskDone {
    shared: Arc<Shared>,
    context: Arc<Context>,
    job: Py<Job>,
    id: Arc<str>,
    store: Arc<str>,
    run_time: Py<PyAny>,
}

#[pymethods]
impl TaskDone {
    fn __call__(&self, py: Python<'_>, task: Bound<'_, PyAny>) -> PyResult<()> {
        let ctx = &self.context;
        let _ = ctx.pending.bind(py).call_method1(pyo3::intern!(py, "discard"), (&task,));
        self.shared.release(&self.id);
        let logger = ctx.logger.bind(py);
        let job = self.job.bind(py);
        let run_time = self.run_time.bind(py);
        let mask = ctx.mask();
        let exception = if task.call_method0(pyo3::intern!(py, "cancelled"))?.is_truthy()? {
            // As when the cancellation lands inside upstream's wrapper coroutine: a job error.
            Some(CANCELLED_ERROR.get(py)?.call0()?)
        } else {
            let exc = task.call_method0(pyo3::intern!(py, "exception"))?;
            if exc.is_none() { None } else { Some(exc) }
        };
        match exception {
            None => {
                let retval = task.call_method0(pyo3::intern!(py, "result"))?;
                if mask & EVENT_JOB_EXECUTED != 0 {
                    let event = execution_event(
                        py,
                        EVENT_JOB_EXECUTED,
                        &self.id,
                        &self.store,
                        run_time,
                        Some(retval),
                        None,
                        None,
                    )?;
                    ctx.dispatch(py, &event, EVENT_JOB_EXECUTED)?;
                }
                if enabled(logger, INFO) {
                    logger.call_method1(pyo3::intern!(py, "info"), ("Job \"%s\" executed successfully", job))?;
                }
            }
            Some(exc) => {
                let tb = exc.getattr(pyo3::intern!(py, "__traceback__"))?;
                let text = if tb.is_none() {
                    pyo3::types::PyString::new(py, "").into_any()
                } else {
                    pyo3::types::PyString::new(py, "")
                        .call_method1(pyo3::intern!(py, "join"), (FORMAT_TB.get(py)?.call1((&tb,))?,))?
                };
                let event = if mask & EVENT_JOB_ERROR != 0 {
                    Some(execution_event(
                        py,
                        EVENT_JOB_ERROR,
                        &self.id,
                        &self.store,
                        run_time,
                        None,
                        Some(exc.clone()),
                        Some(text),
                    )?)
                } else {
                    None
                };
                if enabled(logger, ERROR) {
                    let exc_info = PyTuple::new(py, [exc.get_type().into_any(), exc.clone(), tb.clone()])?;
                    let kw = PyDict::new(py);
                    kw.set_item("exc_info", exc_info)?;
                    logger.call_method(
                        pyo3::intern!(py, "error"),
                        ("Job \"%s\" raised an exception", job),
                        Some(&kw),
                    )?;
                }
                if !tb.is_none() {
                    let _ = CLEAR_FRAMES.get(py).and_then(|f| f.call1((&tb,)));
                }
                if let Some(event) = event {
                    ctx.dispatch(py, &event, EVENT_JOB_ERROR)?;
                }
            }
        }
        Ok(())
    }
}

impl CoroutineRunner {
    /// Called by the engine's pass (on the loop thread, GIL held through `Python::attach`).
    pub fn submit(&self, job: &JobRef, store: &Arc<str>, run_times: &[ZonedTime]) -> Submission {
        Python::attach(|py| match self.try_submit(py, job, store, run_times) {
            Ok(s) => s,
            Err(e) => {
                let text = e.to_string();
                Submission::Failed(text)
            }
        })
    }

    fn try_submit(
        &self,
        py: Python<'_>,
        job: &JobRef,
        store: &Arc<str>,
        run_times: &[ZonedTime],
    ) -> PyResult<Submission> {
        let Some(ctx) = self.shared.context.read().clone() else {
            return Err(pyo3::exceptions::PyAssertionError::new_err("This executor has not been started yet"));
        };
        let (id, max_instances, func, args, kwargs, grace) = {
            let f = job.get().fields.lock();
            (
                f.id.clone().unwrap_or_else(|| Arc::from("")),
                f.max_instances.unwrap_or(1),
                f.func.as_ref().map(|o| o.clone_ref(py)),
                f.args.as_ref().map(|o| o.clone_ref(py)),
                f.kwargs.as_ref().map(|o| o.clone_ref(py)),
                f.misfire_grace_time.flatten(),
            )
        };
        {
            let mut instances = self.shared.instances.lock();
            let running = instances.entry(id.clone()).or_insert(0);
            if *running >= max_instances {
                return Ok(Submission::MaxInstancesReached);
            }
            *running += 1;
        }
        let started = match (ctx.fast, run_times, func, args, kwargs) {
            (true, [run_time], Some(func), Some(args), Some(kwargs)) => {
                let late = crate::core::clock::Clock::now_micros(&crate::core::clock::SystemClock) - run_time.micros();
                let on_time = grace.is_none_or(|g| late <= g.saturating_mul(1_000_000));
                if on_time && is_coroutine_function(func.bind(py))? {
                    self.start_task(py, &ctx, job, &id, store, run_time, func, args, kwargs)?
                } else {
                    false
                }
            }
            _ => false,
        };
        if !started {
            let times = run_times.iter().map(|t| zoned_to_datetime(py, t, None)).collect::<PyResult<Vec<_>>>()?;
            let submitted = ctx
                .executor
                .bind(py)
                .call_method1(pyo3::intern!(py, "_do_submit_job"), (job.clone_ref(py), PyList::new(py, times)?));
            if let Err(e) = submitted {
                self.shared.release(&id);
                return Err(e);
            }
        }
        Ok(Submission::Accepted)
    }

    /// Starts the coroutine as a task; `false` when the call itself failed (the general path
    /// then reports that failure exactly as upstream's wrapper coroutine would).
    #[allow(clippy::too_many_arguments)]
    fn start_task(
        &self,
        py: Python<'_>,
        ctx: &Arc<Context>,
        job: &JobRef,
        id: &Arc<str>,
        store: &Arc<str>,
        run_time: &ZonedTime,
        func: Py<PyAny>,
        args: Py<PyAny>,
        kwargs: Py<PyAny>,
    ) -> PyResult<bool> {
        let args = args.bind(py);
        let args = match args.cast::<PyTuple>() {
            Ok(t) => t.clone(),
            Err(_) => PyTuple::new(py, args.try_iter()?.collect::<PyResult<Vec<_>>>()?)?,
        };
        let kwargs = kwargs.bind(py);
        let kwargs = match kwargs.cast::<PyDict>() {
            Ok(d) => d.clone(),
            Err(_) => py.get_type::<PyDict>().call1((kwargs,))?.cast_into::<PyDict>()?,
        };
        let rt = zoned_to_datetime(py, run_time, None)?.into_any();
        let logger = ctx.logger.bind(py);
        let job_obj = job.bind(py);
        if enabled(logger, INFO) {
            logger.call_method1(pyo3::intern!(py, "info"), ("Running job \"%s\" (scheduled at %s)", job_obj, &rt))?;
        }
        let Ok(coro) = func.bind(py).call(&args, Some(&kwargs)) else {
            return Ok(false);
        };
        let task = ctx.event_loop.bind(py).call_method1(pyo3::intern!(py, "create_task"), (coro,))?;
        let done = TaskDone {
            shared: self.shared.clone(),
            context: ctx.clone(),
            job: job.clone_ref(py),
            id: id.clone(),
            store: store.clone(),
            run_time: rt.unbind(),
        };
        task.call_method1(pyo3::intern!(py, "add_done_callback"), (Py::new(py, done)?,))?;
        ctx.pending.bind(py).call_method1(pyo3::intern!(py, "add"), (task,))?;
        Ok(true)
    }
}

#[pymethods]
impl CoroutineRunner {
    #[new]
    fn new() -> Self {
        CoroutineRunner { shared: Arc::default() }
    }

    #[pyo3(signature = (executor, scheduler, event_loop, pending, logger, fast))]
    fn start(
        &self,
        executor: Py<PyAny>,
        scheduler: Bound<'_, PyAny>,
        event_loop: Py<PyAny>,
        pending: Py<PyAny>,
        logger: Py<PyAny>,
        fast: bool,
    ) {
        let engine = scheduler.getattr("_engine").ok().and_then(|e| e.cast_into::<Engine>().ok()).map(Bound::unbind);
        *self.shared.context.write() = Some(Arc::new(Context {
            executor,
            scheduler: scheduler.unbind(),
            engine,
            event_loop,
            pending,
            logger,
            fast,
        }));
    }

    /// `BaseExecutor.submit_job` for callers other than the native pass.
    fn submit_job(&self, py: Python<'_>, job: Bound<'_, Job>, run_times: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let store: Arc<str> = match job.get().fields.lock().jobstore_alias.as_ref() {
            Some(a) => Arc::from(a.bind(py).str()?.to_string()),
            None => Arc::from("None"),
        };
        let times = run_times.iter().map(crate::py::time::zoned_from_datetime).collect::<PyResult<Vec<_>>>()?;
        let job_ref: JobRef = Arc::new(job.clone().unbind());
        match self.try_submit(py, &job_ref, &store, &times)? {
            Submission::MaxInstancesReached => Err(max_instances_reached(py, job.into_any())),
            Submission::Failed(msg) => Err(pyo3::exceptions::PyRuntimeError::new_err(msg)),
            Submission::Accepted => Ok(()),
        }
    }

    /// Forgets the executor, scheduler and loop (breaks the reference cycle through them);
    /// tasks already running still report through their own handle.
    fn stop(&self) {
        self.shared.context.write().take();
    }

    /// A submission of the general path finished.
    fn release(&self, job_id: &str) {
        self.shared.release(job_id);
    }

    /// Running submissions per job id.
    fn instances(&self) -> HashMap<String, i64> {
        self.shared.instances.lock().iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }
}
