//! Every client type's full flow: authorize, code, token, FHIR read, refresh, backend.

use serde_json::json;
use smart_core::{FixedClock, unix_seconds};
use smart_jwt_assertion::{Algorithm, JwkSet, verify_compact};
use smart_sandbox::{LaunchContext, RegisteredClient, Sandbox, SandboxConfig, demo};
use smart_token::scope::ScopeSet;
use smart_token::{ClientAuth, ClientSecret, Flow, TokenRequest, TokenResponse};

use crate::{
    AuthorizeRequest, PATIENT_SCOPES, agent, asymmetric_auth, authorize, backend_auth, client_id,
    code_flow, code_from, exchange, get, key_auth, public_auth, read_patient, redirect_params,
    send, symmetric_auth, token_url,
};

/// Verifies an `id_token` against the sandbox's JWK Set and returns its claims.
fn id_token_claims(
    sandbox: &Sandbox,
    token: &TokenResponse,
) -> serde_json::Map<String, serde_json::Value> {
    let jwks = get(&agent(), &format!("{}/jwks", sandbox.base_url()), None);
    let jwks = JwkSet::parse(std::str::from_utf8(&jwks.body).unwrap()).unwrap();
    let id_token = token.id_token().expect("an id_token");
    let verified = verify_compact(id_token.expose_secret(), &jwks, &[Algorithm::Rs256]).unwrap();
    assert_eq!(verified.kid(), Some(demo::ID_TOKEN_KID));
    verified.claims().clone()
}

#[test]
fn standalone_launch_for_each_client_type() {
    // The demo symmetric client registered client_secret_basic; this one client_secret_post.
    let sandbox = Sandbox::start_with(SandboxConfig::new().client(
        RegisteredClient::confidential_symmetric_post(
            "symmetric-post",
            demo::SYMMETRIC_CLIENT_SECRET,
            vec![demo::REDIRECT_URI.into()],
        ),
    ))
    .unwrap();
    let agent = agent();
    let auths = [
        public_auth(),
        symmetric_auth(),
        symmetric_auth().with_rfc6749_basic_encoding(),
        ClientAuth::client_secret_post(
            client_id("symmetric-post"),
            ClientSecret::new(demo::SYMMETRIC_CLIENT_SECRET),
        ),
        asymmetric_auth(),
        key_auth(
            demo::ASYMMETRIC_CLIENT_ID,
            &demo::rs384_key(),
            demo::RS384_KID,
        ),
        key_auth(
            demo::ASYMMETRIC_JKU_CLIENT_ID,
            &demo::asymmetric_key(),
            demo::asymmetric_kid(),
        ),
    ];
    for auth in &auths {
        let token = code_flow(&agent, &sandbox, auth, PATIENT_SCOPES, None);
        assert!(token.validate(Flow::AppLaunch).is_valid(), "{auth:?}");
        assert_eq!(token.token_type(), Some("Bearer"));
        assert_eq!(token.expires_in(), Some(3600));
        assert_eq!(token.scope().unwrap().to_string(), PATIENT_SCOPES);
        assert_eq!(token.context().patient(), Some(demo::PATIENT_ID));
        assert_eq!(token.context().need_patient_banner(), Some(true));
        assert_eq!(
            token.context().smart_style_url(),
            Some(format!("{}/smart-style.json", sandbox.base_url()).as_str())
        );
        assert!(
            token.refresh_token().is_some(),
            "offline_access was granted"
        );

        let claims = id_token_claims(&sandbox, &token);
        assert_eq!(claims["iss"], sandbox.base_url());
        assert_eq!(claims["aud"], auth.client_id().as_str());
        assert_eq!(
            claims["fhirUser"],
            format!("{}/Patient/{}", sandbox.base_url(), demo::PATIENT_ID)
        );
        assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());
        assert!(claims.get("nonce").is_none());

        let patient = read_patient(
            &agent,
            &sandbox,
            demo::PATIENT_ID,
            Some(token.access_token().expose_secret()),
        );
        assert_eq!(patient.status, 200);
        assert_eq!(
            patient.header("content-type"),
            Some("application/fhir+json")
        );
        assert_eq!(patient.json()["id"], demo::PATIENT_ID);
    }
    let style = get(
        &agent,
        &format!("{}/smart-style.json", sandbox.base_url()),
        None,
    );
    assert_eq!(style.status, 200);
    assert!(style.json().contains_key("color_background"));
}

