//! `apscheduler_rs.job.Job`: one scheduled job.
//!
//! The job's fields live behind a mutex so the engine thread can read its schedule (next run
//! time, coalesce, native trigger) without the GIL. Rule that keeps this deadlock-free: the
//! mutex is never held while Python runs or while the GIL is being acquired.

use crate::core::engine::EngineJob;
use crate::core::job_id::JobId;
use crate::core::store::memory::Keyed;
use crate::core::time::ZonedTime;
use crate::core::trigger::Trigger;
use crate::core::trigger::interval::IntervalTrigger;
use crate::py::pyref::*;
use crate::py::state_pickle::TemplatePickle;
use crate::py::time::{zoned_from_datetime, zoned_to_datetime};
use crate::py::trigger::native_trigger;
use parking_lot::Mutex;
use pyo3::exceptions::{PyAttributeError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyDict, PyInt, PyList, PyString, PyTuple};
use std::sync::Arc;
use std::sync::OnceLock;

/// The job's attributes. `None` means "not set yet" (a pending job before its defaults).
pub struct JobFields {
    pub name: Option<Py<PyAny>>,
    pub func: Option<Py<PyAny>>,
    /// Python's `None` for a job whose callable has no textual reference.
    pub func_ref: Option<Py<PyAny>>,
    pub args: Option<Py<PyAny>>,
    pub kwargs: Option<Py<PyAny>>,
    pub trigger: Option<TriggerSlot>,
    pub executor: Option<Arc<str>>,
    /// See [`JobFields::misfire_grace_time`] (8 bytes where an `Option<Option<i64>>` takes 16).
    misfire: i64,
    pub coalesce: Option<bool>,
    max_instances: i64,
    /// `Some(None)` is a paused job.
    pub next_run_time: Option<Option<ZonedTime>>,
    /// `_scheduler` and `_jobstore_alias`, shared by the jobs of one store.
    home: Option<Arc<Home>>,
}

/// `misfire` and `max_instances` not set yet; `misfire` with no grace limit.
const UNSET: i64 = i64::MIN;
const NO_LIMIT: i64 = i64::MIN + 1;

impl Default for JobFields {
    fn default() -> Self {
        JobFields {
            name: None,
            func: None,
            func_ref: None,
            args: None,
            kwargs: None,
            trigger: None,
            executor: None,
            misfire: UNSET,
            coalesce: None,
            max_instances: UNSET,
            next_run_time: None,
            home: None,
        }
    }
}

/// Where a job belongs: its scheduler and store alias. One per store, shared by its jobs.
pub struct Home {
    scheduler: Option<Py<PyAny>>,
    alias: Option<Py<PyAny>>,
}

impl Home {
    /// The shared home of this scheduler and alias (a fresh one when they are not common).
    pub fn of(scheduler: Option<Py<PyAny>>, alias: Option<Py<PyAny>>) -> Option<Arc<Home>> {
        static HOMES: Mutex<Vec<Arc<Home>>> = Mutex::new(Vec::new());
        if scheduler.is_none() && alias.is_none() {
            return None;
        }
        let same = |a: &Option<Py<PyAny>>, b: &Option<Py<PyAny>>| match (a, b) {
            (Some(a), Some(b)) => a.is(b),
            (None, None) => true,
            _ => false,
        };
        let mut homes = HOMES.lock();
        if let Some(h) = homes.iter().find(|h| same(&h.scheduler, &scheduler) && same(&h.alias, &alias)) {
            return Some(h.clone());
        }
        let mut unused = Vec::new();
        if homes.len() >= 64 {
            // Forget the homes no job uses any more (they keep their scheduler alive); they
            // are dropped after the lock is released, as dropping may run Python code.
            let (keep, gone) = std::mem::take(&mut *homes).into_iter().partition(|h| Arc::strong_count(h) > 1);
            *homes = keep;
            unused = gone;
        }
        let home = Arc::new(Home { scheduler, alias });
        if homes.len() < 64 {
            homes.push(home.clone());
        }
        drop(homes);
        drop(unused);
        Some(home)
    }
}

impl JobFields {
    pub fn scheduler(&self) -> Option<&Py<PyAny>> {
        self.home.as_ref().and_then(|h| h.scheduler.as_ref())
    }
    pub fn jobstore_alias(&self) -> Option<&Py<PyAny>> {
        self.home.as_ref().and_then(|h| h.alias.as_ref())
    }
    /// Puts the job in a home its store's other jobs share.
    pub fn set_shared_home(&mut self, home: Arc<Home>) {
        self.home = Some(home);
    }
    pub fn set_scheduler(&mut self, py: Python<'_>, scheduler: Option<Py<PyAny>>) {
        let alias = self.jobstore_alias().map(|a| a.clone_ref(py));
        self.home = Home::of(scheduler, alias);
    }
    pub fn set_jobstore_alias(&mut self, py: Python<'_>, alias: Option<Py<PyAny>>) {
        let scheduler = self.scheduler().map(|s| s.clone_ref(py));
        self.home = Home::of(scheduler, alias);
    }

    /// `None` while unset, then `Some(None)` (no grace limit) or `Some(Some(seconds))`.
    pub fn misfire_grace_time(&self) -> Option<Option<i64>> {
        match self.misfire {
            UNSET => None,
            NO_LIMIT => Some(None),
            v => Some(Some(v)),
        }
    }
    pub fn set_misfire_grace_time(&mut self, grace: Option<i64>) {
        self.misfire = grace.map_or(NO_LIMIT, |g| g.max(NO_LIMIT + 1));
    }
    pub fn max_instances(&self) -> Option<i64> {
        (self.max_instances != UNSET).then_some(self.max_instances)
    }
    pub fn set_max_instances(&mut self, max: i64) {
        self.max_instances = max.max(UNSET + 1);
    }
}

/// A job's Python trigger object, or what it is created from on first use. The engine needs
/// only the native trigger, so jobs that nobody inspects never create the object (issues #2
/// and #4).
pub enum TriggerSlot {
    /// The object, and its native form when it has one.
    Object(Py<PyAny>, Option<Arc<dyn Trigger>>),
    /// A restored job: its stored state, unpickled on first use (see `py/restore.rs`).
    Stored(Box<StoredTrigger>),
    /// An interval trigger that `add_job` made from an alias (nobody else holds it), kept as
    /// its start and interval: with the shared template that is all of it (32 bytes in place
    /// of a trigger object and a native trigger, issue #2).
    Interval(Arc<TriggerTemplate>, CompactInterval),
}

/// A restored job's trigger: the stored job state it is unpickled from, and its native form.
pub struct StoredTrigger {
    pub state: Box<[u8]>,
    pub native: Arc<dyn Trigger>,
    /// Where the state's `next_run_time` is, so a run can store the next one by rewriting
    /// those bytes (see [`JobRecord::stored_state_with_next`]).
    pub next_run_at: Option<NextRunBytes>,
}

/// The 10-byte payload of the stored `next_run_time` (`datetime(payload, tz)`) and its zone.
pub struct NextRunBytes {
    pub offset: u32,
    pub zone: crate::core::time::Zone,
}

impl TriggerSlot {
    pub fn object(obj: &Bound<'_, PyAny>) -> Self {
        TriggerSlot::Object(obj.clone().unbind(), native_trigger(obj))
    }

