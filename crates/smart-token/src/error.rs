//! OAuth error responses (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7591 §3.2.2) and this crate's
//! error type.

use core::fmt;

use smart_core::json::{JsonError, parse_object};
use smart_core::{Redactions, clean_server_text};

use crate::auth_method::AuthMethod;
use crate::scope::ScopeError;

/// Which endpoint a request went to, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// The token endpoint (code exchange, refresh, client credentials).
    Token,
    /// The introspection endpoint (RFC 7662).
    Introspection,
    /// The revocation endpoint (RFC 7009).
    Revocation,
    /// The registration endpoint (RFC 7591).
    Registration,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token => "token request",
            Self::Introspection => "introspection request",
            Self::Revocation => "revocation request",
            Self::Registration => "client registration",
        })
    }
}

/// The OAuth `error` code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`.
    InvalidClient,
    /// `invalid_grant`.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`.
    InvalidScope,
    /// `access_denied`.
    AccessDenied,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`.
    TemporarilyUnavailable,
    /// `unsupported_token_type` (RFC 7009).
    UnsupportedTokenType,
    /// `invalid_token` (RFC 6750).
    InvalidToken,
    /// `invalid_redirect_uri` (RFC 7591).
    InvalidRedirectUri,
    /// `invalid_client_metadata` (RFC 7591).
    InvalidClientMetadata,
    /// Any other code, as sent (cut to 300 characters).
    Unknown(String),
}

impl ErrorCode {
    /// Reads a code as sent by a server.
    #[must_use]
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "access_denied" => Self::AccessDenied,
            "unsupported_response_type" => Self::UnsupportedResponseType,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            "unsupported_token_type" => Self::UnsupportedTokenType,
            "invalid_token" => Self::InvalidToken,
            "invalid_redirect_uri" => Self::InvalidRedirectUri,
            "invalid_client_metadata" => Self::InvalidClientMetadata,
            other => Self::Unknown(clean_server_text(other)),
        }
    }

    /// The code as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidToken => "invalid_token",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::Unknown(code) => code,
        }
    }

    /// What usually fixes it, when there is something the app can do.
    #[must_use]
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::InvalidClient => Some(
                "check the client_id, the client secret or signing key, and the authentication method registered with the server",
            ),
            Self::InvalidGrant => Some(
                "the code or refresh token is invalid, expired or already used, or the redirect_uri or code_verifier does not match: start a new authorization",
            ),
            Self::UnauthorizedClient => Some("the client is not registered for this grant type"),
            Self::InvalidScope => Some("ask only for scopes registered for this client"),
            Self::AccessDenied => Some("the user or the server declined the request"),
            Self::TemporarilyUnavailable | Self::ServerError => {
                Some("the server has a problem; retry later")
            }
            _ => None,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most characters of a non-JSON error body an [`OAuthError`] keeps.
pub const MAX_BODY_EXCERPT: usize = 200;

/// A server's answer with a non-2xx status: its status and, when the body was an OAuth error
/// object, the error fields; when the body was not JSON at all (an error page, plain text), a
/// short cleaned excerpt of it. A JSON error body without the fields gives a status-only error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    operation: Operation,
    status: u16,
    error: Option<ErrorCode>,
    error_description: Option<String>,
    error_uri: Option<String>,
    excerpt: Option<String>,
}

impl OAuthError {
    /// Reads an error response: status always, `error`, `error_description` and `error_uri`
    /// when the body is a JSON object carrying them as strings, and an excerpt of a body that
    /// is not JSON ([`OAuthError::body_excerpt`]).
    ///
    /// The server's text is kept as sent (cleaned and cut). When the client knows what the
    /// request carried, use [`OAuthError::from_response_redacting`], so that a secret the
    /// server echoes back is not shown.
    #[must_use]
    pub fn from_response(operation: Operation, status: u16, body: &[u8]) -> Self {
        Self::from_response_redacting(operation, status, body, &Redactions::new())
    }

    /// As [`OAuthError::from_response`], with every secret of the failed request (see
    /// [`crate::request_redactions`]) replaced by `[redacted]` in the server's text before it
    /// is cleaned and cut, so that no piece of a secret survives the cut either.
    ///
    /// ```
    /// use smart_core::Redactions;
    /// use smart_token::{OAuthError, Operation};
    ///
    /// let mut sent = Redactions::new();
    /// sent.secret("hunter2");
    /// let body = br#"{"error": "invalid_client", "error_description": "secret hunter2 is wrong"}"#;
    /// let error = OAuthError::from_response_redacting(Operation::Token, 401, body, &sent);
    /// assert_eq!(error.error_description(), Some("secret [redacted] is wrong"));
    /// ```
    #[must_use]
    pub fn from_response_redacting(
        operation: Operation,
        status: u16,
        body: &[u8],
        redactions: &Redactions,
    ) -> Self {
        let parsed = parse_object(body);
        let object = parsed.as_ref().ok();
        let text = |name: &str| {
            object
                .and_then(|o| o.get(name))
                .and_then(serde_json::Value::as_str)
                .map(|text| clean_server_text(&redactions.redact(text)))
        };
        let excerpt = match &parsed {
            Err(JsonError::Syntax { .. } | JsonError::InvalidUtf8 { .. }) => {
                body_excerpt(body, redactions)
            }
            _ => None,
        };
        Self {
            operation,
            status,
            error: object
                .and_then(|o| o.get("error"))
                .and_then(serde_json::Value::as_str)
                .map(|code| ErrorCode::parse(&redactions.redact(code))),
            error_description: text("error_description"),
            error_uri: text("error_uri"),
            excerpt,
        }
    }

    /// The error without the server's `error_description` and `error_uri`: the endpoint, the
    /// status, the `error` code and the hint. For a caller that shows the description on a line
    /// of its own, so that it appears once.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut text = format!("{} failed — HTTP {}", self.operation, self.status);
        if let Some(error) = &self.error {
            text.push_str(" — ");
            text.push_str(error.as_str());
        }
        if let Some(excerpt) = &self.excerpt {
            text.push_str(" — the server said: \"");
            text.push_str(excerpt);
            text.push('"');
        }
        if let Some(hint) = self.error.as_ref().and_then(ErrorCode::hint) {
            text.push_str("; ");
            text.push_str(hint);
        }
        text
    }

    /// When the error body was not JSON (an HTML error page, plain text): its text, with tags
    /// removed, whitespace and control characters collapsed to single spaces, the secrets of
    /// the request redacted, and cut to [`MAX_BODY_EXCERPT`] characters.
    #[must_use]
    pub fn body_excerpt(&self) -> Option<&str> {
        self.excerpt.as_deref()
    }

    /// The endpoint that answered.
    #[must_use]
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The OAuth `error` code, if the body had one.
    #[must_use]
    pub fn error(&self) -> Option<&ErrorCode> {
        self.error.as_ref()
    }

    /// The server's `error_description` (control characters removed, cut to 300 characters).
    #[must_use]
    pub fn error_description(&self) -> Option<&str> {
        self.error_description.as_deref()
    }

    /// The server's `error_uri`.
    #[must_use]
    pub fn error_uri(&self) -> Option<&str> {
        self.error_uri.as_deref()
    }
}

