//! One worker process of the process pool, and the frames it is spoken to in.
//!
//! A worker is a fresh interpreter (spawn semantics) started with two pipes besides the
//! standard streams: it reads tasks from fd 3 and writes results to fd 4, so whatever a job
//! prints still reaches the parent's stdout/stderr untouched. Every message is one frame: a
//! little-endian `u32` byte count, then the bytes. The first frame after spawning carries the
//! worker's set-up (no reply); then each task frame gets exactly one result frame back.
//!
//! A worker that dies shows up as end-of-file on its result pipe; [`WorkerProcess::run`] then
//! reaps it and says how it ended. The pool replaces it: nothing here restarts anything.

use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};

/// The fds the worker finds its pipes on.
pub const TASK_FD: RawFd = 3;
pub const RESULT_FD: RawFd = 4;
/// Frames larger than this are refused (a corrupt length must not allocate gigabytes).
pub const MAX_FRAME: usize = 1 << 30;

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&n| n as usize <= MAX_FRAME)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

/// Reads one frame; `Ok(None)` on a clean end of file before the frame started.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too large"));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some(payload))
}

/// How a worker's run of one task ended when no result came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerLost {
    /// The worker could not be started at all.
    Spawn(String),
    /// The worker ended (exit code or signal, as text) before answering.
    Died(String),
}

impl std::fmt::Display for WorkerLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkerLost::Spawn(e) => write!(f, "could not start a worker process: {e}"),
            WorkerLost::Died(how) => {
                write!(f, "A process in the process pool was terminated abruptly while the job was running ({how})")
            }
        }
    }
}

fn describe(status: io::Result<ExitStatus>) -> String {
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            _ => s.to_string(),
        },
        Err(e) => format!("exit status unknown: {e}"),
    }
}

/// What to start: the interpreter and its arguments, and the set-up frame.
#[derive(Clone, Debug)]
pub struct WorkerSpec {
    pub program: String,
    pub args: Vec<String>,
    /// Sent as the first frame (no reply expected); `None` sends nothing.
    pub setup: Option<Vec<u8>>,
}

