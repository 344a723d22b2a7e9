//! End-to-end: every smart-client flow against the sandbox over real HTTP on loopback, for
//! every client type, and the refusals a client bug would trigger.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: a failing unwrap is a failing test"
)]

mod registry;
mod secure_defaults;

use std::time::Duration;

use smart_client::jwt::PrivateKey;
use smart_client::token::{
    ClientSecret, ErrorCode, RefreshToken, TokenError, TokenRef, TokenResponse,
};
use smart_client::{
    AuthorizeMethod, AuthorizeOptions, ClientConfig, ClientConfigBuilder, ClientError, ClientType,
    HttpOptions, IntrospectWith, PendingAuthorization,
};
use smart_sandbox::{LaunchContext, Sandbox, demo};

use test_support::browser::{agent, browse};
use test_support::{Client, both_shells};

fn builder(sandbox: &Sandbox, client_id: &str) -> ClientConfigBuilder {
    ClientConfig::builder(sandbox.base_url())
        .client_id(client_id)
        .redirect_uri(demo::REDIRECT_URI)
        .scopes("launch/patient openid fhirUser offline_access patient/*.rs")
        .allow_insecure_localhost(true)
        .http_options(HttpOptions::new().timeout(Duration::from_secs(10)))
}

/// The user-facing demo clients, each with the client type smart-client runs it as.
///
/// The `jwks_uri` client is configured like the inline-JWKS one, without `.jwks_uri()`: the
/// sandbox verifies its assertions with the JWK Set at its registered URI. (A run with
/// `.jwks_uri()` sending it as `jku` cannot be made: smart-client refuses a `jwks_uri` that is
/// not `https://`, and the sandbox's is loopback `http://`. The sandbox's `jku` check is
/// tested with hand-made assertions in `tests/sandbox/client_auth.rs`.)
const APP_CLIENTS: [(&str, ClientType); 4] = [
    (demo::PUBLIC_CLIENT_ID, ClientType::Public),
    (demo::SYMMETRIC_CLIENT_ID, ClientType::ConfidentialSymmetric),
    (
        demo::ASYMMETRIC_CLIENT_ID,
        ClientType::ConfidentialAsymmetric,
    ),
    (
        demo::ASYMMETRIC_JKU_CLIENT_ID,
        ClientType::ConfidentialAsymmetric,
    ),
];

/// The configuration of the demo client `client_id` (one of [`APP_CLIENTS`]), and its type.
fn config_of(sandbox: &Sandbox, client_id: &str) -> (ClientConfigBuilder, ClientType) {
    let (_, client_type) = APP_CLIENTS
        .into_iter()
        .find(|(id, _)| *id == client_id)
        .unwrap();
    let config = match client_type {
        ClientType::Public => builder(sandbox, client_id),
        ClientType::ConfidentialSymmetric => builder(sandbox, client_id)
            .client_secret(ClientSecret::new(demo::SYMMETRIC_CLIENT_SECRET)),
        _ => builder(sandbox, client_id)
            .private_key(demo::asymmetric_key())
            .kid(demo::asymmetric_kid()),
    };
    (config, client_type)
}

/// smart-client configured as the demo client `client_id` (one of [`APP_CLIENTS`]).
fn client_of(sandbox: &Sandbox, client_id: &str) -> Client {
    let (config, client_type) = config_of(sandbox, client_id);
    Client::new(config.build().unwrap(), client_type).unwrap()
}

/// A whole launch: authorize, browse, callback, exchange, verify the `id_token`, read the patient.
fn launch(client: &Client, options: AuthorizeOptions) -> (TokenResponse, PendingAuthorization) {
    let request = client.authorize(options).unwrap();
    let callback = browse(&request).unwrap();
    let pending = request.into_pending();
    let token = client.complete_authorization(&callback, &pending).unwrap();
    let claims = client
        .verify_id_token(
            token.id_token().expect("openid was asked for"),
            pending.nonce(),
        )
        .unwrap();
    assert!(claims.fhir_user().is_some());
    let patient = token.context().patient().unwrap().to_owned();
    let resource = client
        .read_resource(token.access_token(), &format!("Patient/{patient}"))
        .unwrap();
    assert_eq!(resource["id"], patient.as_str());
    (token, pending)
}

fn oauth_error(error: &ClientError) -> Option<&ErrorCode> {
    match error {
        ClientError::Token(TokenError::OAuth(oauth)) => oauth.error(),
        _ => None,
    }
}

