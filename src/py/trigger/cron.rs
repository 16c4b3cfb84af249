//! `CronTrigger` binding, plus the conversions between core fields and the Python field and
//! expression objects (`apscheduler_rs.triggers.cron.fields` / `.expressions`), whose
//! instance dicts are the pickled format.

use super::args::{self, Jitter, TriggerZone};
use crate::core::time::ZonedTime;
use crate::core::trigger::Trigger;
use crate::core::trigger::cron::expr::Expr;
use crate::core::trigger::cron::fields::{Field, FieldKind};
use crate::core::trigger::cron::{CronTrigger, build_fields, parse};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::sync::OnceLock;

#[pyclass(module = "apscheduler_rs._core", name = "CronTrigger", subclass)]
pub struct PyCronTrigger {
    /// Shared with the jobs that use this trigger (the engine's handle is this same `Arc`).
    pub core: std::sync::Arc<CronTrigger>,
    pub jitter: Jitter,
    tz: Py<PyAny>,
    /// `tz` is a pytz zone.
    tz_pytz: bool,
    start_date: Option<Py<PyAny>>,
    end_date: Option<Py<PyAny>>,
    /// The Python field objects, built on first access (or kept from a pickle).
    fields: OnceLock<Py<PyAny>>,
}

/// An expression's class name and its attributes, in the pickled (and instance dict) order.
/// Shared with the native job-state writer, so both give the same dicts.
pub fn expr_attrs(e: &Expr) -> (&'static str, [(&'static str, Option<i64>); 3], usize) {
    match *e {
        Expr::All { step } => ("AllExpression", [("step", step), ("", None), ("", None)], 1),
        Expr::Range { first, last, step } => {
            ("RangeExpression", [("step", step), ("first", Some(first)), ("last", last)], 3)
        }
        Expr::MonthRange { first, last, step } => {
            ("MonthRangeExpression", [("step", step), ("first", Some(first)), ("last", last)], 3)
        }
        Expr::WeekdayRange { first, last, step } => {
            ("WeekdayRangeExpression", [("step", step), ("first", Some(first)), ("last", last)], 3)
        }
        Expr::WeekdayPosition { option_num, weekday } => (
            "WeekdayPositionExpression",
            [("step", None), ("option_num", Some(option_num)), ("weekday", Some(weekday))],
            3,
        ),
        Expr::LastDayOfMonth => ("LastDayOfMonthExpression", [("step", None), ("", None), ("", None)], 1),
    }
}

/// `(class name, instance dict)` of an expression. The keys are interned, as attribute names
/// set in Python are: every instance dict holds the same key objects, however it was made.
fn expr_spec<'py>(py: Python<'py>, e: &Expr) -> PyResult<Bound<'py, PyTuple>> {
    let d = PyDict::new(py);
    let (name, attrs, len) = expr_attrs(e);
    for (key, value) in &attrs[..len] {
        d.set_item(pyo3::types::PyString::intern(py, key), value)?;
    }
    PyTuple::new(py, [name.into_pyobject(py)?.into_any(), d.into_any()])
}

fn expr_specs<'py>(py: Python<'py>, exprs: &[Expr]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, exprs.iter().map(|e| expr_spec(py, e)).collect::<PyResult<Vec<_>>>()?)
}

/// An expression object (ours or unpickled) back to the core form.
fn expr_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Expr> {
    let int = |name: &str| -> PyResult<Option<i64>> {
        let v = obj.getattr(name)?;
        if v.is_none() { Ok(None) } else { v.extract().map(Some) }
    };
    let req =
        |name: &str| -> PyResult<i64> { int(name)?.ok_or_else(|| PyValueError::new_err(format!("{name} is None"))) };
    let class = obj.get_type().name()?.to_string();
    Ok(match class.as_str() {
        "AllExpression" => Expr::All { step: int("step")? },
        "RangeExpression" => Expr::Range { first: req("first")?, last: int("last")?, step: int("step")? },
        "MonthRangeExpression" => Expr::MonthRange { first: req("first")?, last: int("last")?, step: int("step")? },
        "WeekdayRangeExpression" => Expr::WeekdayRange { first: req("first")?, last: int("last")?, step: int("step")? },
        "WeekdayPositionExpression" => {
            Expr::WeekdayPosition { option_num: req("option_num")?, weekday: req("weekday")? }
        }
        "LastDayOfMonthExpression" => Expr::LastDayOfMonth,
        other => {
            return Err(PyTypeError::new_err(format!("unsupported cron expression class {other}")));
        }
    })
}

