//! Reading a token response's fields leniently: each departure from the spec worked around
//! and listed as a [`Deviation`].

use core::fmt;

use serde_json::{Map, Value};
use smart_core::escape_text;
use smart_core::json::kind;

use crate::scope::{ScopeError, ScopeSet};

/// A way a server's answer departed from the spec, met while parsing and worked around.
/// Nothing is dropped silently: each departure is listed on the parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deviation {
    /// `expires_in` came as a string of digits (as Azure AD and others send it).
    ExpiresInString,
    /// `expires_in` came as a number with a fraction or exponent that is still whole.
    ExpiresInNotInteger,
    /// `expires_in` could not be used and was ignored; the reason says why.
    ExpiresInUnusable {
        /// Why: `negative`, `too large`, `not a number`, `fractional`.
        reason: &'static str,
    },
    /// `scope` came as an array of strings rather than one space-separated string.
    ScopeArray,
    /// `scope` is missing; it is read as the scopes requested (RFC 6749 §5.1).
    ScopeAssumed,
    /// A refreshed `id_token` did not verify and was removed from the answer; the reason
    /// says why (the access and refresh tokens are kept).
    IdTokenRefused {
        /// Why it was refused.
        reason: String,
    },
    /// The server granted scopes that no requested scope covers (it SHALL NOT grant more
    /// than was asked; a narrowing refresh that gets the wider grant back is reported too).
    ScopeBeyondRequest {
        /// The scopes granted beyond the request.
        scopes: Vec<String>,
    },
    /// A scope token breaks the SMART grammar; it is kept as an opaque scope.
    InvalidScope(ScopeError),
    /// A field had the wrong JSON type and was ignored.
    WrongType {
        /// The field name.
        field: String,
        /// The type the spec gives it.
        expected: &'static str,
        /// The type received.
        found: &'static str,
    },
    /// `token_type` is missing; the token is used as a Bearer token.
    TokenTypeMissing,
    /// A boolean came as the string `"true"` or `"false"`.
    BooleanString {
        /// The field name.
        field: &'static str,
    },
    /// A `fhirContext` item is a bare reference string (the SMART 2.0 shape); it is read as
    /// `{"reference": ...}`.
    FhirContextString {
        /// Index of the item.
        index: usize,
    },
    /// A `fhirContext` item has none of `reference`, `canonical` or `identifier`; it is ignored.
    FhirContextItemEmpty {
        /// Index of the item.
        index: usize,
    },
    /// A field is an empty (or all-whitespace) string; it is treated as absent, as safire's
    /// `present?` does (an empty `refresh_token` is no refresh token, an empty `token_type` is a
    /// missing one). The one exception is `scope`: an empty `scope` (string or array) is kept as
    /// an empty granted set — nothing granted — so that
    /// [`TokenResponse::assume_scope`](crate::TokenResponse::assume_scope) never reads it as "everything requested"; `validate`
    /// reports it as [`Finding::Missing`](crate::Finding::Missing)`("scope")`.
    EmptyString {
        /// The field name.
        field: &'static str,
    },
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExpiresInString => f.write_str("expires_in is a string; read as a number"),
            Self::ExpiresInNotInteger => {
                f.write_str("expires_in is not written as an integer; read as whole seconds")
            }
            Self::ExpiresInUnusable { reason } => write!(
                f,
                "expires_in is {reason}; ignored, so the expiry is unknown"
            ),
            Self::ScopeArray => f.write_str("scope is an array; read as a space-separated list"),
            Self::IdTokenRefused { reason } => write!(
                f,
                "the refreshed id_token was removed: {}",
                escape_text(reason)
            ),
            Self::ScopeAssumed => {
                f.write_str("scope is missing; read as the scopes requested (RFC 6749 section 5.1)")
            }
            Self::ScopeBeyondRequest { scopes } => write!(
                f,
                "the server granted more than was requested: {}",
                scopes
                    .iter()
                    .map(|scope| smart_core::display_text(scope, 128))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Self::InvalidScope(error) => write!(
                f,
                "{}; kept as an opaque scope",
                escape_text(&error.to_string())
            ),
            Self::WrongType {
                field,
                expected,
                found,
            } => {
                write!(f, "{field} is a {found}, not a {expected}; ignored")
            }
            Self::TokenTypeMissing => f.write_str("token_type is missing; used as a Bearer token"),
            Self::BooleanString { field } => write!(f, "{field} is a string; read as a boolean"),
            Self::FhirContextString { index } => write!(
                f,
                "fhirContext[{index}] is a bare string (SMART 2.0 shape); read as a reference"
            ),
            Self::FhirContextItemEmpty { index } => write!(
                f,
                "fhirContext[{index}] has none of reference, canonical or identifier; ignored"
            ),
            Self::EmptyString { field: "scope" } => {
                f.write_str("scope is empty; read as no scopes granted (not as the requested ones)")
            }
            Self::EmptyString { field } => {
                write!(f, "{field} is an empty string; treated as absent")
            }
        }
    }
}

