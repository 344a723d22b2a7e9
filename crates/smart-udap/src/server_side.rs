//! The server's side of UDAP, for test servers and authorization servers: verifying a
//! software statement (STU2 §3.2) and a client assertion (STU2 §4.2.1, §5.2.1) with the
//! `x5c` leaf key and the same chain validation as discovery.

use std::time::SystemTime;

use serde_json::Value;
use smart_core::json::JsonObject;
use smart_core::unix_seconds;
use smart_jwt_assertion::{Algorithm, JwkSet, decode_unverified, verify_compact};

use crate::certificate::X509Certificate;
use crate::chain::TrustPolicy;
use crate::error::UdapError;
use crate::refusals::StatementError;

/// The algorithms a server accepts by default: RS256 (mandatory) and ES384.
pub const SERVER_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::Rs256, Algorithm::Rs384, Algorithm::Es384];

/// What a verified statement or assertion says.
#[derive(Debug, Clone)]
pub struct VerifiedStatement {
    /// Every claim.
    pub claims: JsonObject,
    /// The signer's certificate.
    pub leaf: X509Certificate,
    /// The algorithm it was signed with.
    pub algorithm: Algorithm,
}

fn claim(claim: &'static str, rule: &'static str) -> StatementError {
    StatementError::Claim { claim, rule }
}

fn verify_jwt(
    token: &str,
    policy: &TrustPolicy,
    allowed: &[Algorithm],
    now: SystemTime,
) -> Result<VerifiedStatement, StatementError> {
    let (header, _) = decode_unverified(token).map_err(StatementError::Malformed)?;
    let entries: Vec<&str> = header
        .get("x5c")
        .and_then(Value::as_array)
        .filter(|entries| !entries.is_empty() && entries.len() <= 10)
        .and_then(|entries| entries.iter().map(Value::as_str).collect())
        .ok_or(StatementError::X5c)?;
    let certificates = entries
        .iter()
        .map(|entry| X509Certificate::from_x5c(entry, "x5c"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| StatementError::X5c)?;
    let leaf = certificates[0].clone();
    let jwk = leaf
        .jwk_for_header(&header)
        .map_err(|_| StatementError::X5c)?;
    let verified = verify_compact(token, &JwkSet { keys: vec![jwk] }, allowed)
        .map_err(StatementError::Signature)?;
    policy
        .validate(&leaf, &certificates[1..], now)
        .map_err(StatementError::Chain)?;
    let algorithm = verified.algorithm();
    let (_, claims) = verified.into_parts();
    Ok(VerifiedStatement {
        claims,
        leaf,
        algorithm,
    })
}

fn check_times(
    claims: &JsonObject,
    max_lifetime: u64,
    now: SystemTime,
) -> Result<(), StatementError> {
    let now = unix_seconds(now);
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or(claim("iat", "must be an integer"))?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or(claim("exp", "must be an integer"))?;
    if exp <= now {
        return Err(claim("exp", "is in the past (the JWT has expired)"));
    }
    if exp > iat.saturating_add(max_lifetime) || iat > now.saturating_add(60) {
        return Err(claim(
            "exp",
            "must be at most 5 minutes after iat, and iat not in the future",
        ));
    }
    if claims
        .get("jti")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(claim("jti", "is missing"));
    }
    Ok(())
}

