//! The async user session: tasks share it, and any number of them asking for the access
//! token at once cause one refresh. Its futures are `Send`.

use core::fmt;
use core::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use smart_token::scope::ScopeSet;
use smart_token::{AccessToken, LaunchContext, TokenResponse};

use crate::config::SessionConfig;
use crate::error::SessionError;
use crate::lifecycle::{FlightEnd, Force, Held, Step, Ticket, Waited};
use crate::record::{ExpiryDeviation, Record};
use crate::refresher::{Action, Input, Refresher};
use crate::shared::{AbandonGuard, Shared, no_store};
use crate::source::AsyncTokenSource;
use crate::store::{CasOutcome, TokenStore};

/// A user session for async code: the async twin of [`Session`](crate::Session), with the
/// same rules (they share one implementation of them).
///
/// It needs no particular executor. On a Tokio runtime, waiting for another caller's refresh
/// is bounded by [`SessionConfig::wait_timeout`]; elsewhere the wait ends with the refresh,
/// which the HTTP client's timeout bounds. If the task leading a refresh is cancelled, a
/// waiting task takes over.
pub struct AsyncSession<C> {
    source: C,
    store: Option<Arc<dyn TokenStore>>,
    shared: Arc<Shared>,
}

impl<C> fmt::Debug for AsyncSession<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            source: _,
            store,
            shared,
        } = self;
        f.debug_struct("AsyncSession")
            .field("store", store)
            .field("expires_at", &shared.expires_at())
            .field("refresh_at", &shared.refresh_at())
            .finish_non_exhaustive()
    }
}

/// Sleeps on Tokio's timer when there is one, else on a helper thread.
pub(crate) async fn sleep(pause: Duration) {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::time::sleep(pause).await;
    } else {
        let (done, wake) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            std::thread::sleep(pause);
            let _ = done.send(());
        });
        let _ = wake.await;
    }
}

impl<C: AsyncTokenSource> AsyncSession<C> {
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

