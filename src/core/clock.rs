//! Time sources and the scheduler's sleep/wake primitive.
//!
//! The engine never reads the system clock directly: it asks a [`Clock`], so tests drive it
//! with a [`FakeClock`] and never sleep.

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Microseconds since the Unix epoch.
    fn now_micros(&self) -> i64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_micros() as i64,
            Err(e) => -(e.duration().as_micros() as i64),
        }
    }
}

/// The wall clock in seconds since the Unix epoch, as the stores write times (leases, runs).
pub fn unix_seconds() -> f64 {
    SystemClock.now_micros() as f64 / 1e6
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct FakeClock(AtomicI64);

impl FakeClock {
    pub fn at(micros: i64) -> Self {
        FakeClock(AtomicI64::new(micros))
    }
    pub fn advance(&self, micros: i64) {
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
    pub fn set(&self, micros: i64) {
        self.0.store(micros, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A level-triggered wake-up flag: `notify` before `wait` is not lost.
#[derive(Debug, Default)]
pub struct Wakeup {
    flag: Mutex<bool>,
    cond: Condvar,
}

impl Wakeup {
    pub fn notify(&self) {
        *self.flag.lock() = true;
        self.cond.notify_all();
    }

    /// Waits until notified or until `timeout` passes (`None`: no limit). Clears the flag and
    /// returns whether it was set.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut flag = self.flag.lock();
        if !*flag {
            match timeout {
                Some(t) => {
                    self.cond.wait_for(&mut flag, t);
                }
                None => self.cond.wait(&mut flag),
            }
        }
        std::mem::replace(&mut *flag, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_before_wait_is_kept() {
        let w = Wakeup::default();
        w.notify();
        assert!(w.wait(Some(Duration::from_secs(5))));
        assert!(!w.wait(Some(Duration::ZERO)));
    }

    #[test]
    fn fake_clock_moves_only_when_told() {
        let c = FakeClock::at(10);
        assert_eq!(c.now_micros(), 10);
        c.advance(5);
        assert_eq!(c.now_micros(), 15);
        c.set(1);
        assert_eq!(c.now_micros(), 1);
    }
}
