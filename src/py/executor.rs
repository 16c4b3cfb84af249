//! The native thread pool behind `ThreadPoolExecutor`.
//!
//! Workers attach to the interpreter once for their whole life and wait for work with the GIL
//! released; after a job they keep running ready jobs for up to ~100 µs before releasing the GIL
//! again (measured in design/gil-dispatch.md: ~75× the throughput of attaching per job).
//!
//! Runs from a shared store pass the fence first. A fence thread passes it for as many waiting
//! runs as there are free workers, in one transaction, so workers never leave the GIL for it
//! and a run marked running in the store always has a worker ready to start it.

use crate::core::engine::{Submission, Ticket, format_timedelta};
use crate::core::store::ledger::Start;
use crate::core::time::ZonedTime;
use crate::py::errors::max_instances_reached;
use crate::py::events::*;
use crate::py::job::{Job, JobCall, JobRef, LazyHandle};
use crate::py::pyref::{Cached, FORMAT_TB};
use crate::py::time::zoned_to_datetime;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const GIL_HOLD_BUDGET: Duration = Duration::from_micros(100);
static POOL_COUNTER: AtomicUsize = AtomicUsize::new(0);
static CURRENT_THREAD: Cached = Cached::new("threading", "current_thread");
static CLEAR_FRAMES: Cached = Cached::new("traceback", "clear_frames");
static FORGET_THREAD: Cached = Cached::new("apscheduler_rs.executors.pool", "_forget_this_thread");

struct Work {
    job: JobRef,
    store: Arc<str>,
    run_times: Vec<ZonedTime>,
    /// The submission's record in a shared store (its fence is passed before a worker gets it).
    ticket: Option<Ticket>,
    /// Why the fence refused the run: the worker logs it instead of running the job.
    refused: Option<String>,
}

/// What a started pool reports to: its scheduler's events, and its logger.
struct PoolContext {
    events: EventSink,
    logger: Py<PyAny>,
}

/// The logger's levels, read once per batch of runs rather than per log call.
struct LogLevels {
    info: bool,
    warning: bool,
    error: bool,
}

impl LogLevels {
    fn of(logger: &Bound<'_, PyAny>) -> Self {
        LogLevels { info: enabled(logger, INFO), warning: enabled(logger, WARNING), error: enabled(logger, ERROR) }
    }
}

#[derive(Default)]
struct Shared {
    max_workers: usize,
    name_prefix: Option<String>,
    /// The worker threads, started as work needs them (as `concurrent.futures` does).
    workers: Mutex<Workers>,
    /// Running submissions per job id (a batch of run times counts once, as in APScheduler).
    instances: Mutex<HashMap<Arc<str>, i64>>,
    context: RwLock<Option<Arc<PoolContext>>>,
    gate: Mutex<Gate>,
    /// Wakes the fence thread: runs arrived, a worker came free, or the pool stops.
    gate_changed: Condvar,
}

#[derive(Default)]
struct Workers {
    /// The queue new workers take work from; `None` while the pool is shut down.
    queue: Option<Receiver<Work>>,
    /// Names the threads `ThreadPoolExecutor-{pool}_{n}` without a prefix.
    pool_no: usize,
    handles: Vec<JoinHandle<()>>,
}

/// Starts workers until there are `wanted` (at most `max_workers`): one for every run handed
/// out and not finished, so a run never waits for a thread while the pool has room.
fn ensure_workers(shared: &Arc<Shared>, wanted: usize) {
    let mut workers = shared.workers.lock();
    let Some(queue) = workers.queue.clone() else { return };
    while workers.handles.len() < wanted.min(shared.max_workers) {
        let n = workers.handles.len();
        let name = match &shared.name_prefix {
            Some(prefix) => format!("{prefix}_{n}"),
            None => format!("ThreadPoolExecutor-{}_{n}", workers.pool_no),
        };
        let (queue, shared) = (queue.clone(), shared.clone());
        match std::thread::Builder::new().name(name.clone()).spawn(move || worker_main(queue, shared, name)) {
            Ok(handle) => workers.handles.push(handle),
            Err(_) => break, // no thread now: the next submission tries again
        }
    }
}

