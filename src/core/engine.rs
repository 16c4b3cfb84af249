//! The processing pass: APScheduler's `_process_jobs`, over abstract stores and executors.
//!
//! One pass takes the due jobs of every store, works out their run times (misfire decisions
//! happen in the executor, when a run starts), submits them, and advances or removes each job.
//! It returns the earliest next run time so the loop knows how long to sleep. Everything that
//! touches Python (events, logging, Python-written stores and executors) sits behind the
//! [`EngineStore`] / [`EngineHost`] traits, so this file is tested with fakes and a fake clock.

use crate::core::store::cluster::RunKey;
use crate::core::store::ledger::NodeLedger;
use crate::core::time::ZonedTime;
use std::sync::Arc;

/// Guards against a (user-written) trigger that never moves past `now`.
const MAX_RUN_TIMES_PER_PASS: usize = 1_000_000;

/// What the engine needs to know about a stored job.
pub trait EngineJob {
    fn id(&self) -> Arc<str>;
    fn coalesce(&self) -> bool;
    fn next_run_time(&self) -> Option<ZonedTime>;
    fn set_next_run_time(&self, next: Option<ZonedTime>);
    /// The job trigger's next fire time after `previous`.
    fn next_fire_time(&self, previous: &ZonedTime, now: &ZonedTime) -> Option<ZonedTime>;
}

/// What the engine decided for one due job; the store applies the schedule change.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Submit `run_times`; then the job's next run time becomes `next` (`None`: remove it).
    Run { run_times: Vec<ZonedTime>, next: Option<ZonedTime> },
    /// The job names an executor that does not exist: remove it.
    NoExecutor,
    /// Nothing is due after all (a trigger that yields no run time): leave it alone.
    Nothing,
    /// Run times a dead scheduler had claimed and never started: submit them, schedule unchanged.
    Adopted { run_times: Vec<ZonedTime> },
}

impl Plan {
    /// Whether applying the plan deletes the job from its store.
    pub fn removes_job(&self) -> bool {
        matches!(self, Plan::NoExecutor | Plan::Run { next: None, .. })
    }
}

/// A submission's record in a shared store: the executor passes it through the fence.
#[derive(Clone)]
pub struct Ticket {
    pub ledger: Arc<NodeLedger>,
    pub key: RunKey,
}

/// A due job as its store hands it over.
pub struct Claim<J> {
    pub job: J,
    pub plan: Plan,
    /// Other schedulers sharing the store already run `max_instances` of this job.
    pub busy: bool,
    /// Set by shared stores for every submission they recorded.
    pub ticket: Option<Ticket>,
}

impl<J> Claim<J> {
    pub fn local(job: J, plan: Plan) -> Self {
        Claim { job, plan, busy: false, ticket: None }
    }
}

/// A job store as the engine sees it. Errors are messages for the log.
pub trait EngineStore<J> {
    fn alias(&self) -> &str;
    /// Takes the jobs due at `now` (earliest first), asks `plan` what to do with each, and
    /// applies the schedule change of every plan (advance the next run time, or delete the
    /// job) before returning the claimed jobs with their plans. A store shared by several
    /// schedulers does all of this in one transaction, so each due run is claimed once.
    fn claim_due_jobs(&self, now: &ZonedTime, plan: &mut dyn FnMut(&J) -> Plan) -> Result<Vec<Claim<J>>, String>;
    /// Earliest next run time of a job that is not paused, in epoch microseconds.
    fn next_run_time(&self) -> Result<Option<i64>, String>;
    /// A shared store is looked at again this often (µs) whatever its next run time: other
    /// schedulers change it, and dead ones leave runs behind.
    fn poll_interval(&self) -> Option<i64> {
        None
    }
}

/// The outcome of handing run times to an executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Accepted,
    MaxInstancesReached,
    Failed(String),
}

/// The scheduler around the engine: executors, events and logging.
pub trait EngineHost<J> {
    fn has_executor(&mut self, job: &J) -> bool;
    /// Hands run times to the job's executor; a `ticket` goes with them to the fence.
    fn submit(&mut self, job: &J, store: &str, run_times: &[ZonedTime], ticket: Option<Ticket>) -> Submission;
    fn store_failed(&mut self, store: &str, error: &str);
    fn executor_missing(&mut self, job: &J, store: &str);
    /// A job left its store during the pass (no next fire time, or no executor).
    fn job_removed(&mut self, job_id: &str, store: &str);
    fn submitted(&mut self, job: &J, store: &str, run_times: Vec<ZonedTime>);
    fn max_instances_reached(&mut self, job: &J, store: &str, run_times: Vec<ZonedTime>);
    fn submit_failed(&mut self, job: &J, error: &str);
}

