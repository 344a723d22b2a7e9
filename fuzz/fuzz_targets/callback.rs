//! The redirect back to the app: callback URL parsing (full URL, `?query` or bare query),
//! the state, `iss` and error checks, then the code exchange and its token answer.
//!
//! Input: the callback text, then optionally a NUL byte and the body the token endpoint
//! answers with (a closure transport; nothing goes on the network). The pending
//! authorization has a fixed state, so the fuzzer can get past the state check.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use smart_client::{ClientConfig, ClientType, PendingAuthorization, SmartClient, TransportError};

const PENDING: &str = r#"{
    "state": "0123456789abcdef0123456789abcdef",
    "verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "client_id": "fuzz-app",
    "redirect_uri": "https://app.example/callback",
    "aud": "https://ehr.example/fhir",
    "token_endpoint": "https://ehr.example/token",
    "issuer": "https://ehr.example/auth",
    "scope": "launch/patient patient/*.rs openid fhirUser",
    "issued_at": 1700000000
}"#;

static PENDING_AUTHORIZATION: LazyLock<PendingAuthorization> =
    LazyLock::new(|| serde_json::from_str(PENDING).expect("a valid pending authorization"));

static CONFIG: LazyLock<ClientConfig> = LazyLock::new(|| {
    ClientConfig::builder("https://ehr.example/fhir")
        .client_id("fuzz-app")
        .redirect_uri("https://app.example/callback")
        .token_endpoint("https://ehr.example/token")
        .build()
        .expect("a valid configuration")
});

fuzz_target!(|data: &[u8]| {
    let (callback, body) = match data.iter().position(|&byte| byte == 0) {
        Some(at) => (&data[..at], Some(data[at + 1..].to_vec())),
        None => (data, None),
    };
    let callback = String::from_utf8_lossy(callback);
    let transport =
        move |_: http::Request<Vec<u8>>| -> Result<http::Response<Vec<u8>>, TransportError> {
            match &body {
                Some(body) => Ok(http::Response::builder()
                    .status(200)
                    .body(body.clone())
                    .expect("a valid response")),
                None => Err(TransportError::with_detail(
                    smart_client::TransportErrorKind::Connect,
                    "no network while fuzzing",
                )),
            }
        };
    let client = SmartClient::with_http_client(CONFIG.clone(), ClientType::Public, transport)
        .expect("a public client needs no credentials");
    match client.complete_authorization(&callback, &PENDING_AUTHORIZATION) {
        Ok(token) => {
            let _ = format!("{token:?}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }
});
