use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use smart_core::json::parse_object;

use crate::error::shown;

/// Bytes in an ES384 signature: `r || s`, 48 bytes each (RFC 7518 §3.4).
const ES384_SIGNATURE_LEN: usize = 96;
use crate::{Algorithm, Error, JwkSet, SignError, b64url, b64url_decode};

/// A JSON object: a JWS header or a JWT claims set.
pub type JsonObject = Map<String, Value>;

/// Something that signs JWS signing inputs with one algorithm.
///
/// [`KeySigner`](crate::KeySigner) implements it over an in-memory [`PrivateKey`](crate::PrivateKey).
/// Implement it yourself to sign with a key held in a KMS or an HSM:
///
/// ```
/// use smart_jwt_assertion::{Algorithm, JwsSigner, SignError};
///
/// struct KmsSigner { /* client, key id, ... */ }
///
/// impl JwsSigner for KmsSigner {
///     fn algorithm(&self) -> Algorithm {
///         Algorithm::Es384
///     }
///
///     fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
///         // Call the KMS with SHA-384(signing_input) or the input itself, then convert its
///         // DER ECDSA signature to the 96-byte r || s that JWS uses (RFC 7518 section 3.4).
///         Err(SignError::new("the KMS is not configured in this example"))
///     }
/// }
/// ```
///
/// The output must be the JWS form of the signature: for RS256/RS384 the RSASSA-PKCS1-v1_5
/// signature (as long as the modulus), for ES384 the 96-byte `r || s`, never DER.
/// [`sign_compact`] checks the size and refuses anything else with
/// [`Error::SignatureLength`].
pub trait JwsSigner: Send + Sync {
    /// The algorithm of every signature this signer makes.
    fn algorithm(&self) -> Algorithm;

    /// Signs `signing_input` (`BASE64URL(header) || '.' || BASE64URL(payload)`, RFC 7515 §5.1).
    ///
    /// # Errors
    ///
    /// [`SignError`] when the signature cannot be made.
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl<T: JwsSigner + ?Sized> JwsSigner for &T {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        (**self).sign(signing_input)
    }
}

impl<T: JwsSigner + ?Sized> JwsSigner for Box<T> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        (**self).sign(signing_input)
    }
}

impl<T: JwsSigner + ?Sized> JwsSigner for Arc<T> {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        (**self).sign(signing_input)
    }
}

/// Checks that a signer's output has the size its algorithm gives.
fn check_signature_size(alg: Algorithm, signature: &[u8]) -> Result<(), Error> {
    let (fits, expected) = match alg {
        Algorithm::Es384 => (
            signature.len() == ES384_SIGNATURE_LEN,
            "96 bytes (r || s, not DER)",
        ),
        Algorithm::Rs256 | Algorithm::Rs384 => (
            (256..=1024).contains(&signature.len()),
            "256 to 1024 bytes (an RSA key of 2048 to 8192 bits)",
        ),
    };
    if fits {
        Ok(())
    } else {
        Err(Error::SignatureLength {
            alg,
            actual: signature.len(),
            expected,
        })
    }
}

/// Compact JSON with the top-level members in lexicographic order, whether or not `serde_json`'s
/// `preserve_order` feature is on somewhere in the build, so that the same claims always give
/// the same bytes.
fn to_json(object: &JsonObject) -> Vec<u8> {
    let sorted: BTreeMap<&String, &Value> = object.iter().collect();
    // Serialising string keys and JSON values cannot fail.
    serde_json::to_vec(&sorted).unwrap_or_default()
}

/// Signs `claims` as a compact JWS (RFC 7515 §7.1): `header.payload.signature`, each part
/// base64url without padding.
///
/// The header's `alg` is set from the signer, replacing any `alg` in `header`; everything else
/// in `header` (`typ`, `kid`, `jku`, ...) is kept. Members are written in lexicographic order,
/// compactly.
///
/// ```
/// # #[cfg(feature = "es384")] {
/// use serde_json::{Map, json};
/// use smart_jwt_assertion::{PrivateKey, sign_compact};
///
/// let key = PrivateKey::generate_p384()?;
/// let mut header = Map::new();
/// header.insert("typ".into(), json!("JWT"));
/// let mut claims = Map::new();
/// claims.insert("sub".into(), json!("alice"));
/// let token = sign_compact(&header, &claims, &key.signer(None)?)?;
/// assert!(token.starts_with("eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9."));
/// # }
/// # Ok::<(), smart_jwt_assertion::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Sign`] when the signer fails, [`Error::SignatureLength`] when its output does not
/// have the size of its algorithm (for example a DER-encoded ECDSA signature).
pub fn sign_compact(
    header: &JsonObject,
    claims: &JsonObject,
    signer: &dyn JwsSigner,
) -> Result<String, Error> {
    let alg = signer.algorithm();
    let mut header = header.clone();
    header.insert("alg".to_owned(), Value::from(alg.as_str()));
    let mut token = b64url(&to_json(&header));
    token.push('.');
    token.push_str(&b64url(&to_json(claims)));
    let signature = signer.sign(token.as_bytes())?;
    check_signature_size(alg, &signature)?;
    token.push('.');
    token.push_str(&b64url(&signature));
    Ok(token)
}

