//! The native process pool behind `ProcessPoolExecutor`.
//!
//! `max_workers` manager threads each own at most one worker process
//! ([`crate::core::executor::process::WorkerProcess`]), so the number of live workers can
//! never exceed `max_workers`. A manager takes the next task from the shared queue, starts its
//! worker if it has none (lazily: an idle pool has no processes), sends the pickled task and
//! waits for the pickled answer. While no manager is idle, a busy one also queues the next
//! task in its worker's pipe, so the worker goes straight on to it. When the worker dies instead of
//! answering, only that task fails, and the next task starts a fresh worker. After
//! `max_tasks_per_child` answers a worker is retired the same way.
//!
//! Managers never take the GIL: a finished task goes to one reporter thread, which is attached
//! to the interpreter for life (like the thread pool's workers) and calls the task's completion
//! callback: `callback(0, result_bytes)`, `callback(1, "how the worker was lost")` or
//! `callback(2, exception)` for a task refused before it reached a worker. Callbacks that
//! raise are reported as unraisable. So a long-held GIL never leaves a worker idle.

use crate::core::executor::process::{WorkerLost, WorkerProcess, WorkerSpec};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

/// The worker's entry point; `argv` carries the two pipe fds.
const WORKER_MAIN: &str =
    "import sys; from apscheduler_rs._procworker import main; main(int(sys.argv[1]), int(sys.argv[2]))";

enum Task {
    Run { payload: Vec<u8>, callback: Py<PyAny> },
    Refused { error: Py<PyAny>, callback: Py<PyAny> },
}

#[derive(Default)]
struct Stats {
    /// The pid of each slot's current worker (0: none).
    pids: Mutex<Vec<u32>>,
    spawned: AtomicU64,
    /// Managers waiting for work: while any is, busy ones queue nothing extra.
    idle: std::sync::atomic::AtomicUsize,
}

#[pyclass(module = "apscheduler_rs._core", frozen)]
pub struct ProcessPool {
    max_workers: usize,
    max_tasks_per_child: Option<u64>,
    executable: String,
    stats: Arc<Stats>,
    sender: Mutex<Option<Sender<Task>>>,
    managers: Mutex<Vec<JoinHandle<()>>>,
}

fn report(py: Python<'_>, callback: &Py<PyAny>, result: PyResult<Bound<'_, PyAny>>) {
    if let Err(e) = result {
        e.write_unraisable(py, Some(callback.bind(py)));
    }
}

/// How a task ended, on its way to the reporter thread.
enum Outcome {
    Answer(Vec<u8>),
    Lost(String),
    Refused(Py<PyAny>),
}

/// Tasks a manager keeps queued in its worker's pipe, counting the running one: the next
/// task is already there when a job ends, so a worker never waits for its manager to wake.
const PIPELINE_DEPTH: usize = 2;

