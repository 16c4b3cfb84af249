//! The scheduler's engine: sleeps without the GIL until the next run time or a wake-up, then
//! runs a processing pass ([`crate::core::engine::process_jobs`]) over the scheduler's stores.
//!
//! The Python face owns the scheduler's state and registries and mirrors them here
//! (`set_state`, `set_stores`, `set_executors`, `set_listener_mask`), so the loop never has to
//! ask Python what to do.

use crate::core::clock::{Clock, SystemClock, Wakeup};
use crate::core::engine::{EngineHost, EngineJob, EngineStore, Submission, Ticket, process_jobs, wait_seconds};
use crate::core::store::ledger::Start;
use crate::core::time::{Zone, ZonedTime};
use crate::py::coroutine_runner::CoroutineRunner;
use crate::py::errors::MAX_INSTANCES_REACHED;
use crate::py::events::*;
use crate::py::executor::ThreadPool;
use crate::py::job::{Job, JobRef};
use crate::py::store::{EngineStoreRef, StoreHandle, native_store};
use crate::py::time::{zone_from_tzinfo, zoned_to_datetime};
use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

pub const STATE_STOPPED: u8 = 0;
pub const STATE_RUNNING: u8 = 1;
pub const STATE_PAUSED: u8 = 2;
/// How often a loop running on the main thread looks for signals (Ctrl+C).
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// A store under its alias, in the scheduler's order.
type StoreEntry = (Arc<str>, StoreHandle);

enum ExecutorHandle {
    Native(Py<ThreadPool>),
    Coroutine(Py<CoroutineRunner>),
    Python(Py<PyAny>),
}

#[pyclass(module = "apscheduler_rs._core", frozen)]
pub struct Engine {
    pub listener_mask: Arc<AtomicU32>,
    pub listeners: Listeners,
    wakeup: Wakeup,
    state: AtomicU8,
    stop_requested: AtomicBool,
    /// When the sleeping loop will wake by itself (epoch µs): later additions need no wake-up.
    deadline: AtomicI64,
    retry_interval_us: AtomicI64,
    zone: RwLock<Zone>,
    stores: RwLock<Arc<Vec<StoreEntry>>>,
    executors: RwLock<Arc<HashMap<Arc<str>, ExecutorHandle>>>,
    /// Event-loop schedulers (asyncio, tornado, ...) drive passes themselves: a wake-up calls
    /// this (thread-safe) callable instead of only signalling `run_loop`.
    waker: RwLock<Option<Py<PyAny>>>,
}

/// The scheduler side of one pass: executors, events, logs. Attaches to Python only when a
/// listener, a log record or a Python-written executor needs it.
struct PassHost<'a> {
    listeners: &'a Listeners,
    logger: &'a Py<PyAny>,
    executors: &'a HashMap<Arc<str>, ExecutorHandle>,
    mask: u32,
    /// `logger.isEnabledFor(INFO)`, read once per pass: removals are frequent.
    info_enabled: bool,
    queued: Vec<(u32, JobRef, Arc<str>, Vec<ZonedTime>)>,
    submit_error: Option<PyErr>,
}

fn executor_of(job: &JobRef) -> Arc<str> {
    job.fields.lock().executor.clone().unwrap_or_else(|| Arc::from(""))
}

impl PassHost<'_> {
    fn log(&self, level: u8, args: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyTuple>>) {
        Python::attach(|py| {
            let logger = self.logger.bind(py);
            if enabled(logger, level)
                && let Some(args) = ignore_error(py, args(py))
            {
                ignore_error(py, logger.call_method1("log", args));
            }
        })
    }
}

