//! Dynamic client registration answers (RFC 7591 §3.2.1).

use core::fmt;

use serde_json::{Map, Value};
use smart_core::ClientId;
use smart_core::json::{field_names, kind};
use smart_token::{AccessToken, ClientSecret};

use crate::error::ClientError;

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
    pub(crate) fn from_object(mut object: Map<String, Value>) -> Result<Self, ClientError> {
        let client_id = match object.remove("client_id") {
            None => {
                return Err(ClientError::RegistrationResponse {
                    received_fields: field_names(&object),
                });
            }
            Some(Value::String(id)) => ClientId::parse(id).map_err(|error| match error {
                smart_core::ClientIdError::Blank => ClientError::RegisteredClientId {
                    found: "blank string",
                },
                _ => ClientError::RegisteredClientId {
                    found: "string with control characters",
                },
            })?,
            Some(other) => {
                return Err(ClientError::RegisteredClientId {
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

    fn registration(value: Value) -> Result<Registration, ClientError> {
        let Value::Object(object) = value else {
            panic!("not an object")
        };
        Registration::from_object(object)
    }

    #[test]
    fn field_names_in_errors_are_cleaned() {
        let long = "n".repeat(100);
        let err = registration(json!({
            "client\u{1b}[31m_secret\nX": "LEAK-ME",
            long.clone(): 1,
        }))
        .unwrap_err();
        let ClientError::RegistrationResponse { received_fields } = &err else {
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
                matches!(&err, ClientError::RegisteredClientId { found: f } if *f == found),
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
            matches!(err, ClientError::RegistrationResponse { .. }),
            "{err:?}"
        );
    }
}
