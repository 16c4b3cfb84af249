//! The job table in MySQL or MariaDB, through the synchronous `mysql` client.
//!
//! Same rules as the PostgreSQL store: one connection behind a mutex, reopened after a
//! connection-level error, and claims in one transaction with `FOR UPDATE SKIP LOCKED`
//! (MySQL 8.0+, MariaDB 10.6+). `job_state` is a `BLOB` as in APScheduler, so a job's pickled
//! state is limited to 64 KiB here too.

use super::url::MysqlOptions;
use super::{Change, NameLimit, Row, RowError, RowResult, RowStore, TableNames, paused_last};
use crate::core::clock::unix_seconds;
use crate::core::store::cluster::{
    CLAIMED, ClaimContext, Decision, DueBatch, LOST, LOST_RUN_RETENTION, LostRun, RUNNING, RunKey, decode_run_times,
    encode_run_times, pair_adopted,
};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, TxOpts};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

const DUPLICATE_KEY: u16 = 1062;

pub struct MysqlRows {
    url: String,
    options: MysqlOptions,
    conn: Mutex<Option<Conn>>,
    names: TableNames,
    table: String,
    side: String,
    nodes: String,
    runs: String,
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn backend(e: &mysql::Error) -> RowError {
    RowError::Backend(format!("mysql: {e}"))
}

type RawRow = (String, Option<f64>, Vec<u8>);

fn to_row((id, next_run_time, state): RawRow) -> Row {
    Row { id, next_run_time, state }
}

impl MysqlRows {
    pub fn new(url: String, options: MysqlOptions, names: TableNames) -> Self {
        let names = TableNames { limit: NameLimit::MYSQL, ..names };
        let table = names.qualified(&names.table, quote);
        let side = names.qualified(&names.side_table(), quote);
        let nodes = names.qualified(&names.nodes_table(), quote);
        let runs = names.qualified(&names.runs_table(), quote);
        MysqlRows { url, options, conn: Mutex::new(None), names, table, side, nodes, runs }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, mysql::Error>) -> RowResult<T> {
        let mut guard = self.conn.lock();
        if guard.is_none() {
            let opts = Opts::from_url(&self.url).map_err(|e| RowError::Backend(format!("mysql: {e}")))?;
            let o = &self.options;
            let opts = OptsBuilder::from_opts(opts)
                .tcp_connect_timeout(o.connect_timeout)
                .read_timeout(o.read_timeout)
                .write_timeout(o.write_timeout);
            *guard = Some(Conn::new(opts).map_err(|e| backend(&e))?);
        }
        let Some(conn) = guard.as_mut() else { return Err(RowError::Backend("mysql: no connection".into())) };
        f(conn).map_err(|e| {
            if !matches!(e, mysql::Error::MySqlError(_)) {
                *guard = None;
            }
            backend(&e)
        })
    }

