//! `IntervalTrigger` binding. Construction is the hot path of `add_job(f, 'interval', ...)`,
//! so integer interval parts, a tzinfo `timezone` and a missing `start_date` are handled
//! without calling Python code; the start date object is only created when read.

use super::args::{self, Jitter, TriggerZone};
use crate::core::time::ZonedTime;
use crate::core::trigger::Trigger;
use crate::core::trigger::interval::IntervalTrigger;
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt};
use std::sync::OnceLock;

#[pyclass(module = "apscheduler_rs._core", name = "IntervalTrigger", subclass)]
pub struct PyIntervalTrigger {
    /// Shared with the jobs that use this trigger (the engine's handle is this same `Arc`).
    pub core: std::sync::Arc<IntervalTrigger>,
    pub jitter: Jitter,
    tz: Py<PyAny>,
    /// `tz` is a pytz zone.
    tz_pytz: bool,
    /// The given start date, or the derived one once somebody read it.
    start_date: OnceLock<Py<PyAny>>,
    end_date: Option<Py<PyAny>>,
}

const MICROS: [i64; 5] = [604_800_000_000, 86_400_000_000, 3_600_000_000, 60_000_000, 1_000_000];
/// Fast-path limit (about 50,000 years); larger values go through `timedelta` itself.
const MAX_DELTA_MICROS: i64 = i64::MAX / 4;

/// The interval in microseconds: exact for integers, `timedelta`'s own rounding and errors
/// for anything else.
fn interval_micros(py: Python<'_>, parts: [Option<&Bound<'_, PyAny>>; 5]) -> PyResult<i64> {
    let mut total: Option<i64> = Some(0);
    for (p, unit) in parts.iter().zip(MICROS) {
        if let Some(p) = p {
            let v = if p.is_exact_instance_of::<PyInt>() { p.extract::<i64>().ok() } else { None };
            total = v.and_then(|v| v.checked_mul(unit)).and_then(|v| total?.checked_add(v));
        }
    }
    match total {
        Some(t) if t.abs() <= MAX_DELTA_MICROS => Ok(t),
        _ => {
            let kw = PyDict::new(py);
            for (name, p) in ["weeks", "days", "hours", "minutes", "seconds"].iter().zip(parts) {
                match p {
                    Some(p) => kw.set_item(name, p)?,
                    None => kw.set_item(name, 0)?,
                }
            }
            let delta = py.import("datetime")?.getattr("timedelta")?.call((), Some(&kw))?;
            args::delta_micros(&delta)
        }
    }
}

impl PyIntervalTrigger {
    /// `(native trigger, timezone, jitter)` when they describe this object completely (no start
    /// or end date object of its own, numeric jitter): a job can then drop the object and
    /// rebuild an equal one on first use (`py/job.rs`, `TriggerSlot::Interval`).
    pub fn rebuild_parts(&self, py: Python<'_>) -> Option<(std::sync::Arc<IntervalTrigger>, Py<PyAny>, Py<PyAny>)> {
        let plain = self.start_date.get().is_none() && self.end_date.is_none() && self.jitter.numeric;
        plain.then(|| (self.core.clone(), self.tz.clone_ref(py), self.jitter.object(py)))
    }

    fn start_obj<'py>(&self, py: Python<'py>) -> PyResult<&Py<PyAny>> {
        if let Some(o) = self.start_date.get() {
            return Ok(o);
        }
        let o = args::to_datetime(py, &self.core.start, &self.tz)?.unbind();
        Ok(self.start_date.get_or_init(|| o))
    }

    /// The tzinfo object for the fast `get_next_fire_time` (see `fast`), when it applies:
    /// not a pytz zone, and a numeric jitter (or none).
    pub fn fast_tz(&self) -> Option<*mut pyo3::ffi::PyObject> {
        (!self.tz_pytz && self.jitter.numeric).then(|| self.tz.as_ptr())
    }

    fn to_py<'py>(&self, py: Python<'py>, t: Option<ZonedTime>) -> PyResult<Option<Bound<'py, PyAny>>> {
        t.map(|t| args::to_datetime(py, &t, &self.tz)).transpose()
    }
}