    /// The compact slot of `core` with this template (`None` when it cannot stand for the
    /// trigger exactly).
    pub fn compact_interval(template: &Arc<TriggerTemplate>, core: &IntervalTrigger) -> Option<Self> {
        Some(TriggerSlot::Interval(template.clone(), template.compact(core)?))
    }

    /// Whether the engine can compute this trigger's fire times without Python.
    pub fn is_native(&self) -> bool {
        !matches!(self, TriggerSlot::Object(_, None))
    }
}

/// The per-job part of an interval trigger kept in a [`TriggerSlot::Interval`].
#[derive(Clone, Copy)]
pub struct CompactInterval {
    start_us: i64,
    interval_us: i64,
}

/// What interval triggers made from the same alias share: class, zone and jitter objects
/// and their native forms.
pub struct TriggerTemplate {
    class: Py<PyAny>,
    tz: Py<PyAny>,
    jitter: Py<PyAny>,
    zone: crate::core::time::Zone,
    jitter_secs: Option<f64>,
    /// How its trigger objects pickle, found on first use (`None`: not natively).
    pickle: OnceLock<Option<TemplatePickle>>,
}

impl TriggerTemplate {
    /// The shared template of these objects (a few per process: one per scheduler zone).
    fn shared(class: &Bound<'_, PyAny>, tz: Py<PyAny>, jitter: Py<PyAny>, core: &IntervalTrigger) -> Option<Arc<Self>> {
        Self::shared_for(class, tz, jitter, core.zone, core.jitter)
    }

    /// The template of an interval trigger of our class with this `tzinfo` (of `zone`) and no
    /// jitter: what a stored interval trigger without end date or jitter compacts to.
    pub fn plain_interval(py: Python<'_>, tz: Py<PyAny>, zone: crate::core::time::Zone) -> Option<Arc<Self>> {
        static CLASS: Cached = Cached::new("apscheduler_rs.triggers.interval", "IntervalTrigger");
        Self::shared_for(CLASS.get(py).ok()?, tz, py.None(), zone, None)
    }

    fn shared_for(
        class: &Bound<'_, PyAny>,
        tz: Py<PyAny>,
        jitter: Py<PyAny>,
        zone: crate::core::time::Zone,
        jitter_secs: Option<f64>,
    ) -> Option<Arc<Self>> {
        static TEMPLATES: Mutex<Vec<Arc<TriggerTemplate>>> = Mutex::new(Vec::new());
        let mut all = TEMPLATES.lock();
        let same = |t: &&Arc<TriggerTemplate>| {
            t.class.is(class) && t.tz.is(&tz) && t.jitter.is(&jitter) && t.zone == zone && t.jitter_secs == jitter_secs
        };
        if let Some(t) = all.iter().find(same) {
            return Some(t.clone());
        }
        if all.len() >= 64 {
            return None;
        }
        let t = Arc::new(TriggerTemplate {
            class: class.clone().unbind(),
            tz,
            jitter,
            zone,
            jitter_secs,
            pickle: OnceLock::new(),
        });
        all.push(t.clone());
        Some(t)
    }

    /// The compact form of `core`, when this template and it describe the trigger exactly.
    fn compact(&self, core: &IntervalTrigger) -> Option<CompactInterval> {
        let c = CompactInterval { start_us: core.start.micros(), interval_us: core.interval_micros };
        let same = core.end.is_none() && core.zone == self.zone && core.jitter == self.jitter_secs;
        (same && self.expand(c).start == core.start).then_some(c)
    }

    /// What its trigger objects pickle as, when [`crate::py::state_pickle`] can write them.
    pub fn pickle_parts(&self, py: Python<'_>) -> Option<&TemplatePickle> {
        self.pickle.get_or_init(|| TemplatePickle::of(py, &self.class, &self.tz, &self.jitter, self.zone)).as_ref()
    }

    /// The native trigger a compact interval stands for.
    pub fn expand(&self, c: CompactInterval) -> IntervalTrigger {
        let start = ZonedTime::from_micros(c.start_us, self.zone);
        IntervalTrigger::new(c.interval_us, start, None, self.zone, self.jitter_secs)
    }

    /// The trigger object: `cls.__new__(cls)` and the state its `__getstate__` would give.
    fn build(&self, py: Python<'_>, core: &IntervalTrigger) -> PyResult<Py<PyAny>> {
        use crate::py::trigger::args;
        let class = self.class.bind(py);
        let kw = PyDict::new(py);
        kw.set_item("timezone", &self.tz)?;
        let obj = class.call_method("__new__", (class,), Some(&kw))?;
        let state = PyDict::new(py);
        state.set_item("version", 2)?;
        state.set_item("timezone", &self.tz)?;
        state.set_item("start_date", args::to_datetime(py, &core.start, &self.tz)?)?;
        state.set_item("end_date", py.None())?;
        state.set_item("interval", args::new_delta(py, core.interval_micros)?)?;
        state.set_item("jitter", &self.jitter)?;
        obj.call_method1("__setstate__", (state,))?;
        Ok(obj.unbind())
    }
}

/// One shared `Arc<str>` per executor alias (most jobs name `'default'`).
pub fn shared_alias(name: &str) -> Arc<str> {
    static ALIASES: Mutex<Vec<Arc<str>>> = Mutex::new(Vec::new());
    let mut all = ALIASES.lock();
    if let Some(a) = all.iter().find(|a| &***a == name) {
        return a.clone();
    }
    let a: Arc<str> = Arc::from(name);
    if all.len() < 64 {
        all.push(a.clone());
    }
    a
}

/// A job's state, shared by the store that holds it, the engine, running executors and any
/// number of Python `Job` handles. Stores keep records, not Python objects: a `Job` object
/// exists only while somebody in Python holds one (issue #2: memory per job).
pub struct JobRecord {
    /// Set once (a job's id never changes), readable without the lock: the memory store's
    /// index orders records by it.
    id: OnceLock<JobId>,
    pub fields: Mutex<JobFields>,
}

impl Keyed for JobRef {
    fn job_id(&self) -> &JobId {
        static NONE: std::sync::LazyLock<JobId> = std::sync::LazyLock::new(|| JobId::new(""));
        self.id.get().unwrap_or(&NONE)
    }
}

/// A shared reference to a job record, clonable without the GIL.
pub type JobRef = Arc<JobRecord>;

/// The Python face of a job: a handle on its record. Handles made at different times for the
/// same stored job see the same live state (and compare equal, as jobs compare by id).
#[pyclass(module = "apscheduler_rs.job", name = "Job", subclass, weakref, frozen)]
pub struct Job {
    pub rec: JobRef,
}

impl std::ops::Deref for Job {
    type Target = JobRecord;
    fn deref(&self) -> &JobRecord {
        &self.rec
    }
}

/// A Python handle on a record, made the first time something (a log call) needs one.
pub struct LazyHandle<'a, 'py> {
    py: Python<'py>,
    rec: &'a JobRef,
    obj: std::cell::OnceCell<Bound<'py, PyAny>>,
}

impl<'a, 'py> LazyHandle<'a, 'py> {
    pub fn new(py: Python<'py>, rec: &'a JobRef) -> Self {
        LazyHandle { py, rec, obj: std::cell::OnceCell::new() }
    }

    pub fn get(&self) -> PyResult<&Bound<'py, PyAny>> {
        if let Some(obj) = self.obj.get() {
            return Ok(obj);
        }
        let obj = Job::handle(self.py, self.rec)?.into_bound(self.py).into_any();
        Ok(self.obj.get_or_init(|| obj))
    }
}

