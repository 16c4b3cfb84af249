//! The job table in SQLite, through rusqlite (the system's libsqlite3; feature
//! `bundled-sqlite` compiles one in).
//!
//! One connection per store, behind a mutex, opened on first use. Files run in WAL mode with
//! `synchronous=NORMAL`: a commit survives the process being killed at any moment (only a
//! power loss can take the last commits back). The log is copied into the database by a
//! thread of its own ([`Checkpointer`]), not by the commits. Writers from other processes
//! wait up to [`BUSY_TIMEOUT`] for the file lock. A claim is one `BEGIN IMMEDIATE` transaction, so two
//! processes never read the same due row before one of them has moved it on.

use super::checkpointer::{BACKSTOP_PAGES, Checkpointer, LOG_SIZE_LIMIT};
use super::{Change, Row, RowChunk, RowError, RowResult, RowStore, TableNames, is_plain, paused_last, quote_double};
use crate::core::store::cluster::{
    CLAIMED, ClaimContext, Decision, DueBatch, LOST, LOST_RUN_RETENTION, LostRun, RUNNING, RunKey, decode_run_times,
    encode_run_times, pair_adopted,
};
use parking_lot::Mutex;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct SqliteRows {
    /// `None`: in memory.
    path: Option<String>,
    /// Shared with siblings only for an in-memory database (there is no second connection to it).
    conn: Arc<Mutex<Option<Open>>>,
    sql: Sql,
}

/// An open connection, and its file's checkpointer (none in memory).
struct Open {
    conn: Connection,
    checkpointer: Option<Arc<Checkpointer>>,
}

/// The statements, with the table names filled in.
struct Sql {
    table: String,
    side: String,
    nodes: String,
    runs: String,
    names: TableNames,
}

fn quote(name: &str) -> String {
    if is_plain(name) { name.to_owned() } else { quote_double(name) }
}

fn backend(e: rusqlite::Error) -> RowError {
    RowError::Backend(format!("sqlite: {e}"))
}

use crate::core::clock::unix_seconds as now_ts;

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row { id: r.get(0)?, next_run_time: r.get(1)?, state: r.get(2)? })
}

impl SqliteRows {
    /// `path` `None` is a private in-memory database. Nothing is opened until first use.
    pub fn new(path: Option<String>, names: TableNames) -> Self {
        let sql = Sql {
            table: names.qualified(&names.table, quote),
            side: names.qualified(&names.side_table(), quote),
            nodes: names.qualified(&names.nodes_table(), quote),
            runs: names.qualified(&names.runs_table(), quote),
            names,
        };
        SqliteRows { path, conn: Arc::new(Mutex::new(None)), sql }
    }

    fn open(&self) -> rusqlite::Result<Open> {
        let conn = match &self.path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let Some(path) = &self.path else { return Ok(Open { conn, checkpointer: None }) };
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let checkpointer = Checkpointer::for_file(path);
        if checkpointer.is_some() {
            conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)?;
            conn.pragma_update(None, "journal_size_limit", LOG_SIZE_LIMIT)?;
        }
        Ok(Open { conn, checkpointer })
    }

    /// Runs `f` on the (opened on demand) connection; the outer error is failing to open it.
    fn connection<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> RowResult<rusqlite::Result<T>> {
        let mut guard = self.conn.lock();
        if guard.is_none() {
            *guard = Some(self.open().map_err(backend)?);
        }
        let Some(open) = guard.as_mut() else { return Err(RowError::Backend("sqlite: no connection".into())) };
        let result = f(&mut open.conn);
        if let Some(checkpointer) = &open.checkpointer {
            checkpointer.note_use();
        }
        Ok(result)
    }

    /// Runs `f` on the (opened on demand) connection.
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> RowResult<T> {
        self.connection(f)?.map_err(backend)
    }

    fn table_exists(conn: &Connection, schema: Option<&str>, name: &str) -> rusqlite::Result<bool> {
        let master = match schema {
            Some(s) => format!("{}.sqlite_master", quote_double(s)),
            None => "sqlite_master".to_owned(),
        };
        let sql = format!("SELECT 1 FROM {master} WHERE type = 'table' AND name = ?1");
        conn.query_row(&sql, [name], |_| Ok(())).optional().map(|r| r.is_some())
    }
}

