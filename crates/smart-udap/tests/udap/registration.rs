//! Registration: the software statement, the request, and the checks before it is sent.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Map, Value, json};
use smart_jwt_assertion::{Algorithm, verify_compact};
use smart_udap::test_util::{Leaf, LeafKey};
use smart_udap::{ChainError, UdapCredentials, UdapError, UdapRegistration};

use crate::fixture::{NOW, Server, clock_at, discover};

pub(crate) const CLIENT_URI: &str = "https://app.example/udap-client";

pub(crate) fn client_leaf(server: &Server, key: LeafKey) -> Leaf {
    server
        .pki
        .leaf(&server.pki.leaf_spec(CLIENT_URI, key))
        .unwrap()
}

pub(crate) fn credentials(server: &Server, leaf: &Leaf) -> UdapCredentials {
    UdapCredentials::from_pem(&server.pki.chain_pem(&leaf.certificate), &leaf.key_pem).unwrap()
}

pub(crate) fn b2b_metadata() -> Map<String, Value> {
    json!({
        "client_name": "B2B test app",
        "contacts": ["mailto:ops@app.example"],
        "scope": "system/Patient.rs system/Observation.rs",
        "grant_types": ["client_credentials"],
    })
    .as_object()
    .unwrap()
    .clone()
}

fn decode(part: &str) -> Map<String, Value> {
    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

fn body(request: &http::Request<Vec<u8>>) -> Map<String, Value> {
    serde_json::from_slice(request.body()).unwrap()
}

#[test]
fn the_software_statement_has_every_claim() {
    let server = Server::new();
    let verified = server.verified();
    let leaf = client_leaf(&server, LeafKey::ClientRsa);
    let credentials = credentials(&server, &leaf);
    let registration =
        UdapRegistration::new(&verified, &credentials, CLIENT_URI).with_clock(clock_at(NOW));
    let request = registration.register_request(&b2b_metadata()).unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(
        request.uri().to_string(),
        "https://fhir.example/r4/register"
    );
    assert_eq!(request.headers()["content-type"], "application/json");
    let body = body(&request);
    assert_eq!(body["udap"], "1");
    assert!(!body.contains_key("certifications"));
    let statement = body["software_statement"].as_str().unwrap();
    let parts: Vec<&str> = statement.split('.').collect();
    let header = decode(parts[0]);
    let mut keys: Vec<&String> = header.keys().collect();
    keys.sort();
    assert_eq!(keys, ["alg", "x5c"]);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(
        header["x5c"],
        json!([
            leaf.certificate.to_x5c(),
            server.pki.intermediate().to_x5c()
        ])
    );
    let claims = decode(parts[1]);
    assert_eq!(claims["iss"], CLIENT_URI);
    assert_eq!(claims["sub"], CLIENT_URI);
    assert_eq!(claims["aud"], "https://fhir.example/r4/register");
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 300);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 43);
    assert_eq!(claims["client_name"], "B2B test app");
    assert_eq!(claims["grant_types"], json!(["client_credentials"]));
    assert_eq!(claims["token_endpoint_auth_method"], "private_key_jwt");
    assert!(!claims.contains_key("response_types"));
    // It verifies with the leaf's key.
    let keys = crate::fixture::any_alg_keys(&leaf.key);
    assert!(verify_compact(statement, &keys, &[Algorithm::Rs256]).is_ok());
    // Every request gets a fresh jti.
    let again = body_statement(&registration.register_request(&b2b_metadata()).unwrap());
    assert_ne!(
        decode(again.split('.').nth(1).unwrap())["jti"],
        claims["jti"]
    );
}

