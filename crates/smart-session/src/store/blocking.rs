//! The blocking face of a [`TokenStore`], for the blocking [`Session`](crate::Session).

use core::fmt;
use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::task::Wake;
use std::thread::Thread;
use std::time::Duration;

use super::{CasOutcome, Lease, TokenStore, Versioned};
use crate::error::StoreError;

/// A [`TokenStore`] called from blocking code: each call runs the store's future to its end
/// on the calling thread.
///
/// A store whose futures do their I/O through a Tokio runtime (the Redis store) needs that
/// runtime running: [`BlockingStore::on_runtime`] keeps one (the Redis store's
/// `RedisStore::connect_blocking` makes it for you). Do not call it from async code: use
/// the store itself there.
pub struct BlockingStore {
    store: Arc<dyn TokenStore>,
    runtime: Option<tokio::runtime::Handle>,
    owned: Option<Arc<OwnedRuntime>>,
}

/// A runtime kept alive as long as the stores that use it.
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for BlockingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            store,
            runtime,
            owned: _,
        } = self;
        f.debug_struct("BlockingStore")
            .field("store", store)
            .field("runtime", &runtime.is_some())
            .finish()
    }
}

impl Clone for BlockingStore {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            runtime: self.runtime.clone(),
            owned: self.owned.clone(),
        }
    }
}

impl BlockingStore {
    /// A store whose futures need no runtime (such as the [`MemoryStore`](super::MemoryStore)).
    pub fn new(store: Arc<dyn TokenStore>) -> Self {
        Self {
            store,
            runtime: None,
            owned: None,
        }
    }

    /// A store whose futures run on `runtime` (a multi-threaded Tokio runtime keeps driving
    /// its connections between calls).
    pub fn on_runtime(store: Arc<dyn TokenStore>, runtime: tokio::runtime::Handle) -> Self {
        Self {
            store,
            runtime: Some(runtime),
            owned: None,
        }
    }

    /// A store on a runtime this value owns (shut down when the last clone is dropped).
    #[cfg(feature = "redis")]
    pub(crate) fn owning(store: Arc<dyn TokenStore>, runtime: tokio::runtime::Runtime) -> Self {
        let handle = runtime.handle().clone();
        Self {
            store,
            runtime: Some(handle),
            owned: Some(Arc::new(OwnedRuntime(Some(runtime)))),
        }
    }

    /// The store itself (for async code).
    pub fn inner(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    fn run<T>(&self, future: impl Future<Output = T>) -> T {
        match &self.runtime {
            Some(runtime) => runtime.block_on(future),
            None => block_on(future),
        }
    }

    /// As [`TokenStore::load`].
    ///
    /// # Errors
    ///
    /// The store's.
    pub fn load(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.run(self.store.load(key))
    }

    /// As [`TokenStore::compare_and_swap`].
    ///
    /// # Errors
    ///
    /// The store's.
    pub fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        fence: Option<u64>,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome, StoreError> {
        self.run(
            self.store
                .compare_and_swap(key, expected, value, fence, ttl),
        )
    }

    /// As [`TokenStore::delete`].
    ///
    /// # Errors
    ///
    /// The store's.
    pub fn delete(&self, key: &str, expected: Option<u64>) -> Result<bool, StoreError> {
        self.run(self.store.delete(key, expected))
    }

    /// As [`TokenStore::acquire_lease`].
    ///
    /// # Errors
    ///
    /// The store's.
    pub fn acquire_lease(&self, key: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        self.run(self.store.acquire_lease(key, ttl))
    }

    /// As [`TokenStore::release_lease`].
    ///
    /// # Errors
    ///
    /// The store's.
    pub fn release_lease(&self, lease: &Lease) -> Result<bool, StoreError> {
        self.run(self.store.release_lease(lease))
    }
}

/// Wakes the thread that waits in [`block_on`].
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to its end on this thread, parking between polls.
pub(crate) fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::park();
    }
}
