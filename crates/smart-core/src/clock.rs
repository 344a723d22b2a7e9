use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    ///
    /// A time beyond what the platform's [`SystemTime`] can represent saturates at the latest
    /// whole second it can; this never panics.
    ///
    /// ```
    /// use smart_core::{Clock, FixedClock, unix_seconds};
    ///
    /// let far = FixedClock::from_unix_seconds(u64::MAX);
    /// assert!(unix_seconds(far.now()) > 1_000_000_000_000);
    /// ```
    #[must_use]
    pub fn from_unix_seconds(seconds: u64) -> Self {
        let at = |seconds| UNIX_EPOCH.checked_add(Duration::from_secs(seconds));
        if let Some(time) = at(seconds) {
            return Self(time);
        }
        // The latest representable second: `low` is always representable, `high` never.
        let (mut low, mut high) = (0_u64, seconds);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if at(middle).is_some() {
                low = middle;
            } else {
                high = middle;
            }
        }
        Self(at(low).unwrap_or(UNIX_EPOCH))
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
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(unix_seconds(before), 0);
    }

    #[test]
    fn far_future_fixed_clocks_saturate_instead_of_panicking() {
        for seconds in [u64::MAX, u64::MAX / 2, i64::MAX as u64 + 1] {
            let clock = FixedClock::from_unix_seconds(seconds);
            let read = unix_seconds(clock.now());
            assert!(read > 1_000_000_000_000, "{seconds}: {read}");
            assert!(read <= seconds);
            // Saturated: one second later is not representable.
            assert!(clock.now().checked_add(Duration::from_secs(1)).is_none() || read == seconds);
        }
        assert_eq!(unix_seconds(FixedClock::from_unix_seconds(5).now()), 5);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(unix_seconds(SystemClock.now()) > 1_577_836_800);
    }
}
