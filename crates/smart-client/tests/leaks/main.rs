//! Secret leaks: every flow runs over loopback with known secrets (client secret, private key,
//! access, refresh and id tokens, authorization code, registration secrets, state and PKCE
//! verifier; the assertions the client signs are captured server-side), with `log` captured
//! at trace level from every crate. None of the secrets, in any encoding (see `needles.rs`), may appear in a log line,
//! in the `Display` or `Debug` of an error, or in the `Debug` of a public type.
#![cfg(all(feature = "ureq", feature = "private-key-jwt", feature = "openid"))]
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers outside #[test] functions: a failing unwrap is a failing test, and \
              counts go to the captured test output"
)]

mod capture;
mod ehr;
mod errors;
mod needles;
#[path = "../hostile/server.rs"]
#[allow(
    dead_code,
    reason = "shared with the hostile suite; this test uses only part of it"
)]
mod server;

use std::error::Error;
use std::fmt::Debug;
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use serde_json::{Map, Value, json};
use smart_client::core::url::form_urlencoded;
use smart_client::core::{ClientId, TokenUrl};
use smart_client::jwt::{AssertionSigner, JwkSet, PrivateKey};
use smart_client::token::{
    AccessToken, AuthorizationCode, ClientAuth, ClientSecret, IdToken, IntrospectionAuth,
    RefreshToken, TokenRef, TokenRequest,
};
use smart_client::{
    AuthorizeMethod, AuthorizeOptions, ClientConfig, ClientConfigBuilder, ClientError, ClientType,
    HttpOptions, IntrospectWith, SecretMethod, SmartClient,
};

use crate::ehr::Mode;
use crate::needles::{
    ACCESS_TOKEN, AUTH_CODE, CLIENT_ID, CLIENT_SECRET, ID_TOKEN, INITIAL_ACCESS_TOKEN, Needles,
    REFRESH_TOKEN, REGISTERED_SECRET, REGISTRATION_TOKEN,
};
use crate::server::Server;

/// What a test produced that must not show a secret, each text with a label.
#[derive(Default)]
struct Exhibits {
    texts: Vec<(String, String)>,
}

impl Exhibits {
    /// `{:?}` and `{:#?}` of `value`.
    fn debug(&mut self, label: &str, value: &dyn Debug) {
        self.texts
            .push((format!("Debug of {label}"), format!("{value:?}")));
        self.texts
            .push((format!("{{:#?}} of {label}"), format!("{value:#?}")));
    }

    /// `Display`, `{:?}` and `{:#?}` of `error`, and `Display` of each of its causes.
    fn error(&mut self, label: &str, error: &(dyn Error + 'static)) {
        self.texts
            .push((format!("Display of {label}"), error.to_string()));
        self.debug(label, &error);
        let mut cause = error.source();
        while let Some(inner) = cause {
            self.texts
                .push((format!("Display of a cause of {label}"), inner.to_string()));
            cause = inner.source();
        }
    }

    fn outcome<T: Debug>(&mut self, label: &str, result: &Result<T, ClientError>) {
        match result {
            Ok(value) => self.debug(label, value),
            Err(error) => self.error(label, error),
        }
    }

    fn text(&mut self, label: &str, text: String) {
        self.texts.push((label.to_owned(), text));
    }
}

/// A private key, loaded back through its PEM and its private JWK, and every form of its
/// secret: the private JWK members as the JWK writes them, and their bytes (which the PKCS#8
/// PEM's base64 holds at some alignment).
struct Key {
    pem: String,
    jwk: String,
    /// The private members of the JWK: name and base64url text.
    private: Vec<(&'static str, String)>,
}

/// One DER element: its tag, its contents, and what follows it.
fn der_element(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let (length, header) = if input[1] < 0x80 {
        (usize::from(input[1]), 2)
    } else {
        let count = usize::from(input[1] & 0x7f);
        let length = input[2..2 + count]
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, 2 + count)
    };
    (
        input[0],
        &input[header..header + length],
        &input[header + length..],
    )
}

/// The DER of a PEM's base64 body.
fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    Base64::decode_vec(&body).unwrap()
}