impl Job {
    pub fn empty() -> Self {
        Job { rec: Arc::new(JobRecord::empty()) }
    }

    /// A new Python handle on `rec`.
    pub fn handle(py: Python<'_>, rec: &JobRef) -> PyResult<Py<Job>> {
        let job = Py::new(py, Job { rec: rec.clone() })?;
        crate::py::add_job::untrack_from_gc(job.bind(py).as_any());
        Ok(job)
    }

    /// A list of new handles, one per record.
    pub fn list<'py>(py: Python<'py>, recs: &[JobRef]) -> PyResult<Bound<'py, PyList>> {
        let handles = recs.iter().map(|r| Job::handle(py, r)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, handles)
    }
}

/// One empty dict shared by every job added without keyword arguments (most jobs): it is
/// only ever read, and swapped for a job's own dict the moment anybody asks for `job.kwargs`.
pub fn shared_empty_kwargs(py: Python<'_>) -> &Bound<'_, PyDict> {
    static EMPTY: pyo3::sync::PyOnceLock<Py<PyDict>> = pyo3::sync::PyOnceLock::new();
    EMPTY.get_or_init(py, || PyDict::new(py).unbind()).bind(py)
}

/// The job's own kwargs object (materializing a private dict in place of the shared one).
fn own_kwargs(py: Python<'_>, kwargs: &mut Option<Py<PyAny>>) -> Option<Py<PyAny>> {
    if let Some(k) = kwargs.as_ref()
        && k.is(shared_empty_kwargs(py))
    {
        *kwargs = Some(PyDict::new(py).into_any().unbind());
    }
    kwargs.as_ref().map(|k| k.clone_ref(py))
}

fn missing(attr: &str) -> PyErr {
    PyAttributeError::new_err(format!("'Job' object has no attribute '{attr}'"))
}

fn clone_opt(py: Python<'_>, v: &Option<Py<PyAny>>, attr: &str) -> PyResult<Py<PyAny>> {
    v.as_ref().map(|o| o.clone_ref(py)).ok_or_else(|| missing(attr))
}

/// Requested changes, by job attribute (what `Job._modify(**changes)` receives).
#[derive(Default)]
pub struct Changes<'py> {
    pub id: Option<Bound<'py, PyAny>>,
    pub func: Option<Bound<'py, PyAny>>,
    pub args: Option<Bound<'py, PyAny>>,
    pub kwargs: Option<Bound<'py, PyAny>>,
    pub name: Option<Bound<'py, PyAny>>,
    pub misfire_grace_time: Option<Bound<'py, PyAny>>,
    pub coalesce: Option<Bound<'py, PyAny>>,
    pub max_instances: Option<Bound<'py, PyAny>>,
    pub trigger: Option<Bound<'py, PyAny>>,
    pub executor: Option<Bound<'py, PyAny>>,
    pub next_run_time: Option<Bound<'py, PyAny>>,
}

impl<'py> Changes<'py> {
    /// Takes the job attributes out of `dict`, leaving only the unknown keys in it.
    fn take_from(py: Python<'py>, dict: &Bound<'py, PyDict>) -> PyResult<Self> {
        let pop = |key: &Bound<'py, PyString>| -> PyResult<Option<Bound<'py, PyAny>>> {
            let value = dict.get_item(key)?;
            if value.is_some() {
                dict.del_item(key)?;
            }
            Ok(value)
        };
        Ok(Changes {
            id: pop(intern!(py, "id"))?,
            func: pop(intern!(py, "func"))?,
            args: pop(intern!(py, "args"))?,
            kwargs: pop(intern!(py, "kwargs"))?,
            name: pop(intern!(py, "name"))?,
            misfire_grace_time: pop(intern!(py, "misfire_grace_time"))?,
            coalesce: pop(intern!(py, "coalesce"))?,
            max_instances: pop(intern!(py, "max_instances"))?,
            trigger: pop(intern!(py, "trigger"))?,
            executor: pop(intern!(py, "executor"))?,
            next_run_time: pop(intern!(py, "next_run_time"))?,
        })
    }
}

/// `(func, func_ref, args, kwargs)` once validated together.
type ApprovedCall = (Py<PyAny>, Option<Py<PyAny>>, Py<PyAny>, Py<PyAny>);

/// Changes approved by validation, applied all at once.
#[derive(Default)]
struct Approved {
    id: Option<String>,
    func: Option<ApprovedCall>,
    name: Option<Py<PyAny>>,
    misfire_grace_time: Option<Option<i64>>,
    coalesce: Option<bool>,
    max_instances: Option<i64>,
    trigger: Option<TriggerSlot>,
    executor: Option<Arc<str>>,
    next_run_time: Option<Option<ZonedTime>>,
}

fn positive_int(value: &Bound<'_, PyAny>) -> Option<i64> {
    if !value.is_instance_of::<PyInt>() {
        return None;
    }
    match value.extract::<i64>() {
        Ok(v) if v > 0 => Some(v),
        Ok(_) => None,
        Err(_) => value.gt(0).ok().filter(|b| *b).map(|_| i64::MAX), // huge ints: effectively unlimited
    }
}

/// `(name, func_ref)` of a callable, cached by identity: `obj_to_ref` imports and resolves.
/// A misfire grace set without `modify`'s check (by `__setstate__` or assignment), in whole
/// seconds: `None`, an int, or a float rounded up (a run is never missed for the rounding).
fn grace_seconds(value: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(secs) = value.extract::<i64>() {
        return Ok(Some(secs));
    }
    match value.extract::<f64>() {
        Ok(secs) if secs.is_finite() => Ok(Some(secs.ceil() as i64)),
        _ => Err(PyTypeError::new_err("misfire_grace_time must be either None or a positive integer")),
    }
}

fn describe_callable(func: &Bound<'_, PyAny>) -> PyResult<(Py<PyAny>, Option<Py<PyAny>>)> {
    use rustc_hash::FxHashMap as HashMap;
    /// callable -> (the callable, its name, its reference)
    type Entry = (Py<PyAny>, Py<PyAny>, Option<Py<PyAny>>);
    static CACHE: Mutex<Option<HashMap<usize, Entry>>> = Mutex::new(None);
    let py = func.py();
    let key = func.as_ptr() as usize;
    if let Some(map) = CACHE.lock().as_ref()
        && let Some((f, name, r)) = map.get(&key)
        && f.is(func)
    {
        return Ok((name.clone_ref(py), r.as_ref().map(|r| r.clone_ref(py))));
    }
    let func_ref = match OBJ_TO_REF.get(py)?.call1((func,)) {
        Ok(r) => Some(r.unbind()),
        Err(e) if e.is_instance_of::<PyValueError>(py) => None,
        Err(e) => return Err(e),
    };
    let name = GET_CALLABLE_NAME.get(py)?.call1((func,))?.unbind();
    // Bound methods are new objects on every attribute access: caching them only grows the map.
    if !INSPECT_ISMETHOD.get(py)?.call1((func,))?.is_truthy()? {
        let mut guard = CACHE.lock();
        let map = guard.get_or_insert_with(HashMap::default);
        if map.len() >= 4096 {
            map.clear();
        }
        let entry = (func.clone().unbind(), name.clone_ref(py), func_ref.as_ref().map(|r| r.clone_ref(py)));
        map.insert(key, entry);
    }
    Ok((name, func_ref))
}

