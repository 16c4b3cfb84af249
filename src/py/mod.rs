//! PyO3 bindings: the only layer that names Python.
use pyo3::prelude::*;

pub mod time;
pub mod trigger;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    trigger::register(m)?;
    Ok(())
}
