//! A server that echoes what it received: every secret of the failed request comes back as
//! `[redacted]` in the error, in every place server text is kept and in every encoding the
//! secret travelled in (issue 20, item 2).

use std::sync::Arc;

use base64ct::{Base64, Encoding};
use smart_core::url::form_urlencoded;
use smart_core::{ClientId, EndpointUrl, FixedClock, RedirectUri, TokenUrl};
use smart_jwt_assertion::{AssertionSigner, PrivateKey};
use smart_pkce::PkceVerifier;
use smart_token::{
    AccessToken, AuthorizationCode, ClientAuth, ClientSecret, IntrospectionAuth,
    IntrospectionResponse, OAuthError, Operation, Redactions, RefreshToken, TokenError, TokenRef,
    TokenRequest, TokenResponse, introspection_request, request_redactions, revocation_request,
    revocation_response_redacting,
};

const SECRET: &str = "s3c:r+t/=% é&x";
const CODE: &str = "c0de/with+odd=chars&x";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REFRESH: &str = "refresh-token-value-123";
const ACCESS: &str = "access-token-value-456";

fn token_url() -> TokenUrl {
    TokenUrl::parse("https://ehr.example/token").unwrap()
}

fn endpoint(path: &str) -> EndpointUrl {
    EndpointUrl::parse(format!("https://ehr.example/{path}")).unwrap()
}

fn client_id() -> ClientId {
    ClientId::parse("my-app").unwrap()
}

