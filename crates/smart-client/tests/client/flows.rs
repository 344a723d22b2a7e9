//! Every flow for every client type, checking the exact method, URL, headers and form fields
//! (the table of SAFIRE.md §1.9).

use std::sync::{Arc, Mutex};

use base64ct::{Base64, Encoding};
use mockito::Matcher;
use serde_json::json;
use smart_client::{
    AuthorizeMethod, AuthorizeOptions, ClientError, ClientType, IntrospectWith, SecretMethod,
};
use smart_core::url::Url;
use smart_jwt_assertion::{Algorithm, JwkSet, PrivateKey, verify_compact};
use smart_token::{AccessToken, ClientSecret, RefreshToken, TokenRef};

use crate::{CLIENT_ID, Ehr, REDIRECT_URI, SECRET, form_exactly, token_body};
use test_support::both_shells;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn query(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    let found = pairs.iter().find(|(n, _)| n == name);
    assert!(found.is_some(), "no {name} in {pairs:?}");
    found.map_or("", |(_, v)| v.as_str())
}

/// A matcher that verifies the posted client assertion and records its jti.
fn assertion_matcher(
    key: &PrivateKey,
    kid: &str,
    audience: String,
    jtis: Arc<Mutex<Vec<String>>>,
) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
    let jwks = JwkSet::from(key.public_jwk(Some(kid)));
    move |request: &mockito::Request| {
        let body = request.utf8_lossy_body().unwrap().into_owned();
        let fields = smart_client::core::form::decode(body.as_bytes());
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        if get("client_assertion_type").as_deref() != Some(ASSERTION_TYPE)
            || get("client_id").is_some()
        {
            return false;
        }
        if request.has_header("authorization") {
            return false;
        }
        let Some(assertion) = get("client_assertion") else {
            return false;
        };
        let Ok(verified) = verify_compact(&assertion, &jwks, &[Algorithm::Es384]) else {
            return false;
        };
        let claims = verified.claims();
        let ok = claims["iss"] == CLIENT_ID
            && claims["sub"] == CLIENT_ID
            && claims["aud"] == audience.as_str()
            && claims["exp"]
                .as_u64()
                .zip(claims["iat"].as_u64())
                .is_some_and(|(exp, iat)| exp > iat && exp - iat <= 300)
            && verified.header()["typ"] == "JWT";
        if ok {
            jtis.lock()
                .unwrap()
                .push(claims["jti"].as_str().unwrap_or_default().to_owned());
        }
        ok
    }
}

both_shells! {
fn authorization_url_has_every_parameter_and_keeps_the_endpoint_query() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    let request = client
        .authorize(
            AuthorizeOptions::new()
                .launch("launch-123")
                .param("nonce", "n-1")
                .unwrap(),
        )
        .unwrap();
    assert_eq!(request.method(), AuthorizeMethod::Get);
    let url = request.url();
    assert_eq!(url.path(), "/auth/authorize");
    let pairs = query(url);
    let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "tenant",
            "response_type",
            "client_id",
            "redirect_uri",
            "aud",
            "code_challenge_method",
            "scope",
            "launch",
            "state",
            "code_challenge",
            "nonce"
        ]
    );
    assert_eq!(
        param(&pairs, "tenant"),
        "t1",
        "the endpoint's own query is kept"
    );
    assert_eq!(param(&pairs, "response_type"), "code");
    assert_eq!(param(&pairs, "client_id"), CLIENT_ID);
    assert_eq!(param(&pairs, "redirect_uri"), REDIRECT_URI);
    assert_eq!(param(&pairs, "launch"), "launch-123");
    assert_eq!(
        param(&pairs, "scope"),
        "launch/patient patient/*.rs openid fhirUser offline_access launch",
        "an EHR launch adds the launch scope"
    );
    assert_eq!(param(&pairs, "nonce"), "n-1", "the caller's nonce is kept");
    assert_eq!(request.pending().nonce(), Some("n-1"));
    assert_eq!(param(&pairs, "aud"), ehr.base());
    assert_eq!(param(&pairs, "code_challenge_method"), "S256");
    let pending = request.pending();
    assert_eq!(param(&pairs, "state"), pending.state().expose_secret());
    assert_eq!(param(&pairs, "state").len(), 32);
    assert_eq!(
        param(&pairs, "code_challenge"),
        pending.verifier().challenge().as_str()
    );
    assert_eq!(pending.token_endpoint().unwrap().as_str(), ehr.token_url());
    // Fresh state and verifier on every call.
    let again = client.authorize(AuthorizeOptions::new()).unwrap();
    assert!(
        !again
            .pending()
            .state()
            .matches(pending.state().expose_secret())
    );
}
}

