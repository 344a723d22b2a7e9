//! The exact form fields and headers of every request for every client type
//! (the table of SAFIRE.md §1.9, plus `client_secret_post`).

use std::sync::Arc;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use smart_core::{ClientId, EndpointUrl, FixedClock, RandomError, RedirectUri, TokenUrl};
use smart_jwt_assertion::{Algorithm, AssertionSigner, JwkSet, PrivateKey, verify_compact};
use smart_pkce::PkceVerifier;
use smart_token::scope::ScopeSet;
use smart_token::{
    AccessToken, AuthorizationCode, ClientAuth, ClientSecret, IntrospectionAuth, RefreshToken,
    TokenError, TokenRef, TokenRequest, introspection_request, revocation_request,
};

const TOKEN_URL: &str = "https://ehr.example/auth/token";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const NOW: u64 = 1_700_000_000;

fn token_url() -> TokenUrl {
    TokenUrl::parse(TOKEN_URL).unwrap()
}

fn client_id() -> ClientId {
    ClientId::parse("my-app").unwrap()
}

fn fields(request: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
    smart_core::form::decode(request.body())
}

fn names(request: &http::Request<Vec<u8>>) -> Vec<String> {
    fields(request).into_iter().map(|(name, _)| name).collect()
}

fn field(request: &http::Request<Vec<u8>>, name: &str) -> Option<String> {
    fields(request)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

fn assert_form_post(request: &http::Request<Vec<u8>>, url: &str) {
    assert_eq!(request.method(), "POST");
    assert_eq!(request.uri(), url);
    assert_eq!(
        request.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(request.headers()["accept"], "application/json");
}

fn code_request() -> TokenRequest {
    TokenRequest::authorization_code(
        &AuthorizationCode::new("c0de/with+odd=chars&x"),
        &RedirectUri::parse("https://app.example/cb?x=1").unwrap(),
        &PkceVerifier::parse(VERIFIER).unwrap(),
    )
}

/// A deterministic RNG: each call returns the next bytes of a counter.
fn counting_rng() -> impl FnMut(&mut [u8]) -> Result<(), RandomError> + Send {
    let mut next = 0u8;
    move |buf: &mut [u8]| {
        for byte in buf {
            *byte = next;
            next = next.wrapping_add(1);
        }
        Ok(())
    }
}

fn es384_key() -> PrivateKey {
    PrivateKey::generate_p384().unwrap()
}

fn jwt_auth(key: &PrivateKey) -> ClientAuth {
    let signer = AssertionSigner::from_key(key, "kid-1", None).unwrap();
    ClientAuth::private_key_jwt(client_id(), signer)
        .with_clock(Arc::new(FixedClock::from_unix_seconds(NOW)))
        .with_rng(counting_rng())
}

#[test]
fn code_exchange_public() {
    let request = code_request()
        .build(&token_url(), &ClientAuth::public(client_id()))
        .unwrap();
    assert_form_post(&request, TOKEN_URL);
    assert_eq!(
        fields(&request),
        [
            ("grant_type", "authorization_code"),
            ("code", "c0de/with+odd=chars&x"),
            ("redirect_uri", "https://app.example/cb?x=1"),
            ("code_verifier", VERIFIER),
            ("client_id", "my-app"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
    assert!(request.headers().get("authorization").is_none());
    // Every value is percent-encoded, the code included.
    let body = String::from_utf8(request.body().clone()).unwrap();
    assert!(
        body.contains("code=c0de%2Fwith%2Bodd%3Dchars%26x&"),
        "{body}"
    );
    assert!(
        body.contains("redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&"),
        "{body}"
    );
}

#[test]
fn code_exchange_symmetric_basic() {
    let auth = ClientAuth::client_secret_basic(client_id(), ClientSecret::new("s3cr3t"));
    let request = code_request().build(&token_url(), &auth).unwrap();
    assert_form_post(&request, TOKEN_URL);
    assert_eq!(
        names(&request),
        ["grant_type", "code", "redirect_uri", "code_verifier"]
    );
    assert_eq!(
        request.headers()["authorization"],
        format!("Basic {}", Base64::encode_string(b"my-app:s3cr3t"))
    );
    assert!(request.headers()["authorization"].is_sensitive());
    assert!(!format!("{request:?}").contains(&Base64::encode_string(b"my-app:s3cr3t")));
}

#[test]
fn code_exchange_symmetric_post() {
    let auth = ClientAuth::client_secret_post(client_id(), ClientSecret::new("s3cr3t"));
    let request = code_request().build(&token_url(), &auth).unwrap();
    assert_eq!(
        names(&request),
        [
            "grant_type",
            "code",
            "redirect_uri",
            "code_verifier",
            "client_id",
            "client_secret"
        ]
    );
    assert_eq!(field(&request, "client_secret").as_deref(), Some("s3cr3t"));
    assert!(request.headers().get("authorization").is_none());
}

#[test]
fn code_exchange_asymmetric() {
    let key = es384_key();
    let request = code_request().build(&token_url(), &jwt_auth(&key)).unwrap();
    assert_form_post(&request, TOKEN_URL);
    assert_eq!(
        names(&request),
        [
            "grant_type",
            "code",
            "redirect_uri",
            "code_verifier",
            "client_assertion_type",
            "client_assertion"
        ]
    );
    assert_eq!(
        field(&request, "client_assertion_type").as_deref(),
        Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    );
    assert!(request.headers().get("authorization").is_none());
    assert!(field(&request, "client_id").is_none());
}

#[test]
fn basic_header_with_awkward_secret() {
    let secret = "se:c+r/e=t%é";
    let raw = ClientAuth::client_secret_basic(client_id(), ClientSecret::new(secret));
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(), &raw)
        .unwrap();
    let header = request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let decoded = Base64::decode_vec(header.strip_prefix("Basic ").unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("my-app:{secret}")
    );

    let encoded = ClientAuth::client_secret_basic(
        ClientId::parse("my app").unwrap(),
        ClientSecret::new(secret),
    )
    .with_rfc6749_basic_encoding();
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(), &encoded)
        .unwrap();
    let header = request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_owned();
    let decoded = Base64::decode_vec(header.strip_prefix("Basic ").unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "my+app:se%3Ac%2Br%2Fe%3Dt%25%C3%A9"
    );
}

#[test]
fn refresh_for_every_client_type() {
    let key = es384_key();
    let refresh = RefreshToken::new("rt-1");
    for (auth, expected) in [
        (
            ClientAuth::public(client_id()),
            vec!["grant_type", "refresh_token", "client_id"],
        ),
        (
            ClientAuth::client_secret_basic(client_id(), ClientSecret::new("s")),
            vec!["grant_type", "refresh_token"],
        ),
        (
            ClientAuth::client_secret_post(client_id(), ClientSecret::new("s")),
            vec!["grant_type", "refresh_token", "client_id", "client_secret"],
        ),
        (
            jwt_auth(&key),
            vec![
                "grant_type",
                "refresh_token",
                "client_assertion_type",
                "client_assertion",
            ],
        ),
    ] {
        let request = TokenRequest::refresh_token(&refresh, None)
            .build(&token_url(), &auth)
            .unwrap();
        assert_eq!(names(&request), expected, "{auth:?}");
        assert_eq!(
            field(&request, "grant_type").as_deref(),
            Some("refresh_token")
        );
    }
}

#[test]
fn refresh_scope_only_when_narrower_scope_asked() {
    let auth = ClientAuth::public(client_id());
    let refresh = RefreshToken::new("rt-1");
    let narrower = ScopeSet::parse("patient/Observation.rs").unwrap();
    let request = TokenRequest::refresh_token(&refresh, Some(&narrower))
        .build(&token_url(), &auth)
        .unwrap();
    assert_eq!(
        field(&request, "scope").as_deref(),
        Some("patient/Observation.rs")
    );
    let request = TokenRequest::refresh_token(&refresh, Some(&ScopeSet::new()))
        .build(&token_url(), &auth)
        .unwrap();
    assert_eq!(field(&request, "scope"), None);
}

#[test]
fn backend_services_request() {
    let key = es384_key();
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(), &jwt_auth(&key))
        .unwrap();
    assert_form_post(&request, TOKEN_URL);
    assert_eq!(
        names(&request),
        [
            "grant_type",
            "scope",
            "client_assertion_type",
            "client_assertion"
        ]
    );
    assert_eq!(field(&request, "scope").as_deref(), Some("system/*.rs"));
    assert!(request.headers().get("authorization").is_none());

    let scope = ScopeSet::parse("system/Patient.rs system/Observation.rs").unwrap();
    let request = TokenRequest::client_credentials(Some(&scope))
        .unwrap()
        .build(&token_url(), &jwt_auth(&key))
        .unwrap();
    assert_eq!(
        field(&request, "scope").as_deref(),
        Some("system/Patient.rs system/Observation.rs")
    );

    // safire sends `scope=` for an explicit empty list; we refuse it.
    assert!(matches!(
        TokenRequest::client_credentials(Some(&ScopeSet::new())),
        Err(TokenError::EmptyScope)
    ));
}

#[test]
fn every_assertion_is_fresh_and_exact() {
    let key = es384_key();
    let jwks = JwkSet {
        keys: vec![key.public_jwk(Some("kid-1"))],
    };
    let auth = jwt_auth(&key);
    let mut jtis = Vec::new();
    for _ in 0..3 {
        let request = TokenRequest::client_credentials(None)
            .unwrap()
            .build(&token_url(), &auth)
            .unwrap();
        let assertion = field(&request, "client_assertion").unwrap();
        let verified = verify_compact(&assertion, &jwks, &[Algorithm::Es384]).unwrap();
        let header = verified.header();
        assert_eq!(header["alg"], "ES384");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["kid"], "kid-1");
        let claims = verified.claims();
        assert_eq!(claims["iss"], "my-app");
        assert_eq!(claims["sub"], "my-app");
        assert_eq!(claims["aud"], TOKEN_URL, "aud is the token URL as a string");
        assert_eq!(claims["iat"], NOW);
        assert_eq!(claims["exp"], NOW + 300);
        let jti = claims["jti"].as_str().unwrap().to_owned();
        assert!(Base64UrlUnpadded::decode_vec(&jti).map_or(jti.len() * 6, |b| b.len() * 8) >= 128);
        jtis.push(jti);
    }
    jtis.sort();
    jtis.dedup();
    assert_eq!(jtis.len(), 3, "a fresh jti for every request");
}

#[test]
fn assertion_audience_is_the_exact_token_url_string() {
    let key = es384_key();
    let jwks = JwkSet {
        keys: vec![key.public_jwk(Some("kid-1"))],
    };
    let odd = TokenUrl::parse("https://EHR.example:443/auth/token/").unwrap();
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&odd, &jwt_auth(&key))
        .unwrap();
    let verified = verify_compact(
        &field(&request, "client_assertion").unwrap(),
        &jwks,
        &[Algorithm::Es384],
    )
    .unwrap();
    assert_eq!(
        verified.claims()["aud"],
        "https://EHR.example:443/auth/token/"
    );
    // The request itself goes to the normalised URL.
    assert_eq!(request.uri(), "https://ehr.example/auth/token/");
}

