//! One scheduler node's side of a shared store: its lease and its run fence.
//!
//! [`NodeLedger`] owns a connection of its own (never the one a claim holds while it waits
//! for the GIL) and a native thread that renews the node's lease every third of its length
//! and writes ended runs. [`NodeLedger::start_all`] is the fence, passed just before runs
//! start (the thread pool passes it for as many runs as it has free workers at once);
//! concurrent calls share one transaction (group commit), so a burst of runs costs a few
//! round trips, not one each.

use crate::core::store::cluster::RunKey;
use crate::core::store::sql::{RowError, RowStore};
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a start is retried while the store cannot be reached.
const START_RETRY: Duration = Duration::from_millis(250);
/// Ended runs are written at least this often.
const FINISH_FLUSH: Duration = Duration::from_millis(50);

use crate::core::clock::unix_seconds as wall_clock;

/// The outcome of [`NodeLedger::start`].
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// The submission is this node's: run it.
    Go,
    /// Another node took the submission over (this node was taken for dead): skip it.
    TakenOver,
    /// The store could not be reached for the whole retry window: skip it.
    Unreachable(String),
}

type Slot = Arc<Mutex<Option<Start>>>;

#[derive(Default)]
struct Queues {
    starts: Vec<(RunKey, Slot)>,
    finishes: Vec<RunKey>,
    stopping: bool,
}

