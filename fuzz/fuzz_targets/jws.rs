//! JWS verification input: any compact token against a fixed JWK Set (the test fixtures'
//! RSA 2048 and P-384 public keys), and decoding without verification.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use smart_jwt_assertion::{Algorithm, Jwk, JwkSet, decode_unverified, verify_compact};

static KEYS: LazyLock<JwkSet> = LazyLock::new(|| {
    let rsa =
        include_str!("../../crates/smart-jwt-assertion/tests/fixtures/rsa2048.public.jwk.json");
    let p384 = include_str!("../../crates/smart-jwt-assertion/tests/fixtures/p384.public.jwk.json");
    [
        Jwk::parse(rsa)
            .expect("the RSA fixture")
            .with_kid("rsa-2048"),
        Jwk::parse(p384)
            .expect("the P-384 fixture")
            .with_kid("p384"),
        Jwk::parse(p384).expect("the P-384 fixture"),
    ]
    .into_iter()
    .collect()
});

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    for allowed in [
        &Algorithm::ALL[..],
        &[Algorithm::Es384],
        &[Algorithm::Rs384],
    ] {
        match verify_compact(&token, &KEYS, allowed) {
            Ok(verified) => {
                let _ = format!("{:?} {:?}", verified.header(), verified.claims());
                let _ = verified.kid();
            }
            Err(error) => {
                let _ = format!("{error} {error:?}");
            }
        }
    }
    if let Err(error) = decode_unverified(&token) {
        let _ = format!("{error} {error:?}");
    }
});
