//! What a session holds: its latest token response with the refresh token kept, when it was
//! obtained and when it expires (and how that was decided), and the narrowed scope. Its
//! serde form is what stores keep.

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Serialize};
use smart_token::scope::ScopeSet;
use smart_token::{StoredTokenResponse, TokenResponse};

use crate::error::StoreError;

/// How a token's expiry was decided when the server sent no `expires_in` (a deviation from
/// the spec's recommendation, reported rather than hidden).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum ExpiryDeviation {
    /// No `expires_in`: the expiry is the access token's JWT `exp` claim (read, never
    /// verified: it only schedules the refresh).
    JwtExp,
    /// No `expires_in` and no JWT `exp`: the configured default lifetime was assumed.
    DefaultLifetime {
        /// The lifetime assumed, in seconds.
        assumed_seconds: u64,
    },
}

impl fmt::Display for ExpiryDeviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::JwtExp => f.write_str(
                "the token response has no expires_in; the access token's JWT exp is used",
            ),
            Self::DefaultLifetime { assumed_seconds } => write!(
                f,
                "the token response has no expires_in and the access token carries no exp; a lifetime of {assumed_seconds} s is assumed"
            ),
        }
    }
}

/// The session's tokens and their timing.
#[derive(Clone)]
pub(crate) struct Record {
    pub(crate) token: TokenResponse,
    /// When the request that obtained the token was sent.
    pub(crate) issued_at: SystemTime,
    pub(crate) expires_at: SystemTime,
    pub(crate) deviation: Option<ExpiryDeviation>,
    /// The scope a refresh narrowed the grant to: sent again with every later refresh, so it
    /// stays narrowed (a refresh without `scope` gets the original grant back).
    pub(crate) narrowed: Option<ScopeSet>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            token,
            issued_at,
            expires_at,
            deviation,
            narrowed,
        } = self;
        f.debug_struct("Record")
            .field("token", token)
            .field("issued_at", issued_at)
            .field("expires_at", expires_at)
            .field("deviation", deviation)
            .field("narrowed", &narrowed.as_ref().map(ToString::to_string))
            .finish()
    }
}

impl Record {
    /// A record of `token`, obtained by a request sent at `requested_at`.
    ///
    /// `previous` is the record it replaces (its refresh token is kept when the server
    /// rotated none, and its scope when the server stated none); `sent_scope` the `scope`
    /// sent with a refresh.
    pub(crate) fn new(
        mut token: TokenResponse,
        requested_at: SystemTime,
        default_lifetime: Duration,
        previous: Option<&Self>,
        sent_scope: Option<&ScopeSet>,
    ) -> Self {
        if let Some(previous) = previous {
            token.keep_refresh_token(previous.token.refresh_token());
        }
        if let Some(scope) = sent_scope.or(previous.and_then(|p| p.token.scope())) {
            token.assume_scope(scope);
        }
        let narrowed = sent_scope
            .cloned()
            .or_else(|| previous.and_then(|p| p.narrowed.clone()));
        let (expires_at, deviation) = match token.expires_in() {
            Some(seconds) => (add(requested_at, Duration::from_secs(seconds)), None),
            None => match jwt_exp(token.access_token().expose_secret())
                .and_then(|exp| UNIX_EPOCH.checked_add(Duration::from_secs(exp)))
                .filter(|at| *at > requested_at)
            {
                Some(at) => (at, Some(ExpiryDeviation::JwtExp)),
                None => (
                    add(requested_at, default_lifetime),
                    Some(ExpiryDeviation::DefaultLifetime {
                        assumed_seconds: default_lifetime.as_secs(),
                    }),
                ),
            },
        };
        if let Some(deviation) = deviation {
            log::warn!(target: "smart_session", "SMART token response deviation: {deviation}");
        }
        Self {
            token,
            issued_at: requested_at,
            expires_at,
            deviation,
            narrowed,
        }
    }

