//! Row storage for the SQL job stores: APScheduler's table, in pure Rust.
//!
//! A job is one row `(id, next_run_time, job_state)`: the id (at most 191 characters), the
//! UTC POSIX timestamp of its next run as a float (`NULL` while paused) and the opaque
//! serialized state (a pickle, made and read by the binding layer). The table layout is
//! APScheduler 3.x's, so databases move between both libraries.
//!
//! Beside it lives `{table}_unrestorable`: rows whose state could not be restored are moved
//! there (bytes untouched, with the error text and the time), never deleted.
//!
//! Atomicity contract of [`RowStore::claim`]: the due rows are read, decided on and changed
//! in ONE transaction that excludes every other claimer of the same rows (SQLite:
//! `BEGIN IMMEDIATE`; PostgreSQL and MySQL: `SELECT … FOR UPDATE SKIP LOCKED`). Several
//! processes sharing one table therefore each see a due run once. The node and run tables of
//! [`cluster`](crate::core::store::cluster) sit beside it: `{table}_nodes`, `{table}_runs`.
//!
//! | file | backend |
//! | --- | --- |
//! | `url.rs` | parses SQLAlchemy-style URLs into a backend choice |
//! | `sqlite.rs` | rusqlite (the system's SQLite, WAL) |
//! | `checkpointer.rs` | copies a SQLite file's log into it, off the committing thread |
//! | `postgres.rs` | the `postgres` client (feature `postgres`) |
//! | `mysql.rs` | the `mysql` client, for MySQL and MariaDB (feature `mysql`) |

pub mod checkpointer;
pub mod chunk;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;
pub mod url;

use crate::core::store::cluster::{ClaimContext, Decision, DueBatch, LostRun, RunKey};
pub use chunk::RowChunk;
use std::sync::Arc;

/// One stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    /// UTC POSIX timestamp; `None` for a paused job.
    pub next_run_time: Option<f64>,
    pub state: Vec<u8>,
}

/// What a claimer decided for one due row.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// New next run time and state.
    Update(Row),
    /// The job has no further run: remove it.
    Delete(String),
    /// The state cannot be restored: move the row aside with this error text.
    SetAside { id: String, error: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum RowError {
    /// `insert` of an id that exists.
    Conflict,
    /// `update` / `delete` of an id that does not exist.
    NotFound,
    /// The database failed (connection lost, locked too long, disk full …): worth retrying.
    Backend(String),
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowError::Conflict => f.write_str("conflicting id"),
            RowError::NotFound => f.write_str("no such id"),
            RowError::Backend(e) => f.write_str(e),
        }
    }
}

pub type RowResult<T> = Result<T, RowError>;

