//! The job table in PostgreSQL, through the synchronous `postgres` client.
//!
//! One connection per store, behind a mutex, opened on first use and dropped after a
//! connection-level error (the next call reconnects, so a server restart heals by itself).
//! A claim is one transaction that locks its due rows with `FOR UPDATE SKIP LOCKED`: rows
//! another scheduler is claiming are skipped, and once that claim commits, the rows no longer
//! match `next_run_time <= now`, so each due run is taken once.

use super::{Change, NameLimit, Row, RowChunk, RowError, RowResult, RowStore, TableNames, paused_last, quote_double};
use crate::core::clock::unix_seconds;
use crate::core::store::cluster::{
    CLAIMED, ClaimContext, Decision, DueBatch, LOST, LOST_RUN_RETENTION, LostRun, RUNNING, RunKey, decode_run_times,
    encode_run_times, pair_adopted,
};
use parking_lot::Mutex;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Statement};
use std::collections::HashMap;
use std::sync::Arc;

/// A connection and the statements prepared on it: a cached statement runs in one round
/// trip (an ad-hoc one takes two: parse, then execute).
struct Pg {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Pg {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), st.clone());
        Ok(st)
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.execute(&st, params)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<postgres::Row>, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query(&st, params)
    }

    fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query_opt(&st, params)
    }

    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<postgres::Row, postgres::Error> {
        let st = self.statement(sql)?;
        self.client.query_one(&st, params)
    }

    fn transaction(&mut self) -> Result<postgres::Transaction<'_>, postgres::Error> {
        self.client.transaction()
    }
}

pub struct PostgresRows {
    url: String,
    conn: Mutex<Option<Pg>>,
    names: TableNames,
    table: String,
    side: String,
    nodes: String,
    runs: String,
    /// The lease connection: commits without waiting for the WAL flush (`synchronous_commit =
    /// off`; a server crash may take back a lease or a run's start or end, never a job or a
    /// schedule) and looks rows up by key only.
    relaxed: bool,
}

/// The server's own words (`postgres::Error`'s `Display` says only "db error"), or the
/// client's error with its cause.
fn backend(e: &postgres::Error) -> RowError {
    let text = match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    };
    RowError::Backend(format!("postgresql: {text}"))
}

fn read_row(r: &postgres::Row) -> Result<Row, postgres::Error> {
    Ok(Row { id: r.try_get(0)?, next_run_time: r.try_get(1)?, state: r.try_get(2)? })
}

impl PostgresRows {
    pub fn new(url: String, names: TableNames) -> Self {
        let names = TableNames { limit: NameLimit::POSTGRES, ..names };
        let table = names.qualified(&names.table, quote_double);
        let side = names.qualified(&names.side_table(), quote_double);
        let nodes = names.qualified(&names.nodes_table(), quote_double);
        let runs = names.qualified(&names.runs_table(), quote_double);
        PostgresRows { url, conn: Mutex::new(None), names, table, side, nodes, runs, relaxed: false }
    }

    fn connect(&self) -> Result<Client, postgres::Error> {
        let mut client = Client::connect(&self.url, NoTls)?;
        if self.relaxed {
            // Every statement of the lease connection names rows by primary key; without these
            // the planner guesses 100 rows for a small `unnest` and scans the whole runs table.
            client.batch_execute(
                "SET synchronous_commit TO OFF; SET enable_seqscan TO OFF; \
                 SET enable_hashjoin TO OFF; SET enable_mergejoin TO OFF",
            )?;
            // Their plans never depend on the values: plan once, not at every fence (-30 % of
            // the fence's time, measured). PostgreSQL before 12 lacks the setting; it then
            // plans each time, as before.
            let _ = client.batch_execute("SET plan_cache_mode TO force_generic_plan");
        }
        Ok(client)
    }

    /// Runs `f` on the connection (opened on demand); a connection-level failure drops it.
    fn with<T>(&self, f: impl FnOnce(&mut Pg) -> Result<T, postgres::Error>) -> RowResult<T> {
        let mut guard = self.conn.lock();
        if guard.as_ref().is_none_or(|pg| pg.client.is_closed()) {
            let client = self.connect().map_err(|e| backend(&e))?;
            *guard = Some(Pg { client, statements: HashMap::new() });
        }
        let Some(client) = guard.as_mut() else { return Err(RowError::Backend("postgresql: no connection".into())) };
        f(client).map_err(|e| {
            // The connection is gone: no SQLSTATE (I/O), a connection exception (class 08),
            // or the server ending the session (class 57: `pg_terminate_backend`, shutdown),
            // whose FATAL message may arrive before the socket closes.
            let code = e.code().map(|c| c.code());
            let lost = code.is_none_or(|c| c.starts_with("08") || c.starts_with("57"));
            if lost || guard.as_ref().is_some_and(|pg| pg.client.is_closed()) {
                *guard = None;
            } else if let Some(pg) = guard.as_mut() {
                pg.statements.clear(); // a table changed under a cached plan: prepare afresh
            }
            backend(&e)
        })
    }

