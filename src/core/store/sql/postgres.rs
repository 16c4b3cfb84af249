//! The job table in PostgreSQL, through the synchronous `postgres` client.
//!
//! One connection per store, behind a mutex, opened on first use and dropped after a
//! connection-level error (the next call reconnects, so a server restart heals by itself).
//! A claim is one transaction that locks its due rows with `FOR UPDATE SKIP LOCKED`: rows
//! another scheduler is claiming are skipped, and once that claim commits, the rows no longer
//! match `next_run_time <= now`, so each due run is taken once.

use super::{Change, Row, RowError, RowResult, RowStore, TableNames, paused_last, quote_double};
use parking_lot::Mutex;
use postgres::error::SqlState;
use postgres::{Client, GenericClient, NoTls};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct PostgresRows {
    url: String,
    conn: Mutex<Option<Client>>,
    names: TableNames,
    table: String,
    side: String,
}

fn backend(e: &postgres::Error) -> RowError {
    RowError::Backend(format!("postgresql: {e}"))
}

fn read_row(r: &postgres::Row) -> Result<Row, postgres::Error> {
    Ok(Row { id: r.try_get(0)?, next_run_time: r.try_get(1)?, state: r.try_get(2)? })
}

impl PostgresRows {
    pub fn new(url: String, names: TableNames) -> Self {
        let table = names.qualified(&names.table, quote_double);
        let side = names.qualified(&names.side_table(), quote_double);
        PostgresRows { url, conn: Mutex::new(None), names, table, side }
    }

    /// Runs `f` on the connection (opened on demand); a connection-level failure drops it.
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>) -> RowResult<T> {
        let mut guard = self.conn.lock();
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(Client::connect(&self.url, NoTls).map_err(|e| backend(&e))?);
        }
        let Some(client) = guard.as_mut() else { return Err(RowError::Backend("postgresql: no connection".into())) };
        f(client).map_err(|e| {
            if e.code().is_none() {
                *guard = None;
            }
            backend(&e)
        })
    }

    fn table_exists(c: &mut Client, schema: Option<&str>, name: &str) -> Result<bool, postgres::Error> {
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
    let at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
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

impl RowStore for PostgresRows {
    fn create_tables(&self) -> RowResult<()> {
        let (names, table, side) = (&self.names, &self.table, &self.side);
        self.with(|c| {
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
            Ok(())
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

    fn claim(&self, now: f64, decide: &mut dyn FnMut(Vec<Row>) -> Vec<Change>) -> RowResult<()> {
        let (table, side) = (&self.table, &self.side);
        self.with(|c| {
            let mut tx = c.transaction()?;
            let due: Vec<Row> = tx
                .query(
                    &format!(
                        "SELECT id, next_run_time, job_state FROM {table} WHERE next_run_time <= $1 \
                         ORDER BY next_run_time FOR UPDATE SKIP LOCKED"
                    ),
                    &[&now],
                )?
                .iter()
                .map(read_row)
                .collect::<Result<_, _>>()?;
            if due.is_empty() {
                return tx.commit();
            }
            // Every change in two statements: one round trip each, however many jobs are due.
            let (mut ids, mut times, mut states, mut deleted, mut aside) = (vec![], vec![], vec![], vec![], vec![]);
            for change in decide(due) {
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
            set_aside_in(&mut tx, table, side, &aside)?;
            tx.commit()
        })
    }

    fn close(&self) {
        drop(self.conn.lock().take());
    }
}
