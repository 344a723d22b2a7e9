//! Client authentication at the token endpoint: every way to get it wrong.

use base64ct::{Base64, Encoding};
use serde_json::{Map, Value, json};
use smart_core::{Clock, SystemClock, TokenUrl, unix_seconds};
use smart_jwt_assertion::{AssertionSigner, CLIENT_ASSERTION_TYPE, PrivateKey, sign_compact};
use smart_sandbox::{RegisteredClient, Sandbox, SandboxConfig, demo};
use smart_token::{ClientAuth, ClientSecret, TokenRequest};

use crate::{
    PATIENT_SCOPES, agent, authorize, backend_auth, client_id, exchange, key_auth, post_form, send,
};

/// A backend token request with a hand-made assertion.
fn backend_with(sandbox: &Sandbox, assertion: &str) -> crate::Answer {
    post_form(
        &agent(),
        &sandbox.token_url(),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
        None,
    )
}

fn now() -> u64 {
    unix_seconds(SystemClock.now())
}

/// Signs `claims` over the backend client's valid defaults, with `header` over the valid
/// header.
fn assertion(
    sandbox: &Sandbox,
    key: &PrivateKey,
    header: &[(&str, Value)],
    claims: &[(&str, Value)],
) -> String {
    let mut h = Map::new();
    h.insert("typ".into(), json!("JWT"));
    h.insert("kid".into(), json!(demo::backend_kid()));
    for (name, value) in header {
        if value.is_null() {
            h.remove(*name);
        } else {
            h.insert((*name).to_owned(), value.clone());
        }
    }
    let mut c = Map::new();
    c.insert("iss".into(), json!(demo::BACKEND_CLIENT_ID));
    c.insert("sub".into(), json!(demo::BACKEND_CLIENT_ID));
    c.insert("aud".into(), json!(sandbox.token_url()));
    c.insert("exp".into(), json!(now() + 240));
    c.insert(
        "jti".into(),
        json!(smart_pkce::State::generate().unwrap().expose_secret()),
    );
    for (name, value) in claims {
        if value.is_null() {
            c.remove(*name);
        } else {
            c.insert((*name).to_owned(), value.clone());
        }
    }
    sign_compact(&h, &c, &key.signer(None).unwrap()).unwrap()
}

#[test]
fn hand_made_assertion_is_accepted() {
    let sandbox = Sandbox::start().unwrap();
    let good = assertion(&sandbox, &demo::backend_key(), &[], &[]);
    assert_eq!(backend_with(&sandbox, &good).status, 200);
    // aud may also be an array that holds the token URL (RFC 7519 section 4.1.3).
    let array = assertion(
        &sandbox,
        &demo::backend_key(),
        &[],
        &[("aud", json!([sandbox.token_url()]))],
    );
    assert_eq!(backend_with(&sandbox, &array).status, 200);
}

