//! APScheduler's Redis layout, through the synchronous `redis` client.
//!
//! | key | type | member → value |
//! | --- | --- | --- |
//! | `jobs_key` | hash | job id → job state |
//! | `run_times_key` | sorted set | job id → UTC timestamp (paused jobs are absent) |
//! | `{jobs_key}.unrestorable` | hash | job id → state that could not be restored |
//! | `{jobs_key}.unrestorable_errors` | hash | job id → error text |
//! | `{jobs_key}.unrestorable_run_times` | sorted set | job id → its run time when set aside |
//! | `{jobs_key}.nodes` | hash | scheduler node id → lease end (UTC timestamp) |
//! | `{jobs_key}.runs` | hash | `"{first run time} {job id}"` → `"{state} {node id} {changed at} {run times…}"` |
//!
//! Single-job writes are small Lua scripts, so the hash and the sorted set never disagree.
//! A claim is optimistic: `WATCH` both keys, read the due jobs, decide, then apply everything
//! in `MULTI`/`EXEC`. If another client touched the keys meanwhile, `EXEC` fails, nothing is
//! applied and the claim starts again from a fresh read (at most [`CLAIM_ATTEMPTS`] times),
//! so a due run is claimed by one scheduler only. The submissions a claim records go into the
//! same `MULTI`; reaping dead nodes and the run fence are Lua scripts (atomic on the server).

use crate::core::store::cluster::{
    CLAIMED, ClaimContext, Decision, DueBatch, LOST, LOST_RUN_RETENTION, LostRun, RunKey, decode_run_times,
    encode_run_times,
};
use crate::core::store::sql::{Change, Row, RowError, RowResult, RowStore};
use parking_lot::Mutex;
use redis::{Connection, Value};
use std::collections::HashMap;
use std::sync::Arc;

const CLAIM_ATTEMPTS: usize = 20;

const INSERT: &str = "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end \
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) \
    if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end return 1";
const UPDATE: &str = "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end \
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) \
    if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) \
    else redis.call('ZREM', KEYS[2], ARGV[1]) end return 1";
const DELETE: &str = "if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end \
    redis.call('ZREM', KEYS[2], ARGV[1]) return 1";
/// Moves a job aside; a run time with no job (nothing to keep) is only removed.
const SET_ASIDE: &str = "local s = redis.call('HGET', KEYS[1], ARGV[1]) \
    if not s then redis.call('ZREM', KEYS[2], ARGV[1]) return 0 end \
    redis.call('HSET', KEYS[3], ARGV[1], s) redis.call('HSET', KEYS[4], ARGV[1], ARGV[2]) \
    local t = redis.call('ZSCORE', KEYS[2], ARGV[1]) \
    if t then redis.call('ZADD', KEYS[5], t, ARGV[1]) else redis.call('ZREM', KEYS[5], ARGV[1]) end \
    redis.call('HDEL', KEYS[1], ARGV[1]) redis.call('ZREM', KEYS[2], ARGV[1]) return 1";
/// Moves every set-aside job back (with its run time) whose id is free.
const RESTORE: &str = "local n = 0 local all = redis.call('HGETALL', KEYS[3]) \
    for i = 1, #all, 2 do if redis.call('HSETNX', KEYS[1], all[i], all[i + 1]) == 1 then \
    local t = redis.call('ZSCORE', KEYS[5], all[i]) \
    if t then redis.call('ZADD', KEYS[2], t, all[i]) end \
    redis.call('HDEL', KEYS[3], all[i]) redis.call('HDEL', KEYS[4], all[i]) redis.call('ZREM', KEYS[5], all[i]) \
    n = n + 1 end end return n";