    /// A session of `token` saved in `store` under `key`, replacing what was there.
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails.
    pub async fn create(
        source: C,
        token: TokenResponse,
        store: Arc<dyn TokenStore>,
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
            let current = store.load(&key).await?.map(|versioned| versioned.version);
            match store
                .compare_and_swap(&key, current, &value, None, None)
                .await?
            {
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

    /// The session saved in `store` under `key`.
    ///
    /// # Errors
    ///
    /// [`SessionError::Removed`] when there is none, [`SessionError::Store`] when the store
    /// fails or holds an unreadable value.
    pub async fn restore(
        source: C,
        store: Arc<dyn TokenStore>,
        key: impl Into<String>,
        config: SessionConfig,
    ) -> Result<Self, SessionError> {
        let key = key.into();
        let versioned = store.load(&key).await?.ok_or(SessionError::Removed)?;
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

    /// As [`Session::access_token`](crate::Session::access_token).
    ///
    /// # Errors
    ///
    /// As [`Session::access_token`](crate::Session::access_token).
    pub async fn access_token(&self) -> Result<AccessToken, SessionError> {
        self.get(Force::No, None).await
    }

    /// As [`Session::force_refresh`](crate::Session::force_refresh).
    ///
    /// # Errors
    ///
    /// As [`Session::access_token`](crate::Session::access_token).
    pub async fn force_refresh(&self, rejected: &AccessToken) -> Result<AccessToken, SessionError> {
        self.get(Force::Rejected(rejected), None).await
    }

    /// As [`Session::narrow_scope`](crate::Session::narrow_scope).
    ///
    /// # Errors
    ///
    /// As [`Session::access_token`](crate::Session::access_token).
    pub async fn narrow_scope(&self, scope: ScopeSet) -> Result<AccessToken, SessionError> {
        self.get(Force::Always, Some(scope)).await
    }

    /// As [`Session::end`](crate::Session::end).
    ///
    /// # Errors
    ///
    /// [`SessionError::Store`] when the store fails (the session still ends here).
    pub async fn end(&self) -> Result<(), SessionError> {
        self.shared.end(SessionError::Removed);
        if let Some(store) = &self.store {
            store.delete(&self.shared.key, None).await?;
        }
        Ok(())
    }

    async fn get(
        &self,
        force: Force<'_>,
        scope: Option<ScopeSet>,
    ) -> Result<AccessToken, SessionError> {
        let shared = &*self.shared;
        let deadline = Instant::now() + shared.config.wait_timeout;
        let timed = tokio::runtime::Handle::try_current().is_ok();
        loop {
            let step = shared.lock().decide(shared.now(), force);
            let finished = match step {
                Step::Ready(token) => return Ok(token),
                Step::Fail(error) => return Err(error),
                Step::Lead(mut ticket) => {
                    ticket.scope = scope;
                    return self.lead(&ticket).await;
                }
                Step::Wait { finished } => finished,
            };
            let started = Instant::now();
            loop {
                let mut notified = pin!(shared.notify.notified());
                notified.as_mut().enable();
                match shared.lock().waited(finished) {
                    Waited::Finished(result) => {
                        shared.events.waited(started.elapsed(), result.is_ok());
                        return result;
                    }
                    Waited::Retry => break,
                    Waited::Pending => {}
                }
                if timed {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                        return Err(SessionError::WaitTimedOut {
                            waited: started.elapsed(),
                        });
                    }
                } else {
                    notified.await;
                }
            }
        }
    }

    async fn lead(&self, ticket: &Ticket) -> Result<AccessToken, SessionError> {
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
            let store = self.store.as_deref();
            input = match action {
                Action::AcquireLease(ttl) => Input::Lease(match store {
                    Some(s) => s.acquire_lease(key, ttl).await,
                    None => Err(no_store()),
                }),
                Action::Sleep(pause) => {
                    sleep(pause).await;
                    Input::Slept
                }
                Action::Load => Input::Loaded(match store {
                    Some(s) => s.load(key).await,
                    None => Err(no_store()),
                }),
                Action::Refresh {
                    refresh_token,
                    scope,
                } => {
                    let requested_at: SystemTime = shared.now();
                    Input::Refreshed {
                        result: self.source.refresh(&refresh_token, scope.as_ref()).await,
                        requested_at,
                    }
                }
                Action::Save {
                    expected,
                    value,
                    fence,
                } => Input::Saved(match store {
                    Some(s) => s.compare_and_swap(key, expected, &value, fence, None).await,
                    None => Err(no_store()),
                }),
                Action::Delete(version) => Input::Deleted(match store {
                    Some(s) => s.delete(key, Some(version)).await,
                    None => Err(no_store()),
                }),
                Action::Release(lease) => Input::Released(match store {
                    Some(s) => s.release_lease(&lease).await,
                    None => Err(no_store()),
                }),
                Action::Done(end) => break end,
            };
        };
        guard.armed = false;
        shared.finish(ticket.id, end)
    }
}

impl<C> AsyncSession<C> {
    /// As [`Session::token`](crate::Session::token).
    pub fn token(&self) -> Option<TokenResponse> {
        self.shared.token()
    }

    /// As [`Session::context`](crate::Session::context).
    pub fn context(&self) -> LaunchContext {
        self.shared.context()
    }

    /// As [`Session::scope`](crate::Session::scope).
    pub fn scope(&self) -> Option<ScopeSet> {
        self.shared.scope()
    }

    /// As [`Session::expires_at`](crate::Session::expires_at).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.shared.expires_at()
    }

    /// As [`Session::refresh_at`](crate::Session::refresh_at).
    pub fn refresh_at(&self) -> Option<SystemTime> {
        self.shared.refresh_at()
    }

    /// As [`Session::expiry_deviation`](crate::Session::expiry_deviation).
    pub fn expiry_deviation(&self) -> Option<ExpiryDeviation> {
        self.shared.expiry_deviation()
    }

    /// The token source.
    pub fn source(&self) -> &C {
        &self.source
    }
}
