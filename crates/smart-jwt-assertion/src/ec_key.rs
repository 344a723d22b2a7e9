//! P-384 keys: loading, generation, ES384 signing and verification (feature `es384`).

use p384::ecdsa::signature::{Signer as _, Verifier as _};
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use smart_core::RandomSource;
use zeroize::Zeroizing;

use crate::jwk::{Jwk, PublicMembers, b64url_member};
use crate::{Error, SignError, b64url};

/// Bytes in a P-384 field element or scalar.
const FIELD_BYTES: usize = 48;

/// Decodes a PKCS#8 or SEC1 P-384 private key (the curve was checked by the caller).
pub(crate) fn from_der(format: &'static str, der: &[u8]) -> Result<SigningKey, Error> {
    let secret = if format == "SEC1" {
        p384::SecretKey::from_sec1_der(der).map_err(|error| Error::MalformedKey {
            format,
            reason: "it is not a valid P-384 private key",
            source: Some(Box::new(error)),
        })?
    } else {
        use p384::pkcs8::DecodePrivateKey as _;
        p384::SecretKey::from_pkcs8_der(der).map_err(|error| Error::MalformedKey {
            format,
            reason: "it is not a valid P-384 private key",
            source: Some(Box::new(error)),
        })?
    };
    Ok(SigningKey::from(&secret))
}

/// A P-384 coordinate or scalar from a JWK: 48 bytes, or fewer when a producer dropped
/// leading zeros (left-padded here).
fn field_member(
    object: &Map<String, Value>,
    member: &'static str,
) -> Result<Zeroizing<[u8; FIELD_BYTES]>, Error> {
    let bytes = b64url_member(object, member)?.ok_or(Error::InvalidJwk {
        member: Some(member),
        problem: "is missing",
    })?;
    pad(&bytes, member)
}

fn pad(bytes: &[u8], member: &'static str) -> Result<Zeroizing<[u8; FIELD_BYTES]>, Error> {
    if bytes.len() > FIELD_BYTES || bytes.is_empty() {
        return Err(Error::InvalidJwk {
            member: Some(member),
            problem: "is not 48 bytes long, as P-384 needs",
        });
    }
    let mut out = Zeroizing::new([0u8; FIELD_BYTES]);
    out[FIELD_BYTES - bytes.len()..].copy_from_slice(bytes);
    Ok(out)
}

/// Builds a P-384 key from the members of a JWK (RFC 7518 §6.2), checking that `x` and `y`
/// belong to `d`.
pub(crate) fn from_jwk(object: &Map<String, Value>) -> Result<SigningKey, Error> {
    let d = field_member(object, "d")?;
    let x = field_member(object, "x")?;
    let y = field_member(object, "y")?;
    let key = SigningKey::from_slice(&*d).map_err(|_| Error::MalformedKey {
        format: "JWK",
        reason: "`d` is not a valid P-384 private scalar",
        source: None,
    })?;
    let point = key.verifying_key().to_sec1_point(false);
    let public = point.as_bytes();
    if public.get(1..=FIELD_BYTES) != Some(&x[..]) || public.get(FIELD_BYTES + 1..) != Some(&y[..])
    {
        return Err(Error::InvalidJwk {
            member: Some("x"),
            problem: "and `y` are not the public key of `d`",
        });
    }
    Ok(key)
}

/// Generates a key from `rng` by rejection sampling.
pub(crate) fn generate(rng: &mut dyn RandomSource) -> Result<SigningKey, Error> {
    let mut scalar = Zeroizing::new([0u8; FIELD_BYTES]);
    for _ in 0..16 {
        rng.fill(&mut scalar[..])?;
        if let Ok(key) = SigningKey::from_slice(&scalar[..]) {
            return Ok(key);
        }
    }
    Err(Error::KeyGeneration {
        source: "the random source gave no valid P-384 scalar in 16 draws; it is broken".into(),
    })
}

pub(crate) fn to_pkcs8_pem(key: &SigningKey) -> Result<Zeroizing<String>, Error> {
    use p384::pkcs8::EncodePrivateKey as _;
    p384::SecretKey::from(key)
        .to_pkcs8_pem(p384::pkcs8::LineEnding::LF)
        .map_err(|error| Error::KeyEncoding {
            source: Box::new(error),
        })
}

pub(crate) fn public_members(key: &SigningKey) -> PublicMembers {
    let point = key.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    // An uncompressed point is 0x04 || x || y.
    let x = bytes.get(1..=FIELD_BYTES).unwrap_or_default();
    let y = bytes.get(FIELD_BYTES + 1..).unwrap_or_default();
    PublicMembers::Ec {
        x: b64url(x),
        y: b64url(y),
    }
}

/// ES384 over `input`: RFC 6979 nonce, SHA-384, the 96-byte `r || s`.
pub(crate) fn sign(key: &SigningKey, input: &[u8]) -> Result<Vec<u8>, SignError> {
    let signature: Signature = key
        .try_sign(input)
        .map_err(|error| SignError::with_source("ECDSA signing failed", error))?;
    Ok(signature.to_bytes().to_vec())
}

/// The public key of a P-384 JWK.
fn public_key(jwk: &Jwk) -> Result<VerifyingKey, Error> {
    let decode = |member: &'static str, value: Option<&str>| {
        let value = value.ok_or(Error::InvalidJwk {
            member: Some(member),
            problem: "is missing",
        })?;
        let bytes = crate::b64url_decode(value).ok_or(Error::InvalidJwk {
            member: Some(member),
            problem: "is not base64url",
        })?;
        pad(&bytes, member)
    };
    let x = decode("x", jwk.x())?;
    let y = decode("y", jwk.y())?;
    let mut point = [0u8; 1 + 2 * FIELD_BYTES];
    point[0] = 0x04;
    point[1..=FIELD_BYTES].copy_from_slice(&x[..]);
    point[FIELD_BYTES + 1..].copy_from_slice(&y[..]);
    VerifyingKey::from_sec1_bytes(&point).map_err(|_| Error::InvalidJwk {
        member: Some("x"),
        problem: "and `y` are not a point on P-384",
    })
}

/// Verifies an ES384 signature (96-byte `r || s`) with the key `jwk`.
pub(crate) fn verify(jwk: &Jwk, input: &[u8], signature: &[u8]) -> Result<bool, Error> {
    let key = public_key(jwk)?;
    let Ok(signature) = Signature::from_slice(signature) else {
        return Ok(false);
    };
    Ok(key.verify(input, &signature).is_ok())
}