/// `check_callable_args`, remembered for plain functions called with positional arguments only:
/// the answer depends only on the code object, the defaults and the number of arguments.
fn check_callable_args(func: &Bound<'_, PyAny>, args: &Bound<'_, PyAny>, kwargs: &Bound<'_, PyAny>) -> PyResult<()> {
    use pyo3::types::PyFunction;
    use rustc_hash::FxHashMap as HashMap;
    type Key = (usize, usize);
    /// (function, code, defaults, kw-defaults) kept alive so the identities stay meaningful.
    type Entry = [Py<PyAny>; 4];
    static CACHE: Mutex<Option<HashMap<Key, Entry>>> = Mutex::new(None);
    let py = func.py();
    let cacheable = func.is_exact_instance_of::<PyFunction>()
        && kwargs.cast::<PyDict>().is_ok_and(|k| k.is_empty())
        && args.is_exact_instance_of::<PyTuple>();
    if !cacheable {
        CHECK_CALLABLE_ARGS.get(py)?.call1((func, args, kwargs))?;
        return Ok(());
    }
    let parts = [
        func.clone(),
        func.getattr(intern!(py, "__code__"))?,
        func.getattr(intern!(py, "__defaults__"))?,
        func.getattr(intern!(py, "__kwdefaults__"))?,
    ];
    let key = (func.as_ptr() as usize, args.len()?);
    if let Some(map) = CACHE.lock().as_ref()
        && let Some(entry) = map.get(&key)
        && entry.iter().zip(&parts).all(|(a, b)| a.is(b))
    {
        return Ok(());
    }
    CHECK_CALLABLE_ARGS.get(py)?.call1((func, args, kwargs))?;
    let mut guard = CACHE.lock();
    let map = guard.get_or_insert_with(HashMap::default);
    if map.len() >= 1024 {
        map.clear();
    }
    map.insert(key, parts.map(Bound::unbind));
    Ok(())
}

impl JobRecord {
    pub fn empty() -> Self {
        JobRecord { id: OnceLock::new(), fields: Mutex::new(JobFields::default()) }
    }

    /// A record with these fields.
    pub fn with_fields(id: JobId, fields: JobFields) -> Self {
        JobRecord { id: OnceLock::from(id), fields: Mutex::new(fields) }
    }

    /// Gives the job its id; changing an id already given is an error, as in APScheduler.
    pub fn set_id(&self, id: &str) -> PyResult<()> {
        let id = JobId::new(id);
        match self.id.get() {
            Some(old) if *old != id => Err(PyValueError::new_err("The job ID may not be changed")),
            Some(_) => Ok(()),
            None => {
                let _ = self.id.set(id);
                Ok(())
            }
        }
    }

    /// The stored state of a restored job with `next` as its next run time, made by writing
    /// `next`'s wall time into the bytes of the stored one (what pickling the whole state again
    /// would give, the other fields being unchanged), or `None` when that cannot be done: not a
    /// natively restored job, or `next` in another zone than the stored time's `tzinfo`.
    pub fn stored_state_with_next(&self, next: &ZonedTime) -> Option<Vec<u8>> {
        let f = self.fields.lock();
        let Some(TriggerSlot::Stored(stored)) = &f.trigger else { return None };
        let at = stored.next_run_at.as_ref().filter(|at| at.zone == next.zone)?;
        let mut state = stored.state.to_vec();
        let offset = at.offset as usize;
        state.get_mut(offset..offset + 10)?.copy_from_slice(&datetime_payload(next)?);
        Some(state)
    }

    /// The id, once given.
    pub fn given_id(&self) -> Option<&JobId> {
        self.id.get()
    }