/// The three parts of a compact JWS.
struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    signing_input: &'a str,
}

fn malformed(reason: &'static str) -> Error {
    Error::MalformedJws {
        reason,
        source: None,
    }
}

fn split(token: &str) -> Result<Parts<'_>, Error> {
    let (header, rest) = token
        .split_once('.')
        .ok_or(malformed("it does not have three dot-separated parts"))?;
    let (payload, signature) = rest
        .split_once('.')
        .ok_or(malformed("it does not have three dot-separated parts"))?;
    if signature.contains('.') {
        return Err(malformed(
            "it has more than three dot-separated parts (JWE is not supported)",
        ));
    }
    if header.is_empty() {
        return Err(malformed("the header is empty"));
    }
    let signing_input = &token[..header.len() + 1 + payload.len()];
    Ok(Parts {
        header,
        payload,
        signature,
        signing_input,
    })
}

fn decode_object(
    part: &str,
    not_base64: &'static str,
    not_object: &'static str,
) -> Result<JsonObject, Error> {
    let bytes = b64url_decode(part).ok_or(malformed(not_base64))?;
    parse_object(&bytes).map_err(|error| Error::MalformedJws {
        reason: not_object,
        source: Some(error),
    })
}

fn decode_header(part: &str) -> Result<JsonObject, Error> {
    decode_object(
        part,
        "the header is not base64url",
        "the header is not a JSON object",
    )
}

fn decode_payload(part: &str) -> Result<JsonObject, Error> {
    decode_object(
        part,
        "the payload is not base64url",
        "the payload is not a JSON object",
    )
}

/// The header's `alg`, as an algorithm this crate knows.
fn header_algorithm(header: &JsonObject) -> Result<Algorithm, Error> {
    match header.get("alg") {
        Some(Value::String(name)) => name.parse(),
        Some(_) => Err(malformed("the header's alg is not a string")),
        None => Err(malformed("the header has no alg")),
    }
}

/// A JWS whose signature verified with a key of the JWK Set: its header and its claims.
///
/// Only the signature is checked. Whether the claims are acceptable (`iss`, `aud`, `exp`,
/// `nonce` of an `id_token`) is the caller's decision.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJws {
    header: JsonObject,
    claims: JsonObject,
    algorithm: Algorithm,
}

impl VerifiedJws {
    /// The protected header.
    #[must_use]
    pub fn header(&self) -> &JsonObject {
        &self.header
    }

    /// The claims (the payload, a JSON object).
    #[must_use]
    pub fn claims(&self) -> &JsonObject {
        &self.claims
    }

    /// The algorithm the signature was made with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The header's `kid`, if it has one.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The header and the claims.
    #[must_use]
    pub fn into_parts(self) -> (JsonObject, JsonObject) {
        (self.header, self.claims)
    }
}

