//! OpenID Connect `id_token` verification, as SMART requires for `openid fhirUser`
//! ([scopes-and-launch-context.html#steps-for-using-an-id-token](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#steps-for-using-an-id-token),
//! OpenID Connect Core §3.1.3.7).

use core::fmt;

use serde_json::{Map, Value};
use smart_core::url::Url;
use smart_core::{IssuerUrl, unix_seconds};
use smart_jwt_assertion::{Algorithm, JwkSet};

/// How far a token's `exp` and `iat` may be off the local clock.
const CLOCK_SKEW_SECONDS: u64 = 60;

/// Why an `id_token` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdTokenProblem {
    /// Neither the server's SMART configuration nor the token names an issuer, so there is
    /// nothing to check the token's `iss` against.
    NoIssuer,
    /// The token's `iss` is not the server's issuer (exact string comparison).
    IssuerMismatch {
        /// The server's issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not name this client.
    AudienceMismatch,
    /// `aud` names several clients and `azp` is not this one.
    AuthorizedParty,
    /// The token has expired.
    Expired,
    /// `iat` is missing or in the future.
    IssuedAt,
    /// The nonce sent in the authorization request did not come back.
    NonceMismatch,
    /// A required claim is missing or has the wrong type.
    Claim(&'static str),
    /// The signature, algorithm or key is not acceptable.
    Signature(String),
    /// The server's JWK Set is unusable.
    Keys(String),
}

impl fmt::Display for IdTokenProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoIssuer => f.write_str(
                "neither the server's SMART configuration nor the id_token names an issuer to check the id_token against",
            ),
            Self::IssuerMismatch { expected, found } => {
                write!(
                    f,
                    "the id_token's iss is \"{found}\", expected \"{expected}\""
                )?;
                if expected.trim_end_matches('/') == found.trim_end_matches('/') {
                    f.write_str(
                        " (they differ only in a trailing slash; issuers are compared exactly)",
                    )?;
                }
                Ok(())
            }
            Self::AudienceMismatch => f.write_str("the id_token's aud does not name this client"),
            Self::AuthorizedParty => {
                f.write_str("the id_token has several audiences and its azp is not this client")
            }
            Self::Expired => f.write_str("the id_token has expired"),
            Self::IssuedAt => f.write_str("the id_token's iat is missing or in the future"),
            Self::NonceMismatch => {
                f.write_str("the id_token's nonce is not the one sent in the authorization request")
            }
            Self::Claim(name) => write!(f, "the id_token's {name} claim is missing or malformed"),
            Self::Signature(reason) => {
                write!(f, "the id_token cannot be verified: {reason}")
            }
            Self::Keys(reason) => write!(f, "the server's JWK Set is unusable: {reason}"),
        }
    }
}

/// The verified claims of an `id_token`.
#[derive(Clone, PartialEq)]
pub struct IdTokenClaims {
    claims: Map<String, Value>,
}

impl IdTokenClaims {
    /// Claims for unit tests elsewhere in the crate.
    #[cfg(test)]
    pub(crate) fn for_tests(value: Value) -> Self {
        let Value::Object(claims) = value else {
            panic!("claims are an object")
        };
        Self { claims }
    }

    /// Every claim, as verified.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The `sub` claim.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }

    /// The `fhirUser` claim as given (absolute, or relative to the FHIR base), falling back to
    /// `profile` (the pre-`fhirUser` claim).
    #[must_use]
    pub fn fhir_user(&self) -> Option<&str> {
        ["fhirUser", "profile"]
            .iter()
            .find_map(|name| self.claims.get(*name).and_then(Value::as_str))
    }

    /// `fhirUser` as an absolute URL: a relative value (`Practitioner/123`) is resolved against
    /// `fhir_base` (SMART: "absolute, or relative to the FHIR server base URL").
    #[must_use]
    pub fn fhir_user_url(&self, fhir_base: &smart_core::FhirBaseUrl) -> Option<Url> {
        let user = self.fhir_user()?;
        Url::parse(user)
            .ok()
            .or_else(|| fhir_base.resolve(user).ok())
    }
}

