//! SMART Backend Services token cache: `client_credentials` tokens kept per scope set until
//! the buffer before their expiry, one request per expiry however many callers ask, and a
//! fresh assertion for each real request (the source signs one per call).

use core::fmt;
use core::pin::pin;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use smart_client::ClientError;
use smart_token::scope::ScopeSet;
use smart_token::{AccessToken, TokenResponse};

use crate::config::SessionConfig;
use crate::error::SessionError;
use crate::events::Events;
use crate::lifecycle::{FlightEnd, Force, Held, Lifecycle, Step, Waited};
use crate::record::Record;
use crate::source::{AsyncTokenSource, TokenSource};

/// The cache key of a scope set: its scopes sorted, so the same set in any order shares one
/// token. `None` (the client's default scopes) is the empty key.
fn key_of(scopes: Option<&ScopeSet>) -> String {
    let mut names: Vec<String> = scopes
        .map(|set| set.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

struct Entry {
    lifecycle: Lifecycle,
    events: Events,
}

struct Cache {
    config: SessionConfig,
    entries: Mutex<HashMap<String, Entry>>,
    condvar: Condvar,
    notify: tokio::sync::Notify,
}

impl Cache {
    fn new(config: SessionConfig) -> Self {
        Self {
            config,
            entries: Mutex::new(HashMap::new()),
            condvar: Condvar::new(),
            notify: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn decide(entries: &mut HashMap<String, Entry>, config: &SessionConfig, key: &str) -> Step {
        let entry = entries.entry(key.to_owned()).or_insert_with(|| Entry {
            lifecycle: Lifecycle::new(config, None),
            events: Events::for_key("backend scopes", key),
        });
        entry.lifecycle.decide(config.clock.now(), Force::No)
    }

    fn waited(entries: &HashMap<String, Entry>, key: &str, finished: u64) -> Waited {
        entries
            .get(key)
            .map_or(Waited::Retry, |entry| entry.lifecycle.waited(finished))
    }

    fn events(&self, key: &str) -> Events {
        self.lock().get(key).map_or_else(
            || Events::for_key("backend scopes", key),
            |e| e.events.clone(),
        )
    }

    /// Ends the flight `id` of `key` with the answer, and wakes every waiter.
    fn finish(
        &self,
        key: &str,
        id: u64,
        answer: Result<TokenResponse, ClientError>,
        requested_at: std::time::SystemTime,
        started: Instant,
        events: &Events,
    ) -> Result<AccessToken, SessionError> {
        let end = match answer {
            Ok(token) => {
                let record = Record::new(
                    token,
                    requested_at,
                    self.config.default_lifetime,
                    None,
                    None,
                );
                events.refresh_done(started.elapsed(), &record, self.config.clock.now());
                FlightEnd {
                    result: Ok(()),
                    held: Some(Held {
                        record,
                        version: None,
                        saved: true,
                    }),
                }
            }
            Err(error) => {
                events.token_failed(&error);
                FlightEnd {
                    result: Err(SessionError::ClientCredentials {
                        source: error.into(),
                    }),
                    held: None,
                }
            }
        };
        let result = match self.lock().get_mut(key) {
            Some(entry) => entry.lifecycle.finish(id, end),
            None => Err(SessionError::Removed),
        };
        self.condvar.notify_all();
        self.notify.notify_waiters();
        result
    }

    fn abandon(&self, key: &str, id: u64) {
        if let Some(entry) = self.lock().get_mut(key) {
            entry.lifecycle.abandon(id);
        }
        self.condvar.notify_all();
        self.notify.notify_waiters();
    }
}

struct Abandon<'a> {
    cache: &'a Cache,
    key: &'a str,
    id: u64,
    armed: bool,
}

impl Drop for Abandon<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.cache.abandon(self.key, self.id);
        }
    }
}

/// A Backend Services token cache for blocking code (share it between threads with an
/// `Arc`).
///
/// ```no_run
/// use smart_client::jwt::PrivateKey;
/// use smart_client::{ClientConfig, ClientType, SmartClient};
/// use smart_session::{BackendTokenCache, SessionConfig};
/// use smart_token::scope::ScopeSet;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = PrivateKey::from_pem(&std::fs::read_to_string("backend-key.pem")?)?;
/// let config = ClientConfig::builder("https://ehr.example.com/fhir")
///     .client_id("my-backend")
///     .private_key(key)
///     .kid("backend-key-1")
///     .build()?;
/// let client = SmartClient::new(config, ClientType::ConfidentialAsymmetric)?;
/// let cache = BackendTokenCache::new(client, SessionConfig::new());
/// let scopes = ScopeSet::parse("system/Patient.rs system/Observation.rs")?;
/// let token = cache.access_token(Some(&scopes))?; // one request per expiry, for all threads
/// # let _ = token;
/// # Ok(())
/// # }
/// ```
pub struct BackendTokenCache<C> {
    source: C,
    cache: Cache,
}

impl<C> BackendTokenCache<C> {
    /// The client the cache requests tokens with (for its FHIR requests).
    pub fn source(&self) -> &C {
        &self.source
    }
}