impl EngineHost<JobRef> for PassHost<'_> {
    fn has_executor(&mut self, job: &JobRef) -> bool {
        self.executors.contains_key(&executor_of(job))
    }

    fn submit(&mut self, job: &JobRef, store: &str, run_times: &[ZonedTime], ticket: Option<Ticket>) -> Submission {
        let executor = self.executors.get(&executor_of(job));
        if let Some(ExecutorHandle::Native(pool)) = executor {
            // The pool's worker passes the fence just before the run.
            return pool.get().submit(job, &Arc::from(store), run_times, ticket);
        }
        // Other executors pass it at submission, and their runs leave the ledger right away:
        // exactly-once holds; cluster-wide max_instances and lost-run reports need the pool.
        if let Some(t) = &ticket {
            match t.ledger.start(t.key.clone()) {
                Start::Go => {}
                Start::TakenOver => return Submission::Failed("another scheduler took the run over".into()),
                Start::Unreachable(e) => return Submission::Failed(format!("the job store cannot be reached: {e}")),
            }
        }
        let outcome = match executor {
            Some(ExecutorHandle::Coroutine(runner)) => runner.get().submit(job, &Arc::from(store), run_times),
            Some(ExecutorHandle::Python(executor)) => Python::attach(|py| {
                let times: PyResult<Vec<_>> = run_times.iter().map(|t| zoned_to_datetime(py, t, None)).collect();
                let result = times.and_then(|times| {
                    executor.bind(py).call_method1("submit_job", (Job::handle(py, job)?, PyList::new(py, times)?))
                });
                match result {
                    Ok(_) => Submission::Accepted,
                    Err(e) if MAX_INSTANCES_REACHED.get(py).map(|c| e.is_instance(py, c)).unwrap_or(false) => {
                        Submission::MaxInstancesReached
                    }
                    Err(e) => {
                        let text = e.to_string();
                        self.submit_error = Some(e);
                        Submission::Failed(text)
                    }
                }
            }),
            Some(ExecutorHandle::Native(_)) | None => Submission::Failed("no such executor".into()),
        };
        if let (Submission::Accepted, Some(t)) = (&outcome, ticket) {
            t.ledger.finish(t.key);
        }
        outcome
    }

    fn store_failed(&mut self, store: &str, error: &str) {
        self.log(WARNING, |py| {
            let alias = pyo3::types::PyString::new(py, store).repr()?;
            pyo3::types::PyTuple::new(
                py,
                [
                    WARNING.into_pyobject(py)?.into_any(),
                    "Error getting due jobs from job store %s: %s".into_pyobject(py)?.into_any(),
                    alias.into_any(),
                    error.into_pyobject(py)?.into_any(),
                ],
            )
        });
    }

    fn executor_missing(&mut self, job: &JobRef, _store: &str) {
        let executor = executor_of(job);
        self.log(ERROR, |py| {
            pyo3::types::PyTuple::new(
                py,
                [
                    ERROR.into_pyobject(py)?.into_any(),
                    "Executor lookup (\"%s\") failed for job \"%s\" -- removing it from the job store"
                        .into_pyobject(py)?
                        .into_any(),
                    (*executor).into_pyobject(py)?.into_any(),
                    Job::handle(py, job)?.into_bound(py).into_any(),
                ],
            )
        });
    }

    fn job_removed(&mut self, job_id: &str, store: &str) {
        if self.mask & EVENT_JOB_REMOVED == 0 && !self.info_enabled {
            return;
        }
        Python::attach(|py| {
            if self.mask & EVENT_JOB_REMOVED != 0 {
                let event = JOB_EVENT.get(py).and_then(|c| c.call1((EVENT_JOB_REMOVED, job_id, store)));
                if let Ok(event) = event {
                    self.listeners.dispatch(py, &event, EVENT_JOB_REMOVED);
                }
            }
            let logger = self.logger.bind(py);
            if enabled(logger, INFO) {
                ignore_error(py, logger.call_method1("info", ("Removed job %s", job_id)));
            }
        })
    }

    fn submitted(&mut self, job: &JobRef, store: &str, run_times: Vec<ZonedTime>) {
        if self.mask & EVENT_JOB_SUBMITTED != 0 {
            self.queued.push((EVENT_JOB_SUBMITTED, job.clone(), Arc::from(store), run_times));
        }
    }

    fn max_instances_reached(&mut self, job: &JobRef, store: &str, run_times: Vec<ZonedTime>) {
        let max = job.fields.lock().max_instances().unwrap_or(1);
        self.log(WARNING, |py| {
            pyo3::types::PyTuple::new(
                py,
                [
                    WARNING.into_pyobject(py)?.into_any(),
                    "Execution of job \"%s\" skipped: maximum number of running instances reached (%s)"
                        .into_pyobject(py)?
                        .into_any(),
                    Job::handle(py, job)?.into_bound(py).into_any(),
                    max.into_pyobject(py)?.into_any(),
                ],
            )
        });
        if self.mask & EVENT_JOB_MAX_INSTANCES != 0 {
            self.queued.push((EVENT_JOB_MAX_INSTANCES, job.clone(), Arc::from(store), run_times));
        }
    }

    fn submit_failed(&mut self, job: &JobRef, error: &str) {
        let err = self.submit_error.take();
        let executor = executor_of(job);
        Python::attach(|py| {
            let logger = self.logger.bind(py);
            if !enabled(logger, ERROR) {
                return;
            }
            let err = err.unwrap_or_else(|| pyo3::exceptions::PyRuntimeError::new_err(error.to_owned()));
            let kw = PyDict::new(py);
            let _ = kw.set_item("exc_info", err.into_value(py));
            let logged = Job::handle(py, job).and_then(|job| {
                logger.call_method(
                    "error",
                    ("Error submitting job \"%s\" to executor \"%s\"", job, &*executor),
                    Some(&kw),
                )
            });
            ignore_error(py, logged);
        })
    }
}

