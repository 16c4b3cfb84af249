//! Restoring a stored job without Python's `pickle` for the common shapes (issue #4).
//!
//! A stored job is the version-1 state dict of `Job.__getstate__`, pickled (spec
//! `serialization.md`). [`decode_job`] reads it with the native pickle reader and builds the
//! `Job` directly when every part has a shape it knows: an interval or date trigger (our class
//! paths or APScheduler's), `ZoneInfo` and `datetime.timezone` zones, aware datetimes,
//! `timedelta`s, and arguments made of `None`, booleans, numbers, strings, bytes, tuples, lists
//! and dicts. Anything else returns `None` and the caller takes the Python path
//! (`_compat.loads` + `Job.__setstate__`), which also produces the exact errors of
//! unrestorable rows.
//!
//! The Python trigger object is not created here: the job keeps the stored bytes and creates it
//! from them on first use (`Job.trigger`, `__getstate__`, `str(job)`); the engine only needs the
//! native trigger, which is built at once.

use crate::core::job_id::JobId;
use crate::core::pickle::{Id, Pickle, Reader, Value};
use crate::core::time::{Zone, ZonedTime};
use crate::core::trigger::Trigger;
use crate::core::trigger::cron::CronTrigger;
use crate::core::trigger::cron::expr::Expr;
use crate::core::trigger::cron::fields::{Field, FieldKind};
use crate::core::trigger::date::DateTrigger;
use crate::core::trigger::interval::IntervalTrigger;
use crate::py::job::{JobFields, JobRecord, NextRunBytes, StoredTrigger, TriggerSlot, shared_alias, shared_empty_kwargs};
use crate::py::pyref::REF_TO_OBJ;
use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::sync::Arc;

/// What the jobs of one batch share: the pickle reader's buffers, and callables, names and
/// zones looked up once per batch (a batch is one call: `get_jobs()`, one processing pass,
/// one lookup).
#[derive(Default)]
pub struct RestoreCache {
    reader: Reader,
    known: Known,
}

#[derive(Default)]
struct Known {
    /// reference text -> (the reference as a Python str, the resolved callable)
    funcs: HashMap<Box<str>, (Py<PyString>, Py<PyAny>)>,
    names: HashMap<Box<str>, Py<PyString>>,
    /// The executor alias of the previous job (jobs of one store mostly share one).
    executor: Option<Arc<str>>,
    /// `ZoneInfo` key -> zone (`None`: Python does not accept the key)
    zoneinfo: HashMap<Box<str>, Option<Zone>>,
}

impl Known {
    fn func(&mut self, py: Python<'_>, text: &str) -> Option<(Py<PyString>, Py<PyAny>)> {
        if let Some((r, f)) = self.funcs.get(text) {
            return Some((r.clone_ref(py), f.clone_ref(py)));
        }
        let r = PyString::new(py, text);
        // A failing reference takes the Python path, which raises and logs the error.
        let f = REF_TO_OBJ.get(py).ok()?.call1((&r,)).ok()?;
        if self.funcs.len() < 10_000 {
            self.funcs.insert(text.into(), (r.clone().unbind(), f.clone().unbind()));
        }
        Some((r.unbind(), f.unbind()))
    }

    fn executor(&mut self, text: &str) -> Arc<str> {
        match &self.executor {
            Some(e) if &**e == text => e.clone(),
            _ => {
                let e = shared_alias(text);
                self.executor = Some(e.clone());
                e
            }
        }
    }

    fn name(&mut self, py: Python<'_>, text: &str) -> Py<PyString> {
        if let Some(n) = self.names.get(text) {
            return n.clone_ref(py);
        }
        let n = PyString::new(py, text).unbind();
        if self.names.len() < 10_000 {
            self.names.insert(text.into(), n.clone_ref(py));
        }
        n
    }

    /// The zone of `ZoneInfo(key)`, asking Python once per key whether it exists.
    fn zoneinfo(&mut self, py: Python<'_>, key: &str) -> Option<Zone> {
        if let Some(z) = self.zoneinfo.get(key) {
            return *z;
        }
        let zone = (|| -> PyResult<Zone> {
            let tz = py.import("zoneinfo")?.getattr("ZoneInfo")?.call1((key,))?;
            crate::py::time::zone_from_tzinfo(&tz)
        })()
        .ok();
        if self.zoneinfo.len() < 1_000 {
            self.zoneinfo.insert(key.into(), zone);
        }
        zone
    }
}

