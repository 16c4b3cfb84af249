//! The in-memory job index: jobs ordered by next run time, then id, paused jobs last.
//!
//! Add, update and remove are O(log n); the due jobs are a prefix of the order. The index is
//! generic over the job handle so the core never names Python. It stores nothing but the
//! handles: their ids are read from the jobs themselves (16 bytes per job in each of its two
//! tables, issue #2).

use crate::core::job_id::JobId;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

/// Sort key of a paused job: after every real run time.
pub const PAUSED: i64 = i64::MAX;

/// What the index needs of a job: its id, which must not change while the job is indexed.
pub trait Keyed: Clone {
    fn job_id(&self) -> &JobId;
}

/// A job at its place in the order.
#[derive(Clone)]
struct Slot<J> {
    at: i64,
    job: J,
}

impl<J: Keyed> Ord for Slot<J> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.cmp(&other.at).then_with(|| self.job.job_id().cmp(other.job.job_id()))
    }
}
impl<J: Keyed> PartialOrd for Slot<J> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<J: Keyed> PartialEq for Slot<J> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<J: Keyed> Eq for Slot<J> {}

/// A job as a key of the id table.
struct ById<J>(J);

impl<J: Keyed> Borrow<JobId> for ById<J> {
    fn borrow(&self) -> &JobId {
        self.0.job_id()
    }
}
impl<J: Keyed> std::hash::Hash for ById<J> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.job_id().hash(state)
    }
}
impl<J: Keyed> PartialEq for ById<J> {
    fn eq(&self, other: &Self) -> bool {
        self.0.job_id() == other.0.job_id()
    }
}
impl<J: Keyed> Eq for ById<J> {}

pub struct MemoryIndex<J> {
    by_time: BTreeSet<Slot<J>>,
    /// Each job's place in `by_time`.
    run_time_of: HashMap<ById<J>, i64, rustc_hash::FxBuildHasher>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum IndexError {
    Conflict,
    NotFound,
}

impl<J> Default for MemoryIndex<J> {
    fn default() -> Self {
        MemoryIndex { by_time: BTreeSet::new(), run_time_of: HashMap::default() }
    }
}

impl<J: Keyed> MemoryIndex<J> {
    pub fn len(&self) -> usize {
        self.run_time_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.run_time_of.is_empty()
    }

    pub fn get(&self, id: &JobId) -> Option<&J> {
        self.run_time_of.get_key_value(id).map(|(k, _)| &k.0)
    }

    /// `run_at` is the next run time in epoch microseconds, or [`PAUSED`].
    pub fn add(&mut self, run_at: i64, job: J) -> Result<(), IndexError> {
        if self.run_time_of.contains_key(job.job_id()) {
            return Err(IndexError::Conflict);
        }
        self.run_time_of.insert(ById(job.clone()), run_at);
        self.by_time.insert(Slot { at: run_at, job });
        Ok(())
    }

    /// Replaces the stored job with this version (same id) and moves it to its new place.
    pub fn update(&mut self, run_at: i64, job: J) -> Result<(), IndexError> {
        self.remove(job.job_id())?;
        self.add(run_at, job)
    }

    pub fn remove(&mut self, id: &JobId) -> Result<J, IndexError> {
        let (ById(job), at) = self.run_time_of.remove_entry(id).ok_or(IndexError::NotFound)?;
        self.by_time.take(&Slot { at, job }).map(|slot| slot.job).ok_or(IndexError::NotFound)
    }

    pub fn clear(&mut self) -> Vec<J> {
        self.run_time_of.clear();
        std::mem::take(&mut self.by_time).into_iter().map(|slot| slot.job).collect()
    }

    /// Jobs whose run time is at or before `now`, earliest first.
    pub fn due(&self, now: i64) -> impl Iterator<Item = &J> {
        self.by_time.iter().take_while(move |slot| slot.at != PAUSED && slot.at <= now).map(|slot| &slot.job)
    }

    /// The earliest run time of a job that is not paused.
    pub fn next_run_time(&self) -> Option<i64> {
        self.by_time.first().map(|slot| slot.at).filter(|at| *at != PAUSED)
    }

    /// All jobs in order, paused last.
    pub fn iter(&self) -> impl Iterator<Item = &J> {
        self.by_time.iter().map(|slot| &slot.job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job: its id and a version label.
    #[derive(Clone, Debug, PartialEq)]
    struct J(JobId, &'static str);

    impl Keyed for J {
        fn job_id(&self) -> &JobId {
            &self.0
        }
    }

    fn j(id: &'static str) -> J {
        J(JobId::new(id), id)
    }

    fn id(text: &str) -> JobId {
        JobId::new(text)
    }

    fn index(entries: &[(&'static str, i64)]) -> MemoryIndex<J> {
        let mut idx = MemoryIndex::default();
        for (id, at) in entries {
            idx.add(*at, j(id)).unwrap();
        }
        idx
    }

    fn labels<'a>(jobs: impl Iterator<Item = &'a J>) -> Vec<&'static str> {
        jobs.map(|j| j.1).collect()
    }

    #[test]
    fn orders_by_time_then_id_with_paused_last() {
        let idx = index(&[("paused", PAUSED), ("b-later", 3), ("mid", 2), ("z-early", 1), ("a-early", 1)]);
        assert_eq!(labels(idx.iter()), ["a-early", "z-early", "mid", "b-later", "paused"]);
    }

    #[test]
    fn hex_and_text_ids_share_one_order() {
        let hex = "0123456789abcdef0123456789abcdef";
        let idx = index(&[("zz", 1), (hex, 1), ("0123", 1), ("1", 1)]);
        assert_eq!(labels(idx.iter()), ["0123", hex, "1", "zz"]);
        assert_eq!(idx.get(&id(hex)).map(|j| j.1), Some(hex));
    }

    #[test]
    fn due_stops_at_now_and_at_paused_jobs() {
        let idx = index(&[("a", 1), ("b", 5), ("p", PAUSED)]);
        assert_eq!(labels(idx.due(4)), ["a"]);
        assert_eq!(idx.due(i64::MAX - 1).count(), 2);
        assert_eq!(idx.next_run_time(), Some(1));
    }

    #[test]
    fn update_moves_and_remove_forgets() {
        let mut idx = index(&[("a", 1), ("b", 5)]);
        idx.update(9, J(id("a"), "a2")).unwrap();
        assert_eq!(labels(idx.iter()), ["b", "a2"]);
        assert_eq!(idx.get(&id("a")).map(|j| j.1), Some("a2"));
        assert_eq!(idx.add(3, J(id("a"), "dup")), Err(IndexError::Conflict));
        assert_eq!(idx.remove(&id("a")), Ok(J(id("a"), "a2")));
        assert_eq!(idx.remove(&id("a")), Err(IndexError::NotFound));
        assert_eq!(idx.update(1, j("zz")), Err(IndexError::NotFound));
        assert_eq!(idx.len(), 1);
    }

    #[test]
    fn all_paused_means_no_next_run_time() {
        let idx = index(&[("p", PAUSED)]);
        assert_eq!(idx.next_run_time(), None);
        assert_eq!(idx.due(i64::MAX).count(), 0);
    }
}
