//! A job's stored state pickled natively: the very bytes `pickle.dumps(job.__getstate__(),
//! protocol)` gives, for the common shape, without building the state dict, the trigger
//! object or the pickler (issue #4: `add_job` on a persistent store).
//!
//! The shape: an interval trigger `add_job` made from the `'interval'` alias and still holds
//! compactly (no end date, no jitter), a `DateTrigger`, or a `CronTrigger` with no start or end
//! date, no jitter and field objects never handed out (written from its native fields as the
//! objects `fields` would make); in UTC (`datetime.timezone.utc`) or
//! a cached `ZoneInfo` zone, with a next run time in that very tzinfo object; plain arguments
//! (`None`, `bool`, `int`, `float`, `str`, `bytes`); protocol 4 or 5. Anything else — and any
//! doubt — returns `None`, and the caller pickles with Python.
//!
//! CPython's pickler memoizes strings, bytes, tuples, dicts and classes, and refers back to an
//! object it has already written *by identity*. So does this writer: Python objects by their
//! address, the strings `__getstate__` makes afresh as the new, unshared objects they are
//! (`PyString::new` for an id or alias, which may be one of CPython's shared one-character
//! strings), and the module names CPython shares (`'datetime'` is interned) as those very
//! objects. Tests compare the bytes with `pickle.dumps` for many jobs.

use crate::core::pickle_writer::{Memo, Writer, dict_batches};
use crate::core::time::{Zone, ZonedTime};
use crate::core::trigger::cron::CronTrigger;
use crate::core::trigger::cron::fields::Field;
use crate::py::job::{CompactInterval, JobRecord, TriggerSlot, TriggerTemplate, datetime_payload, payload_bytes};
use crate::py::pyref::Cached;
use crate::py::time::zone_from_tzinfo;
use crate::py::trigger::cron::{PyCronTrigger, expr_attrs};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDateTime, PyDict, PyFloat, PyInt, PyModule, PyString, PyTuple, PyTzInfo, PyTzInfoAccess,
};
use std::sync::Arc;

/// What the trigger objects of one template pickle as, found once per template.
pub struct TemplatePickle {
    module: Py<PyString>,
    qualname: Py<PyString>,
    tz: Py<PyAny>,
    zone: PickledZone,
}

enum PickledZone {
    /// `datetime.timezone.utc` itself.
    Utc,
    /// A cached `zoneinfo.ZoneInfo`: the class's module name and the key, as the objects.
    ZoneInfo { module: Py<PyString>, key: Py<PyString> },
}

impl PickledZone {
    /// How `tz` (the tzinfo object of `zone`) pickles, if it is one this writer writes.
    fn of(py: Python<'_>, tz: &Bound<'_, PyAny>, zone: Zone) -> Option<PickledZone> {
        match zone {
            Zone::Utc if tz.is(PyTzInfo::utc(py).ok()?) => Some(PickledZone::Utc),
            Zone::Iana(iana) => {
                static ZONEINFO: Cached = Cached::new("zoneinfo", "ZoneInfo");
                let class = ZONEINFO.get(py).ok()?;
                let key = str_attr(tz, "key")?;
                // Only the cached instance `ZoneInfo(key)` pickles as `_unpickle(key, 1)`.
                let cached = tz.get_type().is(class)
                    && key.bind(py).to_str().ok()? == iana.name()
                    && class.call1((key.bind(py),)).ok()?.is(tz);
                cached.then(|| Some(PickledZone::ZoneInfo { module: str_attr(class, "__module__")?, key }))?
            }
            _ => None,
        }
    }
}

/// `obj.name` when it is exactly a `str`.
fn str_attr(obj: &Bound<'_, PyAny>, name: &str) -> Option<Py<PyString>> {
    let value = obj.getattr(name).ok()?;
    value.is_exact_instance_of::<PyString>().then(|| value.cast_into::<PyString>().ok().map(Bound::unbind))?
}