impl fmt::Debug for IdTokenClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenClaims")
            .field("sub", &self.subject())
            .field("fhir_user", &self.fhir_user())
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Checks a verified token's claims (OpenID Connect Core §3.1.3.7, steps 2–11 that apply).
pub(crate) fn check_claims(
    claims: Map<String, Value>,
    issuer: &IssuerUrl,
    client_id: &str,
    expected_nonce: Option<&str>,
    now: std::time::SystemTime,
) -> Result<IdTokenClaims, IdTokenProblem> {
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or(IdTokenProblem::Claim(name))
    };
    let iss = text("iss")?;
    if iss != issuer.as_str() {
        return Err(IdTokenProblem::IssuerMismatch {
            expected: issuer.as_str().to_owned(),
            found: smart_core::display_url(iss),
        });
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => return Err(IdTokenProblem::Claim("aud")),
    };
    if !audiences.contains(&client_id) {
        return Err(IdTokenProblem::AudienceMismatch);
    }
    if audiences.len() > 1 && claims.get("azp").and_then(Value::as_str) != Some(client_id) {
        return Err(IdTokenProblem::AuthorizedParty);
    }
    let now = unix_seconds(now);
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(IdTokenProblem::Claim("exp"))?;
    if exp.saturating_add(CLOCK_SKEW_SECONDS) <= now {
        return Err(IdTokenProblem::Expired);
    }
    match claims.get("iat").and_then(Value::as_u64) {
        Some(iat) if iat <= now.saturating_add(CLOCK_SKEW_SECONDS) => {}
        _ => return Err(IdTokenProblem::IssuedAt),
    }
    text("sub")?;
    if let Some(nonce) = expected_nonce
        && claims.get("nonce").and_then(Value::as_str) != Some(nonce)
    {
        return Err(IdTokenProblem::NonceMismatch);
    }
    Ok(IdTokenClaims { claims })
}

/// The algorithms to accept: the server's advertised ones that this crate verifies, RS256
/// when it advertises none (OpenID Connect Discovery's default).
pub(crate) fn allowed_algorithms(advertised: Option<&[String]>) -> Vec<Algorithm> {
    let supported = [Algorithm::Rs256, Algorithm::Rs384, Algorithm::Es384];
    match advertised {
        None => vec![Algorithm::Rs256],
        Some(names) => supported
            .into_iter()
            .filter(|alg| names.iter().any(|name| name == alg.as_str()))
            .collect(),
    }
}

/// Parses the JWK Set body.
pub(crate) fn parse_keys(body: &[u8]) -> Result<JwkSet, IdTokenProblem> {
    let text =
        core::str::from_utf8(body).map_err(|_| IdTokenProblem::Keys("not UTF-8".to_owned()))?;
    JwkSet::parse(text).map_err(|error| IdTokenProblem::Keys(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn claim_checks() {
        let issuer = IssuerUrl::parse("https://ehr.example").unwrap();
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        let good = serde_json::json!({"iss": "https://ehr.example", "sub": "u", "aud": "app", "exp": 1_000_100, "iat": 999_999, "nonce": "n"});
        assert!(check_claims(claims(good.clone()), &issuer, "app", Some("n"), now).is_ok());
        assert!(check_claims(claims(good.clone()), &issuer, "app", None, now).is_ok());
        assert_eq!(
            check_claims(claims(good.clone()), &issuer, "other", None, now).unwrap_err(),
            IdTokenProblem::AudienceMismatch
        );
        assert_eq!(
            check_claims(claims(good.clone()), &issuer, "app", Some("m"), now).unwrap_err(),
            IdTokenProblem::NonceMismatch
        );
        let slash = IssuerUrl::parse("https://ehr.example/").unwrap();
        let err = check_claims(claims(good.clone()), &slash, "app", None, now).unwrap_err();
        assert!(err.to_string().contains("trailing slash"), "{err}");
        let mut expired = good.clone();
        expired["exp"] = 999_000.into();
        assert_eq!(
            check_claims(claims(expired), &issuer, "app", None, now).unwrap_err(),
            IdTokenProblem::Expired
        );
        let mut many = good.clone();
        many["aud"] = serde_json::json!(["app", "other"]);
        assert_eq!(
            check_claims(claims(many.clone()), &issuer, "app", None, now).unwrap_err(),
            IdTokenProblem::AuthorizedParty
        );
        many["azp"] = "app".into();
        assert!(check_claims(claims(many), &issuer, "app", None, now).is_ok());
        let mut future = good;
        future["iat"] = 2_000_000.into();
        assert_eq!(
            check_claims(claims(future), &issuer, "app", None, now).unwrap_err(),
            IdTokenProblem::IssuedAt
        );
    }

    #[test]
    fn algorithms() {
        assert_eq!(allowed_algorithms(None), vec![Algorithm::Rs256]);
        assert_eq!(
            allowed_algorithms(Some(&[
                "ES384".to_owned(),
                "HS256".to_owned(),
                "none".to_owned()
            ])),
            vec![Algorithm::Es384]
        );
    }

    #[test]
    fn fhir_user_resolution() {
        let base = smart_core::FhirBaseUrl::parse("https://ehr.example/fhir").unwrap();
        let relative = IdTokenClaims {
            claims: claims(serde_json::json!({"fhirUser": "Practitioner/7"})),
        };
        assert_eq!(
            relative.fhir_user_url(&base).unwrap().as_str(),
            "https://ehr.example/fhir/Practitioner/7"
        );
        let legacy = IdTokenClaims {
            claims: claims(serde_json::json!({"profile": "https://ehr.example/fhir/Patient/1"})),
        };
        assert_eq!(
            legacy.fhir_user(),
            Some("https://ehr.example/fhir/Patient/1")
        );
    }
}
