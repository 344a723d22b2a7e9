//! `id_token` verification: issuer discovery, keys, rotation, claims.

use base64ct::Encoding as _;
use serde_json::{Map, Value, json};
use smart_client::{ClientError, ClientType, IdTokenProblem};
use smart_jwt_assertion::{Algorithm, PrivateKey, sign_compact};
use smart_token::IdToken;

use crate::{CLIENT_ID, Ehr};
use test_support::both_shells;

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn sign(key: &PrivateKey, kid: &str, claims: &Value) -> IdToken {
    let header = object(&json!({"typ": "JWT", "kid": kid}));
    let signer = key.signer(Some(Algorithm::Es384)).unwrap();
    IdToken::new(sign_compact(&header, &object(claims), &signer).unwrap())
}

fn now() -> u64 {
    smart_core::unix_seconds(std::time::SystemTime::now())
}

fn serve_identity(
    ehr: &mut Ehr,
    keys: &[(&PrivateKey, &str)],
    expect_jwks: usize,
) -> mockito::Mock {
    let root = ehr.server.url();
    ehr.server
        .mock("GET", "/auth/.well-known/openid-configuration")
        .with_body(
            json!({
                "issuer": format!("{root}/auth"),
                "jwks_uri": format!("{root}/auth/jwks"),
                "authorization_endpoint": format!("{root}/auth/authorize"),
                "token_endpoint": format!("{root}/auth/token"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES384"]
            })
            .to_string(),
        )
        .create();
    let jwks: Vec<Value> = keys
        .iter()
        .map(|(key, kid)| serde_json::to_value(key.public_jwk(Some(kid))).unwrap())
        .collect();
    ehr.server
        .mock("GET", "/auth/jwks")
        .with_body(json!({"keys": jwks}).to_string())
        .expect(expect_jwks)
        .create()
}

fn claims(ehr: &Ehr) -> Value {
    json!({
        "iss": format!("{}/auth", ehr.server.url()),
        "sub": "user-1",
        "aud": CLIENT_ID,
        "iat": now(),
        "exp": now() + 300,
        "nonce": "n-1",
        "fhirUser": "Practitioner/7"
    })
}

both_shells! {
fn a_good_id_token_verifies_and_names_the_user() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let key = PrivateKey::generate_p384().unwrap();
    let jwks = serve_identity(&mut ehr, &[(&key, "id-key")], 1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    let token = sign(&key, "id-key", &claims(&ehr));
    let verified = client.verify_id_token(&token, Some("n-1")).unwrap();
    assert_eq!(verified.subject(), Some("user-1"));
    assert_eq!(
        verified
            .fhir_user_url(client.config().base_url())
            .unwrap()
            .as_str(),
        format!("{}/Practitioner/7", ehr.base())
    );
    // The keys are cached: a second verification fetches nothing.
    client.verify_id_token(&token, None).unwrap();
    jwks.assert();
}
}

both_shells! {
fn forged_and_foreign_tokens_are_refused() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let key = PrivateKey::generate_p384().unwrap();
    let attacker = PrivateKey::generate_p384().unwrap();
    serve_identity(&mut ehr, &[(&key, "id-key")], 1);
    let client = ehr.client(ehr.config(), ClientType::Public);

    // Signed by another key under the right kid.
    let forged = sign(&attacker, "id-key", &claims(&ehr));
    let err = client.verify_id_token(&forged, Some("n-1")).unwrap_err();
    assert!(
        matches!(err, ClientError::IdToken(IdTokenProblem::Signature(_))),
        "{err:?}"
    );

    let mut wrong = claims(&ehr);
    wrong["aud"] = "someone-else".into();
    let err = client
        .verify_id_token(&sign(&key, "id-key", &wrong), None)
        .unwrap_err();
    assert!(
        matches!(err, ClientError::IdToken(IdTokenProblem::AudienceMismatch)),
        "{err:?}"
    );

    let mut other_issuer = claims(&ehr);
    other_issuer["iss"] = "https://evil.example".into();
    let err = client
        .verify_id_token(&sign(&key, "id-key", &other_issuer), None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::IdToken(IdTokenProblem::IssuerMismatch { .. })
        ),
        "{err:?}"
    );

    let err = client
        .verify_id_token(&sign(&key, "id-key", &claims(&ehr)), Some("other-nonce"))
        .unwrap_err();
    assert!(
        matches!(err, ClientError::IdToken(IdTokenProblem::NonceMismatch)),
        "{err:?}"
    );

    let mut expired = claims(&ehr);
    expired["exp"] = (now() - 3600).into();
    let err = client
        .verify_id_token(&sign(&key, "id-key", &expired), None)
        .unwrap_err();
    assert!(
        matches!(err, ClientError::IdToken(IdTokenProblem::Expired)),
        "{err:?}"
    );

    // alg none.
    let unsigned = IdToken::new(format!(
        "eyJhbGciOiJub25lIn0.{}.",
        base64ct::Base64UrlUnpadded::encode_string(claims(&ehr).to_string().as_bytes())
    ));
    let err = client.verify_id_token(&unsigned, None).unwrap_err();
    assert!(
        matches!(err, ClientError::IdToken(IdTokenProblem::Signature(_))),
        "{err:?}"
    );
}
}

