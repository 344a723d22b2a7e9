//! Dynamic client registration (RFC 7591): the request (client metadata as JSON, an
//! optional initial access token) and the answer (the registered client), beside the other
//! grants. The client shells send the request to the discovered `registration_endpoint`.

use core::fmt;

use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value};
use smart_core::json::{field_names, kind, parse_object};
use smart_core::{ClientId, EndpointUrl, Redactions, display_url};

use crate::error::{OAuthError, Operation, TokenError};
use crate::request::bearer_header;
use crate::secrets::{AccessToken, ClientSecret};

/// A registration request: the metadata's JSON, the initial access token's `Bearer` header
/// when there is one, and the secrets to redact from the answer.
#[derive(Clone)]
pub struct RegistrationRequest {
    body: Vec<u8>,
    bearer: Option<HeaderValue>,
    redactions: Redactions,
}

impl fmt::Debug for RegistrationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationRequest")
            .field("body_bytes", &self.body.len())
            .field("initial_access_token", &self.bearer.is_some())
            .finish_non_exhaustive()
    }
}

impl RegistrationRequest {
    /// A request registering `metadata` (`client_name`, `redirect_uris`, `grant_types`,
    /// `jwks`, ...), with `initial_access_token` as a `Bearer` token when the server needs
    /// one.
    ///
    /// # Errors
    ///
    /// [`TokenError::UnusableToken`] for an initial access token that cannot be a header.
    pub fn new(
        metadata: &Map<String, Value>,
        initial_access_token: Option<&AccessToken>,
    ) -> Result<Self, TokenError> {
        let body = serde_json::to_vec(metadata).unwrap_or_default();
        let bearer = initial_access_token.map(bearer_header).transpose()?;
        let mut redactions = Redactions::new();
        if let Some(token) = initial_access_token {
            redactions.secret(token.expose_secret());
        }
        Ok(Self {
            body,
            bearer,
            redactions,
        })
    }

    /// The `POST` to `endpoint`.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidEndpoint`] when `endpoint` cannot be a request URI.
    pub fn build(&self, endpoint: &EndpointUrl) -> Result<http::Request<Vec<u8>>, TokenError> {
        let mut request = http::Request::post(endpoint.url().as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(self.body.clone())
            .map_err(|_| TokenError::InvalidEndpoint {
                endpoint: "registration endpoint",
                url: display_url(endpoint.as_str()),
            })?;
        if let Some(bearer) = &self.bearer {
            request.headers_mut().insert(AUTHORIZATION, bearer.clone());
        }
        Ok(request)
    }

    /// The request's secrets (the initial access token), for [`Registration::parse`].
    #[must_use]
    pub fn redactions(&self) -> &Redactions {
        &self.redactions
    }
}

/// Why a registration answer is not a registered client. No variant holds a secret or a
/// field's value. (Exhaustive: smart-client maps each variant to its own error.)
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The server refused the registration (its OAuth error, secrets redacted).
    #[error(transparent)]
    Refused(OAuthError),
    /// A 2xx answer that is not a JSON object.
    #[error(transparent)]
    Body(TokenError),
    /// The answer has no `client_id`.
    #[error("client registration failed: the response has no client_id; received fields: {}", if received_fields.is_empty() { "none".to_owned() } else { received_fields.join(", ") })]
    NoClientId {
        /// The names (never the values) of the fields received, control characters replaced,
        /// each cut to 64 characters, at most 30.
        received_fields: Vec<String>,
    },
    /// The answer has a `client_id`, but not a usable one.
    #[error(
        "client registration failed: client_id must be a non-blank string without control characters, but the server sent: {found}; report it to the server's operator"
    )]
    ClientId {
        /// What was received instead, never the value: its JSON type (`number`, `null`,
        /// `array`, ... as [`smart_core::json::kind`] names it), `blank string` or
        /// `string with control characters`.
        found: &'static str,
    },
}

