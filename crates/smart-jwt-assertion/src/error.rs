use std::borrow::Cow;
use std::time::Duration;

use smart_core::json::JsonError;
use smart_core::{RandomError, UrlError};

use crate::Algorithm;

/// A boxed error from a lower layer (a DER decoder, the `rsa` crate, a KMS client).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in this crate.
///
/// No variant ever holds key material, a token, a signature or an assertion: a message may name
/// a key type, a curve, a size, an algorithm, a `kid` or a PEM label, never a secret. Strings
/// taken from untrusted input (a token's `alg` or `kid`) are cut to 64 characters with control
/// characters escaped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- Loading keys ----
    /// The text is not usable PEM.
    #[error("the key is not usable PEM: {reason}")]
    Pem {
        /// What is wrong.
        reason: &'static str,
    },
    /// The PEM holds no private key, only blocks of a kind this crate does not read.
    #[error(
        "the PEM block `{label}` is not a private key; expected `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or `EC PRIVATE KEY` (SEC1)"
    )]
    UnsupportedPemLabel {
        /// The label of the first block found.
        label: String,
    },
    /// The private key is encrypted (PKCS#8 `ENCRYPTED PRIVATE KEY` or an OpenSSL `Proc-Type`
    /// header).
    #[error(
        "the private key is encrypted; decrypt it first (for example `openssl pkey -in key.pem -out plain.pem`) and protect the result"
    )]
    EncryptedKey,
    /// The input holds a public key or a certificate, and signing needs the private key.
    #[error("{format} holds only a public key; signing needs the private key")]
    PublicKeyOnly {
        /// What was given: `the PEM (PUBLIC KEY)`, `the JWK`, ...
        format: &'static str,
    },
    /// The key's encoding is broken or its numbers are inconsistent.
    #[error("the {format} key is malformed: {reason}")]
    MalformedKey {
        /// `PKCS#8`, `PKCS#1`, `SEC1` or `JWK`.
        format: &'static str,
        /// What is wrong.
        reason: &'static str,
        /// The decoder's error, when there is one (never key material).
        #[source]
        source: Option<BoxError>,
    },
    /// An RSA key smaller than 2048 bits (RFC 7518 §3.3) or larger than 8192 bits.
    #[error(
        "the RSA key has {bits} bits; use a key of 2048 to 8192 bits (RFC 7518 section 3.3 requires at least 2048)"
    )]
    RsaKeySize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// An elliptic-curve key on a curve other than P-384.
    #[error("the elliptic curve {curve} is not supported; ES384 needs a P-384 (secp384r1) key")]
    UnsupportedCurve {
        /// The curve's name (`P-256`, `P-521`, `secp256k1`), or its OID when unknown.
        curve: String,
    },
    /// A key type other than RSA and elliptic-curve (Ed25519, an `oct` JWK, multi-prime RSA, ...).
    #[error(
        "the key type {kty} is not supported; use an RSA key (2048 bits or more) or a P-384 key"
    )]
    UnsupportedKeyType {
        /// The key type's name, or its OID when unknown.
        kty: String,
    },
    /// The operation needs a crate feature that this build leaves out.
    #[error(
        "{needed_for} need the `{feature}` feature of smart-jwt-assertion, which this build leaves out"
    )]
    FeatureDisabled {
        /// `rs384` or `es384`.
        feature: &'static str,
        /// What needs it, e.g. `RSA keys` or `ES384 signatures`.
        needed_for: &'static str,
    },
    /// A JWK member is missing, of the wrong type or inconsistent.
    #[error("{}", jwk_message(*member, problem))]
    InvalidJwk {
        /// The member concerned, when there is one.
        member: Option<&'static str>,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A JWK is not a usable JSON object.
    #[error("the JWK is not a usable JSON object")]
    JwkJson(#[source] JsonError),
    /// A JWK Set is not a JSON object with a `keys` array.
    #[error("the JWK Set {problem}")]
    InvalidJwkSet {
        /// What is wrong.
        problem: &'static str,
        /// The JSON error, when the document is not a JSON object.
        #[source]
        source: Option<JsonError>,
    },
    /// [`PrivateKey::generate_rsa`](crate::PrivateKey::generate_rsa) was asked for a size it
    /// does not make.
    #[error("RSA keys are generated with 2048, 3072 or 4096 bits, not {bits}")]
    RsaGenerateBits {
        /// The size asked for.
        bits: usize,
    },
    /// Key generation failed.
    #[error("key generation failed")]
    KeyGeneration {
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A key could not be encoded as PKCS#8.
    #[error("the key could not be encoded as PKCS#8")]
    KeyEncoding {
        /// The encoder's error.
        #[source]
        source: BoxError,
    },
    /// The random number generator failed.
    #[error(transparent)]
    Random(#[from] RandomError),

    // ---- Signing ----
    /// An explicit algorithm that does not fit the key.
    #[error("{alg} cannot be used with {key}; {}", fitting_algorithms(key))]
    AlgorithmMismatch {
        /// The algorithm asked for.
        alg: Algorithm,
        /// The key's type: `an RSA key`, `a P-384 key`, `an EC key`.
        key: &'static str,
    },
    /// A client assertion signer whose algorithm SMART does not allow for assertions.
    #[error(
        "client assertions are signed with RS384 or ES384 (SMART App Launch client-confidential-asymmetric), not {alg}"
    )]
    AssertionAlgorithm {
        /// The signer's algorithm.
        alg: Algorithm,
    },
    /// The `kid` of a client assertion is empty.
    #[error(
        "kid is empty; set the key id under which the public key is registered with the authorization server"
    )]
    MissingKid,
    /// The `jku` of a client assertion is not an HTTPS URL.
    #[error("the assertion's jku cannot be used: {0}")]
    Jku(#[source] UrlError),
    /// The assertion lifetime is outside 1 to 300 seconds.
    #[error(
        "the assertion lifetime must be 1 to 300 seconds (SMART allows at most five minutes), got {lifetime:?}"
    )]
    Lifetime {
        /// The lifetime asked for.
        lifetime: Duration,
    },
    /// The clock reads a time before 1970, so `iat` and `exp` cannot be written (the
    /// assertion would be expired before it was sent).
    #[error(
        "the clock reads a time before 1970-01-01; set the system clock (or the Clock passed in) to the current time"
    )]
    ClockBeforeEpoch,
    /// The signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A signer returned a signature of the wrong size, such as a DER-encoded ECDSA signature.
    #[error("the {alg} signer returned a {actual}-byte signature; expected {expected}")]
    SignatureLength {
        /// The signer's algorithm.
        alg: Algorithm,
        /// The size it returned.
        actual: usize,
        /// The size expected.
        expected: &'static str,
    },

    // ---- Verifying ----
    /// The token is not a well-formed compact JWS.
    #[error("the JWS is malformed: {reason}")]
    MalformedJws {
        /// What is wrong.
        reason: &'static str,
        /// The JSON error, when the header or payload is not a JSON object.
        #[source]
        source: Option<JsonError>,
    },
    /// The token uses `alg: none`: it is unsigned.
    #[error("the JWS is unsecured (alg \"none\"); unsigned tokens are never accepted")]
    UnsecuredJws,
    /// An algorithm this crate does not implement.
    #[error("the algorithm {alg:?} is not supported; this crate handles RS256, RS384 and ES384")]
    UnsupportedAlgorithm {
        /// The name found (cut and escaped).
        alg: String,
    },
    /// A supported algorithm that the caller does not accept here.
    #[error("the JWS is signed with {alg}, which is not accepted here")]
    AlgorithmNotAllowed {
        /// The token's algorithm.
        alg: Algorithm,
    },
    /// The token lists critical header parameters (`crit`, RFC 7515 §4.1.11); none are
    /// understood here, so the token must be rejected.
    #[error("the JWS has critical header parameters (crit), which are not supported")]
    UnsupportedCritical,
    /// No key in the JWK Set fits the token's `kid` and algorithm.
    #[error("{}", no_key_message(kid.as_deref(), *alg))]
    NoMatchingKey {
        /// The token's `kid` (cut and escaped), if it has one.
        kid: Option<String>,
        /// The token's algorithm.
        alg: Algorithm,
    },
    /// The signature does not verify with any fitting key.
    #[error("the JWS signature does not verify")]
    InvalidSignature,
    /// The JWK Set has a key with the token's `kid`, but of another type or curve than the
    /// token's algorithm needs (a P-256 key for ES384, an EC key for RS384).
    #[error(
        "the key with kid {kid:?} is {found}, which cannot verify {alg} (it needs {}); the signer uses another key type or curve than it announces",
        needs(*alg)
    )]
    KeyDoesNotFit {
        /// The token's `kid` (cut and escaped).
        kid: String,
        /// What the key is: `an EC P-256 key`, `an RSA key`, ...
        found: String,
        /// The token's algorithm.
        alg: Algorithm,
    },
    /// An ES384 signature of 64 bytes: the `r || s` size of P-256 (ES256), so the signer
    /// signed with a P-256 key while announcing ES384.
    #[error(
        "the ES384 signature is 64 bytes, the size of a P-256 (ES256) signature: the signer uses a P-256 key but announces ES384, which needs P-384"
    )]
    WrongCurveSignature,
}

