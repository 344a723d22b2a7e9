//! The authorization endpoint's refusals, and the code's rules at the token endpoint.

use std::time::Duration;

use smart_pkce::PkceVerifier;
use smart_sandbox::{LaunchContext, Sandbox, demo};
use smart_token::{AuthorizationCode, TokenRequest};

use crate::{
    AuthorizeRequest, PATIENT_SCOPES, agent, authorize, exchange, public_auth, redirect_params,
    send, symmetric_auth, token_url,
};

/// The error of a refusal redirected to the app, after checking `state` and `iss`.
fn redirected_error(sandbox: &Sandbox, request: &AuthorizeRequest) -> String {
    let answer = request.get(&agent(), sandbox);
    let location = answer.location();
    assert!(location.as_str().starts_with(demo::REDIRECT_URI));
    let params = redirect_params(&location);
    assert!(params.get("code").is_none());
    assert_eq!(params["state"], request.state.as_str());
    assert_eq!(params["iss"], sandbox.base_url());
    assert!(params["error_description"].as_str().is_some());
    params["error"].as_str().unwrap().to_owned()
}

#[test]
fn unknown_client_or_unregistered_redirect_uri_is_never_redirected() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let cases = [
        ("client_id", Some("no-such-client")),
        ("client_id", None),
        ("redirect_uri", Some("https://attacker.example/callback")),
        ("redirect_uri", Some("http://127.0.0.1/callback/other")),
        ("redirect_uri", Some("http://localhost/callback")),
        ("redirect_uri", None),
    ];
    for (name, value) in cases {
        let request = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES)
            .set(name, value);
        for answer in [
            request.get(&agent, &sandbox),
            request.post(&agent, &sandbox),
        ] {
            assert_eq!(
                answer.oauth_error(400),
                "invalid_request",
                "{name}={value:?}"
            );
            assert!(answer.header("location").is_none());
        }
    }
}

#[test]
fn invalid_requests_are_redirected_with_an_error() {
    let sandbox = Sandbox::start().unwrap();
    let request = |name: &str, value: Option<&str>| {
        AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES).set(name, value)
    };
    let cases = [
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        ("code_challenge", None, "invalid_request"),
        ("code_challenge", Some("too-short"), "invalid_request"),
        ("aud", Some("http://127.0.0.1:1"), "invalid_request"),
        ("aud", None, "invalid_request"),
        ("response_type", Some("token"), "unsupported_response_type"),
        ("response_type", None, "invalid_request"),
        ("scope", Some("patient/*.rs system/*.rs"), "invalid_scope"),
        ("scope", Some("patient/Observation.sr"), "invalid_scope"),
        ("scope", None, "invalid_scope"),
        ("scope", Some("launch patient/*.rs"), "invalid_scope"),
        ("launch", Some("not-a-launch"), "invalid_scope"),
    ];
    for (name, value, error) in cases {
        assert_eq!(
            redirected_error(&sandbox, &request(name, value)),
            error,
            "{name}={value:?}"
        );
    }
    // The aud must be the base URL exactly: a trailing slash is another string.
    let slash = format!("{}/", sandbox.base_url());
    assert_eq!(
        redirected_error(&sandbox, &request("aud", Some(&slash))),
        "invalid_request"
    );
    // An unknown launch, with the launch scope.
    let unknown = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, "launch patient/*.rs")
        .set("launch", Some("not-a-launch"));
    assert_eq!(redirected_error(&sandbox, &unknown), "invalid_request");

    // Without state: redirected, but with no state to echo.
    let answer = request("state", None).get(&agent(), &sandbox);
    let params = redirect_params(&answer.location());
    assert_eq!(params["error"], "invalid_request");
    assert!(params.get("state").is_none());
}

#[test]
fn launch_values_expire() {
    let sandbox = Sandbox::start().unwrap();
    let launch = sandbox.launch(LaunchContext::demo());
    sandbox.advance_clock(Duration::from_secs(3601));
    let request = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, "launch patient/*.rs")
        .set("launch", Some(&launch));
    assert_eq!(redirected_error(&sandbox, &request), "invalid_request");
}

#[test]
fn expired_code() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let (code, request) = authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    sandbox.advance_clock(Duration::from_secs(61));
    let answer = exchange(&agent, &sandbox, &public_auth(), &code, &request.verifier);
    assert_eq!(answer.oauth_error(400), "invalid_grant");

    // 59 seconds is still in time.
    let (code, request) = authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    sandbox.advance_clock(Duration::from_secs(59));
    let answer = exchange(&agent, &sandbox, &public_auth(), &code, &request.verifier);
    assert_eq!(answer.status, 200);
}

