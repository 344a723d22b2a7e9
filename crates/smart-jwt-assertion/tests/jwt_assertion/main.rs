//! Integration tests of smart-jwt-assertion: key loading and refusal, assertions with an
//! injected clock and RNG, JWKS export, JWS verification (positive and negative), and
//! interoperability with OpenSSL (fixtures) and ring (run here).
//!
//! The fixtures in `tests/fixtures` were made by `make-fixtures.sh` (OpenSSL 3.0) and
//! `make-jwks.py` (pyca/cryptography).

#![cfg(all(feature = "rs384", feature = "es384"))]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: a failing unwrap is a failing test"
)]

mod assertion;
mod interop;
mod jwks;
mod keys;
mod verify;

use std::fmt::Write as _;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use smart_core::RandomError;
use smart_jwt_assertion::{JwkSet, PrivateKey};

pub(crate) const RSA2048_PEM: &str = include_str!("../fixtures/rsa2048.pem");
pub(crate) const RSA2048_PKCS1_PEM: &str = include_str!("../fixtures/rsa2048-pkcs1.pem");
pub(crate) const RSA2048_PUBLIC_PEM: &str = include_str!("../fixtures/rsa2048-public.pem");
pub(crate) const RSA2048_PRIVATE_JWK: &str = include_str!("../fixtures/rsa2048.private.jwk.json");
pub(crate) const RSA2048_PUBLIC_JWK: &str = include_str!("../fixtures/rsa2048.public.jwk.json");
pub(crate) const RSA2048_THUMBPRINT: &str = include_str!("../fixtures/rsa2048.thumbprint");
pub(crate) const RSA4096_PEM: &str = include_str!("../fixtures/rsa4096.pem");
pub(crate) const RSA1024_PEM: &str = include_str!("../fixtures/rsa1024.pem");
pub(crate) const P384_PEM: &str = include_str!("../fixtures/p384.pem");
pub(crate) const P384_SEC1_PEM: &str = include_str!("../fixtures/p384-sec1.pem");
pub(crate) const P384_SEC1_WITH_PARAMS_PEM: &str =
    include_str!("../fixtures/p384-sec1-with-params.pem");
pub(crate) const P384_PUBLIC_PEM: &str = include_str!("../fixtures/p384-public.pem");
pub(crate) const P384_PRIVATE_JWK: &str = include_str!("../fixtures/p384.private.jwk.json");
pub(crate) const P384_PUBLIC_JWK: &str = include_str!("../fixtures/p384.public.jwk.json");
pub(crate) const P384_THUMBPRINT: &str = include_str!("../fixtures/p384.thumbprint");
pub(crate) const P256_PEM: &str = include_str!("../fixtures/p256.pem");
pub(crate) const P256_SEC1_PEM: &str = include_str!("../fixtures/p256-sec1.pem");
pub(crate) const P256_PRIVATE_JWK: &str = include_str!("../fixtures/p256.private.jwk.json");
pub(crate) const ED25519_PEM: &str = include_str!("../fixtures/ed25519.pem");
pub(crate) const P384_ENCRYPTED_PEM: &str = include_str!("../fixtures/p384-encrypted.pem");
pub(crate) const RSA_PKCS1_ENCRYPTED_PEM: &str =
    include_str!("../fixtures/rsa2048-pkcs1-encrypted.pem");
pub(crate) const OPENSSL_RS384_JWT: &str = include_str!("../fixtures/openssl-rs384.jwt");
pub(crate) const OPENSSL_RS256_JWT: &str = include_str!("../fixtures/openssl-rs256.jwt");
pub(crate) const OPENSSL_ES384_INPUT: &str = include_str!("../fixtures/openssl-es384.input");
pub(crate) const OPENSSL_ES384_DER_B64: &str = include_str!("../fixtures/openssl-es384.der.b64");

pub(crate) fn rsa2048() -> PrivateKey {
    PrivateKey::from_pem(RSA2048_PEM).unwrap()
}

pub(crate) fn p384() -> PrivateKey {
    PrivateKey::from_pem(P384_PEM).unwrap()
}

/// The JWK Set of the fixture keys, as pyca/cryptography wrote them, with the kids the
/// OpenSSL-made tokens carry.
pub(crate) fn fixture_jwks() -> JwkSet {
    let rsa = smart_jwt_assertion::Jwk::parse(RSA2048_PUBLIC_JWK)
        .unwrap()
        .with_kid("rsa-2048");
    let ec = smart_jwt_assertion::Jwk::parse(P384_PUBLIC_JWK)
        .unwrap()
        .with_kid("p384");
    JwkSet {
        keys: vec![rsa, ec],
    }
}

/// A deterministic source: 0, 1, 2, ... wrapping.
pub(crate) fn counting() -> impl FnMut(&mut [u8]) -> Result<(), RandomError> {
    let mut next = 0u8;
    move |buf: &mut [u8]| {
        for byte in buf {
            *byte = next;
            next = next.wrapping_add(1);
        }
        Ok(())
    }
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

pub(crate) fn b64url_decode(text: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(text).unwrap()
}

/// Standard base64 with padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// The bytes of standard base64.
pub(crate) fn b64_decode(text: &str) -> Vec<u8> {
    Base64::decode_vec(text).unwrap()
}

/// The DER inside the first PEM block of `pem`.
pub(crate) fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----") && !line.contains(':'))
        .collect();
    Base64::decode_vec(&body).unwrap()
}

/// Every way of printing an error: Display, Debug and the whole source chain.
pub(crate) fn render_error(error: &dyn std::error::Error) -> String {
    let mut out = format!("{error} {error:?}");
    let mut source = error.source();
    while let Some(cause) = source {
        write!(out, " | {cause} {cause:?}").unwrap();
        source = cause.source();
    }
    out
}

/// Asserts that `rendered` contains no 16-character run of the base64 lines or JWK members of
/// `secret_text` (a PEM or a JWK).
pub(crate) fn assert_no_key_material(rendered: &str, secret_text: &str) {
    for token in secret_text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_".contains(c))) {
        if token.len() < 16 {
            continue;
        }
        for window in token.as_bytes().windows(16).step_by(8) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(
                !rendered.contains(window),
                "key material {window:?} leaked into {rendered:?}"
            );
        }
    }
}
