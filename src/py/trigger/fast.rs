//! `get_next_fire_time` of the interval and cron triggers as raw `METH_FASTCALL` methods.
//!
//! Walking a schedule from Python (`prev = trigger.get_next_fire_time(prev, prev)`) is
//! dominated by the call itself when the arithmetic is native: pyo3's argument extraction,
//! generic `datetime` conversions and the tzinfo lookup cost more than an interval step. The
//! common call, two positional arguments that are exact `datetime`s carrying the trigger's
//! own (non-pytz) tzinfo object, is served here straight from the `datetime` structs: the
//! wall fields are read from the object, the core computes on [`Wall`]s in the trigger's
//! zone, and the result is made with the `datetime` C API and that same tzinfo object.
//! Every other call (keywords, `None` as the previous time, other zones, subclasses, pytz,
//! jitter, `end_date` on cron, errors) goes to the pyo3 method this one replaced, the general
//! implementation, so results and errors are the same either way.

use super::cron::PyCronTrigger;
use super::interval::PyIntervalTrigger;
use crate::core::time::Wall;
use crate::core::trigger::cron::fields::days_in_month;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

const DOC: &std::ffi::CStr = c"get_next_fire_time($self, previous_fire_time, now)\n--\n\n\
    Return the next datetime to fire on, or None when the trigger will not fire again.";

static mut INTERVAL_DEF: ffi::PyMethodDef = ffi::PyMethodDef {
    ml_name: c"get_next_fire_time".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: interval_next },
    ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
    ml_doc: DOC.as_ptr(),
};

static mut CRON_DEF: ffi::PyMethodDef = ffi::PyMethodDef {
    ml_name: c"get_next_fire_time".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunctionFastWithKeywords: cron_next },
    ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
    ml_doc: DOC.as_ptr(),
};

/// The pyo3 methods the fast ones replace: the general path.
static INTERVAL_GENERAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static CRON_GENERAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Installs the fast `get_next_fire_time` methods on the two pyclasses (after `add_class`).
pub fn install(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // The datetime C API must be loaded before any fast call reads `PyDateTimeAPI()`.
    pyo3::types::PyDateTime::new(py, 2000, 1, 1, 0, 0, 0, 0, None)?;
    for (ty, def, general) in [
        (py.get_type::<PyIntervalTrigger>(), &raw mut INTERVAL_DEF, &INTERVAL_GENERAL),
        (py.get_type::<PyCronTrigger>(), &raw mut CRON_DEF, &CRON_GENERAL),
    ] {
        let original = ty.getattr("get_next_fire_time")?.unbind();
        general.get_or_init(py, || original);
        // SAFETY: `def` is a static that lives as long as the process; the type is ours.
        let descr = unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(ty.as_ptr().cast::<ffi::PyTypeObject>(), def))?
        };
        ty.setattr("get_next_fire_time", descr)?;
    }
    Ok(())
}

/// The wall fields and `fold` of `obj` when it is an exact `datetime` whose tzinfo is `tz`.
///
/// # Safety
/// `obj` must be a live object and the datetime C API loaded; the GIL must be held.
#[inline]
unsafe fn read_wall(obj: *mut ffi::PyObject, tz: *mut ffi::PyObject, api: &ffi::PyDateTime_CAPI) -> Option<Wall> {
    unsafe {
        if ffi::Py_TYPE(obj) != api.DateTimeType {
            return None;
        }
        let dt = obj.cast::<ffi::PyDateTime_DateTime>();
        if (*dt).hastzinfo == 0 || (*dt).tzinfo != tz {
            return None;
        }
        let d = &(*dt).data;
        let us = (i64::from(d[7]) << 16) | (i64::from(d[8]) << 8) | i64::from(d[9]);
        Some(Wall {
            v: [
                (i64::from(d[0]) << 8) | i64::from(d[1]),
                i64::from(d[2]),
                i64::from(d[3]),
                i64::from(d[4]),
                i64::from(d[5]),
                i64::from(d[6]),
            ],
            us,
            fold: (*dt).fold != 0,
        })
    }
}

