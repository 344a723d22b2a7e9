//! The callback: state checked in constant time, server errors typed, missing code, iss
//! mix-up defence, and the pending authorization's round trip through serde.

use std::sync::{Arc, Mutex};

use serde_json::json;
use smart_client::{
    AuthorizeOptions, ClientConfig, ClientError, ClientType, PendingAuthorization, SmartClient,
    TransportError,
};
use smart_token::{ClientSecret, ErrorCode};

use crate::{Ehr, REDIRECT_URI, token_body};
use test_support::both_shells;

fn pending(ehr: &mut Ehr) -> (test_support::Client, PendingAuthorization) {
    ehr.serve_discovery(1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    let pending = client
        .authorize(AuthorizeOptions::new())
        .unwrap()
        .into_pending();
    (client, pending)
}

both_shells! {
fn state_mismatch_is_refused_before_any_exchange() {
    let mut ehr = Ehr::new();
    let (client, pending) = pending(&mut ehr);
    let token = ehr.server.mock("POST", "/auth/token").expect(0).create();
    let forged = "0".repeat(32);
    let err = client
        .complete_authorization(&format!("{REDIRECT_URI}?code=abc&state={forged}"), &pending)
        .unwrap_err();
    assert!(matches!(err, ClientError::StateMismatch), "{err:?}");
    let err = client
        .complete_authorization(&format!("{REDIRECT_URI}?code=abc"), &pending)
        .unwrap_err();
    assert!(matches!(err, ClientError::MissingState), "{err:?}");
    token.assert();
}
}

both_shells! {
fn error_callbacks_are_typed() {
    let mut ehr = Ehr::new();
    let (client, pending) = pending(&mut ehr);
    let state = pending.state().expose_secret().to_owned();
    let err = client
        .complete_authorization(
            &format!("{REDIRECT_URI}?error=access_denied&error_description=User%20said%20no&state={state}"),
            &pending,
        )
        .unwrap_err();
    let ClientError::Authorization {
        error, description, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(error, &ErrorCode::AccessDenied);
    assert_eq!(description.as_deref(), Some("User said no"));
    assert!(
        err.to_string()
            .starts_with("authorization failed — access_denied — User said no"),
        "{err}"
    );

    // Server text is cleaned like every other server text: control characters become
    // spaces, and a long description is cut with a visible `...`.
    let long = "x".repeat(400);
    let err = client
        .complete_authorization(
            &format!("{REDIRECT_URI}?error=access_denied&error_description=a%0D%0AINFO%20forged{long}&error_uri=https://x/e%1B&state={state}"),
            &pending,
        )
        .unwrap_err();
    let ClientError::Authorization {
        description, uri, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    let description = description.as_deref().unwrap();
    assert!(description.starts_with("a  INFO forged"), "{description}");
    assert!(description.ends_with("..."), "{description}");
    assert_eq!(description.chars().count(), 303);
    assert_eq!(uri.as_deref(), Some("https://x/e "));

    // An error callback with a forged state is refused as forged, not reported as the error.
    let err = client
        .complete_authorization(
            &format!(
                "{REDIRECT_URI}?error=access_denied&state={}",
                "1".repeat(32)
            ),
            &pending,
        )
        .unwrap_err();
    assert!(matches!(err, ClientError::StateMismatch));
}
}

both_shells! {
fn missing_code_is_an_error() {
    let mut ehr = Ehr::new();
    let (client, pending) = pending(&mut ehr);
    let state = pending.state().expose_secret().to_owned();
    let err = client
        .complete_authorization(&format!("?state={state}"), &pending)
        .unwrap_err();
    assert!(matches!(err, ClientError::MissingCode), "{err:?}");
    let err = client
        .complete_authorization(&format!("?code=&state={state}"), &pending)
        .unwrap_err();
    assert!(matches!(err, ClientError::MissingCode), "{err:?}");
}
}

both_shells! {
fn iss_from_another_server_is_refused() {
    let mut ehr = Ehr::new();
    let (client, pending) = pending(&mut ehr);
    let state = pending.state().expose_secret().to_owned();
    let err = client
        .complete_authorization(
            &format!("?code=abc&state={state}&iss=https%3A%2F%2Fevil.example"),
            &pending,
        )
        .unwrap_err();
    assert!(matches!(err, ClientError::IssuerMismatch { .. }), "{err:?}");
}
}

both_shells! {
fn a_tampered_pending_authorization_cannot_send_the_code_over_http() {
    let mut ehr = Ehr::new();
    let (client, pending) = pending(&mut ehr);
    let mut stored: serde_json::Value = serde_json::to_value(&pending).unwrap();
    stored["token_endpoint"] = "http://evil.example/token".into();
    let tampered: PendingAuthorization = serde_json::from_value(stored).unwrap();
    let state = tampered.state().expose_secret().to_owned();
    let err = client
        .complete_authorization(&format!("{REDIRECT_URI}?code=abc&state={state}"), &tampered)
        .unwrap_err();
    assert!(matches!(err, ClientError::Config(_)), "{err:?}");
    assert!(
        err.to_string().contains("http://evil.example/token"),
        "{err}"
    );
}
}

both_shells! {
fn pending_authorization_survives_a_session_store() {
    let mut ehr = Ehr::new();
    let (client, pending) = pending(&mut ehr);
    let stored = serde_json::to_string(&pending).unwrap();
    let restored: PendingAuthorization = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        restored.state().expose_secret(),
        pending.state().expose_secret()
    );
    assert!(!format!("{restored:?}").contains(pending.state().expose_secret()));
    assert!(!format!("{restored:?}").contains(pending.verifier().expose_secret()));

    let token = ehr
        .server
        .mock("POST", "/auth/token")
        .with_body(token_body())
        .create();
    let state = restored.state().expose_secret().to_owned();
    client
        .complete_authorization(&format!("{REDIRECT_URI}?code=abc&state={state}"), &restored)
        .unwrap();
    token.assert();
}
}

both_shells! {
fn unencoded_urls_in_request_targets_and_queries_are_read() {
    let mut ehr = Ehr::new();
    let (client, pending) = pending(&mut ehr);
    let token = ehr
        .server
        .mock("POST", "/auth/token")
        .with_body(token_body())
        .expect(3)
        .create();
    let state = pending.state().expose_secret().to_owned();
    // The iss the server sends back, unencoded, as some servers do.
    let iss = format!("{}/auth", ehr.server.url());
    for callback in [
        format!("/callback?code=abc&state={state}&iss={iss}"),
        format!("code=abc&state={state}&iss={iss}"),
        format!("code=abc&state={state}&error_uri=https://x.example/e&iss={iss}"),
    ] {
        client
            .complete_authorization(&callback, &pending)
            .unwrap_or_else(|err| panic!("{callback}: {err}"));
    }
    token.assert();
    // The value is still read as the iss: another server's is refused.
    let err = client
        .complete_authorization(
            &format!("/callback?code=abc&state={state}&iss=https://evil.example/auth"),
            &pending,
        )
        .unwrap_err();
    assert!(matches!(err, ClientError::IssuerMismatch { .. }), "{err:?}");
}
}

/// A transport for `https://ehr.example` that records every request and never reaches
/// anything else.
fn recording_ehr(
    seen: Arc<Mutex<Vec<String>>>,
) -> impl Fn(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TransportError>
+ Clone
+ Send
+ Sync
+ 'static {
    move |request: http::Request<Vec<u8>>| {
        let url = request.uri().to_string();
        seen.lock()
            .unwrap()
            .push(format!("{} {url}", request.method()));
        let body = match url.as_str() {
            "https://ehr.example/fhir/.well-known/smart-configuration" => json!({
                "issuer": "https://ehr.example/auth",
                "authorization_endpoint": "https://ehr.example/auth/authorize",
                "token_endpoint": "https://ehr.example/auth/token",
                "capabilities": ["launch-standalone", "client-confidential-symmetric"],
                "code_challenge_methods_supported": ["S256"]
            })
            .to_string(),
            "https://ehr.example/auth/token" => token_body(),
            _ => {
                return Ok(http::Response::builder()
                    .status(404)
                    .body(Vec::new())
                    .unwrap());
            }
        };
        Ok(http::Response::builder()
            .status(200)
            .body(body.into_bytes())
            .unwrap())
    }
}

#[test]
fn a_tampered_pending_authorization_cannot_send_the_code_to_another_https_host() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let transport = recording_ehr(Arc::clone(&seen));
    let config = ClientConfig::builder("https://ehr.example/fhir")
        .client_id("my-app")
        .client_secret(ClientSecret::new("s3cr3t"))
        .redirect_uri(REDIRECT_URI)
        .scopes("launch/patient patient/*.rs")
        .build()
        .unwrap();
    let first = SmartClient::with_http_client(
        config.clone(),
        ClientType::ConfidentialSymmetric,
        transport.clone(),
    )
    .unwrap();
    let pending = first
        .authorize(AuthorizeOptions::new())
        .unwrap()
        .into_pending();
    assert_eq!(
        pending.token_endpoint().unwrap().as_str(),
        "https://ehr.example/auth/token"
    );
    let mut stored: serde_json::Value = serde_json::to_value(&pending).unwrap();
    stored["token_endpoint"] = "https://attacker.example/token".into();
    let tampered: PendingAuthorization = serde_json::from_value(stored).unwrap();
    let state = tampered.state().expose_secret().to_owned();
    let callback = format!("{REDIRECT_URI}?code=abc&state={state}");

    // Another process, which has not discovered yet, and one that has.
    let fresh = SmartClient::with_http_client(config, ClientType::ConfidentialSymmetric, transport)
        .unwrap();
    for client in [&fresh, &first] {
        let err = client
            .complete_authorization(&callback, &tampered)
            .unwrap_err();
        let ClientError::PendingTokenEndpoint { stored, expected } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(stored, "https://attacker.example/token");
        assert_eq!(expected, "https://ehr.example/auth/token");
        assert!(
            err.to_string().contains("start the authorization again"),
            "{err}"
        );
    }
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests.iter().all(|line| !line.contains("attacker")),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|line| line.starts_with("POST")),
        "{requests:?}"
    );
    // The fresh client discovered the token endpoint to compare with.
    assert_eq!(
        requests
            .iter()
            .filter(|line| line.ends_with("/.well-known/smart-configuration"))
            .count(),
        2,
        "{requests:?}"
    );

    // The untampered value goes through, to the client's own token endpoint.
    fresh.complete_authorization(&callback, &pending).unwrap();
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        "POST https://ehr.example/auth/token"
    );
}