impl<C> fmt::Debug for BackendTokenCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendTokenCache")
            .field("scope_sets", &self.cache.lock().len())
            .finish_non_exhaustive()
    }
}

impl<C: TokenSource> BackendTokenCache<C> {
    /// An empty cache over `source`.
    pub fn new(source: C, config: SessionConfig) -> Self {
        Self {
            source,
            cache: Cache::new(config),
        }
    }

    /// A valid access token for `scopes` (`None`: the client's default scopes): cached until
    /// the buffer before its expiry, then requested again, once for all concurrent callers.
    ///
    /// # Errors
    ///
    /// [`SessionError::ClientCredentials`] (for the caller that made the request and every
    /// caller that waited for it), [`SessionError::WaitTimedOut`].
    pub fn access_token(&self, scopes: Option<&ScopeSet>) -> Result<AccessToken, SessionError> {
        let key = key_of(scopes);
        let cache = &self.cache;
        let deadline = Instant::now() + cache.config.wait_timeout;
        let mut entries = cache.lock();
        loop {
            match Cache::decide(&mut entries, &cache.config, &key) {
                Step::Ready(token) => return Ok(token),
                Step::Fail(error) => return Err(error),
                Step::Lead(ticket) => {
                    drop(entries);
                    let mut guard = Abandon {
                        cache,
                        key: &key,
                        id: ticket.id,
                        armed: true,
                    };
                    let events = cache.events(&key);
                    events.token_requested();
                    let (requested_at, started) = (cache.config.clock.now(), Instant::now());
                    let answer = self.source.client_credentials(scopes);
                    guard.armed = false;
                    return cache.finish(&key, ticket.id, answer, requested_at, started, &events);
                }
                Step::Wait { finished } => loop {
                    match Cache::waited(&entries, &key, finished) {
                        Waited::Finished(result) => return result,
                        Waited::Retry => break,
                        Waited::Pending => {
                            let left = deadline.saturating_duration_since(Instant::now());
                            if left.is_zero() {
                                return Err(SessionError::WaitTimedOut {
                                    waited: cache.config.wait_timeout,
                                });
                            }
                            entries = cache
                                .condvar
                                .wait_timeout(entries, left)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0;
                        }
                    }
                },
            }
        }
    }
}

/// The async twin of [`BackendTokenCache`]; its futures are `Send`.
pub struct AsyncBackendTokenCache<C> {
    source: C,
    cache: Cache,
}

impl<C> AsyncBackendTokenCache<C> {
    /// The client the cache requests tokens with (for its FHIR requests).
    pub fn source(&self) -> &C {
        &self.source
    }
}

impl<C> fmt::Debug for AsyncBackendTokenCache<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncBackendTokenCache")
            .field("scope_sets", &self.cache.lock().len())
            .finish_non_exhaustive()
    }
}

impl<C: AsyncTokenSource> AsyncBackendTokenCache<C> {
    /// An empty cache over `source`.
    pub fn new(source: C, config: SessionConfig) -> Self {
        Self {
            source,
            cache: Cache::new(config),
        }
    }

    /// As [`BackendTokenCache::access_token`].
    ///
    /// # Errors
    ///
    /// As [`BackendTokenCache::access_token`].
    pub async fn access_token(
        &self,
        scopes: Option<&ScopeSet>,
    ) -> Result<AccessToken, SessionError> {
        let key = key_of(scopes);
        let cache = &self.cache;
        let deadline = Instant::now() + cache.config.wait_timeout;
        let timed = tokio::runtime::Handle::try_current().is_ok();
        loop {
            let step = Cache::decide(&mut cache.lock(), &cache.config, &key);
            let finished = match step {
                Step::Ready(token) => return Ok(token),
                Step::Fail(error) => return Err(error),
                Step::Lead(ticket) => {
                    let mut guard = Abandon {
                        cache,
                        key: &key,
                        id: ticket.id,
                        armed: true,
                    };
                    let events = cache.events(&key);
                    events.token_requested();
                    let (requested_at, started) = (cache.config.clock.now(), Instant::now());
                    let answer = self.source.client_credentials(scopes).await;
                    guard.armed = false;
                    return cache.finish(&key, ticket.id, answer, requested_at, started, &events);
                }
                Step::Wait { finished } => finished,
            };
            loop {
                let mut notified = pin!(cache.notify.notified());
                notified.as_mut().enable();
                match Cache::waited(&cache.lock(), &key, finished) {
                    Waited::Finished(result) => return result,
                    Waited::Retry => break,
                    Waited::Pending => {}
                }
                if timed {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                        return Err(SessionError::WaitTimedOut {
                            waited: cache.config.wait_timeout,
                        });
                    }
                } else {
                    notified.await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_scopes_in_any_order_share_a_key() {
        let a = ScopeSet::parse("system/Patient.rs system/Observation.rs").expect("scopes");
        let b = ScopeSet::parse("system/Observation.rs system/Patient.rs").expect("scopes");
        assert_eq!(key_of(Some(&a)), key_of(Some(&b)));
        assert_ne!(key_of(Some(&a)), key_of(None));
    }
}
