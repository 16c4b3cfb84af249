//! The in-memory job index: jobs ordered by next run time, then id, paused jobs last.
//!
//! Add, update and remove are O(log n); the due jobs are a prefix of the order. The index is
//! generic over the job handle so the core never names Python.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Sort key of a paused job: after every real run time.
pub const PAUSED: i64 = i64::MAX;

#[derive(Debug)]
pub struct MemoryIndex<J> {
    by_time: BTreeMap<(i64, Arc<str>), J>,
    run_time_of: HashMap<Arc<str>, i64>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum IndexError {
    Conflict,
    NotFound,
}

impl<J> Default for MemoryIndex<J> {
    fn default() -> Self {
        MemoryIndex { by_time: BTreeMap::new(), run_time_of: HashMap::new() }
    }
}

impl<J> MemoryIndex<J> {
    pub fn len(&self) -> usize {
        self.run_time_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.run_time_of.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&J> {
        let (key, at) = self.run_time_of.get_key_value(id)?;
        self.by_time.get(&(*at, key.clone()))
    }

    /// `run_at` is the next run time in epoch microseconds, or [`PAUSED`].
    pub fn add(&mut self, id: Arc<str>, run_at: i64, job: J) -> Result<(), IndexError> {
        if self.run_time_of.contains_key(&id) {
            return Err(IndexError::Conflict);
        }
        self.run_time_of.insert(id.clone(), run_at);
        self.by_time.insert((run_at, id), job);
        Ok(())
    }

    /// Replaces the stored job with this version and moves it to its new place.
    pub fn update(&mut self, id: &str, run_at: i64, job: J) -> Result<(), IndexError> {
        let (key, old) = match self.run_time_of.get_key_value(id) {
            Some((k, at)) => (k.clone(), *at),
            None => return Err(IndexError::NotFound),
        };
        self.by_time.remove(&(old, key.clone()));
        self.run_time_of.insert(key.clone(), run_at);
        self.by_time.insert((run_at, key), job);
        Ok(())
    }

    pub fn remove(&mut self, id: &str) -> Result<J, IndexError> {
        let (key, at) = self.run_time_of.remove_entry(id).ok_or(IndexError::NotFound)?;
        self.by_time.remove(&(at, key)).ok_or(IndexError::NotFound)
    }

    pub fn clear(&mut self) -> Vec<J> {
        self.run_time_of.clear();
        std::mem::take(&mut self.by_time).into_values().collect()
    }

    /// Jobs whose run time is at or before `now`, earliest first.
    pub fn due(&self, now: i64) -> impl Iterator<Item = &J> {
        self.by_time.iter().take_while(move |((at, _), _)| *at != PAUSED && *at <= now).map(|(_, job)| job)
    }

    /// The earliest run time of a job that is not paused.
    pub fn next_run_time(&self) -> Option<i64> {
        self.by_time.keys().next().map(|(at, _)| *at).filter(|at| *at != PAUSED)
    }

    /// All jobs in order, paused last.
    pub fn iter(&self) -> impl Iterator<Item = &J> {
        self.by_time.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(entries: &[(&str, i64)]) -> MemoryIndex<String> {
        let mut idx = MemoryIndex::default();
        for (id, at) in entries {
            idx.add(Arc::from(*id), *at, id.to_string()).unwrap();
        }
        idx
    }

    #[test]
    fn orders_by_time_then_id_with_paused_last() {
        let idx = index(&[("paused", PAUSED), ("b-later", 3), ("mid", 2), ("z-early", 1), ("a-early", 1)]);
        let order: Vec<_> = idx.iter().cloned().collect();
        assert_eq!(order, ["a-early", "z-early", "mid", "b-later", "paused"]);
    }

    #[test]
    fn due_stops_at_now_and_at_paused_jobs() {
        let idx = index(&[("a", 1), ("b", 5), ("p", PAUSED)]);
        assert_eq!(idx.due(4).cloned().collect::<Vec<_>>(), ["a"]);
        assert_eq!(idx.due(i64::MAX - 1).count(), 2);
        assert_eq!(idx.next_run_time(), Some(1));
    }

    #[test]
    fn update_moves_and_remove_forgets() {
        let mut idx = index(&[("a", 1), ("b", 5)]);
        idx.update("a", 9, "a2".into()).unwrap();
        assert_eq!(idx.iter().cloned().collect::<Vec<_>>(), ["b", "a2"]);
        assert_eq!(idx.get("a").map(String::as_str), Some("a2"));
        assert_eq!(idx.add(Arc::from("a"), 3, "dup".into()), Err(IndexError::Conflict));
        assert_eq!(idx.remove("a"), Ok("a2".to_string()));
        assert_eq!(idx.remove("a"), Err(IndexError::NotFound));
        assert_eq!(idx.update("zz", 1, "x".into()), Err(IndexError::NotFound));
        assert_eq!(idx.len(), 1);
    }

    #[test]
    fn all_paused_means_no_next_run_time() {
        let idx = index(&[("p", PAUSED)]);
        assert_eq!(idx.next_run_time(), None);
        assert_eq!(idx.due(i64::MAX).count(), 0);
    }
}
