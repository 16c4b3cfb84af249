//! PyO3 bindings: the only layer that names Python.
use pyo3::prelude::*;

pub mod time;

pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