fn form(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn basic_raw() -> ClientAuth {
    ClientAuth::client_secret_basic(client_id(), ClientSecret::new(SECRET))
}

fn basic_rfc6749() -> ClientAuth {
    basic_raw().with_rfc6749_basic_encoding()
}

fn post() -> ClientAuth {
    ClientAuth::client_secret_post(client_id(), ClientSecret::new(SECRET))
}

fn jwt() -> ClientAuth {
    let key = PrivateKey::generate_p384().unwrap();
    let signer = AssertionSigner::from_key(&key, "kid-1", None).unwrap();
    ClientAuth::private_key_jwt(client_id(), signer)
        .with_clock(Arc::new(FixedClock::from_unix_seconds(1_700_000_000)))
}

fn code_request() -> TokenRequest {
    TokenRequest::authorization_code(
        &AuthorizationCode::new(CODE),
        &RedirectUri::parse("https://app.example/cb").unwrap(),
        &PkceVerifier::parse(VERIFIER).unwrap(),
    )
}

/// Every secret value the built request carries, in every form a server could echo: form
/// values raw, form-encoded and percent-encoded, the Basic header's base64 and what it
/// decodes to.
fn sent_forms(request: &http::Request<Vec<u8>>) -> Vec<String> {
    let mut forms = Vec::new();
    for (name, value) in smart_core::form::decode(request.body()) {
        if matches!(
            name.as_str(),
            "code"
                | "code_verifier"
                | "refresh_token"
                | "client_secret"
                | "client_assertion"
                | "token"
        ) {
            forms.push(form(&value).replace('+', "%20"));
            forms.push(form(&value));
            forms.push(value);
        }
    }
    if let Some(header) = request.headers().get("authorization") {
        let header = header.to_str().unwrap().to_owned();
        if let Some(encoded) = header.strip_prefix("Basic ") {
            let decoded = String::from_utf8(Base64::decode_vec(encoded).unwrap()).unwrap();
            forms.push(encoded.to_owned());
            forms.push(decoded);
        }
        if let Some(token) = header.strip_prefix("Bearer ") {
            forms.push(token.to_owned());
        }
        forms.push(header);
    }
    forms
}

/// A server that puts every form of every secret into `error`, `error_description`,
/// `error_uri`, and the same again as a non-JSON body.
fn echoing_bodies(forms: &[String]) -> (Vec<u8>, Vec<u8>) {
    let all = forms.join(" | ");
    let json = serde_json::json!({
        "error": format!("bad_{}", forms[0]),
        "error_description": format!("you sent: {all}"),
        "error_uri": format!("https://ehr.example/e?{all}"),
    });
    let html = format!("<html><body><h1>401</h1><p>you sent: {all}</p></body></html>");
    (serde_json::to_vec(&json).unwrap(), html.into_bytes())
}

fn answer(status: u16, body: Vec<u8>) -> http::Response<Vec<u8>> {
    http::Response::builder().status(status).body(body).unwrap()
}

/// Nothing of the request's secrets survives in the error's Display, Debug or fields.
fn assert_no_secret(error: &TokenError, forms: &[String], case: &str) {
    let mut shown = format!("{error} {error:?}");
    if let TokenError::OAuth(oauth) = error {
        let fields = format!(
            " {:?} {:?} {:?} {:?} {}",
            oauth.error(),
            oauth.error_description(),
            oauth.error_uri(),
            oauth.body_excerpt(),
            oauth.summary()
        );
        shown.push_str(&fields);
    }
    for needle in forms {
        // Shorter than 6 characters would match by chance ("my-app:" is not secret).
        if needle.len() >= 6 {
            assert!(
                !shown.contains(needle.as_str()),
                "{case}: `{needle}` shown in {shown}"
            );
        }
    }
    assert!(shown.contains("[redacted]"), "{case}: {shown}");
}

#[test]
fn every_token_request_for_every_method_redacts_what_it_sent() {
    let methods = [
        ("basic raw", basic_raw()),
        ("basic rfc6749", basic_rfc6749()),
        ("post", post()),
        ("private_key_jwt", jwt()),
    ];
    let requests = [
        ("code", code_request()),
        (
            "refresh",
            TokenRequest::refresh_token(&RefreshToken::new(REFRESH), None),
        ),
        (
            "client_credentials",
            TokenRequest::client_credentials(None).unwrap(),
        ),
    ];
    for (method, auth) in &methods {
        for (grant, request) in &requests {
            let built = request.build(&token_url(), auth).unwrap();
            let redactions = request_redactions(&built);
            let forms = sent_forms(&built);
            assert!(forms.len() >= 3, "{method} {grant}: {forms:?}");
            let (json, html) = echoing_bodies(&forms);
            for (kind, body) in [("json", json), ("html", html)] {
                let error = TokenResponse::from_response_redacting(
                    &answer(401, body),
                    &smart_core::SystemClock,
                    &redactions,
                )
                .unwrap_err();
                assert_no_secret(&error, &forms, &format!("{method} {grant} {kind}"));
            }
        }
    }
}

#[test]
fn the_secret_itself_is_redacted_in_each_of_its_encodings() {
    let built = code_request().build(&token_url(), &basic_raw()).unwrap();
    let redactions = request_redactions(&built);
    for echoed in [
        SECRET.to_owned(),
        form(SECRET),
        form(SECRET).replace('+', "%20"),
        Base64::encode_string(format!("my-app:{SECRET}").as_bytes()),
        format!("my-app:{SECRET}"),
    ] {
        let body = serde_json::to_vec(&serde_json::json!({
            "error": "invalid_client",
            "error_description": format!("wrong: {echoed}."),
        }))
        .unwrap();
        let error = OAuthError::from_response_redacting(Operation::Token, 401, &body, &redactions);
        let description = error.error_description().unwrap();
        assert!(
            description == "wrong: [redacted]." || description == "wrong: my-app:[redacted].",
            "{echoed}: {description}"
        );
    }
}

#[test]
fn a_long_description_is_redacted_before_it_is_cut() {
    let built = code_request().build(&token_url(), &post()).unwrap();
    let redactions = request_redactions(&built);
    // The secret straddles the 300-character cut: redacting after the cut would leave its
    // first characters behind.
    let description = format!("{}{SECRET}", "x".repeat(295));
    let body = serde_json::to_vec(
        &serde_json::json!({"error": "invalid_client", "error_description": description}),
    )
    .unwrap();
    let error = OAuthError::from_response_redacting(Operation::Token, 401, &body, &redactions);
    let shown = error.error_description().unwrap();
    assert_eq!(shown, format!("{}[reda...", "x".repeat(295)));
    assert!(!shown.contains("s3c"), "{shown}");
}

#[test]
fn introspection_and_revocation_redact_the_token_and_the_credentials() {
    let access = AccessToken::new(ACCESS);
    let bearer = AccessToken::new("bearer-token-of-the-introspector");
    let auth = basic_raw();
    let url = token_url();
    let built = [
        introspection_request(
            &endpoint("introspect"),
            IntrospectionAuth::Client {
                auth: &auth,
                token_url: &url,
            },
            TokenRef::Access(&access),
        )
        .unwrap(),
        introspection_request(
            &endpoint("introspect"),
            IntrospectionAuth::Bearer(&bearer),
            TokenRef::Refresh(&RefreshToken::new(REFRESH)),
        )
        .unwrap(),
    ];
    for request in &built {
        let forms = sent_forms(request);
        let (json, html) = echoing_bodies(&forms);
        for body in [json, html] {
            let error = IntrospectionResponse::from_response_redacting(
                &answer(400, body),
                &request_redactions(request),
            )
            .unwrap_err();
            assert_no_secret(&error, &forms, "introspection");
        }
    }
    let revocation = revocation_request(
        &endpoint("revoke"),
        &post(),
        &url,
        TokenRef::Access(&access),
    )
    .unwrap();
    let forms = sent_forms(&revocation);
    let (json, html) = echoing_bodies(&forms);
    for body in [json, html] {
        let error =
            revocation_response_redacting(&answer(503, body), &request_redactions(&revocation))
                .unwrap_err();
        assert_no_secret(&error, &forms, "revocation");
    }
}

#[test]
fn server_text_of_a_2xx_error_is_redacted_too() {
    let built = TokenRequest::refresh_token(&RefreshToken::new(REFRESH), None)
        .build(&token_url(), &post())
        .unwrap();
    let redactions = request_redactions(&built);
    let clock = smart_core::SystemClock;
    // An unknown token_type holding the refresh token.
    let body = format!(r#"{{"access_token": "a", "token_type": "x{REFRESH}"}}"#);
    let error = TokenResponse::from_response_redacting(
        &answer(200, body.into_bytes()),
        &clock,
        &redactions,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "token_type is `x[redacted]`; this client supports only Bearer tokens"
    );
    // Field names holding a secret, in an answer without access_token.
    let body = format!(r#"{{"{SECRET}": 1}}"#);
    let error = TokenResponse::from_response_redacting(
        &answer(200, body.into_bytes()),
        &clock,
        &redactions,
    )
    .unwrap_err();
    assert!(
        error.to_string().ends_with("received fields: [redacted]"),
        "{error}"
    );
    // A duplicated key holding a secret.
    let body = format!(r#"{{"{REFRESH}": 1, "{REFRESH}": 2}}"#);
    let error = TokenResponse::from_response_redacting(
        &answer(200, body.into_bytes()),
        &clock,
        &redactions,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("the key `[redacted]` twice"),
        "{error}"
    );
}

#[test]
fn without_redactions_nothing_changes_and_the_extension_is_always_there() {
    let built = code_request().build(&token_url(), &post()).unwrap();
    assert!(!request_redactions(&built).is_empty());
    let body = br#"{"error": "invalid_grant", "error_description": "Code expired"}"#;
    let error = OAuthError::from_response_redacting(
        Operation::Token,
        400,
        body,
        &request_redactions(&built),
    );
    assert_eq!(
        error,
        OAuthError::from_response(Operation::Token, 400, body)
    );
    // A request from elsewhere has none.
    let other = http::Request::new(Vec::<u8>::new());
    assert!(request_redactions(&other).is_empty());
    assert_eq!(
        format!("{:?}", Redactions::new()),
        "Redactions { values: 0 }"
    );
    // The redactions never show in the request's Debug.
    let debug = format!("{built:?}");
    assert!(!debug.contains("Redactions"), "{debug}");
}

#[test]
fn a_public_client_code_exchange_redacts_the_code_and_the_verifier() {
    let built = code_request()
        .build(&token_url(), &ClientAuth::public(client_id()))
        .unwrap();
    let forms = sent_forms(&built);
    assert!(forms.iter().any(|f| f == CODE) && forms.iter().any(|f| f == VERIFIER));
    let (json, html) = echoing_bodies(&forms);
    for body in [json, html] {
        let error = TokenResponse::from_response_redacting(
            &answer(400, body),
            &smart_core::SystemClock,
            &request_redactions(&built),
        )
        .unwrap_err();
        assert_no_secret(&error, &forms, "public code exchange");
    }
}
