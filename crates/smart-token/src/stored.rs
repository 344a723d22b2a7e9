//! The serde form of a token response, for token stores only.
//!
//! A [`TokenResponse`] has no `Serialize` on purpose: serialising it to a log, an API answer or
//! a cookie would leak its tokens. Stores that must keep one between requests, processes or
//! restarts wrap it in a [`StoredTokenResponse`], whose serialised form holds the access,
//! refresh and id tokens **in clear**: keep it only in server-side storage you trust, and
//! encrypt it at rest where the storage is shared (see `smart-session`'s multi-instance page).

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::response::TokenResponse;

/// A [`TokenResponse`] in the form token stores keep: the fields as the server sent them
/// (the launch context, `authorization_details` and extension fields included) and the
/// expiry as milliseconds since the Unix epoch, so a restored response expires when the
/// original did, whatever the clock reads when it is restored.
///
/// `Debug` redacts every token, as [`TokenResponse`]'s does. Deviations are not stored: a
/// restored response lists those its stored fields still show (none, for a field the
/// original parsing already normalised).
///
/// # Security
///
/// The serialised form holds the tokens in clear. Keep it server-side, encrypt it at rest
/// where the storage is shared, and never log it.
///
/// ```
/// use smart_core::FixedClock;
/// use smart_token::{StoredTokenResponse, TokenResponse};
///
/// let body = br#"{"access_token":"a1","token_type":"Bearer","expires_in":300,
///                 "scope":"launch/patient patient/*.rs offline_access","refresh_token":"r1",
///                 "patient":"123"}"#;
/// let response = http::Response::builder().status(200).body(body.to_vec())?;
/// let token = TokenResponse::from_response(&response, &FixedClock::from_unix_seconds(1_000))?;
///
/// let json = serde_json::to_string(&StoredTokenResponse::from(token.clone()))?;
/// let restored = serde_json::from_str::<StoredTokenResponse>(&json)?.into_response();
/// assert_eq!(restored.refresh_token().map(|t| t.expose_secret()), Some("r1"));
/// assert_eq!(restored.expires_at(), token.expires_at());
/// assert_eq!(restored.context().patient(), Some("123"));
/// assert!(!format!("{restored:?}").contains("r1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct StoredTokenResponse(TokenResponse);

impl StoredTokenResponse {
    /// The token response.
    #[must_use]
    pub fn response(&self) -> &TokenResponse {
        &self.0
    }

    /// The token response, unwrapped.
    #[must_use]
    pub fn into_response(self) -> TokenResponse {
        self.0
    }
}

impl From<TokenResponse> for StoredTokenResponse {
    fn from(response: TokenResponse) -> Self {
        Self(response)
    }
}

impl fmt::Debug for StoredTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoredTokenResponse").field(&self.0).finish()
    }
}

/// The stored shape: the wire fields, and the expiry.
#[derive(Serialize, Deserialize)]
struct Form {
    response: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    })
}

impl Serialize for StoredTokenResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let token = &self.0;
        let mut response = token.extra().clone();
        let mut put = |name: &str, value: Value| {
            response.insert(name.to_owned(), value);
        };
        put(
            "access_token",
            Value::from(token.access_token().expose_secret()),
        );
        if let Some(kind) = token.token_type() {
            put("token_type", Value::from(kind));
        }
        if let Some(seconds) = token.expires_in() {
            put("expires_in", Value::from(seconds));
        }
        if let Some(scope) = token.scope() {
            put("scope", Value::from(scope.to_string()));
        }
        if let Some(refresh) = token.refresh_token() {
            put("refresh_token", Value::from(refresh.expose_secret()));
        }
        if let Some(id_token) = token.id_token() {
            put("id_token", Value::from(id_token.expose_secret()));
        }
        if let Some(details) = token.authorization_details() {
            put("authorization_details", details.clone());
        }
        if let Ok(Value::Object(context)) = serde_json::to_value(token.context()) {
            response.extend(context);
        }
        Form {
            response,
            expires_at_ms: token.expires_at().map(millis),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for StoredTokenResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Form {
            response,
            expires_at_ms,
        } = Form::deserialize(deserializer)?;
        let mut token = TokenResponse::from_object(response, 200, UNIX_EPOCH)
            .map_err(serde::de::Error::custom)?;
        token.restore_expiry(
            expires_at_ms.and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms))),
        );
        Ok(Self(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smart_core::FixedClock;

    fn parse(body: &str) -> TokenResponse {
        let response = http::Response::builder()
            .status(200)
            .body(body.as_bytes().to_vec())
            .expect("a valid response");
        TokenResponse::from_response(&response, &FixedClock::from_unix_seconds(1_000))
            .expect("a valid token response")
    }

    #[test]
    fn every_field_survives_a_round_trip() {
        let token = parse(
            r#"{"access_token":"a1","token_type":"bearer","expires_in":"60","scope":"openid patient/*.rs",
               "refresh_token":"r1","id_token":"i.d.t","patient":"p","encounter":"e",
               "fhirContext":[{"reference":"Appointment/1","role":"x"}],"need_patient_banner":true,
               "smart_style_url":"https://s","intent":"i","tenant":"t",
               "authorization_details":[{"type":"x"}],"https://ext.example/x":1}"#,
        );
        let json =
            serde_json::to_string(&StoredTokenResponse::from(token.clone())).expect("serialisable");
        let restored = serde_json::from_str::<StoredTokenResponse>(&json)
            .expect("readable")
            .into_response();
        assert_eq!(restored.access_token().expose_secret(), "a1");
        assert_eq!(restored.token_type(), Some("bearer"));
        assert_eq!(restored.expires_in(), Some(60));
        assert_eq!(restored.expires_at(), token.expires_at());
        assert_eq!(restored.scope(), token.scope());
        assert_eq!(
            restored
                .refresh_token()
                .map(|t| t.expose_secret().to_owned()),
            Some("r1".to_owned())
        );
        assert_eq!(
            restored.id_token().map(|t| t.expose_secret().to_owned()),
            Some("i.d.t".to_owned())
        );
        assert_eq!(restored.context(), token.context());
        assert_eq!(
            restored.authorization_details(),
            token.authorization_details()
        );
        assert_eq!(restored.extra(), token.extra());
        // The string expires_in was normalised when it was first parsed.
        assert!(
            restored.deviations().is_empty(),
            "{:?}",
            restored.deviations()
        );
    }

    #[test]
    fn no_expiry_stays_unknown_and_debug_is_redacted() {
        let token = parse(r#"{"access_token":"secret-access","token_type":"Bearer"}"#);
        let stored = StoredTokenResponse::from(token);
        let json = serde_json::to_string(&stored).expect("serialisable");
        assert!(!json.contains("expires_at_ms"));
        let restored: StoredTokenResponse = serde_json::from_str(&json).expect("readable");
        assert_eq!(restored.response().expires_at(), None);
        assert!(!format!("{restored:?}").contains("secret-access"));
    }

    #[test]
    fn a_stored_form_without_an_access_token_is_an_error() {
        let error =
            serde_json::from_str::<StoredTokenResponse>(r#"{"response":{}}"#).expect_err("refused");
        assert!(error.to_string().contains("access_token"), "{error}");
    }
}
