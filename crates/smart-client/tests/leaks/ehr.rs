//! The loopback server of the leak tests: a SMART server that issues the known secrets, or
//! answers every call with one kind of error.

use std::net::SocketAddr;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};
use smart_client::jwt::{Algorithm, PrivateKey, sign_compact};

use crate::needles::{
    ACCESS_TOKEN, ID_TOKEN, REFRESH_TOKEN, REGISTERED_SECRET, REGISTRATION_TOKEN,
};
use crate::server::{Answer, Server};

pub(crate) const WELL_KNOWN: &str = "/fhir/.well-known/smart-configuration";
const OPENID: &str = "/fhir/.well-known/openid-configuration";
const SERVER_KID: &str = "server-key";

/// The key the server signs `id_token`s with.
static SERVER_KEY: LazyLock<PrivateKey> = LazyLock::new(|| PrivateKey::generate_p384().unwrap());

/// An `id_token` for `CLIENT_ID` from the server at `root`, valid now, with `nonce`.
pub(crate) fn signed_id_token(root: &str, nonce: &str) -> String {
    let now = smart_client::core::unix_seconds(std::time::SystemTime::now());
    let object = |value: Value| -> Map<String, Value> { value.as_object().unwrap().clone() };
    let header = object(json!({"typ": "JWT", "kid": SERVER_KID}));
    let claims = object(json!({
        "iss": format!("{root}/fhir"),
        "sub": "user-1",
        "aud": crate::needles::CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": nonce,
        "fhirUser": "Practitioner/1"
    }));
    let signer = SERVER_KEY.signer(Some(Algorithm::Es384)).unwrap();
    sign_compact(&header, &claims, &signer).unwrap()
}

/// How the token, introspection, revocation, registration and FHIR endpoints answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Everything works and returns the known secrets.
    Good,
    /// OAuth error responses (400/401 with `error`), a 401 from the FHIR server.
    OAuthErrors,
    /// 200s whose bodies are cut-off JSON full of the secrets.
    Malformed,
    /// 200s that hold the secrets but lack the field the client needs.
    MissingFields,
    /// 200s with every secret twice under the same key.
    DuplicateKeys,
    /// A token answer with an unsupported `token_type`, and an access token with a control
    /// character in it.
    OddTokens,
}

/// Starts a server in `mode`; discovery always works.
pub(crate) fn start(mode: Mode) -> Server {
    Server::start(move |path, own| route(mode, path, own))
}

fn route(mode: Mode, path: &str, own: SocketAddr) -> Answer {
    let root = format!("http://{own}");
    if path == WELL_KNOWN {
        return Answer::json(200, document(&root));
    }
    let token = json!({
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "launch/patient patient/*.rs openid fhirUser offline_access",
        "refresh_token": REFRESH_TOKEN,
        "id_token": ID_TOKEN,
        "patient": "p1"
    });
    if mode == Mode::Good && path == OPENID {
        return Answer::json(
            200,
            json!({
                "issuer": format!("{root}/fhir"),
                "jwks_uri": format!("{root}/jwks"),
                "authorization_endpoint": format!("{root}/authorize"),
                "token_endpoint": format!("{root}/token"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES384"]
            })
            .to_string(),
        );
    }
    if mode == Mode::Good && path == "/jwks" {
        return Answer::json(200, SERVER_KEY.public_jwk_set(Some(SERVER_KID)).to_json());
    }
    if path == "/fhir/Patient/p1" {
        return match mode {
            Mode::Good | Mode::MissingFields | Mode::OddTokens => {
                Answer::json(200, r#"{"resourceType": "Patient", "id": "p1"}"#)
            }
            Mode::OAuthErrors => Answer::json(401, r#"{"error": "invalid_token"}"#),
            Mode::Malformed | Mode::DuplicateKeys => route(mode, "/token", own),
        };
    }
    match (mode, path) {
        (Mode::Good, "/token") => Answer::json(200, token.to_string()),
        (Mode::Good, "/introspect") => Answer::json(
            200,
            json!({"active": true, "client_id": "leak-test-app", "scope": "patient/*.rs", "exp": 1_900_000_000_u64})
                .to_string(),
        ),
        (Mode::Good, "/revoke") => Answer::body(200, "text/plain", ""),
        (Mode::Good, "/register") => Answer::json(
            201,
            json!({
                "client_id": "registered-app",
                "client_secret": REGISTERED_SECRET,
                "registration_access_token": REGISTRATION_TOKEN,
                "client_id_issued_at": 1_700_000_000_u64,
                "client_secret_expires_at": 0,
                "redirect_uris": ["https://app.example/callback"]
            })
            .to_string(),
        ),
        (Mode::OAuthErrors, "/register") => Answer::json(
            400,
            r#"{"error": "invalid_client_metadata", "error_description": "redirect_uris is required"}"#,
        ),
        (Mode::OAuthErrors, _) => Answer::json(
            400,
            r#"{"error": "invalid_grant", "error_description": "the grant was already used", "error_uri": "https://ehr.example/errors/invalid_grant"}"#,
        ),
        (Mode::Malformed, _) => {
            let text = token.to_string();
            Answer::json(200, &text[..text.len() - 10])
        }
        (Mode::MissingFields, _) => Answer::json(
            200,
            json!({
                "refresh_token": REFRESH_TOKEN,
                "id_token": ID_TOKEN,
                "client_secret": REGISTERED_SECRET,
                "token_type": "Bearer"
            })
            .to_string(),
        ),
        (Mode::DuplicateKeys, _) => Answer::json(
            200,
            format!(
                r#"{{"access_token": "{ACCESS_TOKEN}", "refresh_token": "{REFRESH_TOKEN}", "refresh_token": "{REFRESH_TOKEN}", "access_token": "{ACCESS_TOKEN}"}}"#
            ),
        ),
        (Mode::OddTokens, "/refresh-control") => Answer::json(
            200,
            json!({"access_token": format!("{ACCESS_TOKEN}\u{7}"), "token_type": "Bearer"}).to_string(),
        ),
        (Mode::OddTokens, _) => Answer::json(
            200,
            json!({"access_token": ACCESS_TOKEN, "token_type": "MAC", "refresh_token": REFRESH_TOKEN})
                .to_string(),
        ),
        _ => Answer::json(404, "{}"),
    }
}

/// A discovery document whose endpoints all point at `root`.
fn document(root: &str) -> String {
    json!({
        "issuer": format!("{root}/fhir"),
        "jwks_uri": format!("{root}/jwks"),
        "authorization_endpoint": format!("{root}/authorize"),
        "token_endpoint": format!("{root}/token"),
        "introspection_endpoint": format!("{root}/introspect"),
        "revocation_endpoint": format!("{root}/revoke"),
        "registration_endpoint": format!("{root}/register"),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES384", "RS384"],
        "scopes_supported": ["openid", "fhirUser", "launch/patient", "patient/*.rs", "system/*.rs", "offline_access"],
        "response_types_supported": ["code"],
        "capabilities": ["launch-ehr", "launch-standalone", "authorize-post", "client-public",
            "client-confidential-symmetric", "client-confidential-asymmetric", "sso-openid-connect"],
        "code_challenge_methods_supported": ["S256"]
    })
    .to_string()
}