/// Runs from shared stores wait here for the fence, which admits no more of them than there
/// are free workers: a run marked running in the store is started at once, never left
/// queued behind another job (if this scheduler died then, it would be reported lost
/// instead of handed over).
#[derive(Default)]
struct Gate {
    waiting: VecDeque<Work>,
    /// Work handed to the workers and not finished yet.
    busy: usize,
    stopping: bool,
    /// Counts starts: the fence thread of an earlier start leaves its queue to the new one.
    epoch: u64,
}

#[pyclass(module = "apscheduler_rs._core", frozen)]
pub struct ThreadPool {
    max_workers: usize,
    shared: Arc<Shared>,
    sender: Mutex<Option<Sender<Work>>>,
    fence: Mutex<Option<JoinHandle<()>>>,
}

impl ThreadPool {
    /// Hands run times to the workers, enforcing `max_instances`.
    pub fn submit(
        &self,
        job: &JobRef,
        store: &Arc<str>,
        run_times: &[ZonedTime],
        ticket: Option<Ticket>,
    ) -> Submission {
        let (id, max_instances) = {
            let f = job.fields.lock();
            (job.id().unwrap_or_else(|| Arc::from("")), f.max_instances().unwrap_or(1))
        };
        {
            let mut instances = self.shared.instances.lock();
            let running = instances.entry(id.clone()).or_insert(0);
            if *running >= max_instances {
                return Submission::MaxInstancesReached;
            }
            *running += 1;
        }
        let work =
            Work { job: job.clone(), store: store.clone(), run_times: run_times.to_vec(), ticket, refused: None };
        let sent = match &*self.sender.lock() {
            Some(_) if work.ticket.is_some() => {
                self.shared.gate.lock().waiting.push_back(work);
                self.shared.gate_changed.notify_one();
                true
            }
            Some(tx) => {
                let busy = {
                    let mut gate = self.shared.gate.lock();
                    gate.busy += 1;
                    gate.busy
                };
                ensure_workers(&self.shared, busy);
                tx.send(work).is_ok() || {
                    release_worker(&self.shared);
                    false
                }
            }
            None => false,
        };
        if sent {
            Submission::Accepted
        } else {
            finish(&self.shared, &id);
            Submission::Failed("cannot schedule new futures after shutdown".into())
        }
    }

    /// Opens the work queue and starts the fence thread; workers start as work arrives.
    fn open(&self) {
        let (tx, rx) = crossbeam_channel::unbounded::<Work>();
        {
            let mut workers = self.shared.workers.lock();
            workers.queue = Some(rx);
            workers.pool_no = POOL_COUNTER.fetch_add(1, Ordering::Relaxed);
        }
        let epoch = {
            let mut gate = self.shared.gate.lock();
            gate.stopping = false;
            gate.epoch += 1;
            gate.epoch
        };
        let (fenced, shared, max_workers) = (tx.clone(), self.shared.clone(), self.max_workers);
        *self.fence.lock() = std::thread::Builder::new()
            .name("apscheduler-fence".into())
            .spawn(move || fence_main(fenced, shared, max_workers, epoch))
            .ok();
        *self.sender.lock() = Some(tx);
    }
}

fn finish(shared: &Shared, id: &Arc<str>) {
    let mut instances = shared.instances.lock();
    if let Some(n) = instances.get_mut(id) {
        *n -= 1;
        if *n <= 0 {
            instances.remove(id);
        }
    }
}

/// A worker is free again: runs waiting for the fence may go.
fn release_worker(shared: &Shared) {
    let mut gate = shared.gate.lock();
    gate.busy = gate.busy.saturating_sub(1);
    if !gate.waiting.is_empty() {
        shared.gate_changed.notify_one();
    }
}

