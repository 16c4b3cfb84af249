//! A stored job's state read without Python (issue #4).
//!
//! A stored job is the version-1 state dict of `Job.__getstate__`, pickled (spec
//! `serialization.md`). [`decode`] reads it with the native pickle reader when every part has a
//! shape it knows: an interval, date or cron trigger (our class paths or APScheduler's),
//! `ZoneInfo` and `datetime.timezone` zones, aware datetimes, `timedelta`s, and arguments made
//! of `None`, booleans, numbers, strings, bytes, tuples, lists and dicts. Anything else gives
//! `None`, and the caller takes Python's path (which also raises the exact errors of rows that
//! cannot be restored).
//!
//! Nothing here needs the GIL, so a store decodes a large batch on several threads; the
//! Python parts (the callable, the name and argument objects) are made afterwards from the
//! [`DecodedJob`] (`py::restore`).

use crate::core::job_id::JobId;
use crate::core::pickle::{Id, Pickle, Reader, Value};
use crate::core::time::{Zone, ZonedTime};
use crate::core::trigger::Trigger;
use crate::core::trigger::cron::CronTrigger;
use crate::core::trigger::cron::expr::Expr;
use crate::core::trigger::cron::fields::{Field, FieldKind};
use crate::core::trigger::date::DateTrigger;
use crate::core::trigger::interval::IntervalTrigger;
use chrono::NaiveDate;
use chrono_tz::Tz;
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// The fields of a stored job, decoded. Nothing borrows the state it was read from, so
/// the state's buffer can be reused at once.
pub struct DecodedJob {
    pub id: JobId,
    pub func: Arc<str>,
    pub name: Arc<str>,
    pub executor: Arc<str>,
    /// A tuple or list.
    pub args: Plain,
    /// A dict.
    pub kwargs: Plain,
    pub misfire_grace_time: Option<i64>,
    pub coalesce: bool,
    pub max_instances: i64,
    pub next_run_time: Option<ZonedTime>,
    /// Where the 10 payload bytes of the stored `next_run_time` start (see
    /// `JobRecord::stored_state_with_next`).
    pub next_run_offset: Option<u32>,
    pub trigger: DecodedTrigger,
}

impl DecodedJob {
    /// Whether the job can be held without its stored bytes: its trigger is a plain interval
    /// trigger (see `py::job::TriggerSlot::Interval`). Any other job makes its trigger object
    /// from the bytes when asked for it.
    pub fn holds_without_state(&self) -> bool {
        matches!(self.trigger, DecodedTrigger::PlainInterval(_))
    }
}

/// A decoded trigger. Plain interval triggers ([`IntervalTrigger::is_plain`]) stay visible as
/// such: a job that keeps no stored bytes can stand for one compactly (see
/// `py::job::TriggerSlot::Interval`).
#[derive(Clone)]
pub enum DecodedTrigger {
    PlainInterval(Arc<IntervalTrigger>),
    Other(Arc<dyn Trigger>),
}

impl DecodedTrigger {
    pub fn native(&self) -> Arc<dyn Trigger> {
        match self {
            DecodedTrigger::PlainInterval(t) => t.clone(),
            DecodedTrigger::Other(t) => t.clone(),
        }
    }
}

/// The last callable reference, name and executor alias read, handed out again while the
/// states repeat them (the rows of one store mostly do).
#[derive(Default)]
struct LastTexts([Option<Arc<str>>; 3]);

impl LastTexts {
    const FUNC: usize = 0;
    const NAME: usize = 1;
    const EXECUTOR: usize = 2;

    fn get(&mut self, slot: usize, text: &str) -> Arc<str> {
        match &self.0[slot] {
            Some(last) if **last == *text => last.clone(),
            _ => {
                let text: Arc<str> = text.into();
                self.0[slot] = Some(text.clone());
                text
            }
        }
    }
}

