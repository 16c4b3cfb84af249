//! The pure-Rust core: no pyo3 here. Clock, triggers, job model, stores, engine, executors.
pub mod time;
pub mod trigger;