/// A new `datetime` for `w` with tzinfo `tz`, or `None` (the Python object) for no result.
///
/// The object is filled in directly, as `datetime`'s own constructor does after validating
/// its arguments: the fields come from a valid [`Wall`] (checked against `datetime`'s year
/// range here) and `tz` is the tzinfo of the argument datetimes, so nothing is left to check.
///
/// # Safety
/// As for [`read_wall`]; `tz` must be a live tzinfo object.
#[inline]
unsafe fn make_datetime(
    w: Option<Wall>,
    tz: *mut ffi::PyObject,
    api: &ffi::PyDateTime_CAPI,
) -> Option<*mut ffi::PyObject> {
    unsafe {
        let Some(w) = w else {
            return Some(ffi::Py_NewRef(ffi::Py_None()));
        };
        let [y, mo, d, h, mi, s] = w.v;
        let valid = (1..=9999).contains(&y)
            && (1..=12).contains(&mo)
            && d >= 1
            && d <= days_in_month(y as i32, mo as u32)
            && (0..24).contains(&h)
            && (0..60).contains(&mi)
            && (0..60).contains(&s)
            && (0..1_000_000).contains(&w.us);
        if !valid {
            return None; // let the general path decide what this means
        }
        let ty = api.DateTimeType;
        let obj = ((*ty).tp_alloc?)(ty, 1).cast::<ffi::PyDateTime_DateTime>();
        if obj.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        (*obj).hashcode = -1;
        (*obj).hastzinfo = 1;
        let us = w.us as u32;
        (*obj).data = [
            (y >> 8) as u8,
            y as u8,
            mo as u8,
            d as u8,
            h as u8,
            mi as u8,
            s as u8,
            (us >> 16) as u8,
            (us >> 8) as u8,
            us as u8,
        ];
        (*obj).fold = u8::from(w.fold);
        (*obj).tzinfo = ffi::Py_NewRef(tz);
        Some(obj.cast::<ffi::PyObject>())
    }
}

/// The general path: the replaced pyo3 method, called as `method(self, *args, **kwargs)`.
///
/// # Safety
/// Arguments as CPython passes them to a `METH_FASTCALL | METH_KEYWORDS` method.
unsafe fn general(
    method: &PyOnceLock<Py<PyAny>>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    unsafe {
        let nkw = if kwnames.is_null() { 0 } else { ffi::PyTuple_GET_SIZE(kwnames) };
        let mut all = Vec::with_capacity((1 + nargs + nkw) as usize);
        all.push(slf);
        for i in 0..(nargs + nkw) {
            all.push(*args.offset(i));
        }
        let py = Python::assume_attached();
        let Some(method) = method.get(py) else {
            ffi::PyErr_SetString(ffi::PyExc_RuntimeError, c"trigger methods not initialised".as_ptr());
            return std::ptr::null_mut();
        };
        ffi::PyObject_Vectorcall(method.as_ptr(), all.as_ptr(), (1 + nargs) as usize, kwnames)
    }
}

/// Shared shape of the two fast methods: `compute(self, previous, now, tz)` gives the
/// result wall time (`Some(None)`: no more fire times) or `None` for the general path.
///
/// # Safety
/// Arguments as CPython passes them to a `METH_FASTCALL | METH_KEYWORDS` method.
#[inline]
unsafe fn fast_call<T: pyo3::PyClass>(
    method: &PyOnceLock<Py<PyAny>>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    compute: impl FnOnce(&T, Wall, Wall) -> Option<Option<Wall>>,
    tz_of: impl FnOnce(&T) -> Option<*mut ffi::PyObject>,
) -> *mut ffi::PyObject {
    unsafe {
        if kwnames.is_null() && nargs == 2 {
            let fast = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let py = Python::assume_attached();
                let api = ffi::PyDateTimeAPI().as_ref()?;
                // The method descriptor has already checked that `slf` is a `T`.
                let this = Bound::from_borrowed_ptr(py, slf);
                let this = this.cast_unchecked::<T>().try_borrow().ok()?;
                let tz = tz_of(&this)?;
                let previous = read_wall(*args, tz, api)?;
                let now = read_wall(*args.offset(1), tz, api)?;
                let result = compute(&this, previous, now)?;
                // Keep the tzinfo alive across the allocation (a collection may run code).
                let tz = ffi::Py_NewRef(tz);
                let obj = make_datetime(result, tz, api);
                ffi::Py_DECREF(tz);
                obj
            }));
            if let Ok(Some(obj)) = fast {
                return obj;
            }
        }
        general(method, slf, args, nargs, kwnames)
    }
}

/// The `METH_FASTCALL` entry point of one trigger class: [`fast_call`] with its pieces.
macro_rules! fast_entry {
    ($name:ident, $class:ty, $general:expr, $compute:expr) => {
        unsafe extern "C" fn $name(
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            unsafe { fast_call::<$class>(&$general, slf, args, nargs, kwnames, $compute, |t| t.fast_tz()) }
        }
    };
}

fast_entry!(interval_next, PyIntervalTrigger, INTERVAL_GENERAL, |t, previous, _now| t.core.next_in_zone(&previous));
fast_entry!(cron_next, PyCronTrigger, CRON_GENERAL, |t, previous, now| t.core.next_in_zone(&previous, &now));
