//! Job stores.
//!
//! | module | holds |
//! | --- | --- |
//! | `memory` | the in-memory index behind `MemoryJobStore` |
//! | `sql` | APScheduler's job table in SQLite / PostgreSQL / MySQL (row storage, no Python) |
//! | `redis` | APScheduler's Redis layout (hash + sorted set) behind the same `RowStore` trait |
pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;
pub mod sql;