/// `(module, name)` of a class of ours or APScheduler's (stored by APScheduler itself), with
/// the package prefix taken off the module.
fn our_class<'a>(p: &Pickle<'a>, id: Id) -> Option<(&'a str, &'a str)> {
    let Value::Global(module, name) = p.get(id) else { return None };
    let module = module.strip_prefix("apscheduler_rs.").or_else(|| module.strip_prefix("apscheduler."))?;
    Some((module, name))
}

/// Module paths of our trigger classes and of APScheduler's.
fn trigger_class(class: (&str, &str)) -> Option<&'static str> {
    match class {
        ("triggers.interval", "IntervalTrigger") => Some("interval"),
        ("triggers.date", "DateTrigger") => Some("date"),
        ("triggers.cron", "CronTrigger") => Some("cron"),
        _ => None,
    }
}

/// `((module, name), state dict)` of an object of one of our (or APScheduler's) classes,
/// pickled as `cls.__new__(cls)` plus a state dict.
fn object_state<'a>(p: &Pickle<'a>, id: Id) -> Option<((&'a str, &'a str), Id)> {
    let Value::Built(obj, states) = p.get(id) else { return None };
    let Value::New(cls, args) = p.get(obj) else { return None };
    if !p.tuple(args)?.is_empty() {
        return None;
    }
    let [state] = p.items(states) else { return None };
    matches!(p.get(*state), Value::Dict(_)).then_some((our_class(p, cls)?, *state))
}

/// [`object_state`] of an object whose class is in `module`: `(class name, state dict)`.
fn object_in<'a>(p: &Pickle<'a>, id: Id, module: &str) -> Option<(&'a str, Id)> {
    let ((m, name), state) = object_state(p, id)?;
    (m == module).then_some((name, state))
}

/// A cron field object: its name, `is_default` and expressions, as `fields_from_py` reads them.
fn cron_field(p: &Pickle, id: Id) -> Option<Field> {
    let (_, state) = object_in(p, id, "triggers.cron.fields")?;
    let [name, is_default, exprs] = p.dict_fields(state, ["name", "is_default", "expressions"])?;
    let kind = FieldKind::from_name(p.str(name?)?)?;
    let Value::Bool(is_default) = p.get(is_default?) else { return None };
    let Value::List(span) = p.get(exprs?) else { return None };
    let exprs = p.items(span).iter().map(|e| cron_expr(p, *e)).collect::<Option<Vec<_>>>()?;
    Some(Field::new(kind, is_default, exprs))
}

/// A cron expression object, by its class (the attributes `expr_from_py` reads).
fn cron_expr(p: &Pickle, id: Id) -> Option<Expr> {
    let (class, state) = object_in(p, id, "triggers.cron.expressions")?;
    let [step, first, last, option_num, weekday] =
        p.dict_fields(state, ["step", "first", "last", "option_num", "weekday"])?;
    // An attribute that is None or an int; anything else (or a missing one) takes Python's path.
    let opt = |v: Option<Id>| match p.get(v?) {
        Value::None => Some(None),
        Value::Int(i) => Some(Some(i)),
        _ => None,
    };
    let req = |v: Option<Id>| opt(v)?;
    Some(match class {
        "AllExpression" => Expr::All { step: opt(step)? },
        "RangeExpression" => Expr::Range { first: req(first)?, last: opt(last)?, step: opt(step)? },
        "MonthRangeExpression" => Expr::MonthRange { first: req(first)?, last: opt(last)?, step: opt(step)? },
        "WeekdayRangeExpression" => Expr::WeekdayRange { first: req(first)?, last: opt(last)?, step: opt(step)? },
        "WeekdayPositionExpression" => Expr::WeekdayPosition { option_num: req(option_num)?, weekday: req(weekday)? },
        "LastDayOfMonthExpression" => Expr::LastDayOfMonth,
        _ => return None,
    })
}

struct Decoder<'a, 'py> {
    py: Python<'py>,
    p: &'a Pickle<'a>,
    cache: &'a mut Known,
}