/// APScheduler's table in some database. Every method is one transaction.
pub trait RowStore: Send + Sync {
    /// Creates the job table, its index and the side table when missing.
    fn create_tables(&self) -> RowResult<()>;
    fn insert(&self, row: &Row) -> RowResult<()>;
    fn update(&self, row: &Row) -> RowResult<()>;
    fn delete(&self, id: &str) -> RowResult<()>;
    fn delete_all(&self) -> RowResult<()>;
    fn lookup(&self, id: &str) -> RowResult<Option<Vec<u8>>>;
    /// Rows with `next_run_time <= now`, earliest first.
    fn due(&self, now: f64) -> RowResult<Vec<Row>>;
    /// Every row, earliest first, paused rows last.
    fn all(&self) -> RowResult<Vec<Row>>;
    /// Every row, in chunks as they are read and in no particular order (so that the caller
    /// decodes while the rest arrives); [`in_schedule_order`] gives the order of [`Self::all`].
    /// `full` takes each filled chunk and gives back an empty one to fill next (the caller
    /// recycles chunks it has decoded).
    fn all_chunks(&self, full: &mut dyn FnMut(RowChunk) -> RowChunk) -> RowResult<()> {
        let mut chunk = RowChunk::default();
        for row in self.all()? {
            chunk.push(&row.id, row.next_run_time, &row.state);
        }
        full(chunk);
        Ok(())
    }
    fn next_run_time(&self) -> RowResult<Option<f64>>;
    /// Moves these rows (id, error text) to the side table, in one transaction.
    fn set_aside(&self, rows: &[(String, String)]) -> RowResult<()>;
    /// `(id, error)` of every row in the side table, oldest first.
    fn set_aside_rows(&self) -> RowResult<Vec<(String, String)>>;
    /// Moves the side table's rows back (their ids must be free), returns how many moved.
    fn restore_set_aside(&self) -> RowResult<usize>;
    /// Takes the due rows, reaps dead nodes (see [`cluster`](crate::core::store::cluster)),
    /// lets `decide` turn both into changes and submissions, and applies those — schedule
    /// changes and the submissions recorded for `cx.node` — in one transaction (see the
    /// module doc). A store that retries after a conflict calls `decide` again (with an empty
    /// batch if nothing is due any more): only the last call counts.
    fn claim(&self, cx: &ClaimContext<'_>, decide: &mut dyn FnMut(DueBatch) -> Decision) -> RowResult<()>;
    /// Registers `node` or extends its lease. `false`: the node had been reaped (taken for
    /// dead) and is registered anew; its unstarted submissions belong to others now.
    fn heartbeat(&self, node: &str, lease_until: f64) -> RowResult<bool>;
    /// The fence: flips each submission of `node` from CLAIMED to RUNNING, in one transaction.
    /// `false` for a submission that is no longer `node`'s to start.
    fn start_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<Vec<bool>>;
    /// Deletes ended (or never started) submissions of `node`; others' rows are left alone.
    fn finish_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<()>;
    /// `finish_runs(ended)` then `start_runs(keys)`; a store that can do both in one round
    /// trip does.
    fn finish_and_start_runs(&self, node: &str, ended: &[RunKey], keys: &[RunKey]) -> RowResult<Vec<bool>> {
        if !ended.is_empty() {
            self.finish_runs(node, ended)?;
        }
        self.start_runs(node, keys)
    }
    /// Runs that started on a node that died, oldest first.
    fn lost_runs(&self) -> RowResult<Vec<LostRun>>;
    /// Unregisters `node` (a clean shutdown).
    fn leave(&self, node: &str) -> RowResult<()>;
    /// Another handle on the same store with a connection of its own (for the lease thread).
    fn sibling(&self) -> Arc<dyn RowStore>;
    /// Closes connections; later calls reconnect.
    fn close(&self);
}

/// APScheduler's `datetime_to_utc_timestamp`: whole seconds plus the microseconds as a
/// fraction, added in that order (so the float is bit-for-bit the one APScheduler stores).
pub fn micros_to_timestamp(micros: i64) -> f64 {
    micros.div_euclid(1_000_000) as f64 + micros.rem_euclid(1_000_000) as f64 / 1e6
}

/// A stored timestamp back to epoch microseconds, rounded to the nearest microsecond.
pub fn timestamp_to_micros(ts: f64) -> i64 {
    let secs = ts.floor();
    secs as i64 * 1_000_000 + ((ts - secs) * 1e6).round() as i64
}

/// Moves a leading run of paused rows (backends that sort NULL first) to the end.
pub fn paused_last(rows: &mut [Row]) {
    if let Some(first) = rows.iter().position(|r| r.next_run_time.is_some()) {
        rows.rotate_left(first);
    }
}

/// Rows per chunk of [`RowStore::all_chunks`] (about 0.5 MB of APScheduler's job states).
pub const CHUNK_ROWS: usize = 1_024;

/// The positions of `times` (each row's `next_run_time`) in the order of [`RowStore::all`]:
/// earliest first, ties in their given order, paused rows last.
pub fn in_schedule_order(times: &[Option<f64>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|a, b| match (times[*a], times[*b]) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        (x, y) => x.is_none().cmp(&y.is_none()),
    });
    order
}

