//! Pending authorizations between the redirect and the callback, kept in a token store under
//! their `state`: taken once, and only while young enough.

use core::fmt;
use core::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use smart_client::PendingAuthorization;
use smart_core::{Clock, SystemClock, unix_seconds};

use crate::error::{PendingError, StoreError};
use crate::store::{BlockingStore, CasOutcome, TokenStore};

/// Where web apps keep each [`PendingAuthorization`] while the user is at the authorization
/// server, keyed by its `state`, so any instance can finish the login.
///
/// [`take`](Self::take) hands each one out **once**: a second callback with the same `state`
/// (a replay) is [`PendingError::Replayed`], an unknown `state` [`PendingError::Unknown`],
/// and one older than the maximum age (10 minutes by default, from its `issued_at`)
/// [`PendingError::Stale`]. Entries expire from the store after twice the maximum age.
///
/// ```
/// use std::sync::Arc;
/// use smart_session::{MemoryStore, PendingError, PendingStore};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let client = smart_client::SmartClient::with_http_client(
/// #     smart_client::ClientConfig::builder("https://ehr.example/fhir")
/// #         .client_id("app").redirect_uri("https://app.example/cb").scopes("patient/*.rs")
/// #         .authorization_endpoint("https://ehr.example/auth")
/// #         .token_endpoint("https://ehr.example/token").build()?,
/// #     smart_client::ClientType::Public,
/// #     |_: http::Request<Vec<u8>>| -> Result<http::Response<Vec<u8>>, smart_client::TransportError> { unreachable!() })?;
/// let pending_store = PendingStore::new(Arc::new(MemoryStore::new()));
/// let request = client.authorize(smart_client::AuthorizeOptions::new())?;
/// let state = request.pending().state().expose_secret().to_owned();
/// pending_store.put_blocking(request.pending())?;
///
/// // On the callback, by `state` (from the callback URL):
/// let pending = pending_store.take_blocking(&state)?;
/// assert!(matches!(pending_store.take_blocking(&state), Err(PendingError::Replayed)));
/// # let _ = pending;
/// # Ok(())
/// # }
/// ```
pub struct PendingStore {
    store: BlockingStore,
    max_age: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for PendingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            store,
            max_age,
            clock: _,
        } = self;
        f.debug_struct("PendingStore")
            .field("store", store)
            .field("max_age", max_age)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entry {
    Pending(Box<PendingAuthorization>),
    Taken,
}

/// The written form of [`Entry`].
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum EntryRef<'a> {
    Pending(&'a PendingAuthorization),
    Taken,
}

/// The store key of a `state`: its SHA-256 (the state itself never reaches the store).
fn key_of(state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    let hex: String = digest.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!("pending:{hex}")
}

impl PendingStore {
    /// Pending authorizations in `store` (whose futures need no runtime for the blocking
    /// methods; for the Redis store in blocking code use [`PendingStore::blocking`]).
    pub fn new(store: Arc<dyn TokenStore>) -> Self {
        Self::blocking(BlockingStore::new(store))
    }

    /// Pending authorizations in a [`BlockingStore`] (its runtime serves the blocking
    /// methods; the async ones use the store directly).
    pub fn blocking(store: BlockingStore) -> Self {
        Self {
            store,
            max_age: Duration::from_secs(600),
            clock: Arc::new(SystemClock),
        }
    }

    /// The maximum age of a pending authorization (default 10 minutes).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The clock ages are measured by (tests fix it).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn serialized(entry: &EntryRef<'_>) -> Result<Vec<u8>, StoreError> {
        serde_json::to_vec(entry).map_err(|error| StoreError::Serialize {
            reason: error.to_string(),
        })
    }

    fn ttl(&self) -> Duration {
        self.max_age.saturating_mul(2)
    }

    /// Keeps `pending` under its `state`.
    ///
    /// # Errors
    ///
    /// [`PendingError::Duplicate`] when the state is already stored, [`PendingError::Store`].
    pub async fn put(&self, pending: &PendingAuthorization) -> Result<(), PendingError> {
        let key = key_of(pending.state().expose_secret());
        let value = Self::serialized(&EntryRef::Pending(pending))?;
        match self
            .store
            .inner()
            .compare_and_swap(&key, None, &value, None, Some(self.ttl()))
            .await?
        {
            CasOutcome::Swapped { .. } => Ok(()),
            CasOutcome::Conflict { .. } | CasOutcome::Fenced => Err(PendingError::Duplicate),
        }
    }

    /// Takes the pending authorization of `state` (the callback's `state` parameter), once.
    ///
    /// # Errors
    ///
    /// [`PendingError::Unknown`], [`PendingError::Replayed`], [`PendingError::Stale`] (the
    /// entry is consumed all the same), [`PendingError::Store`].
    pub async fn take(&self, state: &str) -> Result<PendingAuthorization, PendingError> {
        let key = key_of(state);
        let store = self.store.inner();
        let loaded = store.load(&key).await?.ok_or(PendingError::Unknown)?;
        let taken = Self::serialized(&EntryRef::Taken)?;
        let outcome = store
            .compare_and_swap(&key, Some(loaded.version), &taken, None, Some(self.ttl()))
            .await?;
        self.check(&loaded.value, outcome)
    }

    /// As [`put`](Self::put), blocking.
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    pub fn put_blocking(&self, pending: &PendingAuthorization) -> Result<(), PendingError> {
        let key = key_of(pending.state().expose_secret());
        let value = Self::serialized(&EntryRef::Pending(pending))?;
        match self
            .store
            .compare_and_swap(&key, None, &value, None, Some(self.ttl()))?
        {
            CasOutcome::Swapped { .. } => Ok(()),
            CasOutcome::Conflict { .. } | CasOutcome::Fenced => Err(PendingError::Duplicate),
        }
    }

    /// As [`take`](Self::take), blocking.
    ///
    /// # Errors
    ///
    /// As [`take`](Self::take).
    pub fn take_blocking(&self, state: &str) -> Result<PendingAuthorization, PendingError> {
        let key = key_of(state);
        let loaded = self.store.load(&key)?.ok_or(PendingError::Unknown)?;
        let taken = Self::serialized(&EntryRef::Taken)?;
        let outcome = self.store.compare_and_swap(
            &key,
            Some(loaded.version),
            &taken,
            None,
            Some(self.ttl()),
        )?;
        self.check(&loaded.value, outcome)
    }

    fn check(
        &self,
        value: &smart_core::Secret<Vec<u8>>,
        outcome: CasOutcome,
    ) -> Result<PendingAuthorization, PendingError> {
        let entry: Entry =
            serde_json::from_slice(value.expose_secret()).map_err(|_| StoreError::Corrupt {
                reason: "not a stored pending authorization".to_owned(),
            })?;
        let Entry::Pending(pending) = entry else {
            return Err(PendingError::Replayed);
        };
        if !matches!(outcome, CasOutcome::Swapped { .. }) {
            // Another callback took it between our read and our write.
            return Err(PendingError::Replayed);
        }
        let age =
            Duration::from_secs(unix_seconds(self.clock.now()).saturating_sub(pending.issued_at()));
        if age > self.max_age {
            return Err(PendingError::Stale {
                age,
                max_age: self.max_age,
            });
        }
        Ok(*pending)
    }
}