    fn table_exists(c: &mut impl GenericClient, schema: Option<&str>, name: &str) -> Result<bool, postgres::Error> {
        let row = c.query_opt(
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2",
            &[&schema, &name],
        )?;
        Ok(row.is_some())
    }
}

fn set_aside_in(
    c: &mut impl GenericClient,
    table: &str,
    side: &str,
    rows: &[(String, String)],
) -> Result<(), postgres::Error> {
    let at = unix_seconds();
    for (id, error) in rows {
        c.execute(
            &format!(
                "INSERT INTO {side} (id, next_run_time, job_state, error, set_aside_at) \
                 SELECT id, next_run_time, job_state, $2, $3 FROM {table} WHERE id = $1"
            ),
            &[id, error, &at],
        )?;
        c.execute(&format!("DELETE FROM {table} WHERE id = $1"), &[id])?;
    }
    Ok(())
}

impl PostgresRows {
    /// Reaps dead nodes inside a claim: `(adopted (job id, run times), lost runs)`.
    #[allow(clippy::type_complexity)]
    fn reap(
        &self,
        tx: &mut postgres::Transaction<'_>,
        cx: &ClaimContext<'_>,
    ) -> Result<(Vec<(String, Vec<f64>)>, Vec<LostRun>), postgres::Error> {
        let (nodes, runs) = (&self.nodes, &self.runs);
        tx.execute(
            &format!("DELETE FROM {nodes} WHERE lease_until < $1 AND node_id <> $2"),
            &[&cx.dead_before, &cx.node],
        )?;
        let orphaned = format!("node_id NOT IN (SELECT node_id FROM {nodes})");
        let adopted = tx
            .query(
                &format!("DELETE FROM {runs} WHERE state = {CLAIMED} AND {orphaned} RETURNING job_id, run_times"),
                &[],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, decode_run_times(r.try_get(1)?))))
            .collect::<Result<Vec<_>, postgres::Error>>()?;
        let lost = tx
            .query(
                &format!(
                    "UPDATE {runs} SET state = {LOST}, changed_at = $1 WHERE state = {RUNNING} AND {orphaned} \
                     RETURNING job_id, run_time, node_id"
                ),
                &[&cx.now],
            )?
            .iter()
            .map(|r| Ok(LostRun { job_id: r.try_get(0)?, run_time: r.try_get(1)?, node_id: r.try_get(2)? }))
            .collect::<Result<Vec<_>, postgres::Error>>()?;
        tx.execute(
            &format!("DELETE FROM {runs} WHERE state = {LOST} AND changed_at < $1"),
            &[&(cx.now - LOST_RUN_RETENTION)],
        )?;
        Ok((adopted, lost))
    }
}

/// Selects the runs rows `r` whose keys are in the parameters `$jobs` (job ids) and `$times`
/// (run times), one primary-key lookup per key. Joining the keys with the table instead lets
/// the planner, misled by a new table's missing statistics, scan the table once per key
/// (96 ms for 200 ended runs, measured); `OFFSET 0` keeps the lookup out of such a join.
fn by_keys(runs: &str, jobs: usize, times: usize) -> String {
    format!(
        "r.ctid = ANY (ARRAY(SELECT x.ctid FROM unnest(${jobs}::varchar[], ${times}::float8[]) AS k(j, t) \
         CROSS JOIN LATERAL (SELECT ctid FROM {runs} WHERE job_id = k.j AND run_time = k.t OFFSET 0) AS x))"
    )
}

fn key_columns(keys: &[RunKey]) -> (Vec<&str>, Vec<f64>) {
    (keys.iter().map(|k| k.job_id.as_str()).collect(), keys.iter().map(|k| k.run_time).collect())
}