impl<'py> Decoder<'_, 'py> {
    fn int(&self, id: Id) -> Option<i64> {
        match self.p.get(id) {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }

    /// A `tzinfo` node: `ZoneInfo._unpickle(key, 1)` or an unnamed `timezone(timedelta)`.
    fn zone(&mut self, id: Id) -> Option<Zone> {
        let p = self.p;
        let Value::Call(f, args) = p.get(id) else { return None };
        let args = p.tuple(args)?;
        if p.is_global(f, "datetime", "timezone") {
            let [delta] = args else { return None };
            let Value::Call(td, td_args) = p.get(*delta) else { return None };
            if !p.is_global(td, "datetime", "timedelta") {
                return None;
            }
            let [d, s, us] = p.tuple(td_args)? else { return None };
            let secs = self.int(*d)?.checked_mul(86_400)?.checked_add(self.int(*s)?)?;
            if self.int(*us)? != 0 || secs.abs() >= 86_400 {
                return None;
            }
            return Some(if secs == 0 { Zone::Utc } else { Zone::Fixed(secs as i32) });
        }
        // getattr(ZoneInfo, '_unpickle')(key, 1)
        let Value::Call(getattr, ga_args) = p.get(f) else { return None };
        if !p.is_global(getattr, "builtins", "getattr") {
            return None;
        }
        let [cls, attr] = p.tuple(ga_args)? else { return None };
        if !p.is_global(*cls, "zoneinfo", "ZoneInfo") || p.str(*attr) != Some("_unpickle") {
            return None;
        }
        let [key, flag] = args else { return None };
        if self.int(*flag) != Some(1) {
            return None;
        }
        let key = p.str(*key)?;
        self.cache.zoneinfo(self.py, key)
    }

    /// An aware `datetime(<10 bytes>, tzinfo)`.
    fn datetime(&mut self, id: Id) -> Option<ZonedTime> {
        let p = self.p;
        let Value::Call(f, args) = p.get(id) else { return None };
        if !p.is_global(f, "datetime", "datetime") {
            return None;
        }
        let [state, tz] = p.tuple(args)? else { return None };
        let Value::Bytes(b) = p.get(*state) else { return None };
        let b: &[u8; 10] = b.try_into().ok()?;
        let (month, fold) = (b[2] & 0x7f, b[2] & 0x80 != 0);
        let micro = u32::from_be_bytes([0, b[7], b[8], b[9]]);
        if micro >= 1_000_000 {
            return None;
        }
        let local = NaiveDate::from_ymd_opt(i32::from(u16::from_be_bytes([b[0], b[1]])), month.into(), b[3].into())?
            .and_hms_micro_opt(b[4].into(), b[5].into(), b[6].into(), micro)?;
        let zone = self.zone(*tz)?;
        Some(ZonedTime::new(local, fold, zone))
    }

    fn opt_datetime(&mut self, id: Id) -> Option<Option<ZonedTime>> {
        match self.p.get(id) {
            Value::None => Some(None),
            _ => self.datetime(id).map(Some),
        }
    }

    /// A trigger's `jitter` (missing or `None`: none; ints and floats: seconds).
    fn jitter(&self, id: Option<Id>) -> Option<Option<f64>> {
        match id.map(|j| self.p.get(j)) {
            None | Some(Value::None) => Some(None),
            Some(Value::Int(v)) => Some(Some(v as f64)),
            Some(Value::Float(v)) => Some(Some(v)),
            Some(_) => None,
        }
    }

    /// Version check shared by the trigger states: a missing or higher version takes the
    /// Python path (which raises the right error).
    fn version_at_most(&self, version: Option<Id>, max: i64) -> Option<()> {
        let v = self.int(version?)?;
        (v <= max).then_some(())
    }

    /// The native trigger of a pickled trigger object we know.
    fn trigger(&mut self, id: Id) -> Option<Arc<dyn Trigger>> {
        let p = self.p;
        // (A 3.0.x tuple state is not a dict: it takes Python's path.)
        let (class, state) = object_state(p, id)?;
        match trigger_class(class)? {
            "interval" => {
                let [version, timezone, start, end, interval, jitter] =
                    p.dict_fields(state, ["version", "timezone", "start_date", "end_date", "interval", "jitter"])?;
                self.version_at_most(version, 2)?;
                let zone = self.zone(timezone?)?;
                let start = self.datetime(start?)?;
                let end = self.opt_datetime(end?)?;
                let Value::Call(td, td_args) = p.get(interval?) else { return None };
                if !p.is_global(td, "datetime", "timedelta") {
                    return None;
                }
                let [d, s, us] = p.tuple(td_args)? else { return None };
                let micros = self
                    .int(*d)?
                    .checked_mul(86_400_000_000)?
                    .checked_add(self.int(*s)?.checked_mul(1_000_000)?)?
                    .checked_add(self.int(*us)?)?;
                let jitter = self.jitter(jitter)?;
                Some(Arc::new(IntervalTrigger::new(micros, start, end, zone, jitter)))
            }
            "cron" => {
                let [version, timezone, start, end, fields, jitter] =
                    p.dict_fields(state, ["version", "timezone", "start_date", "end_date", "fields", "jitter"])?;
                self.version_at_most(version, 2)?;
                let zone = self.zone(timezone?)?;
                let start = self.opt_datetime(start?)?;
                let end = self.opt_datetime(end?)?;
                let Value::List(span) = p.get(fields?) else { return None };
                let fields = p.items(span).iter().map(|f| cron_field(p, *f)).collect::<Option<Vec<_>>>()?;
                let fields: [Field; 8] = fields.try_into().ok()?;
                let jitter = self.jitter(jitter)?;
                Some(Arc::new(CronTrigger { fields, start, end, zone, jitter }))
            }
            "date" => {
                let [version, run_date] = p.dict_fields(state, ["version", "run_date"])?;
                self.version_at_most(version, 1)?;
                let run_date = self.datetime(run_date?)?;
                Some(Arc::new(DateTrigger { run_date }))
            }
            _ => None,
        }
    }

    /// A Python object for a plain value (`memo` keeps shared sub-objects shared).
    fn plain(&self, id: Id, memo: &mut HashMap<Id, Py<PyAny>>) -> Option<Bound<'py, PyAny>> {
        let py = self.py;
        if let Some(o) = memo.get(&id) {
            return Some(o.bind(py).clone());
        }
        let obj = match self.p.get(id) {
            Value::None => py.None().into_bound(py),
            Value::Bool(b) => pyo3::types::PyBool::new(py, b).to_owned().into_any(),
            Value::Int(v) => v.into_pyobject(py).ok()?.into_any(),
            Value::Float(v) => v.into_pyobject(py).ok()?.into_any(),
            Value::Str(s) => PyString::new(py, s).into_any(),
            Value::Bytes(b) => PyBytes::new(py, b).into_any(),
            Value::Tuple(span) => {
                let items = self.p.items(span).iter().map(|i| self.plain(*i, memo)).collect::<Option<Vec<_>>>()?;
                PyTuple::new(py, items).ok()?.into_any()
            }
            Value::List(span) => {
                let items = self.p.items(span).iter().map(|i| self.plain(*i, memo)).collect::<Option<Vec<_>>>()?;
                PyList::new(py, items).ok()?.into_any()
            }
            Value::Dict(span) => {
                let d = PyDict::new(py);
                for kv in self.p.items(span).chunks_exact(2) {
                    d.set_item(self.plain(kv[0], memo)?, self.plain(kv[1], memo)?).ok()?;
                }
                d.into_any()
            }
            _ => return None,
        };
        if matches!(self.p.get(id), Value::Tuple(_) | Value::List(_) | Value::Dict(_)) {
            memo.insert(id, obj.clone().unbind());
        }
        Some(obj)
    }
}

