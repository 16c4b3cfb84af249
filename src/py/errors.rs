//! The Python exception classes of the public face, raised from Rust.
use crate::py::pyref::Cached;
use pyo3::prelude::*;

static JOB_LOOKUP_ERROR: Cached = Cached::new("apscheduler_rs.jobstores.base", "JobLookupError");
static CONFLICTING_ID_ERROR: Cached = Cached::new("apscheduler_rs.jobstores.base", "ConflictingIdError");
pub static MAX_INSTANCES_REACHED: Cached = Cached::new("apscheduler_rs.executors.base", "MaxInstancesReachedError");

fn instantiate(py: Python<'_>, class: &Cached, arg: Bound<'_, PyAny>) -> PyErr {
    match class.get(py).and_then(|c| c.call1((arg,))) {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

pub fn job_lookup_error(py: Python<'_>, job_id: &str) -> PyErr {
    instantiate(py, &JOB_LOOKUP_ERROR, pyo3::types::PyString::new(py, job_id).into_any())
}

pub fn conflicting_id_error(py: Python<'_>, job_id: &str) -> PyErr {
    instantiate(py, &CONFLICTING_ID_ERROR, pyo3::types::PyString::new(py, job_id).into_any())
}

pub fn max_instances_reached(py: Python<'_>, job: Bound<'_, PyAny>) -> PyErr {
    instantiate(py, &MAX_INSTANCES_REACHED, job)
}
