//! The crate's one public error type.

use core::fmt;

use http::StatusCode;
use smart_core::json::JsonError;

pub use crate::refusals::BoxError;
use crate::refusals::{ChainError, SignedMetadataProblem};

/// Why a UDAP step failed.
///
/// No variant holds a response body, a private key, a software statement or an assertion.
/// Validation errors name the attribute and the rule, never the value
/// ([`UdapError::InvalidRegistrationMetadata`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UdapError {
    /// The `community` is not an absolute URI (a scheme, then a host or a path). Nothing was
    /// sent.
    #[error("invalid community: {reason}; valid: URI string")]
    InvalidCommunity {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The request URL cannot be turned into an HTTP request.
    #[error("cannot build a request for `{url}`; check the configured URL")]
    RequestUrl {
        /// The URL (shortened for display).
        url: String,
    },
    /// The server answered 204: it supports no UDAP workflow (for this community).
    #[error("`{url}` answered HTTP 204: no UDAP workflows supported{}", for_community(community.as_deref()))]
    NoUdapWorkflows {
        /// The well-known URL.
        url: String,
        /// The community asked for.
        community: Option<String>,
    },
    /// The server answered 404: it does not support UDAP.
    #[error(
        "failed to discover UDAP metadata from `{url}` (HTTP 404); the server does not support UDAP"
    )]
    NotSupported {
        /// The well-known URL.
        url: String,
    },
    /// The server answered another non-2xx status.
    #[error("failed to discover UDAP metadata from `{url}` (HTTP {status})")]
    Status {
        /// The well-known URL.
        url: String,
        /// The status.
        status: StatusCode,
    },
    /// The body is not a usable JSON object.
    #[error("the UDAP metadata from `{url}` is not a usable JSON object")]
    Body {
        /// The well-known URL.
        url: String,
        /// What is wrong with it (never content from the body but a repeated key).
        #[source]
        reason: JsonError,
    },
    /// `signed_metadata` is absent, malformed, wrongly signed, issued by an untrusted
    /// certificate, or its claims fail the STU2 checks. Every problem found is listed.
    #[error("signed_metadata validation failed{}: {}", for_community(community.as_deref()), problems_text(problems))]
    SignedMetadata {
        /// The community asked for.
        community: Option<String>,
        /// Every problem found, in the order of the checks.
        problems: Vec<SignedMetadataProblem>,
    },
    /// A certificate cannot be decoded (an `x5c` entry, a PEM chain or a trust anchor).
    #[error("malformed {what} certificate; check that it is DER (base64 in x5c) or PEM")]
    MalformedCertificate {
        /// Which certificate: `x5c leaf`, `certificate_chain`, `trust anchor`.
        what: &'static str,
        /// The decoder's error.
        #[source]
        source: x509_cert::der::Error,
    },
    /// A CRL cannot be decoded.
    #[error("malformed certificate revocation list; check that it is DER or PEM")]
    MalformedCrl {
        /// The decoder's error.
        #[source]
        source: x509_cert::der::Error,
    },
    /// The client's own certificate chain cannot be used to sign a software statement or an
    /// assertion.
    #[error("the client certificate chain cannot be used: {0}")]
    ClientCertificate(#[source] ChainError),
    /// The private key cannot be loaded or does not fit.
    #[error("the UDAP private key cannot be used; check that it is a PEM RSA or P-384 key")]
    Key(#[source] smart_jwt_assertion::Error),
    /// The metadata is not structurally conformant, so registration is not attempted.
    #[error(
        "UDAP metadata is not structurally conformant for Dynamic Client Registration (`{url}`); see UdapMetadata::conformance"
    )]
    NotConformant {
        /// The well-known URL, community included.
        url: String,
    },
    /// The server does not advertise `udap_dcr` with a usable registration endpoint.
    #[error("server does not advertise UDAP Dynamic Client Registration support")]
    RegistrationNotSupported,
    /// `registration_endpoint_jwt_signing_alg_values_supported` lacks RS256.
    #[error("server does not advertise mandatory RS256 registration signing support")]
    NoRs256Registration,
    /// A setting has a value that cannot be used (the value is not shown).
    #[error("invalid {setting}: {reason}")]
    InvalidSetting {
        /// The setting: `client_uri`, `registration_endpoint`, `algorithm`, ...
        setting: &'static str,
        /// What is expected.
        reason: String,
    },
    /// The client registration metadata breaks a rule (the value is not shown).
    #[error("invalid registration metadata: `{attribute}` {reason}")]
    InvalidRegistrationMetadata {
        /// The attribute.
        attribute: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// Signing the software statement or an assertion failed.
    #[error("signing failed")]
    Sign(#[source] smart_jwt_assertion::Error),
    /// The OS random number generator failed (for a `jti`).
    #[error("the OS random number generator failed")]
    Random(#[source] smart_core::RandomError),
    /// (Server side) a software statement or client assertion was refused.
    #[error("the UDAP JWT is refused: {0}")]
    InvalidStatement(#[source] crate::refusals::StatementError),
    /// The registration server refused the request with an OAuth-style error.
    #[error("UDAP registration failed (HTTP {status}): {code}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Registration {
        /// The HTTP status.
        status: StatusCode,
        /// The error code, typed.
        code: RegistrationErrorCode,
        /// `error_description`, cleaned for display.
        description: Option<String>,
    },
    /// The registration (or cancellation) answer has an unexpected status or content.
    #[error("UDAP registration response (HTTP {status}): {reason}")]
    RegistrationResponse {
        /// The HTTP status.
        status: StatusCode,
        /// What is wrong, e.g. `unexpected registration response status`.
        reason: &'static str,
    },
}

/// A registration error code (UDAP Security STU2 §3.5, RFC 7591 §3.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegistrationErrorCode {
    /// `invalid_software_statement`: the statement is malformed or its signature, chain or
    /// claims fail.
    InvalidSoftwareStatement,
    /// `unapproved_software_statement`: valid but not approved (trust community policy).
    UnapprovedSoftwareStatement,
    /// `invalid_client_metadata`.
    InvalidClientMetadata,
    /// `invalid_redirect_uri`.
    InvalidRedirectUri,
    /// Any other code (cleaned for display), or none.
    Other(String),
}

impl RegistrationErrorCode {
    /// Reads a server's `error` value.
    #[must_use]
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_software_statement" => Self::InvalidSoftwareStatement,
            "unapproved_software_statement" => Self::UnapprovedSoftwareStatement,
            "invalid_client_metadata" => Self::InvalidClientMetadata,
            "invalid_redirect_uri" => Self::InvalidRedirectUri,
            other => Self::Other(smart_core::display_text(other, 64)),
        }
    }

    /// The code as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidSoftwareStatement => "invalid_software_statement",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for RegistrationErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn for_community(community: Option<&str>) -> String {
    community.map_or_else(String::new, |c| {
        format!(" for community {}", smart_core::display_text(c, 200))
    })
}

fn problems_text(problems: &[SignedMetadataProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