#[test]
fn ehr_launch_returns_the_launch_context() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let mut item = serde_json::Map::new();
    item.insert("reference".into(), json!("DiagnosticReport/dr-1"));
    let mut context = LaunchContext::demo()
        .with_fhir_context(item)
        .with_intent("reconcile-medications");
    context.tenant = Some("tenant-a".into());
    context.smart_style_url = Some("https://ehr.example/style.json".into());
    for auth in [public_auth(), symmetric_auth(), asymmetric_auth()] {
        let launch = sandbox.launch(context.clone());
        let token = code_flow(
            &agent,
            &sandbox,
            &auth,
            "launch openid fhirUser online_access user/*.rs patient/*.rs",
            Some(&launch),
        );
        let launch_context = token.context();
        assert_eq!(launch_context.patient(), Some(demo::PATIENT_ID));
        assert_eq!(launch_context.encounter(), Some(demo::ENCOUNTER_ID));
        assert_eq!(launch_context.need_patient_banner(), Some(true));
        assert_eq!(
            launch_context.smart_style_url(),
            Some("https://ehr.example/style.json")
        );
        assert_eq!(launch_context.intent(), Some("reconcile-medications"));
        assert_eq!(launch_context.tenant(), Some("tenant-a"));
        assert_eq!(launch_context.fhir_context().len(), 1);
        assert_eq!(
            launch_context.fhir_context()[0].reference(),
            Some("DiagnosticReport/dr-1")
        );
        assert!(token.refresh_token().is_some(), "online_access was granted");
        let claims = id_token_claims(&sandbox, &token);
        assert_eq!(
            claims["fhirUser"],
            format!(
                "{}/Practitioner/{}",
                sandbox.base_url(),
                demo::PRACTITIONER_ID
            )
        );
        // A user/ scope reads any patient.
        let other = read_patient(
            &agent,
            &sandbox,
            demo::OTHER_PATIENT_ID,
            Some(token.access_token().expose_secret()),
        );
        assert_eq!(other.status, 200);
    }
}

#[test]
fn ehr_launch_url_carries_iss_and_launch() {
    let sandbox = Sandbox::start().unwrap();
    let url = sandbox
        .ehr_launch_url("https://app.example/launch?x=1", LaunchContext::demo())
        .unwrap();
    let url = url::Url::parse(&url).unwrap();
    let params = redirect_params(&url);
    assert_eq!(params["x"], "1");
    assert_eq!(params["iss"], sandbox.base_url());
    let launch = params["launch"].as_str().unwrap();
    let agent = agent();
    let token = code_flow(
        &agent,
        &sandbox,
        &public_auth(),
        "launch patient/Patient.r",
        Some(launch),
    );
    assert_eq!(token.context().patient(), Some(demo::PATIENT_ID));
    assert!(
        token.refresh_token().is_none(),
        "no offline or online access"
    );
    assert!(token.id_token().is_none(), "no openid");
    assert!(
        sandbox
            .ehr_launch_url("not a url", LaunchContext::new())
            .is_err()
    );
}

#[test]
fn post_authorize_and_nonce() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let request = AuthorizeRequest::new(
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        "launch/patient launch/encounter openid fhirUser profile user/*.rs",
    )
    .set("nonce", Some("n-0S6_WzA2Mj"))
    .set("redirect_uri", Some("http://127.0.0.1:49152/callback"));
    let answer = request.post(&agent, &sandbox);
    let location = answer.location();
    assert!(
        location
            .as_str()
            .starts_with("http://127.0.0.1:49152/callback?")
    );
    let params = redirect_params(&location);
    assert_eq!(params["state"], request.state.as_str());
    let code = params["code"].as_str().unwrap();
    let token_request = TokenRequest::authorization_code(
        &smart_token::AuthorizationCode::new(code),
        &smart_core::RedirectUri::parse("http://127.0.0.1:49152/callback").unwrap(),
        &request.verifier,
    )
    .build(&token_url(&sandbox), &public_auth())
    .unwrap();
    let token = send(&agent, token_request).token();
    assert_eq!(token.context().encounter(), Some(demo::ENCOUNTER_ID));
    let claims = id_token_claims(&sandbox, &token);
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    // A provider app (user/ scopes): the user is the practitioner.
    let practitioner = format!(
        "{}/Practitioner/{}",
        sandbox.base_url(),
        demo::PRACTITIONER_ID
    );
    assert_eq!(claims["fhirUser"], practitioner.as_str());
    assert_eq!(claims["profile"], practitioner.as_str());
}

