//! Introspection (RFC 7662) and revocation (RFC 7009) answers.

use core::fmt;

use serde_json::{Map, Value};
use smart_core::Redactions;
use smart_core::escape_text;
use smart_core::json::{field_names, kind, parse_object};

use crate::error::{OAuthError, Operation, TokenError};
use crate::response::{Deviation, LaunchContext, take_scope, take_string};
use crate::scope::ScopeSet;

/// What an introspection endpoint says about a token (RFC 7662 §2.2, with the SMART fields of
/// [token-introspection.html](https://hl7.org/fhir/smart-app-launch/STU2.2/token-introspection.html)).
///
/// ```
/// use smart_token::IntrospectionResponse;
///
/// let body = br#"{"active": true, "scope": "patient/*.rs", "client_id": "app", "exp": 1700000300, "patient": "p1"}"#;
/// let response = http::Response::builder().status(200).body(body.to_vec())?;
/// let info = IntrospectionResponse::from_response(&response)?;
/// assert!(info.active());
/// assert_eq!(info.client_id(), Some("app"));
/// assert_eq!(info.context().patient(), Some("p1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct IntrospectionResponse {
    active: bool,
    scope: Option<ScopeSet>,
    client_id: Option<String>,
    username: Option<String>,
    token_type: Option<String>,
    exp: Option<u64>,
    iat: Option<u64>,
    sub: Option<String>,
    iss: Option<String>,
    aud: Vec<String>,
    fhir_user: Option<String>,
    context: LaunchContext,
    extra: Map<String, Value>,
    deviations: Vec<Deviation>,
}

fn take_time(
    object: &mut Map<String, Value>,
    field: &str,
    deviations: &mut Vec<Deviation>,
) -> Option<u64> {
    match object.remove(field)? {
        Value::Number(number) if number.as_u64().is_some() => number.as_u64(),
        Value::Null => None,
        other => {
            deviations.push(Deviation::WrongType {
                field: field.to_owned(),
                expected: "non-negative integer",
                found: kind(&other),
            });
            None
        }
    }
}

impl IntrospectionResponse {
    /// Reads an introspection endpoint's answer.
    ///
    /// # Errors
    ///
    /// [`TokenError::OAuth`] for a non-2xx status, [`TokenError::Body`] for a body that is not
    /// a usable JSON object, [`TokenError::MissingField`] when `active` is not a boolean.
    pub fn from_response(response: &http::Response<Vec<u8>>) -> Result<Self, TokenError> {
        Self::from_response_redacting(response, &Redactions::new())
    }

    /// As [`IntrospectionResponse::from_response`], with the secrets of the request (the
    /// token asked about, the client's credentials or Bearer token: its
    /// [`crate::request_redactions`]) replaced by `[redacted]` in the server's error text.
    ///
    /// # Errors
    ///
    /// As [`IntrospectionResponse::from_response`].
    pub fn from_response_redacting(
        response: &http::Response<Vec<u8>>,
        redactions: &Redactions,
    ) -> Result<Self, TokenError> {
        Self::read(response).map_err(|error| match error {
            TokenError::OAuth(_) => OAuthError::from_response_redacting(
                Operation::Introspection,
                response.status().as_u16(),
                response.body(),
                redactions,
            )
            .into(),
            other => other.redacted(redactions),
        })
    }

