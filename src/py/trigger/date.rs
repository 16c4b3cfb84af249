//! `DateTrigger` binding. The public class is a Python subclass in
//! `apscheduler_rs.triggers.date` (so it also inherits `BaseTrigger`).

use super::args::{self, TriggerZone};
use crate::core::trigger::Trigger;
use crate::core::trigger::date::DateTrigger;
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyclass(module = "apscheduler_rs._core", name = "DateTrigger", subclass)]
pub struct PyDateTrigger {
    pub core: DateTrigger,
    /// The `run_date` object handed back by `get_next_fire_time`.
    run_date: Py<PyAny>,
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
        let (obj, t) = match args::convert_date(py, run_date, &zone, "run_date")? {
            Some(v) => v,
            None => {
                let t = args::now_in(zone.zone);
                (args::to_datetime(py, &t, &zone.tz)?.unbind(), t)
            }
        };
        Ok(PyDateTrigger { core: DateTrigger { run_date: t }, run_date: obj })
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
    fn run_date(&self, py: Python<'_>) -> Py<PyAny> {
        self.run_date.clone_ref(py)
    }

    #[setter]
    fn set_run_date(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.core = DateTrigger { run_date: args::zoned(value)? };
        self.run_date = value.clone().unbind();
        Ok(())
    }

    #[pyo3(signature = (previous_fire_time, now))]
    fn get_next_fire_time(
        &self,
        py: Python<'_>,
        previous_fire_time: Option<&Bound<'_, PyAny>>,
        now: &Bound<'_, PyAny>,
    ) -> Py<PyAny> {
        let _ = now;
        match previous_fire_time.filter(|p| !p.is_none()) {
            None => self.run_date.clone_ref(py),
            Some(_) => py.None(),
        }
    }

    fn _next_at_or_after(&self, own_previous: &Bound<'_, PyAny>, at: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
        let (p, a) = (args::zoned(own_previous)?, args::zoned(at)?);
        Ok(self.core.next_at_or_after(&p, &a).map(|_| self.run_date.clone_ref(own_previous.py())))
    }

    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 1)?;
        d.set_item("run_date", &self.run_date)?;
        Ok(d)
    }

    fn __setstate__(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let state = args::unwrap_legacy(state)?;
        args::check_version(&state, "DateTrigger", 1)?;
        let run_date = state.get_item("run_date")?;
        self.core = DateTrigger { run_date: args::zoned(&run_date)? };
        self.run_date = run_date.unbind();
        Ok(())
    }

    fn __str__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("date[{}]", args::datetime_repr(self.run_date.bind(py))?))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let name = slf.get_type().name()?;
        let run_date = args::datetime_repr(slf.borrow().run_date.bind(slf.py()))?;
        Ok(format!("<{name} (run_date='{run_date}')>"))
    }
}
