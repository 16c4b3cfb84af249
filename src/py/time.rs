//! Conversions between Python's `datetime`/`tzinfo` and the core's [`ZonedTime`]/[`Zone`].
//!
//! pyo3's chrono conversions reject pytz zones and the non-existent wall times APScheduler
//! produces in DST gaps, so we read the fields ourselves and keep Python's `fold` model.

use crate::core::time::{Zone, ZonedTime};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDateAccess, PyDateTime, PyDelta, PyDeltaAccess, PyTimeAccess, PyTzInfo, PyTzInfoAccess};

/// The core zone of a `tzinfo`: `timezone.utc`, fixed `timezone(...)`, `ZoneInfo`, pytz zones.
/// Anything else is reported as unsupported so callers can fall back to Python arithmetic.
pub fn zone_from_tzinfo(tz: &Bound<'_, PyAny>) -> PyResult<Zone> {
    let py = tz.py();
    if tz.is(&*PyTzInfo::utc(py)?) {
        return Ok(Zone::Utc);
    }
    for attr in ["key", "zone"] {
        // ZoneInfo has `.key`, pytz zones have `.zone`.
        if let Ok(name) = tz.getattr(attr)
            && let Ok(name) = name.extract::<String>()
        {
            return name
                .parse::<Tz>()
                .map(Zone::Iana)
                .map_err(|_| PyValueError::new_err(format!("unknown time zone {name:?}")));
        }
    }
    if is_dateutil(tz, "tzlocal")? {
        // The system's zone, which dateutil's tzlocal follows through the C library.
        let local = py.import("tzlocal")?.getattr("get_localzone")?.call0()?;
        if !is_dateutil(&local, "tzlocal")? {
            return zone_from_tzinfo(&local);
        }
    }
    if tz.is_instance(timezone_type(py)?.bind(py))? || is_dateutil(tz, "tzutc")? || is_dateutil(tz, "tzoffset")? {
        let offset = tz.call_method1("utcoffset", (py.None(),))?;
        let delta = offset.cast::<PyDelta>()?;
        let secs = delta.get_days() * 86_400 + delta.get_seconds();
        let name: Option<String> = tz.call_method1("tzname", (py.None(),))?.extract()?;
        return Ok(fixed_zone(secs, name));
    }
    Err(PyTypeError::new_err(format!("unsupported tzinfo type {}", tz.get_type().name()?)))
}

/// Whether `tz` is dateutil's `class_name` (`tzutc`, `tzoffset`, `tzlocal`), which APScheduler
/// accepts too.
fn is_dateutil(tz: &Bound<'_, PyAny>, class_name: &str) -> PyResult<bool> {
    let class = tz.get_type();
    Ok(class.module()?.to_str()? == "dateutil.tz.tz" && class.name()?.to_str()? == class_name)
}

/// A fixed offset and the name `%Z` shows for it (none: an empty `%Z`, as Python prints it).
fn fixed_zone(secs: i32, name: Option<String>) -> Zone {
    match name {
        Some(name) if name == crate::core::time::format_utc_offset(secs) => Zone::Fixed(secs),
        name => Zone::NamedFixed(secs, crate::core::time::ZoneName::intern(name.as_deref().unwrap_or_default())),
    }
}

fn timezone_type(py: Python<'_>) -> PyResult<&Py<PyAny>> {
    static TIMEZONE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    TIMEZONE.get_or_try_init(py, || Ok(py.import("datetime")?.getattr("timezone")?.unbind()))
}

/// The `tzinfo` APScheduler would use for a core zone: `timezone.utc`, `timezone(timedelta)`
/// or the (cached) `ZoneInfo` instance.
pub fn zone_to_tzinfo<'py>(py: Python<'py>, zone: &Zone) -> PyResult<Bound<'py, PyTzInfo>> {
    match zone {
        Zone::Utc => Ok(PyTzInfo::utc(py)?.to_owned()),
        Zone::Fixed(secs) => {
            let delta = PyDelta::new(py, 0, *secs, 0, true)?;
            PyTzInfo::fixed_offset(py, delta)
        }
        Zone::Iana(tz) => PyTzInfo::timezone(py, tz.name()),
        Zone::NamedFixed(secs, name) => {
            let delta = PyDelta::new(py, 0, *secs, 0, true)?;
            let tz = timezone_type(py)?.bind(py).call1((delta, &*name.as_str()))?;
            Ok(tz.cast_into::<PyTzInfo>()?)
        }
    }
}

/// An aware `datetime` as a core [`ZonedTime`]. Naive values are a `ValueError`.
pub fn zoned_from_datetime(dt: &Bound<'_, PyAny>) -> PyResult<ZonedTime> {
    let dt = dt.cast::<PyDateTime>().map_err(|_| PyTypeError::new_err("expected a datetime.datetime"))?;
    let Some(tzinfo) = dt.get_tzinfo() else {
        return Err(PyValueError::new_err("expected an aware datetime (with tzinfo)"));
    };
    let local = naive_fields(dt)?;
    match zone_from_tzinfo(tzinfo.as_any()) {
        Ok(zone @ Zone::Iana(_)) if tzinfo.hasattr("localize")? => {
            // pytz: the offset lives in the tzinfo instance, not in `fold`; go through the instant.
            let offset = utcoffset_seconds(dt)?;
            let instant = (local - chrono::Duration::seconds(offset as i64)).and_utc();
            Ok(ZonedTime::from_instant(instant, zone))
        }
        Ok(zone) => Ok(ZonedTime::new(local, dt.get_fold(), zone)),
        Err(_) => {
            // An exotic tzinfo: keep the instant exactly, as a fixed offset with its name.
            let offset = utcoffset_seconds(dt)?;
            let name: Option<String> = dt.call_method0("tzname")?.extract()?;
            Ok(ZonedTime::new(local, dt.get_fold(), fixed_zone(offset, name)))
        }
    }
}

fn utcoffset_seconds(dt: &Bound<'_, PyDateTime>) -> PyResult<i32> {
    let offset = dt.call_method0("utcoffset")?;
    let delta = offset.cast::<PyDelta>()?;
    Ok(delta.get_days() * 86_400 + delta.get_seconds())
}

/// The wall-clock fields of a `datetime`, ignoring its tzinfo.
pub fn naive_fields(dt: &Bound<'_, PyDateTime>) -> PyResult<NaiveDateTime> {
    NaiveDate::from_ymd_opt(dt.get_year(), dt.get_month() as u32, dt.get_day() as u32)
        .and_then(|d| {
            d.and_hms_micro_opt(
                dt.get_hour() as u32,
                dt.get_minute() as u32,
                dt.get_second() as u32,
                dt.get_microsecond(),
            )
        })
        .ok_or_else(|| PyValueError::new_err("datetime out of range"))
}

/// A core [`ZonedTime`] as an aware `datetime` in `tzinfo` (or the zone's canonical tzinfo).
pub fn zoned_to_datetime<'py>(
    py: Python<'py>,
    t: &ZonedTime,
    tzinfo: Option<&Bound<'py, PyTzInfo>>,
) -> PyResult<Bound<'py, PyDateTime>> {
    let owned;
    let tz = match tzinfo {
        Some(tz) => tz,
        None => {
            owned = zone_to_tzinfo(py, &t.zone)?;
            &owned
        }
    };
    let l = &t.local;
    PyDateTime::new_with_fold(
        py,
        l.year(),
        l.month() as u8,
        l.day() as u8,
        l.hour() as u8,
        l.minute() as u8,
        l.second() as u8,
        l.nanosecond() / 1_000,
        Some(tz),
        t.fold,
    )
}