    fn read(response: &http::Response<Vec<u8>>) -> Result<Self, TokenError> {
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(OAuthError::from_response(
                Operation::Introspection,
                status,
                response.body(),
            )
            .into());
        }
        let mut object = crate::error::refuse_compressed(response)
            .and_then(|()| parse_object(response.body()))
            .map_err(|reason| TokenError::Body {
                operation: Operation::Introspection,
                status,
                reason,
            })?;
        let mut deviations = Vec::new();
        let active = match object.get("active") {
            Some(Value::Bool(active)) => *active,
            Some(Value::String(text)) if text == "true" || text == "false" => {
                deviations.push(Deviation::BooleanString { field: "active" });
                text == "true"
            }
            _ => {
                return Err(TokenError::MissingField {
                    operation: Operation::Introspection,
                    status,
                    field: "active",
                    received_fields: field_names(&object),
                });
            }
        };
        object.remove("active");
        let scope = take_scope(&mut object, &mut deviations);
        let aud = match object.remove("aud") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(aud)) => vec![aud],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .into_iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            Some(other) => {
                deviations.push(Deviation::WrongType {
                    field: "aud".to_owned(),
                    expected: "string or array of strings",
                    found: kind(&other),
                });
                Vec::new()
            }
        };
        Ok(Self {
            active,
            scope,
            client_id: take_string(&mut object, "client_id", &mut deviations),
            username: take_string(&mut object, "username", &mut deviations),
            token_type: take_string(&mut object, "token_type", &mut deviations),
            exp: take_time(&mut object, "exp", &mut deviations),
            iat: take_time(&mut object, "iat", &mut deviations),
            sub: take_string(&mut object, "sub", &mut deviations),
            iss: take_string(&mut object, "iss", &mut deviations),
            aud,
            fhir_user: take_string(&mut object, "fhirUser", &mut deviations),
            context: LaunchContext::take(&mut object, &mut deviations),
            extra: object,
            deviations,
        })
    }

    /// Whether the token is active. An inactive answer says nothing else.
    #[must_use]
    pub fn active(&self) -> bool {
        self.active
    }

    /// The token's scopes.
    #[must_use]
    pub fn scope(&self) -> Option<&ScopeSet> {
        self.scope.as_ref()
    }

    /// The client the token was issued to.
    #[must_use]
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The resource owner's username.
    #[must_use]
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The token type.
    #[must_use]
    pub fn token_type(&self) -> Option<&str> {
        self.token_type.as_deref()
    }

    /// Expiry, in seconds since the Unix epoch.
    #[must_use]
    pub fn exp(&self) -> Option<u64> {
        self.exp
    }

    /// Issue time, in seconds since the Unix epoch.
    #[must_use]
    pub fn iat(&self) -> Option<u64> {
        self.iat
    }

    /// The subject.
    #[must_use]
    pub fn sub(&self) -> Option<&str> {
        self.sub.as_deref()
    }

    /// The issuer.
    #[must_use]
    pub fn iss(&self) -> Option<&str> {
        self.iss.as_deref()
    }

    /// The audiences.
    #[must_use]
    pub fn aud(&self) -> &[String] {
        &self.aud
    }

    /// The `fhirUser` of the token's user.
    #[must_use]
    pub fn fhir_user(&self) -> Option<&str> {
        self.fhir_user.as_deref()
    }

    /// The launch context bound to the token.
    #[must_use]
    pub fn context(&self) -> &LaunchContext {
        &self.context
    }

    /// Every other field.
    #[must_use]
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// How the answer departed from RFC 7662.
    #[must_use]
    pub fn deviations(&self) -> &[Deviation] {
        &self.deviations
    }
}

/// Reads a revocation endpoint's answer: any 2xx means revoked (RFC 7009 §2.2; the body is
/// ignored).
///
/// # Errors
///
/// [`TokenError::OAuth`] for anything else (for example `unsupported_token_type`, or 503 when
/// the server asks to retry).
pub fn revocation_response(response: &http::Response<Vec<u8>>) -> Result<(), TokenError> {
    revocation_response_redacting(response, &Redactions::new())
}

/// As [`revocation_response`], with the secrets of the request (its
/// [`crate::request_redactions`]) replaced by `[redacted]` in the server's error text.
///
/// # Errors
///
/// As [`revocation_response`].
pub fn revocation_response_redacting(
    response: &http::Response<Vec<u8>>,
    redactions: &Redactions,
) -> Result<(), TokenError> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(OAuthError::from_response_redacting(
            Operation::Revocation,
            response.status().as_u16(),
            response.body(),
            redactions,
        )
        .into())
    }
}

impl fmt::Display for IntrospectionResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.active {
            write!(f, "active")?;
            if let Some(client) = &self.client_id {
                write!(f, ", client {}", escape_text(client))?;
            }
            if let Some(scope) = &self.scope {
                write!(f, ", scope \"{}\"", escape_text(&scope.to_string()))?;
            }
            Ok(())
        } else {
            f.write_str("inactive")
        }
    }
}