/// Reaps dead nodes. KEYS: nodes, runs. ARGV: dead_before, me, now, lost retention cut-off.
/// Returns `[field, value, kind]` triples: kind `a` (adopted by `me`) or `l` (marked lost).
const REAP: &str = "local alive = {} local nodes = redis.call('HGETALL', KEYS[1]) \
    for i = 1, #nodes, 2 do \
      if tonumber(nodes[i + 1]) < tonumber(ARGV[1]) and nodes[i] ~= ARGV[2] then redis.call('HDEL', KEYS[1], nodes[i]) \
      else alive[nodes[i]] = true end end \
    local out = {} local runs = redis.call('HGETALL', KEYS[2]) \
    for i = 1, #runs, 2 do \
      local state, node, at, times = string.match(runs[i + 1], '^(%d) (%S+) (%S+) ?(.*)$') \
      if state == '2' then \
        if tonumber(at) < tonumber(ARGV[4]) then redis.call('HDEL', KEYS[2], runs[i]) end \
      elseif not alive[node] then \
        if state == '0' then \
          redis.call('HSET', KEYS[2], runs[i], '0 ' .. ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. times) \
          table.insert(out, runs[i]) table.insert(out, times) table.insert(out, 'a') \
        else \
          redis.call('HSET', KEYS[2], runs[i], '2 ' .. node .. ' ' .. ARGV[3] .. ' ' .. times) \
          table.insert(out, runs[i]) table.insert(out, node) table.insert(out, 'l') \
        end end end return out";
/// The fence. KEYS: runs. ARGV: me, now, fields… Returns 1/0 per field.
const START: &str = "local out = {} for i = 3, #ARGV do \
      local v = redis.call('HGET', KEYS[1], ARGV[i]) local ok = 0 \
      if v then local state, node, at, times = string.match(v, '^(%d) (%S+) (%S+) ?(.*)$') \
        if state == '0' and node == ARGV[1] then \
          redis.call('HSET', KEYS[1], ARGV[i], '1 ' .. node .. ' ' .. ARGV[2] .. ' ' .. times) ok = 1 end end \
      table.insert(out, ok) end return out";
/// KEYS: runs. ARGV: me, fields… Deletes the node's own CLAIMED/RUNNING rows.
const FINISH: &str = "for i = 2, #ARGV do local v = redis.call('HGET', KEYS[1], ARGV[i]) \
      if v then local state, node = string.match(v, '^(%d) (%S+)') \
        if state ~= '2' and node == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[i]) end end end return 0";

fn run_field(key: &RunKey) -> String {
    format!("{:?} {}", key.run_time, key.job_id)
}

/// `(first run time, job id)` of a runs-hash field.
fn parse_field(field: &str) -> Option<(f64, String)> {
    let (t, id) = field.split_once(' ')?;
    Some((t.parse().ok()?, id.to_owned()))
}

use crate::core::clock::unix_seconds as now_ts;

pub struct RedisRows {
    url: String,
    conn: Mutex<Option<Connection>>,
    jobs_key: String,
    run_times_key: String,
    aside_key: String,
    errors_key: String,
    aside_times_key: String,
    nodes_key: String,
    runs_key: String,
}

fn backend(e: &redis::RedisError) -> RowError {
    RowError::Backend(format!("redis: {e}"))
}

fn score(ts: Option<f64>) -> String {
    ts.map(|t| format!("{t:?}")).unwrap_or_default()
}

impl RedisRows {
    pub fn new(url: String, jobs_key: String, run_times_key: String) -> Self {
        RedisRows {
            url,
            conn: Mutex::new(None),
            aside_key: format!("{jobs_key}.unrestorable"),
            errors_key: format!("{jobs_key}.unrestorable_errors"),
            aside_times_key: format!("{jobs_key}.unrestorable_run_times"),
            nodes_key: format!("{jobs_key}.nodes"),
            runs_key: format!("{jobs_key}.runs"),
            jobs_key,
            run_times_key,
        }
    }

    /// Runs `f` on the connection (opened on demand); any failure drops it, so the next call
    /// reconnects (a restarted server heals by itself).
    fn with<T>(&self, f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>) -> RowResult<T> {
        let mut guard = self.conn.lock();
        if guard.is_none() {
            let client = redis::Client::open(self.url.as_str()).map_err(|e| backend(&e))?;
            *guard = Some(client.get_connection().map_err(|e| backend(&e))?);
        }
        let Some(conn) = guard.as_mut() else { return Err(RowError::Backend("redis: no connection".into())) };
        f(conn).map_err(|e| {
            *guard = None;
            backend(&e)
        })
    }

