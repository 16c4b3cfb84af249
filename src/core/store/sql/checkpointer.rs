//! Copies a SQLite file's write-ahead log into the database on a thread of its own.
//!
//! SQLite checkpoints inside the commit that takes the WAL past `wal_autocheckpoint` pages
//! (1,000 by default): that commit copies the logged pages into the database file and syncs
//! both files before it returns, and the commits after it overwrite the log's first pages,
//! which the kernel may still be writing out. With one commit per `add_job` that is a large
//! part of an add (a bare insert-and-commit loop ran 1.6–2.8× faster with no checkpoints at
//! all, measured on this project's VM). So the store's connections raise the automatic
//! checkpoint to [`BACKSTOP_PAGES`] and one thread per file and process checkpoints every
//! [`PERIOD`] while the store is used, in PASSIVE mode: it never blocks a writer or a reader.
//!
//! A WAL starts over from its beginning only after a checkpoint that caught up with it, which
//! a passive checkpoint under a steady stream of commits never quite does. The backstop lets
//! the committing connection catch up once per [`BACKSTOP_PAGES`] (cheaply: this thread has
//! copied most pages already), so the log file stays under ~40 MB. Measured on `store_add`
//! (10,000 adds, one commit each, alternating runs): 5,050 → 6,200–6,900 adds/s.

use parking_lot::{Condvar, Mutex};
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the thread checkpoints while commits happen.
const PERIOD: Duration = Duration::from_millis(100);
/// `wal_autocheckpoint` of the store's connections: the committing connection checkpoints
/// only when the log has grown this long (~40 MB of 4 KB pages).
pub const BACKSTOP_PAGES: u32 = 10_000;
/// `journal_size_limit` of the store's connections: when the log starts over, a file longer
/// than the backstop's worth of pages is cut back to it. Not less: cutting the file back to
/// SQLite's usual ~4 MB made the next burst of commits grow it again, 10 % slower (measured).
pub const LOG_SIZE_LIMIT: i64 = BACKSTOP_PAGES as i64 * 4096;

/// One per database file and process, shared by the connections that use the file.
static RUNNING: LazyLock<Mutex<HashMap<String, Weak<Checkpointer>>>> = LazyLock::new(Default::default);

pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// The process whose thread it is: a child made by `fork` inherits the handle, not the
    /// thread, so it starts its own and never joins the parent's. (Not tested: a test that
    /// forks the multi-threaded test process crashed or hung in the child now and then, in
    /// malloc, as forking a threaded process may.)
    pid: u32,
}

struct Shared {
    path: String,
    /// The file was used since the last checkpoint.
    used: AtomicBool,
    stopping: Mutex<bool>,
    wake: Condvar,
}

impl Checkpointer {
    /// The file's checkpointer, started if this process has none running for it. It stops when
    /// the last handle is dropped. `None` if no thread can be started (SQLite's own automatic
    /// checkpoint then still runs, at the backstop).
    pub fn for_file(path: &str) -> Option<Arc<Checkpointer>> {
        let mut running = RUNNING.lock();
        if let Some(existing) = running.get(path).and_then(Weak::upgrade)
            && existing.pid == std::process::id()
        {
            return Some(existing);
        }
        let shared = Arc::new(Shared {
            path: path.to_owned(),
            used: AtomicBool::new(false),
            stopping: Mutex::new(false),
            wake: Condvar::new(),
        });
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("apscheduler-wal".into())
            .spawn(move || checkpoint_loop(&for_thread))
            .ok()?;
        let checkpointer = Arc::new(Checkpointer { shared, thread: Some(thread), pid: std::process::id() });
        running.retain(|_, c| c.strong_count() > 0);
        running.insert(path.to_owned(), Arc::downgrade(&checkpointer));
        Some(checkpointer)
    }

    /// Notes that the file was written (or read): the next period checkpoints it.
    pub fn note_use(&self) {
        self.shared.used.store(true, Ordering::Relaxed);
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        *self.shared.stopping.lock() = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            if self.pid == std::process::id() {
                let _ = thread.join();
            } else {
                std::mem::forget(thread); // a forked child: the thread never existed here
            }
        }
    }
}

fn checkpoint_loop(shared: &Shared) {
    let mut conn: Option<Connection> = None;
    loop {
        {
            let mut stopping = shared.stopping.lock();
            if !*stopping {
                shared.wake.wait_for(&mut stopping, PERIOD);
            }
            if *stopping {
                return;
            }
        }
        if !shared.used.swap(false, Ordering::Relaxed) {
            continue;
        }
        if conn.is_none() {
            conn = open(&shared.path).ok();
        }
        // A failure (the file went away, another checkpoint holds the lock) is left to the
        // next period, on a fresh connection; commits go on meanwhile.
        if let Some(c) = &conn
            && c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).is_err()
        {
            conn = None;
        }
    }
}

fn open(path: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_millis(100))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("aps-rs-checkpoint-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn one_checkpointer_per_file_and_it_stops_with_its_last_handle() {
        let dir = tempdir("one");
        let (a, b) = (dir.join("a.sqlite"), dir.join("b.sqlite"));
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        let first = Checkpointer::for_file(a).unwrap();
        let again = Checkpointer::for_file(a).unwrap();
        let other = Checkpointer::for_file(b).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert!(!Arc::ptr_eq(&first, &other));
        let state = Arc::downgrade(&first.shared);
        drop((first, again));
        assert!(state.upgrade().is_none(), "the thread ended and let go of its state");
        let fresh = Checkpointer::for_file(a).unwrap();
        assert!(!Arc::ptr_eq(&fresh, &other));
        drop((fresh, other));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn logged_pages_reach_the_database_file_without_the_writer_checkpointing() {
        let dir = tempdir("copy");
        let path = dir.join("jobs.sqlite");
        let path = path.to_str().unwrap();
        let writer = Connection::open(path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute("CREATE TABLE t (x BLOB)", []).unwrap();
        let checkpointer = Checkpointer::for_file(path).unwrap();
        let db_len = || std::fs::metadata(path).unwrap().len();
        let before = db_len();
        for _ in 0..50 {
            writer.execute("INSERT INTO t VALUES (zeroblob(4000))", []).unwrap();
        }
        assert_eq!(db_len(), before, "the writer itself copied nothing");
        checkpointer.note_use();
        let deadline = Instant::now() + Duration::from_secs(10);
        while db_len() < before + 50 * 4000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(db_len() >= before + 50 * 4000, "the thread copied the logged pages");
        drop(checkpointer);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
