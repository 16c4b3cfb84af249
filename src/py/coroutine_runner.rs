//! The native submission path of `AsyncIOExecutor`.
//!
//! The processing pass runs on the event loop's thread. A due coroutine-function job with one
//! run time is counted as an instance and queued here; a drain callback on the loop then starts
//! the queued runs as real asyncio tasks, at most [`CHUNK`] per loop iteration, so that a burst
//! of thousands of due runs never has thousands of unstarted tasks alive at once (their
//! allocation, the garbage collector's passes over them and their page faults cost more than
//! the runs themselves). Reading `AsyncIOExecutor._pending_futures` (or shutting the executor
//! down) first starts every queued run, so whoever looks sees every submitted run's task, as
//! if they had all been created in the pass.
//!
//! Each task drives a [`CoroutineJob`]: a native coroutine that does what APScheduler's
//! `run_coroutine_job` does for one run time — misfire check, "Running job" log, call, await —
//! and then reports from inside the task (instance release, `_pending_futures`, the execution
//! event only if a listener wants it, the log), so a run needs no Python wrapper coroutine and
//! no done-callback.
//!
//! Everything else goes through the Python executor's `_do_submit_job` (which reports back via
//! `release`): plain functions (they run in the loop's default thread pool), batches of several
//! run times, and subclasses of `AsyncIOExecutor`.

use crate::core::engine::{Submission, format_timedelta};
use crate::core::time::ZonedTime;
use crate::py::errors::max_instances_reached;
use crate::py::events::*;
use crate::py::job::{Job, JobCall, JobRef, LazyHandle};
use crate::py::pyref::{Cached, FORMAT_TB};
use crate::py::time::zoned_to_datetime;
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySet, PyTuple, PyType};
use pyo3::{PyTraverseError, PyVisit};
use rustc_hash::FxHashMap;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

static IS_COROUTINE_PARTIAL: Cached = Cached::new("apscheduler_rs.util", "iscoroutinefunction_partial");
static CLEAR_FRAMES: Cached = Cached::new("traceback", "clear_frames");
static TASK: Cached = Cached::new("asyncio", "Task");
static GET_RUNNING_LOOP: Cached = Cached::new("asyncio", "_get_running_loop");
static BASE_CREATE_TASK: Cached = Cached::new("asyncio.base_events", "BaseEventLoop");
/// `CO_COROUTINE` in a code object's `co_flags`.
const CO_COROUTINE: i64 = 0x80;
/// Queued runs started per drain callback (one loop iteration). Measured on the asyncio
/// benchmark (20,000 due runs, CPU time): 32-256 run at the same speed, 1,024 ~10 % slower,
/// 20,000 (everything at once) ~1.5× slower, mostly in the garbage collector.
const CHUNK: usize = 128;

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
    events: EventSink,
    event_loop: Py<PyAny>,
    /// `loop.create_task` and `loop.call_soon`, bound once.
    create_task: Py<PyAny>,
    call_soon: Py<PyAny>,
    /// The loop's `create_task` is `BaseEventLoop.create_task`, which (with no task factory and
    /// outside debug mode) only calls `Task(coro)`.
    plain_create_task: bool,
    logger: Py<PyAny>,
    /// Only the exact `AsyncIOExecutor` class: a subclass's `_do_submit_job` is always used.
    fast: bool,
    drain: Py<Drain>,
}

impl Context {
    /// `asyncio.Task` when calling it is exactly what `loop.create_task(coro)` would do: the
    /// loop's own `create_task`, no task factory, no debug mode, and we run on that loop.
    fn direct_task_type<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        if !self.plain_create_task {
            return None;
        }
        let event_loop = self.event_loop.bind(py);
        let running = GET_RUNNING_LOOP.get(py).ok()?.call0().ok()?;
        if !running.is(event_loop) {
            return None;
        }
        if !event_loop.getattr(pyo3::intern!(py, "_task_factory")).ok()?.is_none()
            || event_loop.call_method0(pyo3::intern!(py, "get_debug")).ok()?.is_truthy().unwrap_or(true)
        {
            return None;
        }
        TASK.get(py).ok().cloned()
    }
}