impl RowStore for PostgresRows {
    fn create_tables(&self) -> RowResult<()> {
        let (names, table, side) = (&self.names, &self.table, &self.side);
        self.with(|c| {
            // Schedulers starting together must not race to create (an advisory lock per table).
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&self.table])?;
            let c = &mut tx;
            let schema = names.schema.as_deref();
            if !Self::table_exists(c, schema, &names.table)? {
                c.batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {table} (id VARCHAR(191) NOT NULL, next_run_time FLOAT(25), \
                     job_state BYTEA NOT NULL, PRIMARY KEY (id));\n\
                     CREATE INDEX IF NOT EXISTS {} ON {table} (next_run_time)",
                    quote_double(&names.index())
                ))?;
            }
            if !Self::table_exists(c, schema, &names.side_table())? {
                c.batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {side} (id VARCHAR(191) NOT NULL, next_run_time FLOAT(25), \
                     job_state BYTEA NOT NULL, error TEXT NOT NULL, set_aside_at FLOAT(25) NOT NULL)"
                ))?;
            }
            if !Self::table_exists(c, schema, &names.runs_table())? {
                c.batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {} (node_id VARCHAR(191) NOT NULL PRIMARY KEY, \
                     lease_until FLOAT(53) NOT NULL);\n\
                     CREATE TABLE IF NOT EXISTS {} (job_id VARCHAR(191) NOT NULL, run_time FLOAT(53) NOT NULL, \
                     run_times TEXT NOT NULL, node_id VARCHAR(191) NOT NULL, state SMALLINT NOT NULL, \
                     changed_at FLOAT(53) NOT NULL, PRIMARY KEY (job_id, run_time))",
                    self.nodes, self.runs
                ))?;
            }
            tx.commit()
        })
    }

    fn insert(&self, row: &Row) -> RowResult<()> {
        let sql = format!("INSERT INTO {} (id, next_run_time, job_state) VALUES ($1, $2, $3)", self.table);
        let inserted = self.with(|c| match c.execute(&sql, &[&row.id, &row.next_run_time, &row.state]) {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Ok(false),
            Err(e) => Err(e),
        })?;
        if inserted { Ok(()) } else { Err(RowError::Conflict) }
    }

    fn update(&self, row: &Row) -> RowResult<()> {
        let sql = format!("UPDATE {} SET next_run_time = $2, job_state = $3 WHERE id = $1", self.table);
        let n = self.with(|c| c.execute(&sql, &[&row.id, &row.next_run_time, &row.state]))?;
        if n == 0 { Err(RowError::NotFound) } else { Ok(()) }
    }

    fn delete(&self, id: &str) -> RowResult<()> {
        let sql = format!("DELETE FROM {} WHERE id = $1", self.table);
        let n = self.with(|c| c.execute(&sql, &[&id]))?;
        if n == 0 { Err(RowError::NotFound) } else { Ok(()) }
    }

    fn delete_all(&self) -> RowResult<()> {
        let sql = format!("DELETE FROM {}", self.table);
        self.with(|c| c.execute(&sql, &[]).map(drop))
    }

    fn lookup(&self, id: &str) -> RowResult<Option<Vec<u8>>> {
        let sql = format!("SELECT job_state FROM {} WHERE id = $1", self.table);
        self.with(|c| c.query_opt(&sql, &[&id])?.map(|r| r.try_get(0)).transpose())
    }

    fn due(&self, now: f64) -> RowResult<Vec<Row>> {
        let sql = format!(
            "SELECT id, next_run_time, job_state FROM {} WHERE next_run_time <= $1 ORDER BY next_run_time",
            self.table
        );
        self.with(|c| c.query(&sql, &[&now])?.iter().map(read_row).collect())
    }

    fn all(&self) -> RowResult<Vec<Row>> {
        let sql = format!("SELECT id, next_run_time, job_state FROM {} ORDER BY next_run_time", self.table);
        let mut rows: Vec<Row> = self.with(|c| c.query(&sql, &[])?.iter().map(read_row).collect())?;
        paused_last(&mut rows);
        Ok(rows)
    }

    fn all_chunks(&self, full: &mut dyn FnMut(RowChunk) -> RowChunk) -> RowResult<()> {
        use postgres::fallible_iterator::FallibleIterator;
        let sql = format!("SELECT id, next_run_time, job_state FROM {}", self.table);
        self.with(|c| {
            // Rows are taken off the socket as they arrive (not all buffered first).
            let st = c.statement(&sql)?;
            let mut rows = c.client.query_raw(&st, std::iter::empty::<&(dyn ToSql + Sync)>())?;
            let mut chunk = RowChunk::default();
            while let Some(r) = rows.next()? {
                chunk.push(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
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
        let sql = format!("SELECT min(next_run_time) FROM {}", self.table);
        self.with(|c| c.query_one(&sql, &[])?.try_get(0))
    }

    fn set_aside(&self, rows: &[(String, String)]) -> RowResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.with(|c| {
            let mut tx = c.transaction()?;
            set_aside_in(&mut tx, &self.table, &self.side, rows)?;
            tx.commit()
        })
    }

    fn set_aside_rows(&self) -> RowResult<Vec<(String, String)>> {
        let sql = format!("SELECT id, error FROM {} ORDER BY set_aside_at", self.side);
        self.with(|c| c.query(&sql, &[])?.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect())
    }

    fn restore_set_aside(&self) -> RowResult<usize> {
        let (table, side) = (&self.table, &self.side);
        self.with(|c| {
            let mut tx = c.transaction()?;
            let moved = tx.execute(
                &format!(
                    "WITH moved AS (DELETE FROM {side} s WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = s.id) \
                     RETURNING id, next_run_time, job_state) \
                     INSERT INTO {table} (id, next_run_time, job_state) \
                     SELECT DISTINCT ON (id) id, next_run_time, job_state FROM moved ON CONFLICT (id) DO NOTHING"
                ),
                &[],
            )?;
            tx.commit()?;
            Ok(moved as usize)
        })
    }

    fn claim(&self, cx: &ClaimContext<'_>, decide: &mut dyn FnMut(DueBatch) -> Decision) -> RowResult<()> {
        let (table, side, runs) = (&self.table, &self.side, &self.runs);
        self.with(|c| {
            let mut tx = c.transaction()?;
            let due: Vec<Row> = tx
                .query(
                    &format!(
                        "SELECT id, next_run_time, job_state FROM {table} WHERE next_run_time <= $1 \
                         ORDER BY next_run_time FOR UPDATE SKIP LOCKED"
                    ),
                    &[&cx.now],
                )?
                .iter()
                .map(read_row)
                .collect::<Result<_, _>>()?;
            let (adopted, lost) = self.reap(&mut tx, cx)?;
            if due.is_empty() && adopted.is_empty() && lost.is_empty() {
                return tx.commit();
            }
            let busy: HashMap<String, usize> = tx
                .query(&format!("SELECT job_id, count(*) FROM {runs} WHERE state < {LOST} GROUP BY job_id"), &[])?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get::<_, i64>(1)? as usize)))
                .collect::<Result<_, postgres::Error>>()?;
            let rows: HashMap<String, Row> = if adopted.is_empty() {
                HashMap::new()
            } else {
                let ids: Vec<&str> = adopted.iter().map(|(id, _)| id.as_str()).collect();
                tx.query(
                    &format!("SELECT id, next_run_time, job_state FROM {table} WHERE id = ANY($1::varchar[])"),
                    &[&ids],
                )?
                .iter()
                .map(|r| read_row(r).map(|row| (row.id.clone(), row)))
                .collect::<Result<_, _>>()?
            };
            let adopted = pair_adopted(adopted, &rows);
            let decision = decide(DueBatch { due, busy, adopted, lost });
            // Every change in a few statements: one round trip each, however many jobs are due.
            let (mut ids, mut times, mut states, mut deleted, mut aside) = (vec![], vec![], vec![], vec![], vec![]);
            for change in decision.changes {
                match change {
                    Change::Update(r) => {
                        ids.push(r.id);
                        times.push(r.next_run_time);
                        states.push(r.state);
                    }
                    Change::Delete(id) => deleted.push(id),
                    Change::SetAside { id, error } => aside.push((id, error)),
                }
            }
            if !ids.is_empty() {
                tx.execute(
                    &format!(
                        "UPDATE {table} AS t SET next_run_time = u.n, job_state = u.s \
                         FROM unnest($1::varchar[], $2::float8[], $3::bytea[]) AS u(id, n, s) WHERE t.id = u.id"
                    ),
                    &[&ids, &times, &states],
                )?;
            }
            if !deleted.is_empty() {
                tx.execute(&format!("DELETE FROM {table} WHERE id = ANY($1::varchar[])"), &[&deleted])?;
            }
            if !decision.submissions.is_empty() {
                let keys: Vec<RunKey> = decision.submissions.iter().map(|s| s.key()).collect();
                let jobs: Vec<&str> = keys.iter().map(|k| k.job_id.as_str()).collect();
                let firsts: Vec<f64> = keys.iter().map(|k| k.run_time).collect();
                let all: Vec<String> = decision.submissions.iter().map(|s| encode_run_times(&s.run_times)).collect();
                tx.execute(
                    &format!(
                        "INSERT INTO {runs} (job_id, run_time, run_times, node_id, state, changed_at) \
                         SELECT j, t, a, $4, {CLAIMED}, $5 FROM unnest($1::varchar[], $2::float8[], $3::text[]) AS u(j, t, a) \
                         ON CONFLICT (job_id, run_time) DO UPDATE SET run_times = excluded.run_times, \
                         node_id = excluded.node_id, state = excluded.state, changed_at = excluded.changed_at"
                    ),
                    &[&jobs, &firsts, &all, &cx.node, &cx.now],
                )?;
            }
            set_aside_in(&mut tx, table, side, &aside)?;
            tx.commit()
        })
    }

    fn heartbeat(&self, node: &str, lease_until: f64) -> RowResult<bool> {
        let nodes = &self.nodes;
        self.with(|c| {
            let renewed =
                c.execute(&format!("UPDATE {nodes} SET lease_until = $2 WHERE node_id = $1"), &[&node, &lease_until])?;
            if renewed == 0 {
                c.execute(
                    &format!(
                        "INSERT INTO {nodes} (node_id, lease_until) VALUES ($1, $2) \
                         ON CONFLICT (node_id) DO UPDATE SET lease_until = excluded.lease_until"
                    ),
                    &[&node, &lease_until],
                )?;
            }
            Ok(renewed == 1)
        })
    }

    fn start_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<Vec<bool>> {
        self.finish_and_start_runs(node, &[], keys)
    }

    fn finish_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<()> {
        let (runs, (jobs, times)) = (&self.runs, key_columns(keys));
        let sql =
            format!("DELETE FROM {runs} AS r WHERE {} AND r.node_id = $3 AND r.state < {LOST}", by_keys(runs, 1, 2));
        self.with(|c| c.execute(&sql, &[&jobs, &times, &node]).map(drop))
    }

    /// One statement: the ended runs' rows go, and the starting ones are flipped to RUNNING.
    fn finish_and_start_runs(&self, node: &str, ended: &[RunKey], keys: &[RunKey]) -> RowResult<Vec<bool>> {
        let runs = &self.runs;
        let ((jobs, times), (ended_jobs, ended_times)) = (key_columns(keys), key_columns(ended));
        let sql = format!(
            "WITH ended AS (DELETE FROM {runs} AS r WHERE {} AND r.node_id = $3 AND r.state < {LOST}) \
             UPDATE {runs} AS r SET state = {RUNNING}, changed_at = $4 WHERE {} \
             AND r.node_id = $3 AND r.state = {CLAIMED} RETURNING r.job_id, r.run_time",
            by_keys(runs, 5, 6),
            by_keys(runs, 1, 2)
        );
        let started = self.with(|c| {
            c.query(&sql, &[&jobs, &times, &node, &unix_seconds(), &ended_jobs, &ended_times])?
                .iter()
                .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, f64>(1)?)))
                .collect::<Result<Vec<_>, postgres::Error>>()
        })?;
        Ok(keys.iter().map(|k| started.iter().any(|(j, t)| *j == k.job_id && *t == k.run_time)).collect())
    }

    fn lost_runs(&self) -> RowResult<Vec<LostRun>> {
        let sql =
            format!("SELECT job_id, run_time, node_id FROM {} WHERE state = {LOST} ORDER BY changed_at", self.runs);
        self.with(|c| {
            c.query(&sql, &[])?
                .iter()
                .map(|r| Ok(LostRun { job_id: r.try_get(0)?, run_time: r.try_get(1)?, node_id: r.try_get(2)? }))
                .collect()
        })
    }

    fn leave(&self, node: &str) -> RowResult<()> {
        let sql = format!("DELETE FROM {} WHERE node_id = $1", self.nodes);
        self.with(|c| c.execute(&sql, &[&node]).map(drop))
    }

    fn sibling(&self) -> Arc<dyn RowStore> {
        let mut sibling = PostgresRows::new(self.url.clone(), self.names.clone());
        sibling.relaxed = true;
        Arc::new(sibling)
    }

    fn close(&self) {
        drop(self.conn.lock().take());
    }
}