impl Key {
    fn generate() -> Self {
        let key = PrivateKey::generate_p384().unwrap();
        let pem = key.to_pkcs8_pem().unwrap().to_string();
        let der = pem_der(&pem);
        // In P-384 PKCS#8 the private scalar follows `version 1, OCTET STRING (48)`.
        let at = der
            .windows(5)
            .position(|window| window == [0x02, 0x01, 0x01, 0x04, 0x30])
            .unwrap()
            + 5;
        let d = Base64UrlUnpadded::encode_string(&der[at..at + 48]);
        let public: Value = serde_json::to_value(key.public_jwk(None)).unwrap();
        let jwk = json!({
            "kty": "EC",
            "crv": "P-384",
            "x": public["x"],
            "y": public["y"],
            "d": d,
        })
        .to_string();
        Self::checked(&key, pem, jwk, vec![("d", d)])
    }

    /// An RSA 2048 key (RS384 assertions), generated once per test binary: `d`, `p`, `q`,
    /// `dp`, `dq` and `qi` are all secret.
    fn rsa() -> &'static Self {
        static RSA: OnceLock<Key> = OnceLock::new();
        RSA.get_or_init(|| {
            let key = PrivateKey::generate_rsa(2048).unwrap();
            let pem = key.to_pkcs8_pem().unwrap().to_string();
            let der = pem_der(&pem);
            // PrivateKeyInfo { version, algorithm, OCTET STRING { RSAPrivateKey { version,
            // n, e, d, p, q, dp, dq, qi } } }
            let (_, info, _) = der_element(&der);
            let (_, _, rest) = der_element(info);
            let (_, _, rest) = der_element(rest);
            let (tag, octets, _) = der_element(rest);
            assert_eq!(tag, 0x04);
            let (_, mut fields, _) = der_element(octets);
            let mut numbers = Vec::new();
            while !fields.is_empty() {
                let (tag, value, rest) = der_element(fields);
                assert_eq!(tag, 0x02);
                let unsigned: Vec<u8> = value.iter().copied().skip_while(|b| *b == 0).collect();
                numbers.push(Base64UrlUnpadded::encode_string(&unsigned));
                fields = rest;
            }
            assert_eq!(numbers.len(), 9, "an RSAPrivateKey has nine integers");
            let names = ["version", "n", "e", "d", "p", "q", "dp", "dq", "qi"];
            let mut jwk = Map::new();
            jwk.insert("kty".to_owned(), Value::from("RSA"));
            for (name, number) in names.iter().zip(&numbers).skip(1) {
                jwk.insert((*name).to_owned(), Value::from(number.clone()));
            }
            let private = names
                .iter()
                .zip(&numbers)
                .skip(3)
                .map(|(name, number)| (*name, number.clone()))
                .collect();
            Self::checked(&key, pem, Value::Object(jwk).to_string(), private)
        })
    }

    /// The key, after checking that its private JWK loads back to it.
    fn checked(
        key: &PrivateKey,
        pem: String,
        jwk: String,
        private: Vec<(&'static str, String)>,
    ) -> Self {
        assert_eq!(
            PrivateKey::from_jwk(&jwk).unwrap().thumbprint(),
            key.thumbprint()
        );
        Self { pem, jwk, private }
    }

    /// The key's secret in every form: each private member as the JWK writes it, and its
    /// bytes in every encoding (which covers the PEM, whose base64 holds them at some
    /// alignment). The PEM's other parts hold only the public key and algorithm identifiers.
    fn needles(&self, needles: &mut Needles) {
        for (name, text) in &self.private {
            Self::member_needles(name, text, needles);
        }
    }

    fn member_needles(name: &str, text: &str, needles: &mut Needles) {
        needles.add_form(&format!("the private JWK's {name}"), text.as_bytes());
        needles.add(
            &format!("the private key's {name}"),
            &Base64UrlUnpadded::decode_vec(text).unwrap(),
        );
    }

    /// Each private member's needles find it in both the PEM and the JWK: the members were
    /// read right, and the search would catch either form.
    fn assert_needles_find_the_key(&self) {
        for (name, text) in &self.private {
            let mut needles = Needles::default();
            Self::member_needles(name, text, &mut needles);
            assert!(
                needles.find(&self.pem).is_some(),
                "{name} not found in the PEM"
            );
            assert!(
                needles.find(&self.jwk).is_some(),
                "{name} not found in the JWK"
            );
        }
    }

    fn load_pem(&self) -> PrivateKey {
        PrivateKey::from_pem(&self.pem).unwrap()
    }

    fn load_jwk(&self) -> PrivateKey {
        PrivateKey::from_jwk(&self.jwk).unwrap()
    }
}

