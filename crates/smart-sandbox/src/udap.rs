//! The UDAP mode (UDAP Security STU2): `GET /.well-known/udap` with signed metadata,
//! `POST /udap/register` (Dynamic Client Registration that verifies software statements:
//! register, modify, cancel) and `POST /udap/token` (client authentication by `x5c`-signed
//! assertions, then the usual grants).
//!
//! Certificates come from a [`TestPki`] made at test time; the sandbox's own leaf (URI SAN =
//! its base URL) is issued when it starts, and client certificates are trusted when they chain
//! to the PKI's root and are not in the CRL.

use std::sync::PoisonError;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Method, Request, StatusCode};
use serde_json::{Map, Value, json};
use smart_jwt_assertion::{Algorithm, CLIENT_ASSERTION_TYPE, JwkSet, decode_unverified};
use smart_token::ErrorCode;
use smart_token::scope::ScopeSet;
use smart_udap::test_util::sign_with_x5c;
use smart_udap::{SERVER_ALGORITHMS, verify_client_assertion, verify_software_statement};

use crate::config::{ClientKeys, GrantType, RegisteredClient};
use crate::http_util::{HttpResponse, OAuthFailure, form_body, json_no_store, method_not_allowed};
use crate::store::{Shared, random_token};
use crate::udap_state::UdapServer;

/// The one community the sandbox serves; any other `community` gets 204.
pub const SANDBOX_COMMUNITY: &str = "urn:smart-sandbox:community";

/// How long the signed metadata is valid.
const METADATA_LIFETIME: u64 = 3600;

fn udap(shared: &Shared) -> Option<&UdapServer> {
    shared.udap.as_ref()
}

fn system_time(seconds: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(seconds))
        .unwrap_or(UNIX_EPOCH)
}

/// `GET /.well-known/udap[?community=...]`.
pub(crate) fn well_known(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    let Some(server) = udap(shared) else {
        return crate::http_util::not_found();
    };
    if request.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let community = request.uri().query().and_then(|query| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "community")
            .map(|(_, value)| value.into_owned())
    });
    if community.is_some_and(|c| c != SANDBOX_COMMUNITY) {
        let mut response = HttpResponse::new(Vec::new());
        *response.status_mut() = StatusCode::NO_CONTENT;
        return response;
    }
    let base = &shared.base;
    let now = shared.now();
    let Ok(jti) = random_token() else {
        return crate::http_util::server_error();
    };
    let claims = json!({
        "iss": base, "sub": base, "iat": now, "exp": now + METADATA_LIFETIME, "jti": jti,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/udap/token"),
        "registration_endpoint": format!("{base}/udap/register"),
    });
    let Some(claims) = claims.as_object() else {
        return crate::http_util::server_error();
    };
    let Ok(signed) = sign_with_x5c(
        claims,
        &server.leaf.key,
        Algorithm::Rs256,
        &[&server.leaf.certificate, server.pki.intermediate()],
    ) else {
        return crate::http_util::server_error();
    };
    let document = json!({
        "udap_versions_supported": ["1"],
        "udap_profiles_supported": ["udap_dcr", "udap_authn", "udap_authz"],
        "udap_authorization_extensions_supported": ["hl7-b2b"],
        "udap_authorization_extensions_required": ["hl7-b2b"],
        "udap_certifications_supported": [],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "scopes_supported": ["openid", "fhirUser", "launch/patient", "patient/*.rs", "system/*.rs"],
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/udap/token"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "ES384"],
        "registration_endpoint": format!("{base}/udap/register"),
        "registration_endpoint_jwt_signing_alg_values_supported": ["RS256", "RS384", "ES384"],
        "signed_metadata": signed,
    });
    json_no_store(StatusCode::OK, &document)
}

fn invalid_statement(description: impl Into<String>) -> OAuthFailure {
    OAuthFailure::new(ErrorCode::parse("invalid_software_statement"), description)
}