both_shells! {
fn post_authorization_returns_the_form() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    let request = client
        .authorize(AuthorizeOptions::new().method(AuthorizeMethod::Post))
        .unwrap();
    assert_eq!(
        request.url().as_str(),
        format!("{}/auth/authorize?tenant=t1", ehr.server.url())
    );
    let names: Vec<&str> = request.form().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "aud",
            "code_challenge_method",
            "scope",
            "state",
            "code_challenge",
            "nonce"
        ]
    );
    // `openid` is requested: a fresh nonce, kept for the id_token check.
    let nonce = &request.form().last().unwrap().1;
    assert!(nonce.len() >= 22, "{nonce}");
    assert_eq!(request.pending().nonce(), Some(nonce.as_str()));
    let html = request.html();
    assert!(html.contains("method=\"post\""));
    assert!(html.contains(request.pending().state().expose_secret()));
}
}

both_shells! {
fn reserved_authorization_parameters_cannot_be_overridden() {
    for name in [
        "state",
        "aud",
        "code_challenge",
        "code_challenge_method",
        "redirect_uri",
    ] {
        assert!(AuthorizeOptions::new().param(name, "x").is_err(), "{name}");
    }
}
}

/// Runs an authorization, then exchanges the code against the mock token endpoint.
fn code_flow(
    ehr: &mut Ehr,
    client: &test_support::Client,
    expected_auth: &dyn Fn(mockito::Mock, &str) -> mockito::Mock,
) {
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let pending = request.into_pending();
    let verifier = pending.verifier().expose_secret().to_owned();
    let state = pending.state().expose_secret().to_owned();
    let mock = ehr
        .server
        .mock("POST", "/auth/token")
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_header("accept", "application/json");
    let mock = expected_auth(mock, &verifier)
        .with_status(200)
        .with_body(token_body())
        .expect(1)
        .create();
    let callback = format!(
        "{REDIRECT_URI}?code=c%2Fode%2B1&state={state}&iss={}/auth",
        ehr.server.url()
    );
    let token = client.complete_authorization(&callback, &pending).unwrap();
    assert_eq!(token.access_token().expose_secret(), "at-1");
    assert_eq!(token.context().patient(), Some("p-1"));
    mock.assert();
}

both_shells! {
fn code_exchange_public() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    code_flow(&mut ehr, &client, &|mock, verifier| {
        mock.match_header("authorization", Matcher::Missing)
            .match_request(form_exactly(&[
                ("grant_type", "authorization_code"),
                ("code", "c/ode+1"),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
                ("client_id", CLIENT_ID),
            ]))
    });
}
}

both_shells! {
fn code_exchange_symmetric_basic_raw() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let client = ehr.client(
        ehr.config().client_secret(ClientSecret::new(SECRET)),
        ClientType::ConfidentialSymmetric,
    );
    let basic = format!(
        "Basic {}",
        Base64::encode_string(format!("{CLIENT_ID}:{SECRET}").as_bytes())
    );
    code_flow(&mut ehr, &client, &|mock, verifier| {
        mock.match_header("authorization", basic.as_str())
            .match_request(form_exactly(&[
                ("grant_type", "authorization_code"),
                ("code", "c/ode+1"),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ]))
    });
}
}