/// A due run accepted by the pass, waiting for its task.
struct QueuedRun {
    job: JobRef,
    id: Arc<str>,
    store: Arc<str>,
    run_time: ZonedTime,
    /// The job's function when submitted (its call reads the job again when the run starts,
    /// as upstream's `run_coroutine_job` does).
    func: Py<PyAny>,
}

#[derive(Default)]
struct Shared {
    instances: Mutex<FxHashMap<Arc<str>, i64>>,
    context: RwLock<Option<Arc<Context>>>,
    /// `executor._pending_futures`: every task from its creation until its run has reported.
    pending: RwLock<Option<Py<PySet>>>,
    queue: Mutex<VecDeque<QueuedRun>>,
    /// A drain callback is scheduled on the loop.
    drain_scheduled: AtomicBool,
    chunk: AtomicUsize,
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

    fn discard(&self, py: Python<'_>, task: &Bound<'_, PyAny>) {
        let pending = self.pending.read().as_ref().map(|p| p.clone_ref(py));
        if let Some(pending) = pending {
            let _ = pending.bind(py).discard(task);
        }
    }

    fn add_pending(&self, py: Python<'_>, task: &Bound<'_, PyAny>) -> PyResult<()> {
        let pending = self.pending.read().as_ref().map(|p| p.clone_ref(py));
        match pending {
            Some(pending) => pending.bind(py).add(task),
            None => Ok(()),
        }
    }

    /// Starts up to `limit` queued runs as tasks, oldest first.
    fn start_queued(self: &Arc<Self>, py: Python<'_>, limit: usize) {
        let context = self.context.read().clone();
        let batch: Vec<QueuedRun> = {
            let mut queue = self.queue.lock();
            let n = queue.len().min(limit);
            queue.drain(..n).collect()
        };
        let Some(ctx) = context else {
            // The executor was shut down: these runs never start.
            for run in batch {
                self.release(&run.id);
            }
            return;
        };
        let logger = ctx.logger.bind(py);
        let info = enabled(logger, INFO);
        let create = match ctx.direct_task_type(py) {
            Some(task_type) => task_type,
            None => ctx.create_task.bind(py).clone(),
        };
        for run in batch {
            let id = run.id.clone();
            // A failure settles the run itself (its instance is released once).
            if let Err(e) = self.start_task(py, &ctx, &create, run, info)
                && enabled(logger, ERROR)
            {
                let kw = PyDict::new(py);
                let _ = kw.set_item("exc_info", e.into_value(py));
                let logged = logger.call_method(pyo3::intern!(py, "error"), ("Error running job %s", &*id), Some(&kw));
                ignore_error(py, logged);
            }
        }
    }

    fn start_task(
        self: &Arc<Self>,
        py: Python<'_>,
        ctx: &Arc<Context>,
        create: &Bound<'_, PyAny>,
        run: QueuedRun,
        info: bool,
    ) -> PyResult<()> {
        let coroutine = Bound::new(
            py,
            CoroutineJob {
                shared: self.clone(),
                context: ctx.clone(),
                run,
                info,
                phase: AtomicU8::new(QUEUED),
                executing: AtomicBool::new(false),
                settled: AtomicBool::new(false),
                inner: Mutex::new(None),
                task: Mutex::new(None),
                run_time: Mutex::new(None),
            },
        )?;
        let job = coroutine.get();
        let task = match create.call1((&coroutine,)) {
            Ok(task) => task,
            Err(e) => {
                job.phase.store(FINISHED, Ordering::Release);
                job.settle(py);
                return Err(e);
            }
        };
        if job.settled.load(Ordering::Acquire) {
            // An eager task factory (Python 3.12+) already ran it to completion.
            return Ok(());
        }
        *job.task.lock() = Some(task.clone().unbind());
        self.add_pending(py, &task)
    }

