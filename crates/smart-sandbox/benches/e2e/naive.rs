//! The naive reference client: a plain ureq agent posting the form and reading the answer
//! into a `serde_json::Value`; Backend Services assertions signed with ring.

use std::time::{SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use smart_client::token::CLIENT_ASSERTION_TYPE;
use smart_client::ureq;
use smart_sandbox::demo;

/// The naive client's agent: plain ureq, no redirects, no proxy, a 10 s timeout (the tests'
/// browser agent is exactly that).
pub(crate) use test_support::browser::agent;

/// The naive client's token request: post the form, read the answer as a JSON value.
pub(crate) fn post_token(agent: &ureq::Agent, url: &str, form: &[(&str, &str)]) -> Value {
    let mut response = agent
        .post(url)
        .header("accept", "application/json")
        .send_form(form.iter().copied())
        .expect("the sandbox answers");
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_vec()
        .expect("the answer has a body");
    let value: Value = serde_json::from_slice(&body).expect("the answer is JSON");
    assert_eq!(status, 200, "token request refused: {}", value["error"]);
    assert!(value["access_token"].is_string());
    value
}

pub(crate) fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    Base64::decode_vec(&body).expect("the demo key is valid PEM")
}

/// A client assertion signed with ring: the same header and claims as ours.
fn ring_assertion(
    alg: &str,
    kid: &str,
    token_url: &str,
    rng: &SystemRandom,
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut jti = [0u8; 32];
    rng.fill(&mut jti).expect("OS randomness is available");
    let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
    let claims = json!({
        "iss": demo::BACKEND_CLIENT_ID,
        "sub": demo::BACKEND_CLIENT_ID,
        "aud": token_url,
        "iat": now,
        "exp": now + 300,
        "jti": Base64UrlUnpadded::encode_string(&jti),
    });
    let encode = |value: &Value| {
        Base64UrlUnpadded::encode_string(&serde_json::to_vec(value).expect("serialises"))
    };
    let mut token = encode(&header);
    token.push('.');
    token.push_str(&encode(&claims));
    let signature = sign(token.as_bytes());
    token.push('.');
    token.push_str(&Base64UrlUnpadded::encode_string(&signature));
    token
}

/// What the naive client needs for its requests.
#[derive(Clone, Copy)]
pub(crate) struct Reference<'a> {
    pub(crate) agent: &'a ureq::Agent,
    pub(crate) token_url: &'a str,
    pub(crate) rng: &'a SystemRandom,
}

/// The naive Backend Services request: a ring-signed assertion, the form, a JSON value.
pub(crate) fn backend_reference<'a>(
    reference: &Reference<'a>,
    alg: &'static str,
    kid: &'static str,
    sign: &'a dyn Fn(&[u8]) -> Vec<u8>,
) -> impl FnMut() + 'a {
    let Reference {
        agent,
        token_url,
        rng,
    } = *reference;
    move || {
        let assertion = ring_assertion(alg, kid, token_url, rng, sign);
        std::hint::black_box(post_token(
            agent,
            token_url,
            &[
                ("grant_type", "client_credentials"),
                ("scope", demo::BACKEND_SCOPES),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        ));
    }
}
