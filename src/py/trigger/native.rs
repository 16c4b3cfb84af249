//! `NativeTrigger`: a native trigger handle for the triggers whose public class is written in
//! Python (calendar interval, and/or), plus the constructors those classes call.

use super::args::{self, Jitter};
use crate::core::time::ZonedTime;
use crate::core::trigger::Trigger;
use crate::core::trigger::calendar_interval::CalendarIntervalTrigger;
use crate::core::trigger::combining::{AndTrigger, OrTrigger};
use chrono::{NaiveDate, NaiveTime};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDate, PyDateAccess};
use std::sync::Arc;

#[pyclass(module = "apscheduler_rs._core", frozen)]
pub struct NativeTrigger {
    pub inner: Arc<dyn Trigger>,
    /// tzinfo for results; `None` uses each result's own zone (combining triggers).
    tz: Option<Py<PyAny>>,
}

impl NativeTrigger {
    fn to_py<'py>(&self, py: Python<'py>, t: Option<ZonedTime>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(t) = t else { return Ok(None) };
        match &self.tz {
            Some(tz) => args::to_datetime(py, &t, tz).map(Some),
            None => {
                let tz = crate::py::time::zone_to_tzinfo(py, &t.zone)?;
                Ok(Some(crate::py::time::zoned_to_datetime(py, &t, Some(&tz))?.into_any()))
            }
        }
    }
}

#[pymethods]
impl NativeTrigger {
    #[pyo3(signature = (previous_fire_time, now))]
    fn next<'py>(
        &self,
        py: Python<'py>,
        previous_fire_time: Option<&Bound<'py, PyAny>>,
        now: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let prev = args::zoned_opt(previous_fire_time)?;
        let now = args::zoned_now(now)?;
        self.to_py(py, self.inner.next_fire_time(prev.as_ref(), &now))
    }

    fn next_at_or_after<'py>(
        &self,
        own_previous: &Bound<'py, PyAny>,
        at: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let (p, a) = (args::zoned(own_previous)?, args::zoned(at)?);
        self.to_py(own_previous.py(), self.inner.next_at_or_after(&p, &a))
    }
}

fn naive_date(d: &Bound<'_, PyAny>) -> PyResult<NaiveDate> {
    let d = d.cast::<PyDate>()?;
    NaiveDate::from_ymd_opt(d.get_year(), d.get_month() as u32, d.get_day() as u32)
        .ok_or_else(|| PyValueError::new_err("date out of range"))
}

/// `_core.calendar_native(...)`: the engine of a `CalendarIntervalTrigger`. The Python class
/// has already validated the arguments; `start_date`/`end_date` are `date` (or `datetime`,
/// whose date part is used) objects.
#[pyfunction]
#[pyo3(signature = (years, months, weeks, days, time, start_date, end_date, timezone, jitter))]
#[allow(clippy::too_many_arguments)]
pub fn calendar_native(
    years: i64,
    months: i64,
    weeks: f64,
    days: f64,
    time: (u32, u32, u32),
    start_date: &Bound<'_, PyAny>,
    end_date: Option<&Bound<'_, PyAny>>,
    timezone: &Bound<'_, PyAny>,
    jitter: Option<&Bound<'_, PyAny>>,
) -> PyResult<NativeTrigger> {
    let zone = args::zone_of(timezone)?;
    let time = NaiveTime::from_hms_opt(time.0, time.1, time.2).ok_or_else(|| PyValueError::new_err("invalid time"))?;
    let step_days = (days + weeks * 7.0).floor();
    if !step_days.is_finite() || step_days.abs() > 4e6 {
        return Err(PyValueError::new_err("days out of range"));
    }
    let jitter = Jitter::new(jitter);
    let core = CalendarIntervalTrigger {
        years,
        months,
        step_days: step_days as i64,
        time,
        start: naive_date(start_date)?,
        end: end_date.filter(|e| !e.is_none()).map(naive_date).transpose()?,
        zone,
        jitter: jitter.value,
    };
    Ok(NativeTrigger { inner: Arc::new(core), tz: Some(timezone.clone().unbind()) })
}

/// `_core.combining_native(kind, members, jitter)`: an and/or engine when every member is
/// native, else `None`.
#[pyfunction]
pub fn combining_native(
    kind: &str,
    members: &Bound<'_, PyAny>,
    jitter: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<NativeTrigger>> {
    Ok(combine(kind, members, jitter)?.map(|inner| NativeTrigger { inner, tz: None }))
}

pub fn combine(
    kind: &str,
    members: &Bound<'_, PyAny>,
    jitter: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Arc<dyn Trigger>>> {
    let jitter = Jitter::new(jitter);
    if !jitter.numeric {
        return Ok(None);
    }
    let mut natives = Vec::new();
    for m in members.try_iter()? {
        match super::native_trigger(&m?) {
            Some(n) => natives.push(n),
            None => return Ok(None),
        }
    }
    Ok(Some(match kind {
        "and" => Arc::new(AndTrigger { members: natives, jitter: jitter.value }),
        _ => Arc::new(OrTrigger { members: natives, jitter: jitter.value }),
    }))
}