/// A `Job` restored natively from a stored state, or `Err` when the state has a shape this
/// decoder does not handle (the caller then uses Python's pickle).
/// `Err` gives the bytes back. The job keeps them to create its trigger object from.
pub fn decode_job<'s>(py: Python<'_>, cache: &mut RestoreCache, state: Cow<'s, [u8]>) -> Result<JobRecord, Cow<'s, [u8]>> {
    match decode_fields(py, cache, &state) {
        Some((id, mut fields, Stored { native, next_run_at })) => {
            let state = state.into_owned().into_boxed_slice();
            fields.trigger = Some(TriggerSlot::Stored(Box::new(StoredTrigger { state, native, next_run_at })));
            Ok(JobRecord::with_fields(id, fields))
        }
        None => Err(state),
    }
}

/// What a natively restored job keeps besides its fields.
struct Stored {
    native: Arc<dyn Trigger>,
    next_run_at: Option<NextRunBytes>,
}

/// Where in `state` the 10 bytes of the pickled `datetime(bytes, tz)` at `node` start.
fn payload_offset(p: &Pickle, node: Id, state: &[u8]) -> Option<u32> {
    let Value::Call(_, args) = p.get(node) else { return None };
    let [bytes, _] = p.tuple(args)? else { return None };
    let Value::Bytes(b) = p.get(*bytes) else { return None };
    // The parser's byte strings are slices of its input.
    let offset = (b.as_ptr() as usize).checked_sub(state.as_ptr() as usize)?;
    (b.len() == 10 && state.get(offset..offset + 10) == Some(b)).then(|| u32::try_from(offset).ok()).flatten()
}

