//! The crate's error types: what a session, a token cache or a store call can fail with.

use std::sync::Arc;
use std::time::Duration;

use smart_client::ClientError;

/// Everything a session or a Backend Services token cache can fail with. No variant holds a
/// token, a secret or a response body.
///
/// It is `Clone`: the callers that waited for one refresh all get its error (the client error
/// behind it is shared through an [`Arc`]).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The access token expired (or must be renewed) and there is no refresh token.
    #[error(
        "the session has no refresh token, so its access token cannot be renewed; request the offline_access scope (or online_access, for a session while the user is online) when authorizing, or authorize again"
    )]
    NoRefreshToken,
    /// The server refused the refresh token (`invalid_grant`) and the store holds no newer
    /// one: the grant is over (expired, revoked, or its refresh token was replayed).
    #[error(
        "the server refused the refresh token (invalid_grant) and no newer one was saved by another instance: the session has ended; launch the app again (a new authorization) to get new tokens"
    )]
    ReauthorizationRequired,
    /// The session's entry is gone from the token store: it was ended or logged out by this
    /// or another instance.
    #[error(
        "the session is no longer in the token store (ended or logged out by another instance); launch the app again (a new authorization)"
    )]
    Removed,
    /// A refresh failed for another reason than `invalid_grant` (network, server error, ...).
    /// The session goes on: the next call tries again.
    #[error("refreshing the access token failed: {source}")]
    Refresh {
        /// The client's error.
        #[source]
        source: Arc<ClientError>,
    },
    /// A Backend Services (`client_credentials`) token request failed.
    #[error("requesting a backend services access token failed: {source}")]
    ClientCredentials {
        /// The client's error.
        #[source]
        source: Arc<ClientError>,
    },
    /// The token store failed. The session goes on: the next call tries again.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another caller's refresh did not end in time.
    #[error(
        "waited {waited:?} for another caller's refresh to end; raise SessionConfig::wait_timeout above the HTTP client's timeout"
    )]
    WaitTimedOut {
        /// How long the caller waited.
        waited: Duration,
    },
    /// Another instance held the refresh lease for longer than the lease wait.
    #[error(
        "another instance held the refresh lease for {waited:?} without saving new tokens; retry, or check that instances share the same store and lease settings"
    )]
    LeaseBusy {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The refresh lease expired, or was taken over by another instance, before the new tokens
    /// could be saved: the store refused the write (fencing). The new tokens are kept in
    /// memory, and the next refresh reads the store again.
    #[error(
        "the refresh lease was lost before the new tokens were saved (the store refused the write); make SessionConfig::lease_ttl longer than the HTTP client's timeout"
    )]
    LeaseLost,
    /// A FHIR request through the session failed: a URL outside the FHIR base (the token was
    /// not sent), a network error, an error status or a body that is not JSON.
    #[error("{source}")]
    Fhir {
        /// The client's error.
        #[source]
        source: Arc<ClientError>,
    },
    /// A search page's `next` link leads back to a page already read.
    #[error(
        "the search's next link leads back to {url}, a page already read; the server's paging loops"
    )]
    BundleLoop {
        /// The repeated URL (without userinfo).
        url: String,
    },
    /// A search had more pages than the limit.
    #[error(
        "the search has more than {max} pages; narrow it (_count, dates) or raise BundlePages::max_pages"
    )]
    TooManyPages {
        /// The limit.
        max: usize,
    },
    /// A search page is not a `Bundle`.
    #[error("the search answer from {url} is not a FHIR Bundle")]
    NotABundle {
        /// The URL read (without userinfo).
        url: String,
    },
}

impl SessionError {
    /// Whether the session is over and the app must authorize again.
    #[must_use]
    pub fn requires_reauthorization(&self) -> bool {
        matches!(
            self,
            Self::ReauthorizationRequired | Self::Removed | Self::NoRefreshToken
        )
    }
}

/// A token store's failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or refused the command (connection refused, timeout,
    /// server error).
    #[error(
        "the {store} token store is unavailable: {source}; check that it runs and is reachable"
    )]
    Unavailable {
        /// Which store (`redis`, `memory`, or a custom store's name).
        store: &'static str,
        /// What went wrong.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A stored value cannot be read: written by an incompatible version, or damaged.
    #[error(
        "a value in the token store cannot be read ({reason}); delete the entry and authorize again"
    )]
    Corrupt {
        /// What is wrong (never the value).
        reason: String,
    },
    /// A value could not be serialised for the store.
    #[error("a value could not be serialised for the token store: {reason}")]
    Serialize {
        /// What went wrong.
        reason: String,
    },
}

impl StoreError {
    /// An [`StoreError::Unavailable`] from any error.
    pub fn unavailable(
        store: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            store,
            source: Arc::new(source),
        }
    }
}

/// Why a pending authorization could not be taken from its store.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PendingError {
    /// No pending authorization has this `state`: a forged callback, or one whose entry
    /// expired from the store.
    #[error(
        "no pending authorization has this state (a forged or expired callback); start the authorization again"
    )]
    Unknown,
    /// The pending authorization of this `state` was already taken: the callback is replayed.
    #[error(
        "the callback for this state was already used (a replayed callback); start the authorization again"
    )]
    Replayed,
    /// The pending authorization is older than the maximum age.
    #[error(
        "the authorization was started {age:?} ago, longer than the maximum of {max_age:?}; start it again"
    )]
    Stale {
        /// How old it is.
        age: Duration,
        /// The maximum age in force.
        max_age: Duration,
    },
    /// A pending authorization with this `state` is already stored.
    #[error("a pending authorization with this state is already stored; draw a new state")]
    Duplicate,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