/// Verifies a compact JWS (RFC 7515 §5.2) against a JWK Set and returns its header and claims.
///
/// Steps, each failing with its own [`Error`]:
///
/// 1. three base64url parts; the header a JSON object without duplicate members;
/// 2. `alg` is `RS256`, `RS384` or `ES384` ([`Error::UnsecuredJws`] for `none`,
///    [`Error::UnsupportedAlgorithm`] for the rest) and is in `allowed`
///    ([`Error::AlgorithmNotAllowed`]);
/// 3. no `crit` header ([`Error::UnsupportedCritical`]);
/// 4. an ES384 signature is exactly 96 bytes: DER-encoded signatures are refused;
/// 5. the keys that fit ([`Jwk::fits`](crate::Jwk::fits)): the token's `kid` if it has one,
///    the key type and curve of `alg`, and the key's own `alg`, `use` and `key_ops` when it
///    states them ([`Error::NoMatchingKey`] if none does). Without a `kid`, every fitting key
///    is tried;
/// 6. the signature verifies with one of them ([`Error::InvalidSignature`]);
/// 7. the payload is a JSON object.
///
/// Keys named by the token itself (`jku`, `jwk`, `x5u`, `x5c` headers) are never used: only
/// `keys` is trusted. RSA keys under 2048 bits are refused.
///
/// ```
/// # #[cfg(feature = "es384")] {
/// use serde_json::{Map, Value};
/// use smart_jwt_assertion::{Algorithm, Error, PrivateKey, sign_compact, verify_compact};
///
/// let key = PrivateKey::generate_p384()?;
/// let mut header = Map::new();
/// header.insert("kid".into(), Value::from("k1"));
/// let mut claims = Map::new();
/// claims.insert("sub".into(), Value::from("patient-1"));
/// let token = sign_compact(&header, &claims, &key.signer(None)?)?;
///
/// // Verify against the signer's published JWK Set, accepting ES384 only.
/// let keys = key.public_jwk_set(Some("k1"));
/// let verified = verify_compact(&token, &keys, &[Algorithm::Es384])?;
/// assert_eq!(verified.claims()["sub"], "patient-1");
/// assert_eq!(verified.kid(), Some("k1"));
///
/// // An algorithm the caller does not allow is refused before any key is tried.
/// let refused = verify_compact(&token, &keys, &[Algorithm::Rs384]);
/// assert!(matches!(refused, Err(Error::AlgorithmNotAllowed { .. })));
/// # }
/// # Ok::<(), smart_jwt_assertion::Error>(())
/// ```
///
/// # Errors
///
/// As listed above; also [`Error::FeatureDisabled`] for an algorithm this build leaves out.
pub fn verify_compact(
    token: &str,
    keys: &JwkSet,
    allowed: &[Algorithm],
) -> Result<VerifiedJws, Error> {
    let parts = split(token)?;
    let header = decode_header(parts.header)?;
    let algorithm = header_algorithm(&header)?;
    if !allowed.contains(&algorithm) {
        return Err(Error::AlgorithmNotAllowed { alg: algorithm });
    }
    if header.contains_key("crit") {
        return Err(Error::UnsupportedCritical);
    }
    if !algorithm.is_enabled() {
        return Err(Error::FeatureDisabled {
            feature: algorithm.feature(),
            needed_for: "signatures with this algorithm",
        });
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(malformed("the header's kid is not a string")),
    };
    let signature =
        b64url_decode(parts.signature).ok_or(malformed("the signature is not base64url"))?;
    if algorithm == Algorithm::Es384 && signature.len() == ES384_SIGNATURE_LEN / 3 * 2 {
        return Err(Error::WrongCurveSignature);
    }
    if algorithm == Algorithm::Es384 && signature.len() != ES384_SIGNATURE_LEN {
        return Err(malformed(
            "the ES384 signature is not 96 bytes; JWS uses r || s, not DER (RFC 7518 section 3.4)",
        ));
    }
    let mut tried = false;
    let mut key_error = None;
    for key in keys.keys.iter().filter(|key| key.fits(algorithm, kid)) {
        match verify_with(key, algorithm, parts.signing_input.as_bytes(), &signature) {
            Ok(true) => {
                let claims = decode_payload(parts.payload)?;
                return Ok(VerifiedJws {
                    header,
                    claims,
                    algorithm,
                });
            }
            Ok(false) => tried = true,
            Err(error) => {
                key_error.get_or_insert(error);
            }
        }
    }
    if tried {
        return Err(Error::InvalidSignature);
    }
    if let Some(error) = key_error {
        return Err(error);
    }
    // A key with the token's kid that does not fit: say what it is, not "rotated".
    let same_kid = kid.and_then(|kid| keys.keys.iter().find(|key| key.kid() == Some(kid)));
    if let (Some(kid), Some(key)) = (kid, same_kid)
        && (key.kty() != algorithm.key_type()
            || (algorithm == Algorithm::Es384 && key.crv() != Some("P-384")))
    {
        let found = match (key.kty(), key.crv()) {
            ("EC", Some(curve)) => format!("an EC {} key", shown(curve)),
            ("RSA", _) => "an RSA key".to_owned(),
            (kty, _) => format!("a {} key", shown(kty)),
        };
        return Err(Error::KeyDoesNotFit {
            kid: shown(kid),
            found,
            alg: algorithm,
        });
    }
    Err(Error::NoMatchingKey {
        kid: kid.map(shown),
        alg: algorithm,
    })
}