    /// The validated modify of jobs-and-events §1.4 over a dict of changes (as
    /// `Job._modify(**changes)` receives them): keys that are not job attributes are reported
    /// after every other check, as APScheduler does.
    pub fn modify_fields<'py>(&self, py: Python<'py>, changes: &Bound<'py, PyDict>) -> PyResult<()> {
        let known = Changes::take_from(py, changes)?;
        self.apply(py, known, Some(changes))
    }

    /// Validates `c` (everything before anything is assigned, in APScheduler's order and with
    /// its messages), then assigns it all at once.
    pub fn apply<'py>(
        &self,
        py: Python<'py>,
        mut c: Changes<'py>,
        unknown: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<()> {
        let mut ok = Approved::default();
        let has_id = self.id.get().is_some();

        if let Some(value) = c.id.take() {
            if !value.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err("id must be a nonempty string"));
            }
            if has_id {
                return Err(PyValueError::new_err("The job ID may not be changed"));
            }
            ok.id = Some(value.extract::<String>()?);
        }

        let (func, args, kwargs) = (c.func.take(), c.args.take(), c.kwargs.take());
        if func.is_some() || args.is_some() || kwargs.is_some() {
            let (cur_func, cur_args, cur_kwargs, has_name) = {
                let f = self.fields.lock();
                (
                    f.func.as_ref().map(|o| o.clone_ref(py)),
                    f.args.as_ref().map(|o| o.clone_ref(py)),
                    f.kwargs.as_ref().map(|o| o.clone_ref(py)),
                    f.name.is_some(),
                )
            };
            let func = match func {
                Some(f) => f,
                None => cur_func.ok_or_else(|| missing("func"))?.into_bound(py),
            };
            let args = match args {
                Some(a) => a,
                None => cur_args.ok_or_else(|| missing("args"))?.into_bound(py),
            };
            let kwargs = match kwargs {
                Some(k) => k,
                None => cur_kwargs.ok_or_else(|| missing("kwargs"))?.into_bound(py),
            };
            let (func, func_ref, default_name) = if func.is_instance_of::<PyString>() {
                let target = REF_TO_OBJ.get(py)?.call1((&func,))?;
                (target, Some(func.clone().unbind()), None)
            } else if func.is_callable() {
                let (name, func_ref) = describe_callable(&func)?;
                (func, func_ref, Some(name))
            } else {
                return Err(PyTypeError::new_err("func must be a callable or a textual reference to one"));
            };
            let name_given = matches!(&c.name, Some(n) if !n.is_none());
            if !has_name && !name_given {
                let name = match default_name {
                    Some(n) => n.into_bound(py),
                    None => GET_CALLABLE_NAME.get(py)?.call1((&func,))?,
                };
                c.name = Some(name);
            }
            let args_ok = args.is_instance_of::<PyTuple>()
                || args.is_instance_of::<PyList>()
                || (!args.is_instance_of::<PyString>() && args.is_instance(ITERABLE.get(py)?)?);
            if !args_ok {
                return Err(PyTypeError::new_err("args must be a non-string iterable"));
            }
            let kwargs_ok = kwargs.is_instance_of::<PyDict>()
                || (!kwargs.is_instance_of::<PyString>() && kwargs.is_instance(MAPPING.get(py)?)?);
            if !kwargs_ok {
                return Err(PyTypeError::new_err("kwargs must be a dict-like object"));
            }
            check_callable_args(&func, &args, &kwargs)?;
            ok.func = Some((func.unbind(), func_ref, args.unbind(), kwargs.unbind()));
        }

        if let Some(value) = c.name.take() {
            if !value.is_instance_of::<PyString>() || !value.is_truthy()? {
                return Err(PyTypeError::new_err("name must be a nonempty string"));
            }
            ok.name = Some(value.unbind());
        }

        if let Some(value) = c.misfire_grace_time.take() {
            ok.misfire_grace_time = Some(if value.is_none() {
                None
            } else {
                Some(positive_int(&value).ok_or_else(|| {
                    PyTypeError::new_err("misfire_grace_time must be either None or a positive integer")
                })?)
            });
        }

        if let Some(value) = c.coalesce.take() {
            ok.coalesce = Some(value.is_truthy()?);
        }

        if let Some(value) = c.max_instances.take() {
            ok.max_instances = Some(
                positive_int(&value).ok_or_else(|| PyTypeError::new_err("max_instances must be a positive integer"))?,
            );
        }

        if let Some(value) = c.trigger.take() {
            let slot = TriggerSlot::object(&value);
            if !slot.is_native() && !value.is_instance(BASE_TRIGGER.get(py)?)? {
                return Err(PyTypeError::new_err(format!(
                    "Expected a trigger instance, got {} instead",
                    value.get_type().name()?
                )));
            }
            ok.trigger = Some(slot);
        }

        if let Some(value) = c.executor.take() {
            if !value.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err("executor must be a string"));
            }
            ok.executor = Some(shared_alias(value.cast::<PyString>()?.to_str()?));
        }

        if let Some(value) = c.next_run_time.take() {
            ok.next_run_time = Some(self.convert_run_time(py, &value)?);
        }

        if let Some(unknown) = unknown.filter(|u| !u.is_empty()) {
            let keys: Vec<String> =
                unknown.keys().iter().map(|k| k.str().map(|s| s.to_string())).collect::<PyResult<_>>()?;
            return Err(PyAttributeError::new_err(format!(
                "The following are not modifiable attributes of Job: {}",
                keys.join(", ")
            )));
        }

        if let Some(id) = ok.id {
            self.set_id(&id)?;
        }
        let mut f = self.fields.lock();
        if let Some((func, func_ref, args, kwargs)) = ok.func {
            f.func = Some(func);
            f.func_ref = Some(func_ref.unwrap_or_else(|| py.None()));
            f.args = Some(args);
            f.kwargs = Some(kwargs);
        }
        if let Some(name) = ok.name {
            f.name = Some(name);
        }
        if let Some(v) = ok.misfire_grace_time {
            f.set_misfire_grace_time(v);
        }
        if let Some(v) = ok.coalesce {
            f.coalesce = Some(v);
        }
        if let Some(v) = ok.max_instances {
            f.set_max_instances(v);
        }
        if let Some(slot) = ok.trigger {
            f.trigger = Some(slot);
        }
        if let Some(v) = ok.executor {
            f.executor = Some(v);
        }
        if let Some(v) = ok.next_run_time {
            f.next_run_time = Some(v);
        }
        Ok(())
    }

    /// `convert_to_datetime(value, scheduler.timezone, 'next_run_time')`, aware values fast.
    fn convert_run_time(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Option<ZonedTime>> {
        if value.is_none() {
            return Ok(None);
        }
        if let Ok(dt) = value.cast::<PyDateTime>()
            && pyo3::types::PyTzInfoAccess::get_tzinfo(dt).is_some()
        {
            return zoned_from_datetime(value).map(Some);
        }
        let scheduler = self.fields.lock().scheduler().map(|s| s.clone_ref(py));
        let tz = match scheduler {
            Some(s) => s.bind(py).getattr("timezone")?,
            None => py.None().into_bound(py),
        };
        let converted = CONVERT_TO_DATETIME.get(py)?.call1((value, tz, "next_run_time"))?;
        zoned_from_datetime(&converted).map(Some)
    }

    pub fn id(&self) -> Option<Arc<str>> {
        self.id.get().map(JobId::to_arc)
    }

    /// The Python trigger object; a restored job creates it from its stored state on first use.
    pub fn trigger_object(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        enum Pending {
            Stored(Box<[u8]>),
            Interval(Arc<TriggerTemplate>, CompactInterval),
        }
        let pending = match &self.fields.lock().trigger {
            None => return Ok(None),
            Some(TriggerSlot::Object(t, _)) => return Ok(Some(t.clone_ref(py))),
            Some(TriggerSlot::Stored(s)) => Pending::Stored(s.state.clone()),
            Some(TriggerSlot::Interval(t, c)) => Pending::Interval(t.clone(), *c),
        };
        // Python runs here: no lock held.
        let trigger = match pending {
            Pending::Stored(state) => {
                let loaded = COMPAT_LOADS.get(py)?.call1((pyo3::types::PyBytes::new(py, &state),))?;
                loaded.get_item("trigger")?.unbind()
            }
            Pending::Interval(template, c) => template.build(py, &template.expand(c))?,
        };
        let mut f = self.fields.lock();
        match &f.trigger {
            Some(TriggerSlot::Object(t, _)) => Ok(Some(t.clone_ref(py))), // set meanwhile
            _ => {
                f.trigger = Some(TriggerSlot::object(trigger.bind(py)));
                Ok(Some(trigger))
            }
        }
    }

    /// Forgets the trigger object of a job whose trigger `add_job` made from an alias, when it
    /// can be rebuilt exactly from the native trigger (it is then rebuilt on first use).
    pub fn drop_private_trigger(&self, py: Python<'_>, trigger: &Bound<'_, PyAny>) {
        static CLASS: Cached = Cached::new("apscheduler_rs.triggers.interval", "IntervalTrigger");
        let Ok(class) = CLASS.get(py) else { return };
        if !trigger.get_type().is(class) {
            return;
        }
        let Ok(t) = trigger.cast::<crate::py::trigger::interval::PyIntervalTrigger>() else { return };
        let Some((core, tz, jitter)) = t.borrow().rebuild_parts(py) else { return };
        let Some(template) = TriggerTemplate::shared(class, tz, jitter, &core) else { return };
        let Some(compact) = template.compact(&core) else { return };
        let mut f = self.fields.lock();
        if matches!(&f.trigger, Some(TriggerSlot::Object(o, _)) if o.is(trigger)) {
            f.trigger = Some(TriggerSlot::Interval(template, compact));
        }
    }

    /// `str(job)`, built without calling back into Python except for the trigger's `str`.
    pub fn describe(&self, py: Python<'_>) -> PyResult<String> {
        let trigger = self.trigger_object(py)?;
        let (name, next) = {
            let f = self.fields.lock();
            (f.name.as_ref().map(|n| n.clone_ref(py)), f.next_run_time)
        };
        let name = name.ok_or_else(|| missing("name"))?;
        let trigger = trigger.ok_or_else(|| missing("trigger"))?;
        let status = match next {
            Some(Some(t)) => format!("next run at: {}", t.repr()),
            Some(None) => "paused".to_owned(),
            None => "pending".to_owned(),
        };
        Ok(format!("{} (trigger: {}, {})", name.bind(py).str()?, trigger.bind(py).str()?, status))
    }

    /// The trigger's next fire time, natively when possible.
    pub fn trigger_next(&self, previous: Option<&ZonedTime>, now: &ZonedTime) -> PyResult<Option<ZonedTime>> {
        let native = {
            let f = self.fields.lock();
            match &f.trigger {
                Some(TriggerSlot::Interval(template, c)) => {
                    return Ok(template.expand(*c).next_fire_time(previous, now));
                }
                Some(TriggerSlot::Stored(s)) => Some(s.native.clone()),
                Some(TriggerSlot::Object(_, native)) => native.clone(),
                None => None,
            }
        };
        if let Some(trigger) = native {
            return Ok(trigger.next_fire_time(previous, now));
        }
        Python::attach(|py| {
            let trigger = self.trigger_object(py)?.ok_or_else(|| missing("trigger"))?;
            let prev = previous.map(|p| zoned_to_datetime(py, p, None)).transpose()?;
            let now = zoned_to_datetime(py, now, None)?;
            let next = trigger.bind(py).call_method1("get_next_fire_time", (prev, now))?;
            if next.is_none() { Ok(None) } else { zoned_from_datetime(&next).map(Some) }
        })
    }
}

