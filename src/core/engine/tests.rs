//! The processing pass against fake stores, executors and a fake clock: no threads, no sleeps.

use super::*;
use crate::core::clock::{Clock, FakeClock};
use crate::core::job_id::JobId;
use crate::core::store::memory::{Keyed, MemoryIndex, PAUSED};
use crate::core::time::Zone;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const SEC: i64 = 1_000_000;
const T0: i64 = 1_800_000_000 * SEC;

fn at(micros: i64) -> ZonedTime {
    ZonedTime::from_micros(micros, Zone::Utc)
}

/// A job on a fixed interval, optionally ending.
#[derive(Debug)]
struct FakeJob {
    id: Arc<str>,
    key: JobId,
    every: i64,
    until: Option<i64>,
    coalesce: bool,
    next: Cell<Option<ZonedTime>>,
}

type Job = Rc<FakeJob>;

fn job(id: &str, first: i64, every: i64, coalesce: bool) -> Job {
    Rc::new(FakeJob {
        id: id.into(),
        key: JobId::new(id),
        every,
        until: None,
        coalesce,
        next: Cell::new(Some(at(first))),
    })
}

impl Keyed for Job {
    fn job_id(&self) -> &JobId {
        &self.key
    }
}

impl EngineJob for Job {
    fn id(&self) -> Arc<str> {
        self.id.clone()
    }
    fn coalesce(&self) -> bool {
        self.coalesce
    }
    fn next_run_time(&self) -> Option<ZonedTime> {
        self.next.get()
    }
    fn set_next_run_time(&self, next: Option<ZonedTime>) {
        self.next.set(next)
    }
    fn next_fire_time(&self, previous: &ZonedTime, _now: &ZonedTime) -> Option<ZonedTime> {
        if self.every == 0 {
            return None; // one-shot
        }
        let t = previous.micros() + self.every;
        match self.until {
            Some(end) if t > end => None,
            _ => Some(at(t)),
        }
    }
}

#[derive(Default)]
struct FakeStore {
    index: RefCell<MemoryIndex<Job>>,
    failing: Cell<u32>,
    busy_in_cluster: RefCell<Vec<Arc<str>>>,
}

impl FakeStore {
    fn with(jobs: &[Job]) -> Self {
        let store = FakeStore::default();
        for j in jobs {
            let key = j.next.get().map_or(PAUSED, |t| t.micros());
            store.index.borrow_mut().add(key, j.clone()).unwrap();
        }
        store
    }
    fn ids(&self) -> Vec<String> {
        self.index.borrow().iter().map(|j| j.id.to_string()).collect()
    }
}

impl EngineStore<Job> for FakeStore {
    fn alias(&self) -> &str {
        "default"
    }
    fn claim_due_jobs(&self, now: &ZonedTime, plan: &mut dyn FnMut(&Job) -> Plan) -> Result<Vec<Claim<Job>>, String> {
        if self.failing.get() > 0 {
            self.failing.set(self.failing.get() - 1);
            return Err("db down".into());
        }
        let due: Vec<Job> = self.index.borrow().due(now.micros()).cloned().collect();
        let mut index = self.index.borrow_mut();
        let mut claimed = Vec::new();
        for job in due {
            let p = plan(&job);
            match &p {
                Plan::Run { next: Some(next), .. } => {
                    job.next.set(Some(*next));
                    index.update(next.micros(), job.clone()).map_err(|e| format!("{e:?}"))?;
                }
                Plan::Run { next: None, .. } | Plan::NoExecutor => {
                    index.remove(&job.key).map_err(|e| format!("{e:?}"))?;
                }
                Plan::Nothing | Plan::Adopted { .. } => {}
            }
            let busy = self.busy_in_cluster.borrow().contains(&job.id);
            claimed.push(Claim { busy, ..Claim::local(job, p) });
        }
        Ok(claimed)
    }
    fn next_run_time(&self) -> Result<Option<i64>, String> {
        Ok(self.index.borrow().next_run_time())
    }
}

#[derive(Default)]
struct FakeHost {
    missing_executor: Vec<&'static str>,
    busy: Vec<&'static str>,
    log: Vec<String>,
    submitted: Vec<(String, Vec<i64>)>,
}

impl EngineHost<Job> for FakeHost {
    fn has_executor(&mut self, job: &Job) -> bool {
        !self.missing_executor.contains(&&*job.id)
    }
    fn submit(&mut self, job: &Job, _store: &str, _run_times: &[ZonedTime], _ticket: Option<Ticket>) -> Submission {
        if self.busy.contains(&&*job.id) { Submission::MaxInstancesReached } else { Submission::Accepted }
    }
    fn store_failed(&mut self, store: &str, error: &str) {
        self.log.push(format!("store {store}: {error}"));
    }
    fn executor_missing(&mut self, job: &Job, _store: &str) {
        self.log.push(format!("no executor for {}", job.id));
    }
    fn job_removed(&mut self, job_id: &str, _store: &str) {
        self.log.push(format!("removed {job_id}"));
    }
    fn submitted(&mut self, job: &Job, _store: &str, run_times: Vec<ZonedTime>) {
        self.log.push(format!("submitted {}", job.id));
        let secs = run_times.iter().map(|t| (t.micros() - T0) / SEC).collect();
        self.submitted.push((job.id.to_string(), secs));
    }
    fn max_instances_reached(&mut self, job: &Job, _store: &str, _run_times: Vec<ZonedTime>) {
        self.log.push(format!("max instances {}", job.id));
    }
    fn submit_failed(&mut self, job: &Job, error: &str) {
        self.log.push(format!("submit failed {}: {error}", job.id));
    }
}

