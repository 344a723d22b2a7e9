//! A token store in this process's memory.

use core::fmt;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use smart_core::Secret;

use super::{CasOutcome, Lease, StoreFuture, TokenStore, Versioned};

/// A [`TokenStore`] in memory: for one process (its sessions share it, and leases coordinate
/// sessions made separately for the same key), and for tests. Nothing survives the process.
///
/// Expiry (of values and leases) is by the monotonic clock.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    values: HashMap<String, Entry>,
    leases: HashMap<String, (u64, Instant)>,
    /// The highest fencing value granted on each key.
    fences: HashMap<String, u64>,
    /// The last version given out (versions are unique across the store).
    sequence: u64,
}

struct Entry {
    value: Secret<Vec<u8>>,
    version: u64,
    expires: Option<Instant>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryStore")
            .field("keys", &inner.values.len())
            .field("leases", &inner.leases.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn live(&mut self, key: &str) -> Option<&Entry> {
        let now = Instant::now();
        if self
            .values
            .get(key)
            .is_some_and(|entry| entry.expires.is_some_and(|at| at <= now))
        {
            self.values.remove(key);
        }
        self.values.get(key)
    }
}

fn ready<'a, T: Send + 'a>(value: T) -> StoreFuture<'a, T> {
    Box::pin(core::future::ready(Ok(value)))
}

impl TokenStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Versioned>> {
        let mut inner = self.lock();
        let value = inner.live(key).map(|entry| Versioned {
            value: entry.value.clone(),
            version: entry.version,
        });
        ready(value)
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a str,
        expected: Option<u64>,
        value: &'a [u8],
        fence: Option<u64>,
        ttl: Option<Duration>,
    ) -> StoreFuture<'a, CasOutcome> {
        let mut inner = self.lock();
        let current = inner.live(key).map(|entry| entry.version);
        if current != expected {
            return ready(CasOutcome::Conflict { current });
        }
        if let Some(fence) = fence
            && inner
                .fences
                .get(key)
                .is_some_and(|highest| *highest > fence)
        {
            return ready(CasOutcome::Fenced);
        }
        inner.sequence += 1;
        let version = inner.sequence;
        inner.values.insert(
            key.to_owned(),
            Entry {
                value: Secret::new(value.to_vec()),
                version,
                expires: ttl.and_then(|ttl| Instant::now().checked_add(ttl)),
            },
        );
        ready(CasOutcome::Swapped { version })
    }

    fn delete<'a>(&'a self, key: &'a str, expected: Option<u64>) -> StoreFuture<'a, bool> {
        let mut inner = self.lock();
        let current = inner.live(key).map(|entry| entry.version);
        let deleted = current.is_some() && (expected.is_none() || current == expected);
        if deleted {
            inner.values.remove(key);
        }
        ready(deleted)
    }

    fn acquire_lease<'a>(&'a self, key: &'a str, ttl: Duration) -> StoreFuture<'a, Option<Lease>> {
        let mut inner = self.lock();
        let now = Instant::now();
        if inner.leases.get(key).is_some_and(|(_, until)| *until > now) {
            return ready(None);
        }
        let fence = inner.fences.get(key).copied().unwrap_or(0) + 1;
        inner.fences.insert(key.to_owned(), fence);
        let until = now.checked_add(ttl).unwrap_or(now);
        inner.leases.insert(key.to_owned(), (fence, until));
        ready(Some(Lease {
            key: key.to_owned(),
            fence,
            ttl,
        }))
    }

    fn release_lease<'a>(&'a self, lease: &'a Lease) -> StoreFuture<'a, bool> {
        let mut inner = self.lock();
        let now = Instant::now();
        let held = inner
            .leases
            .get(&lease.key)
            .is_some_and(|(fence, until)| *fence == lease.fence && *until > now);
        if held {
            inner.leases.remove(&lease.key);
        }
        ready(held)
    }
}