/// The pool's fence thread: passes the fence for as many waiting runs as there are free
/// workers, in one transaction per store, and hands them to the workers.
fn fence_main(workers: Sender<Work>, shared: Arc<Shared>, max_workers: usize, epoch: u64) {
    loop {
        let (batch, busy): (Vec<Work>, usize) = {
            let mut gate = shared.gate.lock();
            loop {
                if gate.epoch != epoch || (gate.stopping && gate.waiting.is_empty()) {
                    return;
                }
                let free = max_workers.saturating_sub(gate.busy);
                if free > 0 && !gate.waiting.is_empty() {
                    let n = free.min(gate.waiting.len());
                    gate.busy += n;
                    break (gate.waiting.drain(..n).collect(), gate.busy);
                }
                shared.gate_changed.wait(&mut gate);
            }
        };
        ensure_workers(&shared, busy);
        for mut work in pass_fence(batch) {
            if let Err(unsent) = workers.send(work) {
                work = unsent.into_inner();
                release_worker(&shared);
                finish(&shared, &work.job.id().unwrap_or_else(|| Arc::from("")));
            }
        }
    }
}

/// Passes the fence for runs of one or several shared stores, noting each refusal's reason.
fn pass_fence(mut batch: Vec<Work>) -> Vec<Work> {
    let mut done = vec![false; batch.len()];
    for first in 0..batch.len() {
        let Some(ledger) = batch[first].ticket.as_ref().map(|t| t.ledger.clone()) else { continue };
        if done[first] {
            continue;
        }
        let members: Vec<usize> = (first..batch.len())
            .filter(|&i| !done[i] && batch[i].ticket.as_ref().is_some_and(|t| Arc::ptr_eq(&t.ledger, &ledger)))
            .collect();
        let keys = members.iter().filter_map(|&i| batch[i].ticket.as_ref().map(|t| t.key.clone())).collect();
        for (&i, outcome) in members.iter().zip(ledger.start_all(keys)) {
            done[i] = true;
            batch[i].refused = match outcome {
                Start::Go => None,
                Start::TakenOver => Some("another scheduler took it over (this one had been taken for dead)".into()),
                Start::Unreachable(e) => Some(format!("the job store cannot be reached: {e}")),
            };
        }
    }
    batch
}

fn worker_main(rx: Receiver<Work>, shared: Arc<Shared>, name: String) {
    Python::attach(|py| {
        // Name the thread as Python sees it, like concurrent.futures' workers.
        if let Ok(current) = CURRENT_THREAD.get(py).and_then(|f| f.call0()) {
            let _ = current.setattr("name", &name);
        }
        while let Ok(work) = py.detach(|| rx.recv()) {
            let held = Instant::now();
            let context = shared.context.read().clone();
            let levels = context.as_ref().map(|c| LogLevels::of(c.logger.bind(py)));
            run_work(py, &shared, context.as_deref().zip(levels.as_ref()), work);
            while held.elapsed() < GIL_HOLD_BUDGET {
                match rx.try_recv() {
                    Ok(work) => run_work(py, &shared, context.as_deref().zip(levels.as_ref()), work),
                    Err(_) => break,
                }
            }
        }
        // `threading` never forgets the dummy Thread it made for this native thread.
        let _ = FORGET_THREAD.get(py).and_then(|f| f.call0());
    });
}

fn run_work(py: Python<'_>, shared: &Shared, context: Option<(&PoolContext, &LogLevels)>, work: Work) {
    let id = work.job.id().unwrap_or_else(|| Arc::from(""));
    if let Some((context, levels)) = context
        && passed_fence(py, context, &work)
        && let Err(e) = run_job(py, context, levels, &work)
    {
        // Failure of the machinery itself, not of the job: logged, no event (as upstream).
        let logger = context.logger.bind(py);
        let _ = logger.call_method(
            "error",
            ("Error running job %s", &*id),
            Some(&[("exc_info", e.into_value(py))].into_py_dict(py).unwrap_or_else(|_| PyDict::new(py))),
        );
    }
    if let Some(ticket) = work.ticket {
        ticket.ledger.finish(ticket.key);
    }
    finish(shared, &id);
    release_worker(shared);
}

/// Whether the run may start: always, unless it came from a shared store and the fence
/// refused it (another scheduler took it over meanwhile, or the store cannot be reached).
fn passed_fence(py: Python<'_>, ctx: &PoolContext, work: &Work) -> bool {
    let Some(reason) = &work.refused else { return true };
    let _ = Job::handle(py, &work.job)
        .and_then(|job| ctx.logger.bind(py).call_method1("warning", ("Run of job \"%s\" skipped: %s", job, reason)));
    false
}