both_shells! {
fn code_exchange_symmetric_post() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let client = ehr.client(
        ehr.config()
            .client_secret(ClientSecret::new(SECRET))
            .secret_method(SecretMethod::Post),
        ClientType::ConfidentialSymmetric,
    );
    code_flow(&mut ehr, &client, &|mock, verifier| {
        mock.match_header("authorization", Matcher::Missing)
            .match_request(form_exactly(&[
                ("grant_type", "authorization_code"),
                ("code", "c/ode+1"),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
            ]))
    });
}
}

both_shells! {
fn code_exchange_asymmetric() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let key = crate::es384_key();
    let kid = "kid-1";
    let jtis = Arc::new(Mutex::new(Vec::new()));
    let matcher = Arc::new(assertion_matcher(
        &key,
        kid,
        ehr.token_url(),
        Arc::clone(&jtis),
    ));
    let client = ehr.client(
        ehr.config().private_key(key).kid(kid),
        ClientType::ConfidentialAsymmetric,
    );
    code_flow(&mut ehr, &client, &|mock, verifier| {
        let matcher = Arc::clone(&matcher);
        let verifier = verifier.to_owned();
        mock.match_request(move |request| {
            let body = request.utf8_lossy_body().unwrap().into_owned();
            let fields = smart_client::core::form::decode(body.as_bytes());
            let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
            names
                == [
                    "grant_type",
                    "code",
                    "redirect_uri",
                    "code_verifier",
                    "client_assertion_type",
                    "client_assertion",
                ]
                && fields[3].1 == verifier
                && matcher(request)
        })
    });
    assert_eq!(jtis.lock().unwrap().len(), 1);
}
}

both_shells! {
fn refresh_for_every_client_type_and_fresh_assertions() {
    let key = crate::es384_key();
    let kid = "kid-2";
    let jtis = Arc::new(Mutex::new(Vec::new()));
    let mut ehr = Ehr::new();
    ehr.serve_discovery(3);
    let basic = format!(
        "Basic {}",
        Base64::encode_string(format!("{CLIENT_ID}:{SECRET}").as_bytes())
    );

    let public = ehr
        .server
        .mock("POST", "/auth/token")
        .match_header("authorization", Matcher::Missing)
        .match_request(form_exactly(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-0"),
            ("client_id", CLIENT_ID),
        ]))
        .with_body(token_body())
        .expect(1)
        .create();
    let symmetric = ehr
        .server
        .mock("POST", "/auth/token")
        .match_header("authorization", basic.as_str())
        .match_request(form_exactly(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-0"),
        ]))
        .with_body(token_body())
        .expect(1)
        .create();
    let asymmetric = ehr
        .server
        .mock("POST", "/auth/token")
        .match_request(assertion_matcher(
            &key,
            kid,
            ehr.token_url(),
            Arc::clone(&jtis),
        ))
        .with_body(json!({"access_token": "at-2", "token_type": "bearer"}).to_string())
        .expect(2)
        .create();

    let refresh = RefreshToken::new("rt-0");
    ehr.client(ehr.config(), ClientType::Public)
        .refresh(&refresh, None)
        .unwrap();
    ehr.client(
        ehr.config().client_secret(ClientSecret::new(SECRET)),
        ClientType::ConfidentialSymmetric,
    )
    .refresh(&refresh, None)
    .unwrap();
    let client = ehr.client(
        ehr.config().private_key(key).kid(kid),
        ClientType::ConfidentialAsymmetric,
    );
    let first = client.refresh(&refresh, None).unwrap();
    // No refresh token came back: the old one is kept.
    assert_eq!(first.refresh_token().unwrap().expose_secret(), "rt-0");
    client.refresh(&refresh, None).unwrap();
    public.assert();
    symmetric.assert();
    asymmetric.assert();
    let jtis = jtis.lock().unwrap();
    assert_eq!(jtis.len(), 2);
    assert_ne!(jtis[0], jtis[1], "every refresh carries a fresh assertion");
}
}

