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

/// Randomness drawn from the OS in one call and handed out in order, so that an operation
/// needing several secrets (an authorization request's `state`, PKCE verifier and nonce)
/// makes one `getrandom` call instead of one each. Each byte is handed out once and zeroed
/// in the batch as it goes; what is left is zeroized on drop. A request for more than is
/// left is filled from the OS directly.
///
/// ```
/// use smart_core::{OsRandomBatch, RandomSource};
///
/// let mut batch = OsRandomBatch::<48>::draw()?;
/// let (mut state, mut verifier) = ([0u8; 16], [0u8; 32]);
/// batch.fill(&mut state)?;
/// batch.fill(&mut verifier)?;
/// assert_eq!(batch.remaining(), 0);
/// assert_ne!(state, verifier[..16]);
/// # Ok::<(), smart_core::RandomError>(())
/// ```
pub struct OsRandomBatch<const N: usize> {
    bytes: [u8; N],
    next: usize,
}

impl<const N: usize> OsRandomBatch<N> {
    /// `N` bytes from the OS, in one call.
    ///
    /// # Errors
    ///
    /// When the OS has no randomness to give.
    pub fn draw() -> Result<Self, RandomError> {
        let mut batch = Self {
            bytes: [0; N],
            next: 0,
        };
        OsRandom.fill(&mut batch.bytes)?;
        Ok(batch)
    }

    /// How many drawn bytes are left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        N - self.next
    }
}

impl<const N: usize> RandomSource for OsRandomBatch<N> {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        let end = self.next.saturating_add(dest.len());
        let Some(drawn) = self.bytes.get_mut(self.next..end) else {
            return OsRandom.fill(dest);
        };
        dest.copy_from_slice(drawn);
        zeroize::Zeroize::zeroize(drawn);
        self.next = end;
        Ok(())
    }
}

impl<const N: usize> Drop for OsRandomBatch<N> {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.bytes);
    }
}

impl<const N: usize> fmt::Debug for OsRandomBatch<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OsRandomBatch")
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
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
    fn a_batch_hands_each_byte_out_once_then_asks_the_os() {
        let mut batch = OsRandomBatch::<8>::draw().unwrap();
        let kept = batch.bytes;
        let mut first = [0u8; 5];
        batch.fill(&mut first).unwrap();
        assert_eq!(first, kept[..5]);
        assert_eq!(
            batch.bytes[..5],
            [0; 5],
            "handed-out bytes are zeroed in the batch"
        );
        let mut more = [0u8; 16];
        batch.fill(&mut more).unwrap();
        assert_eq!(
            batch.remaining(),
            3,
            "a request beyond what is left goes to the OS"
        );
        assert_eq!(format!("{batch:?}"), "OsRandomBatch { remaining: 3, .. }");
    }

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