/// [`smart_core::json::refuse_compressed`] for a response's `Content-Encoding`.
pub(crate) fn refuse_compressed(response: &http::Response<Vec<u8>>) -> Result<(), JsonError> {
    smart_core::json::refuse_compressed(
        response
            .headers()
            .get(http::header::CONTENT_ENCODING)
            .map(http::HeaderValue::as_bytes),
    )
}

/// The shown text of a body that is not JSON: tags dropped, whitespace and unsafe characters
/// collapsed, secrets redacted first, cut to [`MAX_BODY_EXCERPT`] characters.
fn body_excerpt(body: &[u8], redactions: &Redactions) -> Option<String> {
    let text = redactions.redact(&String::from_utf8_lossy(body));
    let mut plain = String::with_capacity(text.len().min(4 * MAX_BODY_EXCERPT));
    let mut in_tag = false;
    let mut space = false;
    let mut kept = 0;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                space = true;
            }
            _ if in_tag => {}
            c if c.is_whitespace() || smart_core::is_unsafe_char(c) => space = true,
            c => {
                if space && !plain.is_empty() {
                    plain.push(' ');
                    kept += 1;
                }
                space = false;
                if kept >= MAX_BODY_EXCERPT {
                    plain.push_str("...");
                    return Some(plain);
                }
                plain.push(c);
                kept += 1;
            }
        }
    }
    (!plain.is_empty()).then_some(plain)
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed — HTTP {}", self.operation, self.status)?;
        if let Some(error) = &self.error {
            write!(f, " — {error}")?;
        }
        if let Some(description) = &self.error_description {
            write!(f, " — {description}")?;
        }
        if let Some(excerpt) = &self.excerpt {
            write!(f, " — the server said: \"{excerpt}\"")?;
        }
        if let Some(uri) = &self.error_uri {
            write!(f, " (see {uri})")?;
        }
        if let Some(hint) = self.error.as_ref().and_then(ErrorCode::hint) {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OAuthError {}

/// Everything that can go wrong building a token-endpoint request or reading its answer.
/// No variant holds a token, secret, assertion, code or response body.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The server answered with a non-2xx status.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// A 2xx answer whose body is not a usable JSON object.
    #[error(
        "{operation} failed — HTTP {status}: the response is not a usable JSON object ({reason})"
    )]
    Body {
        /// The endpoint that answered.
        operation: Operation,
        /// The HTTP status.
        status: u16,
        /// What is wrong with the body.
        #[source]
        reason: JsonError,
    },
    /// A 2xx answer without a required field.
    #[error(
        "{operation} failed — HTTP {status}: the response has no usable `{field}`; received fields: {}",
        if received_fields.is_empty() { "none".to_owned() } else { received_fields.join(", ") }
    )]
    MissingField {
        /// The endpoint that answered.
        operation: Operation,
        /// The HTTP status.
        status: u16,
        /// The field that is missing or unusable.
        field: &'static str,
        /// The names (never the values) of the fields that were there: at most 30, control
        /// characters replaced, each cut to 64 characters ([`smart_core::json::field_names`]).
        received_fields: Vec<String>,
    },
    /// The token is not a Bearer token.
    #[error("token_type is `{token_type}`; this client supports only Bearer tokens")]
    UnsupportedTokenType {
        /// The `token_type` received (cut to 300 characters).
        token_type: String,
    },
    /// A `client_credentials` request with an empty scope set.
    #[error(
        "client_credentials needs at least one scope; pass no scope set to request the default system/*.rs"
    )]
    EmptyScope,
    /// A `client_credentials` request from a public client: the grant is for confidential
    /// clients only (RFC 6749 §4.4).
    #[error(
        "the client_credentials grant is for confidential clients only (RFC 6749 section 4.4); authenticate with private_key_jwt (SMART Backend Services), client_secret_basic or client_secret_post"
    )]
    PublicClientCredentials,
    /// The client secret is empty (or all whitespace), which servers read as no secret.
    #[error(
        "the client secret for {method} is empty; set the secret registered with the authorization server"
    )]
    EmptyClientSecret {
        /// `client_secret_basic` or `client_secret_post`.
        method: AuthMethod,
    },
    /// `client_secret_basic` with the raw encoding and a `client_id` containing `:`: the
    /// server would split `client_id:secret` at the wrong colon.
    #[error(
        "the client_id contains ':', which makes a raw client_secret_basic header ambiguous; call ClientAuth::with_rfc6749_basic_encoding() to use the RFC 6749 section 2.3.1 form encoding, or use client_secret_post"
    )]
    AmbiguousBasicCredentials,
    /// An extra parameter would replace one the protocol sets.
    #[error("the extra parameter `{name}` is set by the protocol and cannot be added")]
    ReservedParameter {
        /// The parameter name.
        name: String,
    },
    /// The endpoint URL could not be put into an HTTP request.
    #[error("the {endpoint} URL cannot be used in an HTTP request: `{url}`")]
    InvalidEndpoint {
        /// Which endpoint.
        endpoint: &'static str,
        /// The URL (password redacted).
        url: String,
    },
    /// A token has characters an HTTP header cannot carry (only visible ASCII is usable).
    #[error("the {field} contains characters an HTTP header cannot carry, so it cannot be sent")]
    UnusableToken {
        /// Which token.
        field: &'static str,
    },
    /// A scope string from the caller is invalid.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The client assertion could not be made.
    #[cfg(feature = "private-key-jwt")]
    #[error("could not sign the client assertion: {0}")]
    Assertion(#[source] smart_jwt_assertion::Error),
}

