//! The error paths: refused callbacks, local failures (network, configuration, keys), the
//! RSA key's forms and proxy credentials. None may show a secret.

#[allow(
    clippy::wildcard_imports,
    reason = "the suite's helpers and secrets, shared with main.rs"
)]
use super::*;

#[test]
fn error_paths_leak_nothing() {
    capture::install();
    let key = Key::generate();
    let mut exhibits = Exhibits::default();
    let mut state_ok = Exhibits::default();
    let mut one_time = Needles::default();
    key.needles(&mut one_time);
    Key::rsa().needles(&mut one_time);
    let mut servers = Vec::new();
    for mode in [
        Mode::OAuthErrors,
        Mode::Malformed,
        Mode::MissingFields,
        Mode::DuplicateKeys,
        Mode::OddTokens,
    ] {
        let server = ehr::start(mode);
        for client in [
            symmetric(&server, SecretMethod::Basic),
            symmetric(&server, SecretMethod::Post),
            asymmetric(&server, key.load_pem()),
            asymmetric(&server, Key::rsa().load_jwk()),
        ] {
            every_flow(&client, &mut exhibits, &mut state_ok, &mut one_time, false);
            if client.client_type() == ClientType::ConfidentialAsymmetric {
                exhibits.outcome(
                    "backend services token",
                    &client.backend_services_token(None),
                );
            }
        }
        servers.push(server);
    }

    // An access token a header cannot carry.
    let server = ehr::start(Mode::OddTokens);
    let config = builder(&server)
        .client_secret(ClientSecret::new(CLIENT_SECRET))
        .token_endpoint(format!("{}/refresh-control", server.root()))
        .build()
        .unwrap();
    let client = SmartClient::new(config, ClientType::ConfidentialSymmetric).unwrap();
    let unusable = client.refresh(&RefreshToken::new(REFRESH_TOKEN), None);
    assert!(unusable.is_err());
    exhibits.outcome("refresh answered with an unusable token", &unusable);

    callback_errors(&server, &mut exhibits, &mut one_time);
    local_errors(&key, &mut exhibits);
    key_loading_errors(&key, "P-384", &mut exhibits);
    key_loading_errors(Key::rsa(), "RSA", &mut exhibits);

    for server in &servers {
        captured_assertions(server, &mut one_time);
    }
    assert_no_leaks(&exhibits, &state_ok, &needles::fixed(), &one_time);
    assert_logs_clean(&needles::fixed(), &one_time);
}

/// Callbacks that must be refused, every one carrying the authorization code.
fn callback_errors(server: &Server, exhibits: &mut Exhibits, one_time: &mut Needles) {
    let client = symmetric(server, SecretMethod::Basic);
    let pending = client
        .authorize(AuthorizeOptions::new())
        .unwrap()
        .into_pending();
    let state = pending.state().expose_secret().to_owned();
    one_time.add("state", state.as_bytes());
    let code = encoded(AUTH_CODE);
    for (label, callback) in [
        (
            "state mismatch",
            format!(
                "https://app.example/callback?code={code}&state=0123456789abcdef0123456789abcdef"
            ),
        ),
        (
            "missing state",
            format!("https://app.example/callback?code={code}"),
        ),
        (
            "error callback",
            format!(
                "https://app.example/callback?error=access_denied&error_description=no&code={code}&state={state}"
            ),
        ),
        (
            "two codes",
            format!("https://app.example/callback?code={code}&code={code}&state={state}"),
        ),
        (
            "two states",
            format!("?code={code}&state={state}&state={state}"),
        ),
        (
            "not a URL",
            format!("https://[broken/callback?code={code}&state={state}"),
        ),
        (
            "issuer mix-up",
            format!(
                "https://app.example/callback?code={code}&state={state}&iss=https://evil.example"
            ),
        ),
    ] {
        let result = client.complete_authorization(&callback, &pending);
        assert!(result.is_err(), "{label}");
        exhibits.outcome(&format!("callback: {label}"), &result);
    }
    // The code exchange refused for another client id.
    let other = ClientConfig::builder(format!("{}/fhir", server.root()))
        .client_id("another-app")
        .client_secret(ClientSecret::new(CLIENT_SECRET))
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    let other = SmartClient::new(other, ClientType::ConfidentialSymmetric).unwrap();
    let result = other.exchange_code(&AuthorizationCode::new(AUTH_CODE), &pending);
    assert!(result.is_err());
    exhibits.outcome("code exchange for another client", &result);
}