/// The engine's view of a job: its record.
impl EngineJob for JobRef {
    fn id(&self) -> Arc<str> {
        JobRecord::id(self).unwrap_or_else(|| Arc::from(""))
    }
    fn coalesce(&self) -> bool {
        self.fields.lock().coalesce.unwrap_or(true)
    }
    fn next_run_time(&self) -> Option<ZonedTime> {
        self.fields.lock().next_run_time.flatten()
    }
    fn set_next_run_time(&self, next: Option<ZonedTime>) {
        self.fields.lock().next_run_time = Some(next);
    }
    fn next_fire_time(&self, previous: &ZonedTime, now: &ZonedTime) -> Option<ZonedTime> {
        match self.trigger_next(Some(previous), now) {
            Ok(next) => next,
            Err(err) => {
                // A raising Python trigger ends the job, as an exception in APScheduler's loop
                // would have stopped it; say why.
                Python::attach(|py| err.print(py));
                None
            }
        }
    }
}

#[pymethods]
impl Job {
    #[new]
    #[pyo3(signature = (scheduler=None, id=None, **kwargs))]
    fn py_new(
        py: Python<'_>,
        scheduler: Option<Bound<'_, PyAny>>,
        id: Option<Bound<'_, PyAny>>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let job = Job::empty();
        // `Job.__new__(Job)` (how stores rebuild jobs before `__setstate__`) builds an empty job.
        if scheduler.is_none() && id.is_none() && kwargs.is_none() {
            return Ok(job);
        }
        job.fields.lock().set_scheduler(py, scheduler.map(Bound::unbind));
        let changes = kwargs.unwrap_or_else(|| PyDict::new(py));
        let id = match id {
            Some(id) if id.is_truthy()? => id,
            _ => PyString::new(py, &new_job_id()).into_any(),
        };
        changes.set_item("id", id)?;
        job.modify_fields(py, &changes)?;
        Ok(job)
    }

    #[pyo3(signature = (**changes))]
    fn _modify(&self, py: Python<'_>, changes: Option<Bound<'_, PyDict>>) -> PyResult<()> {
        let changes = match changes {
            Some(c) => c.copy()?,
            None => PyDict::new(py),
        };
        self.modify_fields(py, &changes)
    }

    #[pyo3(signature = (**changes))]
    fn modify(slf: &Bound<'_, Self>, changes: Option<Bound<'_, PyDict>>) -> PyResult<Py<Self>> {
        let (scheduler, id, alias) = slf.get().scheduler_call_args(slf.py())?;
        scheduler.call_method("modify_job", (id, alias), changes.as_ref())?;
        Ok(slf.clone().unbind())
    }

    #[pyo3(signature = (trigger, **trigger_args))]
    fn reschedule(
        slf: &Bound<'_, Self>,
        trigger: Bound<'_, PyAny>,
        trigger_args: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Py<Self>> {
        let (scheduler, id, alias) = slf.get().scheduler_call_args(slf.py())?;
        scheduler.call_method("reschedule_job", (id, alias, trigger), trigger_args.as_ref())?;
        Ok(slf.clone().unbind())
    }

    fn pause(slf: &Bound<'_, Self>) -> PyResult<Py<Self>> {
        let (scheduler, id, alias) = slf.get().scheduler_call_args(slf.py())?;
        scheduler.call_method1("pause_job", (id, alias))?;
        Ok(slf.clone().unbind())
    }

    fn resume(slf: &Bound<'_, Self>) -> PyResult<Py<Self>> {
        let (scheduler, id, alias) = slf.get().scheduler_call_args(slf.py())?;
        scheduler.call_method1("resume_job", (id, alias))?;
        Ok(slf.clone().unbind())
    }

    fn remove(slf: &Bound<'_, Self>) -> PyResult<()> {
        let (scheduler, id, alias) = slf.get().scheduler_call_args(slf.py())?;
        scheduler.call_method1("remove_job", (id, alias))?;
        Ok(())
    }

    /// Every run time from `next_run_time` up to and including `now`.
    fn _get_run_times(&self, py: Python<'_>, now: &Bound<'_, PyAny>) -> PyResult<Vec<Py<PyAny>>> {
        let now = zoned_from_datetime(now)?;
        let mut out = Vec::new();
        let mut next = self.fields.lock().next_run_time.flatten();
        while let Some(t) = next {
            if t.micros() > now.micros() {
                break;
            }
            out.push(zoned_to_datetime(py, &t, None)?.into_any().unbind());
            next = self.trigger_next(Some(&t), &now)?;
        }
        Ok(out)
    }

    #[getter]
    fn pending(&self) -> bool {
        self.fields.lock().jobstore_alias().is_none()
    }

    #[getter]
    fn get_id(&self) -> PyResult<String> {
        self.given_id().map(JobId::to_string).ok_or_else(|| missing("id"))
    }
    #[setter]
    fn set_id(&self, value: String) -> PyResult<()> {
        self.rec.set_id(&value)
    }

    #[getter]
    fn get_name(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        clone_opt(py, &self.fields.lock().name, "name")
    }
    #[setter]
    fn set_name(&self, value: Py<PyAny>) {
        self.fields.lock().name = Some(value);
    }

    #[getter]
    fn get_func(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        clone_opt(py, &self.fields.lock().func, "func")
    }
    #[setter]
    fn set_func(&self, value: Py<PyAny>) {
        self.fields.lock().func = Some(value);
    }

    #[getter]
    fn get_func_ref(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.fields.lock().func_ref.as_ref().map(|r| r.clone_ref(py)).ok_or_else(|| missing("func_ref"))
    }
    #[setter]
    fn set_func_ref(&self, value: Bound<'_, PyAny>) {
        self.fields.lock().func_ref = Some(value.unbind());
    }

    #[getter]
    fn get_args(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        clone_opt(py, &self.fields.lock().args, "args")
    }
    #[setter]
    fn set_args(&self, value: Py<PyAny>) {
        self.fields.lock().args = Some(value);
    }

    #[getter]
    fn get_kwargs(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        own_kwargs(py, &mut self.fields.lock().kwargs).ok_or_else(|| missing("kwargs"))
    }
    #[setter]
    fn set_kwargs(&self, value: Py<PyAny>) {
        self.fields.lock().kwargs = Some(value);
    }

    #[getter]
    fn get_trigger(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.trigger_object(py)?.ok_or_else(|| missing("trigger"))
    }
    #[setter]
    fn set_trigger(&self, value: Bound<'_, PyAny>) {
        self.fields.lock().trigger = Some(TriggerSlot::object(&value));
    }

    #[getter]
    fn get_executor(&self) -> PyResult<String> {
        self.fields.lock().executor.as_deref().map(str::to_owned).ok_or_else(|| missing("executor"))
    }
    #[setter]
    fn set_executor(&self, value: String) {
        self.fields.lock().executor = Some(shared_alias(&value));
    }

    #[getter]
    fn get_misfire_grace_time(&self) -> PyResult<Option<i64>> {
        self.fields.lock().misfire_grace_time().ok_or_else(|| missing("misfire_grace_time"))
    }
    #[setter]
    fn set_misfire_grace_time(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let grace = grace_seconds(value)?;
        self.fields.lock().set_misfire_grace_time(grace);
        Ok(())
    }

    #[getter]
    fn get_coalesce(&self) -> PyResult<bool> {
        self.fields.lock().coalesce.ok_or_else(|| missing("coalesce"))
    }
    #[setter]
    fn set_coalesce(&self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let coalesce = value.is_truthy()?; // 3.x takes any value here and tests its truth
        self.fields.lock().coalesce = Some(coalesce);
        Ok(())
    }

    #[getter]
    fn get_max_instances(&self) -> PyResult<i64> {
        self.fields.lock().max_instances().ok_or_else(|| missing("max_instances"))
    }
    #[setter]
    fn set_max_instances(&self, value: i64) {
        self.fields.lock().set_max_instances(value);
    }

    #[getter]
    fn get_next_run_time(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let next = self.fields.lock().next_run_time;
        match next {
            Some(Some(t)) => Ok(zoned_to_datetime(py, &t, None)?.into_any().unbind()),
            Some(None) => Ok(py.None()),
            None => Err(missing("next_run_time")),
        }
    }
    #[setter]
    fn set_next_run_time(&self, value: Bound<'_, PyAny>) -> PyResult<()> {
        let next = if value.is_none() { None } else { Some(zoned_from_datetime(&value)?) };
        self.fields.lock().next_run_time = Some(next);
        Ok(())
    }

    #[getter(_scheduler)]
    fn get_scheduler_attr(&self, py: Python<'_>) -> Py<PyAny> {
        self.fields.lock().scheduler().map_or_else(|| py.None(), |s| s.clone_ref(py))
    }
    #[setter(_scheduler)]
    fn set_scheduler_attr(&self, value: Bound<'_, PyAny>) {
        let py = value.py();
        self.fields.lock().set_scheduler(py, if value.is_none() { None } else { Some(value.unbind()) });
    }

    #[getter(_jobstore_alias)]
    fn get_jobstore_alias(&self, py: Python<'_>) -> Py<PyAny> {
        self.fields.lock().jobstore_alias().map_or_else(|| py.None(), |s| s.clone_ref(py))
    }
    #[setter(_jobstore_alias)]
    fn set_jobstore_alias(&self, value: Bound<'_, PyAny>) {
        let py = value.py();
        self.fields.lock().set_jobstore_alias(py, if value.is_none() { None } else { Some(value.unbind()) });
    }

    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.rec.state(py)
    }

