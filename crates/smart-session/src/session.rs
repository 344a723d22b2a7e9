//! The blocking user session: threads share it, and any number of them asking for the access
//! token at once cause one refresh.

use core::fmt;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use smart_token::scope::ScopeSet;
use smart_token::{AccessToken, LaunchContext, TokenResponse};

use crate::config::SessionConfig;
use crate::error::SessionError;
use crate::lifecycle::{FlightEnd, Force, Held, Step, Ticket, Waited};
use crate::record::{ExpiryDeviation, Record};
use crate::refresher::{Action, Input, Refresher};
use crate::shared::{AbandonGuard, Shared, no_store};
use crate::source::TokenSource;
use crate::store::{BlockingStore, CasOutcome};

/// A user session (SMART App Launch) for blocking code: it hands out a valid access token,
/// refreshing it ahead of expiry, once for all the threads that ask at the same time.
///
/// Share it between threads with an [`Arc`]. See the crate docs for the rules it keeps
/// (refresh-ahead with jitter, single-flight, rotation, narrowed scopes, stores).
pub struct Session<C> {
    source: C,
    store: Option<BlockingStore>,
    shared: Arc<Shared>,
}

impl<C> fmt::Debug for Session<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            source: _,
            store,
            shared,
        } = self;
        f.debug_struct("Session")
            .field("store", store)
            .field("expires_at", &shared.expires_at())
            .field("refresh_at", &shared.refresh_at())
            .finish_non_exhaustive()
    }
}

impl<C: TokenSource> Session<C> {
    /// A session of `token` (just obtained by a code exchange), kept in memory only.
    pub fn new(source: C, token: TokenResponse, config: SessionConfig) -> Self {
        let record = Record::new(
            token,
            config.clock.now(),
            config.default_lifetime,
            None,
            None,
        );
        let held = Held {
            record,
            version: None,
            saved: true,
        };
        Self {
            source,
            store: None,
            shared: Arc::new(Shared::new(config, String::new(), false, held)),
        }
    }

    /// A session of `token` saved in `store` under `key` (replacing what was there: a new
    /// authorization starts the session again), shared with the other instances that
    /// [`restore`](Self::restore) it.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails.
    pub fn create(
        source: C,
        token: TokenResponse,
        store: BlockingStore,
        key: impl Into<String>,
        config: SessionConfig,
    ) -> Result<Self, SessionError> {
        let key = key.into();
        let record = Record::new(
            token,
            config.clock.now(),
            config.default_lifetime,
            None,
            None,
        );
        let value = record.to_bytes()?;
        let version = loop {
            let current = store.load(&key)?.map(|versioned| versioned.version);
            match store.compare_and_swap(&key, current, &value, None, None)? {
                CasOutcome::Swapped { version } => break version,
                CasOutcome::Conflict { .. } | CasOutcome::Fenced => {}
            }
        };
        let held = Held {
            record,
            version: Some(version),
            saved: true,
        };
        Ok(Self {
            source,
            store: Some(store),
            shared: Arc::new(Shared::new(config, key, true, held)),
        })
    }

    /// The session saved in `store` under `key` (by this or another instance).
    ///
    /// # Errors
    ///
    /// [`SessionError::Removed`] when there is none, [`SessionError::Store`] when the store
    /// fails or holds an unreadable value.
    pub fn restore(
        source: C,
        store: BlockingStore,
        key: impl Into<String>,
        config: SessionConfig,
    ) -> Result<Self, SessionError> {
        let key = key.into();
        let versioned = store.load(&key)?.ok_or(SessionError::Removed)?;
        let record = Record::from_bytes(versioned.value.expose_secret())?;
        let held = Held {
            record,
            version: Some(versioned.version),
            saved: true,
        };
        Ok(Self {
            source,
            store: Some(store),
            shared: Arc::new(Shared::new(config, key, true, held)),
        })
    }

    /// A valid access token: the current one, or a new one when it is due (the buffer before
    /// expiry). Concurrent callers share one refresh.
    ///
    /// # Errors
    ///
    /// The refresh's error, for the caller that made it and every caller that waited for it:
    /// [`SessionError::ReauthorizationRequired`] / [`SessionError::Removed`] (the session is
    /// over: launch again), [`SessionError::NoRefreshToken`], [`SessionError::Refresh`],
    /// [`SessionError::Store`], [`SessionError::WaitTimedOut`], [`SessionError::LeaseBusy`],
    /// [`SessionError::LeaseLost`].
    pub fn access_token(&self) -> Result<AccessToken, SessionError> {
        self.get(Force::No, None)
    }

    /// A new access token after the server rejected `rejected` (HTTP 401): refreshes unless
    /// the session already holds another token, so many requests rejected together cause one
    /// refresh.
    ///
    /// # Errors
    ///
    /// As [`access_token`](Self::access_token).
    pub fn force_refresh(&self, rejected: &AccessToken) -> Result<AccessToken, SessionError> {
        self.get(Force::Rejected(rejected), None)
    }

