//! Secure by default, through both shells (issue "many EHRs, secure by default"): an EHR
//! launch adds the `launch` scope and sends its `iss` as `aud`; a launch from another issuer
//! is refused before any request; `openid` brings a nonce and a verified `id_token` without
//! the app asking; the granted scope is compared with the requested one.

use smart_client::core::url::Url;
use smart_client::token::Deviation;
use smart_client::{
    AuthorizeOptions, ClientConfig, ClientError, ClientType, FhirUserType, IdTokenProblem,
    PendingAuthorization,
};
use smart_sandbox::{LaunchContext, Sandbox, demo};
use test_support::{Client, both_shells};

use crate::{browse, client_of};

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

both_shells! {
#[test]
fn an_ehr_launch_adds_the_launch_scope_and_sends_the_launch_iss_as_aud() {
    let sandbox = Sandbox::start().unwrap();
    let client = client_of(&sandbox, demo::PUBLIC_CLIENT_ID);
    let launch = sandbox.launch(LaunchContext::demo());
    // The app asked for no `launch` scope: without it the EHR's context would not come.
    let options = AuthorizeOptions::new()
        .ehr_launch(sandbox.base_url(), launch)
        .scopes("openid fhirUser patient/*.rs")
        .unwrap();
    let request = client.authorize(options).unwrap();
    let scope = query(request.url(), "scope").unwrap();
    assert_eq!(scope, "openid fhirUser patient/*.rs launch");
    assert_eq!(
        query(request.url(), "aud").as_deref(),
        Some(sandbox.base_url()),
        "aud is the launch's iss, byte for byte"
    );
    let callback = browse(&request).unwrap();
    let token = client
        .complete_authorization(&callback, request.pending())
        .unwrap();
    assert_eq!(token.context().patient(), Some(demo::PATIENT_ID));
    assert_eq!(token.context().encounter(), Some(demo::ENCOUNTER_ID));
}

#[test]
fn a_launch_from_another_issuer_is_refused_before_any_request() {
    // Nothing listens on port 9: a request would fail with a network error instead.
    let config = ClientConfig::builder("http://127.0.0.1:9/fhir")
        .client_id("app")
        .redirect_uri("http://127.0.0.1:9/callback")
        .scopes("launch openid patient/*.rs")
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    let client = Client::new(config, ClientType::Public).unwrap();
    for (iss, hint) in [
        ("http://127.0.0.1:9/fhir/", "trailing slash"),
        ("http://127.0.0.1:9/FHIR", "letter case"),
        ("https://evil.example/fhir", "forged launch link"),
    ] {
        let err = client
            .authorize(AuthorizeOptions::new().ehr_launch(iss, "xyz"))
            .unwrap_err();
        assert!(matches!(err, ClientError::LaunchIssuer { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&format!("\"{iss}\"")), "{message}");
        assert!(message.contains("\"http://127.0.0.1:9/fhir\""), "{message}");
        assert!(message.contains(hint), "{message}");
    }
}

#[test]
fn openid_brings_a_nonce_and_the_exchange_verifies_the_id_token() {
    let sandbox = Sandbox::start().unwrap();
    let client = client_of(&sandbox, demo::PUBLIC_CLIENT_ID);
    // No nonce given: one is made, sent and kept.
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let nonce = request.pending().nonce().unwrap().to_owned();
    assert!(nonce.len() >= 22, "{nonce}");
    assert_eq!(query(request.url(), "nonce"), Some(nonce.clone()));
    let callback = browse(&request).unwrap();
    let token = client
        .complete_authorization(&callback, request.pending())
        .unwrap();
    let claims = client
        .verify_id_token(token.id_token().unwrap(), Some(&nonce))
        .unwrap();
    let base = smart_client::core::FhirBaseUrl::parse(sandbox.base_url()).unwrap();
    let user = claims.fhir_user_resource(&base).unwrap();
    assert_eq!(user.resource_type(), FhirUserType::Patient);
    assert_eq!(user.id(), demo::PATIENT_ID);
    assert_eq!(
        user.url().as_str(),
        format!("{}/{}", sandbox.base_url(), user.reference())
    );

    // The same flow with the kept nonce changed (a session store mixed up): the id_token the
    // server returns carries the real nonce, and the exchange refuses it.
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let callback = browse(&request).unwrap();
    let mut stored = serde_json::to_value(request.pending()).unwrap();
    stored["nonce"] = "another-nonce-entirely".into();
    let tampered: PendingAuthorization = serde_json::from_value(stored).unwrap();
    let err = client
        .complete_authorization(&callback, &tampered)
        .unwrap_err();
    assert!(
        matches!(err, ClientError::IdToken(IdTokenProblem::NonceMismatch)),
        "{err:?}"
    );
}

#[test]
fn a_refresh_verifies_its_id_token_and_reports_a_wider_grant() {
    let sandbox = Sandbox::start().unwrap();
    let client = client_of(&sandbox, demo::PUBLIC_CLIENT_ID);
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let callback = browse(&request).unwrap();
    let token = client
        .complete_authorization(&callback, request.pending())
        .unwrap();
    assert!(token.granted("patient/Observation.rs?category=laboratory").unwrap());
    assert!(!token.granted("user/Observation.rs").unwrap());
    let refreshed = client
        .refresh(token.refresh_token().unwrap(), None)
        .unwrap();
    assert!(
        refreshed.id_token().is_some(),
        "the sandbox sends a new id_token, which the client verified"
    );
    assert!(
        !refreshed
            .deviations()
            .iter()
            .any(|d| matches!(d, Deviation::ScopeBeyondRequest { .. })),
        "a refresh without scope asks for the whole grant"
    );
}

#[test]
fn the_opt_out_accepts_an_id_token_without_verification() {
    let sandbox = Sandbox::start().unwrap();
    let (builder, client_type) = crate::config_of(&sandbox, demo::PUBLIC_CLIENT_ID);
    let client = Client::new(
        builder.accept_unverified_id_tokens_insecure(true).build().unwrap(),
        client_type,
    )
    .unwrap();
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let callback = browse(&request).unwrap();
    let mut stored = serde_json::to_value(request.pending()).unwrap();
    stored["nonce"] = "another-nonce-entirely".into();
    let tampered: PendingAuthorization = serde_json::from_value(stored).unwrap();
    let token = client.complete_authorization(&callback, &tampered).unwrap();
    assert!(token.id_token().is_some(), "accepted, unverified, as asked");
}
}