    /// [`Shared::flush`], when called on the loop's thread (tasks are created only there).
    fn flush_on_loop(self: &Arc<Self>, py: Python<'_>, ctx: &Context) {
        if self.queue.lock().is_empty() {
            return;
        }
        let on_loop = GET_RUNNING_LOOP.get(py).and_then(|f| f.call0()).is_ok_and(|l| l.is(ctx.event_loop.bind(py)));
        if on_loop {
            self.flush(py);
        }
    }

    /// Starts every queued run now (in order).
    fn flush(self: &Arc<Self>, py: Python<'_>) {
        loop {
            let left = self.queue.lock().len();
            if left == 0 {
                return;
            }
            self.start_queued(py, left);
        }
    }
}

/// The loop callback that starts the next chunk of queued runs.
#[pyclass(module = "apscheduler_rs._core", frozen)]
struct Drain {
    shared: Weak<Shared>,
}

#[pymethods]
impl Drain {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let Some(shared) = self.shared.upgrade() else { return Ok(()) };
        let chunk = shared.chunk.load(Ordering::Relaxed).max(1);
        shared.start_queued(py, chunk);
        // Rescheduled after this chunk's tasks, so they take their first step before the next
        // chunk is created.
        let more = {
            let queue = shared.queue.lock();
            if queue.is_empty() {
                shared.drain_scheduled.store(false, Ordering::SeqCst);
            }
            !queue.is_empty()
        };
        if more {
            let context = shared.context.read().clone();
            let rescheduled = context.map(|c| c.call_soon.bind(py).call1((c.drain.bind(py),)).map(|_| ()));
            if !matches!(rescheduled, Some(Ok(()))) {
                shared.drain_scheduled.store(false, Ordering::SeqCst);
                shared.flush(py);
                if let Some(Err(e)) = rescheduled {
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const FINISHED: u8 = 2;

/// One run of a coroutine job, driven by its asyncio task (see the module docs).
///
/// Frozen, with short-lived locks only: the job's code may look at its own task (`repr`,
/// `get_stack()`) while a step is under way.
#[pyclass(module = "apscheduler_rs._core", frozen)]
pub struct CoroutineJob {
    shared: Arc<Shared>,
    context: Arc<Context>,
    run: QueuedRun,
    /// `logger.isEnabledFor(INFO)`, read once per chunk of runs.
    info: bool,
    phase: AtomicU8,
    /// A step is under way (a second one raises, as for any coroutine).
    executing: AtomicBool,
    /// The instance was released and the task left `_pending_futures`.
    settled: AtomicBool,
    /// The job's coroutine (or the iterator its `__await__` gave) once called.
    inner: Mutex<Option<Py<PyAny>>>,
    /// Our task, until the run has reported.
    task: Mutex<Option<Py<PyAny>>>,
    run_time: Mutex<Option<Py<PyAny>>>,
}

/// What one step of the job's coroutine gave.
enum Step<'py> {
    Yield(Bound<'py, PyAny>),
    Return(Bound<'py, PyAny>),
    Raise(PyErr),
}

fn stop_value<'py>(py: Python<'py>, err: PyErr) -> Step<'py> {
    if err.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) {
        let value = err.value(py).getattr(pyo3::intern!(py, "value")).unwrap_or_else(|_| py.None().into_bound(py));
        Step::Return(value)
    } else {
        Step::Raise(err)
    }
}

#[cfg(Py_3_10)]
fn send_into<'py>(inner: &Bound<'py, PyAny>, value: &Bound<'py, PyAny>) -> Step<'py> {
    use pyo3::ffi;
    let py = inner.py();
    let mut out: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: both objects are alive (borrowed for 'py); `out` receives a new reference or NULL.
    let status = unsafe { ffi::PyIter_Send(inner.as_ptr(), value.as_ptr(), &mut out) };
    match status {
        // SAFETY: on NEXT and RETURN `out` is a new (owned) reference.
        ffi::PySendResult::PYGEN_NEXT => Step::Yield(unsafe { Bound::from_owned_ptr(py, out) }),
        ffi::PySendResult::PYGEN_RETURN => Step::Return(unsafe { Bound::from_owned_ptr(py, out) }),
        ffi::PySendResult::PYGEN_ERROR => Step::Raise(PyErr::fetch(py)),
    }
}

#[cfg(not(Py_3_10))]
fn send_into<'py>(inner: &Bound<'py, PyAny>, value: &Bound<'py, PyAny>) -> Step<'py> {
    match inner.call_method1(pyo3::intern!(inner.py(), "send"), (value,)) {
        Ok(v) => Step::Yield(v),
        Err(e) => stop_value(inner.py(), e),
    }
}

/// `job.func(*job.args, **job.kwargs)`.
fn call_job<'py>(py: Python<'py>, call: &JobCall) -> PyResult<Bound<'py, PyAny>> {
    let (func, args, kwargs) = call.bind(py)?;
    func.call(&args, if kwargs.is_empty() { None } else { Some(&kwargs) })
}

/// Clears `executing` when a step ends, however it ends.
struct Executing<'a>(&'a AtomicBool);

