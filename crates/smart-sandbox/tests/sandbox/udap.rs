//! The UDAP mode end to end: signed discovery verified by smart-udap, registration with a
//! software statement (register, modify, cancel), and x5c-authenticated token requests for
//! B2B `client_credentials` and `authorization_code`; with the server's refusals.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use smart_core::{FhirBaseUrl, SystemClock, TokenUrl, TransportPolicy};
use smart_sandbox::{Sandbox, SandboxConfig, UdapMode, demo};
use smart_token::scope::ScopeSet;
use smart_token::{AuthorizationCode, ClientAuth, TokenRequest};
use smart_udap::test_util::{LeafKey, TestPki};
use smart_udap::{
    B2bExtension, Community, RegistrationErrorCode, TrustPolicy, UdapClientAssertion,
    UdapCredentials, UdapError, UdapRegistration, VerifiedUdapMetadata, discovery_request,
    read_cancellation, read_discovery, read_registration,
};

use crate::{agent, authorize, send};

const CLIENT_URI: &str = "https://app.example/b2b";
const REVOKED_URI: &str = "https://app.example/revoked";

struct World {
    pki: Arc<TestPki>,
    sandbox: Sandbox,
    agent: ureq::Agent,
    verified: VerifiedUdapMetadata,
    revoked: UdapCredentials,
}

fn credentials(pki: &TestPki, uri: &str, key: LeafKey) -> UdapCredentials {
    let leaf = pki.leaf(&pki.leaf_spec(uri, key)).unwrap();
    UdapCredentials::from_pem(&pki.chain_pem(&leaf.certificate), &leaf.key_pem).unwrap()
}

fn policy(pki: &TestPki) -> TrustPolicy {
    let mut policy = TrustPolicy::new(vec![pki.root().clone()])
        .with_transport(TransportPolicy::ALLOW_INSECURE_LOCALHOST);
    for crl in pki.empty_crls().unwrap() {
        policy = policy.with_crl(crl);
    }
    policy
}

fn world() -> World {
    let pki = Arc::new(TestPki::new(SystemTime::now()).unwrap());
    let revoked_leaf = pki
        .leaf(&pki.leaf_spec(REVOKED_URI, LeafKey::ClientRsa))
        .unwrap();
    let revoked = UdapCredentials::from_pem(
        &pki.chain_pem(&revoked_leaf.certificate),
        &revoked_leaf.key_pem,
    )
    .unwrap();
    let mode = UdapMode::new(Arc::clone(&pki)).revoke(revoked_leaf.certificate.clone());
    let sandbox = Sandbox::start_with(SandboxConfig::new().udap(mode)).unwrap();
    assert!(sandbox.udap_pki().is_some());
    let agent = agent();
    let base = FhirBaseUrl::parse(sandbox.base_url()).unwrap();
    let answer = send(&agent, discovery_request(&base, None).unwrap());
    let verified =
        read_discovery(&base, None, &answer.to_http(), &policy(&pki), &SystemClock).unwrap();
    World {
        pki,
        sandbox,
        agent,
        verified,
        revoked,
    }
}

fn b2b_metadata() -> Map<String, Value> {
    json!({
        "client_name": "UDAP B2B app",
        "contacts": ["mailto:ops@app.example"],
        "scope": "system/Patient.rs",
        "grant_types": ["client_credentials"],
    })
    .as_object()
    .unwrap()
    .clone()
}

fn udap_token_url(world: &World) -> TokenUrl {
    TokenUrl::parse(world.verified.signed().token_endpoint().as_str()).unwrap()
}

fn b2b_auth(world: &World, credentials: UdapCredentials, client_id: &str, b2b: bool) -> ClientAuth {
    let advertised = world
        .verified
        .metadata()
        .token_endpoint_auth_signing_alg_values_supported()
        .unwrap();
    let mut assertions =
        UdapClientAssertion::new(Arc::new(credentials), &advertised, None).unwrap();
    if b2b {
        assertions = assertions.with_b2b(&B2bExtension::new(
            "https://org.example",
            vec!["urn:oid:2.16.840.1.113883.5.8#TREAT".into()],
        ));
    }
    assertions.into_client_auth(smart_core::ClientId::parse(client_id).unwrap())
}