#[test]
#[expect(clippy::too_many_lines, reason = "one table of cases")]
fn assertion_negatives() {
    let sandbox = Sandbox::start().unwrap();
    let key = demo::backend_key();
    let other_key = PrivateKey::generate_p384().unwrap();
    let token_url = sandbox.token_url();
    let cases: Vec<(&str, String)> = vec![
        (
            "signed by another key under the registered kid",
            assertion(
                &sandbox,
                &other_key,
                &[("kid", json!(demo::ES384_KID))],
                &[],
            ),
        ),
        (
            "unknown kid",
            assertion(&sandbox, &key, &[("kid", json!("no-such-kid"))], &[]),
        ),
        (
            "no kid",
            assertion(&sandbox, &key, &[("kid", Value::Null)], &[]),
        ),
        (
            "no typ",
            assertion(&sandbox, &key, &[("typ", Value::Null)], &[]),
        ),
        (
            "typ JWS",
            assertion(&sandbox, &key, &[("typ", json!("JWS"))], &[]),
        ),
        (
            "a jku for an inline JWKS",
            assertion(
                &sandbox,
                &key,
                &[("jku", json!("https://attacker.example/jwks"))],
                &[],
            ),
        ),
        (
            "expired",
            assertion(&sandbox, &key, &[], &[("exp", json!(now() - 1))]),
        ),
        (
            "exp more than five minutes ahead",
            assertion(&sandbox, &key, &[], &[("exp", json!(now() + 400))]),
        ),
        (
            "no exp",
            assertion(&sandbox, &key, &[], &[("exp", Value::Null)]),
        ),
        (
            "exp a string",
            assertion(&sandbox, &key, &[], &[("exp", json!("9999999999"))]),
        ),
        (
            "nbf in the future",
            assertion(&sandbox, &key, &[], &[("nbf", json!(now() + 100))]),
        ),
        (
            "no jti",
            assertion(&sandbox, &key, &[], &[("jti", Value::Null)]),
        ),
        (
            "aud the base URL",
            assertion(&sandbox, &key, &[], &[("aud", json!(sandbox.base_url()))]),
        ),
        (
            "aud with a trailing slash",
            assertion(
                &sandbox,
                &key,
                &[],
                &[("aud", json!(format!("{token_url}/")))],
            ),
        ),
        (
            "no aud",
            assertion(&sandbox, &key, &[], &[("aud", Value::Null)]),
        ),
        (
            "sub another client",
            assertion(
                &sandbox,
                &key,
                &[],
                &[("sub", json!(demo::ASYMMETRIC_CLIENT_ID))],
            ),
        ),
        (
            "iss unknown",
            assertion(
                &sandbox,
                &key,
                &[],
                &[("iss", json!("nobody")), ("sub", json!("nobody"))],
            ),
        ),
        (
            "iss a symmetric client",
            assertion(
                &sandbox,
                &key,
                &[],
                &[
                    ("iss", json!(demo::SYMMETRIC_CLIENT_ID)),
                    ("sub", json!(demo::SYMMETRIC_CLIENT_ID)),
                ],
            ),
        ),
        ("not a JWS", "not.a.jws".to_owned()),
    ];
    for (case, assertion) in cases {
        let answer = backend_with(&sandbox, &assertion);
        assert_eq!(answer.oauth_error(401), "invalid_client", "{case}");
        assert!(answer.header("www-authenticate").is_none(), "{case}");
    }

    // RS256 is not an assertion algorithm.
    let mut h = Map::new();
    h.insert("typ".into(), json!("JWT"));
    h.insert("kid".into(), json!(demo::RS384_KID));
    let mut c = Map::new();
    for name in ["iss", "sub"] {
        c.insert(name.into(), json!(demo::BACKEND_CLIENT_ID));
    }
    c.insert("aud".into(), json!(token_url));
    c.insert("exp".into(), json!(now() + 60));
    c.insert("jti".into(), json!("rs256"));
    let rs256 = sign_compact(
        &h,
        &c,
        &key.signer(Some(smart_jwt_assertion::Algorithm::Rs256))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        backend_with(&sandbox, &rs256).oauth_error(401),
        "invalid_client"
    );

    // The wrong client_assertion_type.
    let good = assertion(&sandbox, &key, &[], &[]);
    let answer = post_form(
        &agent(),
        &sandbox.token_url(),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ),
            ("client_assertion", &good),
        ],
        None,
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
    // The untouched assertion still works: refusals do not burn its jti.
    assert_eq!(backend_with(&sandbox, &good).status, 200);
}

#[test]
fn reused_assertion_is_refused() {
    let sandbox = Sandbox::start().unwrap();
    let signer =
        AssertionSigner::from_key(&demo::backend_key(), demo::backend_kid(), None).unwrap();
    let assertion = signer
        .sign(
            &client_id(demo::BACKEND_CLIENT_ID),
            &TokenUrl::parse(sandbox.token_url()).unwrap(),
        )
        .unwrap();
    assert_eq!(
        backend_with(&sandbox, assertion.expose_secret()).status,
        200
    );
    let again = backend_with(&sandbox, assertion.expose_secret());
    assert_eq!(again.oauth_error(401), "invalid_client");
    assert!(String::from_utf8_lossy(&again.body).contains("jti"));
}

