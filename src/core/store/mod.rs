//! Job stores. The memory index lives here; persistent stores arrive with issue #4.
pub mod memory;