    fn script(&self, body: &str, args: &[&[u8]]) -> RowResult<i64> {
        self.with(|c| {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(body).arg(5).arg(&self.jobs_key).arg(&self.run_times_key).arg(&self.aside_key);
            cmd.arg(&self.errors_key).arg(&self.aside_times_key);
            for a in args {
                cmd.arg(*a);
            }
            cmd.query(c)
        })
    }

    /// Due ids (by score, then id) and their states.
    fn read_due(&self, c: &mut Connection, now: f64) -> redis::RedisResult<Vec<Row>> {
        let scored: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(&self.run_times_key)
            .arg(0)
            .arg(format!("{now:?}"))
            .arg("WITHSCORES")
            .query(c)?;
        self.with_states(c, scored.into_iter().map(|(id, t)| (id, Some(t))).collect())
    }

    fn with_states(&self, c: &mut Connection, ids: Vec<(String, Option<f64>)>) -> redis::RedisResult<Vec<Row>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(&self.jobs_key);
        for (id, _) in &ids {
            cmd.arg(id);
        }
        let states: Vec<Option<Vec<u8>>> = cmd.query(c)?;
        // A run time whose job is missing from the hash comes back with an empty state: it
        // cannot be restored, so it is logged and set aside like a corrupt job (which removes
        // the run time). Skipping it would leave it first in the sorted set for ever, and a
        // running scheduler waking for it without pause.
        Ok(ids
            .into_iter()
            .zip(states)
            .filter_map(|((id, next_run_time), state)| match (state, next_run_time) {
                (Some(state), _) => Some(Row { id, next_run_time, state }),
                (None, Some(_)) => Some(Row { id, next_run_time, state: Vec::new() }),
                (None, None) => None, // removed since its id was read
            })
            .collect())
    }
}

impl RowStore for RedisRows {
    fn create_tables(&self) -> RowResult<()> {
        Ok(())
    }

    fn insert(&self, row: &Row) -> RowResult<()> {
        let t = score(row.next_run_time);
        match self.script(INSERT, &[row.id.as_bytes(), &row.state, t.as_bytes()])? {
            1 => Ok(()),
            _ => Err(RowError::Conflict),
        }
    }

    fn update(&self, row: &Row) -> RowResult<()> {
        let t = score(row.next_run_time);
        match self.script(UPDATE, &[row.id.as_bytes(), &row.state, t.as_bytes()])? {
            1 => Ok(()),
            _ => Err(RowError::NotFound),
        }
    }

    fn delete(&self, id: &str) -> RowResult<()> {
        match self.script(DELETE, &[id.as_bytes()])? {
            1 => Ok(()),
            _ => Err(RowError::NotFound),
        }
    }

    fn delete_all(&self) -> RowResult<()> {
        self.with(|c| redis::cmd("DEL").arg(&self.jobs_key).arg(&self.run_times_key).query(c))
    }

    fn lookup(&self, id: &str) -> RowResult<Option<Vec<u8>>> {
        self.with(|c| redis::cmd("HGET").arg(&self.jobs_key).arg(id).query(c))
    }

    fn due(&self, now: f64) -> RowResult<Vec<Row>> {
        self.with(|c| self.read_due(c, now))
    }

    fn all(&self) -> RowResult<Vec<Row>> {
        self.with(|c| {
            let scored: Vec<(String, f64)> =
                redis::cmd("ZRANGE").arg(&self.run_times_key).arg(0).arg(-1).arg("WITHSCORES").query(c)?;
            let all: Vec<String> = redis::cmd("HKEYS").arg(&self.jobs_key).query(c)?;
            let scheduled: std::collections::HashSet<&str> = scored.iter().map(|(id, _)| id.as_str()).collect();
            let paused: Vec<(String, Option<f64>)> =
                all.iter().filter(|id| !scheduled.contains(id.as_str())).map(|id| (id.clone(), None)).collect();
            let mut ids: Vec<(String, Option<f64>)> = scored.into_iter().map(|(id, t)| (id, Some(t))).collect();
            ids.extend(paused);
            self.with_states(c, ids)
        })
    }

