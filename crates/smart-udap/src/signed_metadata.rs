//! `signed_metadata` verification (UDAP Security STU2 §2.3): the JWS signature with the `x5c`
//! leaf key, the chain to the caller's trust anchors, and the claims.

use std::time::SystemTime;

use serde_json::Value;
use smart_core::json::JsonObject;
use smart_core::{AuthorizeUrl, Clock, EndpointUrl, FhirBaseUrl, TokenUrl, unix_seconds};
use smart_jwt_assertion::{Algorithm, JwkSet, decode_unverified, verify_compact};

use crate::certificate::X509Certificate;
use crate::chain::TrustPolicy;
use crate::error::UdapError;
use crate::metadata::usable_endpoint;
use crate::refusals::SignedMetadataProblem;

/// The longest `exp - iat` accepted: one year (STU2 §2.3).
pub const MAX_SIGNED_METADATA_LIFETIME: u64 = 365 * 24 * 60 * 60;

/// The most `x5c` entries read.
const MAX_X5C: usize = 10;

/// The endpoint claims of `signed_metadata`.
pub const ENDPOINT_CLAIMS: [&str; 3] = [
    "token_endpoint",
    "registration_endpoint",
    "authorization_endpoint",
];

/// What a verified `signed_metadata` vouches for: the endpoints (which override the unsigned
/// ones) and the certificate that signed it.
#[derive(Debug, Clone)]
pub struct SignedEndpoints {
    token_endpoint: TokenUrl,
    registration_endpoint: EndpointUrl,
    authorization_endpoint: Option<AuthorizeUrl>,
    leaf: X509Certificate,
    claims: JsonObject,
}

impl SignedEndpoints {
    /// The signed `token_endpoint`.
    #[must_use]
    pub fn token_endpoint(&self) -> &TokenUrl {
        &self.token_endpoint
    }

    /// The signed `registration_endpoint`.
    #[must_use]
    pub fn registration_endpoint(&self) -> &EndpointUrl {
        &self.registration_endpoint
    }

    /// The signed `authorization_endpoint`, when there is one.
    #[must_use]
    pub fn authorization_endpoint(&self) -> Option<&AuthorizeUrl> {
        self.authorization_endpoint.as_ref()
    }

    /// The server's certificate (the `x5c` leaf).
    #[must_use]
    pub fn leaf(&self) -> &X509Certificate {
        &self.leaf
    }

    /// Every verified claim.
    #[must_use]
    pub fn claims(&self) -> &JsonObject {
        &self.claims
    }
}

fn refused(problems: Vec<SignedMetadataProblem>) -> UdapError {
    for problem in &problems {
        log::warn!("[UDAP] signed_metadata validation: {problem}");
    }
    UdapError::SignedMetadata {
        community: None,
        problems,
    }
}

