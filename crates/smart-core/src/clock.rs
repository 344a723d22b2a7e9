use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time.
///
/// Assertion `iat`/`exp`, token `expires_at` and code lifetimes read the time through a clock,
/// so tests can fix it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock stopped at one instant, for tests.
///
/// ```
/// use smart_core::{Clock, FixedClock, unix_seconds};
///
/// let clock = FixedClock::from_unix_seconds(1_700_000_000);
/// assert_eq!(unix_seconds(clock.now()), 1_700_000_000);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(SystemTime);

impl FixedClock {
    /// A clock that always reads `time`.
    #[must_use]
    pub fn new(time: SystemTime) -> Self {
        Self(time)
    }

    /// A clock that always reads `seconds` after the Unix epoch.
    #[must_use]
    pub fn from_unix_seconds(seconds: u64) -> Self {
        Self(UNIX_EPOCH + std::time::Duration::from_secs(seconds))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// Whole seconds since the Unix epoch; times before the epoch count as 0.
#[must_use]
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_epoch_is_zero() {
        let before = UNIX_EPOCH - std::time::Duration::from_secs(5);
        assert_eq!(unix_seconds(before), 0);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(unix_seconds(SystemClock.now()) > 1_577_836_800);
    }
}