impl RowStore for SqliteRows {
    fn create_tables(&self) -> RowResult<()> {
        let s = &self.sql;
        self.with(|conn| {
            // One writer at a time: schedulers starting together must not race to create.
            let conn = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let schema = s.names.schema.as_deref();
            // The exact DDL text SQLAlchemy emits, so the file looks the same as APScheduler's.
            if !Self::table_exists(&conn, schema, &s.names.table)? {
                conn.execute_batch(&format!(
                    "CREATE TABLE {} (\n\tid VARCHAR(191) NOT NULL, \n\tnext_run_time FLOAT, \n\t\
                     job_state BLOB NOT NULL, \n\tPRIMARY KEY (id)\n);\n\
                     CREATE INDEX {} ON {} (next_run_time);",
                    s.table,
                    s.names.qualified(&s.names.index(), quote),
                    quote(&s.names.table),
                ))?;
            }
            if !Self::table_exists(&conn, schema, &s.names.side_table())? {
                conn.execute_batch(&format!(
                    "CREATE TABLE {} (id VARCHAR(191) NOT NULL, next_run_time FLOAT, \
                     job_state BLOB NOT NULL, error TEXT NOT NULL, set_aside_at FLOAT NOT NULL)",
                    s.side
                ))?;
            }
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {} (node_id VARCHAR(191) NOT NULL PRIMARY KEY, \
                 lease_until FLOAT NOT NULL);\n\
                 CREATE TABLE IF NOT EXISTS {} (job_id VARCHAR(191) NOT NULL, run_time FLOAT NOT NULL, \
                 run_times TEXT NOT NULL, node_id VARCHAR(191) NOT NULL, state INTEGER NOT NULL, \
                 changed_at FLOAT NOT NULL, PRIMARY KEY (job_id, run_time));",
                s.nodes, s.runs
            ))?;
            conn.commit()
        })
    }

    fn insert(&self, row: &Row) -> RowResult<()> {
        let sql = format!("INSERT INTO {} (id, next_run_time, job_state) VALUES (?1, ?2, ?3)", self.sql.table);
        let result = self.connection(|conn| {
            conn.prepare_cached(&sql).and_then(|mut st| st.execute(params![row.id, row.next_run_time, row.state]))
        })?;
        match result {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
                Err(RowError::Conflict)
            }
            Err(e) => Err(backend(e)),
        }
    }

    fn update(&self, row: &Row) -> RowResult<()> {
        let sql = format!("UPDATE {} SET next_run_time = ?2, job_state = ?3 WHERE id = ?1", self.sql.table);
        let n = self.with(|c| c.prepare_cached(&sql)?.execute(params![row.id, row.next_run_time, row.state]))?;
        if n == 0 { Err(RowError::NotFound) } else { Ok(()) }
    }

    fn delete(&self, id: &str) -> RowResult<()> {
        let sql = format!("DELETE FROM {} WHERE id = ?1", self.sql.table);
        let n = self.with(|c| c.prepare_cached(&sql)?.execute([id]))?;
        if n == 0 { Err(RowError::NotFound) } else { Ok(()) }
    }

    fn delete_all(&self) -> RowResult<()> {
        let sql = format!("DELETE FROM {}", self.sql.table);
        self.with(|c| c.execute(&sql, []).map(drop))
    }

    fn lookup(&self, id: &str) -> RowResult<Option<Vec<u8>>> {
        let sql = format!("SELECT job_state FROM {} WHERE id = ?1", self.sql.table);
        self.with(|c| c.prepare_cached(&sql)?.query_row([id], |r| r.get(0)).optional())
    }

    fn due(&self, now: f64) -> RowResult<Vec<Row>> {
        let sql = format!(
            "SELECT id, next_run_time, job_state FROM {} WHERE next_run_time <= ?1 ORDER BY next_run_time",
            self.sql.table
        );
        self.with(|c| c.prepare_cached(&sql)?.query_map([now], read_row)?.collect())
    }

    fn all(&self) -> RowResult<Vec<Row>> {
        // One pass over the table, then a stable sort by run time: the order of `ORDER BY
        // next_run_time` (NULL first, ties in table order, as the index keeps them) without
        // looking every index entry up in the table (cold start of issue #4).
        let sql = format!("SELECT id, next_run_time, job_state FROM {}", self.sql.table);
        let mut rows: Vec<Row> = self.with(|c| c.prepare_cached(&sql)?.query_map([], read_row)?.collect())?;
        rows.sort_by(|a, b| match (a.next_run_time, b.next_run_time) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
            (x, y) => x.is_some().cmp(&y.is_some()),
        });
        paused_last(&mut rows);
        Ok(rows)
    }

    fn all_chunks(&self, full: &mut dyn FnMut(RowChunk) -> RowChunk) -> RowResult<()> {
        let sql = format!("SELECT id, next_run_time, job_state FROM {}", self.sql.table);
        self.with(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let mut rows = stmt.query([])?;
            let mut chunk = RowChunk::default();
            while let Some(r) = rows.next()? {
                // Copied straight from SQLite's buffers into the chunk.
                chunk.push(r.get_ref(0)?.as_str()?, r.get(1)?, r.get_ref(2)?.as_blob()?);
                if chunk.is_full() {
                    chunk = full(chunk);
                }
            }
            if !chunk.is_empty() {
                full(chunk);
            }
            Ok(())
        })
    }

    fn next_run_time(&self) -> RowResult<Option<f64>> {
        let sql = format!(
            "SELECT next_run_time FROM {} WHERE next_run_time IS NOT NULL ORDER BY next_run_time LIMIT 1",
            self.sql.table
        );
        self.with(|c| c.prepare_cached(&sql)?.query_row([], |r| r.get(0)).optional())
    }

    fn set_aside(&self, rows: &[(String, String)]) -> RowResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            set_aside_in(&tx, &self.sql, rows)?;
            tx.commit()
        })
    }

    fn set_aside_rows(&self) -> RowResult<Vec<(String, String)>> {
        let sql = format!("SELECT id, error FROM {} ORDER BY set_aside_at", self.sql.side);
        self.with(|c| c.prepare(&sql)?.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
    }

    fn restore_set_aside(&self) -> RowResult<usize> {
        let s = &self.sql;
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let ids: Vec<i64> = tx
                .prepare(&format!("SELECT rowid FROM {}", s.side))?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let mut moved = 0;
            for rowid in ids {
                let n = tx.execute(
                    &format!(
                        "INSERT OR IGNORE INTO {} (id, next_run_time, job_state) \
                         SELECT id, next_run_time, job_state FROM {} WHERE rowid = ?1",
                        s.table, s.side
                    ),
                    [rowid],
                )?;
                if n == 1 {
                    tx.execute(&format!("DELETE FROM {} WHERE rowid = ?1", s.side), [rowid])?;
                    moved += 1;
                }
            }
            tx.commit()?;
            Ok(moved)
        })
    }

    fn claim(&self, cx: &ClaimContext<'_>, decide: &mut dyn FnMut(DueBatch) -> Decision) -> RowResult<()> {
        let s = &self.sql;
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let due: Vec<Row> = tx
                .prepare_cached(&format!(
                    "SELECT id, next_run_time, job_state FROM {} WHERE next_run_time <= ?1 ORDER BY next_run_time",
                    s.table
                ))?
                .query_map([cx.now], read_row)?
                .collect::<Result<_, _>>()?;
            let (adopted, lost) = reap(&tx, s, cx)?;
            if due.is_empty() && adopted.is_empty() && lost.is_empty() {
                return tx.commit();
            }
            let busy: HashMap<String, usize> = tx
                .prepare_cached(&format!(
                    "SELECT job_id, count(*) FROM {} WHERE state < {LOST} GROUP BY job_id",
                    s.runs
                ))?
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
                .collect::<Result<_, _>>()?;
            let mut rows = HashMap::new();
            for (id, _) in &adopted {
                let sql = format!("SELECT id, next_run_time, job_state FROM {} WHERE id = ?1", s.table);
                if let Some(row) = tx.prepare_cached(&sql)?.query_row([id], read_row).optional()? {
                    rows.insert(id.clone(), row);
                }
            }
            let adopted = pair_adopted(adopted, &rows);
            let decision = decide(DueBatch { due, busy, adopted, lost });
            let mut aside = Vec::new();
            {
                let mut update = tx.prepare_cached(&format!(
                    "UPDATE {} SET next_run_time = ?2, job_state = ?3 WHERE id = ?1",
                    s.table
                ))?;
                let mut delete = tx.prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", s.table))?;
                for change in decision.changes {
                    match change {
                        Change::Update(r) => {
                            update.execute(params![r.id, r.next_run_time, r.state])?;
                        }
                        Change::Delete(id) => {
                            delete.execute([id])?;
                        }
                        Change::SetAside { id, error } => aside.push((id, error)),
                    }
                }
                let mut record = tx.prepare_cached(&format!(
                    "INSERT OR REPLACE INTO {} (job_id, run_time, run_times, node_id, state, changed_at) \
                     VALUES (?1, ?2, ?3, ?4, {CLAIMED}, ?5)",
                    s.runs
                ))?;
                for sub in decision.submissions {
                    let key = sub.key();
                    record.execute(params![
                        key.job_id,
                        key.run_time,
                        encode_run_times(&sub.run_times),
                        cx.node,
                        cx.now
                    ])?;
                }
            }
            set_aside_in(&tx, s, &aside)?;
            tx.commit()
        })
    }

    fn heartbeat(&self, node: &str, lease_until: f64) -> RowResult<bool> {
        let s = &self.sql;
        self.with(|conn| {
            let renewed = conn
                .prepare_cached(&format!("UPDATE {} SET lease_until = ?2 WHERE node_id = ?1", s.nodes))?
                .execute(params![node, lease_until])?;
            if renewed == 0 {
                conn.prepare_cached(&format!(
                    "INSERT OR REPLACE INTO {} (node_id, lease_until) VALUES (?1, ?2)",
                    s.nodes
                ))?
                .execute(params![node, lease_until])?;
            }
            Ok(renewed == 1)
        })
    }

    fn start_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<Vec<bool>> {
        self.finish_and_start_runs(node, &[], keys)
    }

    fn finish_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<()> {
        self.finish_and_start_runs(node, keys, &[]).map(drop)
    }

    /// One write transaction: the ended runs' rows go, the starting ones become RUNNING.
    fn finish_and_start_runs(&self, node: &str, ended: &[RunKey], keys: &[RunKey]) -> RowResult<Vec<bool>> {
        let s = &self.sql;
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut started = Vec::with_capacity(keys.len());
            if !ended.is_empty() {
                let mut delete = tx.prepare_cached(&format!(
                    "DELETE FROM {} WHERE job_id = ?1 AND run_time = ?2 AND node_id = ?3 AND state < {LOST}",
                    s.runs
                ))?;
                for key in ended {
                    delete.execute(params![key.job_id, key.run_time, node])?;
                }
            }
            if !keys.is_empty() {
                let mut flip = tx.prepare_cached(&format!(
                    "UPDATE {} SET state = {RUNNING}, changed_at = ?4 \
                     WHERE job_id = ?1 AND run_time = ?2 AND node_id = ?3 AND state = {CLAIMED}",
                    s.runs
                ))?;
                let at = now_ts();
                for key in keys {
                    started.push(flip.execute(params![key.job_id, key.run_time, node, at])? == 1);
                }
            }
            tx.commit()?;
            Ok(started)
        })
    }

    fn lost_runs(&self) -> RowResult<Vec<LostRun>> {
        let sql =
            format!("SELECT job_id, run_time, node_id FROM {} WHERE state = {LOST} ORDER BY changed_at", self.sql.runs);
        self.with(|c| {
            c.prepare(&sql)?
                .query_map([], |r| Ok(LostRun { job_id: r.get(0)?, run_time: r.get(1)?, node_id: r.get(2)? }))?
                .collect()
        })
    }

    fn leave(&self, node: &str) -> RowResult<()> {
        let sql = format!("DELETE FROM {} WHERE node_id = ?1", self.sql.nodes);
        self.with(|c| c.execute(&sql, [node]).map(drop))
    }

    fn sibling(&self) -> Arc<dyn RowStore> {
        let mut sibling = SqliteRows::new(self.path.clone(), self.sql.names.clone());
        if self.path.is_none() {
            sibling.conn = self.conn.clone();
        }
        Arc::new(sibling)
    }

    fn close(&self) {
        if self.path.is_some() {
            // Closed outside the lock: the file's last connection checkpoints, and the
            // checkpointer's last handle waits for its thread.
            let open = self.conn.lock().take();
            drop(open);
        }
    }
}