/// Every run time from the job's next run time up to `now` (coalesced to the last one).
pub fn due_run_times<J: EngineJob>(job: &J, now: &ZonedTime) -> Vec<ZonedTime> {
    let now_us = now.micros();
    let coalesce = job.coalesce();
    let mut times = Vec::new();
    let mut next = job.next_run_time();
    while let Some(t) = next {
        if t.micros() > now_us || times.len() >= MAX_RUN_TIMES_PER_PASS {
            break;
        }
        next = job.next_fire_time(&t, now);
        if coalesce {
            times.clear();
        }
        times.push(t);
    }
    times
}

/// The plan for one due job: its run times and where its schedule goes next.
pub fn plan_job<J: EngineJob>(job: &J, now: &ZonedTime, has_executor: bool) -> Plan {
    if !has_executor {
        return Plan::NoExecutor;
    }
    let run_times = due_run_times(job, now);
    let Some(last) = run_times.last() else { return Plan::Nothing };
    // Skipped runs are never retried: the schedule moves on whatever the submission does.
    let next = job.next_fire_time(last, now);
    Plan::Run { run_times, next }
}

/// One processing pass over `stores` at `now`. Returns the earliest instant (epoch µs) at
/// which another pass is needed, or `None` when no job is scheduled.
///
/// Each store first claims its due jobs and records their new schedules (one transaction
/// for a shared store); only then are the runs submitted, so a crash can lose no schedule
/// and no other scheduler can take the same run.
pub fn process_jobs<J: EngineJob>(
    stores: &[&dyn EngineStore<J>],
    host: &mut dyn EngineHost<J>,
    now: &ZonedTime,
    retry_interval_us: i64,
) -> Option<i64> {
    let mut next_wakeup: Option<i64> = None;
    let earliest = |t: i64, next: &mut Option<i64>| {
        *next = Some(next.map_or(t, |n| n.min(t)));
    };
    for store in stores {
        let alias = store.alias();
        let claimed = store.claim_due_jobs(now, &mut |job| {
            let has_executor = host.has_executor(job);
            plan_job(job, now, has_executor)
        });
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(e) => {
                host.store_failed(alias, &e);
                earliest(now.micros().saturating_add(retry_interval_us), &mut next_wakeup);
                continue;
            }
        };
        for Claim { job, plan, busy, ticket } in claimed {
            let removed = plan.removes_job();
            match plan {
                Plan::NoExecutor => host.executor_missing(&job, alias),
                Plan::Nothing => {}
                Plan::Run { run_times, .. } | Plan::Adopted { run_times } if busy => {
                    host.max_instances_reached(&job, alias, run_times)
                }
                Plan::Run { run_times, .. } | Plan::Adopted { run_times } => {
                    let outcome = host.submit(&job, alias, &run_times, ticket.clone());
                    if outcome != Submission::Accepted
                        && let Some(t) = ticket
                    {
                        t.ledger.finish(t.key);
                    }
                    match outcome {
                        Submission::Accepted => host.submitted(&job, alias, run_times),
                        Submission::MaxInstancesReached => host.max_instances_reached(&job, alias, run_times),
                        Submission::Failed(e) => host.submit_failed(&job, &e),
                    }
                }
            }
            if removed {
                host.job_removed(&job.id(), alias);
            }
        }
        if let Some(poll) = store.poll_interval() {
            earliest(now.micros().saturating_add(poll), &mut next_wakeup);
        }
        match store.next_run_time() {
            Ok(Some(t)) => earliest(t, &mut next_wakeup),
            Ok(None) => {}
            Err(e) => host.store_failed(alias, &e),
        }
    }
    next_wakeup
}

/// Seconds to sleep until `next_wakeup` (APScheduler caps the wait at `threading.TIMEOUT_MAX`).
pub fn wait_seconds(next_wakeup_us: i64, now_us: i64) -> f64 {
    const TIMEOUT_MAX: f64 = 9_223_372_036.0;
    ((next_wakeup_us - now_us) as f64 / 1e6).clamp(0.0, TIMEOUT_MAX)
}

/// Python's `str(timedelta)` for a non-negative or negative span of microseconds.
pub fn format_timedelta(micros: i64) -> String {
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let (secs, us) = (rest / 1_000_000, rest % 1_000_000);
    let hms = format!("{}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60);
    let hms = if us != 0 { format!("{hms}.{us:06}") } else { hms };
    match days {
        0 => hms,
        1 | -1 => format!("{days} day, {hms}"),
        _ => format!("{days} days, {hms}"),
    }
}

#[cfg(test)]
mod tests;
