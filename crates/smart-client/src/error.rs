//! The client's error type: configuration, discovery, token, network, redirect, callback.

use smart_discovery::DiscoveryError;
use smart_token::{ErrorCode, OAuthError, TokenError};

use crate::config::ConfigError;
use crate::transport::TransportError;

/// Everything a [`crate::SmartClient`] call can fail with. No variant holds a secret, a token,
/// an assertion, a code or a response body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The configuration is missing something the call needs, or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Discovery failed: the URL, the status and what was wrong.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The server advertises no endpoint for this call and none is configured.
    #[error(
        "the server's SMART configuration has no {endpoint}; configure it or use a server that supports it"
    )]
    NotAdvertised {
        /// The missing field, such as `token_endpoint` or `introspection_endpoint`.
        endpoint: &'static str,
    },
    /// The token, introspection or revocation endpoint refused the request, or answered in a
    /// way that cannot be used.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// No complete answer arrived: timeout, TLS, connection.
    #[error("network error calling {url}: {source}")]
    Network {
        /// The URL called.
        url: String,
        /// What went wrong on the wire.
        #[source]
        source: TransportError,
    },
    /// The answer's body is larger than the configured limit; it was not read whole.
    #[error(
        "the answer from {url} is larger than the limit of {limit} bytes; raise HttpOptions::max_body_bytes if it is expected"
    )]
    ResponseTooLarge {
        /// The URL called.
        url: String,
        /// The limit in force.
        limit: u64,
    },
    /// A redirect was refused: on every POST, to a non-HTTPS URL, or after too many hops.
    #[error("redirect from {from} to {to} blocked: {reason}")]
    RedirectBlocked {
        /// The URL that answered with the redirect.
        from: String,
        /// Where it pointed (as resolved), or the raw `Location` when it does not parse.
        to: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The callback has no `state`.
    #[error("the callback has no state parameter; it did not come from this authorization request")]
    MissingState,
    /// The callback's `state` is not the one sent: a forged or mixed-up callback.
    #[error(
        "the callback's state does not match the authorization request; refusing it (a forged callback, or another login in the same session)"
    )]
    StateMismatch,
    /// The authorization server sent the user back with an error.
    #[error("authorization failed — {error}{}{}", .description.as_deref().map(|d| format!(" — {d}")).unwrap_or_default(), .error.hint().map(|h| format!("; {h}")).unwrap_or_default())]
    Authorization {
        /// The OAuth `error` code.
        error: ErrorCode,
        /// `error_description` (control characters replaced by spaces, cut to 300 characters
        /// and `...`: [`smart_core::clean_server_text`]).
        description: Option<String>,
        /// `error_uri`.
        uri: Option<String>,
    },
    /// The callback carries neither a code nor an error.
    #[error("the callback has no code parameter")]
    MissingCode,
    /// The callback's `iss` (RFC 9207) is not the authorization server that was asked.
    #[error(
        "the callback's iss is \"{found}\", but this authorization was sent to \"{expected}\"; refusing it (possible mix-up attack)"
    )]
    IssuerMismatch {
        /// The issuer the client knows.
        expected: String,
        /// The `iss` in the callback.
        found: String,
    },
    /// An EHR launch's `iss` is not this client's issuer.
    #[error(
        "the EHR launch names the issuer \"{iss}\", but this client is for \"{issuer}\"{hint}; refusing the launch before any request (an unknown EHR, or a forged launch link)"
    )]
    LaunchIssuer {
        /// The launch's `iss` (control characters replaced, cut).
        iss: String,
        /// The client's issuer.
        issuer: String,
        /// What differs, when it is only a trailing slash or letter case.
        hint: &'static str,
    },
    /// A pending authorization names a token endpoint that is not this client's (configured
    /// or discovered): a tampered or mixed-up session value. Nothing was sent.
    #[error(
        "the pending authorization names the token endpoint {stored}, but this client's token endpoint is {expected}; refusing to send the code and credentials there (a tampered or mixed-up session value: start the authorization again)"
    )]
    PendingTokenEndpoint {
        /// The token endpoint stored in the pending authorization.
        stored: String,
        /// The client's own token endpoint.
        expected: String,
    },
    /// The callback URL cannot be read.
    #[error("the callback URL cannot be read: {reason}")]
    Callback {
        /// What is wrong.
        reason: &'static str,
    },
    /// Client registration (RFC 7591) failed.
    #[error(transparent)]
    Registration(OAuthError),
    /// The registration answer has no `client_id`.
    #[error("client registration failed: the response has no client_id; received fields: {}", if received_fields.is_empty() { "none".to_owned() } else { received_fields.join(", ") })]
    RegistrationResponse {
        /// The names (never the values) of the fields received, control characters replaced,
        /// each cut to 64 characters, at most 30.
        received_fields: Vec<String>,
    },
    /// The registration answer has a `client_id`, but not a usable one.
    #[error(
        "client registration failed: client_id must be a non-blank string without control characters, but the server sent: {found}; report it to the server's operator"
    )]
    RegisteredClientId {
        /// What was received instead, never the value: its JSON type (`number`, `null`,
        /// `array`, ... as [`smart_core::json::kind`] names it), `blank string` or
        /// `string with control characters`.
        found: &'static str,
    },
    /// The access token would go to a server it was not issued for.
    #[error("refusing to send the access token to {url}: it is not below the FHIR base {base}")]
    ForeignUrl {
        /// The URL asked for.
        url: String,
        /// The FHIR base the token is for.
        base: String,
    },
    /// The FHIR server answered a read with an error status.
    #[error("FHIR request to {url} failed — HTTP {status}{}", if *.status == 401 { "; the access token is missing, expired or revoked: refresh it or authorize again" } else { "" })]
    Fhir {
        /// The URL read.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The FHIR server's answer is not a JSON object.
    #[error("FHIR response from {url} is not a usable JSON object: {reason}")]
    FhirBody {
        /// The URL read.
        url: String,
        /// What is wrong with the body.
        #[source]
        reason: smart_core::json::JsonError,
    },
    /// An `id_token` failed verification.
    #[cfg(feature = "openid")]
    #[error("{0}")]
    IdToken(crate::id_token::IdTokenProblem),
    /// The server lists the assertion algorithms it accepts, and the configured key's is not
    /// among them: refused before signing (the server would answer a bare `invalid_client`).
    #[error(
        "the server accepts client assertions signed with {} only (token_endpoint_auth_signing_alg_values_supported), but the configured key signs {alg}; register and configure a key of an accepted algorithm",
        if listed.is_empty() { "none".to_owned() } else { listed.join(", ") }
    )]
    AssertionAlgorithmNotAccepted {
        /// The configured key's algorithm.
        alg: &'static str,
        /// What the server lists, control characters escaped, each cut to 32 characters.
        listed: Vec<String>,
    },
    /// A [`crate::Flow`] was driven out of order (resumed without a request out, or started
    /// twice): a bug in the driver, not in the server.
    #[error(
        "the flow was driven out of order: {reason}; drive it with Flow::run_with or Flow::run_async"
    )]
    FlowOutOfOrder {
        /// What was done out of order.
        reason: &'static str,
    },
    /// No state or verifier could be drawn.
    #[error(transparent)]
    Pkce(#[from] smart_pkce::Error),
}

/// What tells two issuer strings apart when they are nearly equal: `", which differs only by a
/// trailing slash"`, `", which differs only in letter case"`, or nothing. Issuers are compared
/// as exact strings (servers compare `aud` that way), so these are still different issuers.
#[must_use]
pub fn issuer_difference(given: &str, registered: &str) -> &'static str {
    let trimmed = |text: &str| text.trim_end_matches('/').to_owned();
    if given != registered && trimmed(given) == trimmed(registered) {
        ", which differs only by a trailing slash"
    } else if given != registered && given.eq_ignore_ascii_case(registered) {
        ", which differs only in letter case"
    } else if given != registered && trimmed(given).eq_ignore_ascii_case(&trimmed(registered)) {
        ", which differs only by a trailing slash and letter case"
    } else {
        ""
    }
}