/// Removes and returns `field` when it is a string; records a deviation when it is something
/// else.
pub(crate) fn take_string(
    object: &mut Map<String, Value>,
    field: &str,
    deviations: &mut Vec<Deviation>,
) -> Option<String> {
    match object.remove(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => {
            deviations.push(Deviation::WrongType {
                field: field.to_owned(),
                expected: "string",
                found: kind(&other),
            });
            None
        }
    }
}

/// As [`take_string`], but an empty or all-whitespace string is recorded as
/// [`Deviation::EmptyString`] and treated as absent.
pub(crate) fn take_present_string(
    object: &mut Map<String, Value>,
    field: &'static str,
    deviations: &mut Vec<Deviation>,
) -> Option<String> {
    let text = take_string(object, field, deviations)?;
    if text.trim().is_empty() {
        deviations.push(Deviation::EmptyString { field });
        return None;
    }
    Some(text)
}

pub(super) fn take_bool(
    object: &mut Map<String, Value>,
    field: &'static str,
    deviations: &mut Vec<Deviation>,
) -> Option<bool> {
    match object.remove(field) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(flag)) => Some(flag),
        Some(Value::String(text)) if text == "true" || text == "false" => {
            deviations.push(Deviation::BooleanString { field });
            Some(text == "true")
        }
        Some(other) => {
            deviations.push(Deviation::WrongType {
                field: field.to_owned(),
                expected: "boolean",
                found: kind(&other),
            });
            None
        }
    }
}

/// Reads a whole number of seconds (`expires_in`), tolerating strings and whole floats.
pub(super) fn take_seconds(
    object: &mut Map<String, Value>,
    field: &str,
    deviations: &mut Vec<Deviation>,
) -> Option<u64> {
    let unusable = |deviations: &mut Vec<Deviation>, reason| {
        deviations.push(Deviation::ExpiresInUnusable { reason });
        None
    };
    match object.remove(field)? {
        Value::Null => None,
        Value::Number(number) => {
            if let Some(seconds) = number.as_u64() {
                Some(seconds)
            } else if number.as_i64().is_some() {
                unusable(deviations, "negative")
            } else {
                let value = number.as_f64().unwrap_or(f64::NAN);
                if value < 0.0 {
                    unusable(deviations, "negative")
                } else if value.fract() != 0.0 {
                    unusable(deviations, "fractional")
                } else if value >= 18_446_744_073_709_551_616.0 {
                    unusable(deviations, "too large")
                } else {
                    deviations.push(Deviation::ExpiresInNotInteger);
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "checked above: a whole, non-negative value below 2^64"
                    )]
                    Some(value as u64)
                }
            }
        }
        Value::String(text) => match text.trim().parse::<u64>() {
            Ok(seconds) => {
                deviations.push(Deviation::ExpiresInString);
                Some(seconds)
            }
            Err(_) if text.trim().starts_with('-') => unusable(deviations, "negative"),
            Err(_)
                if !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit()) =>
            {
                unusable(deviations, "too large")
            }
            Err(_) => unusable(deviations, "not a number"),
        },
        _ => unusable(deviations, "not a number"),
    }
}

/// Reads `scope` as a string, or as an array of strings (a deviation). An empty string or
/// array is an empty set (with [`Deviation::EmptyString`]), never `None`: `None` means "the
/// server did not say", which [`TokenResponse::assume_scope`](crate::TokenResponse::assume_scope) fills with the requested scopes,
/// and an empty grant must not fail open that way.
pub(crate) fn take_scope(
    object: &mut Map<String, Value>,
    deviations: &mut Vec<Deviation>,
) -> Option<ScopeSet> {
    let text = match object.remove("scope")? {
        Value::Null => return None,
        Value::String(text) => text,
        Value::Array(items) if items.iter().all(Value::is_string) => {
            deviations.push(Deviation::ScopeArray);
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        }
        other => {
            deviations.push(Deviation::WrongType {
                field: "scope".to_owned(),
                expected: "string",
                found: kind(&other),
            });
            return None;
        }
    };
    if text.trim().is_empty() {
        deviations.push(Deviation::EmptyString { field: "scope" });
        return Some(ScopeSet::new());
    }
    let (set, errors) = ScopeSet::parse_lenient(&text);
    deviations.extend(errors.into_iter().map(Deviation::InvalidScope));
    Some(set)
}
