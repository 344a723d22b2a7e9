// The README's quickstart is a whole program without hidden `#[cfg]` lines: rustdoc tests the
// README in builds with both algorithms (the default).
#![cfg_attr(
    any(not(doctest), all(feature = "rs384", feature = "es384")),
    doc = include_str!("../README.md")
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod assertion;
mod der;
#[cfg(feature = "es384")]
mod ec_key;
mod error;
mod jwk;
mod jws;
mod key;
mod pem;
#[cfg(feature = "rs384")]
mod rsa_key;
mod signer;

use base64ct::{Base64UrlUnpadded, Encoding};

pub use algorithm::Algorithm;
pub use assertion::{
    AssertionSigner, CLIENT_ASSERTION_TYPE, ClientAssertion, JTI_BYTES, MAX_LIFETIME,
};
pub use error::{BoxError, Error, SignError};
pub use jwk::{Jwk, JwkSet};
pub use jws::{
    JsonObject, JwsSigner, VerifiedJws, decode_unverified, sign_compact, verify_compact,
};
pub use key::PrivateKey;
pub use signer::KeySigner;

/// Base64url without padding (RFC 7515 §2).
pub(crate) fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Strict base64url without padding: `=` and non-canonical trailing bits are refused.
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text).ok()
}