    fn table_exists(c: &mut Conn, schema: Option<&str>, name: &str) -> Result<bool, mysql::Error> {
        let found: Option<i64> = c.exec_first(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?",
            (schema, name),
        )?;
        Ok(found.is_some())
    }
}

fn set_aside_in(
    c: &mut impl Queryable,
    table: &str,
    side: &str,
    rows: &[(String, String)],
) -> Result<(), mysql::Error> {
    let at = unix_seconds();
    for (id, error) in rows {
        c.exec_drop(
            format!(
                "INSERT INTO {side} (id, next_run_time, job_state, error, set_aside_at) \
                 SELECT id, next_run_time, job_state, ?, ? FROM {table} WHERE id = ?"
            ),
            (error, at, id),
        )?;
        c.exec_drop(format!("DELETE FROM {table} WHERE id = ?"), (id,))?;
    }
    Ok(())
}

impl MysqlRows {
    fn create_locked(
        c: &mut Conn,
        names: &TableNames,
        table: &str,
        side: &str,
        nodes: &str,
        runs: &str,
    ) -> Result<(), mysql::Error> {
        {
            let schema = names.schema.as_deref();
            if !Self::table_exists(c, schema, &names.table)? {
                // The index inside CREATE TABLE: DDL is not transactional here, and a table
                // left without its index by a failed CREATE INDEX would never get it.
                c.query_drop(format!(
                    "CREATE TABLE {table} (id VARCHAR(191) NOT NULL, next_run_time FLOAT(25), \
                     job_state BLOB NOT NULL, PRIMARY KEY (id), INDEX {} (next_run_time))",
                    quote(&names.index())
                ))?;
            }
            if !Self::table_exists(c, schema, &names.side_table())? {
                c.query_drop(format!(
                    "CREATE TABLE {side} (id VARCHAR(191) NOT NULL, next_run_time FLOAT(25), \
                     job_state LONGBLOB NOT NULL, error TEXT NOT NULL, set_aside_at FLOAT(25) NOT NULL)"
                ))?;
            }
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS {nodes} (node_id VARCHAR(191) NOT NULL PRIMARY KEY, lease_until DOUBLE NOT NULL)"
            ))?;
            c.query_drop(format!(
                "CREATE TABLE IF NOT EXISTS {runs} (job_id VARCHAR(191) NOT NULL, run_time DOUBLE NOT NULL, \
                 run_times TEXT NOT NULL, node_id VARCHAR(191) NOT NULL, state SMALLINT NOT NULL, \
                 changed_at DOUBLE NOT NULL, PRIMARY KEY (job_id, run_time))"
            ))?;
            Ok(())
        }
    }

    /// Reaps dead nodes inside a claim: `(adopted (job id, run times), lost runs)`.
    #[allow(clippy::type_complexity)]
    fn reap(
        &self,
        tx: &mut mysql::Transaction<'_>,
        cx: &ClaimContext<'_>,
    ) -> Result<(Vec<(String, Vec<f64>)>, Vec<LostRun>), mysql::Error> {
        let (nodes, runs) = (&self.nodes, &self.runs);
        tx.exec_drop(format!("DELETE FROM {nodes} WHERE lease_until < ? AND node_id <> ?"), (cx.dead_before, cx.node))?;
        let orphans: Vec<(String, f64, String, String, i32)> = tx.query(format!(
            "SELECT job_id, run_time, run_times, node_id, state FROM {runs} \
             WHERE state < {LOST} AND node_id NOT IN (SELECT node_id FROM {nodes}) FOR UPDATE"
        ))?;
        let (mut adopted, mut lost) = (Vec::new(), Vec::new());
        for (job_id, run_time, run_times, node_id, state) in orphans {
            if state == CLAIMED {
                tx.exec_drop(format!("DELETE FROM {runs} WHERE job_id = ? AND run_time = ?"), (&job_id, run_time))?;
                adopted.push((job_id, decode_run_times(&run_times)));
            } else {
                tx.exec_drop(
                    format!("UPDATE {runs} SET state = {LOST}, changed_at = ? WHERE job_id = ? AND run_time = ?"),
                    (cx.now, &job_id, run_time),
                )?;
                lost.push(LostRun { job_id, run_time, node_id });
            }
        }
        tx.exec_drop(
            format!("DELETE FROM {runs} WHERE state = {LOST} AND changed_at < ?"),
            (cx.now - LOST_RUN_RETENTION,),
        )?;
        Ok((adopted, lost))
    }
}

impl RowStore for MysqlRows {
    fn create_tables(&self) -> RowResult<()> {
        let (names, table, side) = (&self.names, &self.table, &self.side);
        self.with(|c| {
            // Schedulers starting together must not race to create (a named lock per table).
            c.exec_drop("SELECT GET_LOCK(?, 30)", (table.as_str(),))?;
            let created = Self::create_locked(c, names, table, side, &self.nodes, &self.runs);
            c.exec_drop("SELECT RELEASE_LOCK(?)", (table.as_str(),))?;
            created
        })
    }

    fn insert(&self, row: &Row) -> RowResult<()> {
        let sql = format!("INSERT INTO {} (id, next_run_time, job_state) VALUES (?, ?, ?)", self.table);
        let inserted = self.with(|c| match c.exec_drop(&sql, (&row.id, row.next_run_time, &row.state)) {
            Ok(()) => Ok(true),
            Err(mysql::Error::MySqlError(e)) if e.code == DUPLICATE_KEY => Ok(false),
            Err(e) => Err(e),
        })?;
        if inserted { Ok(()) } else { Err(RowError::Conflict) }
    }

    fn update(&self, row: &Row) -> RowResult<()> {
        // MySQL reports "changed" rows, not "matched" rows: look the id up in the same transaction.
        let (table, sql) =
            (&self.table, format!("UPDATE {} SET next_run_time = ?, job_state = ? WHERE id = ?", self.table));
        let found = self.with(|c| {
            let mut tx = c.start_transaction(TxOpts::default())?;
            let exists: Option<i64> =
                tx.exec_first(format!("SELECT 1 FROM {table} WHERE id = ? FOR UPDATE"), (&row.id,))?;
            if exists.is_some() {
                tx.exec_drop(&sql, (row.next_run_time, &row.state, &row.id))?;
            }
            tx.commit()?;
            Ok(exists.is_some())
        })?;
        if found { Ok(()) } else { Err(RowError::NotFound) }
    }

