//! RSA keys: loading, generation, RS256/RS384 signing and verification (feature `rs384`).

use rsa::pkcs1v15;
use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
use rsa::traits::PublicKeyParts as _;
// rsa 0.10 names them `PrivateKey` and `PublicKey`; ours are the RSA ones beside the EC ones.
use rsa::{BoxedUint, PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384};
use zeroize::Zeroizing;

use crate::jwk::{Jwk, PublicMembers, b64url_member};
use crate::{Algorithm, Error, SignError, b64url};

/// Smallest RSA key accepted (RFC 7518 §3.3).
pub(crate) const MIN_BITS: usize = 2048;
/// Largest RSA key accepted (the `rsa` crate's limit for public keys).
pub(crate) const MAX_BITS: usize = 8192;

fn malformed(
    format: &'static str,
    reason: &'static str,
    source: impl Into<crate::BoxError>,
) -> Error {
    Error::MalformedKey {
        format,
        reason,
        source: Some(source.into()),
    }
}

pub(crate) fn bits(key: &RsaPrivateKey) -> usize {
    key.n().bit_width() as usize
}

fn check_size(bits: usize) -> Result<(), Error> {
    if (MIN_BITS..=MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(Error::RsaKeySize { bits })
    }
}

/// Decodes a PKCS#8 or PKCS#1 RSA private key.
pub(crate) fn from_der(format: &'static str, der: &[u8]) -> Result<RsaPrivateKey, Error> {
    let key = if format == "PKCS#1" {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        RsaPrivateKey::from_pkcs1_der(der)
            .map_err(|error| malformed(format, "it is not a valid RSA private key", error))?
    } else {
        use rsa::pkcs8::DecodePrivateKey as _;
        RsaPrivateKey::from_pkcs8_der(der)
            .map_err(|error| malformed(format, "it is not a valid RSA private key", error))?
    };
    check_size(bits(&key))?;
    Ok(key)
}

/// Big-endian bytes of a JWK member as an integer of `bits_precision` bits.
fn uint(bytes: &[u8], bits_precision: u32, member: &'static str) -> Result<BoxedUint, Error> {
    BoxedUint::from_be_slice(bytes, bits_precision).map_err(|_| Error::InvalidJwk {
        member: Some(member),
        problem: "is larger than the modulus",
    })
}

fn precision(bytes: &[u8]) -> u32 {
    // At most MAX_BITS / 8 bytes reach here, so this fits.
    u32::try_from(bytes.len().max(8) * 8).unwrap_or(u32::MAX)
}

/// Builds an RSA private key from the members of a JWK (RFC 7518 §6.3).
#[expect(
    clippy::many_single_char_names,
    reason = "n, e, d, p and q are the names RFC 7518 gives them"
)]
pub(crate) fn from_jwk(object: &Map<String, Value>) -> Result<RsaPrivateKey, Error> {
    let n = b64url_member(object, "n")?.ok_or(missing("n"))?;
    let e = b64url_member(object, "e")?.ok_or(missing("e"))?;
    let d = b64url_member(object, "d")?.ok_or(missing("d"))?;
    let p = b64url_member(object, "p")?;
    let q = b64url_member(object, "q")?;
    // Check everything that can fail before any secret becomes a BoxedUint, and hold the
    // BoxedUints in Zeroizing: an early return then leaves no unzeroized copy behind.
    let primes = match (p, q) {
        (Some(p), Some(q)) => Some((p, q)),
        (None, None) => None,
        _ => {
            return Err(Error::InvalidJwk {
                member: Some("p"),
                problem: "and `q` must be given together",
            });
        }
    };
    let n_bytes = strip_leading_zeros(&n);
    let n_bits = significant_bits(n_bytes);
    check_size(n_bits)?;
    let bits = precision(n_bytes);
    let n = uint(n_bytes, bits, "n")?;
    let e = uint(strip_leading_zeros(&e), precision(&e), "e")?;
    let d = Zeroizing::new(uint(&d, bits, "d")?);
    let mut factors: Zeroizing<Vec<BoxedUint>> = Zeroizing::new(Vec::with_capacity(2));
    if let Some((p, q)) = primes {
        factors.push(uint(&p, bits, "p")?);
        factors.push(uint(&q, bits, "q")?);
    }
    // `rsa` takes the numbers by value; the key it builds zeroizes them when dropped.
    RsaPrivateKey::from_components(n, e, (*d).clone(), core::mem::take(&mut *factors))
        .map_err(|error| malformed("JWK", "its numbers do not form an RSA key", error))
}

fn missing(member: &'static str) -> Error {
    Error::InvalidJwk {
        member: Some(member),
        problem: "is missing",
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn significant_bits(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(&first) => bytes.len() * 8 - first.leading_zeros() as usize,
    }
}

/// Generates a key of `bits` bits with the OS RNG.
pub(crate) fn generate(bits: usize) -> Result<RsaPrivateKey, Error> {
    generate_with(bits, &mut smart_core::OsRandom)
}

/// Generates a key of `bits` bits with the random bytes of `source`.
///
/// `rsa` cannot report a random-number failure (it needs an infallible `CryptoRng`), so
/// [`FailSoft`] records the first failure, lets the generation finish on filler bytes, and the
/// key is then thrown away: a failure is [`Error::Random`], never a panic and never a key.
fn generate_with(
    bits: usize,
    source: &mut dyn smart_core::RandomSource,
) -> Result<RsaPrivateKey, Error> {
    // Fail early if the OS has no randomness at all.
    source.fill(&mut [0u8; 16])?;
    let mut rng = FailSoft {
        source,
        failure: None,
        filler: 0,
    };
    let key = RsaPrivateKey::new(&mut rng, bits);
    if let Some(error) = rng.failure {
        drop(key);
        return Err(Error::Random(error));
    }
    key.map_err(|error| Error::KeyGeneration {
        source: Box::new(error),
    })
}

/// A random source that never fails towards `rsa`: see [`generate_with`].
struct FailSoft<'s> {
    source: &'s mut dyn smart_core::RandomSource,
    failure: Option<smart_core::RandomError>,
    /// State of the filler (`SplitMix64`) used after a failure; its output is never kept.
    filler: u64,
}