    fn next_run_time(&self) -> RowResult<Option<f64>> {
        let first: Vec<(String, f64)> =
            self.with(|c| redis::cmd("ZRANGE").arg(&self.run_times_key).arg(0).arg(0).arg("WITHSCORES").query(c))?;
        Ok(first.first().map(|(_, t)| *t))
    }

    fn set_aside(&self, rows: &[(String, String)]) -> RowResult<()> {
        for (id, error) in rows {
            self.script(SET_ASIDE, &[id.as_bytes(), error.as_bytes()])?;
        }
        Ok(())
    }

    fn set_aside_rows(&self) -> RowResult<Vec<(String, String)>> {
        let mut rows: Vec<(String, String)> = self.with(|c| redis::cmd("HGETALL").arg(&self.errors_key).query(c))?;
        rows.sort();
        Ok(rows)
    }

    fn restore_set_aside(&self) -> RowResult<usize> {
        Ok(self.script(RESTORE, &[])? as usize)
    }

    fn claim(&self, cx: &ClaimContext<'_>, decide: &mut dyn FnMut(DueBatch) -> Decision) -> RowResult<()> {
        self.with(|c| {
            // Reaping is its own atomic script; what it hands this node is recorded again below.
            let reaped: Vec<String> = redis::cmd("EVAL")
                .arg(REAP)
                .arg(2)
                .arg(&self.nodes_key)
                .arg(&self.runs_key)
                .arg(format!("{:?}", cx.dead_before))
                .arg(cx.node)
                .arg(format!("{:?}", cx.now))
                .arg(format!("{:?}", cx.now - LOST_RUN_RETENTION))
                .query(c)?;
            let (mut adopted_runs, mut lost) = (Vec::new(), Vec::new());
            for triple in reaped.chunks_exact(3) {
                let Some((run_time, job_id)) = parse_field(&triple[0]) else { continue };
                match triple[2].as_str() {
                    "a" => adopted_runs.push((job_id, decode_run_times(&triple[1]))),
                    _ => lost.push(LostRun { job_id, run_time, node_id: triple[1].clone() }),
                }
            }
            for attempt in 0..CLAIM_ATTEMPTS {
                redis::cmd("WATCH").arg(&self.jobs_key).arg(&self.run_times_key).query::<()>(c)?;
                let due = self.read_due(c, cx.now)?;
                if due.is_empty() && adopted_runs.is_empty() && lost.is_empty() {
                    redis::cmd("UNWATCH").query::<()>(c)?;
                    if attempt > 0 {
                        // Tell the claimer that the earlier attempt's decisions are void.
                        decide(DueBatch::default());
                    }
                    return Ok(());
                }
                let runs: HashMap<String, String> = redis::cmd("HGETALL").arg(&self.runs_key).query(c)?;
                let mut busy: HashMap<String, usize> = HashMap::new();
                for (field, value) in &runs {
                    if let (Some((_, id)), false) = (parse_field(field), value.starts_with('2')) {
                        *busy.entry(id).or_default() += 1;
                    }
                }
                let ids = adopted_runs.iter().map(|(id, _)| (id.clone(), None)).collect();
                let rows: HashMap<String, Row> =
                    self.with_states(c, ids)?.into_iter().map(|r| (r.id.clone(), r)).collect();
                let adopted = adopted_runs
                    .iter()
                    .filter_map(|(id, times)| Some((rows.get(id)?.clone(), times.clone())))
                    .collect();
                let decision = decide(DueBatch { due, busy, adopted, lost: lost.clone() });
                let mut pipe = redis::pipe();
                pipe.atomic();
                for change in decision.changes {
                    match change {
                        Change::Update(r) => {
                            pipe.cmd("HSET").arg(&self.jobs_key).arg(&r.id).arg(&r.state).ignore();
                            match r.next_run_time {
                                Some(t) => {
                                    pipe.cmd("ZADD").arg(&self.run_times_key).arg(format!("{t:?}")).arg(&r.id).ignore()
                                }
                                None => pipe.cmd("ZREM").arg(&self.run_times_key).arg(&r.id).ignore(),
                            };
                        }
                        Change::Delete(id) => {
                            pipe.cmd("HDEL").arg(&self.jobs_key).arg(&id).ignore();
                            pipe.cmd("ZREM").arg(&self.run_times_key).arg(&id).ignore();
                        }
                        Change::SetAside { id, error } => {
                            pipe.cmd("EVAL")
                                .arg(SET_ASIDE)
                                .arg(5)
                                .arg(&self.jobs_key)
                                .arg(&self.run_times_key)
                                .arg(&self.aside_key)
                                .arg(&self.errors_key)
                                .arg(&self.aside_times_key)
                                .arg(&id)
                                .arg(&error)
                                .ignore();
                        }
                    }
                }
                // Adopted runs not resubmitted (job gone) are dropped; the rest are recorded anew.
                for (id, times) in &adopted_runs {
                    let key = RunKey { job_id: id.clone(), run_time: times.first().copied().unwrap_or(0.0) };
                    pipe.cmd("HDEL").arg(&self.runs_key).arg(run_field(&key)).ignore();
                }
                for sub in &decision.submissions {
                    let value = format!("{CLAIMED} {} {:?} {}", cx.node, cx.now, encode_run_times(&sub.run_times));
                    pipe.cmd("HSET").arg(&self.runs_key).arg(run_field(&sub.key())).arg(value).ignore();
                }
                let result: Value = pipe.query(c)?;
                if !matches!(result, Value::Nil) {
                    return Ok(());
                }
                // Another client changed the keys: read again and decide again.
            }
            Err(redis::RedisError::from((redis::ErrorKind::Client, "claim kept conflicting with other writers")))
        })
    }

