//! The pure-Rust core: no pyo3 here. Clock, time model, triggers, stores and the engine pass.
pub mod clock;
pub mod engine;
pub mod executor;
pub mod job_id;
pub mod job_state;
pub mod pickle;
pub mod pickle_writer;
pub mod store;
pub mod time;
pub mod trigger;