/// The longest identifier a backend takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameLimit {
    /// SQLite.
    None,
    /// PostgreSQL: 63 bytes (NAMEDATALEN - 1).
    Bytes(usize),
    /// MySQL and MariaDB: 64 characters.
    Chars(usize),
}

impl NameLimit {
    pub const POSTGRES: NameLimit = NameLimit::Bytes(63);
    pub const MYSQL: NameLimit = NameLimit::Chars(64);

    fn len(self, name: &str) -> usize {
        match self {
            NameLimit::Bytes(_) => name.len(),
            _ => name.chars().count(),
        }
    }

    fn max(self) -> usize {
        match self {
            NameLimit::None => usize::MAX,
            NameLimit::Bytes(n) | NameLimit::Chars(n) => n,
        }
    }
}

fn md5_hex(text: &str) -> String {
    use md5::Digest;
    md5::Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Identifier names of one job table.
#[derive(Debug, Clone)]
pub struct TableNames {
    pub table: String,
    pub schema: Option<String>,
    pub limit: NameLimit,
}

impl TableNames {
    pub fn new(table: impl Into<String>, schema: Option<String>) -> Self {
        TableNames { table: table.into(), schema, limit: NameLimit::None }
    }

    /// `ix_{table}_next_run_time`, with the schema in front when there is one. Too long for
    /// the backend, it is shortened as SQLAlchemy does (so it names APScheduler's index):
    /// the first `max - 8` characters, `_` and the last 4 hex digits of the name's MD5.
    pub fn index(&self) -> String {
        let name = match &self.schema {
            Some(s) => format!("ix_{s}_{}_next_run_time", self.table),
            None => format!("ix_{}_next_run_time", self.table),
        };
        let max = self.limit.max();
        if name.chars().count() <= max {
            return name;
        }
        let head: String = name.chars().take(max - 8).collect();
        format!("{head}_{}", &md5_hex(&name)[28..])
    }

    /// `{table}{suffix}`; too long for the backend: the table name cut short, `_`, 8 hex
    /// digits of the full name's MD5, and the suffix. The suffix stays, so the side tables of
    /// one job table never collide; the hash keeps apart tables that share a long prefix.
    fn derived(&self, suffix: &str) -> String {
        let full = format!("{}{suffix}", self.table);
        let limit = self.limit;
        if limit.len(&full) <= limit.max() {
            return full;
        }
        let tail = format!("_{}{suffix}", &md5_hex(&full)[..8]);
        let mut head = self.table.clone();
        while limit.len(&head) + limit.len(&tail) > limit.max() {
            head.pop();
        }
        head + &tail
    }

    pub fn side_table(&self) -> String {
        self.derived("_unrestorable")
    }
    pub fn nodes_table(&self) -> String {
        self.derived("_nodes")
    }
    pub fn runs_table(&self) -> String {
        self.derived("_runs")
    }
    /// A quoted, schema-qualified name: `q` quotes one identifier.
    pub fn qualified(&self, name: &str, q: fn(&str) -> String) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", q(s), q(name)),
            None => q(name),
        }
    }
}

