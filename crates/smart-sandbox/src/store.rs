//! The sandbox's state: registered clients, launches, codes, tokens and seen `jti`s, all in
//! memory. Tokens and codes are stored under their SHA-256, never as themselves.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;
use sha2::{Digest, Sha256};
use smart_core::{Clock, OsRandom, RandomSource, Secret, unix_seconds};
use smart_jwt_assertion::KeySigner;
use smart_pkce::PkceChallenge;
use smart_token::scope::ScopeSet;

use crate::config::RegisteredClient;
use crate::context::LaunchContext;
use crate::http_util::OAuthFailure;

/// A code lives this long (seconds).
pub(crate) const CODE_LIFETIME: u64 = 60;
/// Refresh tokens of `offline_access` grants (30 days).
pub(crate) const OFFLINE_REFRESH_LIFETIME: u64 = 30 * 24 * 3600;
/// Refresh tokens of `online_access` grants (8 hours, a working day).
pub(crate) const ONLINE_REFRESH_LIFETIME: u64 = 8 * 3600;
/// `id_token`s (seconds).
pub(crate) const ID_TOKEN_LIFETIME: u64 = 3600;
/// Launch values from `Sandbox::launch` (seconds).
pub(crate) const LAUNCH_LIFETIME: u64 = 3600;
/// Pending approvals of the interactive page (seconds).
pub(crate) const APPROVAL_LIFETIME: u64 = 600;
/// Used codes are remembered this long after they expire, to detect replays (seconds).
const USED_CODE_MEMORY: u64 = 600;
/// At most this many clients may be registered through `/register`.
pub(crate) const MAX_REGISTERED_CLIENTS: usize = 1000;

/// Where a stored secret is found: its SHA-256.
pub(crate) type TokenKey = [u8; 32];

/// The lookup key of a code or token.
pub(crate) fn key_of(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

/// 256 random bits, base64url: codes, tokens, launch values, client ids and secrets.
pub(crate) fn random_token() -> Result<String, OAuthFailure> {
    let mut bytes = [0u8; 32];
    OsRandom
        .fill(&mut bytes)
        .map_err(|_| OAuthFailure::server_error("the sandbox has no randomness"))?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

/// What the user authorised: the client, the scopes, the context and the user. Every code,
/// access token and refresh token of one authorisation shares its `family`, so that a
/// replayed code or refresh token revokes them all.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) client_id: String,
    pub(crate) scope: ScopeSet,
    pub(crate) context: LaunchContext,
    /// The signed-in user as a relative reference (`Practitioner/1`); `None` for backend
    /// services.
    pub(crate) fhir_user: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) family: u64,
}

#[derive(Debug)]
pub(crate) struct Code {
    pub(crate) grant: Grant,
    pub(crate) redirect_uri: String,
    pub(crate) challenge: PkceChallenge,
    pub(crate) expires_at: u64,
    pub(crate) used: bool,
}

#[derive(Debug)]
pub(crate) struct AccessEntry {
    pub(crate) grant: Grant,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
}

#[derive(Debug)]
pub(crate) struct RefreshEntry {
    pub(crate) grant: Grant,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
    /// Exchanged already: presenting it again is a replay.
    pub(crate) rotated: bool,
}

/// A valid authorization request, waiting for approval.
#[derive(Debug)]
pub(crate) struct AuthorizeRequest {
    pub(crate) client_id: String,
    pub(crate) client_label: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: String,
    pub(crate) scope: ScopeSet,
    pub(crate) challenge: PkceChallenge,
    pub(crate) nonce: Option<String>,
    /// The context of an EHR launch; `None` for a standalone launch.
    pub(crate) launch: Option<LaunchContext>,
}

#[derive(Debug)]
pub(crate) struct LaunchEntry {
    pub(crate) context: LaunchContext,
    pub(crate) expires_at: u64,
}

#[derive(Debug)]
pub(crate) struct Approval {
    pub(crate) request: AuthorizeRequest,
    pub(crate) expires_at: u64,
    /// The user who logged in on the login page (a relative reference such as
    /// `Practitioner/1`); `None` until then, and without the login page.
    pub(crate) user: Option<String>,
    /// Wrong passwords so far: the approval is dropped after a few.
    pub(crate) failed_logins: u8,
}

