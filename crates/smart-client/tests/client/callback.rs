//! The callback: state checked in constant time, server errors typed, missing code, iss
//! mix-up defence, and the pending authorization's round trip through serde.

use smart_client::{AuthorizeOptions, ClientError, ClientType, PendingAuthorization};
use smart_token::ErrorCode;

use crate::{Ehr, REDIRECT_URI, token_body};

fn pending(ehr: &mut Ehr) -> (smart_client::SmartClient, PendingAuthorization) {
    ehr.serve_discovery(1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    let pending = client
        .authorize(AuthorizeOptions::new())
        .unwrap()
        .into_pending();
    (client, pending)
}

#[test]
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

#[test]
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

#[test]
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

#[test]
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

#[test]
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

#[test]
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
