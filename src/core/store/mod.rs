//! Job stores.
//!
//! | module | holds |
//! | --- | --- |
//! | `memory` | the in-memory index behind `MemoryJobStore` |
//! | `sql` | APScheduler's job table in SQLite / PostgreSQL / MySQL (row storage, no Python) |
pub mod memory;
pub mod sql;
