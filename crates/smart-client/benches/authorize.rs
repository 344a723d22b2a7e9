//! Building an authorization request with [`SmartClient::authorize`]: configured endpoints and
//! a closure transport that is never called, so no network is involved.
//!
//! The reference, measured in the same run, builds the same URL by hand with the least work:
//! OS randomness for the state and the nonce (16 bytes each, hex; `openid` is asked for, so
//! the client adds a nonce) and the verifier (96 bytes, base64url, 128 characters), SHA-256
//! for the challenge, and the nine query parameters appended to a clone of the pre-parsed
//! endpoint. The ratio is the cost of the client's checks, newtypes and the
//! [`PendingAuthorization`](smart_client::PendingAuthorization) it keeps for the callback.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::{Criterion, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use smart_client::core::url::Url;
use smart_client::core::{OsRandom, RandomSource};
use smart_client::{
    AuthorizeOptions, ClientConfig, ClientType, SmartClient, TransportError, TransportErrorKind,
};

const BASE: &str = "https://ehr.example.com/fhir";
const AUTHORIZE: &str = "https://ehr.example.com/auth/authorize";
const CLIENT_ID: &str = "my-app";
const REDIRECT_URI: &str = "https://app.example.com/callback";
const SCOPES: &str = "launch/patient openid fhirUser offline_access patient/*.rs";

static NETWORK_CALLS: AtomicUsize = AtomicUsize::new(0);

fn client() -> SmartClient {
    let config = ClientConfig::builder(BASE)
        .client_id(CLIENT_ID)
        .redirect_uri(REDIRECT_URI)
        .scopes(SCOPES)
        .authorization_endpoint(AUTHORIZE)
        .token_endpoint("https://ehr.example.com/auth/token")
        .build()
        .expect("a valid configuration");
    SmartClient::with_http_client(
        config,
        ClientType::Public,
        |_: http::Request<Vec<u8>>| -> Result<http::Response<Vec<u8>>, TransportError> {
            NETWORK_CALLS.fetch_add(1, Ordering::Relaxed);
            Err(TransportError::with_detail(
                TransportErrorKind::Connect,
                "the benchmark makes no requests",
            ))
        },
    )
    .expect("a public client needs no credentials")
}

/// 16 bytes of OS randomness as 32 hex characters.
fn random_hex() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    OsRandom
        .fill(&mut bytes)
        .expect("OS randomness is available");
    bytes
        .iter()
        .flat_map(|byte| [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0x0f)]])
        .map(char::from)
        .collect()
}

/// The same URL built by hand.
fn reference(endpoint: &Url) -> Url {
    let state = random_hex();
    let mut verifier_bytes = [0u8; 96];
    OsRandom
        .fill(&mut verifier_bytes)
        .expect("OS randomness is available");
    let verifier = Base64UrlUnpadded::encode_string(&verifier_bytes);
    let challenge = Base64UrlUnpadded::encode_string(&Sha256::digest(verifier.as_bytes()));
    let mut url = endpoint.clone();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT_URI),
        ("aud", BASE),
        ("code_challenge_method", "S256"),
        ("scope", SCOPES),
        ("state", &state),
        ("code_challenge", &challenge),
        ("nonce", &random_hex()),
    ]);
    black_box(verifier);
    url
}

fn authorize(c: &mut Criterion) {
    let client = client();
    let endpoint = Url::parse(AUTHORIZE).expect("a valid URL");

    // Both sides build URLs with the same parameters, in the same order, of the same length.
    let ours = client.authorize(AuthorizeOptions::new()).expect("builds");
    let theirs = reference(&endpoint);
    let names =
        |url: &Url| -> Vec<String> { url.query_pairs().map(|(n, _)| n.into_owned()).collect() };
    assert_eq!(names(ours.url()), names(&theirs));
    assert_eq!(ours.url().as_str().len(), theirs.as_str().len());

    let mut group = c.benchmark_group("authorization URL");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(client.authorize(AuthorizeOptions::new()).expect("builds")));
    });
    group.bench_function("reference", |b| {
        b.iter(|| black_box(reference(black_box(&endpoint))));
    });
    group.finish();
    assert_eq!(
        NETWORK_CALLS.load(Ordering::Relaxed),
        0,
        "configured endpoints: authorize never touches the network"
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = authorize
}
criterion_main!(benches);