#[test]
fn discovery_is_signed_and_communities_are_told_apart() {
    let world = world();
    assert!(world.verified.metadata().conformance().is_conformant());
    assert_eq!(
        world.verified.signed().leaf().uri_sans(),
        [world.sandbox.base_url()]
    );
    let base = FhirBaseUrl::parse(world.sandbox.base_url()).unwrap();
    let other = Community::parse("urn:other:community").unwrap();
    let answer = send(
        &world.agent,
        discovery_request(&base, other.as_ref()).unwrap(),
    );
    assert_eq!(answer.status, 204);
    let error = read_discovery(
        &base,
        other.as_ref(),
        &answer.to_http(),
        &policy(&world.pki),
        &SystemClock,
    )
    .unwrap_err();
    assert!(matches!(error, UdapError::NoUdapWorkflows { .. }));
    let ours = Community::parse(smart_sandbox::SANDBOX_COMMUNITY).unwrap();
    let answer = send(
        &world.agent,
        discovery_request(&base, ours.as_ref()).unwrap(),
    );
    assert!(
        read_discovery(
            &base,
            ours.as_ref(),
            &answer.to_http(),
            &policy(&world.pki),
            &SystemClock
        )
        .is_ok()
    );
    // Another community's root does not trust the sandbox.
    let stranger = TestPki::new(SystemTime::now()).unwrap();
    let answer = send(&world.agent, discovery_request(&base, None).unwrap());
    assert!(matches!(
        read_discovery(
            &base,
            None,
            &answer.to_http(),
            &policy(&stranger),
            &SystemClock
        ),
        Err(UdapError::SignedMetadata { .. })
    ));
}

#[test]
fn b2b_register_modify_token_cancel() {
    let world = world();
    let creds = credentials(&world.pki, CLIENT_URI, LeafKey::ClientRsa);
    let registration = UdapRegistration::new(&world.verified, &creds, CLIENT_URI);
    let answer = send(
        &world.agent,
        registration.register_request(&b2b_metadata()).unwrap(),
    );
    assert_eq!(answer.status, 201);
    let client = read_registration(&answer.to_http()).unwrap();
    assert!(client.client_id().as_str().starts_with("udap-"));
    // The same client URI again is a modification: same client_id, 200.
    let answer = send(
        &world.agent,
        registration.register_request(&b2b_metadata()).unwrap(),
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        read_registration(&answer.to_http()).unwrap().client_id(),
        client.client_id()
    );

    // client_credentials with an x5c assertion and hl7-b2b: a token.
    let auth = b2b_auth(
        &world,
        credentials_again(&world, &creds),
        client.client_id().as_str(),
        true,
    );
    let scope = ScopeSet::parse("system/Patient.rs").unwrap();
    let request = TokenRequest::client_credentials(Some(&scope))
        .unwrap()
        .build(&udap_token_url(&world), &auth)
        .unwrap();
    let token = send(&world.agent, request).token();
    assert!(!token.access_token().expose_secret().is_empty());
    // Without hl7-b2b: refused.
    let bare = b2b_auth(
        &world,
        credentials_again(&world, &creds),
        client.client_id().as_str(),
        false,
    );
    let request = TokenRequest::client_credentials(Some(&scope))
        .unwrap()
        .build(&udap_token_url(&world), &bare)
        .unwrap();
    assert_eq!(
        send(&world.agent, request).oauth_error(400),
        "invalid_request"
    );
    // A UDAP assertion for another client_id: refused.
    let wrong = b2b_auth(
        &world,
        credentials_again(&world, &creds),
        "udap-unknown",
        true,
    );
    let request = TokenRequest::client_credentials(Some(&scope))
        .unwrap()
        .build(&udap_token_url(&world), &wrong)
        .unwrap();
    assert_eq!(
        send(&world.agent, request).oauth_error(401),
        "invalid_client"
    );

    // Cancel: empty grant_types back, then the client is gone.
    let mut cancel = b2b_metadata();
    cancel.remove("grant_types");
    let answer = send(&world.agent, registration.cancel_request(&cancel).unwrap());
    let cancelled = read_cancellation(&answer.to_http()).unwrap();
    assert_eq!(cancelled.client_id(), client.client_id());
    let request = TokenRequest::client_credentials(Some(&scope))
        .unwrap()
        .build(&udap_token_url(&world), &auth)
        .unwrap();
    assert_eq!(
        send(&world.agent, request).oauth_error(401),
        "invalid_client"
    );
}