fn field_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Field> {
    let name: String = obj.getattr("name")?.extract()?;
    let kind =
        FieldKind::from_name(&name).ok_or_else(|| PyValueError::new_err(format!("unknown cron field {name:?}")))?;
    let is_default = obj.getattr("is_default")?.is_truthy()?;
    let exprs = obj.getattr("expressions")?.try_iter()?.map(|e| expr_from_py(&e?)).collect::<PyResult<Vec<_>>>()?;
    Ok(Field::new(kind, is_default, exprs))
}

fn fields_from_py(list: &Bound<'_, PyAny>) -> PyResult<[Field; 8]> {
    let fields = list.try_iter()?.map(|f| field_from_py(&f?)).collect::<PyResult<Vec<_>>>()?;
    fields.try_into().map_err(|_| PyValueError::new_err("a cron trigger needs exactly 8 fields"))
}

/// `_core.cron_parse_field(name, text)`: expression specs for the Python field classes.
#[pyfunction]
pub fn cron_parse_field<'py>(py: Python<'py>, name: &str, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let kind =
        FieldKind::from_name(name).ok_or_else(|| PyValueError::new_err(format!("unknown cron field {name:?}")))?;
    let text: String = text.str()?.extract()?;
    let exprs = parse::parse_field(kind, &text).map_err(PyValueError::new_err)?;
    expr_specs(py, &exprs)
}