both_shells! {
#[test]
fn standalone_launch_for_every_client_type_get_and_post() {
    let sandbox = Sandbox::start().unwrap();
    for (client_id, client_type) in APP_CLIENTS {
        for method in [AuthorizeMethod::Get, AuthorizeMethod::Post] {
            let client = client_of(&sandbox, client_id);
            let options = AuthorizeOptions::new()
                .method(method)
                .param("nonce", "n-1")
                .unwrap();
            let (token, pending) = launch(&client, options);
            assert_eq!(
                token.context().patient(),
                Some(demo::PATIENT_ID),
                "{client_id} ({client_type}) {method:?}"
            );
            assert!(
                token
                    .validate(smart_client::token::Flow::AppLaunch)
                    .is_valid(),
                "{client_id} ({client_type})"
            );
            assert_eq!(pending.nonce(), Some("n-1"));
        }
    }
}

#[test]
fn ehr_launch_for_every_client_type() {
    let sandbox = Sandbox::start().unwrap();
    for (client_id, _) in APP_CLIENTS {
        let client = client_of(&sandbox, client_id);
        let launch_value = sandbox.launch(LaunchContext::demo());
        let options = AuthorizeOptions::new()
            .launch(launch_value)
            .scopes("launch openid fhirUser patient/*.rs")
            .unwrap();
        let (token, _) = launch(&client, options);
        assert_eq!(
            token.context().patient(),
            Some(demo::PATIENT_ID),
            "{client_id}"
        );
        assert_eq!(token.context().encounter(), Some(demo::ENCOUNTER_ID));
        assert_eq!(token.context().need_patient_banner(), Some(true));
        assert!(token.context().smart_style_url().is_some());
    }
}

#[test]
fn refresh_with_rotation_for_every_client_type() {
    let sandbox = Sandbox::start().unwrap();
    for (client_id, _) in APP_CLIENTS {
        let client = client_of(&sandbox, client_id);
        let (token, _) = launch(&client, AuthorizeOptions::new());
        let first = token.refresh_token().unwrap().clone();
        let refreshed = client.refresh(&first, None).unwrap();
        let second = refreshed.refresh_token().unwrap().clone();
        assert_ne!(first.expose_secret(), second.expose_secret(), "rotation");
        let narrower = "patient/Patient.rs".parse().unwrap();
        let narrow = client.refresh(&second, Some(&narrower)).unwrap();
        assert_eq!(narrow.scope().unwrap().to_string(), "patient/Patient.rs");
        // The rotated token is dead.
        let err = client.refresh(&first, None).unwrap_err();
        assert_eq!(
            oauth_error(&err),
            Some(&ErrorCode::InvalidGrant),
            "{client_id}: {err}"
        );
    }
}

#[test]
fn backend_services_introspection_revocation_and_a_fhir_read() {
    let sandbox = Sandbox::start().unwrap();
    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(demo::BACKEND_CLIENT_ID)
        .private_key(demo::backend_key())
        .kid(demo::backend_kid())
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    let client = Client::new(config, ClientType::ConfidentialAsymmetric).unwrap();
    let token = client.backend_services_token(None).unwrap();
    assert_eq!(token.scope().unwrap().to_string(), "system/*.rs");
    assert!(token.refresh_token().is_none());
    assert!(
        token
            .validate(smart_client::token::Flow::BackendServices)
            .is_valid()
    );
    let patient = client
        .read_resource(
            token.access_token(),
            &format!("Patient/{}", demo::OTHER_PATIENT_ID),
        )
        .unwrap();
    assert_eq!(patient["id"], demo::OTHER_PATIENT_ID);

    let info = client
        .introspect(
            TokenRef::Access(token.access_token()),
            IntrospectWith::Client,
        )
        .unwrap();
    assert!(info.active());
    assert_eq!(info.client_id(), Some(demo::BACKEND_CLIENT_ID));
    let info = client
        .introspect(
            TokenRef::Access(token.access_token()),
            IntrospectWith::Bearer(token.access_token()),
        )
        .unwrap();
    assert!(info.active());

    client
        .revoke(TokenRef::Access(token.access_token()))
        .unwrap();
    let info = client
        .introspect(
            TokenRef::Access(token.access_token()),
            IntrospectWith::Client,
        )
        .unwrap();
    assert!(!info.active());
    let err = client
        .read_resource(token.access_token(), "Patient/sandbox-patient-1")
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Fhir { status: 401, .. }),
        "{err:?}"
    );
}