fn decode_fields(py: Python<'_>, cache: &mut RestoreCache, state: &[u8]) -> Option<(JobId, JobFields, Stored)> {
    let RestoreCache { reader, known } = cache;
    let p = reader.parse(state).ok()?;
    let mut d = Decoder { py, p: &p, cache: known };
    let root = p.root;
    const KEYS: [&str; 12] = [
        "version",
        "id",
        "func",
        "trigger",
        "executor",
        "args",
        "kwargs",
        "name",
        "misfire_grace_time",
        "coalesce",
        "max_instances",
        "next_run_time",
    ];
    let [version, id, func, trigger, executor, args, kwargs, name, misfire, coalesce, max_instances, next_run_time] =
        p.dict_fields(root, KEYS)?;
    if let Some(v) = version
        && !matches!(p.get(v), Value::Int(v) if v <= 1)
    {
        return None;
    }
    let id = p.str(id?)?;
    let (func_ref, func) = d.cache.func(py, p.str(func?)?)?;
    let native_trigger = d.trigger(trigger?)?;
    let executor = d.cache.executor(p.str(executor?)?);
    let mut memo = HashMap::default();
    let args = args?;
    let args = match p.get(args) {
        Value::Tuple(span) if p.items(span).is_empty() => PyTuple::empty(py).into_any(),
        Value::Tuple(_) | Value::List(_) => d.plain(args, &mut memo)?,
        _ => return None,
    };
    let kwargs = kwargs?;
    let kwargs = match p.get(kwargs) {
        Value::Dict(span) if p.items(span).is_empty() => shared_empty_kwargs(py).clone().into_any(),
        Value::Dict(_) => d.plain(kwargs, &mut memo)?,
        _ => return None,
    };
    let name = d.cache.name(py, p.str(name?)?);
    let misfire_grace_time = match p.get(misfire?) {
        Value::None => None,
        Value::Int(v) => Some(v),
        _ => return None,
    };
    let Value::Bool(coalesce) = p.get(coalesce?) else { return None };
    let max_instances = d.int(max_instances?)?;
    let next_run_node = next_run_time?;
    let next_run_time = d.opt_datetime(next_run_node)?;
    let next_run_at = next_run_time.and_then(|t| Some(NextRunBytes { offset: payload_offset(&p, next_run_node, state)?, zone: t.zone }));
    let mut fields = JobFields::default();
    fields.name = Some(name.into_any());
    fields.func = Some(func);
    fields.func_ref = Some(func_ref.into_any());
    fields.args = Some(args.unbind());
    fields.kwargs = Some(kwargs.unbind());
    fields.executor = Some(executor);
    fields.coalesce = Some(coalesce);
    fields.next_run_time = Some(next_run_time);
    fields.set_misfire_grace_time(misfire_grace_time);
    fields.set_max_instances(max_instances);
    Some((JobId::new(id), fields, Stored { native: native_trigger, next_run_at }))
}

/// `_core._native_restorable(state)`: whether a stored job state takes the native path (for
/// tests: the shapes it covers must not silently fall back to Python's pickle).
#[pyfunction]
#[pyo3(name = "_native_restorable")]
pub fn native_restorable(py: Python<'_>, state: &[u8]) -> bool {
    decode_fields(py, &mut RestoreCache::default(), state).is_some()
}
