//! Events: the codes (the same integers as APScheduler), building event objects only when a
//! listener wants them, and calling the listeners.
use crate::py::pyref::Cached;
use parking_lot::RwLock;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

pub const EVENT_JOB_ADDED: u32 = 1 << 9;
pub const EVENT_JOB_REMOVED: u32 = 1 << 10;
pub const EVENT_JOB_EXECUTED: u32 = 1 << 12;
pub const EVENT_JOB_ERROR: u32 = 1 << 13;
pub const EVENT_JOB_MISSED: u32 = 1 << 14;
pub const EVENT_JOB_SUBMITTED: u32 = 1 << 15;
pub const EVENT_JOB_MAX_INSTANCES: u32 = 1 << 16;

pub static JOB_EVENT: Cached = Cached::new("apscheduler_rs.events", "JobEvent");
pub static JOB_SUBMISSION_EVENT: Cached = Cached::new("apscheduler_rs.events", "JobSubmissionEvent");
pub static JOB_EXECUTION_EVENT: Cached = Cached::new("apscheduler_rs.events", "JobExecutionEvent");
/// `vars()` of a `JobExecutionEvent` with every attribute `None`, copied for each event.
static EXECUTION_EVENT_DICT: pyo3::sync::PyOnceLock<Py<PyDict>> = pyo3::sync::PyOnceLock::new();

/// Python log levels.
pub const DEBUG: u8 = 10;
pub const INFO: u8 = 20;
pub const WARNING: u8 = 30;
pub const ERROR: u8 = 40;

pub fn enabled(logger: &Bound<'_, PyAny>, level: u8) -> bool {
    let result = logger.call_method1(intern!(logger.py(), "isEnabledFor"), (level,)).and_then(|b| b.is_truthy());
    ignore_error(logger.py(), result).unwrap_or(false)
}

thread_local! {
    /// A `KeyboardInterrupt`/`SystemExit` that surfaced inside a call whose errors we ignore.
    static INTERRUPT: std::cell::RefCell<Option<PyErr>> = const { std::cell::RefCell::new(None) };
}

/// Drops an ordinary exception (`Exception`) from a best-effort call such as logging, but keeps
/// a `KeyboardInterrupt` or `SystemExit` (Ctrl+C lands in whatever Python code the main thread
/// runs) so that the loop can raise it: see [`take_interrupt`].
pub fn ignore_error<T>(py: Python<'_>, result: PyResult<T>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            if !e.is_instance_of::<pyo3::exceptions::PyException>(py) {
                INTERRUPT.with(|i| *i.borrow_mut() = Some(e));
            }
            None
        }
    }
}

/// The interrupt kept by [`ignore_error`] on this thread, if any.
pub fn take_interrupt() -> Option<PyErr> {
    INTERRUPT.with(|i| i.borrow_mut().take())
}

/// A `JobExecutionEvent`, built by filling its `__dict__` (same attributes, same `vars()`
/// order as its constructor produces) instead of running three Python `__init__`s per run.
#[allow(clippy::too_many_arguments)] // the event's own attributes, in its order
pub fn execution_event<'py>(
    py: Python<'py>,
    code: u32,
    job_id: &str,
    jobstore: &str,
    scheduled_run_time: &Bound<'py, PyAny>,
    retval: Option<Bound<'py, PyAny>>,
    exception: Option<Bound<'py, PyAny>>,
    traceback: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let cls = JOB_EXECUTION_EVENT.get(py)?;
    let event = cls.call_method1(intern!(py, "__new__"), (cls,))?;
    // A copy of a dict that already has every key in order: no insertions, no resizes.
    let template = EXECUTION_EVENT_DICT.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let d = PyDict::new(py);
        for key in ["code", "alias", "job_id", "jobstore", "scheduled_run_time", "retval", "exception", "traceback"] {
            d.set_item(pyo3::types::PyString::intern(py, key), py.None())?;
        }
        Ok(d.unbind())
    })?;
    let attrs = template.bind(py).copy()?;
    attrs.set_item(intern!(py, "code"), code)?;
    attrs.set_item(intern!(py, "job_id"), job_id)?;
    attrs.set_item(intern!(py, "jobstore"), jobstore)?;
    attrs.set_item(intern!(py, "scheduled_run_time"), scheduled_run_time)?;
    if let Some(retval) = retval {
        attrs.set_item(intern!(py, "retval"), retval)?;
    }
    if let Some(exception) = exception {
        attrs.set_item(intern!(py, "exception"), exception)?;
    }
    if let Some(traceback) = traceback {
        attrs.set_item(intern!(py, "traceback"), traceback)?;
    }
    event.setattr(intern!(py, "__dict__"), attrs)?;
    Ok(event)
}

/// A callback and its event mask.
type Listener = (Py<PyAny>, u32);

/// The scheduler's listeners, mirrored from `scheduler._listeners` so that native threads can
/// call them without going through Python-level dispatch.
#[derive(Default)]
pub struct Listeners {
    entries: RwLock<Arc<Vec<Listener>>>,
    logger: RwLock<Option<Py<PyAny>>>,
}

impl Listeners {
    pub fn set(&self, entries: Vec<(Py<PyAny>, u32)>) {
        *self.entries.write() = Arc::new(entries);
    }

    pub fn set_logger(&self, logger: Py<PyAny>) {
        *self.logger.write() = Some(logger);
    }

    /// Calls every listener whose mask matches, in registration order. A listener that
    /// raises (anything, even `SystemExit`) is logged as `Error notifying listener`.
    pub fn dispatch(&self, py: Python<'_>, event: &Bound<'_, PyAny>, code: u32) {
        let entries = self.entries.read().clone();
        for (callback, mask) in entries.iter() {
            if code & mask == 0 {
                continue;
            }
            if let Err(err) = callback.bind(py).call1((event,)) {
                let logger = self.logger.read().as_ref().map(|l| l.clone_ref(py));
                match logger {
                    Some(logger) => {
                        let kw = PyDict::new(py);
                        let _ = kw.set_item("exc_info", err.into_value(py));
                        let logged = logger.bind(py).call_method("error", ("Error notifying listener",), Some(&kw));
                        ignore_error(py, logged);
                    }
                    None => err.print(py),
                }
            }
        }
    }
}

/// Where an executor's events go: its scheduler's native engine (listeners called directly,
/// and only for the codes some listener's mask asks for), or, for a scheduler that is not
/// ours, its `_dispatch_event`.
pub struct EventSink {
    scheduler: Py<PyAny>,
    engine: Option<Py<crate::py::engine::Engine>>,
}

impl EventSink {
    pub fn of(scheduler: Bound<'_, PyAny>) -> Self {
        let engine = scheduler.getattr("_engine").ok().and_then(|e| e.cast_into().ok()).map(Bound::unbind);
        EventSink { scheduler: scheduler.unbind(), engine }
    }

    /// The event codes some listener wants (all of them for a foreign scheduler).
    pub fn mask(&self) -> u32 {
        self.engine.as_ref().map_or(u32::MAX, |e| e.get().listener_mask.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn dispatch(&self, py: Python<'_>, event: &Bound<'_, PyAny>, code: u32) -> PyResult<()> {
        match &self.engine {
            Some(engine) => engine.get().listeners.dispatch(py, event, code),
            None => {
                self.scheduler.bind(py).call_method1(intern!(py, "_dispatch_event"), (event,))?;
            }
        }
        Ok(())
    }
}