#[test]
fn extra_parameters_cannot_replace_protocol_ones() {
    let request = TokenRequest::client_credentials(None).unwrap();
    assert!(matches!(
        request.clone().with_param("scope", "x"),
        Err(TokenError::ReservedParameter { .. })
    ));
    assert!(matches!(
        request.clone().with_param("client_assertion", "x"),
        Err(TokenError::ReservedParameter { .. })
    ));
    let built = request
        .with_param("resource", "https://fhir.example")
        .unwrap()
        .build(
            &token_url(),
            &ClientAuth::client_secret_post(client_id(), ClientSecret::new("s")),
        )
        .unwrap();
    assert_eq!(
        field(&built, "resource").as_deref(),
        Some("https://fhir.example")
    );
}

#[test]
fn introspection_with_client_auth_or_bearer() {
    let endpoint = EndpointUrl::parse("https://ehr.example/introspect").unwrap();
    let token = AccessToken::new("at-to-check");
    let auth = ClientAuth::client_secret_basic(client_id(), ClientSecret::new("s"));
    let request = introspection_request(
        &endpoint,
        IntrospectionAuth::Client {
            auth: &auth,
            token_url: &token_url(),
        },
        TokenRef::Access(&token),
    )
    .unwrap();
    assert_form_post(&request, "https://ehr.example/introspect");
    assert_eq!(
        fields(&request),
        [
            ("token", "at-to-check"),
            ("token_type_hint", "access_token")
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
    assert!(
        request.headers()["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );

    let bearer = AccessToken::new("introspector-token");
    let request = introspection_request(
        &endpoint,
        IntrospectionAuth::Bearer(&bearer),
        TokenRef::Access(&token),
    )
    .unwrap();
    assert_eq!(
        request.headers()["authorization"],
        "Bearer introspector-token"
    );
    assert!(request.headers()["authorization"].is_sensitive());
}

#[test]
fn revocation_requests() {
    let endpoint = EndpointUrl::parse("https://ehr.example/revoke").unwrap();
    let refresh = RefreshToken::new("rt-9");
    let request = revocation_request(
        &endpoint,
        &ClientAuth::public(client_id()),
        &token_url(),
        TokenRef::Refresh(&refresh),
    )
    .unwrap();
    assert_form_post(&request, "https://ehr.example/revoke");
    assert_eq!(names(&request), ["token", "token_type_hint", "client_id"]);
    assert_eq!(
        field(&request, "token_type_hint").as_deref(),
        Some("refresh_token")
    );
}

#[test]
fn tokens_that_cannot_be_header_values_are_errors() {
    let endpoint = EndpointUrl::parse("https://ehr.example/introspect").unwrap();
    let bad = AccessToken::new("line\nbreak");
    let token = AccessToken::new("x");
    let err = introspection_request(
        &endpoint,
        IntrospectionAuth::Bearer(&bad),
        TokenRef::Access(&token),
    )
    .unwrap_err();
    assert!(matches!(err, TokenError::UnusableToken { .. }));
    assert!(!err.to_string().contains("line"));
}

#[test]
fn debug_never_shows_secrets() {
    let key = es384_key();
    for auth in [
        ClientAuth::client_secret_basic(client_id(), ClientSecret::new("TOPSECRET")),
        ClientAuth::client_secret_post(client_id(), ClientSecret::new("TOPSECRET")),
        jwt_auth(&key),
    ] {
        let text = format!("{auth:?}");
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert!(text.contains("my-app"));
    }
    let request = TokenRequest::refresh_token(&RefreshToken::new("TOPSECRET"), None);
    assert!(!format!("{request:?}").contains("TOPSECRET"));
}

#[test]
fn client_credentials_needs_a_confidential_client() {
    let public = ClientAuth::public(client_id());
    let error = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(), &public)
        .unwrap_err();
    assert!(
        matches!(error, TokenError::PublicClientCredentials),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("RFC 6749 section 4.4"),
        "{error}"
    );
    // Other grants from a public client are fine.
    let refresh = RefreshToken::new("rt-1");
    TokenRequest::refresh_token(&refresh, None)
        .build(&token_url(), &public)
        .unwrap();
}

#[test]
fn an_empty_client_secret_is_refused() {
    let refresh = RefreshToken::new("rt-1");
    for (auth, method) in [
        (
            ClientAuth::client_secret_basic(client_id(), ClientSecret::new("")),
            "client_secret_basic",
        ),
        (
            ClientAuth::client_secret_post(client_id(), ClientSecret::new(" ")),
            "client_secret_post",
        ),
        (
            ClientAuth::client_secret_basic(client_id(), ClientSecret::new(""))
                .with_rfc6749_basic_encoding(),
            "client_secret_basic",
        ),
    ] {
        let error = TokenRequest::refresh_token(&refresh, None)
            .build(&token_url(), &auth)
            .unwrap_err();
        assert!(
            matches!(&error, TokenError::EmptyClientSecret { method: m } if m.as_str() == method),
            "{error:?}"
        );
        assert!(error.to_string().contains("is empty"), "{error}");
        // Introspection and revocation use the same authentication, and refuse it too.
        let access = AccessToken::new("at-1");
        assert!(matches!(
            revocation_request(
                &EndpointUrl::parse("https://ehr.example/revoke").unwrap(),
                &auth,
                &token_url(),
                TokenRef::Access(&access),
            ),
            Err(TokenError::EmptyClientSecret { .. })
        ));
    }
}

#[test]
fn a_colon_in_the_client_id_needs_the_rfc6749_basic_encoding() {
    let id = ClientId::parse("urn:example:app").unwrap();
    let raw = ClientAuth::client_secret_basic(id.clone(), ClientSecret::new("s3cret"));
    let error = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(), &raw)
        .unwrap_err();
    assert!(
        matches!(error, TokenError::AmbiguousBasicCredentials),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("with_rfc6749_basic_encoding"),
        "{error}"
    );
    let encoded = ClientAuth::client_secret_basic(id, ClientSecret::new("s3cret"))
        .with_rfc6749_basic_encoding();
    let request = TokenRequest::client_credentials(None)
        .unwrap()
        .build(&token_url(), &encoded)
        .unwrap();
    let header = request.headers()["authorization"].to_str().unwrap();
    let decoded = Base64::decode_vec(header.strip_prefix("Basic ").unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        "urn%3Aexample%3Aapp:s3cret"
    );
}