both_shells! {
fn narrower_refresh_scope() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let mock = ehr
        .server
        .mock("POST", "/auth/token")
        .match_request(form_exactly(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-0"),
            ("scope", "patient/Observation.rs"),
            ("client_id", CLIENT_ID),
        ]))
        .with_body(token_body())
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let narrower = "patient/Observation.rs".parse().unwrap();
    client
        .refresh(&RefreshToken::new("rt-0"), Some(&narrower))
        .unwrap();
    mock.assert();
}
}

both_shells! {
fn clones_share_discovery_and_each_type_authenticates_as_built() {
    let mut ehr = Ehr::new();
    let discovery = ehr.serve_discovery(2);
    let public = ehr
        .server
        .mock("POST", "/auth/token")
        .match_header("authorization", Matcher::Missing)
        .match_request(form_exactly(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt"),
            ("client_id", CLIENT_ID),
        ]))
        .with_body(token_body())
        .expect(2)
        .create();
    let symmetric = ehr
        .server
        .mock("POST", "/auth/token")
        .match_header("authorization", basic_raw().as_str())
        .match_request(form_exactly(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt"),
        ]))
        .with_body(token_body())
        .expect(1)
        .create();
    let client = ehr.client(
        ehr.config().client_secret(ClientSecret::new(SECRET)),
        ClientType::Public,
    );
    client.refresh(&RefreshToken::new("rt"), None).unwrap();
    let clone = client.clone();
    clone.refresh(&RefreshToken::new("rt"), None).unwrap();
    public.assert();
    // One SmartFlows, two types: each authenticates as it was built. The symmetric client's
    // own flows discover once more (each SmartFlows has its own cache).
    let confidential = ehr.client(
        ehr.config().client_secret(ClientSecret::new(SECRET)),
        ClientType::ConfidentialSymmetric,
    );
    assert_eq!(
        confidential.client_type(),
        ClientType::ConfidentialSymmetric
    );
    confidential
        .refresh(&RefreshToken::new("rt"), None)
        .unwrap();
    symmetric.assert();
    discovery.assert();
}
}

#[test]
fn a_confidential_client_without_its_credentials_is_refused_when_built() {
    let ehr = Ehr::new();
    let config = ehr.config().build().unwrap();
    let err = smart_client::SmartClient::new(config.clone(), ClientType::ConfidentialSymmetric)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration missing: client_secret (needed to authenticate as a \
         client-confidential-symmetric client)"
    );
    let err =
        smart_client::SmartClient::new(config, ClientType::ConfidentialAsymmetric).unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration missing: private_key (needed to authenticate as a \
         client-confidential-asymmetric client)"
    );
}

/// `Basic base64(client_id:secret)`, raw (what SMART servers expect).
fn basic_raw() -> String {
    format!(
        "Basic {}",
        Base64::encode_string(format!("{CLIENT_ID}:{SECRET}").as_bytes())
    )
}

both_shells! {
fn basic_rfc6749_form_encodes_both_parts_first() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    // SECRET is `s3cr3t:+/=%`: every reserved character is encoded before base64.
    let expected = format!(
        "Basic {}",
        Base64::encode_string(format!("{CLIENT_ID}:s3cr3t%3A%2B%2F%3D%25").as_bytes())
    );
    assert_ne!(expected, basic_raw());
    let mock = ehr
        .server
        .mock("POST", "/auth/token")
        .match_header("authorization", expected.as_str())
        .match_request(form_exactly(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt"),
        ]))
        .with_body(token_body())
        .expect(1)
        .create();
    let client = ehr.client(
        ehr.config()
            .client_secret(ClientSecret::new(SECRET))
            .secret_method(SecretMethod::BasicRfc6749),
        ClientType::ConfidentialSymmetric,
    );
    client.refresh(&RefreshToken::new("rt"), None).unwrap();
    mock.assert();
}
}

