//! Job stores.
//!
//! | module | holds |
//! | --- | --- |
//! | `memory` | the in-memory index behind `MemoryJobStore` |
//! | `sql` | APScheduler's job table in SQLite / PostgreSQL / MySQL (row storage, no Python) |
//! | `redis` | APScheduler's Redis layout (hash + sorted set) behind the same `RowStore` trait |
//! | `cluster` | node leases and the run ledger that let several schedulers share a store |
//! | `ledger` | one node's lease thread and run fence on a shared store |
pub mod cluster;
pub mod ledger;
pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;
pub mod sql;