pub struct NodeLedger {
    pub node: String,
    pub lease: Duration,
    rows: Arc<dyn RowStore>,
    queues: Mutex<Queues>,
    /// Held while one batch is written; waiting on it is how a start waits for its batch.
    writer: Mutex<()>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl NodeLedger {
    /// Registers `node` on `rows` (a connection of the ledger's own) and starts the lease thread.
    pub fn join(node: String, rows: Arc<dyn RowStore>, lease: Duration) -> Result<Arc<Self>, RowError> {
        rows.heartbeat(&node, wall_clock() + lease.as_secs_f64())?;
        let ledger = Arc::new(NodeLedger {
            node,
            lease,
            rows,
            queues: Mutex::new(Queues::default()),
            writer: Mutex::new(()),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        });
        let weak = Arc::downgrade(&ledger);
        let handle = std::thread::Builder::new()
            .name("apscheduler-lease".into())
            .spawn(move || lease_loop(weak))
            .map_err(|e| RowError::Backend(format!("cannot start the lease thread: {e}")))?;
        *ledger.thread.lock() = Some(handle);
        Ok(ledger)
    }

    /// The fence, called just before the run (blocks; call without the GIL).
    pub fn start(&self, key: RunKey) -> Start {
        self.start_all(vec![key]).pop().unwrap_or(Start::Unreachable("no answer".into()))
    }

    /// The fence for runs about to start together: their outcomes, in order. Runs the store
    /// cannot take are retried for one lease length, then given up.
    pub fn start_all(&self, keys: Vec<RunKey>) -> Vec<Start> {
        let deadline = Instant::now() + self.lease;
        let mut outcomes: Vec<Option<Start>> = vec![None; keys.len()];
        let mut pending: Vec<usize> = (0..keys.len()).collect();
        loop {
            let slots: Vec<Slot> = pending.iter().map(|_| Arc::new(Mutex::new(None))).collect();
            self.queues
                .lock()
                .starts
                .extend(pending.iter().zip(&slots).map(|(&i, slot)| (keys[i].clone(), slot.clone())));
            {
                let _writer = self.writer.lock();
                if slots.iter().any(|slot| slot.lock().is_none()) {
                    self.write_batch();
                }
            }
            let mut retry = Vec::new();
            for (i, slot) in pending.into_iter().zip(slots) {
                match slot.lock().take().unwrap_or(Start::Unreachable("no answer".into())) {
                    Start::Unreachable(_) if Instant::now() < deadline => retry.push(i),
                    Start::Unreachable(e) => {
                        // Given up for good: its row must not count as running.
                        self.finish(keys[i].clone());
                        outcomes[i] = Some(Start::Unreachable(e));
                    }
                    other => outcomes[i] = Some(other),
                }
            }
            if retry.is_empty() {
                return outcomes.into_iter().map(|o| o.unwrap_or(Start::Unreachable("no answer".into()))).collect();
            }
            std::thread::sleep(START_RETRY);
            pending = retry;
        }
    }

    /// Records that a run ended (or was never started); written soon, off the caller's path.
    pub fn finish(&self, key: RunKey) {
        let mut q = self.queues.lock();
        q.finishes.push(key);
        if q.finishes.len() == 1 {
            self.wake.notify_one();
        }
    }

    /// Writes every queued start (one transaction) and ended run. Called with `writer` held.
    /// Ended runs are deleted as soon as possible: one still marked running when its node dies
    /// would be reported lost.
    fn write_batch(&self) {
        let (starts, finishes) = {
            let mut q = self.queues.lock();
            (std::mem::take(&mut q.starts), std::mem::take(&mut q.finishes))
        };
        if starts.is_empty() {
            if !finishes.is_empty() && self.rows.finish_runs(&self.node, &finishes).is_err() {
                self.queues.lock().finishes.extend(finishes); // written again next time
            }
            return;
        }
        let keys: Vec<RunKey> = starts.iter().map(|(k, _)| k.clone()).collect();
        let outcome = self.rows.finish_and_start_runs(&self.node, &finishes, &keys);
        if outcome.is_err() {
            self.queues.lock().finishes.extend(finishes);
        }
        match outcome {
            Ok(flags) => {
                for ((_, slot), ok) in starts.iter().zip(flags) {
                    *slot.lock() = Some(if ok { Start::Go } else { Start::TakenOver });
                }
            }
            Err(e) => {
                for (_, slot) in &starts {
                    *slot.lock() = Some(Start::Unreachable(e.to_string()));
                }
            }
        }
    }

    /// Extends the lease. A node that had been taken for dead is registered anew (the fence
    /// already keeps it from starting what others took over); a store that is away is
    /// simply tried again at the next renewal.
    fn renew(&self) {
        let _ = self.rows.heartbeat(&self.node, wall_clock() + self.lease.as_secs_f64());
    }

    /// Stops the lease thread, writes what is queued and unregisters the node.
    pub fn leave(&self) {
        self.queues.lock().stopping = true;
        self.wake.notify_all();
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
        let _writer = self.writer.lock();
        self.write_batch();
        let _ = self.rows.leave(&self.node);
        self.rows.close();
    }
}

fn lease_loop(ledger: std::sync::Weak<NodeLedger>) {
    let mut next_renewal = Instant::now();
    loop {
        let Some(ledger) = ledger.upgrade() else { return };
        let now = Instant::now();
        if now >= next_renewal {
            ledger.renew();
            next_renewal = now + ledger.lease / 3;
        }
        let flush = {
            let mut q = ledger.queues.lock();
            if q.stopping {
                return;
            }
            if q.finishes.is_empty() {
                let until = next_renewal.min(Instant::now() + FINISH_FLUSH * 20);
                ledger.wake.wait_until(&mut q, until);
            }
            // Let ended runs of a burst gather for a moment, then write them together.
            !q.finishes.is_empty() && !q.stopping
        };
        if flush {
            std::thread::sleep(FINISH_FLUSH / 5);
            let _writer = ledger.writer.lock();
            ledger.write_batch();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::store::cluster::{ClaimContext, Decision, Submission};
    use crate::core::store::sql::sqlite::SqliteRows;
    use crate::core::store::sql::{Row, TableNames};

    fn store(dir: &std::path::Path) -> Arc<SqliteRows> {
        let path = dir.join("jobs.sqlite").to_string_lossy().into_owned();
        let s = Arc::new(SqliteRows::new(Some(path), TableNames::new("apscheduler_jobs", None)));
        s.create_tables().unwrap();
        s
    }

    fn tempdir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("aps-rs-ledger-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A fresh store holding jobs `ids`, due at `at`.
    fn store_with_jobs(tag: &str, ids: &[&str], at: f64) -> (std::path::PathBuf, Arc<SqliteRows>) {
        let dir = tempdir(tag);
        let s = store(&dir);
        for id in ids {
            s.insert(&Row { id: (*id).into(), next_run_time: Some(at), state: vec![] }).unwrap();
        }
        (dir, s)
    }

    /// Claims every due row for `node`, recording one submission per row.
    fn claim(s: &SqliteRows, node: &str, now: f64, dead_before: f64) -> (Vec<String>, Vec<String>, Vec<String>) {
        let (mut due, mut adopted, mut lost) = (vec![], vec![], vec![]);
        s.claim(&ClaimContext { node, now, dead_before }, &mut |batch| {
            due = batch.due.iter().map(|r| r.id.clone()).collect();
            adopted = batch.adopted.iter().map(|(r, _)| r.id.clone()).collect();
            lost = batch.lost.iter().map(|l| l.job_id.clone()).collect();
            let mut d = Decision::default();
            for r in batch.due.iter() {
                d.changes.push(crate::core::store::sql::Change::Update(Row {
                    next_run_time: Some(now + 100.0),
                    ..r.clone()
                }));
                d.submissions.push(Submission { job_id: r.id.clone(), run_times: vec![r.next_run_time.unwrap()] });
            }
            for (r, times) in &batch.adopted {
                d.submissions.push(Submission { job_id: r.id.clone(), run_times: times.clone() });
            }
            d
        })
        .unwrap();
        (due, adopted, lost)
    }

    #[test]
    fn fence_admits_the_owner_once_and_dead_nodes_lose_their_runs() {
        let (dir, s) = store_with_jobs("fence", &["a", "b", "c"], 10.0);
        // Node A claims all three; it starts "a", then stops renewing (dies) before "b" and "c".
        s.heartbeat("A", 20.0).unwrap();
        s.heartbeat("B", 1e12).unwrap();
        let (due, _, _) = claim(&s, "A", 10.0, 0.0);
        assert_eq!(due, ["a", "b", "c"]);
        let key = |id: &str| RunKey { job_id: id.into(), run_time: 10.0 };
        assert_eq!(s.start_runs("A", &[key("a")]).unwrap(), [true]);
        assert_eq!(s.start_runs("A", &[key("a")]).unwrap(), [false], "a submission starts once");
        // B claims after A's lease ended: it adopts b and c; a (running) is lost.
        let (due, adopted, lost) = claim(&s, "B", 30.0, 25.0);
        assert!(due.is_empty());
        assert_eq!(adopted, ["b", "c"]);
        assert_eq!(lost, ["a"]);
        // A wakes up: its fence refuses what B took over, and its late finish changes nothing.
        assert_eq!(s.start_runs("A", &[key("b"), key("c")]).unwrap(), [false, false]);
        s.finish_runs("A", &[key("a")]).unwrap();
        assert_eq!(s.lost_runs().unwrap().len(), 1);
        assert_eq!(s.start_runs("B", &[key("b"), key("c")]).unwrap(), [true, true]);
        assert!(!s.heartbeat("A", 1e12).unwrap(), "A learns it had been reaped");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn ledger_starts_in_groups_and_writes_ends_by_itself() {
        let dir = tempdir("group");
        let s = store(&dir);
        for i in 0..50 {
            s.insert(&Row { id: format!("j{i}"), next_run_time: Some(1.0), state: vec![] }).unwrap();
        }
        let ledger = NodeLedger::join("N".into(), s.sibling(), Duration::from_secs(10)).unwrap();
        claim(&s, "N", 1.0, 0.0);
        let threads: Vec<_> = (0..50)
            .map(|i| {
                let ledger = ledger.clone();
                std::thread::spawn(move || ledger.start(RunKey { job_id: format!("j{i}"), run_time: 1.0 }))
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), Start::Go);
        }
        for i in 0..50 {
            ledger.finish(RunKey { job_id: format!("j{i}"), run_time: 1.0 });
        }
        ledger.leave();
        s.insert(&Row { id: "probe".into(), next_run_time: Some(0.0), state: vec![] }).unwrap();
        let mut busy = usize::MAX;
        s.claim(&ClaimContext { node: "X", now: 0.0, dead_before: 0.0 }, &mut |b| {
            busy = b.busy.len();
            Decision::default()
        })
        .unwrap();
        assert_eq!(busy, 0, "every ended run was written");
        let mut nodes_left = true;
        s.claim(&ClaimContext { node: "X", now: 0.0, dead_before: 1e12 }, &mut |_| Decision::default()).unwrap();
        nodes_left &= !s.heartbeat("N", 1.0).unwrap();
        assert!(nodes_left, "leave() unregistered the node");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn start_all_answers_each_run_in_order() {
        let (dir, s) = store_with_jobs("all", &["a", "b", "c"], 1.0);
        let ledger = NodeLedger::join("N".into(), s.sibling(), Duration::from_secs(10)).unwrap();
        claim(&s, "N", 1.0, 0.0);
        let key = |id: &str| RunKey { job_id: id.into(), run_time: 1.0 };
        assert_eq!(ledger.start(key("b")), Start::Go);
        // "b" already started and "x" was never claimed: neither may start; "a" and "c" may.
        let outcomes = ledger.start_all(vec![key("a"), key("b"), key("x"), key("c")]);
        assert_eq!(outcomes, [Start::Go, Start::TakenOver, Start::TakenOver, Start::Go]);
        ledger.leave();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