#[test]
fn assertion_for_another_token_url_is_refused() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let elsewhere = TokenUrl::parse("https://ehr.example/token").unwrap();
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&elsewhere, &backend_auth())
        .unwrap();
    let (parts, body) = request.into_parts();
    let mut request = http::Request::from_parts(parts, body);
    *request.uri_mut() = sandbox.token_url().parse().unwrap();
    assert_eq!(send(&agent, request).oauth_error(401), "invalid_client");
}

#[test]
fn wrong_key_in_the_code_flow() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let (code, request) = authorize(
        &agent,
        &sandbox,
        demo::ASYMMETRIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let impostor = key_auth(
        demo::ASYMMETRIC_CLIENT_ID,
        &PrivateKey::generate_p384().unwrap(),
        demo::asymmetric_kid(),
    );
    let answer = exchange(&agent, &sandbox, &impostor, &code, &request.verifier);
    assert_eq!(answer.oauth_error(401), "invalid_client");
    // The jwks_uri client too.
    let (code, request) = authorize(
        &agent,
        &sandbox,
        demo::ASYMMETRIC_JKU_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let impostor = key_auth(
        demo::ASYMMETRIC_JKU_CLIENT_ID,
        &PrivateKey::generate_p384().unwrap(),
        demo::asymmetric_kid(),
    );
    let answer = exchange(&agent, &sandbox, &impostor, &code, &request.verifier);
    assert_eq!(answer.oauth_error(401), "invalid_client");
}

#[test]
fn secrets_must_be_right() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let wrong = [
        ClientAuth::client_secret_basic(
            client_id(demo::SYMMETRIC_CLIENT_ID),
            ClientSecret::new("wrong-secret"),
        ),
        ClientAuth::client_secret_basic(
            client_id(demo::SYMMETRIC_CLIENT_ID),
            ClientSecret::new(&demo::SYMMETRIC_CLIENT_SECRET[1..]),
        ),
        ClientAuth::client_secret_post(
            client_id(demo::SYMMETRIC_CLIENT_ID),
            ClientSecret::new("wrong-secret"),
        ),
        // A confidential client cannot pass as public.
        ClientAuth::public(client_id(demo::SYMMETRIC_CLIENT_ID)),
        ClientAuth::public(client_id(demo::ASYMMETRIC_CLIENT_ID)),
        // A public client has no secret.
        ClientAuth::client_secret_basic(client_id(demo::PUBLIC_CLIENT_ID), ClientSecret::new("x")),
        ClientAuth::public(client_id("no-such-client")),
    ];
    for auth in &wrong {
        let (code, request) = authorize(
            &agent,
            &sandbox,
            demo::SYMMETRIC_CLIENT_ID,
            PATIENT_SCOPES,
            None,
        );
        let answer = exchange(&agent, &sandbox, auth, &code, &request.verifier);
        assert_eq!(answer.oauth_error(401), "invalid_client", "{auth:?}");
        let basic = auth.method() == smart_token::AuthMethod::ClientSecretBasic;
        assert_eq!(
            answer.header("www-authenticate").is_some(),
            basic,
            "WWW-Authenticate when Basic was tried: {auth:?}"
        );
    }
    // The asymmetric client cannot use a secret either.
    let answer = post_form(
        &agent,
        &sandbox.token_url(),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "system/*.rs"),
        ],
        Some(&format!(
            "Basic {}",
            Base64::encode_string(format!("{}:x", demo::BACKEND_CLIENT_ID).as_bytes())
        )),
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
    // Malformed Basic credentials.
    for header in ["Basic !!!", "Basic bm9jb2xvbg=="] {
        let answer = post_form(
            &agent,
            &sandbox.token_url(),
            &[("grant_type", "refresh_token"), ("refresh_token", "x")],
            Some(header),
        );
        assert_eq!(answer.oauth_error(401), "invalid_client", "{header}");
    }
    // No authentication at all: a public client may refresh so (RFC 6749 section 6), but
    // this refresh token is unknown.
    let answer = post_form(
        &agent,
        &sandbox.token_url(),
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        None,
    );
    assert_eq!(answer.oauth_error(400), "invalid_grant");
    // Any other grant without authentication is still invalid_client.
    let answer = post_form(
        &agent,
        &sandbox.token_url(),
        &[("grant_type", "authorization_code"), ("code", "x")],
        None,
    );
    assert_eq!(answer.oauth_error(401), "invalid_client");
}

