//! Introspection, revocation, registration and the FHIR read.

use std::time::Duration;

use serde_json::{Value, json};
use smart_jwt_assertion::PrivateKey;
use smart_sandbox::{Sandbox, SandboxConfig, demo};
use smart_token::{
    AccessToken, ClientAuth, ClientSecret, IntrospectionAuth, IntrospectionResponse, TokenRef,
    TokenRequest, introspection_request, revocation_request,
};

use crate::{
    PATIENT_SCOPES, agent, asymmetric_auth, backend_auth, client_id, code_flow, endpoint, key_auth,
    public_auth, read_patient, send, symmetric_auth, token_url,
};

fn introspect(
    sandbox: &Sandbox,
    auth: IntrospectionAuth<'_>,
    token: TokenRef<'_>,
) -> IntrospectionResponse {
    let request = introspection_request(&endpoint(sandbox, "/introspect"), auth, token).unwrap();
    let answer = send(&agent(), request);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    IntrospectionResponse::from_response(&answer.to_http()).unwrap()
}

#[test]
fn introspection_with_client_auth_and_with_a_bearer_token() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let auth = asymmetric_auth();
    let token = code_flow(&agent, &sandbox, &auth, PATIENT_SCOPES, None);
    let url = token_url(&sandbox);
    let by_client = IntrospectionAuth::Client {
        auth: &auth,
        token_url: &url,
    };
    let answer = introspect(&sandbox, by_client, TokenRef::Access(token.access_token()));
    assert!(answer.active());
    assert_eq!(answer.client_id(), Some(demo::ASYMMETRIC_CLIENT_ID));
    assert_eq!(answer.scope().unwrap().to_string(), PATIENT_SCOPES);
    assert_eq!(answer.token_type(), Some("Bearer"));
    assert_eq!(answer.iss(), Some(sandbox.base_url()));
    assert_eq!(answer.context().patient(), Some(demo::PATIENT_ID));
    let fhir_user = format!("{}/Patient/{}", sandbox.base_url(), demo::PATIENT_ID);
    assert_eq!(answer.fhir_user(), Some(fhir_user.as_str()));
    assert!(answer.exp().unwrap() > answer.iat().unwrap());

    // The refresh token, by the client.
    let refresh = token.refresh_token().unwrap();
    let answer = introspect(&sandbox, by_client, TokenRef::Refresh(refresh));
    assert!(answer.active());

    // With the access token itself as the Bearer credential.
    let bearer = IntrospectionAuth::Bearer(token.access_token());
    let answer = introspect(&sandbox, bearer, TokenRef::Access(token.access_token()));
    assert!(answer.active());
    assert_eq!(
        answer.sub(),
        Some(format!("Patient/{}", demo::PATIENT_ID).as_str())
    );

    // Unknown tokens, and other clients' tokens, are inactive.
    let unknown = AccessToken::new("no-such-token");
    let answer = introspect(&sandbox, by_client, TokenRef::Access(&unknown));
    assert!(!answer.active());
    assert!(answer.scope().is_none());
    let symmetric = symmetric_auth();
    let other_client = IntrospectionAuth::Client {
        auth: &symmetric,
        token_url: &url,
    };
    let answer = introspect(
        &sandbox,
        other_client,
        TokenRef::Access(token.access_token()),
    );
    assert!(!answer.active());

    // Expired tokens are inactive.
    sandbox.advance_clock(Duration::from_secs(3601));
    let fresh = code_flow(
        &agent,
        &sandbox,
        &public_auth(),
        "launch/patient patient/*.rs",
        None,
    );
    let public = public_auth();
    let by_public = IntrospectionAuth::Client {
        auth: &public,
        token_url: &url,
    };
    let answer = introspect(&sandbox, by_public, TokenRef::Access(fresh.access_token()));
    assert!(answer.active());
    sandbox.advance_clock(Duration::from_secs(3600));
    let answer = introspect(&sandbox, by_public, TokenRef::Access(fresh.access_token()));
    assert!(!answer.active());
}

