//! Integration tests of smart-sandbox: every endpoint over real HTTP on loopback, driven with
//! ureq, smart-token's requests and smart-jwt-assertion's assertions, with the negatives the
//! SMART App Launch spec calls for.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a failing unwrap or panic is a failing test"
)]

mod apps;
mod authorize;
mod client_auth;
mod discovery;
mod endpoints;
mod flows;
mod token_policy;
mod transport;
mod udap;

use http::{HeaderMap, Method, Request};
use serde_json::{Map, Value};
use smart_core::{ClientId, EndpointUrl, RedirectUri, TokenUrl};
use smart_jwt_assertion::{AssertionSigner, PrivateKey};
use smart_pkce::PkceVerifier;
use smart_sandbox::{Sandbox, demo};
use smart_token::{AuthorizationCode, ClientAuth, ClientSecret, TokenRequest, TokenResponse};
use url::Url;

/// A ureq agent as the house style sets it up: no redirects followed, non-2xx answers read,
/// no proxy. It keeps connections alive.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into()
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> Map<String, Value> {
        smart_core::json::parse_object(&self.body).unwrap_or_else(|error| {
            panic!(
                "status {}: not a JSON object ({error}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The `Location` of a redirect.
    pub(crate) fn location(&self) -> Url {
        assert_eq!(self.status, 302, "{}", String::from_utf8_lossy(&self.body));
        Url::parse(self.header("location").unwrap()).unwrap()
    }

    /// The `error` of an OAuth error answer, after checking its status and shape
    /// (RFC 6749 §5.2: JSON, `error_description`, not cacheable).
    pub(crate) fn oauth_error(&self, status: u16) -> String {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        body["error"].as_str().unwrap().to_owned()
    }

    pub(crate) fn to_http(&self) -> http::Response<Vec<u8>> {
        let mut response = http::Response::new(self.body.clone());
        *response.status_mut() = http::StatusCode::from_u16(self.status).unwrap();
        *response.headers_mut() = self.headers.clone();
        response
    }

    pub(crate) fn token(&self) -> TokenResponse {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("cache-control"), Some("no-store"));
        TokenResponse::parse(&self.to_http()).unwrap()
    }
}

pub(crate) fn send(agent: &ureq::Agent, request: Request<Vec<u8>>) -> Answer {
    let mut response = agent.run(request).unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_vec().unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

pub(crate) fn get(agent: &ureq::Agent, url: &str, bearer: Option<&str>) -> Answer {
    let mut request = Request::builder().method(Method::GET).uri(url);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    send(agent, request.body(Vec::new()).unwrap())
}

pub(crate) fn post_form(
    agent: &ureq::Agent,
    url: &str,
    pairs: &[(&str, &str)],
    authorization: Option<&str>,
) -> Answer {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(url)
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let body = smart_core::form::encode(pairs.iter().copied());
    send(agent, request.body(body.into_bytes()).unwrap())
}

pub(crate) fn token_url(sandbox: &Sandbox) -> TokenUrl {
    TokenUrl::parse(sandbox.token_url()).unwrap()
}

pub(crate) fn endpoint(sandbox: &Sandbox, path: &str) -> EndpointUrl {
    EndpointUrl::parse(format!("{}{path}", sandbox.base_url())).unwrap()
}

pub(crate) fn client_id(id: &str) -> ClientId {
    ClientId::parse(id).unwrap()
}

pub(crate) fn public_auth() -> ClientAuth {
    ClientAuth::public(client_id(demo::PUBLIC_CLIENT_ID))
}

pub(crate) fn symmetric_auth() -> ClientAuth {
    ClientAuth::client_secret_basic(
        client_id(demo::SYMMETRIC_CLIENT_ID),
        ClientSecret::new(demo::SYMMETRIC_CLIENT_SECRET),
    )
}

pub(crate) fn key_auth(id: &str, key: &PrivateKey, kid: &str) -> ClientAuth {
    ClientAuth::private_key_jwt(
        client_id(id),
        AssertionSigner::from_key(key, kid, None).unwrap(),
    )
}

pub(crate) fn asymmetric_auth() -> ClientAuth {
    key_auth(
        demo::ASYMMETRIC_CLIENT_ID,
        &demo::asymmetric_key(),
        demo::asymmetric_kid(),
    )
}

pub(crate) fn backend_auth() -> ClientAuth {
    key_auth(
        demo::BACKEND_CLIENT_ID,
        &demo::backend_key(),
        demo::backend_kid(),
    )
}

/// The parameters of a valid authorization request, and its verifier.
pub(crate) struct AuthorizeRequest {
    pub(crate) params: Vec<(String, String)>,
    pub(crate) verifier: PkceVerifier,
    pub(crate) state: String,
}

impl AuthorizeRequest {
    pub(crate) fn new(sandbox: &Sandbox, client: &str, scope: &str) -> Self {
        let verifier = PkceVerifier::generate().unwrap();
        let state = smart_pkce::State::generate().unwrap();
        let params = [
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", demo::REDIRECT_URI),
            ("scope", scope),
            ("state", state.expose_secret()),
            ("aud", sandbox.base_url()),
            ("code_challenge", verifier.challenge().as_str()),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        Self {
            params,
            verifier,
            state: state.expose_secret().to_owned(),
        }
    }

    /// Sets (or with `None`, removes) a parameter.
    pub(crate) fn set(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.retain(|(n, _)| n != name);
        if let Some(value) = value {
            self.params.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    /// `GET /authorize?...`
    pub(crate) fn get(&self, agent: &ureq::Agent, sandbox: &Sandbox) -> Answer {
        let query = smart_core::form::encode(self.pairs());
        get(agent, &format!("{}?{query}", sandbox.authorize_url()), None)
    }

    /// `POST /authorize` with a form body.
    pub(crate) fn post(&self, agent: &ureq::Agent, sandbox: &Sandbox) -> Answer {
        post_form(agent, &sandbox.authorize_url(), &self.pairs(), None)
    }
}

/// The parameters of a redirect back to the app.
pub(crate) fn redirect_params(location: &Url) -> Map<String, Value> {
    let mut params = Map::new();
    for (name, value) in location.query_pairs() {
        params.insert(name.into_owned(), Value::from(value.into_owned()));
    }
    params
}

/// The code of a successful redirect, after checking `state` and `iss`.
pub(crate) fn code_from(answer: &Answer, sandbox: &Sandbox, request: &AuthorizeRequest) -> String {
    let location = answer.location();
    assert!(
        location.as_str().starts_with("http://127.0.0.1/callback?"),
        "{location}"
    );
    let params = redirect_params(&location);
    assert_eq!(params["state"], request.state.as_str());
    assert_eq!(params["iss"], sandbox.base_url());
    assert!(params.get("error").is_none(), "{params:?}");
    params["code"].as_str().unwrap().to_owned()
}

/// Authorizes (GET, auto-approve) and returns the code and the request.
pub(crate) fn authorize(
    agent: &ureq::Agent,
    sandbox: &Sandbox,
    client: &str,
    scope: &str,
    launch: Option<&str>,
) -> (String, AuthorizeRequest) {
    let request = AuthorizeRequest::new(sandbox, client, scope).set("launch", launch);
    let answer = request.get(agent, sandbox);
    (code_from(&answer, sandbox, &request), request)
}

/// The code exchange, as smart-token builds it.
pub(crate) fn exchange(
    agent: &ureq::Agent,
    sandbox: &Sandbox,
    auth: &ClientAuth,
    code: &str,
    verifier: &PkceVerifier,
) -> Answer {
    let request = TokenRequest::authorization_code(
        &AuthorizationCode::new(code),
        &RedirectUri::parse(demo::REDIRECT_URI).unwrap(),
        verifier,
    )
    .build(&token_url(sandbox), auth)
    .unwrap();
    send(agent, request)
}

/// A full code flow: authorize, then exchange.
pub(crate) fn code_flow(
    agent: &ureq::Agent,
    sandbox: &Sandbox,
    auth: &ClientAuth,
    scope: &str,
    launch: Option<&str>,
) -> TokenResponse {
    let (code, request) = authorize(agent, sandbox, auth.client_id().as_str(), scope, launch);
    exchange(agent, sandbox, auth, &code, &request.verifier).token()
}

/// The FHIR read of a Patient with a Bearer token.
pub(crate) fn read_patient(
    agent: &ureq::Agent,
    sandbox: &Sandbox,
    id: &str,
    token: Option<&str>,
) -> Answer {
    get(
        agent,
        &format!("{}/Patient/{id}", sandbox.base_url()),
        token,
    )
}

pub(crate) const PATIENT_SCOPES: &str =
    "launch/patient openid fhirUser offline_access patient/*.rs";