    /// When the token should be renewed: `buffer - jitter` before its expiry, but never
    /// before half its lifetime has passed.
    pub(crate) fn refresh_at(&self, buffer: Duration, jitter: Duration) -> SystemTime {
        let ahead = buffer.saturating_sub(jitter);
        let lifetime = self
            .expires_at
            .duration_since(self.issued_at)
            .unwrap_or_default();
        let earliest = add(self.issued_at, lifetime / 2);
        self.expires_at
            .checked_sub(ahead)
            .map_or(earliest, |at| at.max(earliest))
    }

    /// The serialised form for stores.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, StoreError> {
        let form = Form {
            format: FORMAT,
            token: StoredTokenResponse::from(self.token.clone()),
            issued_at_ms: millis(self.issued_at),
            expires_at_ms: millis(self.expires_at),
            deviation: self.deviation,
            narrowed_scope: self.narrowed.clone(),
        };
        serde_json::to_vec(&form).map_err(|error| StoreError::Serialize {
            reason: error.to_string(),
        })
    }

    /// Reads the serialised form.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let form: Form = serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt {
            // serde_json's messages name the position and the expected type, not the value.
            reason: format!("not a stored session: {}", error.classify_name()),
        })?;
        if form.format != FORMAT {
            return Err(StoreError::Corrupt {
                reason: format!("stored session format {} is not {FORMAT}", form.format),
            });
        }
        Ok(Self {
            token: form.token.into_response(),
            issued_at: from_millis(form.issued_at_ms),
            expires_at: from_millis(form.expires_at_ms),
            deviation: form.deviation,
            narrowed: form.narrowed_scope,
        })
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "an I/O error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "unexpected fields or types",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

/// The version of the stored form.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Form {
    format: u32,
    token: StoredTokenResponse,
    issued_at_ms: u64,
    expires_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deviation: Option<ExpiryDeviation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    narrowed_scope: Option<ScopeSet>,
}

fn add(time: SystemTime, by: Duration) -> SystemTime {
    time.checked_add(by).unwrap_or(time)
}

pub(crate) fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    })
}

pub(crate) fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(UNIX_EPOCH)
}