fn body_statement(request: &http::Request<Vec<u8>>) -> String {
    body(request)["software_statement"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn es384_when_the_key_is_p384_and_the_server_advertises_it() {
    let server = Server::new();
    let verified = server.verified();
    let leaf = client_leaf(&server, LeafKey::P384);
    let credentials = credentials(&server, &leaf);
    let request = UdapRegistration::new(&verified, &credentials, CLIENT_URI)
        .with_clock(clock_at(NOW))
        .register_request(&b2b_metadata())
        .unwrap();
    let statement = body_statement(&request);
    assert_eq!(decode(statement.split('.').next().unwrap())["alg"], "ES384");
    assert!(
        verify_compact(
            &statement,
            &leaf.key.public_jwk_set(None),
            &[Algorithm::Es384]
        )
        .is_ok()
    );
    // An explicit algorithm the key cannot make is refused.
    let refused = UdapRegistration::new(&verified, &credentials, CLIENT_URI)
        .with_algorithm(Algorithm::Rs256)
        .with_clock(clock_at(NOW))
        .register_request(&b2b_metadata());
    assert!(matches!(
        refused,
        Err(UdapError::InvalidSetting {
            setting: "algorithm",
            ..
        })
    ));
}

#[test]
fn the_server_must_advertise_dcr_and_rs256() {
    let server = Server::new();
    let leaf = client_leaf(&server, LeafKey::ClientRsa);
    let credentials = credentials(&server, &leaf);
    let mut document = server.good_document();
    document.insert(
        "registration_endpoint_jwt_signing_alg_values_supported".into(),
        json!(["ES384"]),
    );
    let verified = discover(&document, &server.policy()).unwrap();
    let result = UdapRegistration::new(&verified, &credentials, CLIENT_URI)
        .with_clock(clock_at(NOW))
        .register_request(&b2b_metadata());
    assert!(matches!(result, Err(UdapError::NoRs256Registration)));

    let mut document = server.good_document();
    document.insert("udap_versions_supported".into(), json!(["2"]));
    let verified = discover(&document, &server.policy()).unwrap();
    let result = UdapRegistration::new(&verified, &credentials, CLIENT_URI)
        .with_clock(clock_at(NOW))
        .register_request(&b2b_metadata());
    let error = result.unwrap_err();
    assert!(matches!(error, UdapError::NotConformant { .. }));
    assert!(error.to_string().starts_with(
        "UDAP metadata is not structurally conformant for Dynamic Client Registration"
    ));
}

#[test]
fn certifications() {
    let server = Server::new();
    let leaf = client_leaf(&server, LeafKey::ClientRsa);
    let credentials = credentials(&server, &leaf);
    let mut document = server.good_document();
    document.insert(
        "udap_certifications_supported".into(),
        json!(["https://cert.example/c1"]),
    );
    document.insert(
        "udap_certifications_required".into(),
        json!(["https://cert.example/c1"]),
    );
    let verified = discover(&document, &server.policy()).unwrap();
    let registration =
        || UdapRegistration::new(&verified, &credentials, CLIENT_URI).with_clock(clock_at(NOW));
    let missing = registration()
        .register_request(&b2b_metadata())
        .unwrap_err();
    assert!(missing.to_string().contains(
        "must not be nil or empty when UDAP metadata advertises required certification URIs"
    ));
    let empty = registration()
        .with_certifications(vec![])
        .register_request(&b2b_metadata())
        .unwrap_err();
    assert!(matches!(
        empty,
        UdapError::InvalidRegistrationMetadata { .. }
    ));
    let bad = registration()
        .with_certifications(vec!["not-a-jws".into()])
        .register_request(&b2b_metadata())
        .unwrap_err();
    assert!(
        bad.to_string()
            .contains("must be nil or an array of compact JWS strings")
    );
    let request = registration()
        .with_certifications(vec!["a.b.c".into()])
        .register_request(&b2b_metadata())
        .unwrap();
    assert_eq!(body(&request)["certifications"], json!(["a.b.c"]));
}

#[test]
fn client_certificate_gates() {
    let server = Server::new();
    let verified = server.verified();
    let leaf = client_leaf(&server, LeafKey::ClientRsa);
    let chain_pem = server.pki.chain_pem(&leaf.certificate);
    // client_uri must be a SAN of the leaf.
    let credentials = UdapCredentials::from_pem(&chain_pem, &leaf.key_pem).unwrap();
    let wrong_uri = UdapRegistration::new(&verified, &credentials, "https://app.example/other")
        .with_clock(clock_at(NOW))
        .register_request(&b2b_metadata());
    assert!(matches!(
        wrong_uri,
        Err(UdapError::ClientCertificate(ChainError::SanMismatch))
    ));
    // The key must be the leaf's.
    assert!(matches!(
        UdapCredentials::from_pem(&chain_pem, smart_udap::test_util::SERVER_RSA_KEY_PEM),
        Err(UdapError::ClientCertificate(ChainError::KeyMismatch))
    ));
    // The chain must be leaf first and issuer ordered.
    let reversed: String = {
        let mut blocks: Vec<&str> = chain_pem
            .split_inclusive("-----END CERTIFICATE-----\n")
            .collect();
        blocks.reverse();
        blocks.concat()
    };
    assert!(matches!(
        UdapCredentials::from_pem(&reversed, &leaf.key_pem),
        Err(UdapError::ClientCertificate(ChainError::Order))
    ));
    // An expired client certificate signs nothing.
    let mut spec = server.pki.leaf_spec(CLIENT_URI, LeafKey::ClientRsa);
    spec.not_after = UNIX_EPOCH + Duration::from_secs(NOW - 10);
    spec.not_before = UNIX_EPOCH + Duration::from_secs(NOW - 1000);
    let expired = server.pki.leaf(&spec).unwrap();
    let expired_credentials = UdapCredentials::from_pem(
        &server.pki.chain_pem(&expired.certificate),
        &expired.key_pem,
    )
    .unwrap();
    let result = UdapRegistration::new(&verified, &expired_credentials, CLIENT_URI)
        .with_clock(clock_at(NOW))
        .register_request(&b2b_metadata());
    assert!(matches!(
        result,
        Err(UdapError::ClientCertificate(ChainError::Validity {
            state: "expired",
            ..
        }))
    ));
    // Debug shows subjects, never the key.
    let debug = format!("{credentials:?}");
    assert!(
        debug.contains("[redacted]") && !debug.contains("BEGIN"),
        "{debug}"
    );
}

#[test]
fn invalid_metadata_is_refused_before_signing() {
    let server = Server::new();
    let verified = server.verified();
    let leaf = client_leaf(&server, LeafKey::ClientRsa);
    let credentials = credentials(&server, &leaf);
    let mut metadata = b2b_metadata();
    metadata.insert("jti".into(), json!("mine"));
    let error = UdapRegistration::new(&verified, &credentials, CLIENT_URI)
        .with_clock(clock_at(NOW))
        .register_request(&metadata)
        .unwrap_err();
    assert!(error.to_string().contains("`jti` is reserved"), "{error}");
    assert!(!error.to_string().contains("mine"));
}

#[test]
fn cancellation_sends_empty_grant_types() {
    let server = Server::new();
    let verified = server.verified();
    let leaf = client_leaf(&server, LeafKey::ClientRsa);
    let credentials = credentials(&server, &leaf);
    let mut metadata = b2b_metadata();
    metadata.remove("grant_types");
    let request = UdapRegistration::new(&verified, &credentials, CLIENT_URI)
        .with_clock(clock_at(NOW))
        .cancel_request(&metadata)
        .unwrap();
    let statement = body_statement(&request);
    assert_eq!(
        decode(statement.split('.').nth(1).unwrap())["grant_types"],
        json!([])
    );
    let _ = Arc::new(());
}