#[test]
fn introspection_needs_authentication() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let token = code_flow(&agent, &sandbox, &public_auth(), PATIENT_SCOPES, None);
    let answer = crate::post_form(
        &agent,
        &format!("{}/introspect", sandbox.base_url()),
        &[("token", token.access_token().expose_secret())],
        None,
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
    let answer = crate::post_form(
        &agent,
        &format!("{}/introspect", sandbox.base_url()),
        &[("token", token.access_token().expose_secret())],
        Some("Bearer not-a-token"),
    );
    assert_eq!(answer.oauth_error(401), "invalid_token");
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer ")
    );
}

#[test]
fn revocation() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let auth = symmetric_auth();
    let url = token_url(&sandbox);
    let revoke_url = endpoint(&sandbox, "/revoke");

    // Revoking an access token: reads fail, the refresh token lives on.
    let token = code_flow(&agent, &sandbox, &auth, PATIENT_SCOPES, None);
    let access = token.access_token().expose_secret();
    assert_eq!(
        read_patient(&agent, &sandbox, demo::PATIENT_ID, Some(access)).status,
        200
    );
    let request = revocation_request(
        &revoke_url,
        &auth,
        &url,
        TokenRef::Access(token.access_token()),
    )
    .unwrap();
    let answer = send(&agent, request);
    assert_eq!(answer.status, 200);
    smart_token::revocation_response(&answer.to_http()).unwrap();
    assert_eq!(
        read_patient(&agent, &sandbox, demo::PATIENT_ID, Some(access)).status,
        401
    );
    let refreshed = send(
        &agent,
        TokenRequest::refresh_token(token.refresh_token().unwrap(), None)
            .build(&url, &auth)
            .unwrap(),
    )
    .token();

    // Revoking a refresh token revokes the grant's access tokens too.
    let request = revocation_request(
        &revoke_url,
        &auth,
        &url,
        TokenRef::Refresh(refreshed.refresh_token().unwrap()),
    )
    .unwrap();
    assert_eq!(send(&agent, request).status, 200);
    let read = read_patient(
        &agent,
        &sandbox,
        demo::PATIENT_ID,
        Some(refreshed.access_token().expose_secret()),
    );
    assert_eq!(read.status, 401);
    let refresh = send(
        &agent,
        TokenRequest::refresh_token(refreshed.refresh_token().unwrap(), None)
            .build(&url, &auth)
            .unwrap(),
    );
    assert_eq!(refresh.oauth_error(400), "invalid_grant");

    // Unknown tokens: 200 all the same. Another client's token: 200, and nothing happens.
    let unknown = AccessToken::new("no-such-token");
    let request = revocation_request(&revoke_url, &auth, &url, TokenRef::Access(&unknown)).unwrap();
    assert_eq!(send(&agent, request).status, 200);
    let theirs = code_flow(&agent, &sandbox, &public_auth(), PATIENT_SCOPES, None);
    let request = revocation_request(
        &revoke_url,
        &auth,
        &url,
        TokenRef::Access(theirs.access_token()),
    )
    .unwrap();
    assert_eq!(send(&agent, request).status, 200);
    let read = read_patient(
        &agent,
        &sandbox,
        demo::PATIENT_ID,
        Some(theirs.access_token().expose_secret()),
    );
    assert_eq!(read.status, 200);

    // Revocation needs client authentication.
    let answer = crate::post_form(
        &agent,
        &revoke_url.to_string(),
        &[("token", theirs.access_token().expose_secret())],
        None,
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
}

#[test]
fn revoking_a_backend_token() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let url = token_url(&sandbox);
    let revoke_url = endpoint(&sandbox, "/revoke");
    let backend = send(
        &agent,
        TokenRequest::client_credentials(None)
            .unwrap()
            .build(&url, &backend_auth())
            .unwrap(),
    )
    .token();
    let request = revocation_request(
        &revoke_url,
        &backend_auth(),
        &url,
        TokenRef::Access(backend.access_token()),
    )
    .unwrap();
    assert_eq!(send(&agent, request).status, 200);
    let read = read_patient(
        &agent,
        &sandbox,
        demo::PATIENT_ID,
        Some(backend.access_token().expose_secret()),
    );
    assert_eq!(read.status, 401);
}

fn register(sandbox: &Sandbox, metadata: &Value, bearer: Option<&str>) -> crate::Answer {
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("{}/register", sandbox.base_url()))
        .header("content-type", "application/json");
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    send(
        &agent(),
        request.body(serde_json::to_vec(metadata).unwrap()).unwrap(),
    )
}