fn pass(store: &FakeStore, host: &mut FakeHost, clock: &FakeClock) -> Option<i64> {
    process_jobs(&[store as &dyn EngineStore<Job>], host, &at(clock.now_micros()), 10 * SEC)
}

#[test]
fn overdue_runs_are_all_submitted_without_coalescing() {
    // An interval-2s job whose next run is 5 s in the past: runs at -5, -3, -1 (spec §1.7).
    let clock = FakeClock::at(T0 + 5 * SEC);
    let store = FakeStore::with(&[job("j", T0, 2 * SEC, false)]);
    let mut host = FakeHost::default();
    let next = pass(&store, &mut host, &clock);
    assert_eq!(host.submitted, [("j".to_string(), vec![0, 2, 4])]);
    assert_eq!(next, Some(T0 + 6 * SEC));
}

#[test]
fn coalescing_keeps_only_the_latest_run_time() {
    let clock = FakeClock::at(T0 + 5 * SEC);
    let store = FakeStore::with(&[job("j", T0, 2 * SEC, true)]);
    let mut host = FakeHost::default();
    pass(&store, &mut host, &clock);
    assert_eq!(host.submitted, [("j".to_string(), vec![4])]);
}

#[test]
fn one_shot_jobs_are_removed_after_submission() {
    let clock = FakeClock::at(T0);
    let store = FakeStore::with(&[job("once", T0, 0, true), job("later", T0 + 60 * SEC, SEC, true)]);
    let mut host = FakeHost::default();
    let next = pass(&store, &mut host, &clock);
    assert_eq!(host.log, ["submitted once", "removed once"]);
    assert_eq!(store.ids(), ["later"]);
    assert_eq!(next, Some(T0 + 60 * SEC));
}

#[test]
fn nothing_is_due_before_its_time_and_the_wait_is_exact() {
    let clock = FakeClock::at(T0);
    let store = FakeStore::with(&[job("j", T0 + 3 * SEC, SEC, true)]);
    let mut host = FakeHost::default();
    let next = pass(&store, &mut host, &clock).unwrap();
    assert!(host.log.is_empty());
    assert_eq!(wait_seconds(next, clock.now_micros()), 3.0);
    clock.advance(3 * SEC);
    pass(&store, &mut host, &clock);
    assert_eq!(host.log, ["submitted j"]);
}

#[test]
fn a_job_busy_elsewhere_in_the_cluster_is_skipped_not_submitted() {
    let clock = FakeClock::at(T0);
    let store = FakeStore::with(&[job("slow", T0, SEC, true)]);
    store.busy_in_cluster.borrow_mut().push(Arc::from("slow"));
    let mut host = FakeHost::default();
    let next = pass(&store, &mut host, &clock);
    assert_eq!(host.log, ["max instances slow"]);
    assert!(host.submitted.is_empty());
    assert_eq!(next, Some(T0 + SEC), "the schedule moved on");
}

#[test]
fn max_instances_skips_the_run_but_advances_the_schedule() {
    let clock = FakeClock::at(T0);
    let store = FakeStore::with(&[job("slow", T0, SEC, true)]);
    let mut host = FakeHost { busy: vec!["slow"], ..Default::default() };
    let next = pass(&store, &mut host, &clock);
    assert_eq!(host.log, ["max instances slow"]);
    assert_eq!(next, Some(T0 + SEC));
}

#[test]
fn a_job_without_executor_is_removed() {
    let clock = FakeClock::at(T0);
    let store = FakeStore::with(&[job("orphan", T0, SEC, true)]);
    let mut host = FakeHost { missing_executor: vec!["orphan"], ..Default::default() };
    pass(&store, &mut host, &clock);
    assert_eq!(host.log, ["no executor for orphan", "removed orphan"]);
    assert!(store.ids().is_empty());
}

#[test]
fn a_failing_store_is_retried_after_the_retry_interval() {
    let clock = FakeClock::at(T0);
    let store = FakeStore::with(&[job("j", T0 + 60 * SEC, SEC, true)]);
    store.failing.set(1);
    let mut host = FakeHost::default();
    let next = pass(&store, &mut host, &clock);
    assert_eq!(host.log, ["store default: db down"]);
    assert_eq!(next, Some(T0 + 10 * SEC));
    assert_eq!(pass(&store, &mut host, &clock), Some(T0 + 60 * SEC));
}

#[test]
fn a_trigger_that_ends_removes_the_job_after_its_last_run() {
    let clock = FakeClock::at(T0 + 10 * SEC);
    let j = Rc::new(FakeJob {
        id: "ending".into(),
        key: JobId::new("ending"),
        every: 2 * SEC,
        until: Some(T0 + 4 * SEC),
        coalesce: false,
        next: Cell::new(Some(at(T0))),
    });
    let store = FakeStore::with(&[j]);
    let mut host = FakeHost::default();
    assert_eq!(pass(&store, &mut host, &clock), None);
    assert_eq!(host.submitted, [("ending".to_string(), vec![0, 2, 4])]);
    assert!(store.ids().is_empty());
}

#[test]
fn timedelta_text_matches_python() {
    assert_eq!(format_timedelta(5_001_060), "0:00:05.001060");
    assert_eq!(format_timedelta(3_600 * SEC), "1:00:00");
    assert_eq!(format_timedelta(86_400 * SEC + SEC), "1 day, 0:00:01");
    assert_eq!(format_timedelta(3 * 86_400 * SEC), "3 days, 0:00:00");
    assert_eq!(format_timedelta(-SEC), "-1 day, 23:59:59");
}