    fn heartbeat(&self, node: &str, lease_until: f64) -> RowResult<bool> {
        let added: i64 =
            self.with(|c| redis::cmd("HSET").arg(&self.nodes_key).arg(node).arg(format!("{lease_until:?}")).query(c))?;
        Ok(added == 0)
    }

    fn start_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<Vec<bool>> {
        let flags: Vec<i64> = self.with(|c| {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(START).arg(1).arg(&self.runs_key).arg(node).arg(format!("{:?}", now_ts()));
            for key in keys {
                cmd.arg(run_field(key));
            }
            cmd.query(c)
        })?;
        Ok(flags.into_iter().map(|f| f == 1).collect())
    }

    fn finish_runs(&self, node: &str, keys: &[RunKey]) -> RowResult<()> {
        self.with(|c| {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(FINISH).arg(1).arg(&self.runs_key).arg(node);
            for key in keys {
                cmd.arg(run_field(key));
            }
            cmd.query::<()>(c)
        })
    }

    fn lost_runs(&self) -> RowResult<Vec<LostRun>> {
        let runs: HashMap<String, String> = self.with(|c| redis::cmd("HGETALL").arg(&self.runs_key).query(c))?;
        let mut lost: Vec<(f64, LostRun)> = runs
            .into_iter()
            .filter_map(|(field, value)| {
                let mut parts = value.split(' ');
                let (state, node, at) = (parts.next()?, parts.next()?, parts.next()?.parse().ok()?);
                let (run_time, job_id) = parse_field(&field)?;
                (state == LOST.to_string()).then(|| (at, LostRun { job_id, run_time, node_id: node.to_owned() }))
            })
            .collect();
        lost.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(lost.into_iter().map(|(_, l)| l).collect())
    }

    fn leave(&self, node: &str) -> RowResult<()> {
        self.with(|c| redis::cmd("HDEL").arg(&self.nodes_key).arg(node).query::<()>(c))
    }

    fn sibling(&self) -> Arc<dyn RowStore> {
        Arc::new(RedisRows::new(self.url.clone(), self.jobs_key.clone(), self.run_times_key.clone()))
    }

    fn close(&self) {
        drop(self.conn.lock().take());
    }
}