impl TemplatePickle {
    /// `None` unless the template's objects have the supported shape (see the module doc).
    pub fn of(
        py: Python<'_>,
        class: &Py<PyAny>,
        tz: &Py<PyAny>,
        jitter: &Py<PyAny>,
        zone: Zone,
    ) -> Option<TemplatePickle> {
        if !jitter.is_none(py) {
            return None;
        }
        Some(TemplatePickle {
            module: str_attr(class.bind(py), "__module__")?,
            qualname: str_attr(class.bind(py), "__qualname__")?,
            tz: tz.clone_ref(py),
            zone: PickledZone::of(py, tz.bind(py), zone)?,
        })
    }
}

/// A job's trigger as taken under its lock.
enum Held {
    Interval(Arc<TriggerTemplate>, CompactInterval),
    Object(Py<PyAny>),
}

/// The trigger of a job this writer can pickle.
enum TriggerShape<'py> {
    Interval(Arc<TriggerTemplate>, CompactInterval),
    /// A `DateTrigger` (exactly our class) and its `run_date` object.
    Date(Bound<'py, PyAny>, Bound<'py, PyDateTime>),
    /// A `CronTrigger` (exactly our class) whose state is its fields and zone.
    Cron(Bound<'py, PyAny>, Arc<CronTrigger>, Bound<'py, PyAny>),
}

/// The job's state pickled as `pickle.dumps(job.__getstate__(), protocol)` would, or `None`
/// when the job has another shape.
pub fn pickle_state(py: Python<'_>, job: &JobRecord, protocol: i32) -> Option<Vec<u8>> {
    let protocol = match protocol {
        4 | 5 => protocol as u8,
        p if p < 0 => 5, // pickle.HIGHEST_PROTOCOL
        _ => return None,
    };
    let id = job.id()?;
    let (trigger, parts) = {
        let f = job.fields.lock();
        let trigger = match &f.trigger {
            Some(TriggerSlot::Interval(template, compact)) => Held::Interval(template.clone(), *compact),
            Some(TriggerSlot::Object(obj, _)) => Held::Object(obj.clone_ref(py)),
            _ => return None,
        };
        let c = |o: &Option<Py<PyAny>>| o.as_ref().map(|x| x.clone_ref(py));
        let parts = Parts {
            func: c(&f.func)?,
            func_ref: c(&f.func_ref)?,
            args: c(&f.args)?,
            kwargs: c(&f.kwargs)?,
            name: c(&f.name)?,
            executor: f.executor.clone()?,
            misfire_grace_time: f.misfire_grace_time()?,
            coalesce: f.coalesce?,
            max_instances: f.max_instances()?,
            next_run_time: f.next_run_time?,
        };
        (trigger, parts)
    };
    // Python runs from here on: no lock held.
    let trigger = match trigger {
        Held::Interval(template, compact) => TriggerShape::Interval(template, compact),
        Held::Object(obj) => {
            static DATE_TRIGGER: Cached = Cached::new("apscheduler_rs.triggers.date", "DateTrigger");
            static CRON_TRIGGER: Cached = Cached::new("apscheduler_rs.triggers.cron", "CronTrigger");
            let obj = obj.into_bound(py);
            let class = obj.get_type();
            if class.is(DATE_TRIGGER.get(py).ok()?) {
                let run_date = obj.getattr("run_date").ok()?.cast_into_exact::<PyDateTime>().ok()?;
                TriggerShape::Date(obj, run_date)
            } else if class.is(CRON_TRIGGER.get(py).ok()?) {
                let (core, tz) = obj.cast::<PyCronTrigger>().ok()?.borrow().plain_state(py)?;
                TriggerShape::Cron(obj, core, tz.into_bound(py))
            } else {
                return None;
            }
        }
    };
    // `__getstate__` stores a bound method as its function plus the instance.
    static METHOD_TYPE: Cached = Cached::new("types", "MethodType");
    if parts.func.bind(py).get_type().is(METHOD_TYPE.get(py).ok()?) {
        return None;
    }
    let mut w =
        StateWriter { py, w: Writer::new(protocol), seen: Vec::new(), held: Vec::new(), classes: Classes::default() };
    w.state(&id, &parts, &trigger)?;
    w.w.finish()
}