impl PyCronTrigger {
    fn fields_obj(&self, py: Python<'_>) -> PyResult<&Py<PyAny>> {
        if let Some(f) = self.fields.get() {
            return Ok(f);
        }
        let specs = self
            .core
            .fields
            .iter()
            .map(|f| {
                PyTuple::new(
                    py,
                    [
                        f.kind.name().into_pyobject(py)?.into_any(),
                        f.is_default.into_pyobject(py)?.to_owned().into_any(),
                        expr_specs(py, &f.exprs)?.into_any(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        let build = py.import("apscheduler_rs.triggers.cron.fields")?.getattr("_fields_from_specs")?;
        let obj = build.call1((specs,))?.unbind();
        Ok(self.fields.get_or_init(|| obj))
    }

    /// What a job state written natively needs of this trigger, when its state is only its
    /// fields and zone: no start or end date, no jitter, and field objects never handed out
    /// (handed-out ones may have been changed in place).
    pub fn plain_state(&self, py: Python<'_>) -> Option<(std::sync::Arc<CronTrigger>, Py<PyAny>)> {
        let plain = self.start_date.is_none()
            && self.end_date.is_none()
            && self.jitter.obj.is_none()
            && self.fields.get().is_none();
        plain.then(|| (self.core.clone(), self.tz.clone_ref(py)))
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
impl PyCronTrigger {
    #[new]
    #[pyo3(signature = (year=None, month=None, day=None, week=None, day_of_week=None, hour=None, minute=None, second=None, start_date=None, end_date=None, timezone=None, jitter=None, *extra_args, **extra_kwargs))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        year: Option<&Bound<'_, PyAny>>,
        month: Option<&Bound<'_, PyAny>>,
        day: Option<&Bound<'_, PyAny>>,
        week: Option<&Bound<'_, PyAny>>,
        day_of_week: Option<&Bound<'_, PyAny>>,
        hour: Option<&Bound<'_, PyAny>>,
        minute: Option<&Bound<'_, PyAny>>,
        second: Option<&Bound<'_, PyAny>>,
        start_date: Option<&Bound<'_, PyAny>>,
        end_date: Option<&Bound<'_, PyAny>>,
        timezone: Option<&Bound<'_, PyAny>>,
        jitter: Option<&Bound<'_, PyAny>>,
        extra_args: &Bound<'_, pyo3::types::PyTuple>,
        extra_kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        super::args::reject_extra("CronTrigger", 12, extra_args, extra_kwargs)?;
        let zone = args::trigger_zone(py, timezone, start_date, end_date)?;
        let start = args::convert_date(py, start_date, &zone, "start_date")?;
        let end = args::convert_date(py, end_date, &zone, "end_date")?;
        let jitter = Jitter::new(jitter);
        let texts = [year, month, day, week, day_of_week, hour, minute, second]
            .map(|v| v.filter(|v| !v.is_none()).map(|v| v.str().and_then(|s| s.extract::<String>())).transpose());
        let mut values: [Option<String>; 8] = Default::default();
        for (slot, t) in values.iter_mut().zip(texts) {
            *slot = t?;
        }
        let fields = build_fields(values.each_ref().map(|v| v.as_deref())).map_err(PyValueError::new_err)?;
        let core = CronTrigger {
            fields,
            start: start.as_ref().map(|s| s.1),
            end: end.as_ref().map(|e| e.1),
            zone: zone.zone,
            jitter: jitter.value,
        };
        Ok(PyCronTrigger {
            core: core.into(),
            jitter,
            tz: zone.tz,
            tz_pytz: zone.pytz,
            start_date: start.map(|s| s.0),
            end_date: end.map(|e| e.0),
            fields: OnceLock::new(),
        })
    }

    #[getter]
    fn timezone(&self, py: Python<'_>) -> Py<PyAny> {
        self.tz.clone_ref(py)
    }

    #[getter]
    fn start_date(&self, py: Python<'_>) -> Py<PyAny> {
        self.start_date.as_ref().map_or_else(|| py.None(), |o| o.clone_ref(py))
    }

    #[getter]
    fn end_date(&self, py: Python<'_>) -> Py<PyAny> {
        self.end_date.as_ref().map_or_else(|| py.None(), |o| o.clone_ref(py))
    }

    #[getter]
    fn jitter(&self, py: Python<'_>) -> Py<PyAny> {
        self.jitter.object(py)
    }

    #[setter]
    fn set_start_date(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let start = args::assigned_date(value)?;
        std::sync::Arc::make_mut(&mut self.core).start = start.as_ref().map(|s| s.1);
        self.start_date = start.map(|s| s.0);
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
    fn fields(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.fields_obj(py)?.clone_ref(py))
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
        d.set_item("start_date", self.start_date(py))?;
        d.set_item("end_date", self.end_date(py))?;
        d.set_item("fields", self.fields_obj(py)?)?;
        d.set_item("jitter", self.jitter.object(py))?;
        Ok(d)
    }

    fn __setstate__(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let state = args::unwrap_legacy(state)?;
        args::check_version(&state, "CronTrigger", 2)?;
        let zone = TriggerZone::new(args::astimezone(&state.get_item("timezone")?)?)?;
        let start = state.get_item("start_date")?;
        let end = state.get_item("end_date")?;
        let fields = state.get_item("fields")?;
        let jitter = state.call_method1("get", ("jitter",))?;
        let jitter = Jitter::new(Some(&jitter));
        self.core = std::sync::Arc::new(CronTrigger {
            fields: fields_from_py(&fields)?,
            start: args::zoned_opt(Some(&start))?,
            end: args::zoned_opt(Some(&end))?,
            zone: zone.zone,
            jitter: jitter.value,
        });
        self.jitter = jitter;
        self.tz = zone.tz;
        self.tz_pytz = zone.pytz;
        self.start_date = (!start.is_none()).then(|| start.unbind());
        self.end_date = (!end.is_none()).then(|| end.unbind());
        self.fields = OnceLock::new();
        let _ = self.fields.set(fields.unbind());
        Ok(())
    }

    fn __str__(&self) -> String {
        self.core.text()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let name = slf.get_type().name()?;
        let this = slf.borrow();
        let mut options = this.core.field_items();
        if let Some(s) = &this.start_date {
            options.push(format!("start_date='{}'", args::datetime_repr(s.bind(py))?));
        }
        if let Some(e) = &this.end_date {
            options.push(format!("end_date='{}'", args::datetime_repr(e.bind(py))?));
        }
        let jitter = this.jitter.repr_part(py)?;
        if !jitter.is_empty() {
            options.push(jitter[2..].to_owned());
        }
        Ok(format!("<{name} ({}, timezone='{}')>", options.join(", "), this.tz.bind(py).str()?))
    }
}