#[test]
fn two_authentication_methods_at_once_are_refused() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let basic = format!(
        "Basic {}",
        Base64::encode_string(
            format!(
                "{}:{}",
                demo::SYMMETRIC_CLIENT_ID,
                demo::SYMMETRIC_CLIENT_SECRET
            )
            .as_bytes()
        )
    );
    let answer = post_form(
        &agent,
        &sandbox.token_url(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", demo::SYMMETRIC_CLIENT_ID),
            ("client_secret", demo::SYMMETRIC_CLIENT_SECRET),
        ],
        Some(&basic),
    );
    assert_eq!(answer.oauth_error(400), "invalid_request");
    // Basic with a different client_id in the body.
    let answer = post_form(
        &agent,
        &sandbox.token_url(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", demo::PUBLIC_CLIENT_ID),
        ],
        Some(&basic),
    );
    assert_eq!(answer.oauth_error(400), "invalid_request");
    // Basic with the same client_id in the body is tolerated; the token is what's wrong here.
    let answer = post_form(
        &agent,
        &sandbox.token_url(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", demo::SYMMETRIC_CLIENT_ID),
        ],
        Some(&basic),
    );
    assert_eq!(answer.oauth_error(400), "invalid_grant");
}

#[test]
fn a_symmetric_client_uses_the_method_it_registered() {
    let file = json!({"clients": [
        {"client_id": "file-post", "token_endpoint_auth_method": "client_secret_post",
         "client_secret": demo::SYMMETRIC_CLIENT_SECRET,
         "redirect_uris": [demo::REDIRECT_URI]}
    ]});
    let sandbox = Sandbox::start_with(
        SandboxConfig::new()
            .client(RegisteredClient::confidential_symmetric_post(
                "code-post",
                demo::SYMMETRIC_CLIENT_SECRET,
                vec![demo::REDIRECT_URI.into()],
            ))
            .clients_from_json(&file.to_string())
            .unwrap(),
    )
    .unwrap();
    let agent = agent();
    let secret = || ClientSecret::new(demo::SYMMETRIC_CLIENT_SECRET);
    let basic = |id: &str| ClientAuth::client_secret_basic(client_id(id), secret());
    let post = |id: &str| ClientAuth::client_secret_post(client_id(id), secret());
    // (client, the method it registered, its own auth, the other method with the right secret)
    let cases = [
        (
            demo::SYMMETRIC_CLIENT_ID,
            "client_secret_basic",
            basic(demo::SYMMETRIC_CLIENT_ID),
            post(demo::SYMMETRIC_CLIENT_ID),
        ),
        (
            demo::SYMMETRIC_CLIENT_ID,
            "client_secret_basic",
            basic(demo::SYMMETRIC_CLIENT_ID).with_rfc6749_basic_encoding(),
            post(demo::SYMMETRIC_CLIENT_ID),
        ),
        (
            "code-post",
            "client_secret_post",
            post("code-post"),
            basic("code-post"),
        ),
        (
            "code-post",
            "client_secret_post",
            post("code-post"),
            basic("code-post").with_rfc6749_basic_encoding(),
        ),
        (
            "file-post",
            "client_secret_post",
            post("file-post"),
            basic("file-post"),
        ),
    ];
    for (id, registered, own, other) in &cases {
        // The other method is refused, though the secret is right, and says which to use.
        let (code, request) = authorize(&agent, &sandbox, id, PATIENT_SCOPES, None);
        let answer = exchange(&agent, &sandbox, other, &code, &request.verifier);
        assert_eq!(answer.oauth_error(401), "invalid_client", "{other:?}");
        let description = answer.json()["error_description"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            description.contains(&format!(
                "registered token_endpoint_auth_method {registered}"
            )),
            "{description}"
        );
        assert!(!description.contains(demo::SYMMETRIC_CLIENT_SECRET));
        let basic_tried = other.method() == smart_token::AuthMethod::ClientSecretBasic;
        assert_eq!(
            answer.header("www-authenticate").is_some(),
            basic_tried,
            "{other:?}"
        );
        // Client authentication is checked before the code is looked up, so the refused
        // attempt left the code unused: the registered method redeems it.
        let token = exchange(&agent, &sandbox, own, &code, &request.verifier).token();
        // At every grant: a refresh by the other method is refused, by its own accepted.
        let refresh = token.refresh_token().unwrap();
        let request = TokenRequest::refresh_token(refresh, None)
            .build(&crate::token_url(&sandbox), other)
            .unwrap();
        assert_eq!(send(&agent, request).oauth_error(401), "invalid_client");
        let request = TokenRequest::refresh_token(refresh, None)
            .build(&crate::token_url(&sandbox), own)
            .unwrap();
        assert_eq!(send(&agent, request).status, 200, "{own:?}");
    }
}