both_shells! {
fn jwks_uri_is_the_assertions_jku() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let key = crate::es384_key();
    let jwks = JwkSet::from(key.public_jwk(Some("kid-jku")));
    let headers = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&headers);
    let mock = ehr
        .server
        .mock("POST", "/auth/token")
        .match_request(move |request| {
            let body = request.utf8_lossy_body().unwrap().into_owned();
            let fields = smart_client::core::form::decode(body.as_bytes());
            let Some((_, assertion)) = fields.iter().find(|(n, _)| n == "client_assertion") else {
                return false;
            };
            let Ok(verified) = verify_compact(assertion, &jwks, &[Algorithm::Es384]) else {
                return false;
            };
            seen.lock().unwrap().push(verified.header().clone());
            true
        })
        .with_body(token_body())
        .expect(1)
        .create();
    let client = ehr.client(
        ehr.config()
            .private_key(key)
            .kid("kid-jku")
            .jwks_uri("https://app.example/.well-known/jwks.json"),
        ClientType::ConfidentialAsymmetric,
    );
    client.refresh(&RefreshToken::new("rt"), None).unwrap();
    mock.assert();
    let headers = headers.lock().unwrap();
    assert_eq!(headers.len(), 1);
    assert_eq!(
        headers[0]["jku"], "https://app.example/.well-known/jwks.json",
        "{:?}",
        headers[0]
    );
    assert_eq!(headers[0]["kid"], "kid-jku");
}
}

both_shells! {
fn backend_services() {
    let key = crate::es384_key();
    let kid = "backend-kid";
    let jtis = Arc::new(Mutex::new(Vec::new()));
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let default_scope = ehr
        .server
        .mock("POST", "/auth/token")
        .match_body(Matcher::AllOf(vec![
            Matcher::UrlEncoded("grant_type".into(), "client_credentials".into()),
            Matcher::UrlEncoded("scope".into(), "system/*.rs".into()),
        ]))
        .match_request(assertion_matcher(&key, kid, ehr.token_url(), Arc::clone(&jtis)))
        .with_body(json!({"access_token": "backend-at", "token_type": "bearer", "expires_in": 300, "scope": "system/*.rs"}).to_string())
        .expect(1)
        .create();
    // Backend Services works whatever the client type, and without scopes configured.
    let config = smart_client::ClientConfig::builder(ehr.base())
        .client_id(CLIENT_ID)
        .private_key(key)
        .kid(kid)
        .allow_insecure_localhost(true);
    let client = ehr.client(config, ClientType::Public);
    let token = client.backend_services_token(None).unwrap();
    assert_eq!(token.access_token().expose_secret(), "backend-at");
    assert!(
        token
            .validate(smart_token::Flow::BackendServices)
            .is_valid()
    );
    default_scope.assert();
    assert_eq!(jtis.lock().unwrap().len(), 1);

    let no_key = ehr
        .client(ehr.config(), ClientType::Public)
        .backend_services_token(None)
        .unwrap_err();
    assert_eq!(
        no_key.to_string(),
        "configuration missing: private_key (needed to authenticate to the token endpoint)"
    );
}
}

both_shells! {
fn token_errors_carry_the_oauth_fields() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    ehr.server
        .mock("POST", "/auth/token")
        .with_status(400)
        .with_body(
            json!({"error": "invalid_grant", "error_description": "Code expired"}).to_string(),
        )
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let err = client.refresh(&RefreshToken::new("rt"), None).unwrap_err();
    let ClientError::Token(smart_token::TokenError::OAuth(oauth)) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(oauth.status(), 400);
    assert_eq!(oauth.error(), Some(&smart_token::ErrorCode::InvalidGrant));
    assert!(
        err.to_string()
            .starts_with("token request failed — HTTP 400 — invalid_grant — Code expired")
    );
}
}