/// `POST /udap/register`.
pub(crate) fn register(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    let Some(server) = udap(shared) else {
        return crate::http_util::not_found();
    };
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    handle_register(shared, server, request).unwrap_or_else(OAuthFailure::into_response)
}

fn handle_register(
    shared: &Shared,
    server: &UdapServer,
    request: &Request<Vec<u8>>,
) -> Result<HttpResponse, OAuthFailure> {
    let body = smart_core::json::parse_object(request.body()).map_err(|error| {
        OAuthFailure::invalid_request(format!("the body must be a JSON object: {error}"))
    })?;
    if body.get("udap").and_then(Value::as_str) != Some("1") {
        return Err(OAuthFailure::invalid_request("udap must be \"1\""));
    }
    let statement = body
        .get("software_statement")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_statement("software_statement is missing"))?;
    let endpoint = format!("{}/udap/register", shared.base);
    let verified = verify_software_statement(
        statement,
        &endpoint,
        &server.policy,
        &SERVER_ALGORITHMS,
        system_time(shared.now()),
    )
    .map_err(|error| invalid_statement(error.to_string()))?;
    let claims = &verified.claims;
    let client_uri = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let grants: Vec<&str> = claims
        .get("grant_types")
        .and_then(Value::as_array)
        .map(|grants| grants.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut registrations = server
        .registrations
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let existing = registrations
        .iter()
        .find(|(_, uri)| **uri == client_uri)
        .map(|(id, _)| id.clone());
    if grants.is_empty() {
        let Some(client_id) = existing else {
            return Err(OAuthFailure::new(
                ErrorCode::parse("invalid_client_metadata"),
                "no registration to cancel for this client URI",
            ));
        };
        registrations.remove(&client_id);
        shared.state().clients.remove(&client_id);
        return Ok(json_no_store(
            StatusCode::OK,
            &json!({"client_id": client_id, "grant_types": []}),
        ));
    }
    let modified = existing.is_some();
    let client_id = match existing {
        Some(id) => id,
        None => format!("udap-{}", random_token()?),
    };
    let client = udap_client(&verified, &client_id, &grants)?;
    registrations.insert(client_id.clone(), client_uri);
    drop(registrations);
    shared.state().clients.insert(client_id.clone(), client);
    let mut answer: Map<String, Value> = Map::new();
    answer.insert("client_id".into(), Value::from(client_id));
    answer.insert("software_statement".into(), Value::from(statement));
    for name in [
        "client_name",
        "grant_types",
        "scope",
        "redirect_uris",
        "token_endpoint_auth_method",
    ] {
        if let Some(value) = claims.get(name) {
            answer.insert(name.into(), value.clone());
        }
    }
    let status = if modified {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json_no_store(status, &Value::Object(answer)))
}