fn builder(server: &Server) -> ClientConfigBuilder {
    ClientConfig::builder(format!("{}/fhir", server.root()))
        .client_id(CLIENT_ID)
        .redirect_uri("https://app.example/callback")
        .scopes("launch/patient patient/*.rs openid fhirUser offline_access")
        .allow_insecure_localhost(true)
        // The mock EHR's code exchange and refresh answer with an opaque id_token (a known
        // secret to search for); verification, and its errors, are exercised by
        // `id_token_flows` with a token the server signs.
        .accept_unverified_id_tokens_insecure(true)
        .http_options(HttpOptions::new().timeout(Duration::from_secs(5)))
}

fn symmetric(server: &Server, method: SecretMethod) -> SmartClient {
    let config = builder(server)
        .client_secret(ClientSecret::new(CLIENT_SECRET))
        .secret_method(method)
        .build()
        .unwrap();
    SmartClient::new(config, ClientType::ConfidentialSymmetric).unwrap()
}

fn asymmetric(server: &Server, key: PrivateKey) -> SmartClient {
    let config = builder(server)
        .private_key(key)
        .jwks_uri("https://app.example/.well-known/jwks.json")
        .build()
        .unwrap();
    SmartClient::new(config, ClientType::ConfidentialAsymmetric).unwrap()
}

fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Every flow, once, recording everything that can be printed. `state_ok` receives the
/// exhibits that carry the `state` by design (the authorization URL and form).
fn every_flow(
    client: &SmartClient,
    exhibits: &mut Exhibits,
    state_ok: &mut Exhibits,
    one_time: &mut Needles,
    expect_success: bool,
) {
    exhibits.debug("ClientConfig", client.config());
    exhibits.debug("SmartClient", client);
    exhibits.outcome("discovery", &client.discover());
    for method in [AuthorizeMethod::Get, AuthorizeMethod::Post] {
        let request = client
            .authorize(AuthorizeOptions::new().method(method).launch("launch-1"))
            .unwrap();
        // Its Debug hides the state; only the URL and the HTML page the browser gets carry it.
        exhibits.debug("AuthorizationRequest", &request);
        state_ok.text("AuthorizationRequest::url", request.url().to_string());
        state_ok.text("AuthorizationRequest::html", request.html());
        let pending = request.into_pending();
        one_time.add("state", pending.state().expose_secret().as_bytes());
        one_time.add(
            "PKCE verifier",
            pending.verifier().expose_secret().as_bytes(),
        );
        exhibits.debug("PendingAuthorization", &pending);
        let callback = format!(
            "https://app.example/callback?code={}&state={}",
            encoded(AUTH_CODE),
            pending.state().expose_secret()
        );
        let token = client.complete_authorization(&callback, &pending);
        if expect_success {
            let token = token.as_ref().unwrap();
            assert_eq!(token.access_token().expose_secret(), ACCESS_TOKEN);
            assert_eq!(
                token.refresh_token().unwrap().expose_secret(),
                REFRESH_TOKEN
            );
            assert_eq!(token.id_token().unwrap().expose_secret(), ID_TOKEN);
        }
        exhibits.outcome("code exchange", &token);
    }
    id_token_flows(client, exhibits, one_time, expect_success);

    let refresh = RefreshToken::new(REFRESH_TOKEN);
    let access = AccessToken::new(ACCESS_TOKEN);
    exhibits.outcome("refresh", &client.refresh(&refresh, None));
    for (label, token) in [
        ("access token", TokenRef::Access(&access)),
        ("refresh token", TokenRef::Refresh(&refresh)),
    ] {
        let by_client = client.introspect(token, IntrospectWith::Client);
        let by_bearer = client.introspect(token, IntrospectWith::Bearer(&access));
        if expect_success {
            assert!(by_client.as_ref().unwrap().active());
            assert!(by_bearer.as_ref().unwrap().active());
        }
        exhibits.outcome(
            &format!("introspection of the {label} (client)"),
            &by_client,
        );
        exhibits.outcome(
            &format!("introspection of the {label} (bearer)"),
            &by_bearer,
        );
        let revoked = client.revoke(token);
        exhibits.outcome(&format!("revocation of the {label}"), &revoked);
    }
    let mut metadata = Map::new();
    metadata.insert("client_name".to_owned(), Value::from("leak test"));
    metadata.insert(
        "redirect_uris".to_owned(),
        json!(["https://app.example/callback"]),
    );
    let initial = AccessToken::new(INITIAL_ACCESS_TOKEN);
    let registration = client.register(&metadata, Some(&initial));
    if expect_success {
        let registration = registration.as_ref().unwrap();
        assert_eq!(
            registration.client_secret().unwrap().expose_secret(),
            REGISTERED_SECRET
        );
        assert_eq!(
            registration
                .registration_access_token()
                .unwrap()
                .expose_secret(),
            REGISTRATION_TOKEN
        );
    }
    exhibits.outcome("registration", &registration);
    let patient = client.read_resource(&access, "Patient/p1");
    if expect_success {
        assert_eq!(patient.as_ref().unwrap()["id"], "p1");
    }
    exhibits.outcome("FHIR read", &patient);
    exhibits.outcome(
        "FHIR read outside the base",
        &client.read_resource(&access, "https://elsewhere.example/Patient/p1"),
    );
}