#[test]
fn refresh_rotates_and_a_reused_refresh_token_revokes_the_grant() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    for auth in [public_auth(), symmetric_auth(), asymmetric_auth()] {
        let first = code_flow(&agent, &sandbox, &auth, PATIENT_SCOPES, None);
        let refresh_1 = first.refresh_token().unwrap().clone();

        let request = TokenRequest::refresh_token(&refresh_1, None)
            .build(&token_url(&sandbox), &auth)
            .unwrap();
        let second = send(&agent, request).token();
        let refresh_2 = second.refresh_token().unwrap().clone();
        assert_ne!(refresh_1.expose_secret(), refresh_2.expose_secret());
        assert_ne!(
            first.access_token().expose_secret(),
            second.access_token().expose_secret()
        );
        assert_eq!(second.context().patient(), Some(demo::PATIENT_ID));
        let claims = id_token_claims(&sandbox, &second);
        assert_eq!(claims["aud"], auth.client_id().as_str());

        // A narrower scope is allowed; a wider one is not.
        let narrower = ScopeSet::parse("patient/Patient.r").unwrap();
        let request = TokenRequest::refresh_token(&refresh_2, Some(&narrower))
            .build(&token_url(&sandbox), &auth)
            .unwrap();
        let third = send(&agent, request).token();
        assert_eq!(third.scope().unwrap().to_string(), "patient/Patient.r");
        assert!(third.id_token().is_none());
        let refresh_3 = third.refresh_token().unwrap().clone();
        let wider = ScopeSet::parse("user/*.rs").unwrap();
        let request = TokenRequest::refresh_token(&refresh_3, Some(&wider))
            .build(&token_url(&sandbox), &auth)
            .unwrap();
        assert_eq!(send(&agent, request).oauth_error(400), "invalid_scope");

        // Replaying a rotated refresh token fails and revokes the live tokens of the grant.
        let request = TokenRequest::refresh_token(&refresh_1, None)
            .build(&token_url(&sandbox), &auth)
            .unwrap();
        assert_eq!(send(&agent, request).oauth_error(400), "invalid_grant");
        let request = TokenRequest::refresh_token(&refresh_3, None)
            .build(&token_url(&sandbox), &auth)
            .unwrap();
        assert_eq!(send(&agent, request).oauth_error(400), "invalid_grant");
        let read = read_patient(
            &agent,
            &sandbox,
            demo::PATIENT_ID,
            Some(third.access_token().expose_secret()),
        );
        assert_eq!(read.status, 401);
    }
}

#[test]
fn refresh_needs_client_authentication() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let token = code_flow(&agent, &sandbox, &symmetric_auth(), PATIENT_SCOPES, None);
    let refresh = token.refresh_token().unwrap();
    // The refresh token alone, or with the client_id alone, is not enough.
    let answer = crate::post_form(
        &agent,
        &sandbox.token_url(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
            ("client_id", demo::SYMMETRIC_CLIENT_ID),
        ],
        None,
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
    // Another client cannot use it.
    let request = TokenRequest::refresh_token(refresh, None)
        .build(&token_url(&sandbox), &asymmetric_auth())
        .unwrap();
    assert_eq!(send(&agent, request).oauth_error(400), "invalid_grant");
    // The owner still can: a failed attempt by someone else does not rotate it.
    let request = TokenRequest::refresh_token(refresh, None)
        .build(&token_url(&sandbox), &symmetric_auth())
        .unwrap();
    assert_eq!(send(&agent, request).status, 200);
}

#[test]
fn backend_services() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    for scope in [None, Some("system/Patient.rs system/Observation.read")] {
        let scope = scope.map(|text| ScopeSet::parse(text).unwrap());
        let request = TokenRequest::client_credentials(scope.as_ref())
            .unwrap()
            .build(&token_url(&sandbox), &backend_auth())
            .unwrap();
        let token = send(&agent, request).token();
        assert!(token.validate(Flow::BackendServices).is_valid());
        assert_eq!(token.expires_in(), Some(300));
        assert!(token.refresh_token().is_none());
        assert!(token.id_token().is_none());
        assert!(token.context().is_empty());
        let read = read_patient(
            &agent,
            &sandbox,
            demo::OTHER_PATIENT_ID,
            Some(token.access_token().expose_secret()),
        );
        assert_eq!(read.status, 200);
    }
    // With the ES384 key too.
    let auth = key_auth(demo::BACKEND_CLIENT_ID, &demo::es384_key(), demo::ES384_KID);
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(&sandbox), &auth)
        .unwrap();
    assert_eq!(send(&agent, request).status, 200);
}

