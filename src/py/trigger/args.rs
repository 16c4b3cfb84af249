//! Constructor and call arguments: Python objects -> core values, with APScheduler's rules.
//!
//! Fast paths (a `ZoneInfo`/`timezone` object, an aware `datetime`, integer interval parts)
//! stay in Rust; everything else goes through `apscheduler_rs.triggers._util`, which carries
//! the exact Python semantics and error messages of the slow cases.

use crate::core::time::{Zone, ZonedTime};
use crate::py::time::zone_from_tzinfo;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use pyo3::types::{PyDateTime, PyDelta, PyDeltaAccess, PyTimeAccess, PyTzInfo, PyTzInfoAccess};

fn cached<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    module: &str,
    attr: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell.get_or_try_init(py, || Ok::<_, PyErr>(py.import(module)?.getattr(attr)?.unbind()))?.bind(py))
}

/// A function from `apscheduler_rs.triggers._util`.
pub fn util<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let m = MODULE.get_or_try_init(py, || Ok::<_, PyErr>(py.import("apscheduler_rs.triggers._util")?.unbind()))?;
    m.bind(py).getattr(name)
}

fn zoneinfo_type<'py>(py: Python<'py>) -> PyResult<&'py Bound<'py, PyAny>> {
    static T: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    cached(py, &T, "zoneinfo", "ZoneInfo")
}

fn timezone_type<'py>(py: Python<'py>) -> PyResult<&'py Bound<'py, PyAny>> {
    static T: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    cached(py, &T, "datetime", "timezone")
}

// tzinfo objects already mapped to core zones, by identity, with a "pytz" flag. The entries
// keep the objects alive, so an address is never reused while cached. Per thread: no locking
// on the hot path (the GIL already serialises Python callers).
thread_local! {
    static ZONES: std::cell::RefCell<Vec<(Py<PyAny>, Zone, bool)>> = const { std::cell::RefCell::new(Vec::new()) };
}
const ZONE_CACHE_SIZE: usize = 64;

/// The core zone of a tzinfo object and whether it is a pytz zone. Zones the core cannot
/// model (dateutil, custom tzinfo classes) are a `TypeError`.
fn lookup(tz: &Bound<'_, PyAny>) -> PyResult<(Zone, bool)> {
    let ptr = tz.as_ptr();
    let hit = ZONES.with(|c| c.borrow().iter().find(|(o, _, _)| o.as_ptr() == ptr).map(|(_, z, p)| (*z, *p)));
    if let Some(hit) = hit {
        return Ok(hit);
    }
    let zone = zone_from_tzinfo(tz).map_err(|_| {
        let name = tz.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!(
            "apscheduler_rs triggers support zoneinfo, pytz, datetime.timezone and dateutil's tzutc/tzoffset time zones, not {name}"
        ))
    })?;
    let is_pytz = matches!(zone, Zone::Iana(_)) && tz.hasattr("localize")?;
    ZONES.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() < ZONE_CACHE_SIZE {
            cache.push((tz.clone().unbind(), zone, is_pytz));
        }
    });
    Ok((zone, is_pytz))
}

pub fn zone_of(tz: &Bound<'_, PyAny>) -> PyResult<Zone> {
    lookup(tz).map(|(z, _)| z)
}

/// A trigger's zone: the tzinfo object it keeps and the core zone.
pub struct TriggerZone {
    pub tz: Py<PyAny>,
    pub zone: Zone,
    /// A pytz zone (only found in old pickled states): results need its `fromutc`.
    pub pytz: bool,
}

impl TriggerZone {
    pub fn new(tz: Bound<'_, PyAny>) -> PyResult<Self> {
        let (zone, pytz) = lookup(&tz)?;
        Ok(TriggerZone { tz: tz.unbind(), zone, pytz })
    }
}

/// `astimezone(obj)`; `ZoneInfo` and `datetime.timezone` objects are returned as they are.
pub fn astimezone<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let ty = obj.get_type();
    if ty.is(zoneinfo_type(py)?) || ty.is(timezone_type(py)?) {
        return Ok(obj.clone());
    }
    util(py, "astimezone")?.call1((obj,))
}

pub fn local_zone(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    util(py, "get_localzone")?.call0()
}

/// The tzinfo of an aware `datetime` object, if `obj` is one.
pub fn aware_tzinfo<'py>(obj: Option<&Bound<'py, PyAny>>) -> Option<Bound<'py, PyTzInfo>> {
    obj?.cast::<PyDateTime>().ok()?.get_tzinfo()
}