#[test]
fn registration_then_a_launch_with_the_new_client() {
    let sandbox = Sandbox::start().unwrap();
    let registrar = Client::new(
        ClientConfig::builder(sandbox.base_url())
            .allow_insecure_localhost(true)
            .build()
            .unwrap(),
        ClientType::Public,
    )
    .unwrap();
    let metadata = serde_json::json!({
        "client_name": "e2e",
        "redirect_uris": [demo::REDIRECT_URI],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "launch/patient openid fhirUser patient/*.rs"
    });
    let registration = registrar
        .register(metadata.as_object().unwrap(), None)
        .unwrap();
    let secret = registration.client_secret().unwrap().clone();
    let config = builder(&sandbox, registration.client_id().as_str())
        .scopes("launch/patient openid fhirUser patient/*.rs")
        .client_secret(secret)
        .build()
        .unwrap();
    let client = Client::new(config, ClientType::ConfidentialSymmetric).unwrap();
    let (token, _) = launch(&client, AuthorizeOptions::new());
    assert!(
        token.refresh_token().is_none(),
        "no offline_access asked for"
    );
}

#[test]
fn one_client_uses_one_connection() {
    let sandbox = Sandbox::start().unwrap();
    let client = client_of(&sandbox, demo::SYMMETRIC_CLIENT_ID);
    let before = sandbox.connections();
    // Discovery, the token exchange, a refresh and a FHIR read, through one client.
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    assert_eq!(
        sandbox.connections() - before,
        1,
        "discovery opened the client's connection"
    );
    let browser_before = sandbox.connections();
    let callback = browse(&request).unwrap();
    let browser_connections = sandbox.connections() - browser_before;
    let pending = request.into_pending();
    let token = client.complete_authorization(&callback, &pending).unwrap();
    let refreshed = client
        .refresh(token.refresh_token().unwrap(), None)
        .unwrap();
    client
        .read_resource(
            refreshed.access_token(),
            &format!("Patient/{}", demo::PATIENT_ID),
        )
        .unwrap();
    let used = sandbox.connections() - before - browser_connections;
    // Discovery, the OpenID configuration and keys, the exchange, the refresh and the read:
    // seven requests. ureq checks a connection back in before the call returns, so the
    // blocking shell reuses its one connection every time. hyper (under reqwest) checks it
    // back in from a background task once the body is read, so a request sent right after
    // may find the pool empty and open a second one; a client that did not keep
    // connections alive would open seven.
    let allowed = match &client {
        Client::Blocking(_) => 1,
        Client::Async(..) => 2,
    };
    assert!(
        (1..=allowed).contains(&used),
        "discovery, token, refresh and FHIR read should share one TCP connection (used {used})"
    );
}

#[test]
fn an_ephemeral_loopback_port_only_for_the_clients_registered_for_it() {
    // `smart launch` and the ehr_launch_web_app example listen on a port the OS picks.
    let sandbox = Sandbox::start().unwrap();
    let ephemeral = "http://127.0.0.1:49152/callback";
    for (client_id, client_type) in APP_CLIENTS {
        let any_port = matches!(
            client_type,
            ClientType::Public | ClientType::ConfidentialSymmetric
        );
        let (config, client_type) = config_of(&sandbox, client_id);
        let client =
            Client::new(config.redirect_uri(ephemeral).build().unwrap(), client_type).unwrap();
        let request = client.authorize(AuthorizeOptions::new()).unwrap();
        match browse(&request) {
            Ok(callback) if any_port => {
                assert!(callback.starts_with(ephemeral), "{callback}");
                let token = client
                    .complete_authorization(&callback, request.pending())
                    .unwrap();
                assert!(token.context().patient().is_some());
            }
            // Refused, and not redirected to the unregistered port.
            Err(400) if !any_port => {}
            other => panic!("{client_id}: {other:?}"),
        }
    }
}