#[test]
fn a_wrong_secret_does_not_disclose_the_registered_method() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let wrong = ClientAuth::client_secret_post(
        client_id(demo::SYMMETRIC_CLIENT_ID),
        ClientSecret::new("wrong-secret"),
    );
    let (code, request) = authorize(
        &agent,
        &sandbox,
        demo::SYMMETRIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let answer = exchange(&agent, &sandbox, &wrong, &code, &request.verifier);
    assert_eq!(answer.oauth_error(401), "invalid_client");
    assert!(
        !answer.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("client_secret_basic")
    );
    // Nor does client_id alone, with no secret at all.
    let bare = ClientAuth::public(client_id(demo::SYMMETRIC_CLIENT_ID));
    let answer = exchange(&agent, &sandbox, &bare, &code, &request.verifier);
    assert_eq!(answer.oauth_error(401), "invalid_client");
    let description = answer.json()["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(description.contains("client_id alone"), "{description}");
    assert!(!description.contains("client_secret"), "{description}");
}

#[test]
fn a_jku_is_accepted_only_as_the_registered_jwks_uri() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let id = demo::ASYMMETRIC_JKU_CLIENT_ID;
    let registered = format!("{}{}", sandbox.base_url(), demo::CLIENT_JWKS_PATH);
    let elsewhere = format!("{}/jwks", sandbox.base_url());
    for (jku, accepted) in [
        (Some(registered.as_str()), true),
        (None, true),
        (Some(elsewhere.as_str()), false),
        (Some("https://attacker.example/jwks"), false),
    ] {
        let (code, request) = authorize(&agent, &sandbox, id, PATIENT_SCOPES, None);
        let signed = assertion(
            &sandbox,
            &demo::asymmetric_key(),
            &[
                ("kid", json!(demo::asymmetric_kid())),
                ("jku", jku.map_or(Value::Null, |jku| json!(jku))),
            ],
            &[("iss", json!(id)), ("sub", json!(id))],
        );
        let answer = post_form(
            &agent,
            &sandbox.token_url(),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", demo::REDIRECT_URI),
                ("code_verifier", request.verifier.expose_secret()),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", &signed),
            ],
            None,
        );
        if accepted {
            assert_eq!(answer.status, 200, "{jku:?}: {:?}", answer.json());
        } else {
            assert_eq!(answer.oauth_error(401), "invalid_client", "{jku:?}");
        }
    }
}