/// A transport for clients that send nothing (their calls fail before any request).
fn no_network(
    _: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, smart_client::TransportError> {
    Err(smart_client::TransportError::with_detail(
        smart_client::TransportErrorKind::Request,
        "this test sends no request",
    ))
}

/// Errors that need no server: the network, the configuration, keys.
fn local_errors(key: &Key, exhibits: &mut Exhibits) {
    // Nothing listens on this port.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = ClientConfig::builder(format!("http://{closed}/fhir"))
        .client_id(CLIENT_ID)
        .client_secret(ClientSecret::new(CLIENT_SECRET))
        .token_endpoint(format!("http://{closed}/token"))
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    let client = SmartClient::new(config, ClientType::ConfidentialSymmetric).unwrap();
    exhibits.outcome(
        "refresh against a closed port",
        &client.refresh(&RefreshToken::new(REFRESH_TOKEN), None),
    );
    // A failed discovery is returned, not also logged at error (see `assert_logs_clean`).
    exhibits.outcome("discovery against a closed port", &client.discover());

    // A private-key client without a key, holding a secret.
    let config = ClientConfig::builder("https://ehr.example/fhir")
        .client_secret(ClientSecret::new(CLIENT_SECRET))
        .token_endpoint("https://ehr.example/token")
        .build()
        .unwrap();
    // Refused when the client is built, before any call.
    let missing =
        SmartClient::with_http_client(config, ClientType::ConfidentialAsymmetric, no_network);
    assert!(
        matches!(missing, Err(ClientError::Config(_))),
        "{missing:?}"
    );
    exhibits.outcome("missing configuration", &missing);

    // Bad configuration next to a secret and a key.
    let bad = ClientConfig::builder("http://ehr.example/fhir")
        .client_secret(ClientSecret::new(CLIENT_SECRET))
        .private_key(key.load_pem())
        .kid(" ")
        .build();
    exhibits.error("invalid configuration", &bad.unwrap_err());
}

/// Keys that do not load, each made from the real one (`kind` names it in the labels).
fn key_loading_errors(key: &Key, kind: &str, exhibits: &mut Exhibits) {
    let mut broken_pem = key.pem.clone();
    let middle = broken_pem.len() / 2;
    broken_pem.replace_range(middle..=middle, "!");
    let truncated_pem = key.pem[..key.pem.len() - 40].to_owned();
    let mut wrong_public: Value = serde_json::from_str(&key.jwk).unwrap();
    if wrong_public["kty"] == "EC" {
        wrong_public["x"] = wrong_public["y"].clone();
    } else {
        // e = 3: the public exponent no longer fits d.
        wrong_public["e"] = Value::from("Aw");
    }
    let d = serde_json::from_str::<Value>(&key.jwk).unwrap()["d"].clone();
    let duplicate_d = key.jwk.replacen('{', &format!("{{\"d\": {d}, "), 1);
    let public_only = key.jwk.replace("\"d\"", "\"private\"");
    for (label, result) in [
        (
            "a PEM with a broken character",
            PrivateKey::from_pem(&broken_pem),
        ),
        ("a truncated PEM", PrivateKey::from_pem(&truncated_pem)),
        ("a PEM given as a JWK", PrivateKey::from_jwk(&key.pem)),
        (
            "a JWK whose public part is not d's",
            PrivateKey::from_jwk(&wrong_public.to_string()),
        ),
        ("a JWK with d twice", PrivateKey::from_jwk(&duplicate_d)),
        ("a JWK without d", PrivateKey::from_jwk(&public_only)),
        ("a JWK given as a PEM", PrivateKey::from_pem(&key.jwk)),
    ] {
        let error = result.unwrap_err();
        exhibits.error(&format!("{kind} key loading: {label}"), &error);
    }
}

/// The RSA key's `Debug` forms and its RS384 assertions.
fn rsa_exhibits(
    rsa: &Key,
    client_id: &ClientId,
    token_url: &TokenUrl,
    exhibits: &mut Exhibits,
    one_time: &mut Needles,
) {
    for private_key in [rsa.load_pem(), rsa.load_jwk()] {
        let signer = AssertionSigner::from_key(&private_key, "rsa-kid", None).unwrap();
        assert_eq!(signer.algorithm(), smart_client::jwt::Algorithm::Rs384);
        let assertion = signer.sign(client_id, token_url).unwrap();
        one_time.add(
            "an RS384 client assertion",
            assertion.expose_secret().as_bytes(),
        );
        exhibits.debug("RSA PrivateKey", &private_key);
        exhibits.debug("RSA KeySigner", &private_key.signer(None).unwrap());
        exhibits.debug("RS384 AssertionSigner", &signer);
        exhibits.debug("RS384 ClientAssertion", &assertion);
        exhibits.text(
            "the public RSA JWKS JSON",
            private_key.public_jwk_set(Some("rsa-kid")).to_json(),
        );
    }
}

/// Proxy credentials in the HTTP options, the configuration and the client.
fn proxy_exhibits(exhibits: &mut Exhibits, one_time: &mut Needles) {
    one_time.add("proxy password", PROXY_PASSWORD.as_bytes());
    let options =
        HttpOptions::new().proxy(format!("http://user:{PROXY_PASSWORD}@proxy.example:3128"));
    exhibits.debug("HttpOptions with a proxy", &options);
    let proxied = ClientConfig::builder("https://ehr.example/fhir")
        .http_options(options.clone())
        .build()
        .unwrap();
    exhibits.debug("ClientConfig with a proxy", &proxied);
    exhibits.debug(
        "SmartClient with a proxy",
        &SmartClient::new(proxied, ClientType::Public).unwrap(),
    );
    let options_without_scheme =
        HttpOptions::new().proxy(format!("user:{PROXY_PASSWORD}@proxy.example:3128"));
    exhibits.debug(
        "HttpOptions with a proxy without scheme",
        &options_without_scheme,
    );
}

/// A proxy password, 16 bytes or more so that the search can find it.
const PROXY_PASSWORD: &str = "proxy-pa55word-Zq8Lm3Xv";

/// The `Debug` of every public type that holds a secret, made directly.
#[test]
fn debug_of_every_secret_holder_leaks_nothing() {
    let key = Key::generate();
    let rsa = Key::rsa();
    key.assert_needles_find_the_key();
    rsa.assert_needles_find_the_key();
    let names: Vec<&str> = rsa.private.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["d", "p", "q", "dp", "dq", "qi"]);
    let mut one_time = Needles::default();
    key.needles(&mut one_time);
    rsa.needles(&mut one_time);
    let mut exhibits = Exhibits::default();
    let client_id = ClientId::parse(CLIENT_ID).unwrap();
    let token_url = TokenUrl::parse("https://ehr.example/token").unwrap();
    rsa_exhibits(rsa, &client_id, &token_url, &mut exhibits, &mut one_time);
    proxy_exhibits(&mut exhibits, &mut one_time);
    let private_key = key.load_jwk();
    let signer = AssertionSigner::from_key(&private_key, "kid-1", None).unwrap();
    let assertion = signer.sign(&client_id, &token_url).unwrap();
    one_time.add("a client assertion", assertion.expose_secret().as_bytes());
    exhibits.debug("PrivateKey", &private_key);
    exhibits.debug("KeySigner", &private_key.signer(None).unwrap());
    exhibits.debug("AssertionSigner", &signer);
    exhibits.debug("ClientAssertion", &assertion);
    exhibits.debug(
        "the public JwkSet",
        &private_key.public_jwk_set(Some("kid-1")),
    );
    exhibits.text(
        "the public JWKS JSON",
        JwkSet::from(private_key.public_jwk(None)).to_json(),
    );
    exhibits.debug("AccessToken", &AccessToken::new(ACCESS_TOKEN));
    exhibits.debug("RefreshToken", &RefreshToken::new(REFRESH_TOKEN));
    exhibits.debug("IdToken", &IdToken::new(ID_TOKEN));
    exhibits.debug("ClientSecret", &ClientSecret::new(CLIENT_SECRET));
    exhibits.debug("AuthorizationCode", &AuthorizationCode::new(AUTH_CODE));
    let secret = ClientSecret::new(CLIENT_SECRET);
    let auths = [
        ClientAuth::client_secret_basic(client_id.clone(), ClientSecret::new(CLIENT_SECRET)),
        ClientAuth::client_secret_basic(client_id.clone(), secret.clone())
            .with_rfc6749_basic_encoding(),
        ClientAuth::client_secret_post(client_id.clone(), secret),
        ClientAuth::private_key_jwt(client_id.clone(), signer.clone()),
    ];
    let refresh = RefreshToken::new(REFRESH_TOKEN);
    let access = AccessToken::new(ACCESS_TOKEN);
    for auth in &auths {
        exhibits.debug("ClientAuth", auth);
        exhibits.debug(
            "IntrospectionAuth",
            &IntrospectionAuth::Client {
                auth,
                token_url: &token_url,
            },
        );
        let request = TokenRequest::refresh_token(&refresh, None);
        exhibits.debug("TokenRequest", &request);
        // The built request goes on the wire; its Debug is the `http` crate's, but the
        // headers it sets are marked sensitive.
        let built = request.build(&token_url, auth).unwrap();
        exhibits.debug(
            "the Authorization header",
            &built.headers().get("authorization"),
        );
    }
    exhibits.debug("IntrospectionAuth", &IntrospectionAuth::Bearer(&access));
    exhibits.debug("TokenRef", &TokenRef::Access(&access));
    exhibits.debug("TokenRef", &TokenRef::Refresh(&refresh));
    exhibits.debug("IntrospectWith", &IntrospectWith::Bearer(&access));
    let builder = ClientConfig::builder("https://ehr.example/fhir")
        .client_id(CLIENT_ID)
        .client_secret(ClientSecret::new(CLIENT_SECRET))
        .private_key(key.load_pem());
    exhibits.debug("ClientConfigBuilder", &builder);
    let config = builder.build().unwrap();
    exhibits.debug("ClientConfig", &config);
    let client =
        SmartClient::with_http_client(config, ClientType::ConfidentialSymmetric, no_network)
            .unwrap();
    exhibits.debug("SmartClient", &client);
    assert_no_leaks(
        &exhibits,
        &Exhibits::default(),
        &needles::fixed(),
        &one_time,
    );
}
