//! The discovery documents and key sets.

use smart_core::{FhirBaseUrl, IssuerUrl, TransportPolicy};
use smart_discovery::Capability;
use smart_jwt_assertion::JwkSet;
use smart_sandbox::Sandbox;

use crate::{agent, get};

#[test]
fn smart_configuration_complies_with_no_findings() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let base = FhirBaseUrl::parse(sandbox.base_url()).unwrap();
    let request = smart_discovery::request(&base).unwrap();
    let answer = crate::send(&agent, request);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let configuration = smart_discovery::parse(
        &base,
        &answer.to_http(),
        TransportPolicy::ALLOW_INSECURE_LOCALHOST,
    )
    .unwrap();
    let report = configuration.compliance();
    assert!(report.is_compliant(), "{report}");
    assert!(configuration.findings().is_empty());

    assert_eq!(
        configuration.token_endpoint().unwrap().as_str(),
        sandbox.token_url()
    );
    assert_eq!(configuration.issuer().unwrap().as_str(), sandbox.base_url());
    assert!(configuration.supports_ehr_launch());
    assert!(configuration.supports_standalone_launch());
    assert!(configuration.supports_public_auth());
    assert!(configuration.supports_symmetric_auth());
    assert!(configuration.supports_asymmetric_auth());
    assert!(configuration.supports_backend_services());
    assert!(configuration.supports_openid_connect());
    assert!(configuration.supports_dynamic_registration());
    assert!(configuration.supports_post_based_authorization());
    assert_eq!(
        configuration.code_challenge_methods_supported().unwrap(),
        ["S256"]
    );
    for capability in [
        Capability::ContextPassthroughBanner,
        Capability::ContextPassthroughStyle,
        Capability::ContextEhrPatient,
        Capability::ContextEhrEncounter,
        Capability::ContextStandalonePatient,
        Capability::ContextStandaloneEncounter,
        Capability::PermissionOffline,
        Capability::PermissionOnline,
        Capability::PermissionPatient,
        Capability::PermissionUser,
        Capability::PermissionV1,
        Capability::PermissionV2,
    ] {
        assert!(configuration.has_capability(capability));
    }
    assert!(configuration.introspection_endpoint().is_some());
    assert!(configuration.revocation_endpoint().is_some());
}

#[test]
fn capability_statement_fallback() {
    let sandbox = Sandbox::start().unwrap();
    let base = FhirBaseUrl::parse(sandbox.base_url()).unwrap();
    let request = smart_discovery::capability_statement::request(&base).unwrap();
    let answer = crate::send(&agent(), request);
    assert_eq!(answer.header("content-type"), Some("application/fhir+json"));
    let uris = smart_discovery::capability_statement::parse(
        &base,
        &answer.to_http(),
        TransportPolicy::ALLOW_INSECURE_LOCALHOST,
    )
    .unwrap();
    assert!(uris.findings().is_empty());
    assert_eq!(uris.token().unwrap().as_str(), sandbox.token_url());
    assert_eq!(uris.authorize().unwrap().as_str(), sandbox.authorize_url());
    assert!(uris.register().is_some() && uris.introspect().is_some() && uris.revoke().is_some());
}

#[test]
fn openid_configuration_and_jwks() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let issuer = IssuerUrl::parse(sandbox.base_url()).unwrap();
    let answer = crate::send(&agent, smart_discovery::openid::request(&issuer).unwrap());
    let openid = smart_discovery::openid::parse(
        &issuer,
        &answer.to_http(),
        TransportPolicy::ALLOW_INSECURE_LOCALHOST,
    )
    .unwrap();
    assert_eq!(
        openid.id_token_signing_alg_values_supported().unwrap(),
        ["RS256"]
    );
    assert_eq!(
        answer.json()["subject_types_supported"],
        serde_json::json!(["public"])
    );

    let jwks = get(&agent, openid.jwks_uri().as_str(), None);
    assert_eq!(jwks.status, 200);
    let set = JwkSet::parse(std::str::from_utf8(&jwks.body).unwrap()).unwrap();
    assert_eq!(set.keys.len(), 1);
    let key = &set.keys[0];
    assert_eq!(key.kty(), "RSA");
    assert_eq!(key.alg(), Some("RS256"));
    assert_eq!(key.key_use(), Some("sig"));
    assert_eq!(key.kid(), Some(smart_sandbox::demo::ID_TOKEN_KID));
    assert!(!String::from_utf8_lossy(&jwks.body).contains("\"d\""));
}

#[test]
fn demo_client_jwks_is_served_without_private_members() {
    let sandbox = Sandbox::start().unwrap();
    let answer = get(
        &agent(),
        &format!(
            "{}{}",
            sandbox.base_url(),
            smart_sandbox::demo::CLIENT_JWKS_PATH
        ),
        None,
    );
    assert_eq!(answer.status, 200);
    let text = String::from_utf8(answer.body).unwrap();
    assert_eq!(
        JwkSet::parse(&text).unwrap(),
        smart_sandbox::demo::client_jwks()
    );
    assert!(!text.contains("\"d\""));
}