/// A plain argument value.
#[derive(Debug, Clone, PartialEq)]
pub enum Plain {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    Bytes(Box<[u8]>),
    Tuple(Vec<Plain>),
    List(Vec<Plain>),
    Dict(Vec<(Plain, Plain)>),
}

impl Plain {
    /// `()`, `[]` or `{}`.
    pub fn is_empty_container(&self) -> bool {
        match self {
            Plain::Tuple(v) | Plain::List(v) => v.is_empty(),
            Plain::Dict(v) => v.is_empty(),
            _ => false,
        }
    }
}

/// Turns the key of a `ZoneInfo` into a zone (`None`: not a zone).
pub trait ZoneKeys {
    fn zone(&mut self, key: &str) -> Option<Zone>;
}

/// [`ZoneKeys`] from the IANA database compiled in, remembering the keys it was asked for so
/// that the caller can check afterwards that Python's `zoneinfo` knows them too.
#[derive(Default)]
pub struct CompiledZones {
    seen: HashMap<Box<str>, Option<Zone>>,
}

impl CompiledZones {
    /// The keys asked for, with the zone each gave.
    pub fn seen(&self) -> impl Iterator<Item = (&str, Option<Zone>)> {
        self.seen.iter().map(|(k, z)| (&**k, *z))
    }

