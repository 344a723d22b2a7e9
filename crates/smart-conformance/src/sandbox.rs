//! The profile of the embedded sandbox: its demo clients, EHR launches, clock and UDAP mode.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use smart_client::SecretMethod;
use smart_sandbox::{LaunchContext, Sandbox, demo};
use smart_udap::UdapCredentials;
use smart_udap::test_util::LeafKey;

use crate::profile::{AppClient, BackendClient, Profile};
use crate::udap_flow::{CLIENT_URI, UdapProfile};

/// The profile for a running sandbox: every demo client, EHR launches minted by the sandbox,
/// its clock, dynamic registration, and its UDAP mode when it has one. `timeout` bounds each
/// HTTP request.
pub fn sandbox_profile(sandbox: &Sandbox, timeout: Duration) -> Profile<'_> {
    let base = sandbox.base_url().to_owned();
    let app = |client_id: &str| AppClient {
        client_id: client_id.to_owned(),
        redirect_uri: demo::REDIRECT_URI.to_owned(),
        scope: "launch/patient openid fhirUser offline_access patient/*.rs".to_owned(),
        secret: None,
        secret_method: SecretMethod::default(),
        key: None,
        kid: None,
    };
    let mut metadata = serde_json::Map::new();
    metadata.insert(
        "client_name".into(),
        json!("Demo app registered at run time"),
    );
    metadata.insert("redirect_uris".into(), json!([demo::REDIRECT_URI]));
    metadata.insert("token_endpoint_auth_method".into(), json!("none"));
    metadata.insert(
        "grant_types".into(),
        json!(["authorization_code", "refresh_token"]),
    );
    metadata.insert(
        "scope".into(),
        json!("launch/patient openid fhirUser patient/*.rs"),
    );
    Profile {
        fhir_base: base,
        allow_insecure_localhost: true,
        timeout,
        public: Some(app(demo::PUBLIC_CLIENT_ID)),
        symmetric: Some(AppClient {
            secret: Some(demo::SYMMETRIC_CLIENT_SECRET.to_owned()),
            ..app(demo::SYMMETRIC_CLIENT_ID)
        }),
        asymmetric: Some(AppClient {
            key: Some(demo::asymmetric_key()),
            kid: Some(demo::asymmetric_kid().to_owned()),
            ..app(demo::ASYMMETRIC_CLIENT_ID)
        }),
        asymmetric_jwks_uri: Some(AppClient {
            key: Some(demo::asymmetric_key()),
            kid: Some(demo::asymmetric_kid().to_owned()),
            ..app(demo::ASYMMETRIC_JKU_CLIENT_ID)
        }),
        ehr_client: None,
        backend: Some(BackendClient {
            client_id: demo::BACKEND_CLIENT_ID.to_owned(),
            key: demo::backend_key(),
            kid: Some(demo::backend_kid().to_owned()),
            scope: Some("system/Patient.rs system/Observation.rs".to_owned()),
        }),
        ehr_launch: Some(Box::new(move || Ok(sandbox.launch(LaunchContext::demo())))),
        advance_clock: Some(Box::new(move |by| sandbox.advance_clock(by))),
        auto_approve: true,
        registration: Some(metadata),
        udap: udap_profile(sandbox),
    }
}

/// The profile for the sandbox's UDAP mode: its PKI's root and CRLs, and a client certificate
/// issued from it now.
fn udap_profile(sandbox: &Sandbox) -> Option<UdapProfile> {
    let pki = sandbox.udap_pki()?;
    let leaf = pki.leaf(&pki.leaf_spec(CLIENT_URI, LeafKey::P384)).ok()?;
    let credentials =
        UdapCredentials::from_pem(&pki.chain_pem(&leaf.certificate), &leaf.key_pem).ok()?;
    Some(UdapProfile {
        anchors: vec![pki.root().clone()],
        crls: pki.empty_crls().ok()?,
        credentials: Arc::new(credentials),
        client_uri: CLIENT_URI.to_owned(),
    })
}
