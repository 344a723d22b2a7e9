//! UDAP client assertions at the token endpoint.

use std::sync::Arc;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Map, Value, json};
use smart_core::url::form_urlencoded;
use smart_core::{ClientId, TokenUrl};
use smart_jwt_assertion::{Algorithm, verify_compact};
use smart_token::{AuthMethod, TokenRequest};
use smart_udap::test_util::LeafKey;
use smart_udap::{B2bExtension, UdapClientAssertion};

use crate::fixture::{NOW, Server, clock_at};
use crate::registration::{client_leaf, credentials};

fn claims(token: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut parts = token.split('.');
    let mut next = || {
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(parts.next().unwrap()).unwrap())
            .unwrap()
    };
    (next(), next())
}

#[test]
fn b2b_client_credentials_through_smart_token() {
    let server = Server::new();
    let verified = server.verified();
    let leaf = client_leaf(&server, LeafKey::ClientRsa);
    let credentials = Arc::new(credentials(&server, &leaf));
    let advertised = verified
        .metadata()
        .token_endpoint_auth_signing_alg_values_supported()
        .unwrap();
    let b2b = B2bExtension::new(
        "https://org.example/id",
        vec!["urn:oid:2.16.840.1.113883.5.8#TREAT".into()],
    );
    let assertions = UdapClientAssertion::new(credentials, &advertised, None)
        .unwrap()
        .with_b2b(&b2b)
        .with_clock(clock_at(NOW));
    assert_eq!(assertions.algorithm(), Algorithm::Rs256);
    let client_id = ClientId::parse("client-from-registration").unwrap();
    let auth = assertions.into_client_auth(client_id);
    assert_eq!(auth.method(), AuthMethod::PrivateKeyJwt);
    assert!(!format!("{auth:?}").contains("BEGIN"));
    let token_url = TokenUrl::parse(verified.signed().token_endpoint().as_str()).unwrap();
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url, &auth)
        .unwrap();
    let form: Vec<(String, String)> = form_urlencoded::parse(request.body())
        .into_owned()
        .collect();
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(field("udap").as_deref(), Some("1"));
    assert_eq!(field("grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(field("client_id"), None);
    let assertion = field("client_assertion").unwrap();
    let (header, claims) = claims(&assertion);
    assert_eq!(header["x5c"].as_array().unwrap().len(), 2);
    assert_eq!(claims["iss"], "client-from-registration");
    assert_eq!(claims["sub"], "client-from-registration");
    assert_eq!(claims["aud"], "https://fhir.example/r4/token");
    assert_eq!(claims["exp"], NOW + 300);
    assert_eq!(
        claims["extensions"]["hl7-b2b"]["organization_id"],
        "https://org.example/id"
    );
    assert_eq!(claims["extensions"]["hl7-b2b"]["version"], "1");
    assert!(
        verify_compact(
            &assertion,
            &crate::fixture::any_alg_keys(&leaf.key),
            &[Algorithm::Rs256]
        )
        .is_ok()
    );
}

#[test]
fn authorization_code_with_form_fields() {
    let server = Server::new();
    let leaf = client_leaf(&server, LeafKey::P384);
    let credentials = Arc::new(credentials(&server, &leaf));
    let assertions = UdapClientAssertion::new(credentials.clone(), &["RS256", "ES384"], None)
        .unwrap()
        .with_clock(clock_at(NOW));
    assert_eq!(assertions.algorithm(), Algorithm::Es384);
    let token_url = TokenUrl::parse("https://fhir.example/r4/token").unwrap();
    let fields = assertions
        .form_fields(&ClientId::parse("c9").unwrap(), &token_url)
        .unwrap();
    assert_eq!(fields[0].1, smart_jwt_assertion::CLIENT_ASSERTION_TYPE);
    assert_eq!(fields[2], ("udap".into(), "1".into()));
    let (header, claims) = claims(&fields[1].1);
    assert_eq!(header["alg"], "ES384");
    assert!(!claims.contains_key("extensions"));
    assert_eq!(claims["iss"], json!("c9"));
    // No advertised algorithm the key can make.
    assert!(UdapClientAssertion::new(credentials, &["RS256"], None).is_err());
}