/// `id_token` verification: one the server signed (with the nonce sent), and the opaque one
/// it issued.
fn id_token_flows(
    client: &SmartClient,
    exhibits: &mut Exhibits,
    one_time: &mut Needles,
    expect_success: bool,
) {
    let root = client
        .config()
        .base_url()
        .as_str()
        .trim_end_matches("/fhir")
        .to_owned();
    let signed = ehr::signed_id_token(&root, "n-1");
    one_time.add("a signed id_token", signed.as_bytes());
    let verified = client.verify_id_token(&IdToken::new(signed), Some("n-1"));
    if expect_success {
        assert_eq!(
            verified.as_ref().unwrap().claims()["fhirUser"],
            "Practitioner/1"
        );
    }
    exhibits.outcome("id_token verification", &verified);
    exhibits.outcome(
        "verification of an opaque id_token",
        &client.verify_id_token(&IdToken::new(ID_TOKEN), None),
    );
}

/// The assertions the server received, as secrets.
fn captured_assertions(server: &Server, needles: &mut Needles) -> usize {
    let mut count = 0;
    for body in server.request_bodies() {
        for (name, value) in smart_client::core::form::decode(&body) {
            if name == "client_assertion" {
                needles.add("a client assertion", value.as_bytes());
                let signature = value.rsplit('.').next().unwrap();
                needles.add("a client assertion's signature", signature.as_bytes());
                count += 1;
            }
        }
    }
    count
}

