//! Client authentication at the token, introspection and revocation endpoints: one function
//! for every grant, refresh included.

use std::time::Duration;

use base64ct::{Base64, Encoding};
use http::HeaderMap;
use serde_json::Value;
use smart_core::ct_eq;
use smart_jwt_assertion::{
    Algorithm, CLIENT_ASSERTION_TYPE, JwkSet, MAX_LIFETIME, decode_unverified, verify_compact,
};
use smart_token::AuthMethod;

use crate::config::{ClientKeys, ClientKind, RegisteredClient};
use crate::demo::CLIENT_JWKS_PATH;
use crate::http_util::shown;
use crate::http_util::{OAuthFailure, Params, authorization};
use crate::store::Shared;

/// The largest JWK Set the sandbox reads from a `jwks_uri`.
const MAX_JWKS_BYTES: u64 = 64 * 1024;
/// How long fetching a `jwks_uri` may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `jti` the sandbox remembers.
const MAX_JTI_LEN: usize = 256;

/// Authenticates the client of a request by its registered method
/// ([app-launch.html#request-5](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#request-5)):
///
/// - public: `client_id` in the body, and nothing else;
/// - symmetric: `Authorization: Basic` with the raw `client_id:secret` (or the RFC 6749
///   §2.3.1 form-encoded one) for a `client_secret_basic` client, the secret in the body for
///   a `client_secret_post` one; the other method is refused even with the right secret;
/// - asymmetric and backend: a `private_key_jwt` assertion (RFC 7523, SMART
///   client-confidential-asymmetric).
///
/// More than one method in one request is `invalid_request` (RFC 6749 §2.3); a missing or
/// wrong credential is `401 invalid_client`.
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    params: &Params,
) -> Result<RegisteredClient, OAuthFailure> {
    let basic = authorization(headers, "Basic");
    let post_secret = params.get("client_secret");
    let assertion =
        params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some();
    let methods =
        usize::from(basic.is_some()) + usize::from(post_secret.is_some()) + usize::from(assertion);
    if methods > 1 {
        return Err(OAuthFailure::invalid_request(
            "use exactly one client authentication method (RFC 6749 section 2.3): Basic, client_secret_post or client_assertion",
        ));
    }
    let body_client_id = params.get("client_id");
    if let Some(credentials) = basic {
        let client = basic_auth(shared, credentials, body_client_id)?;
        return registered_method(client, AuthMethod::ClientSecretBasic, true);
    }
    if let Some(secret) = post_secret {
        let Some(client_id) = body_client_id else {
            return Err(OAuthFailure::invalid_client(
                "client_secret_post needs client_id in the body",
                false,
            ));
        };
        return match symmetric_client(shared, client_id, secret) {
            Some(client) => registered_method(client, AuthMethod::ClientSecretPost, false),
            None => Err(OAuthFailure::invalid_client(
                "unknown client or wrong client_secret",
                false,
            )),
        };
    }
    if assertion {
        return assertion_auth(shared, params, body_client_id);
    }
    let Some(client_id) = body_client_id else {
        return Err(OAuthFailure::invalid_client(
            "no client authentication: a public client sends client_id, a confidential client its credentials",
            false,
        ));
    };
    let client = shared.state().clients.get(client_id).cloned();
    match client {
        Some(client) if matches!(client.kind(), ClientKind::Public) => Ok(client),
        Some(_) => Err(OAuthFailure::invalid_client(
            format!(
                "the client `{}` is confidential: authenticate with its client credentials, not client_id alone",
                shown(client_id),
            ),
            false,
        )),
        None => Err(OAuthFailure::invalid_client(
            format!("unknown client_id `{}`", shown(client_id)),
            false,
        )),
    }
}

/// `client`, if `used` is its registered `token_endpoint_auth_method`. Checked after the
/// secret, so only the client's holder learns which method it registered.
fn registered_method(
    client: RegisteredClient,
    used: AuthMethod,
    basic_tried: bool,
) -> Result<RegisteredClient, OAuthFailure> {
    let registered = client.auth_method();
    if registered == used {
        return Ok(client);
    }
    let how = match registered {
        AuthMethod::ClientSecretBasic => "send the secret in Authorization: Basic",
        AuthMethod::ClientSecretPost => {
            "send client_id and client_secret in the form body, without Authorization: Basic"
        }
        _ => "authenticate with that method",
    };
    Err(OAuthFailure::invalid_client(
        format!(
            "the client `{}` registered token_endpoint_auth_method {registered}, not {used}: {how}",
            shown(client.client_id())
        ),
        basic_tried,
    ))
}