/// Verifies a software statement sent to `registration_endpoint`: signature (with `allowed`
/// algorithms) by the `x5c` leaf, the chain under `policy`, `iss` = `sub` = one of the leaf's
/// URI SANs, `aud` = the endpoint, `exp` in the future and at most 5 minutes after `iat`,
/// `jti`, and `client_name`, `grant_types`, `token_endpoint_auth_method` = `private_key_jwt`.
///
/// # Errors
///
/// [`StatementError`] for the first rule broken.
fn software_statement_checks(
    token: &str,
    registration_endpoint: &str,
    policy: &TrustPolicy,
    allowed: &[Algorithm],
    now: SystemTime,
) -> Result<VerifiedStatement, StatementError> {
    let verified = verify_jwt(token, policy, allowed, now)?;
    let claims = &verified.claims;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(claim("iss", "is missing"))?;
    if claims.get("sub").and_then(Value::as_str) != Some(iss) {
        return Err(claim("sub", "must equal iss"));
    }
    if !verified.leaf.uri_sans().iter().any(|san| san == iss) {
        return Err(claim(
            "iss",
            "must be a URI SAN of the x5c leaf certificate",
        ));
    }
    if claims.get("aud").and_then(Value::as_str) != Some(registration_endpoint) {
        return Err(claim("aud", "must be the registration endpoint"));
    }
    check_times(claims, 300, now)?;
    if claims
        .get("client_name")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(claim("client_name", "is required"));
    }
    if !claims.get("grant_types").is_some_and(Value::is_array) {
        return Err(claim("grant_types", "must be an array"));
    }
    if claims
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        != Some("private_key_jwt")
    {
        return Err(claim(
            "token_endpoint_auth_method",
            "must be private_key_jwt",
        ));
    }
    Ok(verified)
}

/// Verifies a UDAP client assertion at `token_endpoint` for the registered `client_id` whose
/// registration was made with a certificate for `client_uri`: signature by the `x5c` leaf,
/// chain under `policy`, the leaf still carries `client_uri`, `iss` = `sub` = `client_id`,
/// `aud` = the endpoint, `exp` at most 5 minutes after `iat`, `jti`.
///
/// # Errors
///
/// [`StatementError`] for the first rule broken.
fn client_assertion_checks(
    token: &str,
    client_id: &str,
    client_uri: &str,
    token_endpoint: &str,
    policy: &TrustPolicy,
    allowed: &[Algorithm],
    now: SystemTime,
) -> Result<VerifiedStatement, StatementError> {
    let verified = verify_jwt(token, policy, allowed, now)?;
    let claims = &verified.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(client_id) {
        return Err(claim("iss", "must be the client_id"));
    }
    if claims.get("sub").and_then(Value::as_str) != Some(client_id) {
        return Err(claim("sub", "must be the client_id"));
    }
    if claims.get("aud").and_then(Value::as_str) != Some(token_endpoint) {
        return Err(claim("aud", "must be the token endpoint"));
    }
    if !verified.leaf.uri_sans().iter().any(|san| san == client_uri) {
        return Err(claim(
            "iss",
            "belongs to a certificate without the registered client URI",
        ));
    }
    check_times(claims, 300, now)?;
    Ok(verified)
}

/// Verifies a software statement sent to `registration_endpoint`: signature (with `allowed`
/// algorithms) by the `x5c` leaf, the chain under `policy`, `iss` = `sub` = one of the leaf's
/// URI SANs, `aud` = the endpoint, `exp` in the future and at most 5 minutes after `iat`,
/// `jti`, and `client_name`, `grant_types`, `token_endpoint_auth_method` = `private_key_jwt`.
///
/// # Errors
///
/// [`UdapError::InvalidStatement`] with the first rule broken.
pub fn verify_software_statement(
    token: &str,
    registration_endpoint: &str,
    policy: &TrustPolicy,
    allowed: &[Algorithm],
    now: SystemTime,
) -> Result<VerifiedStatement, UdapError> {
    software_statement_checks(token, registration_endpoint, policy, allowed, now)
        .map_err(UdapError::InvalidStatement)
}

/// Verifies a UDAP client assertion at `token_endpoint` for the registered `client_id` whose
/// registration was made with a certificate for `client_uri`: signature by the `x5c` leaf,
/// chain under `policy`, the leaf still carries `client_uri`, `iss` = `sub` = `client_id`,
/// `aud` = the endpoint, `exp` at most 5 minutes after `iat`, `jti`.
///
/// # Errors
///
/// [`UdapError::InvalidStatement`] with the first rule broken.
pub fn verify_client_assertion(
    token: &str,
    client_id: &str,
    client_uri: &str,
    token_endpoint: &str,
    policy: &TrustPolicy,
    allowed: &[Algorithm],
    now: SystemTime,
) -> Result<VerifiedStatement, UdapError> {
    client_assertion_checks(
        token,
        client_id,
        client_uri,
        token_endpoint,
        policy,
        allowed,
        now,
    )
    .map_err(UdapError::InvalidStatement)
}