impl Drop for Executing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// What a step hands back to the task.
enum Outcome<'py> {
    Yield(Bound<'py, PyAny>),
    Done,
}

impl CoroutineJob {
    fn enter(&self) -> PyResult<Executing<'_>> {
        if self.executing.swap(true, Ordering::Acquire) {
            return Err(pyo3::exceptions::PyValueError::new_err("coroutine already executing"));
        }
        Ok(Executing(&self.executing))
    }

    fn run_time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(rt) = self.run_time.lock().as_ref() {
            return Ok(rt.bind(py).clone());
        }
        let rt = zoned_to_datetime(py, &self.run.run_time, None)?.into_any();
        *self.run_time.lock() = Some(rt.clone().unbind());
        Ok(rt)
    }

    /// Takes the task out of `_pending_futures` and releases the instance (once).
    fn settle(&self, py: Python<'_>) {
        if self.settled.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = self.task.lock().take();
        if let Some(task) = task {
            self.shared.discard(py, task.bind(py));
        }
        self.shared.release(&self.run.id);
    }

    /// One step of the task: `None` sent on the first is the start of the run.
    fn step<'py>(&self, py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Outcome<'py>> {
        let _guard = self.enter()?;
        match self.phase.load(Ordering::Acquire) {
            QUEUED => {
                if !value.is_none() {
                    return Err(pyo3::exceptions::PyTypeError::new_err(
                        "can't send non-None value to a just-started coroutine",
                    ));
                }
                self.phase.store(RUNNING, Ordering::Release);
                self.guarded(py, |this| this.begin(py))
            }
            RUNNING => {
                let inner = self.inner.lock().as_ref().map(|i| i.clone_ref(py));
                let Some(inner) = inner else { return Ok(Outcome::Done) };
                let step = send_into(inner.bind(py), value);
                self.guarded(py, |this| this.after(py, step))
            }
            _ => Err(pyo3::exceptions::PyRuntimeError::new_err("cannot reuse already awaited coroutine")),
        }
    }

    /// Runs `f`; if the machinery itself fails, the run is settled before the error reaches the task.
    fn guarded<'py>(&self, py: Python<'py>, f: impl FnOnce(&Self) -> PyResult<Outcome<'py>>) -> PyResult<Outcome<'py>> {
        let result = f(self);
        if result.is_err() {
            self.finished(py);
        }
        result
    }

    fn finished(&self, py: Python<'_>) {
        self.phase.store(FINISHED, Ordering::Release);
        self.inner.lock().take();
        self.settle(py);
    }

    /// The first step: misfire check, log, call, then the first send.
    fn begin<'py>(&self, py: Python<'py>) -> PyResult<Outcome<'py>> {
        let run = &self.run;
        let call = JobCall::read(py, &run.job);
        if let Some(grace) = call.grace {
            let late = crate::core::clock::Clock::now_micros(&crate::core::clock::SystemClock) - run.run_time.micros();
            if late > grace.saturating_mul(1_000_000) {
                self.missed(py, late)?;
                return Ok(Outcome::Done);
            }
        }
        if self.info {
            let rt = self.run_time(py)?;
            self.context.logger.bind(py).call_method1(
                pyo3::intern!(py, "info"),
                ("Running job \"%s\" (scheduled at %s)", Job::handle(py, &run.job)?, rt),
            )?;
        }
        let called = call_job(py, &call).and_then(|awaitable| {
            // SAFETY: a type check on a live object.
            if unsafe { pyo3::ffi::PyCoro_CheckExact(awaitable.as_ptr()) } != 0 {
                Ok(awaitable)
            } else {
                // As `await` does with any other awaitable.
                awaitable.call_method0(pyo3::intern!(py, "__await__"))
            }
        });
        match called {
            Ok(inner) => {
                *self.inner.lock() = Some(inner.clone().unbind());
                let step = send_into(&inner, &py.None().into_bound(py));
                self.after(py, step)
            }
            Err(e) => {
                self.finish(py, Step::Raise(e))?;
                Ok(Outcome::Done)
            }
        }
    }

    /// Hands a yielded value to the task, or reports the finished run.
    fn after<'py>(&self, py: Python<'py>, step: Step<'py>) -> PyResult<Outcome<'py>> {
        if let Step::Yield(v) = step {
            return Ok(Outcome::Yield(v));
        }
        self.phase.store(FINISHED, Ordering::Release);
        self.inner.lock().take();
        self.finish(py, step)?;
        Ok(Outcome::Done)
    }

    fn finish(&self, py: Python<'_>, step: Step<'_>) -> PyResult<()> {
        let ctx = &self.context;
        let logger = ctx.logger.bind(py);
        let mask = ctx.events.mask();
        let run = &self.run;
        let job = LazyHandle::new(py, &run.job);
        match step {
            Step::Yield(_) => Ok(()),
            Step::Return(retval) => {
                if self.info {
                    logger.call_method1(pyo3::intern!(py, "info"), ("Job \"%s\" executed successfully", job.get()?))?;
                }
                self.settle(py);
                if mask & EVENT_JOB_EXECUTED != 0 {
                    let rt = self.run_time(py)?;
                    let event =
                        execution_event(py, EVENT_JOB_EXECUTED, &run.id, &run.store, &rt, Some(retval), None, None)?;
                    ctx.events.dispatch(py, &event, EVENT_JOB_EXECUTED)?;
                }
                Ok(())
            }
            Step::Raise(err) => {
                let exc = err.into_value(py).into_bound(py).into_any();
                let tb = exc.getattr(pyo3::intern!(py, "__traceback__"))?;
                let event = if mask & EVENT_JOB_ERROR != 0 {
                    let text = if tb.is_none() {
                        pyo3::types::PyString::new(py, "").into_any()
                    } else {
                        pyo3::types::PyString::new(py, "")
                            .call_method1(pyo3::intern!(py, "join"), (FORMAT_TB.get(py)?.call1((&tb,))?,))?
                    };
                    let rt = self.run_time(py)?;
                    Some(execution_event(
                        py,
                        EVENT_JOB_ERROR,
                        &run.id,
                        &run.store,
                        &rt,
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
                        ("Job \"%s\" raised an exception", job.get()?),
                        Some(&kw),
                    )?;
                }
                if !tb.is_none() {
                    let _ = CLEAR_FRAMES.get(py).and_then(|f| f.call1((&tb,)));
                }
                self.settle(py);
                if let Some(event) = event {
                    ctx.events.dispatch(py, &event, EVENT_JOB_ERROR)?;
                }
                Ok(())
            }
        }
    }

    fn missed(&self, py: Python<'_>, late_us: i64) -> PyResult<()> {
        self.phase.store(FINISHED, Ordering::Release);
        let ctx = &self.context;
        let logger = ctx.logger.bind(py);
        if enabled(logger, WARNING) {
            let text = format_timedelta(late_us);
            logger.call_method1(
                pyo3::intern!(py, "warning"),
                ("Run time of job \"%s\" was missed by %s", Job::handle(py, &self.run.job)?, text),
            )?;
        }
        self.settle(py);
        if ctx.events.mask() & EVENT_JOB_MISSED != 0 {
            let rt = self.run_time(py)?;
            let event = execution_event(py, EVENT_JOB_MISSED, &self.run.id, &self.run.store, &rt, None, None, None)?;
            ctx.events.dispatch(py, &event, EVENT_JOB_MISSED)?;
        }
        Ok(())
    }

    /// The exception `throw(typ[, val[, tb]])` stands for.
    fn thrown(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<PyErr> {
        let typ = args.get_item(0)?;
        let val = if args.len() > 1 { Some(args.get_item(1)?) } else { None };
        let exc = match val {
            Some(v) if !v.is_none() && !v.is_instance_of::<PyType>() => v,
            _ if typ.is_instance_of::<PyType>() => typ.call0()?,
            _ => typ,
        };
        let _ = py;
        Ok(PyErr::from_value(exc))
    }
}

#[pymethods]
impl CoroutineJob {
    /// The task's step (Python 3.10+ sends `None` through `tp_iternext`).
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.step(py, &py.None().into_bound(py))? {
            Outcome::Yield(v) => Ok(Some(v)),
            Outcome::Done => Ok(None),
        }
    }

    fn send<'py>(&self, py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        match self.step(py, &value)? {
            Outcome::Yield(v) => Ok(v),
            Outcome::Done => Err(pyo3::exceptions::PyStopIteration::new_err(())),
        }
    }

    #[pyo3(signature = (typ, val=None, tb=None))]
    fn throw<'py>(
        &self,
        py: Python<'py>,
        typ: Bound<'py, PyAny>,
        val: Option<Bound<'py, PyAny>>,
        tb: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = match (val, tb) {
            (None, None) => PyTuple::new(py, [typ])?,
            (Some(v), None) => PyTuple::new(py, [typ, v])?,
            (v, Some(t)) => PyTuple::new(py, [typ, v.unwrap_or_else(|| py.None().into_bound(py)), t])?,
        };
        let _guard = self.enter()?;
        match self.phase.load(Ordering::Acquire) {
            QUEUED => {
                // Cancelled before its first step: as when upstream's wrapper coroutine is, the
                // task ends with the exception and only a log says so (no event).
                self.phase.store(FINISHED, Ordering::Release);
                self.settle(py);
                let err = Self::thrown(py, &args)?;
                let logger = self.context.logger.bind(py);
                if enabled(logger, ERROR) {
                    let exc = err.value(py);
                    let exc_info = PyTuple::new(
                        py,
                        [exc.get_type().into_any(), exc.clone().into_any(), exc.getattr("__traceback__")?],
                    )?;
                    let kw = PyDict::new(py);
                    kw.set_item("exc_info", exc_info)?;
                    logger.call_method(
                        pyo3::intern!(py, "error"),
                        ("Error running job %s", &*self.run.id),
                        Some(&kw),
                    )?;
                }
                Err(err)
            }
            RUNNING => {
                let inner = self.inner.lock().as_ref().map(|i| i.clone_ref(py));
                let Some(inner) = inner else { return Err(Self::thrown(py, &args)?) };
                let step = match inner.bind(py).call_method1(pyo3::intern!(py, "throw"), args) {
                    Ok(v) => Step::Yield(v),
                    Err(e) => stop_value(py, e),
                };
                match self.guarded(py, |this| this.after(py, step))? {
                    Outcome::Yield(v) => Ok(v),
                    Outcome::Done => Err(pyo3::exceptions::PyStopIteration::new_err(())),
                }
            }
            _ => Err(Self::thrown(py, &args)?),
        }
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.phase.store(FINISHED, Ordering::Release);
        let inner = self.inner.lock().take();
        self.settle(py);
        if let Some(inner) = inner {
            inner.bind(py).call_method0(pyo3::intern!(py, "close"))?;
        }
        Ok(())
    }

    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// The job coroutine's frame while it runs (for `Task.get_stack()` and reprs).
    #[getter]
    fn cr_frame(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let inner = self.inner.lock().as_ref().map(|i| i.clone_ref(py))?;
        let inner = inner.bind(py);
        inner.getattr("cr_frame").or_else(|_| inner.getattr("gi_frame")).ok().map(Bound::unbind)
    }

    #[getter]
    fn cr_await(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let inner = self.inner.lock().as_ref().map(|i| i.clone_ref(py))?;
        inner.bind(py).getattr("cr_await").ok().map(Bound::unbind)
    }

    #[getter]
    fn cr_running(&self) -> bool {
        self.executing.load(Ordering::Acquire)
    }

    #[getter]
    fn cr_code(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let inner = self.inner.lock().as_ref().map(|i| i.clone_ref(py));
        match inner {
            Some(inner) => inner.bind(py).getattr("cr_code").ok().map(Bound::unbind),
            None => self.run.func.bind(py).getattr("__code__").ok().map(Bound::unbind),
        }
    }

    /// The job function's qualified name (what a task's repr shows).
    #[getter]
    fn __qualname__(&self, py: Python<'_>) -> String {
        let name = self.run.func.bind(py).getattr("__qualname__").ok();
        name.and_then(|n| n.extract().ok()).unwrap_or_else(|| "CoroutineJob".to_owned())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("<CoroutineJob {}>", self.__qualname__(py))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for cell in [&self.task, &self.inner, &self.run_time] {
            if let Some(guard) = cell.try_lock()
                && let Some(obj) = guard.as_ref()
            {
                visit.call(obj)?;
            }
        }
        visit.call(&self.run.func)
    }

    fn __clear__(&self) {
        self.task.lock().take();
        self.inner.lock().take();
        self.run_time.lock().take();
    }
}