both_shells! {
fn introspection_and_revocation() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let basic = format!(
        "Basic {}",
        Base64::encode_string(format!("{CLIENT_ID}:{SECRET}").as_bytes())
    );
    let by_client = ehr
        .server
        .mock("POST", "/auth/introspect")
        .match_header("authorization", basic.as_str())
        .match_request(form_exactly(&[
            ("token", "at-9"),
            ("token_type_hint", "access_token"),
        ]))
        .with_body(
            json!({"active": true, "scope": "patient/*.rs", "client_id": CLIENT_ID}).to_string(),
        )
        .create();
    let by_bearer = ehr
        .server
        .mock("POST", "/auth/introspect")
        .match_header("authorization", "Bearer resource-server-token")
        .with_body(json!({"active": false}).to_string())
        .create();
    let revoke = ehr
        .server
        .mock("POST", "/auth/revoke")
        .match_header("authorization", basic.as_str())
        .match_request(form_exactly(&[
            ("token", "rt-9"),
            ("token_type_hint", "refresh_token"),
        ]))
        .with_status(200)
        .create();
    let client = ehr.client(
        ehr.config().client_secret(ClientSecret::new(SECRET)),
        ClientType::ConfidentialSymmetric,
    );
    let token = AccessToken::new("at-9");
    let info = client
        .introspect(TokenRef::Access(&token), IntrospectWith::Client)
        .unwrap();
    assert!(info.active());
    let bearer = AccessToken::new("resource-server-token");
    let info = client
        .introspect(TokenRef::Access(&token), IntrospectWith::Bearer(&bearer))
        .unwrap();
    assert!(!info.active());
    client
        .revoke(TokenRef::Refresh(&RefreshToken::new("rt-9")))
        .unwrap();
    by_client.assert();
    by_bearer.assert();
    revoke.assert();
}
}

/// A form value the matcher does not compare (the assertion, checked on its own).
const ANY: &str = "<any>";

/// A request matcher: exactly these form field names, each with its value (or [`ANY`]), and
/// whatever `extra` checks (headers, the assertion).
fn fields_then(
    expected: Vec<(String, String)>,
    extra: impl Fn(&mockito::Request) -> bool + Send + Sync + 'static,
) -> impl Fn(&mockito::Request) -> bool + Send + Sync + 'static {
    move |request: &mockito::Request| -> bool {
        let body = request.utf8_lossy_body().unwrap().into_owned();
        let mut got = smart_client::core::form::decode(body.as_bytes());
        got.sort();
        let mut want = expected.clone();
        want.sort();
        got.len() == want.len()
            && got
                .iter()
                .zip(&want)
                .all(|((gn, gv), (wn, wv))| gn == wn && (wv == ANY || gv == wv))
            && extra(request)
    }
}

/// Introspects an access token with the client's authentication and revokes a refresh
/// token: each request carries the token fields plus exactly `auth_fields`, and passes
/// `extra`.
fn introspect_and_revoke(
    ehr: &mut Ehr,
    client: &test_support::Client,
    auth_fields: &[(&str, &str)],
    extra: impl Fn(&mockito::Request) -> bool + Clone + Send + Sync + 'static,
) {
    let with = |fields: &[(&str, &str)]| -> Vec<(String, String)> {
        fields
            .iter()
            .chain(auth_fields)
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    };
    let introspect = ehr
        .server
        .mock("POST", "/auth/introspect")
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_request(fields_then(
            with(&[("token", "at-9"), ("token_type_hint", "access_token")]),
            extra.clone(),
        ))
        .with_body(json!({"active": true}).to_string())
        .expect(1)
        .create();
    let revoke = ehr
        .server
        .mock("POST", "/auth/revoke")
        .match_header("content-type", "application/x-www-form-urlencoded")
        .match_request(fields_then(
            with(&[("token", "rt-9"), ("token_type_hint", "refresh_token")]),
            extra,
        ))
        .with_status(200)
        .expect(1)
        .create();
    let info = client
        .introspect(
            TokenRef::Access(&AccessToken::new("at-9")),
            IntrospectWith::Client,
        )
        .unwrap();
    assert!(info.active());
    client
        .revoke(TokenRef::Refresh(&RefreshToken::new("rt-9")))
        .unwrap();
    introspect.assert();
    revoke.assert();
}

fn no_authorization_header(request: &mockito::Request) -> bool {
    !request.has_header("authorization")
}

both_shells! {
fn introspection_and_revocation_public() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    introspect_and_revoke(
        &mut ehr,
        &client,
        &[("client_id", CLIENT_ID)],
        no_authorization_header,
    );
}
}