#[test]
fn reused_code_is_refused_and_revokes_its_tokens() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let (code, request) = authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let token = exchange(&agent, &sandbox, &public_auth(), &code, &request.verifier).token();
    let again = exchange(&agent, &sandbox, &public_auth(), &code, &request.verifier);
    assert_eq!(again.oauth_error(400), "invalid_grant");
    let read = crate::read_patient(
        &agent,
        &sandbox,
        demo::PATIENT_ID,
        Some(token.access_token().expose_secret()),
    );
    assert_eq!(read.status, 401);
    let refresh = TokenRequest::refresh_token(token.refresh_token().unwrap(), None)
        .build(&token_url(&sandbox), &public_auth())
        .unwrap();
    assert_eq!(send(&agent, refresh).oauth_error(400), "invalid_grant");
}

#[test]
fn wrong_verifier_wrong_redirect_uri_and_wrong_client() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let (code, _) = authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let other = PkceVerifier::generate().unwrap();
    let answer = exchange(&agent, &sandbox, &public_auth(), &code, &other);
    assert_eq!(answer.oauth_error(400), "invalid_grant");

    // The redirect_uri must be the one of the authorization request, even if another
    // registered (loopback) variant would be accepted at /authorize.
    let (code, request) = authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let token_request = TokenRequest::authorization_code(
        &AuthorizationCode::new(code.as_str()),
        &smart_core::RedirectUri::parse("http://127.0.0.1:8080/callback").unwrap(),
        &request.verifier,
    )
    .build(&token_url(&sandbox), &public_auth())
    .unwrap();
    assert_eq!(
        send(&agent, token_request).oauth_error(400),
        "invalid_grant"
    );

    // A code is bound to its client.
    let (code, request) = authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let answer = exchange(
        &agent,
        &sandbox,
        &symmetric_auth(),
        &code,
        &request.verifier,
    );
    assert_eq!(answer.oauth_error(400), "invalid_grant");

    // Missing parameters.
    let (code, _) = authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let answer = crate::post_form(
        &agent,
        &sandbox.token_url(),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", demo::REDIRECT_URI),
            ("client_id", demo::PUBLIC_CLIENT_ID),
        ],
        None,
    );
    assert_eq!(answer.oauth_error(400), "invalid_request");
}

#[test]
fn scope_beyond_registration_is_refused() {
    let sandbox = Sandbox::start_with(
        smart_sandbox::SandboxConfig::new().client(
            smart_sandbox::RegisteredClient::public("narrow", vec![demo::REDIRECT_URI.into()])
                .with_scopes("launch/patient patient/Observation.rs".parse().unwrap()),
        ),
    )
    .unwrap();
    let agent = agent();
    for (scope, ok) in [
        ("launch/patient patient/Observation.rs", true),
        ("launch/patient patient/Observation.read", true),
        ("launch/patient patient/Observation.r", true),
        (
            "launch/patient patient/Observation.rs?category=laboratory",
            true,
        ),
        ("launch/patient patient/Observation.crus", false),
        ("launch/patient patient/Condition.rs", false),
        ("launch/patient patient/*.rs", false),
        ("openid patient/Observation.rs", false),
    ] {
        let request = AuthorizeRequest::new(&sandbox, "narrow", scope);
        let params = redirect_params(&request.get(&agent, &sandbox).location());
        assert_eq!(params.get("code").is_some(), ok, "{scope}: {params:?}");
        if !ok {
            assert_eq!(params["error"], "invalid_scope");
        }
    }
}

/// A sandbox with three clients on `http://127.0.0.1/callback` and `https://app.example/cb`:
/// `strict` (the default), `any-port` (with `loopback_redirect_any_port`, from a clients
/// file), and `any-port-code` (the same option, set in code).
fn port_sandbox() -> Sandbox {
    let uris = vec![
        demo::REDIRECT_URI.to_owned(),
        "https://app.example/cb".to_owned(),
    ];
    let file = serde_json::json!({"clients": [
        {"client_id": "any-port", "token_endpoint_auth_method": "none",
         "redirect_uris": uris, "loopback_redirect_any_port": true}
    ]});
    Sandbox::start_with(
        smart_sandbox::SandboxConfig::new()
            .without_demo_clients()
            .client(smart_sandbox::RegisteredClient::public(
                "strict",
                uris.clone(),
            ))
            .client(
                smart_sandbox::RegisteredClient::public("any-port-code", uris)
                    .with_loopback_redirect_any_port(true),
            )
            .clients_from_json(&file.to_string())
            .unwrap(),
    )
    .unwrap()
}