#[pymethods]
impl PyIntervalTrigger {
    #[new]
    #[pyo3(signature = (weeks=None, days=None, hours=None, minutes=None, seconds=None, start_date=None, end_date=None, timezone=None, jitter=None, *extra_args, **extra_kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        weeks: Option<&Bound<'_, PyAny>>,
        days: Option<&Bound<'_, PyAny>>,
        hours: Option<&Bound<'_, PyAny>>,
        minutes: Option<&Bound<'_, PyAny>>,
        seconds: Option<&Bound<'_, PyAny>>,
        start_date: Option<&Bound<'_, PyAny>>,
        end_date: Option<&Bound<'_, PyAny>>,
        timezone: Option<&Bound<'_, PyAny>>,
        jitter: Option<&Bound<'_, PyAny>>,
        extra_args: &Bound<'_, pyo3::types::PyTuple>,
        extra_kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        super::args::reject_extra("IntervalTrigger", 9, extra_args, extra_kwargs)?;
        let micros = interval_micros(py, [weeks, days, hours, minutes, seconds])?;
        let zone = args::trigger_zone(py, timezone, start_date, end_date)?;
        let start_date = start_date.filter(|s| s.is_truthy().unwrap_or(true));
        let (start_obj, start) = match args::convert_date(py, start_date, &zone, "start_date")? {
            Some((o, t)) => (Some(o), t),
            None => {
                // `datetime.now(zone) + interval`: wall-clock addition, fold cleared.
                let now = args::now_in(zone.zone);
                let step = if micros == 0 { 1_000_000 } else { micros };
                let local = now
                    .local
                    .checked_add_signed(chrono::Duration::microseconds(step))
                    .ok_or_else(|| PyOverflowError::new_err("date value out of range"))?;
                (None, ZonedTime::new(local, false, zone.zone))
            }
        };
        let end = args::convert_date(py, end_date, &zone, "end_date")?;
        let jitter = Jitter::new(jitter);
        let core = IntervalTrigger::new(micros, start, end.as_ref().map(|e| e.1), zone.zone, jitter.value);
        let cell = OnceLock::new();
        if let Some(o) = start_obj {
            let _ = cell.set(o);
        }
        Ok(PyIntervalTrigger {
            core: core.into(),
            jitter,
            tz: zone.tz,
            tz_pytz: zone.pytz,
            start_date: cell,
            end_date: end.map(|e| e.0),
        })
    }

    #[getter]
    fn timezone(&self, py: Python<'_>) -> Py<PyAny> {
        self.tz.clone_ref(py)
    }

    #[getter]
    fn start_date(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.start_obj(py)?.clone_ref(py))
    }

    #[getter]
    fn end_date(&self, py: Python<'_>) -> Py<PyAny> {
        self.end_date.as_ref().map_or_else(|| py.None(), |e| e.clone_ref(py))
    }

    #[setter]
    fn set_start_date(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let (obj, t) = args::assigned_date(value)?
            .ok_or_else(|| pyo3::exceptions::PyTypeError::new_err("start_date cannot be None"))?;
        std::sync::Arc::make_mut(&mut self.core).start = t;
        self.start_date = OnceLock::new();
        let _ = self.start_date.set(obj);
        Ok(())
    }

    #[setter]
    fn set_end_date(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let end = args::assigned_date(value)?;
        std::sync::Arc::make_mut(&mut self.core).end = end.as_ref().map(|e| e.1);
        self.end_date = end.map(|e| e.0);
        Ok(())
    }

    #[setter]
    fn set_jitter(&mut self, value: Option<&Bound<'_, PyAny>>) {
        self.jitter = Jitter::new(value);
        std::sync::Arc::make_mut(&mut self.core).jitter = self.jitter.value;
    }

    #[getter]
    fn interval<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDelta>> {
        args::new_delta(py, self.core.interval_micros)
    }

    #[getter]
    fn interval_length(&self) -> f64 {
        self.core.length
    }

    #[getter]
    fn jitter(&self, py: Python<'_>) -> Py<PyAny> {
        self.jitter.object(py)
    }

    #[pyo3(signature = (previous_fire_time, now))]
    fn get_next_fire_time<'py>(
        &self,
        py: Python<'py>,
        previous_fire_time: Option<&Bound<'py, PyAny>>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let prev = args::zoned_opt(previous_fire_time)?;
        let now = args::zoned_now(now)?;
        self.jitter.check(py)?;
        self.to_py(py, self.core.next_fire_time(prev.as_ref(), &now))
    }

    fn _next_at_or_after<'py>(
        &self,
        own_previous: &Bound<'py, PyAny>,
        at: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let (p, a) = (args::zoned(own_previous)?, args::zoned(at)?);
        self.to_py(own_previous.py(), self.core.next_at_or_after(&p, &a))
    }

    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 2)?;
        d.set_item("timezone", &self.tz)?;
        d.set_item("start_date", self.start_obj(py)?)?;
        d.set_item("end_date", self.end_date(py))?;
        d.set_item("interval", self.interval(py)?)?;
        d.set_item("jitter", self.jitter.object(py))?;
        Ok(d)
    }

    fn __setstate__(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let state = args::unwrap_legacy(state)?;
        args::check_version(&state, "IntervalTrigger", 2)?;
        let zone = TriggerZone::new(state.get_item("timezone")?)?;
        let start = state.get_item("start_date")?;
        let end = state.get_item("end_date")?;
        let micros = args::delta_micros(&state.get_item("interval")?)?;
        let jitter = state.call_method1("get", ("jitter",))?;
        let jitter = Jitter::new(Some(&jitter));
        let end_t = args::zoned_opt(Some(&end))?;
        self.core =
            std::sync::Arc::new(IntervalTrigger::new(micros, args::zoned(&start)?, end_t, zone.zone, jitter.value));
        self.jitter = jitter;
        self.tz = zone.tz;
        self.tz_pytz = zone.pytz;
        self.start_date = OnceLock::new();
        let _ = self.start_date.set(start.unbind());
        self.end_date = if end.is_none() { None } else { Some(end.unbind()) };
        Ok(())
    }

    fn __str__(&self) -> String {
        format!("interval[{}]", args::timedelta_str(self.core.interval_micros))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let name = slf.get_type().name()?;
        let this = slf.borrow();
        let mut s = format!(
            "<{name} (interval={}, start_date='{}'",
            this.interval(py)?.repr()?,
            args::datetime_repr(this.start_obj(py)?.bind(py))?
        );
        if let Some(end) = &this.end_date {
            s += &format!(", end_date='{}'", args::datetime_repr(end.bind(py))?);
        }
        s += &this.jitter.repr_part(py)?;
        s += &format!(", timezone='{}')>", this.tz.bind(py).str()?);
        Ok(s)
    }
}