/// The same certificate and key again (credentials are not Clone: the key stays single).
fn credentials_again(world: &World, creds: &UdapCredentials) -> UdapCredentials {
    let _ = world;
    let chain: String = creds
        .chain()
        .iter()
        .map(|cert| smart_udap::test_util::pem("CERTIFICATE", cert.der()))
        .collect();
    UdapCredentials::from_pem(&chain, smart_udap::test_util::CLIENT_RSA_KEY_PEM).unwrap()
}

#[test]
fn statements_from_revoked_or_untrusted_certificates_are_refused() {
    let world = world();
    let registration = UdapRegistration::new(&world.verified, &world.revoked, REVOKED_URI);
    let answer = send(
        &world.agent,
        registration.register_request(&b2b_metadata()).unwrap(),
    );
    match read_registration(&answer.to_http()) {
        Err(UdapError::Registration {
            code, description, ..
        }) => {
            assert_eq!(code, RegistrationErrorCode::InvalidSoftwareStatement);
            assert!(description.unwrap().contains("revoked"));
        }
        other => panic!("{other:?}"),
    }
    let stranger = TestPki::new(SystemTime::now()).unwrap();
    let outsider = credentials(&stranger, CLIENT_URI, LeafKey::P384);
    let registration = UdapRegistration::new(&world.verified, &outsider, CLIENT_URI);
    let answer = send(
        &world.agent,
        registration.register_request(&b2b_metadata()).unwrap(),
    );
    assert!(matches!(
        read_registration(&answer.to_http()),
        Err(UdapError::Registration {
            code: RegistrationErrorCode::InvalidSoftwareStatement,
            ..
        })
    ));
}

#[test]
fn authorization_code_with_an_x5c_assertion() {
    let world = world();
    let creds = credentials(&world.pki, CLIENT_URI, LeafKey::P384);
    let metadata = json!({
        "client_name": "UDAP web app",
        "contacts": ["mailto:ops@app.example"],
        "scope": "openid fhirUser patient/*.rs",
        "grant_types": ["authorization_code"],
        "redirect_uris": [demo::REDIRECT_URI],
        "logo_uri": "https://app.example/logo.png",
    });
    let registration = UdapRegistration::new(&world.verified, &creds, CLIENT_URI);
    let answer = send(
        &world.agent,
        registration
            .register_request(metadata.as_object().unwrap())
            .unwrap(),
    );
    let client = read_registration(&answer.to_http()).unwrap();
    let (code, request) = authorize(
        &world.agent,
        &world.sandbox,
        client.client_id().as_str(),
        "openid patient/*.rs",
        None,
    );
    let advertised = world
        .verified
        .metadata()
        .token_endpoint_auth_signing_alg_values_supported()
        .unwrap();
    let assertions = UdapClientAssertion::new(Arc::new(creds), &advertised, None).unwrap();
    let auth = assertions.into_client_auth(client.client_id().clone());
    let exchange = TokenRequest::authorization_code(
        &AuthorizationCode::new(code),
        &smart_core::RedirectUri::parse(demo::REDIRECT_URI).unwrap(),
        &request.verifier,
    )
    .build(&udap_token_url(&world), &auth)
    .unwrap();
    let token = send(&world.agent, exchange).token();
    assert!(!token.access_token().expose_secret().is_empty());
}

