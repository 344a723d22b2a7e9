//! How the token endpoint issues tokens (lifetimes, refresh-token rotation), and what it
//! counts: the token requests of each client, so tests can assert how many a client made.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::config::GrantType;
use crate::sandbox_config::SandboxConfig;
use crate::server::Sandbox;
use crate::store::{ACCESS_TOKEN_LIFETIME, BACKEND_TOKEN_LIFETIME};

/// Token lifetimes and rotation, set through [`SandboxConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenPolicy {
    /// Access tokens of user-facing clients (seconds).
    pub(crate) access_lifetime: u64,
    /// Access tokens of backend services (seconds).
    pub(crate) backend_lifetime: u64,
    /// Each refresh returns a new refresh token and retires the old one.
    pub(crate) rotate_refresh_tokens: bool,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            access_lifetime: ACCESS_TOKEN_LIFETIME,
            backend_lifetime: BACKEND_TOKEN_LIFETIME,
            rotate_refresh_tokens: true,
        }
    }
}

impl SandboxConfig {
    /// The lifetime (`expires_in`) of the access tokens of user-facing clients, in seconds
    /// (default 3600; at least 1). Short lifetimes let tests cross many expiries quickly.
    #[must_use]
    pub fn access_token_lifetime(mut self, seconds: u64) -> Self {
        self.tokens.access_lifetime = seconds.max(1);
        self
    }

    /// The lifetime (`expires_in`) of backend services' access tokens, in seconds (default
    /// 300; at least 1).
    #[must_use]
    pub fn backend_token_lifetime(mut self, seconds: u64) -> Self {
        self.tokens.backend_lifetime = seconds.max(1);
        self
    }

    /// `true` (the default): each refresh returns a new refresh token and retires the one
    /// presented; presenting a retired one is `invalid_grant` and revokes the grant. `false`:
    /// a refresh returns no refresh token, and the one presented stays valid (servers that do
    /// not rotate, such as Cerner's).
    #[must_use]
    pub fn rotate_refresh_tokens(mut self, rotate: bool) -> Self {
        self.tokens.rotate_refresh_tokens = rotate;
        self
    }
}

/// How many token requests one client made, by grant, and how many were refused.
///
/// Counted after client authentication: a request whose client cannot be authenticated is
/// counted nowhere (it has no client to count under).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequestCounts {
    /// `grant_type=authorization_code` requests.
    pub authorization_code: u64,
    /// `grant_type=refresh_token` requests.
    pub refresh_token: u64,
    /// `grant_type=client_credentials` requests.
    pub client_credentials: u64,
    /// Requests answered `invalid_grant` (an unknown, expired, used or rotated code or
    /// refresh token).
    pub invalid_grant: u64,
    /// Requests refused with any OAuth error (`invalid_grant` included).
    pub refused: u64,
}

impl TokenRequestCounts {
    /// All token requests, whatever their grant.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.authorization_code + self.refresh_token + self.client_credentials
    }
}

/// The counters of every client, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct TokenCounters(Mutex<HashMap<String, TokenRequestCounts>>);

impl TokenCounters {
    /// Counts a token request of an authenticated client: its grant and, when refused, the
    /// OAuth error code.
    pub(crate) fn record(&self, client_id: &str, grant: GrantType, refused: Option<&str>) {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = counts.entry(client_id.to_owned()).or_default();
        match grant {
            GrantType::AuthorizationCode => entry.authorization_code += 1,
            GrantType::RefreshToken => entry.refresh_token += 1,
            GrantType::ClientCredentials => entry.client_credentials += 1,
        }
        if let Some(code) = refused {
            entry.refused += 1;
            if code == "invalid_grant" {
                entry.invalid_grant += 1;
            }
        }
    }

    fn get(&self, client_id: &str) -> TokenRequestCounts {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(client_id)
            .copied()
            .unwrap_or_default()
    }

    fn reset(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Sandbox {
    /// The token requests `client_id` has made since the start (or the last
    /// [`reset_token_requests`](Self::reset_token_requests)), by grant.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = smart_sandbox::Sandbox::start()?;
    /// let counts = sandbox.token_requests(smart_sandbox::demo::PUBLIC_CLIENT_ID);
    /// assert_eq!(counts.total(), 0);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn token_requests(&self, client_id: &str) -> TokenRequestCounts {
        self.shared().token_counters.get(client_id)
    }

    /// Sets every client's token-request counters back to zero.
    pub fn reset_token_requests(&self) {
        self.shared().token_counters.reset();
    }
}