/// A manager never touches Python: it moves bytes between the queue, its worker and the
/// reporter, so a busy GIL never leaves a worker idle.
///
/// Up to [`PIPELINE_DEPTH`] tasks are in the worker's pipe at once; answers come back in
/// order. When the worker dies, the oldest unanswered task is the one it was running: only
/// that task fails, and the ones behind it (never started) go to the replacement worker.
fn manager_main(
    slot: usize,
    rx: Receiver<Task>,
    done: Sender<(Py<PyAny>, Outcome)>,
    spec: WorkerSpec,
    max_tasks: Option<u64>,
    stats: Arc<Stats>,
) {
    let mut worker: Option<WorkerProcess> = None;
    let mut inflight: VecDeque<(Vec<u8>, Py<PyAny>)> = VecDeque::new();
    let mut closed = false;
    let set_pid = |pid: u32| {
        if let Some(p) = stats.pids.lock().get_mut(slot) {
            *p = pid;
        }
    };
    loop {
        // Top up the pipe: block for work only when nothing is in flight.
        while !closed && inflight.len() < PIPELINE_DEPTH {
            let accepts = worker.as_ref().is_none_or(|w| max_tasks.is_none_or(|m| w.sent < m));
            if !accepts && !inflight.is_empty() {
                break; // this worker is retiring: let it finish what it has
            }
            let task = if inflight.is_empty() {
                stats.idle.fetch_add(1, Ordering::SeqCst);
                let got = rx.recv();
                stats.idle.fetch_sub(1, Ordering::SeqCst);
                match got {
                    Ok(t) => t,
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            } else if stats.idle.load(Ordering::SeqCst) > 0 {
                break; // an idle worker should take the next task, not this busy one
            } else {
                match rx.try_recv() {
                    Ok(t) => t,
                    Err(crossbeam_channel::TryRecvError::Empty) => break,
                    Err(crossbeam_channel::TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            };
            match task {
                Task::Refused { error, callback } => {
                    if done.send((callback, Outcome::Refused(error))).is_err() {
                        return;
                    }
                }
                Task::Run { payload, callback } => {
                    if worker.as_ref().is_some_and(|w| max_tasks.is_some_and(|m| w.sent >= m))
                        && let Some(w) = worker.take()
                    {
                        w.stop();
                    }
                    // With tasks in flight the current worker must answer them first (a death
                    // shows up in `receive`); only an empty pipe may get a new worker.
                    if inflight.is_empty()
                        && let Err(lost) = ensure_worker(&mut worker, &spec, &stats)
                    {
                        if done.send((callback, Outcome::Lost(lost.to_string()))).is_err() {
                            return;
                        }
                        continue;
                    }
                    if let Some(w) = worker.as_mut() {
                        // A failed send is seen as the worker's death by `receive` below.
                        w.submit(&payload);
                    }
                    inflight.push_back((payload, callback));
                }
            }
            set_pid(worker.as_ref().map_or(0, WorkerProcess::pid));
        }
        let Some((payload, callback)) = inflight.pop_front() else {
            if closed {
                break;
            }
            continue;
        };
        let answer = match worker.as_mut() {
            Some(w) => w.receive(),
            None => Err(WorkerLost::Died("no worker".into())),
        };
        let outcome = match answer {
            Ok(frame) => Outcome::Answer(frame),
            Err(lost) => {
                worker = None;
                // The tasks behind the failed one never started: hand them to a new worker.
                if !inflight.is_empty() {
                    match ensure_worker(&mut worker, &spec, &stats) {
                        Ok(()) => {
                            if let Some(w) = worker.as_mut() {
                                for (p, _) in &inflight {
                                    w.submit(p);
                                }
                            }
                        }
                        Err(spawn) => {
                            for (_, cb) in inflight.drain(..) {
                                if done.send((cb, Outcome::Lost(spawn.to_string()))).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                }
                Outcome::Lost(lost.to_string())
            }
        };
        drop(payload);
        if done.send((callback, outcome)).is_err() {
            break;
        }
        if inflight.is_empty()
            && worker.as_ref().is_some_and(|w| max_tasks.is_some_and(|m| w.completed >= m))
            && let Some(w) = worker.take()
        {
            w.stop();
        }
        set_pid(worker.as_ref().map_or(0, WorkerProcess::pid));
    }
    if let Some(w) = worker.take() {
        w.stop();
    }
    set_pid(0);
}

/// Makes sure the slot has a live worker: one that died while idle is replaced.
fn ensure_worker(worker: &mut Option<WorkerProcess>, spec: &WorkerSpec, stats: &Stats) -> Result<(), WorkerLost> {
    if let Some(w) = worker.as_mut()
        && w.is_alive()
    {
        return Ok(());
    }
    *worker = None;
    stats.spawned.fetch_add(1, Ordering::Relaxed);
    *worker = Some(WorkerProcess::spawn(spec)?);
    Ok(())
}

/// Calls the completion callbacks, attached to the interpreter for life (see `executor.rs`);
/// ends when every manager has ended and the queue is drained.
fn reporter_main(rx: Receiver<(Py<PyAny>, Outcome)>) {
    Python::attach(|py| {
        while let Ok((callback, outcome)) = py.detach(|| rx.recv()) {
            let result = match outcome {
                Outcome::Answer(frame) => callback.bind(py).call1((0, PyBytes::new(py, &frame))),
                Outcome::Lost(how) => callback.bind(py).call1((1, how)),
                Outcome::Refused(error) => callback.bind(py).call1((2, error)),
            };
            report(py, &callback, result);
        }
    });
}

#[pymethods]
impl ProcessPool {
    #[new]
    #[pyo3(signature = (max_workers, executable, max_tasks_per_child=None))]
    fn new(max_workers: usize, executable: String, max_tasks_per_child: Option<u64>) -> Self {
        ProcessPool {
            max_workers: max_workers.max(1),
            max_tasks_per_child: max_tasks_per_child.filter(|&n| n > 0),
            executable,
            stats: Arc::default(),
            sender: Mutex::new(None),
            managers: Mutex::new(Vec::new()),
        }
    }

    /// Starts the managers (again, after a shutdown); `setup` is the pickled set-up frame
    /// every new worker gets first.
    fn start(&self, setup: Vec<u8>) -> PyResult<()> {
        let mut sender = self.sender.lock();
        if sender.is_some() {
            return Ok(());
        }
        let (tx, rx) = crossbeam_channel::unbounded::<Task>();
        let spec = WorkerSpec {
            program: self.executable.clone(),
            args: vec!["-c".into(), WORKER_MAIN.into(), "3".into(), "4".into()],
            setup: Some(setup),
        };
        *self.stats.pids.lock() = vec![0; self.max_workers];
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        let mut managers = self.managers.lock();
        let thread_error =
            |e: std::io::Error| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start pool thread: {e}"));
        let reporter = std::thread::Builder::new()
            .name("ProcessPool-reporter".into())
            .spawn(move || reporter_main(done_rx))
            .map_err(thread_error)?;
        managers.push(reporter);
        for slot in 0..self.max_workers {
            let (rx, done, spec, stats, max) =
                (rx.clone(), done_tx.clone(), spec.clone(), self.stats.clone(), self.max_tasks_per_child);
            let spawned = std::thread::Builder::new()
                .name(format!("ProcessPool-manager-{slot}"))
                .spawn(move || manager_main(slot, rx, done, spec, max, stats))
                .map_err(thread_error)?;
            managers.push(spawned);
        }
        *sender = Some(tx);
        Ok(())
    }

    /// Queues a pickled task; `callback(status, data)` is called on a manager thread.
    fn submit(&self, payload: Vec<u8>, callback: Py<PyAny>) -> PyResult<()> {
        self.send(Task::Run { payload, callback })
    }

    /// Reports `error` through `callback(2, error)` from a manager thread, in queue order.
    fn submit_refused(&self, error: Py<PyAny>, callback: Py<PyAny>) -> PyResult<()> {
        self.send(Task::Refused { error, callback })
    }

    /// Stops accepting tasks; queued tasks still run. With `wait`, returns once every
    /// manager and worker has ended.
    #[pyo3(signature = (wait=true))]
    fn shutdown(&self, py: Python<'_>, wait: bool) {
        self.sender.lock().take();
        if wait {
            let managers: Vec<JoinHandle<()>> = std::mem::take(&mut *self.managers.lock());
            let current = std::thread::current().id();
            py.detach(|| {
                for m in managers {
                    if m.thread().id() != current {
                        let _ = m.join();
                    }
                }
            });
        }
    }

    #[getter]
    fn max_workers(&self) -> usize {
        self.max_workers
    }

    /// The pids of the live workers.
    fn worker_pids(&self) -> Vec<u32> {
        self.stats.pids.lock().iter().copied().filter(|&p| p != 0).collect()
    }

    /// How many worker processes were started so far.
    #[getter]
    fn spawned(&self) -> u64 {
        self.stats.spawned.load(Ordering::Relaxed)
    }
}

impl ProcessPool {
    fn send(&self, task: Task) -> PyResult<()> {
        match &*self.sender.lock() {
            Some(tx) if tx.send(task).is_ok() => Ok(()),
            _ => Err(pyo3::exceptions::PyRuntimeError::new_err("cannot schedule new futures after shutdown")),
        }
    }
}
