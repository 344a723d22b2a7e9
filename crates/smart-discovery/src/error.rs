//! The crate's one public error type.

use http::StatusCode;
use smart_core::UrlError;
use smart_core::json::JsonError;

/// Why a discovery document could not be used.
///
/// Every variant names the URL of the document (`url`). No variant ever holds the response
/// body or any part of it, except where the document's own issuer string is the point of the
/// error ([`DiscoveryError::IssuerMismatch`]) or an endpoint URL is refused
/// ([`DiscoveryError::UnusableEndpoint`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The request URL cannot be turned into an HTTP request (it is longer than the `http`
    /// crate accepts).
    #[error("cannot build a request for `{url}`; check the configured URL")]
    RequestUrl {
        /// The URL that was to be requested (shortened for display).
        url: String,
        /// Why the `http` crate refused it.
        #[source]
        source: InvalidRequestUrl,
    },
    /// The server answered with a status other than 2xx.
    #[error(
        "`{url}` answered with HTTP status {status}; check the FHIR base URL and that the server supports SMART on FHIR"
    )]
    Status {
        /// The URL of the document.
        url: String,
        /// The status the server sent.
        status: StatusCode,
    },
    /// The body is not a JSON object: empty, not UTF-8, not JSON, not an object, a repeated
    /// key, or nested too deeply. The reason is the [`source`](std::error::Error::source).
    #[error(
        "the response from `{url}`{} is not a usable JSON object; check that the URL points at a SMART on FHIR server",
        content_type_note(content_type.as_deref())
    )]
    Body {
        /// The URL of the document.
        url: String,
        /// The `Content-Type` the server sent, when it sent a readable one (cut to 64
        /// characters).
        content_type: Option<String>,
        /// What is wrong with the body. Never contains content from the body, except
        /// the repeated key of [`JsonError::DuplicateKey`].
        #[source]
        reason: JsonError,
    },
    /// The document points an endpoint that receives credentials, tokens or keys at a URL the
    /// [`TransportPolicy`](smart_core::TransportPolicy) refuses (`http://`, another scheme, no
    /// host) or at something that is not a URL.
    #[error(
        "refusing the document from `{url}`: its {field} `{endpoint}` cannot be used (only https:// endpoints, or http:// on loopback with allow_insecure_localhost, may receive credentials, tokens or keys)"
    )]
    UnusableEndpoint {
        /// The URL of the document.
        url: String,
        /// The document field that holds the endpoint.
        field: &'static str,
        /// The endpoint, as shown in messages (passwords redacted, long URLs cut).
        endpoint: String,
        /// What is wrong with the endpoint.
        #[source]
        source: UrlError,
    },
    /// The CapabilityStatement has no `oauth-uris` extension with any endpoint in it.
    #[error(
        "the CapabilityStatement at `{url}` advertises no SMART endpoints (no oauth-uris extension under rest[].security.extension[]); the server may not support SMART on FHIR"
    )]
    NoSmartEndpoints {
        /// The URL of the document.
        url: String,
    },
    /// A field the document must have is absent, not a string, or empty.
    #[error("the document at `{url}` has no usable `{field}`")]
    MissingField {
        /// The URL of the document.
        url: String,
        /// The missing field.
        field: &'static str,
    },
    /// The OpenID configuration names another issuer than the one it was fetched for.
    #[error(
        "the OpenID configuration at `{url}` names the issuer \"{found}\", but \"{expected}\" was expected; issuers are compared as exact strings{}",
        trailing_slash_hint(expected, found)
    )]
    IssuerMismatch {
        /// The URL of the document.
        url: String,
        /// The issuer the configuration was fetched for.
        expected: String,
        /// The issuer the document names (shortened for display).
        found: String,
    },
}

/// The `http` crate's refusal of a request URL, such as a URL longer than it accepts
/// (65534 bytes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the http crate refuses the URL ({reason}; it is {len} bytes long)")]
pub struct InvalidRequestUrl {
    reason: String,
    len: usize,
}

impl InvalidRequestUrl {
    pub(crate) fn new(error: &http::Error, len: usize) -> Self {
        Self {
            reason: error.to_string(),
            len,
        }
    }

    /// Length of the refused URL, in bytes.
    #[must_use]
    pub fn url_len(&self) -> usize {
        self.len
    }
}

fn content_type_note(content_type: Option<&str>) -> String {
    content_type.map_or_else(String::new, |ct| format!(" (Content-Type `{ct}`)"))
}

fn trailing_slash_hint(expected: &str, found: &str) -> &'static str {
    if expected != found && expected.trim_end_matches('/') == found.trim_end_matches('/') {
        " (they differ only by a trailing slash: configure the issuer exactly as the server writes it)"
    } else {
        ""
    }
}