/// Verifies the `signed_metadata` of `unsigned` (the whole discovery document) for the server
/// at `base`: RS256 with the `x5c` leaf's key, the chain under `policy`, and the claims (all
/// checked, all reported). `exp` is judged at `clock`'s time.
///
/// # Errors
///
/// [`UdapError::SignedMetadata`] with every problem found;
/// [`UdapError::MalformedCertificate`] when an `x5c` entry is not a certificate.
pub fn verify_signed_metadata(
    unsigned: &JsonObject,
    base: &FhirBaseUrl,
    policy: &TrustPolicy,
    clock: &dyn Clock,
) -> Result<SignedEndpoints, UdapError> {
    let Some(Value::String(token)) = unsigned.get("signed_metadata") else {
        return Err(refused(vec![SignedMetadataProblem::NotAString]));
    };
    let (header, _) = decode_unverified(token)
        .map_err(|error| refused(vec![SignedMetadataProblem::Undecodable(error)]))?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(Value::String(alg)) => {
            return Err(refused(vec![SignedMetadataProblem::Algorithm(
                smart_core::display_text(alg, 32),
            )]));
        }
        _ => {
            return Err(refused(vec![SignedMetadataProblem::Algorithm(
                "(none)".to_owned(),
            )]));
        }
    }
    let x5c: Vec<&str> = match header.get("x5c") {
        Some(Value::Array(entries)) if !entries.is_empty() && entries.len() <= MAX_X5C => {
            match entries
                .iter()
                .map(Value::as_str)
                .collect::<Option<Vec<_>>>()
            {
                Some(entries) => entries,
                None => return Err(refused(vec![SignedMetadataProblem::NoX5c])),
            }
        }
        _ => return Err(refused(vec![SignedMetadataProblem::NoX5c])),
    };
    let leaf = X509Certificate::from_x5c(x5c[0], "x5c leaf")?;
    let jwk = leaf.jwk_for_header(&header).map_err(|reason| {
        refused(vec![SignedMetadataProblem::Signature(
            smart_jwt_assertion::Error::Sign(smart_jwt_assertion::SignError::new(reason)),
        )])
    })?;
    let keys = JwkSet { keys: vec![jwk] };
    let verified = verify_compact(token, &keys, &[Algorithm::Rs256])
        .map_err(|error| refused(vec![SignedMetadataProblem::Signature(error)]))?;
    let now = clock.now();
    if policy.verifies_chain() {
        let intermediates = x5c[1..]
            .iter()
            .map(|entry| X509Certificate::from_x5c(entry, "x5c intermediate"))
            .collect::<Result<Vec<_>, _>>()?;
        policy
            .validate(&leaf, &intermediates, now)
            .map_err(|error| refused(vec![SignedMetadataProblem::Chain(error)]))?;
    } else {
        policy.validate(&leaf, &[], now).ok();
    }
    let (_, claims) = verified.into_parts();
    check_claims(&claims, unsigned, base, &leaf, policy, now).map_err(refused)?;

    let endpoint = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    // The checks above guarantee these parse; a failure would still be an error, not a panic.
    let bad = |name: &'static str| refused(vec![SignedMetadataProblem::NotHttps(name)]);
    let token_endpoint = endpoint("token_endpoint")
        .and_then(|url| TokenUrl::parse(url).ok())
        .ok_or_else(|| bad("token_endpoint"))?;
    let registration_endpoint = endpoint("registration_endpoint")
        .and_then(|url| EndpointUrl::parse(url).ok())
        .ok_or_else(|| bad("registration_endpoint"))?;
    let authorization_endpoint = match endpoint("authorization_endpoint") {
        None => None,
        Some(url) => Some(AuthorizeUrl::parse(url).map_err(|_| bad("authorization_endpoint"))?),
    };
    Ok(SignedEndpoints {
        token_endpoint,
        registration_endpoint,
        authorization_endpoint,
        leaf,
        claims,
    })
}

fn check_claims(
    claims: &JsonObject,
    unsigned: &JsonObject,
    base: &FhirBaseUrl,
    leaf: &X509Certificate,
    policy: &TrustPolicy,
    now: SystemTime,
) -> Result<(), Vec<SignedMetadataProblem>> {
    use SignedMetadataProblem as P;
    let mut problems = Vec::new();
    let base = base.as_str().strip_suffix('/').unwrap_or(base.as_str());
    match claims.get("iss").and_then(Value::as_str) {
        None => problems.push(P::Claim("iss claim is missing")),
        Some(iss) => {
            if !leaf.uri_sans().iter().any(|san| san == iss) {
                problems.push(P::IssNotInSan);
            }
            if iss != base {
                problems.push(P::IssNotBase {
                    iss: smart_core::display_url(iss),
                    base: smart_core::display_url(base),
                });
            }
            if claims.get("sub").and_then(Value::as_str) != Some(iss) {
                problems.push(P::Claim("sub claim must equal iss"));
            }
        }
    }
    let iat = claims.get("iat").and_then(Value::as_u64);
    if iat.is_none() {
        problems.push(P::Claim("iat claim must be an integer"));
    }
    match claims.get("exp").and_then(Value::as_u64) {
        None => problems.push(P::Claim("exp claim must be an integer")),
        Some(exp) => {
            if exp <= unix_seconds(now) {
                problems.push(P::Claim(
                    "exp claim must be in the future (signed_metadata has expired)",
                ));
            }
            if let Some(iat) = iat
                && exp > iat.saturating_add(MAX_SIGNED_METADATA_LIFETIME)
            {
                problems.push(P::Claim(
                    "exp claim must be no more than one year after iat",
                ));
            }
        }
    }
    if claims.get("jti").is_none_or(Value::is_null) {
        problems.push(P::Claim("jti claim is missing"));
    }
    for name in ["token_endpoint", "registration_endpoint"] {
        if claims.get(name).is_none_or(Value::is_null) {
            problems.push(P::MissingEndpoint(name));
        }
    }
    let unsigned_authorize = unsigned
        .get("authorization_endpoint")
        .and_then(Value::as_str)
        .is_some_and(|value| !value.trim().is_empty());
    if unsigned_authorize
        && claims
            .get("authorization_endpoint")
            .is_none_or(Value::is_null)
    {
        problems.push(P::MissingEndpoint("authorization_endpoint"));
    }
    for name in ENDPOINT_CLAIMS {
        if let Some(value) = claims.get(name).filter(|value| !value.is_null())
            && !value
                .as_str()
                .is_some_and(|url| usable_endpoint(url, policy.transport()))
        {
            problems.push(P::NotHttps(name));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
