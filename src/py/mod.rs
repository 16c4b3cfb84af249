//! PyO3 bindings: the only layer that names Python.
use pyo3::prelude::*;

pub mod add_job;
pub mod coroutine_runner;
pub mod engine;
pub mod errors;
pub mod events;
pub mod executor;
pub mod job;
pub mod process_pool;
pub mod pyref;
pub mod restore;
pub mod sql_store;
pub mod state_pickle;
pub mod store;
pub mod time;
pub mod trigger;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<job::Job>()?;
    m.add_class::<store::MemoryIndexStore>()?;
    m.add_class::<sql_store::RowJobStore>()?;
    m.add_class::<executor::ThreadPool>()?;
    m.add_class::<process_pool::ProcessPool>()?;
    m.add_class::<coroutine_runner::CoroutineRunner>()?;
    m.add_class::<coroutine_runner::CoroutineJob>()?;
    m.add_class::<engine::Engine>()?;
    m.add_function(wrap_pyfunction!(add_job::add_job_native, m)?)?;
    m.add_function(wrap_pyfunction!(restore::native_restorable, m)?)?;
    m.add_function(wrap_pyfunction!(state_pickle::native_pickle_state, m)?)?;
    m.add_function(wrap_pyfunction!(sql_store::sqlite_library, m)?)?;
    m.add_function(wrap_pyfunction!(executor::current_run, m)?)?;
    trigger::register(m)?;
    Ok(())
}
