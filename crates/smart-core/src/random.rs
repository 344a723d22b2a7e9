use core::fmt;

/// A source of cryptographically secure random bytes.
///
/// Everything in the workspace that draws randomness (PKCE verifiers, `state`, assertion `jti`)
/// takes one, so tests can inject a deterministic source. Production code uses [`OsRandom`].
///
/// Closures of the shape `FnMut(&mut [u8]) -> Result<(), RandomError>` implement it:
///
/// ```
/// use smart_core::{RandomError, RandomSource};
///
/// let mut zeros = |buf: &mut [u8]| -> Result<(), RandomError> {
///     buf.fill(0);
///     Ok(())
/// };
/// let mut out = [1u8; 4];
/// zeros.fill(&mut out)?;
/// assert_eq!(out, [0; 4]);
/// # Ok::<(), RandomError>(())
/// ```
pub trait RandomSource {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    ///
    /// Returns an error when no randomness is available; callers must not fall back to a weaker
    /// source.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError>;
}

impl<F> RandomSource for F
where
    F: FnMut(&mut [u8]) -> Result<(), RandomError>,
{
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        self(dest)
    }
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(dest).map_err(|error| RandomError {
            code: error.raw_os_error(),
        })
    }
}

/// The random number generator failed; nothing secret was produced.
// `Display` and `Error` by hand: without the `url` feature this crate has no thiserror (so
// smart-pkce alone builds no proc macro).
#[derive(Debug, Clone)]
pub struct RandomError {
    code: Option<i32>,
}

impl RandomError {
    /// An error for a custom [`RandomSource`] that cannot produce bytes.
    #[must_use]
    pub fn unavailable() -> Self {
        Self { code: None }
    }
}

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(
                f,
                "the random number generator failed (OS error {code}); retry, and check that the OS entropy source is available"
            ),
            None => f.write_str(
                "the random number generator failed; retry, and check that the entropy source is available",
            ),
        }
    }
}

impl std::error::Error for RandomError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_fills_and_differs() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        OsRandom.fill(&mut a).unwrap();
        OsRandom.fill(&mut b).unwrap();
        assert_ne!(a, b, "two 256-bit draws must differ");
    }

    #[test]
    fn failing_source_reports_error() {
        let mut broken = |_: &mut [u8]| Err(RandomError::unavailable());
        let err = broken.fill(&mut [0u8; 4]).unwrap_err();
        assert!(err.to_string().contains("random number generator failed"));
    }
}