    fn delete(&self, id: &str) -> RowResult<()> {
        let sql = format!("DELETE FROM {} WHERE id = ?", self.table);
        let n = self.with(|c| {
            c.exec_drop(&sql, (id,))?;
            Ok(c.affected_rows())
        })?;
        if n == 0 { Err(RowError::NotFound) } else { Ok(()) }
    }

    fn delete_all(&self) -> RowResult<()> {
        let sql = format!("DELETE FROM {}", self.table);
        self.with(|c| c.query_drop(&sql))
    }

    fn lookup(&self, id: &str) -> RowResult<Option<Vec<u8>>> {
        let sql = format!("SELECT job_state FROM {} WHERE id = ?", self.table);
        self.with(|c| c.exec_first(&sql, (id,)))
    }

    fn due(&self, now: f64) -> RowResult<Vec<Row>> {
        let sql = format!(
            "SELECT id, next_run_time, job_state FROM {} WHERE next_run_time <= ? ORDER BY next_run_time",
            self.table
        );
        let rows: Vec<RawRow> = self.with(|c| c.exec(&sql, (now,)))?;
        Ok(rows.into_iter().map(to_row).collect())
    }

    fn all(&self) -> RowResult<Vec<Row>> {
        let sql = format!("SELECT id, next_run_time, job_state FROM {} ORDER BY next_run_time", self.table);
        let rows: Vec<RawRow> = self.with(|c| c.query(&sql))?;
        let mut rows: Vec<Row> = rows.into_iter().map(to_row).collect();
        paused_last(&mut rows);
        Ok(rows)
    }

    fn next_run_time(&self) -> RowResult<Option<f64>> {
        let sql = format!("SELECT MIN(next_run_time) FROM {}", self.table);
        let v: Option<Option<f64>> = self.with(|c| c.query_first(&sql))?;
        Ok(v.flatten())
    }