fn needs(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::Es384 => "an EC P-384 key",
        _ => "an RSA key",
    }
}

fn jwk_message(member: Option<&str>, problem: &str) -> String {
    match member {
        Some(member) => format!("the JWK member `{member}` {problem}"),
        None => format!("the JWK {problem}"),
    }
}

fn fitting_algorithms(key: &str) -> &'static str {
    if key.contains("RSA") {
        "use RS384 (or RS256)"
    } else if key.contains("EC") || key.contains("P-384") {
        "use ES384"
    } else {
        "use an RSA or a P-384 key"
    }
}

fn no_key_message(kid: Option<&str>, alg: Algorithm) -> String {
    match kid {
        Some(kid) => format!(
            "no key in the JWK Set has kid {kid:?} and fits {alg} (kty {}); the signer may have rotated its keys",
            alg.key_type()
        ),
        None => format!(
            "the JWS has no kid and no key in the JWK Set fits {alg} (kty {})",
            alg.key_type()
        ),
    }
}

/// An untrusted string as it may appear in an error: at most 64 characters, control
/// characters escaped.
pub(crate) fn shown(value: &str) -> String {
    const LIMIT: usize = 64;
    let mut out = String::new();
    for (count, c) in value.chars().enumerate() {
        if count == LIMIT {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A signer ([`JwsSigner`](crate::JwsSigner)) could not sign.
///
/// External signers (a KMS, an HSM) return it with their own reason and cause:
///
/// ```
/// use smart_jwt_assertion::SignError;
///
/// let io = std::io::Error::other("connection reset");
/// let error = SignError::with_source("the KMS did not answer", io);
/// assert_eq!(error.to_string(), "the signer failed: the KMS did not answer");
/// assert!(std::error::Error::source(&error).is_some());
/// ```
#[derive(Debug, thiserror::Error)]
#[error("the signer failed: {reason}")]
pub struct SignError {
    reason: Cow<'static, str>,
    #[source]
    source: Option<BoxError>,
}

impl SignError {
    /// A failure described by `reason` (lowercase, no trailing period, no secrets).
    #[must_use]
    pub fn new(reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            reason: reason.into(),
            source: None,
        }
    }

    /// A failure with its cause.
    #[must_use]
    pub fn with_source(reason: impl Into<Cow<'static, str>>, source: impl Into<BoxError>) -> Self {
        Self {
            reason: reason.into(),
            source: Some(source.into()),
        }
    }

    /// The reason given.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_cuts_and_escapes() {
        assert_eq!(shown("abc"), "abc");
        assert_eq!(shown("a\nb"), "a\\nb");
        let long = "x".repeat(100);
        assert_eq!(shown(&long), format!("{}...", "x".repeat(64)));
    }

    #[test]
    fn messages() {
        let error = Error::InvalidJwk {
            member: Some("d"),
            problem: "is not base64url",
        };
        assert_eq!(error.to_string(), "the JWK member `d` is not base64url");
        let error = Error::AlgorithmMismatch {
            alg: Algorithm::Es384,
            key: "an RSA key",
        };
        assert_eq!(
            error.to_string(),
            "ES384 cannot be used with an RSA key; use RS384 (or RS256)"
        );
        let error = Error::NoMatchingKey {
            kid: Some("k1".into()),
            alg: Algorithm::Rs256,
        };
        assert!(error.to_string().contains("\"k1\""), "{error}");
    }
}
