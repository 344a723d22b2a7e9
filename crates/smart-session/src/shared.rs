//! What the blocking and async faces of a session share: the decision core behind one lock,
//! and the two ways of waking waiters (a condition variable for threads, a notifier for
//! tasks). A flight's end wakes both.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use smart_token::AccessToken;
use smart_token::scope::ScopeSet;
use smart_token::{LaunchContext, TokenResponse};

use crate::config::SessionConfig;
use crate::error::{SessionError, StoreError};
use crate::events::Events;
use crate::lifecycle::{FlightEnd, Held, Lifecycle};
use crate::record::ExpiryDeviation;
use crate::refresher::Settings;

pub(crate) struct Shared {
    pub(crate) config: SessionConfig,
    pub(crate) key: String,
    pub(crate) events: Events,
    pub(crate) with_store: bool,
    lifecycle: Mutex<Lifecycle>,
    condvar: Condvar,
    pub(crate) notify: tokio::sync::Notify,
}

impl Shared {
    pub(crate) fn new(config: SessionConfig, key: String, with_store: bool, held: Held) -> Self {
        let lifecycle = Lifecycle::new(&config, Some(held));
        Self {
            events: Events::for_key("session", &key),
            config,
            key,
            with_store,
            lifecycle: Mutex::new(lifecycle),
            condvar: Condvar::new(),
            notify: tokio::sync::Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Lifecycle> {
        self.lifecycle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.config.clock.now()
    }

    pub(crate) fn settings(&self) -> Settings {
        Settings {
            with_store: self.with_store,
            lease_ttl: self.config.lease_ttl,
            lease_wait: self.config.lease_wait,
            buffer: self.config.buffer,
            default_lifetime: self.config.default_lifetime,
        }
    }

    /// Blocks on the condition variable for at most `timeout`.
    pub(crate) fn wait_timeout<'a>(
        &'a self,
        guard: MutexGuard<'a, Lifecycle>,
        timeout: Duration,
    ) -> MutexGuard<'a, Lifecycle> {
        self.condvar
            .wait_timeout(guard, timeout)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    /// Ends flight `id` and wakes every waiter, threads and tasks.
    pub(crate) fn finish(&self, id: u64, end: FlightEnd) -> Result<AccessToken, SessionError> {
        let result = self.lock().finish(id, end);
        self.wake();
        result
    }

    pub(crate) fn abandon(&self, id: u64) {
        self.lock().abandon(id);
        self.wake();
    }

    fn wake(&self) {
        self.condvar.notify_all();
        self.notify.notify_waiters();
    }

    pub(crate) fn end(&self, error: SessionError) {
        self.lock().end(error);
        self.wake();
    }

    fn with_held<T>(&self, read: impl FnOnce(&Held) -> T) -> Option<T> {
        self.lock().held().map(read)
    }

    pub(crate) fn token(&self) -> Option<TokenResponse> {
        self.with_held(|held| held.record.token.clone())
    }

    pub(crate) fn context(&self) -> LaunchContext {
        self.with_held(|held| held.record.token.context().clone())
            .unwrap_or_default()
    }

    pub(crate) fn scope(&self) -> Option<ScopeSet> {
        self.with_held(|held| held.record.token.scope().cloned())
            .flatten()
    }

    pub(crate) fn expires_at(&self) -> Option<SystemTime> {
        self.with_held(|held| held.record.expires_at)
    }

    pub(crate) fn refresh_at(&self) -> Option<SystemTime> {
        self.lock().refresh_at()
    }

    pub(crate) fn expiry_deviation(&self) -> Option<ExpiryDeviation> {
        self.with_held(|held| held.record.deviation).flatten()
    }
}

/// Ends the flight as abandoned if its leader never finished it (a panic in the blocking
/// source, a cancelled task in the async one), so a waiter takes over.
pub(crate) struct AbandonGuard<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) id: u64,
    pub(crate) armed: bool,
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.abandon(self.id);
        }
    }
}

/// The error for a store action without a store (cannot happen: the refresh asks for store
/// actions only when it has one).
pub(crate) fn no_store() -> StoreError {
    StoreError::unavailable(
        "none",
        std::io::Error::other("no token store is configured"),
    )
}