    /// Refreshes now with a narrower `scope` (within the grant); later refreshes ask for the
    /// same scope, so the session stays narrowed.
    ///
    /// # Errors
    ///
    /// As [`access_token`](Self::access_token); the server's `invalid_scope` comes as
    /// [`SessionError::Refresh`].
    pub fn narrow_scope(&self, scope: ScopeSet) -> Result<AccessToken, SessionError> {
        self.get(Force::Always, Some(scope))
    }

    /// Ends the session: removes it from the store (when there is one); every later call fails
    /// with [`SessionError::Removed`].
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails (the session still ends here).
    pub fn end(&self) -> Result<(), SessionError> {
        self.shared.end(SessionError::Removed);
        if let Some(store) = &self.store {
            store.delete(&self.shared.key, None)?;
        }
        Ok(())
    }

    fn get(&self, force: Force<'_>, scope: Option<ScopeSet>) -> Result<AccessToken, SessionError> {
        let shared = &*self.shared;
        let deadline = Instant::now() + shared.config.wait_timeout;
        let mut guard = shared.lock();
        loop {
            match guard.decide(shared.now(), force) {
                Step::Ready(token) => return Ok(token),
                Step::Fail(error) => return Err(error),
                Step::Lead(mut ticket) => {
                    drop(guard);
                    ticket.scope = scope;
                    return self.lead(&ticket);
                }
                Step::Wait { finished } => {
                    let started = Instant::now();
                    loop {
                        match guard.waited(finished) {
                            Waited::Finished(result) => {
                                shared.events.waited(started.elapsed(), result.is_ok());
                                return result;
                            }
                            Waited::Retry => break,
                            Waited::Pending => {
                                let left = deadline.saturating_duration_since(Instant::now());
                                if left.is_zero() {
                                    return Err(SessionError::WaitTimedOut {
                                        waited: started.elapsed(),
                                    });
                                }
                                guard = shared.wait_timeout(guard, left);
                            }
                        }
                    }
                }
            }
        }
    }

    fn lead(&self, ticket: &Ticket) -> Result<AccessToken, SessionError> {
        let shared = &*self.shared;
        let mut guard = AbandonGuard {
            shared,
            id: ticket.id,
            armed: true,
        };
        let mut machine = Refresher::new(shared.settings(), ticket);
        let mut input = Input::Start;
        let key = shared.key.as_str();
        let end: FlightEnd = loop {
            let action = machine.next(input, shared.now(), &shared.events);
            let store = self.store.as_ref();
            input = match action {
                Action::AcquireLease(ttl) => Input::Lease(
                    store.map_or_else(|| Err(no_store()), |s| s.acquire_lease(key, ttl)),
                ),
                Action::Sleep(pause) => {
                    std::thread::sleep(pause);
                    Input::Slept
                }
                Action::Load => {
                    Input::Loaded(store.map_or_else(|| Err(no_store()), |s| s.load(key)))
                }
                Action::Refresh {
                    refresh_token,
                    scope,
                } => {
                    let requested_at: SystemTime = shared.now();
                    Input::Refreshed {
                        result: self.source.refresh(&refresh_token, scope.as_ref()),
                        requested_at,
                    }
                }
                Action::Save {
                    expected,
                    value,
                    fence,
                } => Input::Saved(store.map_or_else(
                    || Err(no_store()),
                    |s| s.compare_and_swap(key, expected, &value, fence, None),
                )),
                Action::Delete(version) => Input::Deleted(
                    store.map_or_else(|| Err(no_store()), |s| s.delete(key, Some(version))),
                ),
                Action::Release(lease) => Input::Released(
                    store.map_or_else(|| Err(no_store()), |s| s.release_lease(&lease)),
                ),
                Action::Done(end) => break end,
            };
        };
        guard.armed = false;
        shared.finish(ticket.id, end)
    }
}

impl<C> Session<C> {
    /// The latest token response (refresh token kept when the server rotated none). Its
    /// `Debug` shows no token.
    pub fn token(&self) -> Option<TokenResponse> {
        self.shared.token()
    }

    /// The launch context that came with the tokens (patient, encounter, ...).
    pub fn context(&self) -> LaunchContext {
        self.shared.context()
    }

    /// The granted scopes (narrowed, if narrowed).
    pub fn scope(&self) -> Option<ScopeSet> {
        self.shared.scope()
    }

    /// When the current access token expires.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.shared.expires_at()
    }

    /// When the current access token will be renewed (its expiry less the buffer and jitter).
    pub fn refresh_at(&self) -> Option<SystemTime> {
        self.shared.refresh_at()
    }

    /// How the expiry was decided when the server sent no `expires_in`.
    pub fn expiry_deviation(&self) -> Option<ExpiryDeviation> {
        self.shared.expiry_deviation()
    }

    /// The token source.
    pub fn source(&self) -> &C {
        &self.source
    }
}