#[test]
fn registration_then_use() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let redirect = "http://127.0.0.1:9999/cb";

    // A client with a secret.
    let answer = register(
        &sandbox,
        &json!({
            "client_name": "Registered app",
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "launch/patient openid fhirUser offline_access patient/*.rs"
        }),
        None,
    );
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let body = answer.json();
    let id = body["client_id"].as_str().unwrap();
    let secret = body["client_secret"].as_str().unwrap();
    assert!(body["client_id_issued_at"].as_u64().is_some());
    assert_eq!(body["client_secret_expires_at"], 0);
    assert_eq!(body["redirect_uris"], json!([redirect]));
    let auth = ClientAuth::client_secret_basic(client_id(id), ClientSecret::new(secret));
    let request = crate::AuthorizeRequest::new(&sandbox, id, "launch/patient patient/*.rs")
        .set("redirect_uri", Some(redirect));
    let location = request.get(&agent, &sandbox).location();
    let params = crate::redirect_params(&location);
    let code = params["code"].as_str().unwrap();
    let token_request = TokenRequest::authorization_code(
        &smart_token::AuthorizationCode::new(code),
        &smart_core::RedirectUri::parse(redirect).unwrap(),
        &request.verifier,
    )
    .build(&token_url(&sandbox), &auth)
    .unwrap();
    let token = send(&agent, token_request).token();
    assert_eq!(token.context().patient(), Some(demo::PATIENT_ID));
    // Its registered scopes bind it.
    let request =
        crate::AuthorizeRequest::new(&sandbox, id, "user/*.rs").set("redirect_uri", Some(redirect));
    let params = crate::redirect_params(&request.get(&agent, &sandbox).location());
    assert_eq!(params["error"], "invalid_scope");

    // A backend service with an inline JWKS.
    let key = PrivateKey::generate_p384().unwrap();
    let answer = register(
        &sandbox,
        &json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["client_credentials"],
            "scope": "system/Patient.rs",
            "jwks": serde_json::to_value(key.public_jwk_set(Some("k1"))).unwrap()
        }),
        None,
    );
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    assert!(body.get("client_secret").is_none());
    let id = body["client_id"].as_str().unwrap();
    let request = TokenRequest::client_credentials(Some(&"system/Patient.rs".parse().unwrap()))
        .unwrap()
        .build(&token_url(&sandbox), &key_auth(id, &key, "k1"))
        .unwrap();
    let token = send(&agent, request).token();
    assert_eq!(token.expires_in(), Some(300));

    // A public client.
    let answer = register(
        &sandbox,
        &json!({"redirect_uris": [redirect], "token_endpoint_auth_method": "none"}),
        None,
    );
    assert_eq!(answer.status, 201);
    let id = answer.json()["client_id"].as_str().unwrap().to_owned();
    let request = crate::AuthorizeRequest::new(&sandbox, &id, "launch/patient patient/*.rs")
        .set("redirect_uri", Some(redirect));
    assert!(crate::redirect_params(&request.get(&agent, &sandbox).location()).contains_key("code"));
    // It registered no port variance: another port is refused.
    let request = crate::AuthorizeRequest::new(&sandbox, &id, "launch/patient patient/*.rs")
        .set("redirect_uri", Some("http://127.0.0.1:9998/cb"));
    assert_eq!(
        request.get(&agent, &sandbox).oauth_error(400),
        "invalid_request"
    );

    // A public client that registers port variance (RFC 8252 section 7.3).
    let answer = register(
        &sandbox,
        &json!({"redirect_uris": [redirect], "token_endpoint_auth_method": "none",
                "loopback_redirect_any_port": true}),
        None,
    );
    assert_eq!(answer.status, 201);
    let body = answer.json();
    assert_eq!(body["loopback_redirect_any_port"], true);
    let id = body["client_id"].as_str().unwrap().to_owned();
    let request = crate::AuthorizeRequest::new(&sandbox, &id, "launch/patient patient/*.rs")
        .set("redirect_uri", Some("http://127.0.0.1:9998/cb"));
    let location = request.get(&agent, &sandbox).location();
    assert!(location.as_str().starts_with("http://127.0.0.1:9998/cb?"));
}