impl Engine {
    pub fn zone(&self) -> Zone {
        *self.zone.read()
    }

    pub fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    /// Wakes the loop if `run_at` (epoch µs) comes before the loop would wake by itself.
    pub fn wake_if_before(&self, run_at: i64) {
        if run_at < self.deadline.load(Ordering::SeqCst) {
            self.notify();
        }
    }

    /// Signals `run_loop`, and calls the event-loop scheduler's waker if one is set.
    fn notify(&self) {
        self.wakeup.notify();
        if self.waker.read().is_none() {
            return;
        }
        // The GIL first, the lock second (never wait for the GIL while holding the lock).
        Python::attach(|py| {
            let waker = self.waker.read().as_ref().map(|w| w.clone_ref(py));
            if let Some(waker) = waker
                && let Err(e) = waker.call0(py)
            {
                e.write_unraisable(py, Some(waker.bind(py)));
            }
        });
    }

    fn now(&self) -> ZonedTime {
        ZonedTime::from_micros(SystemClock.now_micros(), *self.zone.read())
    }

    /// One processing pass; returns seconds to sleep (`None`: until woken).
    fn process(&self, py: Python<'_>, scheduler: &Py<PyAny>) -> PyResult<Option<f64>> {
        let sched = scheduler.bind(py);
        let logger = sched.getattr("_logger")?;
        if self.state.load(Ordering::SeqCst) == STATE_PAUSED {
            if enabled(&logger, DEBUG) {
                logger.call_method1("debug", ("Scheduler is paused -- not processing jobs",))?;
            }
            return Ok(None);
        }
        if enabled(&logger, DEBUG) {
            logger.call_method1("debug", ("Looking for jobs to run",))?;
        }
        let lock = sched.getattr("_jobstores_lock")?;
        let stores = self.stores.read().clone();
        let executors = self.executors.read().clone();
        let mut host = PassHost {
            listeners: &self.listeners,
            logger: &logger.clone().unbind(),
            executors: &executors,
            mask: self.listener_mask.load(Ordering::Relaxed),
            info_enabled: enabled(&logger, INFO),
            queued: Vec::new(),
            submit_error: None,
        };
        let now = self.now();
        let retry = self.retry_interval_us.load(Ordering::Relaxed);
        lock.call_method0("acquire")?;
        let next_wakeup = py.detach(|| {
            let refs: Vec<EngineStoreRef<'_>> =
                stores.iter().map(|(alias, handle)| EngineStoreRef { alias, handle }).collect();
            let dyn_refs: Vec<&dyn EngineStore<JobRef>> = refs.iter().map(|r| r as &dyn EngineStore<JobRef>).collect();
            process_jobs(&dyn_refs, &mut host, &now, retry)
        });
        lock.call_method0("release")?;

        for (code, job, store, run_times) in std::mem::take(&mut host.queued) {
            let times = run_times.iter().map(|t| zoned_to_datetime(py, t, None)).collect::<PyResult<Vec<_>>>()?;
            let event = JOB_SUBMISSION_EVENT.get(py)?.call1((code, &*job.id(), &*store, times))?;
            self.listeners.dispatch(py, &event, code);
        }

        if self.state.load(Ordering::SeqCst) == STATE_PAUSED {
            if enabled(&logger, DEBUG) {
                logger.call_method1("debug", ("Scheduler is paused; waiting until resume() is called",))?;
            }
            return Ok(None);
        }
        let Some(next) = next_wakeup else {
            if enabled(&logger, DEBUG) {
                logger.call_method1("debug", ("No jobs; waiting until a job is added",))?;
            }
            return Ok(None);
        };
        let wait = wait_seconds(next, SystemClock.now_micros());
        if enabled(&logger, DEBUG) {
            let at = zoned_to_datetime(py, &ZonedTime::from_micros(next, *self.zone.read()), None)?;
            logger.call_method1("debug", (format!("Next wakeup is due at {} (in {wait:.6} seconds)", at.str()?),))?;
        }
        Ok(Some(wait))
    }
}