/// Reaps dead nodes inside a claim: `(adopted (job id, run times), lost runs)`.
#[allow(clippy::type_complexity)]
fn reap(
    tx: &rusqlite::Transaction<'_>,
    s: &Sql,
    cx: &ClaimContext<'_>,
) -> rusqlite::Result<(Vec<(String, Vec<f64>)>, Vec<LostRun>)> {
    let (nodes, runs) = (&s.nodes, &s.runs);
    tx.prepare_cached(&format!("DELETE FROM {nodes} WHERE lease_until < ?1 AND node_id <> ?2"))?
        .execute(params![cx.dead_before, cx.node])?;
    let orphaned = format!("node_id NOT IN (SELECT node_id FROM {nodes})");
    let adopted: Vec<(String, Vec<f64>)> = tx
        .prepare_cached(&format!(
            "DELETE FROM {runs} WHERE state = {CLAIMED} AND {orphaned} RETURNING job_id, run_times"
        ))?
        .query_map([], |r| Ok((r.get(0)?, decode_run_times(&r.get::<_, String>(1)?))))?
        .collect::<Result<_, _>>()?;
    let lost: Vec<LostRun> = tx
        .prepare_cached(&format!(
            "UPDATE {runs} SET state = {LOST}, changed_at = ?1 WHERE state = {RUNNING} AND {orphaned} \
             RETURNING job_id, run_time, node_id"
        ))?
        .query_map([cx.now], |r| Ok(LostRun { job_id: r.get(0)?, run_time: r.get(1)?, node_id: r.get(2)? }))?
        .collect::<Result<_, _>>()?;
    tx.prepare_cached(&format!("DELETE FROM {runs} WHERE state = {LOST} AND changed_at < ?1"))?
        .execute([cx.now - LOST_RUN_RETENTION])?;
    Ok((adopted, lost))
}