/// The symmetric client `client_id`, if `secret` is its secret (compared in constant time).
fn symmetric_client(shared: &Shared, client_id: &str, secret: &str) -> Option<RegisteredClient> {
    let client = shared.state().clients.get(client_id).cloned()?;
    match client.kind() {
        ClientKind::ConfidentialSymmetric { secret: registered }
            if ct_eq(registered.expose_secret().as_bytes(), secret.as_bytes()) =>
        {
            Some(client)
        }
        _ => None,
    }
}

fn basic_auth(
    shared: &Shared,
    credentials: &str,
    body_client_id: Option<&str>,
) -> Result<RegisteredClient, OAuthFailure> {
    let malformed = || {
        OAuthFailure::invalid_client(
            "the Basic credentials are not base64 of client_id:client_secret",
            true,
        )
    };
    let decoded = Base64::decode_vec(credentials).map_err(|_| malformed())?;
    let decoded = smart_core::Secret::new(String::from_utf8(decoded).map_err(|_| malformed())?);
    let (id, secret) = decoded
        .expose_secret()
        .split_once(':')
        .ok_or_else(malformed)?;
    // Raw first (what SMART servers and Inferno expect), then RFC 6749 §2.3.1 form-encoding.
    let client = symmetric_client(shared, id, secret).or_else(|| {
        let id = form_decode(id)?;
        let secret = smart_core::Secret::new(form_decode(secret)?);
        symmetric_client(shared, &id, secret.expose_secret())
    });
    let Some(client) = client else {
        return Err(OAuthFailure::invalid_client(
            "unknown client or wrong client_secret in the Basic credentials",
            true,
        ));
    };
    if body_client_id.is_some_and(|body| body != client.client_id()) {
        return Err(OAuthFailure::invalid_request(
            "the client_id in the body differs from the one in the Basic credentials",
        ));
    }
    Ok(client)
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = value.get(index + 1..index + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 2;
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8(out).ok()
}

fn assertion_fail(description: impl Into<String>) -> OAuthFailure {
    OAuthFailure::invalid_client(description, false)
}

fn assertion_auth(
    shared: &Shared,
    params: &Params,
    body_client_id: Option<&str>,
) -> Result<RegisteredClient, OAuthFailure> {
    if params.get("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
        return Err(assertion_fail(format!(
            "client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
        )));
    }
    let Some(assertion) = params.get("client_assertion") else {
        return Err(assertion_fail("client_assertion is missing"));
    };
    let client = assertion_client(shared, assertion, body_client_id)?;
    let registered_keys = client
        .kind()
        .keys()
        .ok_or_else(|| assertion_fail("the client is not registered for private_key_jwt"))?;
    let keys = client_keys(shared, registered_keys)?;
    let verified = verify_compact(assertion, &keys, &Algorithm::CLIENT_ASSERTION).map_err(|_| {
        assertion_fail(format!(
            "the client_assertion's signature does not verify with the keys registered for `{}`",
            shown(client.client_id())
        ))
    })?;
    let (jti, exp) = check_claims(shared, client.client_id(), verified.claims())?;
    let now = shared.now();
    let mut state = shared.state();
    state.jtis.retain(|_, seen_exp| *seen_exp >= now);
    let key = (client.client_id().to_owned(), jti);
    if state.jtis.contains_key(&key) {
        return Err(assertion_fail(
            "the client_assertion's jti was used before: sign a fresh assertion for every request",
        ));
    }
    state.jtis.insert(key, exp);
    drop(state);
    Ok(client)
}

/// The client an assertion claims to come from, after the checks that need no key: it is
/// registered for `private_key_jwt`, and the header has `typ: JWT`, a `kid`, RS384 or ES384,
/// and no `jku` but the registered `jwks_uri`.
fn assertion_client(
    shared: &Shared,
    assertion: &str,
    body_client_id: Option<&str>,
) -> Result<RegisteredClient, OAuthFailure> {
    // Read unverified only to find the client whose keys verify it.
    let (header, unverified) = decode_unverified(assertion)
        .map_err(|_| assertion_fail("client_assertion is not a compact JWS"))?;
    let Some(Value::String(issuer)) = unverified.get("iss") else {
        return Err(assertion_fail("the client_assertion has no iss claim"));
    };
    let client = shared.state().clients.get(issuer.as_str()).cloned();
    let Some(client) = client else {
        return Err(assertion_fail(format!(
            "the client_assertion's iss `{}` is not a registered client",
            shown(issuer)
        )));
    };
    let Some(registered_keys) = client.kind().keys() else {
        return Err(assertion_fail(format!(
            "the client `{}` is not registered for private_key_jwt",
            shown(issuer)
        )));
    };
    if body_client_id.is_some_and(|body| body != client.client_id()) {
        return Err(assertion_fail(
            "the client_id in the body differs from the assertion's iss",
        ));
    }
    if header.get("typ").and_then(Value::as_str) != Some("JWT") {
        return Err(assertion_fail("the client_assertion header needs typ: JWT"));
    }
    if header
        .get("kid")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(assertion_fail("the client_assertion header needs a kid"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !matches!(alg, "RS384" | "ES384") {
        return Err(assertion_fail(format!(
            "the client_assertion alg `{}` is not RS384 or ES384",
            shown(alg)
        )));
    }
    if let Some(jku) = header.get("jku") {
        let registered = match registered_keys {
            ClientKeys::JwksUri(uri) => Some(uri.as_str()),
            ClientKeys::Jwks(_) => None,
        };
        if registered.is_none() || jku.as_str() != registered {
            return Err(assertion_fail(
                "the client_assertion's jku is not the client's registered jwks_uri",
            ));
        }
    }
    Ok(client)
}

/// The claims of a verified assertion: `iss` = `sub` = the client id, `aud` = the token
/// endpoint, `exp` in the future but at most five minutes ahead, `nbf` (if any) passed, and
/// a `jti`. Returns the `jti` and `exp`.
fn check_claims(
    shared: &Shared,
    client_id: &str,
    claims: &serde_json::Map<String, Value>,
) -> Result<(String, u64), OAuthFailure> {
    for name in ["iss", "sub"] {
        if claims.get(name).and_then(Value::as_str) != Some(client_id) {
            return Err(assertion_fail(format!(
                "the client_assertion's {name} must be the client_id `{}`",
                shown(client_id)
            )));
        }
    }
    let token_url = shared.token_url();
    let aud_matches = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == token_url,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(&token_url)),
        _ => false,
    };
    if !aud_matches {
        return Err(assertion_fail(format!(
            "the client_assertion's aud must be the token endpoint `{token_url}`, exactly"
        )));
    }
    let now = shared.now();
    let Some(exp) = claims.get("exp").and_then(Value::as_u64) else {
        return Err(assertion_fail("the client_assertion needs a numeric exp"));
    };
    if exp <= now {
        return Err(assertion_fail("the client_assertion has expired"));
    }
    if exp > now.saturating_add(MAX_LIFETIME.as_secs()) {
        return Err(assertion_fail(format!(
            "the client_assertion's exp is more than {} seconds ahead (SMART allows five minutes)",
            MAX_LIFETIME.as_secs()
        )));
    }
    if claims
        .get("nbf")
        .is_some_and(|nbf| nbf.as_u64().is_none_or(|nbf| nbf > now))
    {
        return Err(assertion_fail(
            "the client_assertion is not valid yet (nbf)",
        ));
    }
    match claims.get("jti").and_then(Value::as_str) {
        Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI_LEN => Ok((jti.to_owned(), exp)),
        _ => Err(assertion_fail(format!(
            "the client_assertion needs a jti of 1 to {MAX_JTI_LEN} characters"
        ))),
    }
}

/// The client's public keys: inline, served by the sandbox itself, or fetched from a
/// loopback `jwks_uri`.
fn client_keys(shared: &Shared, keys: &ClientKeys) -> Result<JwkSet, OAuthFailure> {
    let uri = match keys {
        ClientKeys::Jwks(jwks) => return Ok(jwks.clone()),
        ClientKeys::JwksUri(uri) => uri,
    };
    let unusable = |why: &str| {
        OAuthFailure::invalid_client(
            format!("the client's jwks_uri `{}` {why}", shown(uri)),
            false,
        )
    };
    if let Some(path) = uri.strip_prefix(shared.base.as_str())
        && path.starts_with('/')
    {
        return if path == CLIENT_JWKS_PATH {
            JwkSet::parse(&shared.client_jwks.to_string()).map_err(|_| unusable("is not a JWK Set"))
        } else {
            Err(unusable("is not a JWK Set the sandbox serves"))
        };
    }
    let loopback = url::Url::parse(uri).is_ok_and(|url| {
        url.scheme() == "http"
            && matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
    });
    if !loopback {
        return Err(unusable("is not an http:// URL on this machine"));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(JWKS_TIMEOUT))
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let mut response = agent
        .get(uri)
        .header("accept", "application/json")
        .call()
        .map_err(|_| unusable("could not be fetched"))?;
    if response.status() != http::StatusCode::OK {
        return Err(unusable("did not answer 200"));
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_JWKS_BYTES)
        .read_to_string()
        .map_err(|_| unusable("answered an unreadable or oversized body"))?;
    JwkSet::parse(&body).map_err(|_| unusable("did not answer a JWK Set"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%2B%2F%3D%3A").as_deref(), Some("a b+/=:"));
        assert_eq!(form_decode("plain").as_deref(), Some("plain"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%2"), None);
        assert_eq!(form_decode("%"), None);
        assert_eq!(form_decode("%C3%A9").as_deref(), Some("é"));
    }
}