both_shells! {
fn introspection_and_revocation_client_secret_post() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let client = ehr.client(
        ehr.config()
            .client_secret(ClientSecret::new(SECRET))
            .secret_method(SecretMethod::Post),
        ClientType::ConfidentialSymmetric,
    );
    introspect_and_revoke(
        &mut ehr,
        &client,
        &[("client_id", CLIENT_ID), ("client_secret", SECRET)],
        no_authorization_header,
    );
}
}

both_shells! {
fn introspection_and_revocation_private_key_jwt() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let key = crate::es384_key();
    let kid = "kid-introspect";
    let jtis = Arc::new(Mutex::new(Vec::new()));
    // smart-token addresses every assertion to the token endpoint (the `aud` SMART servers
    // check), also on the introspection and revocation endpoints.
    let matcher = Arc::new(assertion_matcher(
        &key,
        kid,
        ehr.token_url(),
        Arc::clone(&jtis),
    ));
    let client = ehr.client(
        ehr.config().private_key(key).kid(kid),
        ClientType::ConfidentialAsymmetric,
    );
    introspect_and_revoke(
        &mut ehr,
        &client,
        &[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", ANY),
        ],
        move |request: &mockito::Request| matcher(request),
    );
    let jtis = jtis.lock().unwrap();
    assert_eq!(jtis.len(), 2);
    assert_ne!(jtis[0], jtis[1], "a fresh assertion for each call");
}
}

both_shells! {
fn endpoints_not_advertised() {
    let mut ehr = Ehr::new();
    let mut document = ehr.document();
    document
        .as_object_mut()
        .unwrap()
        .remove("introspection_endpoint");
    ehr.server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_body(document.to_string())
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let err = client
        .introspect(
            TokenRef::Access(&AccessToken::new("x")),
            IntrospectWith::Client,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::NotAdvertised {
                endpoint: "introspection_endpoint"
            }
        ),
        "{err:?}"
    );
}
}

both_shells! {
fn dynamic_client_registration() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    let metadata = json!({
        "client_name": "Growth Chart",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "launch/patient patient/*.rs"
    });
    let mock = ehr
        .server
        .mock("POST", "/auth/register")
        .match_header("content-type", "application/json")
        .match_header("authorization", "Bearer initial-token")
        .match_body(Matcher::Json(metadata.clone()))
        .with_status(201)
        .with_body(
            json!({"client_id": "new-client", "client_secret": "NEW-SECRET", "client_id_issued_at": 1_700_000_000,
                   "client_name": "Growth Chart"})
            .to_string(),
        )
        .create();
    // The temporary-client pattern: no client_id configured.
    let config = smart_client::ClientConfig::builder(ehr.base()).allow_insecure_localhost(true);
    let client = ehr.client(config, ClientType::Public);
    let registration = client
        .register(
            metadata.as_object().unwrap(),
            Some(&AccessToken::new("initial-token")),
        )
        .unwrap();
    assert_eq!(registration.client_id().as_str(), "new-client");
    assert_eq!(
        registration.client_secret().unwrap().expose_secret(),
        "NEW-SECRET"
    );
    assert_eq!(registration.client_id_issued_at(), Some(1_700_000_000));
    assert_eq!(registration.metadata()["client_name"], "Growth Chart");
    assert!(!format!("{registration:?}").contains("NEW-SECRET"));
    mock.assert();

    ehr.server
        .mock("POST", "/auth/register")
        .with_status(400)
        .with_body(
            json!({"error": "invalid_redirect_uri", "error_description": "not https"}).to_string(),
        )
        .create();
    let err = client
        .register(metadata.as_object().unwrap(), None)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("client registration failed — HTTP 400 — invalid_redirect_uri"),
        "{err}"
    );
}
}

both_shells! {
fn registration_without_client_id_lists_field_names_only() {
    let mut ehr = Ehr::new();
    ehr.serve_discovery(1);
    ehr.server
        .mock("POST", "/auth/register")
        .with_status(201)
        .with_body(json!({"client_secret": "LEAK-ME", "client_name": "x"}).to_string())
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let err = client.register(&serde_json::Map::new(), None).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("client_secret") && !text.contains("LEAK-ME"),
        "{text}"
    );
}
}