impl rsa::rand_core::TryRng for FailSoft<'_> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        if self.failure.is_none() {
            match self.source.fill(dst) {
                Ok(()) => return Ok(()),
                Err(error) => self.failure = Some(error),
            }
        }
        // The key being built is discarded; these bytes only let the prime search end.
        for chunk in dst.chunks_mut(8) {
            self.filler = self.filler.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.filler;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

// Only while the OS source works are the bytes cryptographic; after a failure the key is
// discarded (see `generate_with`).
impl rsa::rand_core::TryCryptoRng for FailSoft<'_> {}

pub(crate) fn to_pkcs8_pem(key: &RsaPrivateKey) -> Result<Zeroizing<String>, Error> {
    use rsa::pkcs8::EncodePrivateKey as _;
    key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|error| Error::KeyEncoding {
            source: Box::new(error),
        })
}

pub(crate) fn public_members(key: &RsaPrivateKey) -> PublicMembers {
    PublicMembers::Rsa {
        n: b64url(&key.n_bytes()),
        e: b64url(&key.e_bytes()),
    }
}

/// RSASSA-PKCS1-v1_5 over `input`. `Signer::sign` blinds with the OS RNG (rsa's `getrandom`
/// feature, see STACK.md §2).
pub(crate) fn sign<D>(key: &pkcs1v15::SigningKey<D>, input: &[u8]) -> Result<Vec<u8>, SignError>
where
    D: Digest,
{
    key.try_sign(input)
        .map(|signature| signature.to_vec())
        .map_err(|error| SignError::with_source("RSA signing failed", error))
}

/// The public key of an RSA JWK.
fn public_key(jwk: &Jwk) -> Result<RsaPublicKey, Error> {
    let decode = |member: &'static str, value: Option<&str>| {
        let value = value.ok_or(missing(member))?;
        crate::b64url_decode(value).ok_or(Error::InvalidJwk {
            member: Some(member),
            problem: "is not base64url",
        })
    };
    let n = decode("n", jwk.n())?;
    let e = decode("e", jwk.e())?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    check_size(significant_bits(n))?;
    let n = uint(n, precision(n), "n")?;
    let e = uint(e, precision(e), "e")?;
    RsaPublicKey::new_with_size_limits(n, e, MIN_BITS..=MAX_BITS).map_err(|_| Error::InvalidJwk {
        member: Some("e"),
        problem: "or `n` is not a usable RSA public key",
    })
}

/// Verifies an RS256 or RS384 signature with the key `jwk`.
pub(crate) fn verify(
    jwk: &Jwk,
    alg: Algorithm,
    input: &[u8],
    signature: &[u8],
) -> Result<bool, Error> {
    let key = public_key(jwk)?;
    if signature.len() != key.size() {
        return Ok(false);
    }
    let Ok(signature) = pkcs1v15::Signature::try_from(signature) else {
        return Ok(false);
    };
    let valid = if alg == Algorithm::Rs256 {
        pkcs1v15::VerifyingKey::<Sha256>::new(key)
            .verify(input, &signature)
            .is_ok()
    } else {
        pkcs1v15::VerifyingKey::<Sha384>::new(key)
            .verify(input, &signature)
            .is_ok()
    };
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use smart_core::{OsRandom, RandomError, RandomSource as _};

    use super::*;

    #[test]
    fn an_rng_failure_during_generation_is_an_error_not_a_panic() {
        // A working source: count how many draws a generation takes.
        let mut draws = 0_usize;
        let mut counting = |dst: &mut [u8]| -> Result<(), RandomError> {
            draws += 1;
            OsRandom.fill(dst)
        };
        generate_with(1024, &mut counting).unwrap();
        assert!(draws >= 2, "{draws}");
        // A source that fails after `works_for` draws: an error whenever it did fail, never a
        // key or a panic. How many draws a generation takes varies from run to run (a candidate
        // prime may be retried), so a later run may finish within `works_for` draws: then the
        // source never failed and a key is right.
        for works_for in 0..draws {
            let mut calls = 0_usize;
            let mut source = |dst: &mut [u8]| -> Result<(), RandomError> {
                calls += 1;
                if calls > works_for {
                    Err(RandomError::unavailable())
                } else {
                    OsRandom.fill(dst)
                }
            };
            let result = generate_with(1024, &mut source);
            let failed = calls > works_for;
            assert_eq!(result.is_err(), failed, "{works_for} of {calls}");
            if let Err(error) = result {
                assert!(matches!(error, Error::Random(_)), "{works_for}: {error:?}");
            }
        }
        // Failing at the first draw fails every time.
        let mut failing =
            |_: &mut [u8]| -> Result<(), RandomError> { Err(RandomError::unavailable()) };
        assert!(matches!(
            generate_with(1024, &mut failing),
            Err(Error::Random(_))
        ));
    }

    #[test]
    fn a_jwk_with_only_p_is_refused_before_any_number_is_built() {
        let jwk = serde_json::json!({
            "kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB", "p": "AQAB"
        });
        let Value::Object(object) = jwk else {
            unreachable!()
        };
        let error = from_jwk(&object).unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidJwk {
                    member: Some("p"),
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
