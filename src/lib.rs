//! apscheduler-rs: APScheduler 3.x with a Rust core.
//!
//! `core` is pure Rust (tested with `cargo test` and a fake clock); `py` binds it to Python as
//! the extension module `apscheduler_rs._core`; the package under `python/` is the public face.
pub mod core;
mod py;

use pyo3::prelude::*;

#[pymodule]
#[pyo3(name = "_core")]
fn apscheduler_rs_core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
