//! Python bindings of the triggers.
//!
//! Date, interval and cron triggers are `#[pyclass]`es (their constructors and
//! `get_next_fire_time` are hot); the public classes in `apscheduler_rs.triggers.*` subclass
//! them together with `BaseTrigger`. Calendar-interval and combining triggers are Python
//! classes that hold a [`native::NativeTrigger`].
//!
//! - [`args`]: argument conversion with APScheduler's rules.
//! - [`date`], [`interval`], [`cron`]: the pyclasses.
//! - [`native`]: native handles for the Python-written trigger classes.
//! - [`fast`]: the raw `get_next_fire_time` methods for the common call.

pub mod args;
pub mod cron;
pub mod date;
pub mod fast;
pub mod interval;
pub mod native;

use crate::core::trigger::Trigger;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use std::sync::Arc;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<date::PyDateTrigger>()?;
    m.add_class::<interval::PyIntervalTrigger>()?;
    m.add_class::<cron::PyCronTrigger>()?;
    m.add_class::<native::NativeTrigger>()?;
    m.add_function(wrap_pyfunction!(cron::cron_parse_field, m)?)?;
    m.add_function(wrap_pyfunction!(native::calendar_native, m)?)?;
    m.add_function(wrap_pyfunction!(native::combining_native, m)?)?;
    m.add_function(wrap_pyfunction!(native_next_fire_time, m)?)?;
    fast::install(m)?;
    Ok(())
}

/// True when `obj`'s class does not override `get_next_fire_time` defined on `base`.
fn not_overridden(obj: &Bound<'_, PyAny>, base: &Bound<'_, PyAny>) -> bool {
    match (
        obj.get_type().getattr(pyo3::intern!(obj.py(), "get_next_fire_time")),
        base.getattr(pyo3::intern!(obj.py(), "get_next_fire_time")),
    ) {
        (Ok(a), Ok(b)) => a.is(&b),
        _ => false,
    }
}

fn py_class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> Option<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || Ok::<_, PyErr>(py.import(module)?.getattr(name)?.unbind())).ok().map(|c| c.bind(py))
}

/// The native trigger behind `obj`, when `obj` is one of our trigger classes and its
/// `get_next_fire_time` is not overridden in Python. The result holds no Python objects,
/// so the engine may call it from any thread without the GIL. `None` means "call Python".
pub fn native_trigger(obj: &Bound<'_, PyAny>) -> Option<Arc<dyn Trigger>> {
    let py = obj.py();
    if let Ok(t) = obj.cast::<interval::PyIntervalTrigger>() {
        let t = t.borrow();
        let ok = t.jitter.numeric && not_overridden(obj, &py.get_type::<interval::PyIntervalTrigger>());
        return ok.then(|| t.core.clone() as Arc<dyn Trigger>);
    }
    if let Ok(t) = obj.cast::<cron::PyCronTrigger>() {
        let t = t.borrow();
        let ok = t.jitter.numeric && not_overridden(obj, &py.get_type::<cron::PyCronTrigger>());
        return ok.then(|| t.core.clone() as Arc<dyn Trigger>);
    }
    if let Ok(t) = obj.cast::<date::PyDateTrigger>() {
        let ok = not_overridden(obj, &py.get_type::<date::PyDateTrigger>());
        return ok.then(|| t.borrow().core.clone() as Arc<dyn Trigger>);
    }
    static CALENDAR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static COMBINING: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static AND: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let calendar = py_class(py, &CALENDAR, "apscheduler_rs.triggers.calendarinterval", "CalendarIntervalTrigger")?;
    if obj.is_instance(calendar).ok()? {
        let native = obj.getattr("_native").ok()?;
        let native = native.cast::<native::NativeTrigger>().ok()?;
        return not_overridden(obj, calendar).then(|| native.get().inner.clone());
    }
    let combining = py_class(py, &COMBINING, "apscheduler_rs.triggers.combining", "BaseCombiningTrigger")?;
    if obj.is_instance(combining).ok()? {
        let and = py_class(py, &AND, "apscheduler_rs.triggers.combining", "AndTrigger")?;
        let kind = if obj.is_instance(and).ok()? { "and" } else { "or" };
        let class = obj.get_type();
        let base = class.mro().iter().find(|c| {
            c.cast::<PyType>().ok().and_then(|t| t.name().ok()).is_some_and(|n| n == "AndTrigger" || n == "OrTrigger")
        })?;
        if !not_overridden(obj, &base) {
            return None;
        }
        let members = obj.getattr("triggers").ok()?;
        let jitter = obj.getattr("jitter").ok()?;
        return native::combine(kind, &members, Some(&jitter)).ok()?;
    }
    None
}

/// `_core._native_next_fire_time(trigger, previous, now)`: runs the native trigger the engine
/// would use (for tests); `LookupError` when the trigger has none.
#[pyfunction]
#[pyo3(name = "_native_next_fire_time")]
fn native_next_fire_time<'py>(
    py: Python<'py>,
    trigger: &Bound<'py, PyAny>,
    previous: Option<&Bound<'py, PyAny>>,
    now: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let native =
        native_trigger(trigger).ok_or_else(|| pyo3::exceptions::PyLookupError::new_err("no native trigger"))?;
    let prev = args::zoned_opt(previous)?;
    let now = args::zoned(now)?;
    let Some(t) = native.next_fire_time(prev.as_ref(), &now) else {
        return Ok(None);
    };
    let tz = crate::py::time::zone_to_tzinfo(py, &t.zone)?;
    Ok(Some(crate::py::time::zoned_to_datetime(py, &t, Some(&tz))?.into_any()))
}