impl TokenError {
    /// The same error with every secret of the request replaced in the text the server chose
    /// (an unknown `token_type`, field names, a duplicated key).
    pub(crate) fn redacted(self, redactions: &Redactions) -> Self {
        if redactions.is_empty() {
            return self;
        }
        match self {
            Self::UnsupportedTokenType { token_type } => Self::UnsupportedTokenType {
                token_type: redactions.redact(&token_type),
            },
            Self::MissingField {
                operation,
                status,
                field,
                received_fields,
            } => Self::MissingField {
                operation,
                status,
                field,
                received_fields: received_fields
                    .iter()
                    .map(|name| redactions.redact(name))
                    .collect(),
            },
            Self::Body {
                operation,
                status,
                reason: JsonError::DuplicateKey { key },
            } => Self::Body {
                operation,
                status,
                reason: JsonError::DuplicateKey {
                    key: redactions.redact(&key),
                },
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_error_message_in_safire_format() {
        let err = OAuthError::from_response(
            Operation::Token,
            401,
            br#"{"error": "invalid_grant", "error_description": "Code expired"}"#,
        );
        assert_eq!(err.error(), Some(&ErrorCode::InvalidGrant));
        let text = err.to_string();
        assert!(
            text.starts_with("token request failed — HTTP 401 — invalid_grant — Code expired; "),
            "{text}"
        );
    }

    #[test]
    fn malformed_error_bodies_give_status_only() {
        for body in [
            &b""[..],
            b"   ",
            b"<html></html>",
            b"[]",
            br#"{"error": 42}"#,
        ] {
            let err = OAuthError::from_response(Operation::Revocation, 500, body);
            assert_eq!(err.to_string(), "revocation request failed — HTTP 500");
            assert_eq!(err.error(), None);
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_shown_as_a_cleaned_short_excerpt() {
        let err = OAuthError::from_response(
            Operation::Introspection,
            401,
            b"Authorization is required\r\n",
        );
        assert_eq!(
            err.to_string(),
            "introspection request failed — HTTP 401 — the server said: \"Authorization is required\""
        );
        assert_eq!(err.body_excerpt(), Some("Authorization is required"));
        let page = b"<!doctype html>\n<html><head><title>401</title></head>\n<body><h1>Unauthorized</h1>\n<p>Log \x1b[2Jin\xe2\x80\xae first</p></body></html>";
        let err = OAuthError::from_response(Operation::Token, 401, page);
        assert_eq!(err.body_excerpt(), Some("401 Unauthorized Log [2Jin first"));
        let long = "word ".repeat(100);
        let err = OAuthError::from_response(Operation::Token, 502, long.as_bytes());
        let excerpt = err.body_excerpt().unwrap();
        assert_eq!(excerpt.chars().count(), MAX_BODY_EXCERPT + 3, "{excerpt}");
        assert!(excerpt.ends_with("..."));
        // Invalid UTF-8 is shown replaced, never an error.
        let err = OAuthError::from_response(Operation::Token, 500, b"bad \xff gateway");
        assert_eq!(err.body_excerpt(), Some("bad \u{fffd} gateway"));
        // A JSON error body never gives an excerpt.
        let err = OAuthError::from_response(Operation::Token, 400, br#"{"detail": "x"}"#);
        assert_eq!(err.body_excerpt(), None);
    }

    #[test]
    fn the_summary_leaves_out_what_is_shown_on_lines_of_its_own() {
        let err = OAuthError::from_response(
            Operation::Token,
            401,
            br#"{"error": "invalid_client", "error_description": "Bad creds", "error_uri": "https://e.example/x"}"#,
        );
        assert_eq!(
            err.summary(),
            "token request failed — HTTP 401 — invalid_client; check the client_id, the client secret or signing key, and the authentication method registered with the server"
        );
        assert!(err.to_string().contains("Bad creds"));
    }

    #[test]
    fn server_text_is_cleaned_and_bounded() {
        let long = format!(
            "{{\"error\": \"x\", \"error_description\": \"{}\\n{}\"}}",
            "a".repeat(10),
            "b".repeat(1000)
        );
        let err = OAuthError::from_response(Operation::Token, 400, long.as_bytes());
        let description = err.error_description().unwrap();
        assert!(!description.contains('\n'));
        assert!(description.len() <= 303);
        assert_eq!(err.error(), Some(&ErrorCode::Unknown("x".to_owned())));
    }
}