/// The registration put to use through the client's own token steps: a UDAP `ClientAuth` in
/// `SmartFlows`, driven by both shells (a B2B token each, every one with a fresh assertion).
#[test]
fn b2b_tokens_through_both_client_shells() {
    use smart_client::{
        AsyncSmartClient, ClientConfig, ClientType, HttpOptions, ReqwestClient, SmartClient,
        SmartFlows, UreqClient,
    };

    let world = world();
    let creds = credentials(&world.pki, CLIENT_URI, LeafKey::P384);
    let registration = UdapRegistration::new(&world.verified, &creds, CLIENT_URI);
    let answer = send(
        &world.agent,
        registration.register_request(&b2b_metadata()).unwrap(),
    );
    let client_id = read_registration(&answer.to_http())
        .unwrap()
        .client_id()
        .clone();
    let config = ClientConfig::builder(world.sandbox.base_url())
        .token_endpoint(udap_token_url(&world).as_str())
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    let auth = b2b_auth(&world, creds, client_id.as_str(), true);
    let flows =
        SmartFlows::with_client_auth(config, ClientType::ConfidentialAsymmetric, auth).unwrap();
    let options = HttpOptions::new();
    let scope = ScopeSet::parse("system/Patient.rs").unwrap();

    let blocking = SmartClient::from_flows(flows.clone(), UreqClient::new(&options).unwrap());
    let first = blocking.backend_services_token(Some(&scope)).unwrap();
    let again = blocking.backend_services_token(Some(&scope)).unwrap();
    assert_ne!(
        first.access_token().expose_secret(),
        again.access_token().expose_secret(),
        "two requests, two tokens (a replayed assertion jti would be refused)"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let asynchronous = AsyncSmartClient::from_flows(flows, ReqwestClient::new(&options).unwrap());
    let token = runtime
        .block_on(asynchronous.backend_services_token(Some(&scope)))
        .unwrap();
    assert_eq!(
        token.scope().map(ToString::to_string).as_deref(),
        Some("system/Patient.rs")
    );

    // The registration goes straight into the issuer registry: the entry is the issued
    // client_id with its UDAP authentication, and the registry's client gets a B2B token.
    let mut registry = smart_client::registry::IssuerRegistry::new(Vec::new()).unwrap();
    let creds = credentials(&world.pki, CLIENT_URI, LeafKey::P384);
    registry
        .insert(
            smart_client::registry::EhrSettings::with_client_auth(
                "udap-partner",
                world.sandbox.base_url(),
                b2b_auth(&world, creds, client_id.as_str(), true),
            )
            .token_endpoint(udap_token_url(&world).as_str())
            .allow_insecure_localhost(true),
        )
        .unwrap();
    let from_registry = registry
        .client_for(world.sandbox.base_url())
        .unwrap()
        .backend_services_token(Some(&scope))
        .unwrap();
    assert_ne!(
        from_registry.access_token().expose_secret(),
        first.access_token().expose_secret()
    );
    assert_eq!(
        registry
            .settings(world.sandbox.base_url())
            .unwrap()
            .client_id(),
        client_id.as_str()
    );
    // A cancelled registration comes out again, its kept client with it.
    assert!(registry.remove(world.sandbox.base_url()).is_some());
    assert!(registry.client_for(world.sandbox.base_url()).is_err());

    // A configuration naming another client_id is refused when the flows are built.
    let other = ClientConfig::builder(world.sandbox.base_url())
        .client_id("someone-else")
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    let creds = credentials(&world.pki, CLIENT_URI, LeafKey::P384);
    let auth = b2b_auth(&world, creds, client_id.as_str(), true);
    assert!(matches!(
        SmartFlows::with_client_auth(other, ClientType::ConfidentialAsymmetric, auth),
        Err(smart_client::ConfigError::ClientIdMismatch)
    ));
}