    /// How many keys were asked for.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

impl ZoneKeys for CompiledZones {
    fn zone(&mut self, key: &str) -> Option<Zone> {
        if let Some(z) = self.seen.get(key) {
            return *z;
        }
        let zone = key.parse::<Tz>().ok().map(Zone::Iana);
        self.seen.insert(key.into(), zone);
        zone
    }
}

/// The keys of a job state, in the order `Job.__getstate__` writes them.
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

/// Reads job states one after the other. States of one shape (a store's rows mostly are:
/// same classes and keys, other ids and dates) are read faster: the pickle reader replays the
/// shape and says which leaves changed, and the parts of the last job that depend on none of
/// them (its trigger, its arguments) are reused instead of decoded again.
#[derive(Default)]
pub struct StateReader {
    reader: Reader,
    last: Option<LastJob>,
    texts: LastTexts,
}

/// What the last decoded state leaves for the next one of its shape.
struct LastJob {
    /// The node of each of [`KEYS`] in the state dict.
    fields: [Option<Id>; 12],
    /// The nodes of the dict's keys, and those the trigger and the arguments are made of
    /// (each sorted).
    keys: Vec<Id>,
    trigger_nodes: Vec<Id>,
    args_nodes: Vec<Id>,
    trigger: DecodedTrigger,
    args: Plain,
    kwargs: Plain,
}

impl StateReader {
    /// Decodes one stored state (`None`: a shape this decoder leaves to Python).
    pub fn decode(&mut self, zones: &mut dyn ZoneKeys, state: &[u8]) -> Option<DecodedJob> {
        let StateReader { reader, last: last_job, texts } = self;
        let Ok(p) = reader.parse(state) else {
            *last_job = None;
            return None;
        };
        let touches = |nodes: &[Id], changed: &[Id]| changed.iter().any(|c| nodes.binary_search(c).is_ok());
        // The last job's parts hold if this state has its shape and the same keys.
        let last = match (p.changed, last_job.take()) {
            (Some(changed), Some(last)) if !touches(&last.keys, changed) => Some((last, changed)),
            _ => None,
        };
        let mut d = Decoder { p: &p, zones };
        let fields = match &last {
            Some((last, _)) => last.fields,
            None => p.dict_fields(p.root, KEYS)?,
        };
        let [version, id, func, trigger, executor, args, kwargs, name, misfire, coalesce, max_instances, next_run_time] =
            fields;
        if let Some(v) = version
            && !matches!(p.get(v), Value::Int(v) if v <= 1)
        {
            return None;
        }
        let text = |node: Option<Id>| p.str(node?);
        let (trigger_id, args_id, kwargs_id) = (trigger?, args?, kwargs?);
        let trigger = match &last {
            Some((last, changed)) if !touches(&last.trigger_nodes, changed) => last.trigger.clone(),
            _ => d.trigger(trigger_id)?,
        };
        let (args, kwargs) = match &last {
            Some((last, changed)) if !touches(&last.args_nodes, changed) => (last.args.clone(), last.kwargs.clone()),
            _ => d.arguments(args_id, kwargs_id)?,
        };
        let misfire_grace_time = match p.get(misfire?) {
            Value::None => None,
            Value::Int(v) => Some(v),
            _ => return None,
        };
        let Value::Bool(coalesce) = p.get(coalesce?) else { return None };
        let next_run_node = next_run_time?;
        let next_run_time = d.opt_datetime(next_run_node)?;
        let job = DecodedJob {
            id: JobId::new(p.str(id?)?),
            func: texts.get(LastTexts::FUNC, text(func)?),
            name: texts.get(LastTexts::NAME, text(name)?),
            executor: texts.get(LastTexts::EXECUTOR, text(executor)?),
            args,
            kwargs,
            misfire_grace_time,
            coalesce,
            max_instances: d.int(max_instances?)?,
            next_run_offset: next_run_time.and_then(|_| payload_offset(&p, next_run_node, state)),
            next_run_time,
            trigger,
        };
        *last_job = Some(match last {
            Some((last, _)) => {
                LastJob { trigger: job.trigger.clone(), args: job.args.clone(), kwargs: job.kwargs.clone(), ..last }
            }
            None => LastJob {
                fields,
                keys: match p.get(p.root) {
                    Value::Dict(span) => {
                        let mut keys: Vec<Id> = p.items(span).iter().step_by(2).copied().collect();
                        keys.sort_unstable();
                        keys
                    }
                    _ => return Some(job),
                },
                trigger_nodes: p.reachable(trigger_id),
                args_nodes: {
                    let mut nodes = p.reachable(args_id);
                    nodes.extend(p.reachable(kwargs_id));
                    nodes.sort_unstable();
                    nodes
                },
                trigger: job.trigger.clone(),
                args: job.args.clone(),
                kwargs: job.kwargs.clone(),
            },
        });
        Some(job)
    }
}

/// `(module, name)` of a class of ours or APScheduler's (stored by APScheduler itself), with
/// the package prefix taken off the module.
fn our_class<'a>(p: &Pickle<'a>, id: Id) -> Option<(&'a str, &'a str)> {
    let Value::Global(module, name) = p.get(id) else { return None };
    let module = module.strip_prefix("apscheduler_rs.").or_else(|| module.strip_prefix("apscheduler."))?;
    Some((module, name))
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

/// Where in `state` the 10 bytes of the pickled `datetime(bytes, tz)` at `node` start.
fn payload_offset(p: &Pickle, node: Id, state: &[u8]) -> Option<u32> {
    let Value::Call(_, args) = p.get(node) else { return None };
    let [bytes, _] = p.tuple(args)? else { return None };
    let Value::Bytes(b) = p.get(*bytes) else { return None };
    let offset = (b.as_ptr() as usize).checked_sub(state.as_ptr() as usize)?;
    (b.len() == 10 && state.get(offset..offset + 10) == Some(b)).then(|| u32::try_from(offset).ok()).flatten()
}

struct Decoder<'a> {
    p: &'a Pickle<'a>,
    zones: &'a mut dyn ZoneKeys,
}