    fn __setstate__(&self, state: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = state.py();
        let version = match state.get_item("version")? {
            Some(v) => v,
            None => 1i64.into_pyobject(py)?.into_any(),
        };
        if version.gt(1)? {
            return Err(PyValueError::new_err(format!(
                "Job has version {}, but only version 1 can be handled",
                version.str()?
            )));
        }
        let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            state.get_item(key)?.ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(key.to_owned()))
        };
        let id: String = get("id")?.extract()?;
        let func_ref = get("func")?;
        let func = REF_TO_OBJ.get(py)?.call1((&func_ref,))?;
        let trigger = get("trigger")?;
        let trigger = TriggerSlot::object(&trigger);
        let executor: String = get("executor")?.extract()?;
        let (args, kwargs, name) = (get("args")?, get("kwargs")?, get("name")?);
        // Stores that rebuild the state from their own columns may give 0/1 and floats.
        let misfire = grace_seconds(&get("misfire_grace_time")?)?;
        let coalesce = get("coalesce")?.is_truthy()?;
        let max_instances: i64 = get("max_instances")?.extract()?;
        let next = get("next_run_time")?;
        let next = if next.is_none() { None } else { Some(zoned_from_datetime(&next)?) };
        self.rec.set_id(&id)?;
        let mut f = self.fields.lock();
        f.func_ref = Some(func_ref.unbind());
        f.func = Some(func.unbind());
        f.trigger = Some(trigger);
        f.executor = Some(shared_alias(&executor));
        f.args = Some(args.unbind());
        f.kwargs = Some(kwargs.unbind());
        f.name = Some(name.unbind());
        f.set_misfire_grace_time(misfire);
        f.coalesce = Some(coalesce);
        f.set_max_instances(max_instances);
        f.next_run_time = Some(next);
        Ok(())
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<Job>() {
            Ok(other) => Ok(pyo3::types::PyBool::new(py, self.id() == other.get().id()).to_owned().into_any().unbind()),
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    fn __hash__(&self) -> PyResult<isize> {
        Err(PyTypeError::new_err("unhashable type: 'Job'"))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = JobRecord::id(&self.rec);
        let name = self.fields.lock().name.as_ref().map(|n| n.clone_ref(py));
        let id = id.ok_or_else(|| missing("id"))?;
        let name = name.ok_or_else(|| missing("name"))?;
        Ok(format!("<Job (id={} name={})>", id, name.bind(py).str()?))
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        self.describe(py)
    }
}

/// Owned copies of the Python-visible fields, taken under the lock.
struct Snapshot {
    id: Option<Arc<str>>,
    name: Option<Py<PyAny>>,
    func: Option<Py<PyAny>>,
    func_ref: Option<Option<Py<PyAny>>>,
    args: Option<Py<PyAny>>,
    kwargs: Option<Py<PyAny>>,
    trigger: Option<Py<PyAny>>,
    executor: Option<Arc<str>>,
    misfire_grace_time: Option<Option<i64>>,
    coalesce: Option<bool>,
    max_instances: Option<i64>,
    next_run_time: Option<Option<ZonedTime>>,
}

