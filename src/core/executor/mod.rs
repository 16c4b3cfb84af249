//! Executors that need no Python to manage: worker processes fed over pipes.
pub mod process;
