//! A chunk of rows as [`RowStore::all_chunks`](super::RowStore::all_chunks) reads them: the
//! ids and states side by side in one buffer. Reading 100,000 rows into one `String` and one
//! `Vec<u8>` each cost more than SQLite's own scan (two allocations per row, in memory the
//! process had never touched); a chunk is filled, decoded, emptied and filled again.

use super::CHUNK_ROWS;

#[derive(Default)]
pub struct RowChunk {
    bytes: Vec<u8>,
    rows: Vec<RowSpan>,
}

/// One row: its id at `bytes[start..id_end]`, its state at `bytes[id_end..end]`.
struct RowSpan {
    start: usize,
    id_end: usize,
    end: usize,
    next_run_time: Option<f64>,
}

impl RowChunk {
    pub fn push(&mut self, id: &str, next_run_time: Option<f64>, state: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(id.as_bytes());
        let id_end = self.bytes.len();
        self.bytes.extend_from_slice(state);
        self.rows.push(RowSpan { start, id_end, end: self.bytes.len(), next_run_time });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether the reader should hand this chunk on.
    pub fn is_full(&self) -> bool {
        self.rows.len() >= CHUNK_ROWS
    }

    /// Empties the chunk, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.rows.clear();
    }

    /// `(id, next_run_time, state)` of each row, in the order they were pushed.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = (&str, Option<f64>, &[u8])> {
        self.rows.iter().map(|r| {
            // Pushed as a `&str`, so always valid UTF-8.
            let id = std::str::from_utf8(&self.bytes[r.start..r.id_end]).unwrap_or_default();
            (id, r.next_run_time, &self.bytes[r.id_end..r.end])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_pushed_and_clear_keeps_the_memory() {
        let mut chunk = RowChunk::default();
        chunk.push("a", Some(1.5), b"state-a");
        chunk.push("", None, b"");
        chunk.push("job-c", Some(-2.0), &[0, 255, 7]);
        let rows: Vec<_> = chunk.rows().collect();
        assert_eq!(
            rows,
            vec![("a", Some(1.5), &b"state-a"[..]), ("", None, &b""[..]), ("job-c", Some(-2.0), &[0u8, 255, 7][..])]
        );
        let capacity = chunk.bytes.capacity();
        chunk.clear();
        assert!(chunk.is_empty() && chunk.rows().next().is_none());
        assert_eq!(chunk.bytes.capacity(), capacity);
    }
}