#[test]
fn backend_scope_beyond_registration_and_other_clients_are_refused() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let wider = ScopeSet::parse("system/*.cruds").unwrap();
    let request = TokenRequest::client_credentials(Some(&wider))
        .unwrap()
        .build(&token_url(&sandbox), &backend_auth())
        .unwrap();
    assert_eq!(send(&agent, request).oauth_error(400), "invalid_scope");
    // client_credentials without scope.
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(&sandbox), &backend_auth())
        .unwrap();
    let body = String::from_utf8(request.body().clone()).unwrap();
    let without_scope = body.replace("&scope=system%2F*.rs", "");
    let request = http::Request::builder()
        .method("POST")
        .uri(sandbox.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(without_scope.into_bytes())
        .unwrap();
    assert_eq!(send(&agent, request).oauth_error(400), "invalid_scope");
    // A user-facing client may not use client_credentials.
    for auth in [symmetric_auth(), asymmetric_auth()] {
        let request = TokenRequest::client_credentials(None)
            .unwrap()
            .build(&token_url(&sandbox), &auth)
            .unwrap();
        assert_eq!(
            send(&agent, request).oauth_error(400),
            "unauthorized_client"
        );
    }
    // And the backend client may not use the code flow.
    let request = AuthorizeRequest::new(&sandbox, demo::BACKEND_CLIENT_ID, "system/*.rs");
    assert_eq!(request.get(&agent, &sandbox).status, 400);
}

#[test]
fn interactive_approval_page() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().interactive(true)).unwrap();
    let agent = agent();
    let request = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES);
    let page = request.get(&agent, &sandbox);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains("Approve") && html.contains("Deny"));
    assert!(html.contains(demo::OTHER_PATIENT_ID), "a patient picker");
    let ticket = html
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let decision = format!("{}/authorize/decision", sandbox.base_url());
    let answer = crate::post_form(
        &agent,
        &decision,
        &[
            ("ticket", &ticket),
            ("decision", "approve"),
            ("patient", demo::OTHER_PATIENT_ID),
        ],
        None,
    );
    let code = code_from(&answer, &sandbox, &request);
    let token = exchange(&agent, &sandbox, &public_auth(), &code, &request.verifier).token();
    assert_eq!(token.context().patient(), Some(demo::OTHER_PATIENT_ID));
    // The ticket is single-use.
    let again = crate::post_form(
        &agent,
        &decision,
        &[("ticket", &ticket), ("decision", "approve")],
        None,
    );
    assert_eq!(again.oauth_error(400), "invalid_request");

    // Deny: access_denied back to the app, with its state.
    let request = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES);
    let html = String::from_utf8(request.get(&agent, &sandbox).body).unwrap();
    let ticket = html
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let answer = crate::post_form(
        &agent,
        &decision,
        &[("ticket", &ticket), ("decision", "deny")],
        None,
    );
    let params = redirect_params(&answer.location());
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], request.state.as_str());
}

#[test]
fn a_fixed_clock_dates_the_tokens() {
    let clock = FixedClock::from_unix_seconds(1_700_000_000);
    let sandbox =
        Sandbox::start_with(SandboxConfig::new().clock(std::sync::Arc::new(clock))).unwrap();
    let agent = agent();
    let auth = asymmetric_auth().with_clock(std::sync::Arc::new(clock));
    let token = code_flow(
        &agent,
        &sandbox,
        &auth,
        "openid fhirUser launch/patient",
        None,
    );
    let claims = id_token_claims(&sandbox, &token);
    assert_eq!(claims["iat"], 1_700_000_000);
    assert_eq!(claims["exp"], 1_700_003_600);
    // The system clock is far ahead of this one: a default assertion is "in the future".
    let (code, request) = authorize(&agent, &sandbox, demo::ASYMMETRIC_CLIENT_ID, "openid", None);
    let answer = exchange(
        &agent,
        &sandbox,
        &asymmetric_auth(),
        &code,
        &request.verifier,
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
    assert!(unix_seconds(std::time::SystemTime::now()) > 1_700_000_000);
}