use pyo3::types::IntoPyDict;

thread_local! {
    /// The job id and scheduled run time of the run this worker thread is executing.
    static CURRENT_RUN: std::cell::RefCell<Option<(Arc<str>, ZonedTime)>> = const { std::cell::RefCell::new(None) };
}

/// `(job_id, scheduled_run_time)` of the run executing in the calling thread (a thread-pool
/// worker), or `None`: lets a job know which of its scheduled runs it is.
#[pyfunction]
pub fn current_run(py: Python<'_>) -> PyResult<Option<(String, Bound<'_, PyAny>)>> {
    let Some((id, at)) = CURRENT_RUN.with(|c| c.borrow().clone()) else { return Ok(None) };
    Ok(Some((id.to_string(), zoned_to_datetime(py, &at, None)?.into_any())))
}

/// APScheduler's `run_job`: misfire check, call, events and logs for each run time.
fn run_job<'py>(py: Python<'py>, ctx: &PoolContext, levels: &LogLevels, work: &Work) -> PyResult<()> {
    let handle = LazyHandle::new(py, &work.job);
    let call = JobCall::read(py, &work.job);
    let grace = call.grace;
    let (func, args, kwargs) = call.bind(py)?;
    let logger = ctx.logger.bind(py);
    let mask = ctx.events.mask();
    let mut events: Vec<(u32, Bound<'py, PyAny>)> = Vec::new();
    let store = &*work.store;
    let id = work.job.id().unwrap_or_else(|| Arc::from(""));
    for run_time in &work.run_times {
        if let Some(grace) = grace {
            let late = crate::core::clock::Clock::now_micros(&crate::core::clock::SystemClock) - run_time.micros();
            if late > grace.saturating_mul(1_000_000) {
                if mask & EVENT_JOB_MISSED != 0 {
                    let rt = zoned_to_datetime(py, run_time, None)?.into_any();
                    let event = execution_event(py, EVENT_JOB_MISSED, &id, store, &rt, None, None, None)?;
                    events.push((EVENT_JOB_MISSED, event));
                }
                if levels.warning {
                    let text = format_timedelta(late);
                    logger.call_method1("warning", ("Run time of job \"%s\" was missed by %s", handle.get()?, text))?;
                }
                continue;
            }
        }
        let wants_time = levels.info || mask & (EVENT_JOB_EXECUTED | EVENT_JOB_ERROR) != 0;
        let rt = if wants_time { Some(zoned_to_datetime(py, run_time, None)?.into_any()) } else { None };
        if let Some(rt) = &rt
            && levels.info
        {
            logger.call_method1("info", ("Running job \"%s\" (scheduled at %s)", handle.get()?, rt))?;
        }
        CURRENT_RUN.with(|c| *c.borrow_mut() = Some((id.clone(), *run_time)));
        let outcome = func.call(&args, Some(&kwargs));
        CURRENT_RUN.with(|c| *c.borrow_mut() = None);
        match outcome {
            Ok(retval) => {
                if let (true, Some(rt)) = (mask & EVENT_JOB_EXECUTED != 0, &rt) {
                    let event = execution_event(py, EVENT_JOB_EXECUTED, &id, store, rt, Some(retval), None, None)?;
                    events.push((EVENT_JOB_EXECUTED, event));
                }
                if levels.info {
                    logger.call_method1("info", ("Job \"%s\" executed successfully", handle.get()?))?;
                }
            }
            Err(err) => {
                let exc = err.value(py).clone().into_any();
                let tb = err.traceback(py);
                // As in Python's `except`: the exception carries its traceback (event.exception
                // goes to `traceback.print_exception`, error trackers, `exc_info=`).
                if let Some(tb) = &tb {
                    let _ = exc.setattr("__traceback__", tb);
                }
                if let (true, Some(rt)) = (mask & EVENT_JOB_ERROR != 0, &rt) {
                    let text = match &tb {
                        Some(tb) => pyo3::types::PyString::new(py, "")
                            .call_method1("join", (FORMAT_TB.get(py)?.call1((tb,))?,))?,
                        None => pyo3::types::PyString::new(py, "").into_any(),
                    };
                    let event =
                        execution_event(py, EVENT_JOB_ERROR, &id, store, rt, None, Some(exc.clone()), Some(text))?;
                    events.push((EVENT_JOB_ERROR, event));
                }
                if levels.error {
                    let exc_info = PyTuple::new(
                        py,
                        [
                            exc.get_type().into_any(),
                            exc.clone(),
                            tb.clone().map_or_else(|| py.None().into_bound(py), |t| t.into_any()),
                        ],
                    )?;
                    let kw = [("exc_info", exc_info)].into_py_dict(py)?;
                    logger.call_method("error", ("Job \"%s\" raised an exception", handle.get()?), Some(&kw))?;
                }
                if let Some(tb) = tb {
                    let _ = CLEAR_FRAMES.get(py).and_then(|f| f.call1((tb,)));
                }
            }
        }
    }
    for (code, event) in events {
        ctx.events.dispatch(py, &event, code)?;
    }
    Ok(())
}

#[pymethods]
impl ThreadPool {
    #[new]
    #[pyo3(signature = (max_workers, thread_name_prefix=None))]
    fn new(max_workers: usize, thread_name_prefix: Option<String>) -> Self {
        let name_prefix = thread_name_prefix.filter(|p| !p.is_empty());
        ThreadPool {
            max_workers,
            shared: Arc::new(Shared { max_workers, name_prefix, ..Shared::default() }),
            sender: Mutex::new(None),
            fence: Mutex::new(None),
        }
    }

    /// Binds the pool to a scheduler and starts its workers (again, after a shutdown).
    fn start(&self, scheduler: Bound<'_, PyAny>, logger: Bound<'_, PyAny>) -> PyResult<()> {
        *self.shared.context.write() =
            Some(Arc::new(PoolContext { events: EventSink::of(scheduler), logger: logger.unbind() }));
        if self.sender.lock().is_none() {
            self.open();
        }
        Ok(())
    }

    /// Called by the Python face: raises `MaxInstancesReachedError` like `BaseExecutor`.
    fn submit_job(&self, py: Python<'_>, job: Bound<'_, Job>, run_times: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let store: Arc<str> = match job.get().fields.lock().jobstore_alias() {
            Some(a) => Arc::from(a.bind(py).str()?.to_string()),
            None => Arc::from("None"),
        };
        let times = run_times.iter().map(crate::py::time::zoned_from_datetime).collect::<PyResult<Vec<_>>>()?;
        let job_ref: JobRef = job.get().rec.clone();
        match self.submit(&job_ref, &store, &times, None) {
            Submission::Accepted => Ok(()),
            Submission::MaxInstancesReached => Err(max_instances_reached(py, job.into_any())),
            Submission::Failed(msg) => Err(pyo3::exceptions::PyRuntimeError::new_err(msg)),
        }
    }

    /// Stops accepting work; with `wait`, joins the workers (running jobs finish first).
    #[pyo3(signature = (wait=true))]
    fn shutdown(&self, py: Python<'_>, wait: bool) {
        self.sender.lock().take();
        // The fence thread hands on what waits for it, then leaves (closing the queue).
        self.shared.gate.lock().stopping = true;
        self.shared.gate_changed.notify_all();
        let workers: Vec<JoinHandle<()>> = {
            let mut workers = self.shared.workers.lock();
            workers.queue = None;
            std::mem::take(&mut workers.handles).into_iter().chain(self.fence.lock().take()).collect()
        };
        if wait {
            let current = std::thread::current().id();
            py.detach(|| {
                for w in workers {
                    if w.thread().id() != current {
                        let _ = w.join();
                    }
                }
            });
        }
    }

    #[getter]
    fn max_workers(&self) -> usize {
        self.max_workers
    }

    /// Running submissions per job id.
    fn instances(&self) -> HashMap<String, i64> {
        self.shared.instances.lock().iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }
}