/// Interval/cron zone rule: a truthy `timezone`, else the zone of an aware start/end
/// `datetime`, else the local zone.
pub fn trigger_zone(
    py: Python<'_>,
    timezone: Option<&Bound<'_, PyAny>>,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
) -> PyResult<TriggerZone> {
    let tz = match timezone {
        Some(tz) if tz.is_truthy()? => astimezone(tz)?,
        _ => match aware_tzinfo(start).or_else(|| aware_tzinfo(end)) {
            Some(tz) => astimezone(tz.as_any())?,
            None => local_zone(py)?,
        },
    };
    TriggerZone::new(tz)
}

use crate::py::time::naive_fields;

fn utcoffset_seconds(dt: &Bound<'_, PyAny>) -> PyResult<i32> {
    let offset = dt.call_method0("utcoffset")?;
    let delta = offset.cast::<PyDelta>()?;
    Ok(delta.get_days() * 86_400 + delta.get_seconds())
}

/// An aware `datetime` as a core time. pytz and other tzinfo classes become fixed offsets:
/// Python compares them with trigger times by instant, which is what a distinct zone gives.
pub fn zoned(dt: &Bound<'_, PyAny>) -> PyResult<ZonedTime> {
    let Ok(d) = dt.cast::<PyDateTime>() else {
        return Err(PyTypeError::new_err(format!("expected a datetime, got {}", dt.get_type().name()?)));
    };
    let Some(tz) = d.get_tzinfo() else {
        return Err(PyTypeError::new_err("can't compare offset-naive and offset-aware datetimes"));
    };
    let local = naive_fields(d)?;
    match lookup(tz.as_any()) {
        Ok((zone, false)) => Ok(ZonedTime::new(local, d.get_fold(), zone)),
        _ => Ok(ZonedTime::new(local, false, Zone::Fixed(utcoffset_seconds(dt)?))),
    }
}

pub fn zoned_opt(dt: Option<&Bound<'_, PyAny>>) -> PyResult<Option<ZonedTime>> {
    dt.filter(|d| !d.is_none()).map(zoned).transpose()
}

/// The `now` given to `get_next_fire_time`: as [`zoned`], but a naive `datetime` (such as
/// `datetime.now()`) is local time, as 3.x reads it (`now.astimezone(zone)`).
pub fn zoned_now(dt: &Bound<'_, PyAny>) -> PyResult<ZonedTime> {
    match dt.cast::<PyDateTime>() {
        Ok(d) if d.get_tzinfo().is_none() => zoned(&dt.call_method0("astimezone")?),
        _ => zoned(dt),
    }
}

/// A `datetime` for a core time, carrying the given tzinfo object. A pytz zone (only found in
/// old pickled states) gets its offset through `fromutc`, as `datetime.fromtimestamp` would.
pub fn to_datetime<'py>(py: Python<'py>, t: &ZonedTime, tz: &Py<PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let tz = tz.bind(py);
    if let Ok((_, true)) = lookup(tz) {
        let utc = ZonedTime::from_instant(t.instant(), Zone::Utc);
        let naive = crate::py::time::zoned_to_datetime(py, &utc, Some(tz.cast::<PyTzInfo>()?))?;
        return tz.call_method1("fromutc", (naive,));
    }
    Ok(crate::py::time::zoned_to_datetime(py, t, Some(tz.cast::<PyTzInfo>()?))?.into_any())
}

/// A value assigned to a date attribute: `None` or an aware `datetime`.
pub fn assigned_date(value: &Bound<'_, PyAny>) -> PyResult<Option<(Py<PyAny>, ZonedTime)>> {
    if value.is_none() {
        return Ok(None);
    }
    Ok(Some((value.clone().unbind(), zoned(value)?)))
}

/// `convert_to_datetime(value, zone, name)`: the kept object and its core time.
pub fn convert_date(
    py: Python<'_>,
    value: Option<&Bound<'_, PyAny>>,
    zone: &TriggerZone,
    name: &str,
) -> PyResult<Option<(Py<PyAny>, ZonedTime)>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if aware_tzinfo(Some(value)).is_some() {
        return Ok(Some((value.clone().unbind(), zoned(value)?)));
    }
    let dt = util(py, "convert_to_datetime")?.call1((value, zone.tz.bind(py), name))?;
    let t = zoned(&dt)?;
    Ok(Some((dt.unbind(), t)))
}

/// A jitter argument: the object as given, and its value if it is a real number. A value
/// that is not a number keeps the trigger out of the native engine (Python then raises).
pub struct Jitter {
    pub obj: Option<Py<PyAny>>,
    pub value: Option<f64>,
    pub numeric: bool,
}