#[test]
fn registration_refusals() {
    let sandbox = Sandbox::start().unwrap();
    let key = PrivateKey::generate_p384().unwrap();
    let jwks = serde_json::to_value(key.public_jwk_set(Some("k1"))).unwrap();
    let cases = [
        (
            json!({"redirect_uris": ["http://app.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": "https://app.example/cb"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "tls_client_auth"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "scope": "patient/Observation.sr"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"],
                   "jwks": jwks, "jwks_uri": "http://127.0.0.1:1/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"],
                   "jwks_uri": "https://keys.example/jwks.json"}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"],
                   "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_basic", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"],
                   "jwks": jwks, "scope": "patient/*.rs"}),
            "invalid_client_metadata",
        ),
    ];
    for (metadata, error) in cases {
        let answer = register(&sandbox, &metadata, None);
        assert_eq!(answer.oauth_error(400), error, "{metadata}");
    }
    // Not JSON.
    let answer = send(
        &agent(),
        http::Request::builder()
            .method("POST")
            .uri(format!("{}/register", sandbox.base_url()))
            .body(b"redirect_uris=x".to_vec())
            .unwrap(),
    );
    assert_eq!(answer.oauth_error(400), "invalid_client_metadata");
}

#[test]
fn registration_with_an_initial_access_token() {
    let sandbox = Sandbox::start_with(
        SandboxConfig::new().require_initial_access_token(Some("let-me-in".into())),
    )
    .unwrap();
    let metadata = json!({"redirect_uris": ["https://app.example/cb"]});
    let answer = register(&sandbox, &metadata, None);
    assert_eq!(answer.oauth_error(401), "invalid_token");
    let answer = register(&sandbox, &metadata, Some("wrong"));
    assert_eq!(answer.oauth_error(401), "invalid_token");
    let answer = register(&sandbox, &metadata, Some("let-me-in"));
    assert_eq!(answer.status, 201);
}

#[test]
fn fhir_read_needs_a_token_with_the_right_scope() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    // No token.
    let answer = read_patient(&agent, &sandbox, demo::PATIENT_ID, None);
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.header("www-authenticate"),
        Some(r#"Bearer realm="smart-sandbox""#)
    );
    assert_eq!(answer.json()["resourceType"], "OperationOutcome");
    // An unknown token.
    let answer = read_patient(&agent, &sandbox, demo::PATIENT_ID, Some("made-up"));
    assert_eq!(answer.status, 401);
    assert!(
        answer
            .header("www-authenticate")
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );

    // A patient/ token reads its own patient only.
    let token = code_flow(&agent, &sandbox, &public_auth(), PATIENT_SCOPES, None);
    let access = token.access_token().expose_secret();
    assert_eq!(
        read_patient(&agent, &sandbox, demo::PATIENT_ID, Some(access)).status,
        200
    );
    let other = read_patient(&agent, &sandbox, demo::OTHER_PATIENT_ID, Some(access));
    assert_eq!(other.status, 403);
    assert!(
        other
            .header("www-authenticate")
            .unwrap()
            .contains("insufficient_scope")
    );
    assert_eq!(
        read_patient(&agent, &sandbox, "no-such-patient", Some(access)).status,
        403
    );

    // Scopes without Patient read.
    let token = code_flow(
        &agent,
        &sandbox,
        &public_auth(),
        "launch/patient patient/Observation.rs patient/Patient.c",
        None,
    );
    let access = token.access_token().expose_secret();
    assert_eq!(
        read_patient(&agent, &sandbox, demo::PATIENT_ID, Some(access)).status,
        403
    );

    // A user/ token reads any patient; unknown ids are 404.
    let token = code_flow(&agent, &sandbox, &symmetric_auth(), "user/Patient.rs", None);
    let access = token.access_token().expose_secret();
    assert_eq!(
        read_patient(&agent, &sandbox, demo::OTHER_PATIENT_ID, Some(access)).status,
        200
    );
    let missing = read_patient(&agent, &sandbox, "no-such-patient", Some(access));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["resourceType"], "OperationOutcome");

    // An expired token.
    sandbox.advance_clock(Duration::from_secs(3600));
    let answer = read_patient(&agent, &sandbox, demo::OTHER_PATIENT_ID, Some(access));
    assert_eq!(answer.status, 401);
}
