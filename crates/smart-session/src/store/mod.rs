//! Token stores: versioned values with compare-and-swap, and leases with fencing values, so
//! the instances of an app share one session and refresh it once.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use smart_core::Secret;

use crate::error::StoreError;

mod blocking;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use blocking::BlockingStore;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisStore;

/// The future a [`TokenStore`] method returns: boxed, `Send`, so the trait is object safe
/// (`Arc<dyn TokenStore>`) and works on any executor.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A stored value and its version. Versions are unique across the store and never reused,
/// so a value deleted and written again has a new one.
pub struct Versioned {
    /// The value: a serialised session, which holds tokens in clear.
    pub value: Secret<Vec<u8>>,
    /// Its version, for [`TokenStore::compare_and_swap`].
    pub version: u64,
}

impl fmt::Debug for Versioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { value: _, version } = self;
        f.debug_struct("Versioned")
            .field("value", &"[redacted]")
            .field("version", version)
            .finish()
    }
}

/// What a [`TokenStore::compare_and_swap`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CasOutcome {
    /// Written; the value's new version.
    Swapped {
        /// The new version.
        version: u64,
    },
    /// Not written: the stored version is not the expected one (`None`: nothing is stored).
    Conflict {
        /// The version stored now.
        current: Option<u64>,
    },
    /// Not written: a lease with a higher fencing value was granted since the writer's lease
    /// (the writer's lease expired and another instance took it).
    Fenced,
}

/// A lease on a key: held until `ttl` after it was granted or until released. Its fencing
/// value grows with every lease granted on the key, so a store can refuse the writes of a
/// holder whose lease expired and was granted to someone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The key the lease is on.
    pub key: String,
    /// The fencing value.
    pub fence: u64,
    /// How long it was granted for.
    pub ttl: Duration,
}

/// A store of versioned values, shared by the instances of an app (a [`MemoryStore`] within
/// one process, a `RedisStore` (feature `redis`) across processes and machines).
///
/// Keys are the application's: one per session (say, the user's id and the issuer). A store
/// keeps them apart from other data by its own namespace.
///
/// The values hold tokens in clear. Keep the store server-side, restrict who can read it, and
/// encrypt at rest where it is shared: wrap a store in one that seals each value (an AEAD
/// such as AES-GCM or ChaCha20-Poly1305 with a key from your secret manager, and the key name
/// as associated data) — values are opaque bytes, so such a wrapper needs nothing else.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The value of `key`, if any.
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Versioned>>;

    /// Writes `value` if the stored version is `expected` (`None`: only if nothing is
    /// stored). With a `fence`, the write is refused ([`CasOutcome::Fenced`]) when a lease
    /// with a higher fencing value has been granted on `key`. `ttl`: the value expires after
    /// it (`None`: never).
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<u64>,
        value: &'a [u8],
        fence: Option<u64>,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, CasOutcome>;

    /// Deletes `key` if its version is `expected` (`None`: whatever it is). `true` when a
    /// value was deleted.
    fn delete<'a>(&'a self, key: &'a str, expected: Option<u64>) -> StoreFuture<'a, bool>;

    /// Takes the lease on `key` for `ttl` if nobody holds it; `None` when someone does.
    fn acquire_lease<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, Option<Lease>>;

    /// Releases `lease` if it is still held by its fencing value; `false` when it had
    /// expired (and perhaps been granted again).
    fn release_lease<'a>(&'a self, lease: &'a Lease) -> StoreFuture<'a, bool>;
}

impl<T: TokenStore + ?Sized> TokenStore for Arc<T> {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Versioned>> {
        (**self).load(key)
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<u64>,
        value: &'a [u8],
        fence: Option<u64>,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, CasOutcome> {
        (**self).compare_and_swap(key, expected, value, fence, ttl)
    }

    fn delete<'a>(&'a self, key: &'a str, expected: Option<u64>) -> StoreFuture<'a, bool> {
        (**self).delete(key, expected)
    }

    fn acquire_lease<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, Option<Lease>> {
        (**self).acquire_lease(key, ttl)
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> StoreFuture<'a, bool> {
        (**self).release_lease(lease)
    }
}