/// The job's fields, taken under its lock.
struct Parts {
    func: Py<PyAny>,
    func_ref: Py<PyAny>,
    args: Py<PyAny>,
    kwargs: Py<PyAny>,
    name: Py<PyAny>,
    executor: std::sync::Arc<str>,
    misfire_grace_time: Option<i64>,
    coalesce: bool,
    max_instances: i64,
    next_run_time: Option<ZonedTime>,
}

/// Classes written once and referred back to.
#[derive(Default)]
struct Classes {
    timedelta: Option<Memo>,
    datetime: Option<Memo>,
}

struct StateWriter<'py> {
    py: Python<'py>,
    w: Writer,
    /// Python objects written so far (by address) and their memo indices. The objects stay
    /// alive while the state is written: the job, its template or this writer hold them.
    seen: Vec<(*mut ffi::PyObject, Memo)>,
    /// Objects in `seen` nothing else holds.
    held: Vec<Bound<'py, PyAny>>,
    classes: Classes,
}

impl<'py> StateWriter<'py> {
    fn state(&mut self, id: &str, p: &Parts, trigger: &TriggerShape<'py>) -> Option<()> {
        let py = self.py;
        let (id, executor) = (PyString::new(py, id), PyString::new(py, &p.executor));
        self.w.empty_dict();
        self.w.mark();
        self.key("version");
        self.w.int(1);
        self.key("id");
        self.str(&id)?;
        self.key("func");
        self.str(p.func_ref.bind(py).cast::<PyString>().ok()?)?;
        self.key("trigger");
        match trigger {
            TriggerShape::Interval(template, compact) => self.interval(template, *compact)?,
            TriggerShape::Date(obj, run_date) => self.date(obj, run_date)?,
            TriggerShape::Cron(obj, core, tz) => self.cron(obj, core, tz)?,
        }
        self.key("executor");
        self.str(&executor)?;
        self.key("args");
        self.args(p.args.bind(py))?;
        self.key("kwargs");
        self.kwargs(p.kwargs.bind(py))?;
        self.key("name");
        self.str(p.name.bind(py).cast::<PyString>().ok()?)?;
        self.key("misfire_grace_time");
        match p.misfire_grace_time {
            Some(secs) => self.w.int(secs),
            None => self.w.none(),
        }
        self.key("coalesce");
        self.w.bool(p.coalesce);
        self.key("max_instances");
        self.w.int(p.max_instances);
        self.key("next_run_time");
        match &p.next_run_time {
            None => self.w.none(),
            Some(t) => {
                // `__getstate__` makes it with its zone's tzinfo: it must be the very object
                // the trigger's dates have (written once, referred back to here).
                let tz = crate::py::time::zone_to_tzinfo(py, &t.zone).ok()?.into_any();
                self.seen_before(&tz)?;
                self.datetime(datetime_payload(t)?, &tz, None)?;
            }
        }
        self.w.setitems();
        Some(())
    }

    /// A compact interval trigger as its object (`cls.__new__(cls)` built with its state).
    fn interval(&mut self, template: &TriggerTemplate, compact: CompactInterval) -> Option<()> {
        let py = self.py;
        let t = template.pickle_parts(py)?;
        self.new_object(t.module.bind(py), t.qualname.bind(py))?;
        self.w.int(2);
        self.key("timezone");
        self.zone(t.tz.bind(py), &t.zone)?;
        self.key("start_date");
        let core = template.expand(compact);
        self.datetime(datetime_payload(&core.start)?, t.tz.bind(py), None)?;
        self.key("end_date");
        self.w.none();
        self.key("interval");
        self.timedelta(core.interval_micros)?;
        self.key("jitter");
        self.w.none();
        self.end_object();
        Some(())
    }

