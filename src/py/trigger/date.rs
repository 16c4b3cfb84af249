//! `DateTrigger` binding. The public class is a Python subclass in
//! `apscheduler_rs.triggers.date` (so it also inherits `BaseTrigger`).

use super::args::{self, TriggerZone};
use crate::core::trigger::Trigger;
use crate::core::trigger::date::DateTrigger;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::OnceLock;

#[pyclass(module = "apscheduler_rs._core", name = "DateTrigger", subclass)]
pub struct PyDateTrigger {
    /// Shared with the jobs that use this trigger (the engine's handle is this same `Arc`).
    pub core: std::sync::Arc<DateTrigger>,
    tz: Py<PyAny>,
    /// The `run_date` object handed back by `get_next_fire_time`: the given one, or (for
    /// "now") created on first use, which keeps construction cheap.
    run_date: OnceLock<Py<PyAny>>,
}

impl PyDateTrigger {
    fn build(
        py: Python<'_>,
        run_date: Option<&Bound<'_, PyAny>>,
        timezone: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let tz = match timezone.filter(|t| !t.is_none()) {
            Some(t) => args::astimezone(t)?,
            None => args::local_zone(py)?,
        };
        let tz = if tz.is_truthy()? { tz } else { args::local_zone(py)? };
        let zone = TriggerZone::new(tz)?;
        let cell = OnceLock::new();
        let t = match args::convert_date(py, run_date, &zone, "run_date")? {
            Some((obj, t)) => {
                let _ = cell.set(obj);
                t
            }
            None => args::now_in(zone.zone),
        };
        Ok(PyDateTrigger { core: DateTrigger { run_date: t }.into(), tz: zone.tz, run_date: cell })
    }

    fn run_date_obj(&self, py: Python<'_>) -> PyResult<&Py<PyAny>> {
        if let Some(o) = self.run_date.get() {
            return Ok(o);
        }
        let o = args::to_datetime(py, &self.core.run_date, &self.tz)?.unbind();
        Ok(self.run_date.get_or_init(|| o))
    }
}

#[pymethods]
impl PyDateTrigger {
    #[new]
    #[pyo3(signature = (run_date=None, timezone=None, *extra_args, **extra_kwargs))]
    fn new(
        py: Python<'_>,
        run_date: Option<&Bound<'_, PyAny>>,
        timezone: Option<&Bound<'_, PyAny>>,
        extra_args: &Bound<'_, pyo3::types::PyTuple>,
        extra_kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Self> {
        super::args::reject_extra("DateTrigger", 2, extra_args, extra_kwargs)?;
        Self::build(py, run_date, timezone)
    }

    #[getter]
    fn run_date(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.run_date_obj(py)?.clone_ref(py))
    }

    #[setter]
    fn set_run_date(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core = std::sync::Arc::new(DateTrigger { run_date: args::zoned(value)? });
        self.run_date = OnceLock::new();
        let _ = self.run_date.set(value.clone().unbind());
        Ok(())
    }

    #[pyo3(signature = (previous_fire_time, now))]
    fn get_next_fire_time(
        &self,
        py: Python<'_>,
        previous_fire_time: Option<&Bound<'_, PyAny>>,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let _ = now;
        match previous_fire_time.filter(|p| !p.is_none()) {
            None => Ok(self.run_date_obj(py)?.clone_ref(py)),
            Some(_) => Ok(py.None()),
        }
    }

    fn _next_at_or_after(&self, own_previous: &Bound<'_, PyAny>, at: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
        let (p, a) = (args::zoned(own_previous)?, args::zoned(at)?);
        let py = own_previous.py();
        self.core.next_at_or_after(&p, &a).map(|_| Ok(self.run_date_obj(py)?.clone_ref(py))).transpose()
    }

    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 1)?;
        d.set_item("run_date", self.run_date_obj(py)?)?;
        Ok(d)
    }

    fn __setstate__(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let state = args::unwrap_legacy(state)?;
        args::check_version(&state, "DateTrigger", 1)?;
        let run_date = state.get_item("run_date")?;
        self.core = std::sync::Arc::new(DateTrigger { run_date: args::zoned(&run_date)? });
        self.run_date = OnceLock::new();
        let _ = self.run_date.set(run_date.unbind());
        Ok(())
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("date[{}]", args::datetime_repr(self.run_date_obj(py)?.bind(py))?))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        let py = slf.py();
        let run_date = args::datetime_repr(slf.borrow().run_date_obj(py)?.bind(py))?;
        Ok(format!("<{name} (run_date='{run_date}')>"))
    }
}