#[cfg_attr(
    not(any(feature = "rs384", feature = "es384")),
    expect(
        unused_variables,
        reason = "the arguments go unused for algorithms this build leaves out"
    )
)]
fn verify_with(
    key: &crate::Jwk,
    algorithm: Algorithm,
    input: &[u8],
    signature: &[u8],
) -> Result<bool, Error> {
    match algorithm {
        #[cfg(feature = "rs384")]
        Algorithm::Rs256 | Algorithm::Rs384 => {
            crate::rsa_key::verify(key, algorithm, input, signature)
        }
        #[cfg(feature = "es384")]
        Algorithm::Es384 => crate::ec_key::verify(key, input, signature),
        #[cfg(not(all(feature = "rs384", feature = "es384")))]
        _ => Err(Error::FeatureDisabled {
            feature: algorithm.feature(),
            needed_for: "signatures with this algorithm",
        }),
    }
}

/// Decodes a compact JWS **without verifying anything**: returns its header and its claims.
///
/// # Security
///
/// Nothing here is checked: not the signature, not the algorithm, not the issuer, not the
/// expiry. Anyone can write a token that decodes to any claims. Use it only to look at a
/// token (debugging output, the CLI's `decode`), or to read which issuer or key a token
/// claims to come from so as to pick the keys to [`verify_compact`] it with; then act only on
/// what `verify_compact` returns.
///
/// ```
/// use smart_jwt_assertion::decode_unverified;
///
/// let token = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2Voci5leGFtcGxlIn0.c2ln";
/// let (header, claims) = decode_unverified(token)?;
/// assert_eq!(header["alg"], "RS256");
/// assert_eq!(claims["iss"], "https://ehr.example");
/// # Ok::<(), smart_jwt_assertion::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::MalformedJws`] when the token is not three base64url parts whose first two are
/// JSON objects.
pub fn decode_unverified(token: &str) -> Result<(JsonObject, JsonObject), Error> {
    let parts = split(token)?;
    let header = decode_header(parts.header)?;
    let claims = decode_payload(parts.payload)?;
    b64url_decode(parts.signature).ok_or(malformed("the signature is not base64url"))?;
    Ok((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_counts_parts() {
        assert!(split("a.b.c").is_ok());
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e", ".b.c"] {
            assert!(
                matches!(split(bad), Err(Error::MalformedJws { .. })),
                "{bad:?}"
            );
        }
        let parts = split("h.p.s").unwrap();
        assert_eq!(parts.signing_input, "h.p");
        assert_eq!(parts.header, "h");
        assert_eq!(parts.payload, "p");
        assert_eq!(parts.signature, "s");
    }

    #[test]
    fn disabled_algorithms_are_reported() {
        let payload = b64url(br#"{"sub":"x"}"#);
        for alg in Algorithm::ALL {
            let header = b64url(format!(r#"{{"alg":"{alg}"}}"#).as_bytes());
            let token = format!("{header}.{payload}.{}", b64url(&[0; 96]));
            let result = verify_compact(&token, &JwkSet::default(), &Algorithm::ALL);
            if alg.is_enabled() {
                assert!(
                    matches!(result, Err(Error::NoMatchingKey { .. })),
                    "{alg}: {result:?}"
                );
            } else {
                assert!(
                    matches!(result, Err(Error::FeatureDisabled { feature, .. }) if feature == alg.feature()),
                    "{alg}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn signature_sizes() {
        assert!(check_signature_size(Algorithm::Es384, &[0; 96]).is_ok());
        assert!(matches!(
            check_signature_size(Algorithm::Es384, &[0; 103]),
            Err(Error::SignatureLength { actual: 103, .. })
        ));
        assert!(check_signature_size(Algorithm::Rs384, &[0; 256]).is_ok());
        assert!(check_signature_size(Algorithm::Rs256, &[0; 512]).is_ok());
        assert!(check_signature_size(Algorithm::Rs384, &[0; 128]).is_err());
        assert!(check_signature_size(Algorithm::Rs384, &[]).is_err());
    }
}