/// The `exp` claim of a JWT access token, read without verification (it only schedules the
/// refresh). `None` for anything that is not a three-part JWS with a numeric `exp`.
pub(crate) fn jwt_exp(token: &str) -> Option<u64> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || payload.len() > 16 * 1024 {
        return None;
    }
    let bytes = Base64UrlUnpadded::decode_vec(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.get("exp")?;
    exp.as_u64().or_else(|| {
        exp.as_f64()
            .filter(|value| value.is_finite() && *value >= 0.0 && *value < 1e15)
            .map(|value| {
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "checked above: finite, non-negative and below 2^53"
                )]
                let seconds = value as u64;
                seconds
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smart_core::FixedClock;
    use smart_token::RefreshToken;

    fn token(body: &str) -> TokenResponse {
        let response = http::Response::builder()
            .status(200)
            .body(body.as_bytes().to_vec())
            .expect("a valid response");
        TokenResponse::from_response(&response, &FixedClock::from_unix_seconds(0))
            .expect("a token response")
    }

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.sig",
            Base64UrlUnpadded::encode_string(br#"{"alg":"RS256"}"#),
            Base64UrlUnpadded::encode_string(claims.as_bytes())
        )
    }

    const T0: u64 = 1_700_000_000;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn expires_in_then_jwt_exp_then_the_default() {
        let default = Duration::from_secs(300);
        let with = Record::new(
            token(r#"{"access_token":"a","token_type":"Bearer","expires_in":120}"#),
            at(T0),
            default,
            None,
            None,
        );
        assert_eq!((with.expires_at, with.deviation), (at(T0 + 120), None));

        let body = format!(
            r#"{{"access_token":"{}","token_type":"Bearer"}}"#,
            jwt(&format!(r#"{{"exp":{}}}"#, T0 + 900))
        );
        let from_jwt = Record::new(token(&body), at(T0), default, None, None);
        assert_eq!(from_jwt.expires_at, at(T0 + 900));
        assert_eq!(from_jwt.deviation, Some(ExpiryDeviation::JwtExp));

        for opaque in [
            "opaque-token",
            "a.b.c",
            &jwt(r#"{"exp":"soon"}"#),
            &jwt(&format!(r#"{{"exp":{}}}"#, T0 - 1)),
            &jwt("[1]"),
        ] {
            let body = format!(r#"{{"access_token":"{opaque}","token_type":"Bearer"}}"#);
            let fallback = Record::new(token(&body), at(T0), default, None, None);
            assert_eq!(fallback.expires_at, at(T0 + 300), "{opaque}");
            assert_eq!(
                fallback.deviation,
                Some(ExpiryDeviation::DefaultLifetime {
                    assumed_seconds: 300
                })
            );
        }
        assert_eq!(jwt_exp(&jwt(r#"{"exp":12.0}"#)), Some(12));
    }

    #[test]
    fn the_refresh_token_and_a_narrowed_scope_are_kept() {
        let first = Record::new(
            token(
                r#"{"access_token":"a","token_type":"Bearer","expires_in":60,"refresh_token":"r1","scope":"openid patient/*.rs offline_access"}"#,
            ),
            at(T0),
            Duration::from_secs(300),
            None,
            None,
        );
        let narrow = ScopeSet::parse("patient/Patient.rs").expect("a scope");
        let second = Record::new(
            token(r#"{"access_token":"b","token_type":"Bearer","expires_in":60}"#),
            at(T0 + 50),
            Duration::from_secs(300),
            Some(&first),
            Some(&narrow),
        );
        assert_eq!(
            second
                .token
                .refresh_token()
                .map(RefreshToken::expose_secret),
            Some("r1")
        );
        assert_eq!(second.token.scope(), Some(&narrow));
        let third = Record::new(
            token(r#"{"access_token":"c","token_type":"Bearer","expires_in":60}"#),
            at(T0 + 100),
            Duration::from_secs(300),
            Some(&second),
            None,
        );
        assert_eq!(third.narrowed.as_ref(), Some(&narrow));
        assert_eq!(third.token.scope(), Some(&narrow));
    }

    #[test]
    fn refresh_at_is_the_buffer_less_jitter_but_never_before_half_the_lifetime() {
        let record = Record::new(
            token(r#"{"access_token":"a","token_type":"Bearer","expires_in":300}"#),
            at(T0),
            Duration::from_secs(300),
            None,
            None,
        );
        let buffer = Duration::from_secs(60);
        assert_eq!(record.refresh_at(buffer, Duration::ZERO), at(T0 + 240));
        assert_eq!(
            record.refresh_at(buffer, Duration::from_secs(30)),
            at(T0 + 270)
        );
        assert_eq!(
            record.refresh_at(Duration::from_secs(3600), Duration::ZERO),
            at(T0 + 150)
        );
    }

    #[test]
    fn the_stored_form_round_trips_and_bad_bytes_are_typed_errors() {
        let record = Record::new(
            token(
                r#"{"access_token":"secret-a","token_type":"Bearer","refresh_token":"secret-r"}"#,
            ),
            at(T0),
            Duration::from_secs(300),
            None,
            Some(&ScopeSet::parse("patient/*.rs").expect("a scope")),
        );
        let bytes = record.to_bytes().expect("serialisable");
        let back = Record::from_bytes(&bytes).expect("readable");
        assert_eq!(back.expires_at, record.expires_at);
        assert_eq!(back.issued_at, record.issued_at);
        assert_eq!(back.deviation, record.deviation);
        assert_eq!(back.narrowed, record.narrowed);
        assert!(!format!("{back:?}").contains("secret-"));
        for bad in [&b"{"[..], b"[]", br#"{"format":2}"#] {
            let error = Record::from_bytes(bad).expect_err("refused");
            assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        }
    }
}