both_shells! {
fn fhir_reads_send_the_token_only_below_the_base() {
    let mut ehr = Ehr::new();
    let read = ehr
        .server
        .mock("GET", "/fhir/Patient/p-1")
        .match_header("authorization", "Bearer at-1")
        .with_body(json!({"resourceType": "Patient", "id": "p-1"}).to_string())
        .create();
    let unauthorized = ehr
        .server
        .mock("GET", "/fhir/Patient/p-2")
        .with_status(401)
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let token = AccessToken::new("at-1");
    let patient = client.read_resource(&token, "Patient/p-1").unwrap();
    assert_eq!(patient["id"], "p-1");
    read.assert();
    let err = client.read_resource(&token, "Patient/p-2").unwrap_err();
    assert!(
        err.to_string().contains("HTTP 401")
            && err.to_string().contains("refresh it or authorize again"),
        "{err}"
    );
    unauthorized.assert();
    for foreign in [
        "https://evil.example/fhir/Patient/1".to_owned(),
        format!("{}/other/Patient/1", ehr.server.url()),
        "../admin".to_owned(),
        "Patient/../../admin".to_owned(),
        "Patient/%2e%2e/%2E%2E/admin".to_owned(),
        "//evil.example/x".to_owned(),
    ] {
        let err = client.fhir_get(&token, &foreign).unwrap_err();
        assert!(
            matches!(err, ClientError::ForeignUrl { .. }),
            "{foreign}: {err:?}"
        );
    }
    // An absolute URL below the base is fine.
    let absolute = ehr
        .server
        .mock("GET", "/fhir/Observation")
        .match_query(Matcher::UrlEncoded("patient".into(), "p-1".into()))
        .expect(2)
        .create();
    client
        .fhir_get(&token, &format!("{}/Observation?patient=p-1", ehr.base()))
        .unwrap();
    client.fhir_get(&token, "Observation?patient=p-1").unwrap();
    absolute.assert();
}
}

both_shells! {
fn secrets_the_server_echoes_back_are_redacted_from_the_error() {
    let mut ehr = Ehr::new();
    let discovery = ehr.serve_discovery(1);
    let basic = basic_raw();
    let echo = format!(
        "bad refresh_token rt-echo-1 for secret {SECRET} (header {basic}) and {}",
        SECRET.replace('+', "%2B").replace('/', "%2F")
    );
    let token = ehr
        .server
        .mock("POST", "/auth/token")
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(json!({"error": "invalid_grant", "error_description": echo}).to_string())
        .expect(1)
        .create();
    let client = ehr.client(
        ehr.config().client_secret(ClientSecret::new(SECRET)),
        ClientType::ConfidentialSymmetric,
    );
    let err = client
        .refresh(&RefreshToken::new("rt-echo-1"), None)
        .unwrap_err();
    let text = format!("{err} {err:?}");
    for secret in ["rt-echo-1", SECRET, basic.trim_start_matches("Basic ")] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("[redacted]"), "{text}");
    token.assert();
    discovery.assert();
}
}

both_shells! {
fn an_assertion_algorithm_the_server_does_not_list_is_refused_before_signing() {
    let mut ehr = Ehr::new();
    let mut document = ehr.document();
    document["token_endpoint_auth_signing_alg_values_supported"] = json!(["RS384"]);
    let discovery = ehr
        .server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(200)
        .with_body(document.to_string())
        .expect(1)
        .create();
    let token = ehr.server.mock("POST", "/auth/token").expect(0).create();
    let client = ehr.client(
        ehr.config().private_key(crate::es384_key()),
        ClientType::ConfidentialAsymmetric,
    );
    let err = client.backend_services_token(None).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::AssertionAlgorithmNotAccepted { alg: "ES384", .. }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the server accepts client assertions signed with RS384 only \
         (token_endpoint_auth_signing_alg_values_supported), but the configured key signs ES384; \
         register and configure a key of an accepted algorithm"
    );
    discovery.assert();
    token.assert();
}
}