both_shells! {
fn rotated_keys_are_fetched_again_once() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let old = PrivateKey::generate_p384().unwrap();
    let new = PrivateKey::generate_p384().unwrap();
    let first = serve_identity(&mut ehr, &[(&old, "old")], 1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    client
        .verify_id_token(&sign(&old, "old", &claims(&ehr)), None)
        .unwrap();
    first.assert();
    first.remove();
    let second = serve_identity(&mut ehr, &[(&old, "old"), (&new, "new")], 1);
    client
        .verify_id_token(&sign(&new, "new", &claims(&ehr)), None)
        .unwrap();
    second.assert();
}
}

both_shells! {
fn a_refreshed_id_token_is_verified_and_a_wider_grant_reported() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let key = PrivateKey::generate_p384().unwrap();
    let attacker = PrivateKey::generate_p384().unwrap();
    serve_identity(&mut ehr, &[(&key, "id-key")], 1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    let answer = |id_token: &IdToken, scope: &str| {
        json!({
            "access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "scope": scope,
            "id_token": id_token.expose_secret()
        })
        .to_string()
    };
    // No nonce in a refreshed id_token (OpenID Connect Core 12.2): none is expected.
    let mut refreshed_claims = claims(&ehr);
    refreshed_claims
        .as_object_mut()
        .unwrap()
        .remove("nonce");
    let good = sign(&key, "id-key", &refreshed_claims);
    let narrower = smart_token::scope::ScopeSet::parse("patient/Patient.rs").unwrap();
    let wider = ehr
        .server
        .mock("POST", "/auth/token")
        .with_body(answer(&good, "patient/Patient.rs patient/Observation.rs"))
        .expect(1)
        .create();
    let token = client
        .refresh(&smart_token::RefreshToken::new("rt-0"), Some(&narrower))
        .unwrap();
    wider.assert();
    assert!(
        token.deviations().iter().any(|deviation| matches!(
            deviation,
            smart_token::Deviation::ScopeBeyondRequest { scopes }
                if scopes == &["patient/Observation.rs".to_owned()]
        )),
        "{:?}",
        token.deviations()
    );

    let forged = sign(&attacker, "id-key", &refreshed_claims);
    ehr.server
        .mock("POST", "/auth/token")
        .with_body(answer(&forged, "patient/Patient.rs"))
        .create();
    // The refresh itself succeeded (its tokens must not be lost): the forged id_token is
    // removed and the reason reported.
    let token = client
        .refresh(&smart_token::RefreshToken::new("rt-0"), None)
        .unwrap();
    assert!(token.id_token().is_none(), "an unverified id_token is never handed out");
    assert_eq!(token.access_token().expose_secret(), "at-1");
    assert!(
        token.deviations().iter().any(|deviation| matches!(
            deviation,
            smart_token::Deviation::IdTokenRefused { reason } if reason.contains("cannot be verified")
        )),
        "{:?}",
        token.deviations()
    );
}
}

both_shells! {
fn a_refreshed_id_token_must_continue_the_original_sign_in() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let key = PrivateKey::generate_p384().unwrap();
    serve_identity(&mut ehr, &[(&key, "id-key")], 1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    let original = client
        .verify_id_token(&sign(&key, "id-key", &claims(&ehr)), Some("n-1"))
        .unwrap();
    let refresh = smart_token::RefreshToken::new("rt-0");
    // (what changes, whether the refreshed id_token is kept)
    let cases: [(&str, Value, bool); 6] = [
        ("no nonce", Value::Null, true),
        ("the same nonce", json!("n-1"), true),
        ("the same audience as a list", json!([CLIENT_ID]), true),
        ("another nonce", json!("n-2"), false),
        ("another user", json!("user-2"), false),
        ("another audience too", json!([CLIENT_ID, "other-app"]), false),
    ];
    for (case, value, kept) in cases {
        let mut refreshed = claims(&ehr);
        let fields = refreshed.as_object_mut().unwrap();
        match case {
            "no nonce" => drop(fields.remove("nonce")),
            "another user" => drop(fields.insert("sub".into(), value)),
            "the same audience as a list" => drop(fields.insert("aud".into(), value)),
            "another audience too" => {
                fields.insert("aud".into(), value);
                fields.insert("azp".into(), json!(CLIENT_ID));
            }
            _ => drop(fields.insert("nonce".into(), value)),
        }
        let id_token = sign(&key, "id-key", &refreshed);
        let mock = ehr
            .server
            .mock("POST", "/auth/token")
            .with_body(
                json!({
                    "access_token": "at-2", "token_type": "Bearer", "expires_in": 300,
                    "scope": "openid", "refresh_token": "rt-1",
                    "id_token": id_token.expose_secret()
                })
                .to_string(),
            )
            .expect(1)
            .create();
        let token = client.refresh_signed_in(&refresh, None, &original).unwrap();
        mock.assert();
        mock.remove();
        assert_eq!(token.id_token().is_some(), kept, "{case}");
        // The refreshed tokens are kept either way.
        assert_eq!(token.refresh_token().unwrap().expose_secret(), "rt-1", "{case}");
        if !kept {
            let reasons: Vec<String> = token.deviations().iter().map(ToString::to_string).collect();
            assert!(
                reasons.iter().any(|reason| reason.contains("not the original id_token's")),
                "{case}: {reasons:?}"
            );
            assert!(!reasons.iter().any(|r| r.contains("user-2") || r.contains("n-2")), "{reasons:?}");
        }
    }
}
}
