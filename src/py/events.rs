//! Event codes (the same integers as APScheduler) and building event objects lazily.
use crate::py::pyref::Cached;
use pyo3::prelude::*;

pub const EVENT_JOB_ADDED: u32 = 1 << 9;
pub const EVENT_JOB_REMOVED: u32 = 1 << 10;
pub const EVENT_JOB_EXECUTED: u32 = 1 << 12;
pub const EVENT_JOB_ERROR: u32 = 1 << 13;
pub const EVENT_JOB_MISSED: u32 = 1 << 14;
pub const EVENT_JOB_SUBMITTED: u32 = 1 << 15;
pub const EVENT_JOB_MAX_INSTANCES: u32 = 1 << 16;

pub static JOB_EVENT: Cached = Cached::new("apscheduler_rs.events", "JobEvent");
pub static JOB_SUBMISSION_EVENT: Cached = Cached::new("apscheduler_rs.events", "JobSubmissionEvent");
pub static JOB_EXECUTION_EVENT: Cached = Cached::new("apscheduler_rs.events", "JobExecutionEvent");

/// Python log levels.
pub const DEBUG: u8 = 10;
pub const INFO: u8 = 20;
pub const WARNING: u8 = 30;
pub const ERROR: u8 = 40;

pub fn enabled(logger: &Bound<'_, PyAny>, level: u8) -> bool {
    logger.call_method1("isEnabledFor", (level,)).and_then(|b| b.is_truthy()).unwrap_or(false)
}