impl Decoder<'_> {
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
            let secs = self.timedelta_micros(*delta)?;
            if secs % 1_000_000 != 0 || secs.abs() >= 86_400_000_000 {
                return None;
            }
            let secs = (secs / 1_000_000) as i32;
            return Some(if secs == 0 { Zone::Utc } else { Zone::Fixed(secs) });
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
        self.zones.zone(p.str(*key)?)
    }

    /// A `timedelta(days, seconds, microseconds)` in microseconds.
    fn timedelta_micros(&self, id: Id) -> Option<i64> {
        let p = self.p;
        let Value::Call(td, args) = p.get(id) else { return None };
        if !p.is_global(td, "datetime", "timedelta") {
            return None;
        }
        let [d, s, us] = p.tuple(args)? else { return None };
        self.int(*d)?
            .checked_mul(86_400_000_000)?
            .checked_add(self.int(*s)?.checked_mul(1_000_000)?)?
            .checked_add(self.int(*us)?)
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
    fn trigger(&mut self, id: Id) -> Option<DecodedTrigger> {
        let p = self.p;
        // (A 3.0.x tuple state is not a dict: it takes Python's path.)
        let ((module, class), state) = object_state(p, id)?;
        match (module, class) {
            ("triggers.interval", "IntervalTrigger") => {
                let [version, timezone, start, end, interval, jitter] =
                    p.dict_fields(state, ["version", "timezone", "start_date", "end_date", "interval", "jitter"])?;
                self.version_at_most(version, 2)?;
                let zone = self.zone(timezone?)?;
                let start = self.datetime(start?)?;
                let end = self.opt_datetime(end?)?;
                let micros = self.timedelta_micros(interval?)?;
                let jitter = self.jitter(jitter)?;
                let trigger = Arc::new(IntervalTrigger::new(micros, start, end, zone, jitter));
                Some(match trigger.is_plain() {
                    true => DecodedTrigger::PlainInterval(trigger),
                    false => DecodedTrigger::Other(trigger),
                })
            }
            ("triggers.cron", "CronTrigger") => {
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
                Some(DecodedTrigger::Other(Arc::new(CronTrigger { fields, start, end, zone, jitter })))
            }
            ("triggers.date", "DateTrigger") => {
                let [version, run_date] = p.dict_fields(state, ["version", "run_date"])?;
                self.version_at_most(version, 1)?;
                let run_date = self.datetime(run_date?)?;
                Some(DecodedTrigger::Other(Arc::new(DateTrigger { run_date })))
            }
            _ => None,
        }
    }

    /// `args` (a tuple or list) and `kwargs` (a dict), as plain values.
    fn arguments(&self, args: Id, kwargs: Id) -> Option<(Plain, Plain)> {
        let containers = &mut Vec::new();
        let args = match self.p.get(args) {
            Value::Tuple(_) | Value::List(_) => self.plain(args, containers)?,
            _ => return None,
        };
        let kwargs = match self.p.get(kwargs) {
            Value::Dict(_) => self.plain(kwargs, containers)?,
            _ => return None,
        };
        Some((args, kwargs))
    }

    /// A plain value. A container met twice (one object shared in two places) is left to
    /// Python, which keeps it shared.
    fn plain(&self, id: Id, containers: &mut Vec<Id>) -> Option<Plain> {
        let p = self.p;
        let items = |span, containers: &mut Vec<Id>| {
            if containers.contains(&id) {
                return None;
            }
            containers.push(id);
            p.items(span).iter().map(|i| self.plain(*i, containers)).collect::<Option<Vec<_>>>()
        };
        Some(match p.get(id) {
            Value::None => Plain::None,
            Value::Bool(b) => Plain::Bool(b),
            Value::Int(v) => Plain::Int(v),
            Value::Float(v) => Plain::Float(v),
            Value::Str(s) => Plain::Str(s.into()),
            Value::Bytes(b) => Plain::Bytes(b.into()),
            Value::Tuple(span) => Plain::Tuple(items(span, containers)?),
            Value::List(span) => Plain::List(items(span, containers)?),
            Value::Dict(span) => {
                let mut flat = items(span, containers)?.into_iter();
                let mut pairs = Vec::with_capacity(flat.len() / 2);
                while let (Some(k), Some(v)) = (flat.next(), flat.next()) {
                    pairs.push((k, v));
                }
                Plain::Dict(pairs)
            }
            _ => return None,
        })
    }
}