/// The sandbox client for a verified registration: a backend service for
/// `client_credentials`, otherwise a confidential asymmetric code-flow client.
fn udap_client(
    verified: &smart_udap::VerifiedStatement,
    client_id: &str,
    grants: &[&str],
) -> Result<RegisteredClient, OAuthFailure> {
    let claims = &verified.claims;
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .and_then(|scope| ScopeSet::parse(scope).ok())
        .ok_or_else(|| {
            OAuthFailure::new(
                ErrorCode::parse("invalid_client_metadata"),
                "scope is unusable",
            )
        })?;
    let jwk = verified
        .leaf
        .public_jwk()
        .map_err(|reason| invalid_statement(reason.to_owned()))?;
    // The client kinds need a `kid`; UDAP clients are authenticated by x5c at /udap/token.
    let mut object = serde_json::to_value(&jwk)
        .ok()
        .and_then(|value| value.as_object().cloned())
        .unwrap_or_default();
    object.insert("kid".into(), Value::from("udap-x5c-leaf"));
    let jwk = smart_jwt_assertion::Jwk::from_object(object)
        .map_err(|_| invalid_statement("the leaf certificate's key cannot be used"))?;
    let keys = ClientKeys::Jwks(JwkSet { keys: vec![jwk] });
    let client = if grants.contains(&"client_credentials") {
        RegisteredClient::backend_service(client_id, keys)
    } else {
        let redirects: Vec<String> = claims
            .get("redirect_uris")
            .and_then(Value::as_array)
            .map(|uris| {
                uris.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut grant_types = vec![GrantType::AuthorizationCode];
        if grants.contains(&"refresh_token") {
            grant_types.push(GrantType::RefreshToken);
        }
        RegisteredClient::confidential_asymmetric(client_id, keys, redirects)
            .with_grant_types(grant_types)
    };
    let mut client = client.with_scopes(scope);
    if let Some(name) = claims.get("client_name").and_then(Value::as_str) {
        client = client.with_name(name);
    }
    client
        .check()
        .map_err(|error| OAuthFailure::new(error.code().clone(), error.description().to_owned()))?;
    Ok(client)
}

/// `POST /udap/token`: a UDAP client assertion (`x5c`), then the grant.
pub(crate) fn token(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    let Some(server) = udap(shared) else {
        return crate::http_util::not_found();
    };
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    handle_token(shared, server, request).unwrap_or_else(OAuthFailure::into_response)
}

fn handle_token(
    shared: &Shared,
    server: &UdapServer,
    request: &Request<Vec<u8>>,
) -> Result<HttpResponse, OAuthFailure> {
    let params = form_body(request)?;
    if params.get("udap") != Some("1") {
        return Err(OAuthFailure::invalid_request(
            "udap must be 1 on UDAP token requests",
        ));
    }
    if params.get("client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
        return Err(OAuthFailure::invalid_client(
            "UDAP clients authenticate with a client_assertion of type jwt-bearer",
            false,
        ));
    }
    let assertion = params
        .get("client_assertion")
        .ok_or_else(|| OAuthFailure::invalid_client("client_assertion is missing", false))?;
    let (_, unverified) = decode_unverified(assertion).map_err(|_| {
        OAuthFailure::invalid_client("the client_assertion cannot be decoded", false)
    })?;
    let client_id = unverified
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let client_uri = server
        .registrations
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&client_id)
        .cloned()
        .ok_or_else(|| OAuthFailure::invalid_client("unknown UDAP client", false))?;
    let endpoint = format!("{}/udap/token", shared.base);
    let now = shared.now();
    let verified = verify_client_assertion(
        assertion,
        &client_id,
        &client_uri,
        &endpoint,
        &server.policy,
        &SERVER_ALGORITHMS,
        system_time(now),
    )
    .map_err(|error| OAuthFailure::invalid_client(error.to_string(), false))?;
    if params.get("grant_type") == Some("client_credentials") {
        let b2b = verified
            .claims
            .get("extensions")
            .and_then(|extensions| extensions.get("hl7-b2b"));
        let usable = b2b.is_some_and(|b2b| {
            b2b.get("version").and_then(Value::as_str) == Some("1")
                && b2b.get("organization_id").and_then(Value::as_str).is_some()
                && b2b
                    .get("purpose_of_use")
                    .and_then(Value::as_array)
                    .is_some_and(|purposes| !purposes.is_empty())
        });
        if !usable {
            return Err(OAuthFailure::invalid_request(
                "client_credentials needs the hl7-b2b authorization extension (version, organization_id, purpose_of_use)",
            ));
        }
    }
    let jti = verified
        .claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let exp = verified
        .claims
        .get("exp")
        .and_then(Value::as_u64)
        .unwrap_or(now);
    let client = {
        let mut state = shared.state();
        state.purge(now);
        if state.jtis.insert((client_id.clone(), jti), exp).is_some() {
            return Err(OAuthFailure::invalid_client(
                "this assertion's jti was already used",
                false,
            ));
        }
        state
            .clients
            .get(&client_id)
            .cloned()
            .ok_or_else(|| OAuthFailure::invalid_client("unknown UDAP client", false))?
    };
    crate::token::grant(shared, &client, &params)
}