    fn set_aside(&self, rows: &[(String, String)]) -> RowResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let mut tx = c.start_transaction(TxOpts::default())?;
            set_aside_in(&mut tx, &self.table, &self.side, rows)?;
            tx.commit()
        })
    }

    fn set_aside_rows(&self) -> RowResult<Vec<(String, String)>> {
        let sql = format!("SELECT id, error FROM {} ORDER BY set_aside_at", self.side);
        self.with(|c| c.query(&sql))
    }

    fn restore_set_aside(&self) -> RowResult<usize> {
        let (table, side) = (&self.table, &self.side);
        self.with(|c| {
            let mut tx = c.start_transaction(TxOpts::default())?;
            tx.query_drop(format!(
                "INSERT IGNORE INTO {table} (id, next_run_time, job_state) \
                 SELECT id, next_run_time, job_state FROM {side}"
            ))?;
            let moved = tx.affected_rows();
            tx.query_drop(format!(
                "DELETE s FROM {side} s JOIN {table} t ON t.id = s.id AND t.job_state = s.job_state"
            ))?;
            tx.commit()?;
            Ok(moved as usize)
        })
    }

    fn claim(&self, cx: &ClaimContext<'_>, decide: &mut dyn FnMut(DueBatch) -> Decision) -> RowResult<()> {
        let (table, side, runs) = (&self.table, &self.side, &self.runs);
        self.with(|c| {
            let mut tx = c.start_transaction(TxOpts::default())?;
            let due: Vec<RawRow> = tx.exec(
                format!(
                    "SELECT id, next_run_time, job_state FROM {table} WHERE next_run_time <= ? \
                     ORDER BY next_run_time FOR UPDATE SKIP LOCKED"
                ),
                (cx.now,),
            )?;
            let (adopted, lost) = self.reap(&mut tx, cx)?;
            if due.is_empty() && adopted.is_empty() && lost.is_empty() {
                return tx.commit();
            }
            let busy: Vec<(String, i64)> =
                tx.query(format!("SELECT job_id, count(*) FROM {runs} WHERE state < {LOST} GROUP BY job_id"))?;
            let mut rows = HashMap::new();
            for (id, _) in &adopted {
                let row: Option<RawRow> =
                    tx.exec_first(format!("SELECT id, next_run_time, job_state FROM {table} WHERE id = ?"), (id,))?;
                if let Some(row) = row {
                    rows.insert(id.clone(), to_row(row));
                }
            }
            let batch = DueBatch {
                due: due.into_iter().map(to_row).collect(),
                busy: busy.into_iter().map(|(id, n)| (id, n as usize)).collect(),
                adopted: pair_adopted(adopted, &rows),
                lost,
            };
            let decision = decide(batch);
            let (mut aside, mut deleted) = (Vec::new(), Vec::new());
            let update = format!("UPDATE {table} SET next_run_time = ?, job_state = ? WHERE id = ?");
            for change in decision.changes {
                match change {
                    Change::Update(r) => tx.exec_drop(&update, (r.next_run_time, &r.state, &r.id))?,
                    Change::Delete(id) => deleted.push(mysql::Value::from(id)),
                    Change::SetAside { id, error } => aside.push((id, error)),
                }
            }
            // Deletions in batches: one round trip per 500 jobs.
            for chunk in deleted.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                tx.exec_drop(
                    format!("DELETE FROM {table} WHERE id IN ({marks})"),
                    mysql::Params::Positional(chunk.to_vec()),
                )?;
            }
            let record = format!(
                "REPLACE INTO {runs} (job_id, run_time, run_times, node_id, state, changed_at) VALUES (?, ?, ?, ?, {CLAIMED}, ?)"
            );
            for sub in &decision.submissions {
                let key = sub.key();
                tx.exec_drop(&record, (key.job_id, key.run_time, encode_run_times(&sub.run_times), cx.node, cx.now))?;
            }
            set_aside_in(&mut tx, table, side, &aside)?;
            tx.commit()
        })
    }

    fn heartbeat(&self, node: &str, lease_until: f64) -> RowResult<bool> {
        let nodes = &self.nodes;
        self.with(|c| {
            c.exec_drop(format!("UPDATE {nodes} SET lease_until = ? WHERE node_id = ?"), (lease_until, node))?;
            let renewed = c.affected_rows() == 1;
            if !renewed {
                c.exec_drop(format!("REPLACE INTO {nodes} (node_id, lease_until) VALUES (?, ?)"), (node, lease_until))?;
            }
            Ok(renewed)
        })
    }

    fn start_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<Vec<bool>> {
        self.finish_and_start_runs(node, &[], keys)
    }

    fn finish_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<()> {
        self.finish_and_start_runs(node, keys, &[]).map(drop)
    }

    /// One transaction (one commit): the ended runs' rows go, the starting ones become RUNNING.
    fn finish_and_start_runs(&self, node: &str, ended: &[RunKey], keys: &[RunKey]) -> RowResult<Vec<bool>> {
        let runs = &self.runs;
        let at = unix_seconds();
        self.with(|c| {
            let mut tx = c.start_transaction(TxOpts::default())?;
            let delete =
                format!("DELETE FROM {runs} WHERE job_id = ? AND run_time = ? AND node_id = ? AND state < {LOST}");
            for key in ended {
                tx.exec_drop(&delete, (&key.job_id, key.run_time, node))?;
            }
            let flip = format!(
                "UPDATE {runs} SET state = {RUNNING}, changed_at = ? \
                 WHERE job_id = ? AND run_time = ? AND node_id = ? AND state = {CLAIMED}"
            );
            let mut started = Vec::with_capacity(keys.len());
            for key in keys {
                tx.exec_drop(&flip, (at, &key.job_id, key.run_time, node))?;
                started.push(tx.affected_rows() == 1);
            }
            tx.commit()?;
            Ok(started)
        })
    }

    fn lost_runs(&self) -> RowResult<Vec<LostRun>> {
        let sql =
            format!("SELECT job_id, run_time, node_id FROM {} WHERE state = {LOST} ORDER BY changed_at", self.runs);
        let rows: Vec<(String, f64, String)> = self.with(|c| c.query(sql))?;
        Ok(rows.into_iter().map(|(job_id, run_time, node_id)| LostRun { job_id, run_time, node_id }).collect())
    }

    fn leave(&self, node: &str) -> RowResult<()> {
        let sql = format!("DELETE FROM {} WHERE node_id = ?", self.nodes);
        self.with(|c| c.exec_drop(sql, (node,)))
    }

    fn sibling(&self) -> Arc<dyn RowStore> {
        Arc::new(MysqlRows::new(self.url.clone(), self.options.clone(), self.names.clone()))
    }

    fn close(&self) {
        drop(self.conn.lock().take());
    }
}