    /// A `DateTrigger`: its state is its version and its `run_date` object.
    fn date(&mut self, obj: &Bound<'py, PyAny>, run_date: &Bound<'py, PyDateTime>) -> Option<()> {
        let class = obj.get_type();
        let (module, qualname) = (str_attr(&class, "__module__")?, str_attr(&class, "__qualname__")?);
        let tz = run_date.get_tzinfo()?.into_any();
        let zone = PickledZone::of(self.py, &tz, zone_from_tzinfo(&tz).ok()?)?;
        self.new_object(module.bind(self.py), qualname.bind(self.py))?;
        self.w.int(1);
        self.key("run_date");
        self.datetime(payload_of(run_date)?, &tz, Some(&zone))?;
        self.end_object();
        Some(())
    }

    /// A `CronTrigger`: its version, zone, empty start and end dates, the field objects
    /// `fields` would make (see `py/trigger/cron.rs`) and no jitter.
    fn cron(&mut self, obj: &Bound<'py, PyAny>, core: &CronTrigger, tz: &Bound<'py, PyAny>) -> Option<()> {
        let py = self.py;
        let class = obj.get_type();
        let zone = PickledZone::of(py, tz, core.zone)?;
        let fields_map = class.getattr("FIELDS_MAP").ok()?.cast_into_exact::<PyDict>().ok()?;
        let expressions = py.import("apscheduler_rs.triggers.cron.expressions").ok()?;
        self.new_object(
            &str_attr(&class, "__module__")?.into_bound(py),
            &str_attr(&class, "__qualname__")?.into_bound(py),
        )?;
        self.w.int(2);
        self.key("timezone");
        self.zone(tz, &zone)?;
        self.key("start_date");
        self.w.none();
        self.key("end_date");
        self.w.none();
        self.key("fields");
        self.w.empty_list();
        self.w.mark();
        for field in &core.fields {
            self.instance_of(&fields_map.get_item(field.kind.name()).ok()??)?;
            self.cron_field_state(field, &expressions)?;
        }
        self.w.appends();
        self.key("jitter");
        self.w.none();
        self.end_object();
        Some(())
    }

    /// A cron field object's instance dict (`name`, `is_default`, `expressions`), applied.
    fn cron_field_state(&mut self, field: &Field, expressions: &Bound<'py, PyModule>) -> Option<()> {
        self.w.empty_dict();
        self.w.mark();
        self.interned("name");
        self.w.str(field.kind.name()); // a new string, as the field specs make it
        self.interned("is_default");
        self.w.bool(field.is_default);
        self.interned("expressions");
        self.w.empty_list();
        let many = field.exprs.len() > 1;
        if many {
            self.w.mark();
        }
        for expr in &field.exprs {
            let (class_name, attrs, len) = expr_attrs(expr);
            self.instance_of(&expressions.getattr(class_name).ok()?)?;
            self.w.empty_dict();
            if len > 1 {
                self.w.mark();
            }
            for (key, value) in &attrs[..len] {
                self.interned(key);
                match value {
                    Some(v) => self.w.int(*v),
                    None => self.w.none(),
                }
            }
            if len > 1 {
                self.w.setitems()
            } else {
                self.w.setitem()
            }
            self.w.build();
        }
        if many {
            self.w.appends()
        } else {
            self.w.append()
        }
        self.w.setitems();
        self.w.build();
        Some(())
    }

    /// `cls.__new__(cls)` for a plain Python class (its state follows, then `BUILD`): the
    /// class written once and referred back to, as `save_global` memoizes it.
    fn instance_of(&mut self, class: &Bound<'py, PyAny>) -> Option<()> {
        match self.seen_before(class) {
            Some(memo) => self.w.get(memo),
            None => {
                self.str(&str_attr(class, "__module__")?.into_bound(self.py))?;
                self.str(&str_attr(class, "__qualname__")?.into_bound(self.py))?;
                let memo = self.w.stack_global();
                self.seen.push((class.as_ptr(), memo));
            }
        }
        self.w.empty_tuple();
        self.w.new_obj();
        Some(())
    }

    /// An attribute name of an instance dict: the interned string, written once (and held,
    /// so that no other object takes its address while the state is written).
    fn interned(&mut self, name: &str) {
        let s = PyString::intern(self.py, name);
        if self.seen_before(&s).is_none() {
            self.held.push(s.clone().into_any());
        }
        let _ = self.str(&s);
    }