const OTHER_PORT: &str = "http://127.0.0.1:49152/callback";

#[test]
fn another_loopback_port_is_refused_by_default_and_never_redirected_to() {
    let sandbox = port_sandbox();
    let agent = agent();
    // A valid request, and an invalid one (no state) that would otherwise be redirected.
    for state in [Some("kept"), None] {
        let request = AuthorizeRequest::new(&sandbox, "strict", PATIENT_SCOPES)
            .set("redirect_uri", Some(OTHER_PORT))
            .set("state", state);
        for answer in [
            request.get(&agent, &sandbox),
            request.post(&agent, &sandbox),
        ] {
            assert_eq!(
                answer.oauth_error(400),
                "invalid_request",
                "state {state:?}"
            );
            assert!(answer.header("location").is_none());
            let description = answer.json()["error_description"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(
                description.contains("loopback_redirect_any_port"),
                "says what to do: {description}"
            );
        }
    }
    // The registered URI itself works.
    let request = AuthorizeRequest::new(&sandbox, "strict", PATIENT_SCOPES);
    assert!(
        request
            .get(&agent, &sandbox)
            .location()
            .as_str()
            .starts_with("http://127.0.0.1/callback?")
    );
    // The demo asymmetric clients are strict too.
    for client in [demo::ASYMMETRIC_CLIENT_ID, demo::ASYMMETRIC_JKU_CLIENT_ID] {
        let sandbox = Sandbox::start().unwrap();
        let request = AuthorizeRequest::new(&sandbox, client, PATIENT_SCOPES)
            .set("redirect_uri", Some(OTHER_PORT));
        assert_eq!(
            request.get(&agent, &sandbox).oauth_error(400),
            "invalid_request"
        );
    }
}

#[test]
fn another_loopback_port_is_accepted_with_the_opt_in() {
    let sandbox = port_sandbox();
    let agent = agent();
    for client in ["any-port", "any-port-code"] {
        let request = AuthorizeRequest::new(&sandbox, client, PATIENT_SCOPES)
            .set("redirect_uri", Some(OTHER_PORT));
        let location = request.get(&agent, &sandbox).location();
        assert!(
            location
                .as_str()
                .starts_with("http://127.0.0.1:49152/callback?"),
            "{client}: {location}"
        );
        assert!(redirect_params(&location).get("code").is_some());
        // Errors go to the port the app listens on.
        let request = request.set("response_type", Some("token"));
        let location = request.get(&agent, &sandbox).location();
        assert!(location.as_str().starts_with(OTHER_PORT), "{location}");
        assert_eq!(
            redirect_params(&location)["error"],
            "unsupported_response_type"
        );
    }
}

#[test]
fn a_host_other_than_a_loopback_ip_never_varies() {
    let sandbox = port_sandbox();
    let agent = agent();
    for client in ["strict", "any-port", "any-port-code"] {
        for uri in [
            "https://app.example:8443/cb",
            "https://app.example:443/cb",
            "http://localhost/callback",
            "http://localhost:49152/callback",
            "http://127.0.0.1:49152/callback/other",
        ] {
            let request = AuthorizeRequest::new(&sandbox, client, PATIENT_SCOPES)
                .set("redirect_uri", Some(uri));
            let answer = request.get(&agent, &sandbox);
            assert_eq!(answer.oauth_error(400), "invalid_request", "{client} {uri}");
            assert!(answer.header("location").is_none());
        }
    }
}

#[test]
fn the_port_opt_in_needs_a_loopback_ip_redirect_uri() {
    let file = serde_json::json!({"clients": [
        {"client_id": "web", "token_endpoint_auth_method": "none",
         "redirect_uris": ["https://app.example/cb", "http://localhost:8080/cb"],
         "loopback_redirect_any_port": true}
    ]});
    let error = smart_sandbox::SandboxConfig::new()
        .clients_from_json(&file.to_string())
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("loopback_redirect_any_port needs a redirect URI on http://127.0.0.1"),
        "{error}"
    );
    let file = serde_json::json!({"clients": [
        {"client_id": "web", "token_endpoint_auth_method": "none",
         "redirect_uris": ["http://127.0.0.1/cb"], "loopback_redirect_any_port": "yes"}
    ]});
    assert!(
        smart_sandbox::SandboxConfig::new()
            .clients_from_json(&file.to_string())
            .is_err()
    );
}