/// Fails, naming the secret and where, if any exhibit shows one. `state_ok` holds the
/// exhibits that carry the `state` by design (the authorization URL and form), checked for
/// everything else.
fn assert_no_leaks(
    exhibits: &Exhibits,
    state_ok: &Exhibits,
    needles: &Needles,
    one_time: &Needles,
) {
    let mut leaks = Vec::new();
    for (label, text) in &exhibits.texts {
        for found in [needles.find(text), one_time.find(text)]
            .into_iter()
            .flatten()
        {
            leaks.push(format!("{label}: {found}\n    {text}"));
        }
    }
    for (label, text) in &state_ok.texts {
        let found = needles.find(text).or_else(|| {
            one_time
                .find(text)
                .filter(|found| !found.starts_with("state ("))
        });
        if let Some(found) = found {
            leaks.push(format!("{label}: {found}\n    {text}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

/// The one place secrets do reach the log: at trace level, ureq-proto (ureq's HTTP/1.1
/// codec) hex-dumps every byte it writes and reads, 16 bytes a line. That is the wire itself
/// (Authorization headers, form bodies, token answers), so applications refuse those records
/// with `smart_client::reveals_wire_data`; `docs/security.md` says so. The capture takes
/// everything, and the test holds that every line showing a secret is one that helper refuses:
/// an application that follows the advice logs nothing secret, at any level, from any crate.
fn refused_by_wire_filter(line: &capture::Line) -> bool {
    let metadata = log::Metadata::builder()
        .level(line.level)
        .target(&line.target)
        .build();
    smart_client::reveals_wire_data(&metadata)
}

/// Fails if any log line captured so far shows a secret (other than ureq's trace-level lines,
/// which `smart_client::reveals_wire_data` refuses), or if nothing was captured.
fn assert_logs_clean(needles: &Needles, one_time: &Needles) {
    let lines = capture::lines();
    assert!(
        lines
            .iter()
            .any(|line| line.target.starts_with("smart_client")),
        "nothing was logged by smart_client: the capture is not working"
    );
    assert!(
        lines.iter().any(|line| line.target.starts_with("ureq")),
        "nothing was logged by ureq: the capture is not working"
    );
    // The library returns its errors; logging them at error too would print each twice.
    let errors: Vec<&str> = lines
        .iter()
        .filter(|line| line.level == log::Level::Error && line.target.starts_with("smart_"))
        .map(|line| line.text.as_str())
        .collect();
    assert!(errors.is_empty(), "logged at error: {errors:?}");
    let mut wire_dump = 0;
    let mut leaks = Vec::new();
    for line in &lines {
        let Some(found) = needles
            .find(&line.text)
            .or_else(|| one_time.find(&line.text))
        else {
            continue;
        };
        if refused_by_wire_filter(line) {
            wire_dump += 1;
        } else {
            leaks.push(format!("{found}\n    {}", line.text));
        }
    }
    eprintln!(
        "{} log lines captured; {wire_dump} trace lines of ureq's wire dump show secrets",
        lines.len()
    );
    assert!(
        leaks.is_empty(),
        "{} of {} log lines leak:\n{}",
        leaks.len(),
        lines.len(),
        leaks.join("\n")
    );
}

#[test]
fn symmetric_clients_leak_nothing() {
    capture::install();
    let server = ehr::start(Mode::Good);
    let mut exhibits = Exhibits::default();
    let mut state_ok = Exhibits::default();
    let mut one_time = Needles::default();
    for method in [
        SecretMethod::Basic,
        SecretMethod::BasicRfc6749,
        SecretMethod::Post,
    ] {
        let client = symmetric(&server, method);
        every_flow(&client, &mut exhibits, &mut state_ok, &mut one_time, true);
    }
    assert_no_leaks(&exhibits, &state_ok, &needles::fixed(), &one_time);
    assert_logs_clean(&needles::fixed(), &one_time);
}

#[test]
fn asymmetric_clients_and_backend_services_leak_nothing() {
    capture::install();
    let server = ehr::start(Mode::Good);
    let key = Key::generate();
    let rsa = Key::rsa();
    let mut exhibits = Exhibits::default();
    let mut state_ok = Exhibits::default();
    let mut one_time = Needles::default();
    key.needles(&mut one_time);
    rsa.needles(&mut one_time);
    for private_key in [
        key.load_pem(),
        key.load_jwk(),
        rsa.load_pem(),
        rsa.load_jwk(),
    ] {
        exhibits.debug("PrivateKey", &private_key);
        exhibits.debug("KeySigner", &private_key.signer(None).unwrap());
        let client = asymmetric(&server, private_key);
        exhibits.debug("AssertionSigner", &client.config().assertion_signer());
        every_flow(&client, &mut exhibits, &mut state_ok, &mut one_time, true);
        let backend = client.backend_services_token(None);
        assert_eq!(
            backend.as_ref().unwrap().access_token().expose_secret(),
            ACCESS_TOKEN
        );
        exhibits.outcome("backend services token", &backend);
    }
    let assertions = captured_assertions(&server, &mut one_time);
    // Per client: two code exchanges, a refresh, two client introspections, two
    // revocations and a backend token, each with a fresh assertion.
    assert_eq!(assertions, 4 * 8, "assertions captured");
    let algorithms: Vec<String> = server
        .request_bodies()
        .iter()
        .flat_map(|body| smart_client::core::form::decode(body))
        .filter(|(name, _)| name == "client_assertion")
        .map(|(_, assertion)| {
            let (header, _) = smart_client::jwt::decode_unverified(&assertion).unwrap();
            header["alg"].as_str().unwrap().to_owned()
        })
        .collect();
    for alg in ["ES384", "RS384"] {
        assert_eq!(
            algorithms.iter().filter(|found| *found == alg).count(),
            2 * 8,
            "{alg} assertions: {algorithms:?}"
        );
    }
    assert_no_leaks(&exhibits, &state_ok, &needles::fixed(), &one_time);
    assert_logs_clean(&needles::fixed(), &one_time);
}