/// A registered client: its `client_id`, the secret when the server issued one, and the
/// metadata the server returned.
#[derive(Clone)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields carry RFC 7591's names, which start with registration_"
)]
pub struct Registration {
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    registration_access_token: Option<AccessToken>,
    registration_client_uri: Option<String>,
    client_id_issued_at: Option<u64>,
    client_secret_expires_at: Option<u64>,
    metadata: Map<String, Value>,
}

impl Registration {
    /// Reads a registration answer (RFC 7591 §3.2): a 2xx with the registered client, or
    /// the server's error. `redactions` are the secrets of the request
    /// ([`RegistrationRequest::redactions`]): an error description that echoes them shows
    /// `[redacted]`.
    ///
    /// # Errors
    ///
    /// [`RegistrationError::Refused`] for the server's error, [`RegistrationError::Body`]
    /// for a 2xx that is not a JSON object, [`RegistrationError::NoClientId`] and
    /// [`RegistrationError::ClientId`] for one without a usable `client_id`.
    pub fn parse(
        response: &http::Response<Vec<u8>>,
        redactions: &Redactions,
    ) -> Result<Self, RegistrationError> {
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(RegistrationError::Refused(
                OAuthError::from_response_redacting(
                    Operation::Registration,
                    status,
                    response.body(),
                    redactions,
                ),
            ));
        }
        let object = parse_object(response.body()).map_err(|reason| {
            RegistrationError::Body(TokenError::Body {
                operation: Operation::Registration,
                status,
                reason,
            })
        })?;
        Self::from_object(object)
    }

    fn from_object(mut object: Map<String, Value>) -> Result<Self, RegistrationError> {
        let client_id = match object.remove("client_id") {
            None => {
                return Err(RegistrationError::NoClientId {
                    received_fields: field_names(&object),
                });
            }
            Some(Value::String(id)) => ClientId::parse(id).map_err(|error| match error {
                smart_core::ClientIdError::Blank => RegistrationError::ClientId {
                    found: "blank string",
                },
                _ => RegistrationError::ClientId {
                    found: "string with control characters",
                },
            })?,
            Some(other) => {
                return Err(RegistrationError::ClientId {
                    found: kind(&other),
                });
            }
        };
        let mut text = |name: &str| match object.remove(name) {
            Some(Value::String(value)) if !value.is_empty() => Some(value),
            _ => None,
        };
        let client_secret = text("client_secret").map(ClientSecret::new);
        let registration_access_token = text("registration_access_token").map(AccessToken::new);
        let registration_client_uri = text("registration_client_uri");
        let mut number = |name: &str| object.remove(name).and_then(|value| value.as_u64());
        let client_id_issued_at = number("client_id_issued_at");
        let client_secret_expires_at = number("client_secret_expires_at");
        Ok(Self {
            client_id,
            client_secret,
            registration_access_token,
            registration_client_uri,
            client_id_issued_at,
            client_secret_expires_at,
            metadata: object,
        })
    }

    /// The new client id.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The client secret, when the server issued one.
    #[must_use]
    pub fn client_secret(&self) -> Option<&ClientSecret> {
        self.client_secret.as_ref()
    }

    /// The token for managing the registration (RFC 7592), when issued.
    #[must_use]
    pub fn registration_access_token(&self) -> Option<&AccessToken> {
        self.registration_access_token.as_ref()
    }

    /// Where the registration can be managed (RFC 7592), when given.
    #[must_use]
    pub fn registration_client_uri(&self) -> Option<&str> {
        self.registration_client_uri.as_deref()
    }

    /// When the client id was issued, in seconds since the Unix epoch.
    #[must_use]
    pub fn client_id_issued_at(&self) -> Option<u64> {
        self.client_id_issued_at
    }

    /// When the secret expires (0: never), in seconds since the Unix epoch.
    #[must_use]
    pub fn client_secret_expires_at(&self) -> Option<u64> {
        self.client_secret_expires_at
    }

    /// Every other field the server returned (redirect URIs, grant types, scope, ...).
    #[must_use]
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            client_id,
            client_secret,
            registration_access_token,
            registration_client_uri,
            client_id_issued_at,
            client_secret_expires_at,
            metadata,
        } = self;
        f.debug_struct("Registration")
            .field("client_id", client_id)
            .field("client_secret", client_secret)
            .field("registration_access_token", registration_access_token)
            .field("registration_client_uri", registration_client_uri)
            .field("client_id_issued_at", client_id_issued_at)
            .field("client_secret_expires_at", client_secret_expires_at)
            .field("metadata_fields", &metadata.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn registration(value: Value) -> Result<Registration, RegistrationError> {
        let Value::Object(object) = value else {
            panic!("not an object")
        };
        Registration::from_object(object)
    }

    #[test]
    fn the_request_posts_json_with_the_bearer_token_and_knows_its_secrets() {
        let metadata = json!({"client_name": "app", "redirect_uris": ["https://app.example/cb"]});
        let token = AccessToken::new("initial-LEAK");
        let request =
            RegistrationRequest::new(metadata.as_object().unwrap(), Some(&token)).unwrap();
        let endpoint = EndpointUrl::parse("https://ehr.example/register").unwrap();
        let http = request.build(&endpoint).unwrap();
        assert_eq!(http.method(), http::Method::POST);
        assert_eq!(http.headers()["content-type"], "application/json");
        assert_eq!(http.headers()["authorization"], "Bearer initial-LEAK");
        assert!(http.headers()["authorization"].is_sensitive());
        let sent: Value = serde_json::from_slice(http.body()).unwrap();
        assert_eq!(sent, metadata);
        let refused = http::Response::builder()
            .status(400)
            .body(
                br#"{"error":"invalid_client_metadata","error_description":"bad initial-LEAK"}"#
                    .to_vec(),
            )
            .unwrap();
        let err = Registration::parse(&refused, request.redactions()).unwrap_err();
        assert!(matches!(err, RegistrationError::Refused(_)), "{err:?}");
        assert!(!err.to_string().contains("initial-LEAK"), "{err}");
        assert!(!format!("{request:?}").contains("initial-LEAK"));
    }

    #[test]
    fn field_names_in_errors_are_cleaned() {
        let long = "n".repeat(100);
        let err = registration(json!({
            "client\u{1b}[31m_secret\nX": "LEAK-ME",
            long.clone(): 1,
        }))
        .unwrap_err();
        let RegistrationError::NoClientId { received_fields } = &err else {
            panic!("{err:?}")
        };
        let text = format!("{err} {err:?}");
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(!text.contains("LEAK-ME"), "{text}");
        assert!(
            received_fields.contains(&"client [31m_secret X".to_owned()),
            "{received_fields:?}"
        );
        assert!(
            received_fields.contains(&format!("{}...", &long[..64])),
            "{received_fields:?}"
        );
    }

    #[test]
    fn an_unusable_client_id_is_its_own_error() {
        for (value, found) in [
            (json!(""), "blank string"),
            (json!("   "), "blank string"),
            (json!("app\u{0}"), "string with control characters"),
            (json!(42), "number"),
            (json!(null), "null"),
            (json!(["app"]), "array"),
        ] {
            let err =
                registration(json!({"client_id": value, "client_secret": "LEAK-ME"})).unwrap_err();
            assert!(
                matches!(&err, RegistrationError::ClientId { found: f } if *f == found),
                "{err:?}"
            );
            let text = err.to_string();
            assert!(
                text.contains("client_id must be a non-blank string"),
                "{text}"
            );
            assert!(!text.contains("LEAK-ME"), "{text}");
        }
        let err = registration(json!({"client_secret": "LEAK-ME"})).unwrap_err();
        assert!(
            matches!(err, RegistrationError::NoClientId { .. }),
            "{err:?}"
        );
    }
}