impl Drop for CoroutineJob {
    fn drop(&mut self) {
        // A task destroyed before its run finished (its loop closed): free the instance.
        if !self.settled.swap(true, Ordering::AcqRel) {
            self.shared.release(&self.run.id);
        }
    }
}

#[pyclass(module = "apscheduler_rs._core", frozen)]
pub struct CoroutineRunner {
    shared: Arc<Shared>,
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
        let (id, max_instances, func, complete) = {
            let f = job.fields.lock();
            (
                job.id().unwrap_or_else(|| Arc::from("")),
                f.max_instances().unwrap_or(1),
                f.func.as_ref().map(|o| o.clone_ref(py)),
                f.args.is_some() && f.kwargs.is_some(),
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
        let queued = match (ctx.fast && complete, run_times, func) {
            (true, [run_time], Some(func)) => match is_coroutine_function(func.bind(py)) {
                Ok(true) => {
                    let run =
                        QueuedRun { job: job.clone(), id: id.clone(), store: store.clone(), run_time: *run_time, func };
                    self.enqueue(py, &ctx, run).map(|_| true)
                }
                Ok(false) => Ok(false),
                Err(e) => Err(e),
            },
            _ => Ok(false),
        };
        let submitted = queued.and_then(|queued| {
            if queued {
                return Ok(());
            }
            // Runs queued before this one get their tasks first.
            self.shared.flush_on_loop(py, &ctx);
            let times = run_times.iter().map(|t| zoned_to_datetime(py, t, None)).collect::<PyResult<Vec<_>>>()?;
            ctx.executor
                .bind(py)
                .call_method1(pyo3::intern!(py, "_do_submit_job"), (Job::handle(py, job)?, PyList::new(py, times)?))
                .map(|_| ())
        });
        if let Err(e) = submitted {
            self.shared.release(&id);
            return Err(e);
        }
        Ok(Submission::Accepted)
    }

    /// Queues a run and makes sure a drain callback will start it.
    fn enqueue(&self, py: Python<'_>, ctx: &Context, run: QueuedRun) -> PyResult<()> {
        let schedule = {
            let mut queue = self.shared.queue.lock();
            queue.push_back(run);
            !self.shared.drain_scheduled.swap(true, Ordering::SeqCst)
        };
        if schedule && let Err(e) = ctx.call_soon.bind(py).call1((ctx.drain.bind(py),)) {
            self.shared.drain_scheduled.store(false, Ordering::SeqCst);
            self.shared.queue.lock().pop_back();
            return Err(e);
        }
        Ok(())
    }
}

#[pymethods]
impl CoroutineRunner {
    #[new]
    fn new() -> Self {
        let shared = Shared { chunk: AtomicUsize::new(CHUNK), ..Shared::default() };
        CoroutineRunner { shared: Arc::new(shared) }
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (executor, scheduler, event_loop, pending, logger, fast))]
    fn start(
        &self,
        py: Python<'_>,
        executor: Py<PyAny>,
        scheduler: Bound<'_, PyAny>,
        event_loop: Bound<'_, PyAny>,
        pending: Bound<'_, PySet>,
        logger: Py<PyAny>,
        fast: bool,
    ) -> PyResult<()> {
        let drain = Py::new(py, Drain { shared: Arc::downgrade(&self.shared) })?;
        *self.shared.pending.write() = Some(pending.unbind());
        let plain_create_task = match BASE_CREATE_TASK.get(py) {
            Ok(base) => {
                let ours = event_loop.get_type().getattr("create_task")?;
                ours.is(&base.getattr("create_task")?)
            }
            Err(_) => false,
        };
        *self.shared.context.write() = Some(Arc::new(Context {
            executor,
            events: EventSink::of(scheduler),
            plain_create_task,
            event_loop: event_loop.clone().unbind(),
            create_task: event_loop.getattr("create_task")?.unbind(),
            call_soon: event_loop.getattr("call_soon")?.unbind(),
            logger,
            fast,
            drain,
        }));
        Ok(())
    }

