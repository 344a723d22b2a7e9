//! How sessions and token caches refresh: buffer, jitter, fallbacks, waits, leases, clock.

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use smart_core::{Clock, SystemClock};

/// The settings of a [`Session`](crate::Session), an [`AsyncSession`](crate::AsyncSession)
/// or a Backend Services token cache.
///
/// ```
/// use std::time::Duration;
/// use smart_session::SessionConfig;
///
/// let config = SessionConfig::new()
///     .refresh_buffer(Duration::from_secs(120)) // refresh 2 minutes before expiry...
///     .max_jitter(Duration::from_secs(30)); // ...minus up to 30 s, drawn per token
/// assert_eq!(config.get_refresh_buffer(), Duration::from_secs(120));
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) buffer: Duration,
    pub(crate) max_jitter: Option<Duration>,
    pub(crate) default_lifetime: Duration,
    pub(crate) wait_timeout: Duration,
    pub(crate) lease_ttl: Duration,
    pub(crate) lease_wait: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) seed: Option<u64>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            buffer: Duration::from_secs(60),
            max_jitter: None,
            default_lifetime: Duration::from_secs(300),
            wait_timeout: Duration::from_secs(60),
            lease_ttl: Duration::from_secs(45),
            lease_wait: Duration::from_secs(60),
            clock: Arc::new(SystemClock),
            seed: None,
        }
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            buffer,
            max_jitter: _,
            default_lifetime,
            wait_timeout,
            lease_ttl,
            lease_wait,
            clock: _,
            seed,
        } = self;
        f.debug_struct("SessionConfig")
            .field("refresh_buffer", buffer)
            .field("max_jitter", &self.get_max_jitter())
            .field("default_lifetime", default_lifetime)
            .field("wait_timeout", wait_timeout)
            .field("lease_ttl", lease_ttl)
            .field("lease_wait", lease_wait)
            .field("jitter_seed", &seed.is_some())
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// The defaults: a 60 s buffer with up to 30 s of jitter, a 300 s lifetime for tokens
    /// that state none, 60 s waits, a 45 s lease, the system clock.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How long before its expiry a token is renewed (default 60 s). Never more than half
    /// a token's lifetime: a token that lives 60 s is renewed after 30 s at the latest.
    #[must_use]
    pub fn refresh_buffer(mut self, buffer: Duration) -> Self {
        self.buffer = buffer;
        self
    }

    /// The most the buffer is shortened by, drawn at random for each token so that sessions
    /// that expire together do not refresh together (default: half the buffer; capped at
    /// the buffer).
    #[must_use]
    pub fn max_jitter(mut self, jitter: Duration) -> Self {
        self.max_jitter = Some(jitter);
        self
    }

    /// The lifetime assumed for a token whose response has no `expires_in` and whose access
    /// token is not a JWT with an `exp` (default 300 s). Either fallback is reported as a
    /// [`ExpiryDeviation`](crate::ExpiryDeviation).
    #[must_use]
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = lifetime;
        self
    }

    /// How long a caller waits for another caller's refresh (default 60 s). Make it longer
    /// than the HTTP client's timeout (smart-client's default is 30 s).
    #[must_use]
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// How long a refresh lease in a shared store lasts (default 45 s). It must be longer
    /// than a refresh takes (the HTTP timeout): a lease that expires mid-refresh lets another
    /// instance refresh with the same refresh token.
    #[must_use]
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// How long a caller waits for another instance's lease before giving up with
    /// [`SessionError::LeaseBusy`](crate::SessionError::LeaseBusy) (default 60 s; make it longer
    /// than the lease TTL so a crashed holder's lease expires first).
    #[must_use]
    pub fn lease_wait(mut self, wait: Duration) -> Self {
        self.lease_wait = wait;
        self
    }

    /// The clock that decides when tokens are due (tests share one with the server).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Draws the jitter from a sequence fixed by `seed` instead of the OS's randomness, so a
    /// test's refreshes happen at the same times on every run. Jitter needs no secrecy.
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The refresh buffer.
    #[must_use]
    pub fn get_refresh_buffer(&self) -> Duration {
        self.buffer
    }

    /// The largest jitter.
    #[must_use]
    pub fn get_max_jitter(&self) -> Duration {
        self.max_jitter.unwrap_or(self.buffer / 2).min(self.buffer)
    }

    /// The lifetime assumed for tokens without `expires_in` or JWT `exp`.
    #[must_use]
    pub fn get_default_lifetime(&self) -> Duration {
        self.default_lifetime
    }
}

/// The jitter source: splitmix64, seeded by the configuration or the OS.
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        let state = seed.unwrap_or_else(|| {
            let mut bytes = [0u8; 8];
            // Jitter only spreads refreshes out: without OS randomness, the time will do.
            if getrandom::fill(&mut bytes).is_err() {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.subsec_nanos());
                bytes = u64::from(nanos).to_le_bytes();
            }
            u64::from_le_bytes(bytes)
        });
        Self { state }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A duration drawn evenly from `[0, max]`, to the microsecond.
    pub(crate) fn draw(&mut self, max: Duration) -> Duration {
        let micros = u64::try_from(max.as_micros()).unwrap_or(u64::MAX);
        if micros == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(self.next_u64() % (micros + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_bound_and_a_seed_repeats_it() {
        let max = Duration::from_secs(30);
        let mut a = Jitter::new(Some(7));
        let mut b = Jitter::new(Some(7));
        let draws: Vec<_> = (0..1000).map(|_| a.draw(max)).collect();
        assert!(draws.iter().all(|d| *d <= max));
        assert!(draws.iter().any(|d| *d > max / 2) && draws.iter().any(|d| *d < max / 2));
        assert_eq!(draws, (0..1000).map(|_| b.draw(max)).collect::<Vec<_>>());
        assert_eq!(Jitter::new(None).draw(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn the_jitter_defaults_to_half_the_buffer_and_never_exceeds_it() {
        let config = SessionConfig::new();
        assert_eq!(config.get_max_jitter(), Duration::from_secs(30));
        let config = SessionConfig::new()
            .refresh_buffer(Duration::from_secs(10))
            .max_jitter(Duration::from_secs(99));
        assert_eq!(config.get_max_jitter(), Duration::from_secs(10));
    }
}
