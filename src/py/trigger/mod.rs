//! Placeholder until the native triggers land (issue #3): every trigger goes through Python.
use crate::core::trigger::Trigger;
use pyo3::prelude::*;
use std::sync::Arc;

pub fn native_trigger(_obj: &Bound<'_, PyAny>) -> Option<Arc<dyn Trigger>> {
    None
}

pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