impl Jitter {
    pub fn new(obj: Option<&Bound<'_, PyAny>>) -> Self {
        match obj.filter(|o| !o.is_none()) {
            None => Jitter { obj: None, value: None, numeric: true },
            Some(o) => {
                let value = o.extract::<f64>().ok();
                Jitter { obj: Some(o.clone().unbind()), value, numeric: value.is_some() }
            }
        }
    }

    pub fn object(&self, py: Python<'_>) -> Py<PyAny> {
        self.obj.as_ref().map_or_else(|| py.None(), |o| o.clone_ref(py))
    }

    /// Raises the error Python's `random.uniform(0, jitter)` gives for a non-number.
    pub fn check(&self, py: Python<'_>) -> PyResult<()> {
        if let (false, Some(o)) = (self.numeric, &self.obj) {
            py.import("random")?.getattr("uniform")?.call1((0, o))?;
        }
        Ok(())
    }

    /// ", jitter=…" for reprs, when truthy.
    pub fn repr_part(&self, py: Python<'_>) -> PyResult<String> {
        match &self.obj {
            Some(o) if o.bind(py).is_truthy()? => Ok(format!(", jitter={}", o.bind(py).str()?)),
            _ => Ok(String::new()),
        }
    }
}

/// `datetime_repr(dt)`.
pub fn datetime_repr(dt: &Bound<'_, PyAny>) -> PyResult<String> {
    if dt.is_none() {
        return Ok("None".to_owned());
    }
    dt.call_method1("strftime", ("%Y-%m-%d %H:%M:%S %Z",))?.extract()
}

/// `str(timedelta)` for a number of microseconds.
pub fn timedelta_str(micros: i64) -> String {
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let (secs, us) = (rest / 1_000_000, rest % 1_000_000);
    let mut s = String::new();
    if days != 0 {
        s = format!("{days} day{}, ", if days.abs() != 1 { "s" } else { "" });
    }
    s += &format!("{}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60);
    if us != 0 {
        s += &format!(".{us:06}");
    }
    s
}

/// Microseconds of a `timedelta`.
pub fn delta_micros(delta: &Bound<'_, PyAny>) -> PyResult<i64> {
    let d = delta.cast::<PyDelta>()?;
    (d.get_days() as i64)
        .checked_mul(86_400_000_000)
        .and_then(|v| v.checked_add(d.get_seconds() as i64 * 1_000_000 + d.get_microseconds() as i64))
        .ok_or_else(|| pyo3::exceptions::PyOverflowError::new_err("interval too large"))
}

pub fn new_delta(py: Python<'_>, micros: i64) -> PyResult<Bound<'_, PyDelta>> {
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let days = i32::try_from(days).map_err(|_| pyo3::exceptions::PyOverflowError::new_err("days out of range"))?;
    PyDelta::new(py, days, (rest / 1_000_000) as i32, (rest % 1_000_000) as i32, true)
}

/// Current time in a zone (`datetime.now(zone)`).
pub fn now_in(zone: Zone) -> ZonedTime {
    let micros =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
    ZonedTime::from_micros(micros, zone)
}

/// Version check shared by every `__setstate__`.
pub fn check_version(state: &Bound<'_, PyAny>, class: &str, max: i64) -> PyResult<()> {
    let version: i64 = match state.get_item("version") {
        Ok(v) => v.extract()?,
        Err(_) => 1,
    };
    if version > max {
        let msg = if max == 1 && class == "DateTrigger" {
            format!("Got serialized data for version {version} of {class}, but only version 1 can be handled")
        } else {
            format!(
                "Got serialized data for version {version} of {class}, but only versions up to {max} can be handled"
            )
        };
        return Err(PyValueError::new_err(msg));
    }
    Ok(())
}

/// The 3.0.x form `(None, {slot: value})` of date, interval and cron states.
pub fn unwrap_legacy<'py>(state: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if state.is_instance_of::<pyo3::types::PyTuple>() { state.get_item(1) } else { Ok(state.clone()) }
}

/// Arguments no trigger constructor takes, reported the way Python reports them for
/// APScheduler's `__init__` (pyo3 would name `__new__`, which our users never wrote).
pub fn reject_extra(
    class: &str,
    declared: usize,
    extra_args: &Bound<'_, pyo3::types::PyTuple>,
    extra_kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    if !extra_args.is_empty() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{class}.__init__() takes from 1 to {} positional arguments but {} were given",
            declared + 1,
            declared + extra_args.len() + 1
        )));
    }
    if let Some(key) = extra_kwargs.and_then(|k| k.keys().iter().next()) {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{class}.__init__() got an unexpected keyword argument '{}'",
            key.str()?
        )));
    }
    Ok(())
}