impl JobRecord {
    /// The job's pickled-state dict (`Job.__getstate__`).
    pub fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.trigger_object(py)?;
        let f = self.snapshot(py);
        let func_ref = match f.func_ref {
            Some(Some(r)) => r,
            Some(None) => {
                let func = f.func.map(|x| x.into_bound(py).repr().map(|r| r.to_string())).transpose()?;
                return Err(PyValueError::new_err(format!(
                    "This Job cannot be serialized since the reference to its callable ({}) could not be \
                     determined. Consider giving a textual reference (module:function name) instead.",
                    func.unwrap_or_default()
                )));
            }
            None => return Err(missing("func_ref")),
        };
        let func = f.func.ok_or_else(|| missing("func"))?.into_bound(py);
        let mut args = f.args.ok_or_else(|| missing("args"))?.into_bound(py);
        // A bound method is stored as its function plus the instance as the first argument.
        if INSPECT_ISMETHOD.get(py)?.call1((&func,))?.is_truthy()? {
            let owner = func.getattr("__self__")?;
            if !INSPECT_ISCLASS.get(py)?.call1((&owner,))?.is_truthy()?
                && OBJ_TO_REF.get(py)?.call1((&func,))?.eq(&func_ref)?
            {
                let mut items = vec![owner];
                items.extend(args.try_iter()?.collect::<PyResult<Vec<_>>>()?);
                args = PyTuple::new(py, items)?.into_any();
            }
        }
        let state = PyDict::new(py);
        state.set_item("version", 1)?;
        state.set_item("id", f.id.as_deref().ok_or_else(|| missing("id"))?)?;
        state.set_item("func", func_ref)?;
        state.set_item("trigger", f.trigger.ok_or_else(|| missing("trigger"))?)?;
        state.set_item("executor", f.executor.as_deref().ok_or_else(|| missing("executor"))?)?;
        state.set_item("args", args)?;
        state.set_item("kwargs", f.kwargs.ok_or_else(|| missing("kwargs"))?)?;
        state.set_item("name", f.name.ok_or_else(|| missing("name"))?)?;
        state.set_item("misfire_grace_time", f.misfire_grace_time.ok_or_else(|| missing("misfire_grace_time"))?)?;
        state.set_item("coalesce", f.coalesce.ok_or_else(|| missing("coalesce"))?)?;
        state.set_item("max_instances", f.max_instances.ok_or_else(|| missing("max_instances"))?)?;
        let next = match f.next_run_time.ok_or_else(|| missing("next_run_time"))? {
            Some(t) => zoned_to_datetime(py, &t, None)?.into_any(),
            None => py.None().into_bound(py),
        };
        state.set_item("next_run_time", next)?;
        Ok(state)
    }

    fn snapshot(&self, py: Python<'_>) -> Snapshot {
        let mut f = self.fields.lock();
        let kwargs = own_kwargs(py, &mut f.kwargs);
        let c = |o: &Option<Py<PyAny>>| o.as_ref().map(|x| x.clone_ref(py));
        Snapshot {
            id: self.id(),
            name: c(&f.name),
            func: c(&f.func),
            func_ref: f.func_ref.as_ref().map(|r| (!r.is_none(py)).then(|| r.clone_ref(py))),
            args: c(&f.args),
            kwargs,
            trigger: match &f.trigger {
                Some(TriggerSlot::Object(t, _)) => Some(t.clone_ref(py)),
                _ => None,
            },
            executor: f.executor.clone(),
            misfire_grace_time: f.misfire_grace_time(),
            coalesce: f.coalesce,
            max_instances: f.max_instances(),
            next_run_time: f.next_run_time,
        }
    }

    /// `(scheduler, id, store alias)` for the Job methods that call the scheduler.
    fn scheduler_call_args<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, String, Py<PyAny>)> {
        let id = self.given_id().map(JobId::to_string);
        let f = self.fields.lock();
        let scheduler = f.scheduler().map(|s| s.clone_ref(py).into_bound(py));
        let alias = f.jobstore_alias().map_or_else(|| py.None(), |a| a.clone_ref(py));
        drop(f);
        let scheduler = scheduler.ok_or_else(|| missing("_scheduler"))?;
        Ok((scheduler, id.ok_or_else(|| missing("id"))?, alias))
    }
}

/// The bytes `datetime.__reduce_ex__` (protocol 4 and up) gives for `t`'s wall time.
pub fn datetime_payload(t: &ZonedTime) -> Option<[u8; 10]> {
    use chrono::{Datelike, Timelike};
    let d = t.local;
    let fields = [d.month(), d.day(), d.hour(), d.minute(), d.second()].map(|f| f as u8);
    payload_bytes(d.year(), fields, d.nanosecond() / 1_000, t.fold)
}

/// `datetime`'s pickled bytes: year (2 bytes), month (+128 when `fold`), day, hour, minute,
/// second, microsecond (3 bytes). `None` for a year outside them.
pub fn payload_bytes(
    year: i32,
    [month, day, hour, minute, second]: [u8; 5],
    micro: u32,
    fold: bool,
) -> Option<[u8; 10]> {
    let [yhi, ylo] = u16::try_from(year).ok()?.to_be_bytes();
    let [_, us1, us2, us3] = micro.to_be_bytes();
    let month = month | if fold { 0x80 } else { 0 };
    Some([yhi, ylo, month, day, hour, minute, second, us1, us2, us3])
}

/// `uuid4().hex`: 32 lowercase hex digits with the version-4 and variant bits set.
/// What running a job calls — its function and arguments — and its misfire grace, read
/// under one lock of the job's fields.
pub struct JobCall {
    func: Option<Py<PyAny>>,
    args: Option<Py<PyAny>>,
    kwargs: Option<Py<PyAny>>,
    pub grace: Option<i64>,
}

impl JobCall {
    pub fn read(py: Python<'_>, job: &JobRecord) -> Self {
        let f = job.fields.lock();
        JobCall {
            func: f.func.as_ref().map(|o| o.clone_ref(py)),
            args: f.args.as_ref().map(|o| o.clone_ref(py)),
            kwargs: f.kwargs.as_ref().map(|o| o.clone_ref(py)),
            grace: f.misfire_grace_time().flatten(),
        }
    }

    /// `(func, args, kwargs)` ready for `func(*args, **kwargs)` (any iterable and mapping
    /// become a tuple and a dict, as Python's call syntax would make them).
    pub fn bind<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
        let (Some(func), Some(args), Some(kwargs)) = (&self.func, &self.args, &self.kwargs) else {
            return Err(pyo3::exceptions::PyAttributeError::new_err("job is missing func/args/kwargs"));
        };
        let args = args.bind(py);
        let args = match args.cast::<PyTuple>() {
            Ok(t) => t.clone(),
            Err(_) => PyTuple::new(py, args.try_iter()?.collect::<PyResult<Vec<_>>>()?)?,
        };
        let kwargs = kwargs.bind(py);
        let kwargs = match kwargs.cast::<PyDict>() {
            Ok(d) => d.clone(),
            Err(_) => py.get_type::<PyDict>().call1((kwargs,))?.cast_into::<PyDict>()?,
        };
        Ok((func.bind(py).clone(), args, kwargs))
    }
}

pub fn new_job_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    bytes[8..].copy_from_slice(&fastrand::u64(..).to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut hex = [0u8; 32];
    for (i, b) in bytes.iter().enumerate() {
        hex[2 * i] = HEX[(b >> 4) as usize];
        hex[2 * i + 1] = HEX[(b & 0x0f) as usize];
    }
    String::from_utf8_lossy(&hex).into_owned()
}

#[cfg(test)]
mod tests {
    use crate::core::time::{Zone, ZonedTime};

    #[test]
    fn datetime_payload_is_what_python_pickles() {
        // pickle.dumps(datetime(2030, 10, 27, 2, 30, 0, 123456, fold=1, tzinfo=...), 5) holds
        // b'\x07\xee\x8a\x1b\x02\x1e\x00\x01\xe2\x40' (month 10 + 128 for fold).
        let local = chrono::NaiveDate::from_ymd_opt(2030, 10, 27)
            .and_then(|d| d.and_hms_micro_opt(2, 30, 0, 123_456))
            .expect("a valid date");
        let t = ZonedTime::new(local, true, Zone::Utc);
        assert_eq!(super::datetime_payload(&t), Some([0x07, 0xee, 0x8a, 27, 2, 30, 0, 0x01, 0xe2, 0x40]));
        let t = ZonedTime::new(local, false, Zone::Utc);
        assert_eq!(super::datetime_payload(&t).map(|b| b[2]), Some(10));
    }

    #[test]
    fn job_ids_look_like_uuid4_hex() {
        let id = super::new_job_id();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(&id[12..13], "4");
        assert!("89ab".contains(&id[16..17]));
        assert_ne!(id, super::new_job_id());
    }
}
#[cfg(test)]
mod size {
    /// Issue #2's memory target (a third of APScheduler's bytes per job) rests on a record
    /// that fits a 208-byte allocation with its `Arc` counts.
    #[test]
    fn a_job_record_fits_its_budget() {
        assert!(std::mem::size_of::<super::JobRecord>() <= 184, "{}", std::mem::size_of::<super::JobRecord>());
    }
}
