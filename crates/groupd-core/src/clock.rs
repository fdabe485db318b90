//! An injectable clock, so tests can pin "now" (clock-skew and 23 h rules, activity times).
use std::sync::atomic::{AtomicI64, Ordering};

/// Current time in microseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now, in µs since the epoch.
    fn now_us(&self) -> i64;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> i64 {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock standing at `us`.
    pub fn new(us: i64) -> Self {
        Self(AtomicI64::new(us))
    }
    /// Moves the clock to `us`.
    pub fn set(&self, us: i64) {
        self.0.store(us, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_us(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