/// Moves `fd` to `target` in the child between fork and exec (no allocation, no locks).
fn place_fd(fd: RawFd, target: RawFd) -> io::Result<()> {
    // SAFETY: plain fd syscalls on descriptors this process owns, in the forked child.
    unsafe {
        if fd == target {
            // dup2 onto itself would keep FD_CLOEXEC set: clear it instead.
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
        } else if libc::dup2(fd, target) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A live worker process.
pub struct WorkerProcess {
    child: Child,
    tasks: Option<PipeWriter>,
    results: PipeReader,
    /// Tasks answered so far.
    pub completed: u64,
    /// Tasks sent so far (for `max_tasks_per_child`).
    pub sent: u64,
}

impl WorkerProcess {
    pub fn spawn(spec: &WorkerSpec) -> Result<WorkerProcess, WorkerLost> {
        let lost = |e: io::Error| WorkerLost::Spawn(e.to_string());
        let (task_r, task_w) = io::pipe().map_err(lost)?;
        let (result_r, result_w) = io::pipe().map_err(lost)?;
        let (tr, rw) = (task_r.as_raw_fd(), result_w.as_raw_fd());
        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args).stdin(Stdio::null());
        // SAFETY: the closure only calls async-signal-safe fd syscalls.
        unsafe {
            cmd.pre_exec(move || {
                // Lift both out of the way first, so that placing one cannot clobber the other.
                let tr_hi = libc::fcntl(tr, libc::F_DUPFD_CLOEXEC, 10);
                let rw_hi = libc::fcntl(rw, libc::F_DUPFD_CLOEXEC, 10);
                if tr_hi == -1 || rw_hi == -1 {
                    return Err(io::Error::last_os_error());
                }
                place_fd(tr_hi, TASK_FD)?;
                place_fd(rw_hi, RESULT_FD)?;
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(lost)?;
        // The child holds its own copies; ours must go so that EOF is seen when it dies.
        drop(task_r);
        drop(result_w);
        let mut worker = WorkerProcess { child, tasks: Some(task_w), results: result_r, completed: 0, sent: 0 };
        if let Some(setup) = &spec.setup
            && let Err(e) = worker.send(setup)
        {
            let how = worker.reap();
            return Err(WorkerLost::Spawn(format!("{e} ({how})")));
        }
        Ok(worker)
    }

    /// Whether the process is still running (a dead one is reaped by this call).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, payload: &[u8]) -> io::Result<()> {
        match self.tasks.as_mut() {
            Some(w) => write_frame(w, payload),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Queues one task without waiting for its answer (the worker reads tasks in order). A
    /// failure means the worker is gone; [`WorkerProcess::receive`] then reports how.
    pub fn submit(&mut self, payload: &[u8]) -> bool {
        let sent = self.send(payload).is_ok();
        if sent {
            self.sent += 1;
        }
        sent
    }

    /// Waits for the answer to the oldest task not yet answered. On `Err` the process is gone
    /// (reaped).
    pub fn receive(&mut self) -> Result<Vec<u8>, WorkerLost> {
        match read_frame(&mut self.results) {
            Ok(Some(frame)) => {
                self.completed += 1;
                Ok(frame)
            }
            Ok(None) | Err(_) => {
                let _ = self.child.kill();
                Err(WorkerLost::Died(self.reap()))
            }
        }
    }

    /// Sends one task and waits for its result frame. On `Err` the process is gone (reaped).
    pub fn run(&mut self, payload: &[u8]) -> Result<Vec<u8>, WorkerLost> {
        let answer = self.send(payload).and_then(|()| read_frame(&mut self.results));
        match answer {
            Ok(Some(frame)) => {
                self.completed += 1;
                Ok(frame)
            }
            Ok(None) | Err(_) => {
                // Whatever the pipe said, the worker is no use any more: make sure it is gone.
                let _ = self.child.kill();
                Err(WorkerLost::Died(self.reap()))
            }
        }
    }

    /// Waits for the process to end; describes how it ended.
    fn reap(&mut self) -> String {
        self.tasks.take();
        describe(self.child.wait())
    }

    /// Asks the worker to exit (end of its task stream) and waits for it.
    pub fn stop(mut self) {
        self.reap();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        // Never leave a zombie or an orphan behind, even on an early return.
        if self.tasks.take().is_some() {
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, setup: Option<Vec<u8>>) -> WorkerSpec {
        WorkerSpec { program: "/bin/sh".into(), args: vec!["-c".into(), script.into()], setup }
    }

    #[test]
    fn frames_round_trip_and_clean_eof_is_none() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello").unwrap();
        write_frame(&mut buf, b"").unwrap();
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r).unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(read_frame(&mut r).unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(read_frame(&mut r).unwrap(), None);
    }

    #[test]
    fn truncated_frame_is_an_error_not_a_panic() {
        let mut r = &[5u8, 0, 0, 0, b'a'][..];
        assert!(read_frame(&mut r).is_err());
        let mut r = &[1u8, 0][..];
        assert!(read_frame(&mut r).is_err());
        let mut r = &[0xff, 0xff, 0xff, 0xff][..];
        assert!(read_frame(&mut r).is_err());
    }

    #[test]
    fn echo_worker_answers_on_fd4_what_it_reads_on_fd3() {
        // `cat` copies the task stream to the result pipe, frame bytes included.
        let mut w = WorkerProcess::spawn(&sh("exec cat <&3 >&4", None)).unwrap();
        assert_eq!(w.run(b"task-1").unwrap(), b"task-1");
        assert_eq!(w.run(b"task-2").unwrap(), b"task-2");
        assert_eq!(w.completed, 2);
        w.stop();
    }

    #[test]
    fn setup_frame_is_sent_first() {
        let mut w = WorkerProcess::spawn(&sh("exec cat <&3 >&4", Some(b"setup".to_vec()))).unwrap();
        // The echo answers the set-up frame first.
        assert_eq!(w.run(b"x").unwrap(), b"setup");
        w.stop();
    }

    #[test]
    fn pipelined_tasks_are_answered_in_order() {
        let mut w = WorkerProcess::spawn(&sh("exec cat <&3 >&4", None)).unwrap();
        assert!(w.submit(b"one") && w.submit(b"two"));
        assert_eq!(w.receive().unwrap(), b"one");
        assert_eq!(w.receive().unwrap(), b"two");
        assert_eq!((w.sent, w.completed), (2, 2));
        w.stop();
    }

    #[test]
    fn a_worker_that_exits_mid_task_is_reported_with_its_code() {
        let mut w = WorkerProcess::spawn(&sh("head -c 5 <&3 >/dev/null; exit 3", None)).unwrap();
        assert_eq!(w.run(b"x"), Err(WorkerLost::Died("exit code 3".into())));
    }

    #[test]
    fn a_worker_killed_by_a_signal_is_reported_with_the_signal() {
        let mut w = WorkerProcess::spawn(&sh("head -c 5 <&3 >/dev/null; kill -9 $$", None)).unwrap();
        assert_eq!(w.run(b"x"), Err(WorkerLost::Died("killed by signal 9".into())));
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let spec = WorkerSpec { program: "/nonexistent/python".into(), args: vec![], setup: None };
        assert!(matches!(WorkerProcess::spawn(&spec), Err(WorkerLost::Spawn(_))));
    }
}
