//! Several schedulers sharing one job store: node leases, the run ledger and its fence.
//!
//! Beside APScheduler's job table a shared store keeps two small tables (Redis: hashes):
//!
//! - **nodes** `(node_id, lease_until)`: one row per running scheduler, renewed by a native
//!   thread. A node whose lease ended before the claimer's `dead_before` is dead.
//! - **runs** `(job_id, run_time, run_times, node_id, state)`: one row per submission, keyed by
//!   its first run time. The claim transaction that advances a job's schedule also records the
//!   submission as [`CLAIMED`]. Just before the job starts, the worker flips it to [`RUNNING`]
//!   — only if the row still names its node (the fence: a node that lost its lease finds its
//!   rows gone and starts nothing). The row is deleted when the run ends.
//!
//! Claims reap dead nodes: a dead node's CLAIMED rows never started, so the reaper takes them
//! over and submits them (misfire_grace_time then decides whether they run late); its RUNNING
//! rows started and their end is unknown, so they become [`LOST`] — reported, never re-run.
//! Counting a job's CLAIMED and RUNNING rows gives `max_instances` across the cluster.
//!
//! Correctness rests on the database's atomic updates, not on clocks: a node wrongly taken
//! for dead (a clock far ahead, a long pause) loses its unstarted runs to another node and
//! runs none of them itself. Clock skew only decides how soon a dead node is noticed.

use super::sql::Row;
use crate::core::store::sql::Change;
use std::collections::HashMap;

/// Submission states in the runs table.
pub const CLAIMED: i32 = 0;
pub const RUNNING: i32 = 1;
pub const LOST: i32 = 2;

/// How long a lost run stays listed (seconds).
pub const LOST_RUN_RETENTION: f64 = 7.0 * 86_400.0;

/// One submission's key: the job and its first scheduled run time (UTC timestamp).
#[derive(Debug, Clone, PartialEq)]
pub struct RunKey {
    pub job_id: String,
    pub run_time: f64,
}

/// Run times handed to an executor at once (several when a job catches up without coalescing).
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub job_id: String,
    pub run_times: Vec<f64>,
}

impl Submission {
    pub fn key(&self) -> RunKey {
        RunKey { job_id: self.job_id.clone(), run_time: self.run_times.first().copied().unwrap_or(0.0) }
    }
}

/// Run times as stored: space-separated shortest round-trip decimals.
pub fn encode_run_times(times: &[f64]) -> String {
    times.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(" ")
}

pub fn decode_run_times(text: &str) -> Vec<f64> {
    text.split_ascii_whitespace().filter_map(|t| t.parse().ok()).collect()
}

/// Who claims, and from when other nodes count as dead.
#[derive(Debug, Clone)]
pub struct ClaimContext<'a> {
    pub node: &'a str,
    /// The pass's time (UTC timestamp): jobs due at or before it are claimed.
    pub now: f64,
    /// Nodes whose lease ended before this (UTC timestamp) are reaped.
    pub dead_before: f64,
}

/// What a claimer is shown, inside the claim's transaction.
#[derive(Debug, Default)]
pub struct DueBatch {
    /// Due rows, earliest first.
    pub due: Vec<Row>,
    /// CLAIMED + RUNNING submissions per job id, over the whole cluster.
    pub busy: HashMap<String, usize>,
    /// Submissions taken over from dead nodes (never started): the job's row and run times.
    pub adopted: Vec<(Row, Vec<f64>)>,
    /// Runs of dead nodes that had started: now marked lost.
    pub lost: Vec<LostRun>,
}

/// What a claimer decided: schedule changes and the submissions to record for this node.
#[derive(Debug, Default)]
pub struct Decision {
    pub changes: Vec<Change>,
    pub submissions: Vec<Submission>,
}

/// A run that started on a node that then died.
#[derive(Debug, Clone, PartialEq)]
pub struct LostRun {
    pub job_id: String,
    pub run_time: f64,
    pub node_id: String,
}

/// Groups reaped CLAIMED rows `(job_id, run_times)` with the job rows still stored.
pub fn pair_adopted(runs: Vec<(String, Vec<f64>)>, rows: &HashMap<String, Row>) -> Vec<(Row, Vec<f64>)> {
    runs.into_iter().filter_map(|(id, times)| Some((rows.get(&id)?.clone(), times))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_times_round_trip_exactly() {
        let times = [1_893_456_000.123456, 0.1, 1e-7, 1_700_000_000.0];
        assert_eq!(decode_run_times(&encode_run_times(&times)), times);
        assert!(decode_run_times("").is_empty());
    }

    #[test]
    fn adopted_runs_of_removed_jobs_are_dropped() {
        let row = Row { id: "a".into(), next_run_time: Some(5.0), state: vec![1] };
        let rows = HashMap::from([("a".to_string(), row.clone())]);
        let paired = pair_adopted(vec![("a".into(), vec![1.0]), ("gone".into(), vec![2.0])], &rows);
        assert_eq!(paired, vec![(row, vec![1.0])]);
    }
}