/// Everything that changes while the sandbox runs.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) clients: HashMap<String, RegisteredClient>,
    pub(crate) launches: HashMap<TokenKey, LaunchEntry>,
    pub(crate) codes: HashMap<TokenKey, Code>,
    pub(crate) access: HashMap<TokenKey, AccessEntry>,
    pub(crate) refresh: HashMap<TokenKey, RefreshEntry>,
    /// `(client_id, jti)` of accepted assertions, until their `exp`.
    pub(crate) jtis: HashMap<(String, String), u64>,
    pub(crate) approvals: HashMap<TokenKey, Approval>,
    pub(crate) registered: usize,
    pub(crate) next_family: u64,
}

impl State {
    pub(crate) fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }

    /// Revokes every token of an authorisation, and its unused codes.
    pub(crate) fn revoke_family(&mut self, family: u64) {
        self.access.retain(|_, entry| entry.grant.family != family);
        self.refresh.retain(|_, entry| entry.grant.family != family);
        for code in self.codes.values_mut() {
            if code.grant.family == family {
                code.used = true;
            }
        }
    }

    /// Forgets what has expired.
    pub(crate) fn purge(&mut self, now: u64) {
        self.launches.retain(|_, entry| entry.expires_at > now);
        self.codes
            .retain(|_, code| code.expires_at.saturating_add(USED_CODE_MEMORY) > now);
        self.access.retain(|_, entry| entry.expires_at > now);
        self.refresh.retain(|_, entry| entry.expires_at > now);
        self.jtis.retain(|_, exp| *exp >= now);
        self.approvals
            .retain(|_, approval| approval.expires_at > now);
    }

    /// The access token `token`, if it is active.
    pub(crate) fn active_access(&self, token: &str, now: u64) -> Option<&AccessEntry> {
        self.access
            .get(&key_of(token))
            .filter(|entry| entry.expires_at > now)
    }
}

/// What the server threads share.
pub(crate) struct Shared {
    /// The FHIR base URL and issuer: `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    pub(crate) interactive: bool,
    /// A login page comes before the consent page.
    pub(crate) login: bool,
    /// The most pending approvals and HTTP-minted launches.
    pub(crate) max_pending: usize,
    pub(crate) initial_access_token: Option<Secret<String>>,
    pub(crate) connections: AtomicU64,
    pub(crate) id_token_signer: KeySigner,
    /// The sandbox's JWK Set (`/jwks`).
    pub(crate) jwks: Value,
    /// The demo clients' JWK Set (`/demo/client-jwks.json`).
    pub(crate) client_jwks: Value,
    pub(crate) clock: Arc<dyn Clock>,
    /// How far tests have advanced the clock.
    pub(crate) offset: Mutex<Duration>,
    /// Token lifetimes and rotation.
    pub(crate) tokens: crate::token_policy::TokenPolicy,
    /// The token requests of each client.
    pub(crate) token_counters: crate::token_policy::TokenCounters,
    pub(crate) state: Mutex<State>,
    /// The UDAP mode, when on.
    pub(crate) udap: Option<crate::udap_state::UdapServer>,
}

impl Shared {
    /// The token endpoint: the `aud` every client assertion must carry.
    pub(crate) fn token_url(&self) -> String {
        format!("{}/token", self.base)
    }

    /// Seconds since the epoch, by the configured clock plus what tests advanced it by.
    pub(crate) fn now(&self) -> u64 {
        let offset = *self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        unix_seconds(self.clock.now()).saturating_add(offset.as_secs())
    }

    pub(crate) fn advance_clock(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        *offset = offset.saturating_add(by);
    }

    /// The state, locked. A handler that panicked while holding the lock leaves it usable.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fresh `launch` value bound to `context`, valid for an hour.
pub(crate) fn mint_launch(shared: &Shared, context: LaunchContext) -> String {
    // The OS random generator does not fail on the platforms the sandbox runs on. If it
    // did, the value returned would be unknown to the server, and the launch refused.
    let Ok(launch) = random_token() else {
        return "no-randomness-available".to_owned();
    };
    let now = shared.now();
    let mut state = shared.state();
    state.purge(now);
    state.launches.insert(
        key_of(&launch),
        LaunchEntry {
            context,
            expires_at: now.saturating_add(LAUNCH_LIFETIME),
        },
    );
    launch
}
