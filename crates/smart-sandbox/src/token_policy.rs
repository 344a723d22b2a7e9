//! How the token endpoint issues tokens (lifetimes, refresh-token rotation), and what it
//! counts: the token requests of each client, so tests can assert how many a client made.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::config::GrantType;

/// Access tokens of user-facing clients by default (seconds).
pub(crate) const ACCESS_TOKEN_LIFETIME: u64 = 3600;
/// Access tokens of backend services by default (seconds; SMART recommends at most 300).
pub(crate) const BACKEND_TOKEN_LIFETIME: u64 = 300;

/// Token lifetimes and rotation, set through `SandboxConfig`.
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

    pub(crate) fn get(&self, client_id: &str) -> TokenRequestCounts {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(client_id)
            .copied()
            .unwrap_or_default()
    }

    pub(crate) fn reset(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
