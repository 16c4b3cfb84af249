//! A job's stored state pickled natively: the very bytes `pickle.dumps(job.__getstate__(),
//! protocol)` gives, for the common shape, without building the state dict, the trigger
//! object or the pickler (issue #4: `add_job` on a persistent store).
//!
//! The shape: an interval trigger `add_job` made from the `'interval'` alias and still holds
//! compactly (no end date, no jitter) in UTC or a `ZoneInfo` zone, a next run time in that
//! zone, plain arguments (`None`, `bool`, `int`, `float`, `str`, `bytes`), protocol 4 or 5.
//! Anything else — and any doubt — returns `None`, and the caller pickles with Python.
//!
//! CPython's pickler memoizes strings, bytes, tuples, dicts and classes, and refers back to an
//! object it has already written *by identity*. So does this writer: Python objects by their
//! address, the strings `__getstate__` makes afresh as the new, unshared objects they are
//! (`PyString::new` for an id or alias, which may be one of CPython's shared one-character
//! strings), and the module names CPython shares (`'datetime'` is interned) as those very
//! objects. Tests compare the bytes with `pickle.dumps` for many jobs.

use crate::core::pickle_writer::{Memo, Writer, dict_batches};
use crate::core::time::{Zone, ZonedTime};
use crate::py::job::{CompactInterval, JobRecord, TriggerSlot, TriggerTemplate, datetime_payload};
use crate::py::pyref::Cached;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple, PyTzInfo};

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
        let attr = |obj: &Py<PyAny>, name: &str| -> Option<Py<PyString>> {
            let value = obj.bind(py).getattr(name).ok()?;
            value.is_exact_instance_of::<PyString>().then(|| value.cast_into::<PyString>().ok().map(Bound::unbind))?
        };
        let tz_obj = tz.bind(py);
        let zone = match zone {
            Zone::Utc if tz_obj.is(PyTzInfo::utc(py).ok()?) => PickledZone::Utc,
            Zone::Iana(iana) => {
                let zoneinfo = py.import("zoneinfo").ok()?.getattr("ZoneInfo").ok()?;
                let key = attr(tz, "key")?;
                // Only the cached instance `ZoneInfo(key)` pickles as `_unpickle(key, 1)`.
                let cached = tz_obj.get_type().is(&zoneinfo)
                    && key.bind(py).to_str().ok()? == iana.name()
                    && zoneinfo.call1((key.bind(py),)).ok()?.is(tz_obj);
                if !cached {
                    return None;
                }
                PickledZone::ZoneInfo { module: attr(&zoneinfo.unbind(), "__module__")?, key }
            }
            _ => return None,
        };
        Some(TemplatePickle {
            module: attr(class, "__module__")?,
            qualname: attr(class, "__qualname__")?,
            tz: tz.clone_ref(py),
            zone,
        })
    }
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
    let (template, compact, parts) = {
        let f = job.fields.lock();
        let Some(TriggerSlot::Interval(template, compact)) = &f.trigger else { return None };
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
        (template.clone(), *compact, parts)
    };
    // `__getstate__` stores a bound method as its function plus the instance.
    static METHOD_TYPE: Cached = Cached::new("types", "MethodType");
    if parts.func.bind(py).get_type().is(METHOD_TYPE.get(py).ok()?) {
        return None;
    }
    let trigger = template.pickle_parts(py)?;
    let mut w = StateWriter { py, w: Writer::new(protocol), seen: Vec::new(), classes: Classes::default() };
    w.state(&id, &parts, trigger, &template, compact)?;
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
    classes: Classes,
}

impl<'py> StateWriter<'py> {
    fn state(
        &mut self,
        id: &str,
        p: &Parts,
        trigger: &TemplatePickle,
        template: &TriggerTemplate,
        compact: CompactInterval,
    ) -> Option<()> {
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
        let tz = self.trigger(trigger, template, compact)?;
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
                // `__getstate__` makes it in its own zone's tzinfo: it must be the trigger's.
                if t.zone != template.zone() || !crate::py::time::zone_to_tzinfo(py, &t.zone).ok()?.is(&trigger.tz) {
                    return None;
                }
                self.datetime(t, tz)?;
            }
        }
        self.w.setitems();
        Some(())
    }

    /// The trigger object (`cls.__new__(cls)` built with its state); returns the memo of its
    /// zone.
    fn trigger(&mut self, t: &TemplatePickle, template: &TriggerTemplate, compact: CompactInterval) -> Option<Memo> {
        let py = self.py;
        self.str(t.module.bind(py))?;
        self.str(t.qualname.bind(py))?;
        self.w.stack_global();
        self.w.empty_tuple();
        self.w.new_obj();
        self.w.empty_dict();
        self.w.mark();
        self.key("version");
        self.w.int(2);
        self.key("timezone");
        let tz = self.zone(&t.zone)?;
        self.key("start_date");
        let core = template.expand(compact);
        self.datetime(&core.start, tz)?;
        self.key("end_date");
        self.w.none();
        self.key("interval");
        self.timedelta(core.interval_micros)?;
        self.key("jitter");
        self.w.none();
        self.w.setitems();
        self.w.build();
        Some(tz)
    }

    fn zone(&mut self, zone: &PickledZone) -> Option<Memo> {
        let py = self.py;
        match zone {
            // timezone(timedelta(0))
            PickledZone::Utc => {
                self.datetime_module()?;
                self.w.str("timezone");
                self.w.stack_global();
                self.timedelta(0)?;
                self.w.tuple(1);
                Some(self.w.reduce())
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
                Some(self.w.reduce())
            }
        }
    }

    /// `datetime(payload, tz)`.
    fn datetime(&mut self, t: &ZonedTime, tz: Memo) -> Option<()> {
        let payload = datetime_payload(t)?;
        self.classes.datetime = Some(self.datetime_class(self.classes.datetime, "datetime")?);
        self.w.bytes(&payload);
        self.w.get(tz);
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
