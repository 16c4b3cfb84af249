//! PyO3 bindings: the only layer that names Python.
use pyo3::prelude::*;

pub mod job;
pub mod pyref;
pub mod time;
pub mod trigger;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<job::Job>()?;
    trigger::register(m)?;
    Ok(())
}