fn set_aside_in(tx: &rusqlite::Transaction<'_>, s: &Sql, rows: &[(String, String)]) -> rusqlite::Result<()> {
    let at = now_ts();
    for (id, error) in rows {
        tx.execute(
            &format!(
                "INSERT INTO {} (id, next_run_time, job_state, error, set_aside_at) \
                 SELECT id, next_run_time, job_state, ?2, ?3 FROM {} WHERE id = ?1",
                s.side, s.table
            ),
            params![id, error, at],
        )?;
        tx.execute(&format!("DELETE FROM {} WHERE id = ?1", s.table), [id])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SqliteRows {
        let s = SqliteRows::new(None, TableNames::new("apscheduler_jobs", None));
        s.create_tables().unwrap();
        s
    }

    fn row(id: &str, t: Option<f64>) -> Row {
        Row { id: id.into(), next_run_time: t, state: id.as_bytes().to_vec() }
    }

    #[test]
    fn crud_and_errors() {
        let s = store();
        s.insert(&row("a", Some(2.0))).unwrap();
        assert_eq!(s.insert(&row("a", Some(1.0))), Err(RowError::Conflict));
        assert_eq!(s.update(&row("zz", None)), Err(RowError::NotFound));
        assert_eq!(s.delete("zz"), Err(RowError::NotFound));
        assert_eq!(s.lookup("a").unwrap(), Some(b"a".to_vec()));
        assert_eq!(s.lookup("b").unwrap(), None);
        s.delete("a").unwrap();
        assert!(s.all().unwrap().is_empty());
    }

    #[test]
    fn ordering_due_and_next() {
        let s = store();
        for (id, t) in [("p", None), ("late", Some(3.0)), ("early", Some(1.0)), ("mid", Some(2.0))] {
            s.insert(&row(id, t)).unwrap();
        }
        let ids: Vec<_> = s.all().unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["early", "mid", "late", "p"]);
        let due: Vec<_> = s.due(2.0).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(due, ["early", "mid"]);
        assert_eq!(s.next_run_time().unwrap(), Some(1.0));
    }

    #[test]
    fn claim_applies_every_change_and_sets_rows_aside() {
        let s = store();
        for (id, t) in [("again", Some(1.0)), ("once", Some(1.0)), ("bad", Some(1.0)), ("later", Some(9.0))] {
            s.insert(&row(id, t)).unwrap();
        }
        s.claim(&ClaimContext { node: "n", now: 5.0, dead_before: 0.0 }, &mut |batch| {
            assert_eq!(batch.due.len(), 3);
            Decision {
                changes: vec![
                    Change::Update(Row { id: "again".into(), next_run_time: Some(6.0), state: b"v2".to_vec() }),
                    Change::Delete("once".into()),
                    Change::SetAside { id: "bad".into(), error: "boom".into() },
                ],
                submissions: vec![],
            }
        })
        .unwrap();
        let ids: Vec<_> = s.all().unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["again", "later"]);
        assert_eq!(s.lookup("again").unwrap(), Some(b"v2".to_vec()));
        assert_eq!(s.set_aside_rows().unwrap(), [("bad".to_string(), "boom".to_string())]);
        assert_eq!(s.restore_set_aside().unwrap(), 1);
        assert_eq!(s.lookup("bad").unwrap(), Some(b"bad".to_vec()));
        assert!(s.set_aside_rows().unwrap().is_empty());
    }

    #[test]
    fn two_connections_to_one_file_claim_each_run_once() {
        let dir = std::env::temp_dir().join(format!("aps-rs-claim-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("jobs.sqlite").to_string_lossy().into_owned();
        let _ = std::fs::remove_file(&path);
        let names = TableNames::new("apscheduler_jobs", None);
        let a = std::sync::Arc::new(SqliteRows::new(Some(path.clone()), names.clone()));
        let b = std::sync::Arc::new(SqliteRows::new(Some(path.clone()), names));
        a.create_tables().unwrap();
        for i in 0..200 {
            a.insert(&row(&format!("j{i}"), Some(1.0))).unwrap();
        }
        let claim = |s: std::sync::Arc<SqliteRows>| {
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                s.claim(&ClaimContext { node: "n", now: 5.0, dead_before: 0.0 }, &mut |batch| {
                    let changes = batch
                        .due
                        .into_iter()
                        .map(|r| {
                            seen.push(r.id.clone());
                            Change::Update(Row { next_run_time: Some(100.0), ..r })
                        })
                        .collect();
                    Decision { changes, submissions: vec![] }
                })
                .unwrap();
                seen
            })
        };
        let (ha, hb) = (claim(a.clone()), claim(b.clone()));
        let (sa, sb) = (ha.join().unwrap(), hb.join().unwrap());
        assert_eq!(sa.len() + sb.len(), 200, "every due row claimed exactly once");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