#[pymethods]
impl Engine {
    #[new]
    fn new() -> Self {
        Engine {
            listener_mask: Arc::new(AtomicU32::new(0)),
            listeners: Listeners::default(),
            wakeup: Wakeup::default(),
            state: AtomicU8::new(STATE_STOPPED),
            stop_requested: AtomicBool::new(false),
            deadline: AtomicI64::new(i64::MIN),
            retry_interval_us: AtomicI64::new(10_000_000),
            zone: RwLock::new(Zone::Utc),
            stores: RwLock::new(Arc::new(Vec::new())),
            executors: RwLock::new(Arc::new(HashMap::new())),
            waker: RwLock::new(None),
        }
    }

    #[getter]
    fn get_state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }
    #[setter]
    fn set_state(&self, state: u8) {
        self.state.store(state, Ordering::SeqCst);
    }

    /// Mirrors `scheduler._listeners`: `[(callback, mask)]` in registration order.
    fn set_listeners(&self, listeners: Vec<(Py<PyAny>, u64)>) {
        let mask = listeners.iter().fold(0u64, |m, (_, l)| m | l);
        self.listeners.set(listeners.into_iter().map(|(cb, m)| (cb, (m & 0xFFFF_FFFF) as u32)).collect());
        self.listener_mask.store((mask & 0xFFFF_FFFF) as u32, Ordering::Relaxed);
    }

    /// The logger that reports listeners that raise.
    fn set_logger(&self, logger: Py<PyAny>) {
        self.listeners.set_logger(logger);
    }

    /// Calls the matching listeners with `event`.
    fn dispatch(&self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<()> {
        let code: u64 = event.getattr(pyo3::intern!(py, "code"))?.extract()?;
        self.listeners.dispatch(py, event, (code & 0xFFFF_FFFF) as u32);
        Ok(())
    }

    fn set_retry_interval(&self, seconds: f64) {
        self.retry_interval_us.store((seconds * 1e6) as i64, Ordering::Relaxed);
    }

    /// The zone of the pass's `now`; zones the core cannot model fall back to UTC (only the
    /// zone `now` is expressed in changes, never the instant).
    fn set_timezone(&self, tz: &Bound<'_, PyAny>) {
        *self.zone.write() = zone_from_tzinfo(tz).unwrap_or(Zone::Utc);
    }

    /// `[(alias, store, native_or_None)]` in the scheduler's store order; `native` is the
    /// store's `_native` object when the engine may bypass the store's Python methods.
    fn set_stores(&self, stores: Vec<(String, Py<PyAny>, Option<Bound<'_, PyAny>>)>) {
        let entries = stores
            .into_iter()
            .map(|(alias, store, native)| {
                let handle = match native.as_ref().and_then(native_store) {
                    Some(engine) => StoreHandle::Native(engine),
                    None => StoreHandle::Python(store),
                };
                (Arc::from(alias), handle)
            })
            .collect();
        *self.stores.write() = Arc::new(entries);
    }

    /// `[(alias, executor, native_or_None)]`: `native` is a `ThreadPool` or a `CoroutineRunner`
    /// the pass may submit to directly.
    fn set_executors(&self, executors: Vec<(String, Py<PyAny>, Option<Bound<'_, PyAny>>)>) {
        let entries = executors
            .into_iter()
            .map(|(alias, executor, native)| {
                let handle = match native {
                    Some(n) if n.is_instance_of::<ThreadPool>() => match n.cast_into::<ThreadPool>() {
                        Ok(pool) => ExecutorHandle::Native(pool.unbind()),
                        Err(_) => ExecutorHandle::Python(executor),
                    },
                    Some(n) if n.is_instance_of::<CoroutineRunner>() => match n.cast_into::<CoroutineRunner>() {
                        Ok(runner) => ExecutorHandle::Coroutine(runner.unbind()),
                        Err(_) => ExecutorHandle::Python(executor),
                    },
                    _ => ExecutorHandle::Python(executor),
                };
                (Arc::from(alias), handle)
            })
            .collect();
        *self.executors.write() = Arc::new(entries);
    }

    /// One processing pass, for schedulers that drive passes from their event loop
    /// (asyncio, tornado, twisted, Qt). Returns seconds until the next pass, or `None`.
    /// While it runs, every job addition asks for another pass; afterwards only additions due
    /// before the returned wait do.
    fn process_pass(&self, py: Python<'_>, scheduler: Py<PyAny>) -> PyResult<Option<f64>> {
        self.deadline.store(i64::MAX, Ordering::SeqCst);
        let wait = self.process(py, &scheduler)?;
        let deadline = wait.map_or(i64::MAX, |w| SystemClock.now_micros().saturating_add((w * 1e6) as i64));
        self.deadline.store(deadline, Ordering::SeqCst);
        Ok(wait)
    }

    /// The callable an event-loop scheduler wants called (from any thread) when a pass is
    /// needed; `None` removes it.
    #[pyo3(signature = (waker=None))]
    fn set_waker(&self, waker: Option<Py<PyAny>>) {
        *self.waker.write() = waker;
    }

    /// Ask for a processing pass as soon as possible.
    fn wakeup(&self) {
        self.wakeup.notify();
    }

    /// Wake the loop only if a job now runs before the loop would wake by itself.
    fn wakeup_for(&self, run_at: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let at = match run_at {
            Some(t) if !t.is_none() => crate::py::time::zoned_from_datetime(t)?.micros(),
            _ => return Ok(()),
        };
        self.wake_if_before(at);
        Ok(())
    }

    /// Arms the loop for a new start (a `stop()` from an earlier run is forgotten).
    fn prepare(&self) {
        self.stop_requested.store(false, Ordering::SeqCst);
    }

    /// Makes `run_loop` return after its current pass.
    fn stop(&self) {
        self.stop_requested.store(true, Ordering::SeqCst);
        self.wakeup.notify();
    }

    /// The main loop: returns when `stop()` is called. On the main thread it also returns (with
    /// the exception) when a signal handler raises, e.g. `KeyboardInterrupt` on Ctrl+C.
    #[pyo3(signature = (scheduler, main_thread=false))]
    fn run_loop(&self, py: Python<'_>, scheduler: Py<PyAny>, main_thread: bool) -> PyResult<()> {
        let mut wait: Option<f64> = Some(9_223_372_036.0);
        loop {
            if self.stop_requested.load(Ordering::SeqCst) || self.state.load(Ordering::SeqCst) == STATE_STOPPED {
                return Ok(());
            }
            let now = SystemClock.now_micros();
            let deadline = wait.map(|w| now.saturating_add((w * 1e6) as i64));
            self.deadline.store(deadline.unwrap_or(i64::MAX), Ordering::SeqCst);
            loop {
                let remaining = deadline.map(|d| Duration::from_micros((d - SystemClock.now_micros()).max(0) as u64));
                let slice = match (main_thread, remaining) {
                    (true, Some(r)) => Some(r.min(SIGNAL_POLL)),
                    (true, None) => Some(SIGNAL_POLL),
                    (false, r) => r,
                };
                let woken = py.detach(|| self.wakeup.wait(slice));
                if main_thread {
                    py.check_signals()?;
                    if let Some(interrupt) = take_interrupt() {
                        return Err(interrupt);
                    }
                }
                let due = deadline.is_some_and(|d| SystemClock.now_micros() >= d);
                if woken || due || self.stop_requested.load(Ordering::SeqCst) {
                    break;
                }
            }
            // While a pass runs, every addition wakes the loop again: the pass may already
            // have read its store's next run time.
            self.deadline.store(i64::MAX, Ordering::SeqCst);
            if self.stop_requested.load(Ordering::SeqCst) {
                return Ok(());
            }
            wait = match self.process(py, &scheduler) {
                Ok(w) => w,
                // Ctrl+C / sys.exit() end the loop; they may have surfaced inside a log call.
                Err(e) if !e.is_instance_of::<pyo3::exceptions::PyException>(py) => return Err(e),
                Err(e) => {
                    // Any other failure must not kill the loop: report it and retry shortly.
                    e.print(py);
                    Some(1.0)
                }
            };
            if let Some(interrupt) = take_interrupt() {
                return Err(interrupt);
            }
        }
    }
}