/// `"name"` with embedded quotes doubled (SQLite, PostgreSQL).
pub fn quote_double(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether a plain identifier needs no quoting (keeps the DDL text identical to SQLAlchemy's).
pub fn is_plain(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, t: Option<f64>) -> Row {
        Row { id: id.into(), next_run_time: t, state: vec![] }
    }

    #[test]
    fn schedule_order_is_by_time_stable_with_paused_rows_last() {
        let times = [Some(3.0), None, Some(1.0), Some(3.0), None, Some(2.0)];
        assert_eq!(in_schedule_order(&times), [2, 5, 0, 3, 1, 4]);
    }

    #[test]
    fn leading_paused_rows_move_to_the_end_in_order() {
        let mut rows = vec![row("p1", None), row("p2", None), row("a", Some(1.0)), row("b", Some(2.0))];
        paused_last(&mut rows);
        let ids: Vec<_> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "p1", "p2"]);
        let mut all_paused = vec![row("p1", None), row("p2", None)];
        paused_last(&mut all_paused);
        assert_eq!(all_paused[0].id, "p1");
    }

    #[test]
    fn timestamps_round_trip_like_apscheduler() {
        assert_eq!(micros_to_timestamp(1_893_456_000_123_456), 1_893_456_000.0 + 0.123456);
        for us in [0, 1, 999_999, 1_893_456_000_123_456, -1_500_000] {
            assert_eq!(timestamp_to_micros(micros_to_timestamp(us)), us);
        }
    }

    #[test]
    fn index_names_follow_sqlalchemy() {
        let t = TableNames::new("my_jobs", Some("sched".into()));
        assert_eq!(t.index(), "ix_sched_my_jobs_next_run_time");
        assert_eq!(t.qualified("my_jobs", quote_double), "\"sched\".\"my_jobs\"");
        assert!(is_plain("apscheduler_jobs"));
        assert!(!is_plain("Jobs"));
    }

    fn limited(table: &str, limit: NameLimit) -> TableNames {
        TableNames { limit, ..TableNames::new(table, None) }
    }

    #[test]
    fn long_index_names_are_shortened_as_sqlalchemy_does() {
        // Expected values printed by SQLAlchemy 2.0's CreateIndex for each dialect.
        let q = |n| "q".repeat(n);
        assert_eq!(limited(&q(47), NameLimit::MYSQL).index(), format!("ix_{}_next_run_time", q(47)));
        assert_eq!(limited(&q(48), NameLimit::MYSQL).index(), format!("ix_{}_next_8e84", q(48)));
        assert_eq!(limited(&q(47), NameLimit::POSTGRES).index(), format!("ix_{}_next_89a8", q(47)));
        assert_eq!(limited(&q(63), NameLimit::POSTGRES).index(), format!("ix_{}_27fc", q(52)));
        let t = TableNames { limit: NameLimit::MYSQL, ..TableNames::new(q(60), Some("sched".into())) };
        assert_eq!(t.index(), format!("ix_sched_{}_d5b9", q(47)));
        assert_eq!(limited(&q(200), NameLimit::None).index(), format!("ix_{}_next_run_time", q(200)));
    }

    #[test]
    fn side_table_names_fit_the_backend_and_stay_apart() {
        // Names that fit are kept as they always were.
        let short = limited(&"t".repeat(50), NameLimit::POSTGRES);
        assert_eq!(short.side_table(), format!("{}_unrestorable", short.table));
        assert_eq!(limited(&"t".repeat(200), NameLimit::None).runs_table(), format!("{}_runs", "t".repeat(200)));
        for (limit, max) in [(NameLimit::POSTGRES, 63), (NameLimit::MYSQL, 64)] {
            for table in ["a".repeat(max), "é".repeat(max), format!("{}b", "a".repeat(max - 1))] {
                let t = limited(&table, limit);
                let names = [t.side_table(), t.nodes_table(), t.runs_table()];
                for n in &names {
                    assert!(limit.len(n) <= max, "{n}");
                    assert!(n.starts_with(&table[..table.char_indices().nth(20).unwrap().0]), "{n}");
                    assert_ne!(n, &table);
                }
                assert!(names[0].ends_with("_unrestorable") && names[2].ends_with("_runs"));
                assert_eq!(names.iter().collect::<std::collections::HashSet<_>>().len(), 3);
            }
        }
        // Two long names with the same first 50 characters get different side tables.
        let (a, b) = (limited(&"x".repeat(63), NameLimit::POSTGRES), limited(&"x".repeat(62), NameLimit::POSTGRES));
        assert_ne!(a.side_table(), b.side_table());
        assert_eq!(a.side_table().len(), 63);
    }
}