    /// `cls.__new__(cls)` of the class at `module.qualname`, and the start of its state dict up
    /// to the `'version'` key (the caller writes the version and the rest).
    fn new_object(&mut self, module: &Bound<'_, PyString>, qualname: &Bound<'_, PyString>) -> Option<()> {
        self.str(module)?;
        self.str(qualname)?;
        self.w.stack_global();
        self.w.empty_tuple();
        self.w.new_obj();
        self.w.empty_dict();
        self.w.mark();
        self.key("version");
        Some(())
    }

    /// The end of an object's state dict, applied to the object.
    fn end_object(&mut self) {
        self.w.setitems();
        self.w.build();
    }

    /// The tzinfo object `tz`, pickled as `form`; once written, referred back to.
    fn zone(&mut self, tz: &Bound<'_, PyAny>, form: &PickledZone) -> Option<()> {
        if let Some(memo) = self.seen_before(tz) {
            self.w.get(memo);
            return Some(());
        }
        let py = self.py;
        let memo = match form {
            // timezone(timedelta(0))
            PickledZone::Utc => {
                self.datetime_module()?;
                self.w.str("timezone");
                self.w.stack_global();
                self.timedelta(0)?;
                self.w.tuple(1);
                self.w.reduce()
            }
            // getattr(ZoneInfo, '_unpickle')(key, 1)
            PickledZone::ZoneInfo { module, key } => {
                self.w.str("builtins");
                self.w.str("getattr");
                self.w.stack_global();
                self.str(module.bind(py))?;
                self.w.str("ZoneInfo");
                self.w.stack_global();
                self.w.str("_unpickle");
                self.w.tuple(2);
                self.w.reduce();
                self.str(key.bind(py))?;
                self.w.int(1);
                self.w.tuple(2);
                self.w.reduce()
            }
        };
        self.seen.push((tz.as_ptr(), memo));
        Some(())
    }

    /// `datetime(payload, tz)`; `form` tells how to write `tz` if it was not written before.
    fn datetime(&mut self, payload: [u8; 10], tz: &Bound<'_, PyAny>, form: Option<&PickledZone>) -> Option<()> {
        self.classes.datetime = Some(self.datetime_class(self.classes.datetime, "datetime")?);
        self.w.bytes(&payload);
        match self.seen_before(tz) {
            Some(memo) => self.w.get(memo),
            None => self.zone(tz, form?)?,
        }
        self.w.tuple(2);
        self.w.reduce();
        Some(())
    }

    /// `timedelta(days, seconds, microseconds)`, normalized as Python normalizes it.
    fn timedelta(&mut self, micros: i64) -> Option<()> {
        self.classes.timedelta = Some(self.datetime_class(self.classes.timedelta, "timedelta")?);
        const DAY: i64 = 86_400_000_000;
        let (days, rest) = (micros.div_euclid(DAY), micros.rem_euclid(DAY));
        self.w.int(days);
        self.w.int(rest / 1_000_000);
        self.w.int(rest % 1_000_000);
        self.w.tuple(3);
        self.w.reduce();
        Some(())
    }

    /// A class of the `datetime` module: written the first time (`memo` `None`), then referred
    /// back to. Returns its memo.
    fn datetime_class(&mut self, memo: Option<Memo>, name: &str) -> Option<Memo> {
        if let Some(memo) = memo {
            self.w.get(memo);
            return Some(memo);
        }
        self.datetime_module()?;
        self.w.str(name);
        Some(self.w.stack_global())
    }

    /// The module name of `datetime`'s classes: the interned string CPython's pickler writes
    /// (and that a user's `'datetime'` is too).
    fn datetime_module(&mut self) -> Option<()> {
        let module = PyString::intern(self.py, "datetime");
        self.str(&module)
    }

    /// A key `__getstate__` makes afresh: a new string nothing else in the state can be.
    fn key(&mut self, key: &str) {
        self.w.str(key);
    }