#[test]
fn refusals_a_client_bug_would_trigger() {
    let sandbox = Sandbox::start().unwrap();

    // Wrong secret.
    let wrong_secret = Client::new(
        builder(&sandbox, demo::SYMMETRIC_CLIENT_ID)
            .client_secret(ClientSecret::new("wrong"))
            .build()
            .unwrap(),
        ClientType::ConfidentialSymmetric,
    )
    .unwrap();
    let err = wrong_secret
        .refresh(&RefreshToken::new("x"), None)
        .unwrap_err();
    assert_eq!(oauth_error(&err), Some(&ErrorCode::InvalidClient), "{err}");

    // Wrong key (a key the server never saw, under the registered kid).
    let impostor = Client::new(
        builder(&sandbox, demo::ASYMMETRIC_CLIENT_ID)
            .private_key(PrivateKey::generate_p384().unwrap())
            .kid(demo::asymmetric_kid())
            .build()
            .unwrap(),
        ClientType::ConfidentialAsymmetric,
    )
    .unwrap();
    let err = impostor.refresh(&RefreshToken::new("x"), None).unwrap_err();
    assert_eq!(oauth_error(&err), Some(&ErrorCode::InvalidClient), "{err}");

    // Expired code: more than 60 s between the redirect and the exchange.
    let client = client_of(&sandbox, demo::PUBLIC_CLIENT_ID);
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let callback = browse(&request).unwrap();
    sandbox.advance_clock(Duration::from_secs(61));
    let err = client
        .complete_authorization(&callback, request.pending())
        .unwrap_err();
    assert_eq!(oauth_error(&err), Some(&ErrorCode::InvalidGrant), "{err}");

    // Reused code: the second exchange of the same callback fails. (No `openid` here: the
    // sandbox's clock is now 61 s ahead of the client's, so its id_token's `iat` would be in
    // the future, which the client rightly refuses.)
    let request = client
        .authorize(AuthorizeOptions::new().scopes("patient/*.rs").unwrap())
        .unwrap();
    let callback = browse(&request).unwrap();
    client
        .complete_authorization(&callback, request.pending())
        .unwrap();
    let err = client
        .complete_authorization(&callback, request.pending())
        .unwrap_err();
    assert_eq!(oauth_error(&err), Some(&ErrorCode::InvalidGrant), "{err}");

    // Wrong redirect_uri at the token endpoint (a tampered pending authorization).
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let callback = browse(&request).unwrap();
    let mut stored: serde_json::Value = serde_json::to_value(request.pending()).unwrap();
    stored["redirect_uri"] = "http://127.0.0.1:9/elsewhere".into();
    let tampered: PendingAuthorization = serde_json::from_value(stored).unwrap();
    let err = client
        .complete_authorization(&callback, &tampered)
        .unwrap_err();
    assert_eq!(oauth_error(&err), Some(&ErrorCode::InvalidGrant), "{err}");

    // An unregistered redirect_uri: the server refuses and does not redirect anywhere.
    let stranger = Client::new(
        builder(&sandbox, demo::PUBLIC_CLIENT_ID)
            .redirect_uri("https://evil.example/callback")
            .build()
            .unwrap(),
        ClientType::Public,
    )
    .unwrap();
    let request = stranger.authorize(AuthorizeOptions::new()).unwrap();
    assert_eq!(browse(&request), Err(400));
}

#[test]
fn a_reused_assertion_is_refused() {
    use smart_client::token::{ClientAuth, TokenRequest};
    let sandbox = Sandbox::start().unwrap();
    let signer = smart_client::jwt::AssertionSigner::from_key(
        &demo::backend_key(),
        demo::backend_kid(),
        None,
    )
    .unwrap();
    // A deterministic RNG makes the same jti twice: the second request replays the first.
    let auth = ClientAuth::private_key_jwt(
        smart_client::core::ClientId::parse(demo::BACKEND_CLIENT_ID).unwrap(),
        signer,
    )
    .with_rng(
        |buf: &mut [u8]| -> Result<(), smart_client::core::RandomError> {
            buf.fill(7);
            Ok(())
        },
    );
    let token_url = smart_client::core::TokenUrl::parse(sandbox.token_url()).unwrap();
    let send = || {
        let request = TokenRequest::client_credentials(None)
            .unwrap()
            .build(&token_url, &auth)
            .unwrap();
        let (parts, body) = request.into_parts();
        let mut call = agent().post(parts.uri.to_string());
        for (name, value) in &parts.headers {
            call = call.header(name, value);
        }
        call.send(&body[..]).unwrap()
    };
    assert_eq!(send().status().as_u16(), 200);
    let mut replay = send();
    assert_eq!(replay.status().as_u16(), 401);
    let body = replay.body_mut().read_to_string().unwrap();
    assert!(body.contains("invalid_client"), "{body}");
}
}
