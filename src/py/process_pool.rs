//! The native process pool behind `ProcessPoolExecutor`.
//!
//! `max_workers` manager threads each own at most one worker process
//! ([`crate::core::executor::process::WorkerProcess`]), so the number of live workers can
//! never exceed `max_workers`. A manager takes the next task from the shared queue, starts its
//! worker if it has none (lazily: an idle pool has no processes), sends the pickled task and
//! waits for the pickled answer with the GIL released. When the worker dies instead of
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The worker's entry point; `argv` carries the two pipe fds.
const WORKER_MAIN: &str = "import sys; from apscheduler_rs._procworker import main; main(int(sys.argv[1]), int(sys.argv[2]))";

enum Task {
    Run { payload: Vec<u8>, callback: Py<PyAny> },
    Refused { error: Py<PyAny>, callback: Py<PyAny> },
}

#[derive(Default)]
struct Stats {
    /// The pid of each slot's current worker (0: none).
    pids: Mutex<Vec<u32>>,
    spawned: AtomicU64,
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

/// A manager never touches Python: it moves bytes between the queue, its worker and the
/// reporter, so a busy GIL never leaves a worker idle.
fn manager_main(
    slot: usize,
    rx: Receiver<Task>,
    done: Sender<(Py<PyAny>, Outcome)>,
    spec: WorkerSpec,
    max_tasks: Option<u64>,
    stats: Arc<Stats>,
) {
    let mut worker: Option<WorkerProcess> = None;
    let set_pid = |pid: u32| {
        if let Some(p) = stats.pids.lock().get_mut(slot) {
            *p = pid;
        }
    };
    while let Ok(task) = rx.recv() {
        let (callback, outcome) = match task {
            Task::Refused { error, callback } => (callback, Outcome::Refused(error)),
            Task::Run { payload, callback } => {
                let outcome = match run_task(&mut worker, &spec, &payload, &stats) {
                    Ok(frame) => Outcome::Answer(frame),
                    Err(lost) => Outcome::Lost(lost.to_string()),
                };
                if let (Some(w), Some(max)) = (&worker, max_tasks) {
                    if w.completed >= max {
                        if let Some(w) = worker.take() {
                            w.stop();
                        }
                    }
                }
                set_pid(worker.as_ref().map_or(0, WorkerProcess::pid));
                (callback, outcome)
            }
        };
        if done.send((callback, outcome)).is_err() {
            break;
        }
    }
    if let Some(w) = worker.take() {
        w.stop();
    }
    set_pid(0);
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

/// Runs one task on the slot's worker, starting one if needed. A worker that died while idle
/// (killed from outside) is replaced before the task is sent; a death during the task is
/// that task's failure.
fn run_task(
    worker: &mut Option<WorkerProcess>,
    spec: &WorkerSpec,
    payload: &[u8],
    stats: &Stats,
) -> Result<Vec<u8>, WorkerLost> {
    let mut current = match worker.take().and_then(|mut w| w.is_alive().then_some(w)) {
        Some(w) => w,
        None => {
            stats.spawned.fetch_add(1, Ordering::Relaxed);
            WorkerProcess::spawn(spec)?
        }
    };
    let frame = current.run(payload)?;
    *worker = Some(current);
    Ok(frame)
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
        let thread_error = |e: std::io::Error| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot start pool thread: {e}"));
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