    /// A string object: written once, then referred back to.
    fn str(&mut self, s: &Bound<'_, PyString>) -> Option<()> {
        if let Some(memo) = self.seen_before(s.as_any()) {
            self.w.get(memo);
            return Some(());
        }
        let memo = self.w.str(s.to_str().ok()?);
        self.seen.push((s.as_ptr(), memo));
        Some(())
    }

    fn seen_before(&self, obj: &Bound<'_, PyAny>) -> Option<Memo> {
        self.seen.iter().find(|(ptr, _)| *ptr == obj.as_ptr()).map(|(_, memo)| *memo)
    }

    /// A tuple of plain values, as `save_tuple` writes it.
    fn args(&mut self, args: &Bound<'py, PyAny>) -> Option<()> {
        let args = args.cast_exact::<PyTuple>().ok()?;
        match args.len() {
            0 => self.w.empty_tuple(),
            n => {
                if n > 3 {
                    self.w.mark();
                }
                for item in args.iter() {
                    self.plain(&item)?;
                }
                self.w.tuple(n);
            }
        }
        Some(())
    }

    /// A dict of plain values, as `save_dict` writes it.
    fn kwargs(&mut self, kwargs: &Bound<'py, PyAny>) -> Option<()> {
        let kwargs = kwargs.cast_exact::<PyDict>().ok()?;
        let items: Vec<_> = kwargs.iter().collect();
        self.w.empty_dict();
        if items.is_empty() {
            return Some(());
        }
        let Some(batches) = dict_batches(items.len()) else {
            self.plain(&items[0].0)?;
            self.plain(&items[0].1)?;
            self.w.setitem();
            return Some(());
        };
        for batch in batches {
            self.w.mark();
            for (key, value) in &items[batch] {
                self.plain(key)?;
                self.plain(value)?;
            }
            self.w.setitems();
        }
        Some(())
    }

    /// `None`, `bool`, `int` (64 bits), `float`, `str` or `bytes`, of exactly those types.
    fn plain(&mut self, value: &Bound<'py, PyAny>) -> Option<()> {
        if value.is_none() {
            self.w.none();
        } else if let Ok(b) = value.cast_exact::<PyBool>() {
            self.w.bool(b.is_true());
        } else if value.is_exact_instance_of::<PyInt>() {
            self.w.int(value.extract::<i64>().ok()?);
        } else if let Ok(f) = value.cast_exact::<PyFloat>() {
            self.w.float(f.value());
        } else if let Ok(s) = value.cast_exact::<PyString>() {
            self.str(s)?;
        } else if let Ok(b) = value.cast_exact::<PyBytes>() {
            match self.seen_before(value) {
                Some(memo) => self.w.get(memo),
                None => {
                    let memo = self.w.bytes(b.as_bytes());
                    self.seen.push((value.as_ptr(), memo));
                }
            }
        } else {
            return None;
        }
        Some(())
    }
}

/// The pickled bytes of a Python `datetime` (see `payload_bytes`).
fn payload_of(dt: &Bound<'_, PyDateTime>) -> Option<[u8; 10]> {
    use pyo3::types::{PyDateAccess, PyTimeAccess};
    let fields = [dt.get_month(), dt.get_day(), dt.get_hour(), dt.get_minute(), dt.get_second()];
    payload_bytes(dt.get_year(), fields, dt.get_microsecond(), dt.get_fold())
}

/// `_core._native_pickle_state(job, protocol)`: the bytes the native writer gives for a job,
/// or `None` when it leaves the job to Python's pickle (for tests: they must equal
/// `pickle.dumps(job.__getstate__(), protocol)`).
#[pyfunction]
#[pyo3(name = "_native_pickle_state")]
pub fn native_pickle_state<'py>(
    py: Python<'py>,
    job: &Bound<'py, crate::py::job::Job>,
    protocol: i32,
) -> Option<Bound<'py, PyBytes>> {
    pickle_state(py, &job.get().rec, protocol).map(|b| PyBytes::new(py, &b))
}