    /// Replaces the set that tracks running tasks (`executor._pending_futures = ...`).
    fn set_pending(&self, pending: Bound<'_, PySet>) {
        *self.shared.pending.write() = Some(pending.unbind());
    }

    /// Starts every queued run now, so that `_pending_futures` holds all submitted runs (only
    /// on the loop's thread: elsewhere the drain callbacks start them as usual).
    fn flush(&self, py: Python<'_>) {
        let context = self.shared.context.read().clone();
        if let Some(ctx) = context {
            self.shared.flush_on_loop(py, &ctx);
        }
    }

    /// How many queued runs one drain callback starts (tuning; default [`CHUNK`]).
    #[getter]
    fn get_chunk(&self) -> usize {
        self.shared.chunk.load(Ordering::Relaxed)
    }
    #[setter]
    fn set_chunk(&self, chunk: usize) {
        self.shared.chunk.store(chunk.max(1), Ordering::Relaxed);
    }

    /// `BaseExecutor.submit_job` for callers other than the native pass.
    fn submit_job(&self, py: Python<'_>, job: Bound<'_, Job>, run_times: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let store: Arc<str> = match job.get().fields.lock().jobstore_alias() {
            Some(a) => Arc::from(a.bind(py).str()?.to_string()),
            None => Arc::from("None"),
        };
        let times = run_times.iter().map(crate::py::time::zoned_from_datetime).collect::<PyResult<Vec<_>>>()?;
        let job_ref: JobRef = job.get().rec.clone();
        match self.try_submit(py, &job_ref, &store, &times)? {
            Submission::MaxInstancesReached => Err(max_instances_reached(py, job.into_any())),
            Submission::Failed(msg) => Err(pyo3::exceptions::PyRuntimeError::new_err(msg)),
            Submission::Accepted => Ok(()),
        }
    }

    /// Forgets the executor, scheduler and loop (breaks the reference cycle through them);
    /// tasks already running still report through their own handle. Runs still queued never
    /// start (call `flush` first to start them).
    fn stop(&self) {
        self.shared.context.write().take();
        let dropped: Vec<QueuedRun> = self.shared.queue.lock().drain(..).collect();
        for run in dropped {
            self.shared.release(&run.id);
        }
        self.shared.drain_scheduled.store(false, Ordering::SeqCst);
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
