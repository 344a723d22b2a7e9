use core::fmt;

use serde_json::{Map, Value};
use smart_core::json::parse_object;
use smart_core::{OsRandom, RandomSource};
use zeroize::Zeroizing;

use crate::der::{self, KeyKind};
use crate::error::shown;
use crate::jwk::{Jwk, JwkSet, PublicMembers, scrub_private_members};
use crate::signer::KeySigner;
use crate::{Algorithm, Error, pem};

/// A private signing key: RSA (2048 to 8192 bits) or P-384.
///
/// Load one from PEM ([`PrivateKey::from_pem`]: PKCS#8, PKCS#1 or SEC1) or from a private JWK
/// ([`PrivateKey::from_jwk`]), or make one ([`PrivateKey::generate_rsa`],
/// [`PrivateKey::generate_p384`]). Anything else is refused with a typed [`Error`]: public keys,
/// RSA keys under 2048 bits, curves other than P-384, Ed25519, encrypted keys, malformed input.
///
/// # Security
///
/// The key material is zeroized when the key is dropped (the `rsa` and `p384` key types do it
/// themselves; this crate checks that at compile time). `PrivateKey` does not implement
/// `Serialize`, `Display` or `Clone`, and its `Debug` shows only the key type and size.
/// Intermediate buffers this crate makes while loading (decoded PEM, JWK members) are zeroized
/// too; the caller's input string is the caller's to protect.
///
/// ```compile_fail
/// # fn check(key: smart_jwt_assertion::PrivateKey) {
/// // A private key never serialises.
/// let _ = serde_json::to_string(&key);
/// # }
/// ```
///
/// ```compile_fail
/// # fn check(key: smart_jwt_assertion::PrivateKey) {
/// // Nor does it print.
/// let _ = key.to_string();
/// # }
/// ```
pub struct PrivateKey {
    inner: KeyInner,
}

enum KeyInner {
    #[cfg(feature = "rs384")]
    Rsa(rsa::PrivateKey),
    #[cfg(feature = "es384")]
    P384(p384::ecdsa::SigningKey),
}

// The zeroize-on-drop promise rests on the key types doing it; keep that checked.
#[cfg(feature = "rs384")]
const _: () = {
    const fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroized_on_drop::<rsa::PrivateKey>();
    zeroized_on_drop::<rsa::pkcs1v15::SigningKey<sha2::Sha256>>();
    zeroized_on_drop::<rsa::pkcs1v15::SigningKey<sha2::Sha384>>();
};
#[cfg(feature = "es384")]
const _: () = {
    const fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    zeroized_on_drop::<p384::ecdsa::SigningKey>();
    zeroized_on_drop::<p384::SecretKey>();
};

impl PrivateKey {
    /// Loads a private key from PEM.
    ///
    /// Accepted: PKCS#8 `PRIVATE KEY` (RSA or EC), PKCS#1 `RSA PRIVATE KEY` and SEC1
    /// `EC PRIVATE KEY`, as written by OpenSSL and most tools. Text around the block and an
    /// `EC PARAMETERS` block (from `openssl ecparam -genkey`) are ignored; CRLF line ends are
    /// fine. A file with a private key and certificates takes the private key.
    ///
    /// # Errors
    ///
    /// - [`Error::Pem`]: no PEM block, broken base64, unbalanced lines, two private keys;
    /// - [`Error::EncryptedKey`]: `ENCRYPTED PRIVATE KEY`, or a `Proc-Type: 4,ENCRYPTED` header;
    /// - [`Error::PublicKeyOnly`]: only a `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`;
    /// - [`Error::UnsupportedPemLabel`]: no private key, and blocks of another kind;
    /// - [`Error::UnsupportedCurve`], [`Error::UnsupportedKeyType`], [`Error::RsaKeySize`];
    /// - [`Error::MalformedKey`]: the DER inside is broken or the key's numbers are wrong;
    /// - [`Error::FeatureDisabled`]: an RSA key without the `rs384` feature, a P-384 key
    ///   without `es384`.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let blocks = pem::blocks(pem)?;
        let mut private = None;
        let mut public = None;
        let mut other = None;
        for block in blocks {
            match block.label.as_str() {
                "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                    if block.encrypted {
                        return Err(Error::EncryptedKey);
                    }
                    if private.is_some() {
                        return Err(Error::Pem {
                            reason: "it holds more than one private key; give exactly one",
                        });
                    }
                    private = Some(block);
                }
                "ENCRYPTED PRIVATE KEY" => return Err(Error::EncryptedKey),
                "EC PARAMETERS" => {}
                "PUBLIC KEY" => {
                    public.get_or_insert("the PEM (PUBLIC KEY)");
                }
                "RSA PUBLIC KEY" => {
                    public.get_or_insert("the PEM (RSA PUBLIC KEY)");
                }
                "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => {
                    public.get_or_insert("the PEM (CERTIFICATE)");
                }
                _ => {
                    other.get_or_insert(block.label);
                }
            }
        }
        match (private, public, other) {
            (Some(block), _, _) => Self::from_der(&block.label, &block.der),
            (None, Some(format), _) => Err(Error::PublicKeyOnly { format }),
            (None, None, Some(label)) => Err(Error::UnsupportedPemLabel {
                label: shown(&label),
            }),
            (None, None, None) => Err(Error::Pem {
                reason: "no PEM block found; expected a line like -----BEGIN PRIVATE KEY-----",
            }),
        }
    }

    fn from_der(label: &str, der: &[u8]) -> Result<Self, Error> {
        let (format, kind) = match label {
            "PRIVATE KEY" => ("PKCS#8", der::classify_pkcs8(der)),
            "RSA PRIVATE KEY" => ("PKCS#1", Some(KeyKind::Rsa)),
            _ => ("SEC1", der::classify_sec1(der)),
        };
        let kind = kind.ok_or(Error::MalformedKey {
            format,
            reason: "the DER structure is broken",
            source: None,
        })?;
        match kind {
            KeyKind::Rsa => Self::rsa_from_der(format, der),
            KeyKind::P384 => Self::p384_from_der(format, der),
            KeyKind::OtherCurve(curve) => Err(Error::UnsupportedCurve { curve }),
            KeyKind::Other(kty) => Err(Error::UnsupportedKeyType { kty }),
        }
    }

    #[cfg(feature = "rs384")]
    fn rsa_from_der(format: &'static str, der: &[u8]) -> Result<Self, Error> {
        crate::rsa_key::from_der(format, der).map(|key| Self {
            inner: KeyInner::Rsa(key),
        })
    }

    #[cfg(not(feature = "rs384"))]
    fn rsa_from_der(_: &'static str, _: &[u8]) -> Result<Self, Error> {
        Err(rsa_disabled())
    }

    #[cfg(feature = "es384")]
    fn p384_from_der(format: &'static str, der: &[u8]) -> Result<Self, Error> {
        crate::ec_key::from_der(format, der).map(|key| Self {
            inner: KeyInner::P384(key),
        })
    }

    #[cfg(not(feature = "es384"))]
    fn p384_from_der(_: &'static str, _: &[u8]) -> Result<Self, Error> {
        Err(p384_disabled())
    }

    /// Loads a private key from a JWK (RFC 7517 §4, RFC 7518 §6).
    ///
    /// RSA keys need `n`, `e` and `d`; `p` and `q` are used when present (both or neither),
    /// and `dp`, `dq`, `qi` are recomputed rather than trusted. EC keys need `crv: "P-384"`,
    /// `x`, `y` and `d`, and `x`/`y` must be the public key of `d`. The JWK's `kid`, `alg`,
    /// `use` and `key_ops` are ignored: give the `kid` to [`AssertionSigner`](crate::AssertionSigner)
    /// and the algorithm to [`PrivateKey::signer`].
    ///
    /// ```
    /// # #[cfg(feature = "es384")] {
    /// use smart_jwt_assertion::{Algorithm, Error, PrivateKey};
    ///
    /// // In real use, read this from a secret store, not from source code.
    /// let jwk = r#"{
    ///   "kty": "EC", "crv": "P-384",
    ///   "x": "UQ5HS4EYfeqZzqQHTHEzESrxzSbebEhzbZ4R6nBmWnS6eDR5iOP3dSN4OzYI3Yp8",
    ///   "y": "L1saCT3f_DQPEgA2X039xVTEpCAdf5PC7vPJMFh3MTPzDBoxh7no5fi0bDy3MObV",
    ///   "d": "hYSCnVZOLwjfuKe47ctzquCiNsEmczuYfye_0pwN03TK45RMiKIPnjvs7NGwbmBg"
    /// }"#;
    /// let key = PrivateKey::from_jwk(jwk)?;
    /// assert_eq!(key.default_algorithm(), Algorithm::Es384);
    /// assert_eq!(key.thumbprint(), "j4Yy9meVSimPT8-iTl7DjNJC1f9IIj3oUCaBkTR6KN0");
    ///
    /// // A public JWK cannot sign.
    /// let public = r#"{"kty": "EC", "crv": "P-384",
    ///   "x": "UQ5HS4EYfeqZzqQHTHEzESrxzSbebEhzbZ4R6nBmWnS6eDR5iOP3dSN4OzYI3Yp8",
    ///   "y": "L1saCT3f_DQPEgA2X039xVTEpCAdf5PC7vPJMFh3MTPzDBoxh7no5fi0bDy3MObV"}"#;
    /// assert!(matches!(PrivateKey::from_jwk(public), Err(Error::PublicKeyOnly { .. })));
    /// # }
    /// # Ok::<(), smart_jwt_assertion::Error>(())
    /// ```
    ///
    /// # Security
    ///
    /// The parsed members are zeroized when the key is built or refused, including when the
    /// JSON itself is refused part-way (see [`smart_core::json`]). `jwk_json` is the caller's:
    /// zeroize it after use if it held the key (for example, read it into a
    /// [`Zeroizing<String>`](zeroize::Zeroizing)). `serde_json`'s internal scratch buffer is
    /// not scrubbed: it holds a member only if it was written with JSON escapes (`\u0041`),
    /// which base64url never needs.
    ///
    /// # Errors
    ///
    /// - [`Error::JwkJson`]: not a JSON object (duplicate members are refused too);
    /// - [`Error::InvalidJwk`]: a member missing, not a string, not base64url, or inconsistent;
    ///   a JWK Set (`{"keys": [...]}`) or PEM given instead;
    /// - [`Error::PublicKeyOnly`]: no `d`;
    /// - [`Error::UnsupportedCurve`], [`Error::UnsupportedKeyType`], [`Error::RsaKeySize`];
    /// - [`Error::MalformedKey`]: the numbers do not form a valid key;
    /// - [`Error::FeatureDisabled`].
    pub fn from_jwk(jwk_json: &str) -> Result<Self, Error> {
        if jwk_json.trim_start().starts_with("-----BEGIN") {
            return Err(Error::InvalidJwk {
                member: None,
                problem: "is PEM, not JSON; load it with PrivateKey::from_pem",
            });
        }
        let object = ScrubbedObject(parse_object(jwk_json.as_bytes()).map_err(Error::JwkJson)?);
        let object = &object.0;
        if object.contains_key("keys") {
            return Err(Error::InvalidJwk {
                member: None,
                problem: "is a JWK Set; pass one key from its `keys` array",
            });
        }
        let kty = match object.get("kty") {
            Some(Value::String(kty)) => kty.as_str(),
            Some(_) => {
                return Err(Error::InvalidJwk {
                    member: Some("kty"),
                    problem: "is not a string",
                });
            }
            None => {
                return Err(Error::InvalidJwk {
                    member: Some("kty"),
                    problem: "is missing",
                });
            }
        };
        match kty {
            "RSA" => {
                if object.contains_key("oth") {
                    return Err(Error::UnsupportedKeyType {
                        kty: "multi-prime RSA".into(),
                    });
                }
                if !object.contains_key("d") {
                    return Err(Error::PublicKeyOnly { format: "the JWK" });
                }
                Self::rsa_from_jwk(object)
            }
            "EC" => {
                match object.get("crv") {
                    Some(Value::String(crv)) if crv == "P-384" => {}
                    Some(Value::String(crv)) => {
                        return Err(Error::UnsupportedCurve { curve: shown(crv) });
                    }
                    Some(_) => {
                        return Err(Error::InvalidJwk {
                            member: Some("crv"),
                            problem: "is not a string",
                        });
                    }
                    None => {
                        return Err(Error::InvalidJwk {
                            member: Some("crv"),
                            problem: "is missing",
                        });
                    }
                }
                if !object.contains_key("d") {
                    return Err(Error::PublicKeyOnly { format: "the JWK" });
                }
                Self::p384_from_jwk(object)
            }
            other => Err(Error::UnsupportedKeyType { kty: shown(other) }),
        }
    }

    #[cfg(feature = "rs384")]
    fn rsa_from_jwk(object: &Map<String, Value>) -> Result<Self, Error> {
        crate::rsa_key::from_jwk(object).map(|key| Self {
            inner: KeyInner::Rsa(key),
        })
    }

    #[cfg(not(feature = "rs384"))]
    fn rsa_from_jwk(_: &Map<String, Value>) -> Result<Self, Error> {
        Err(rsa_disabled())
    }

    #[cfg(feature = "es384")]
    fn p384_from_jwk(object: &Map<String, Value>) -> Result<Self, Error> {
        crate::ec_key::from_jwk(object).map(|key| Self {
            inner: KeyInner::P384(key),
        })
    }

    #[cfg(not(feature = "es384"))]
    fn p384_from_jwk(_: &Map<String, Value>) -> Result<Self, Error> {
        Err(p384_disabled())
    }

    /// Loads a key from PEM or from a JWK, whichever `text` is (a JWK starts with `{`).
    ///
    /// # Errors
    ///
    /// As [`PrivateKey::from_pem`] or [`PrivateKey::from_jwk`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.trim_start().starts_with('{') {
            Self::from_jwk(text)
        } else {
            Self::from_pem(text)
        }
    }

    /// Generates an RSA key of 2048, 3072 or 4096 bits with the OS random number generator.
    ///
    /// This takes a while: about 0.1–1 s for 2048 bits and several seconds for 4096 bits in
    /// optimised builds, much longer in debug builds.
    ///
    /// ```no_run
    /// use smart_jwt_assertion::{Algorithm, PrivateKey};
    ///
    /// let key = PrivateKey::generate_rsa(2048)?;
    /// assert_eq!(key.default_algorithm(), Algorithm::Rs384);
    /// // Keep the private key (PKCS#8 PEM, zeroized on drop) where only its owner reads it,
    /// // and register the public JWK Set with the authorization server.
    /// let pem = key.to_pkcs8_pem()?;
    /// assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    /// let reloaded = PrivateKey::from_pem(&pem)?;
    /// assert_eq!(reloaded.public_jwk(None), key.public_jwk(None));
    /// println!("{}", key.public_jwk_set(Some("key-1")).to_json_pretty());
    /// # Ok::<(), smart_jwt_assertion::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::RsaGenerateBits`] for any other size, [`Error::Random`] if the operating
    /// system's random number generator fails (before or during generation; no key is
    /// returned), [`Error::KeyGeneration`] if generation fails otherwise,
    /// [`Error::FeatureDisabled`] without the `rs384` feature.
    pub fn generate_rsa(bits: usize) -> Result<Self, Error> {
        if !matches!(bits, 2048 | 3072 | 4096) {
            return Err(Error::RsaGenerateBits { bits });
        }
        Self::generate_rsa_checked(bits)
    }

    #[cfg(feature = "rs384")]
    fn generate_rsa_checked(bits: usize) -> Result<Self, Error> {
        crate::rsa_key::generate(bits).map(|key| Self {
            inner: KeyInner::Rsa(key),
        })
    }

    #[cfg(not(feature = "rs384"))]
    fn generate_rsa_checked(_: usize) -> Result<Self, Error> {
        Err(rsa_disabled())
    }

    /// Generates a P-384 key with the OS random number generator.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] if the OS has no randomness to give, [`Error::FeatureDisabled`]
    /// without the `es384` feature.
    pub fn generate_p384() -> Result<Self, Error> {
        Self::generate_p384_with(&mut OsRandom)
    }

    /// Generates a P-384 key from `rng` (tests inject a deterministic source).
    ///
    /// The scalar is 48 bytes from `rng`, drawn again in the (negligibly rare) case that they
    /// are zero or not below the group order.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when `rng` fails, [`Error::KeyGeneration`] when it keeps producing
    /// invalid scalars (a broken source, such as all zeros), [`Error::FeatureDisabled`]
    /// without the `es384` feature.
    pub fn generate_p384_with(rng: &mut dyn RandomSource) -> Result<Self, Error> {
        Self::generate_p384_checked(rng)
    }

    #[cfg(feature = "es384")]
    fn generate_p384_checked(rng: &mut dyn RandomSource) -> Result<Self, Error> {
        crate::ec_key::generate(rng).map(|key| Self {
            inner: KeyInner::P384(key),
        })
    }

    #[cfg(not(feature = "es384"))]
    fn generate_p384_checked(_: &mut dyn RandomSource) -> Result<Self, Error> {
        Err(p384_disabled())
    }

    /// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line ends), the format
    /// [`PrivateKey::from_pem`] and OpenSSL read.
    ///
    /// # Security
    ///
    /// The result is the private key: write it only where the key belongs (a file readable by
    /// its owner only, a secret store). It is zeroized when dropped.
    ///
    /// # Errors
    ///
    /// [`Error::KeyEncoding`] if the encoder fails (not expected for a key that loaded).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, Error> {
        match self.inner {
            #[cfg(feature = "rs384")]
            KeyInner::Rsa(ref key) => crate::rsa_key::to_pkcs8_pem(key),
            #[cfg(feature = "es384")]
            KeyInner::P384(ref key) => crate::ec_key::to_pkcs8_pem(key),
        }
    }

    /// The algorithm used when none is asked for: RS384 for RSA keys, ES384 for P-384 keys.
    #[must_use]
    pub fn default_algorithm(&self) -> Algorithm {
        match self.inner {
            #[cfg(feature = "rs384")]
            KeyInner::Rsa(_) => Algorithm::Rs384,
            #[cfg(feature = "es384")]
            KeyInner::P384(_) => Algorithm::Es384,
        }
    }

    /// The JWK key type: `RSA` or `EC`.
    #[must_use]
    pub fn key_type(&self) -> &'static str {
        self.default_algorithm().key_type()
    }

    /// The key size in bits: the RSA modulus size, or 384 for P-384.
    #[must_use]
    pub fn bits(&self) -> usize {
        match self.inner {
            #[cfg(feature = "rs384")]
            KeyInner::Rsa(ref key) => crate::rsa_key::bits(key),
            #[cfg(feature = "es384")]
            KeyInner::P384(_) => 384,
        }
    }

    fn public_members(&self) -> PublicMembers {
        match self.inner {
            #[cfg(feature = "rs384")]
            KeyInner::Rsa(ref key) => crate::rsa_key::public_members(key),
            #[cfg(feature = "es384")]
            KeyInner::P384(ref key) => crate::ec_key::public_members(key),
        }
    }

    /// The public JWK to register with an authorization server: `kty`, `kid`, `use: "sig"`,
    /// `alg` (the [default algorithm](PrivateKey::default_algorithm)), and `n`/`e` or
    /// `crv`/`x`/`y` (RFC 7517, RFC 7518 §6;
    /// [client-confidential-asymmetric.html#registering-a-client-communicating-public-keys](https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html#registering-a-client-communicating-public-keys)).
    ///
    /// `kid` defaults to the key's RFC 7638 [thumbprint](PrivateKey::thumbprint), which is
    /// stable and unique per key.
    #[must_use]
    pub fn public_jwk(&self, kid: Option<&str>) -> Jwk {
        let members = self.public_members();
        let kid = kid.map_or_else(|| members.thumbprint(), str::to_owned);
        Jwk::from_public(members, kid, self.default_algorithm())
    }

    /// A JWK Set holding this key's [public JWK](PrivateKey::public_jwk): the document to serve
    /// at the app's `jwks_uri` or to paste into a registration form.
    #[must_use]
    pub fn public_jwk_set(&self, kid: Option<&str>) -> JwkSet {
        JwkSet {
            keys: vec![self.public_jwk(kid)],
        }
    }

    /// The RFC 7638 JWK thumbprint of the public key: base64url SHA-256 of the canonical JSON
    /// of its required members.
    #[must_use]
    pub fn thumbprint(&self) -> String {
        self.public_members().thumbprint()
    }

    /// A signer for this key.
    ///
    /// `None` picks the [default algorithm](PrivateKey::default_algorithm). An explicit
    /// algorithm must fit the key: RS256 or RS384 for RSA, ES384 for P-384 (other curves do not
    /// load at all). RS256 is for `id_token`s; client assertions take RS384 or ES384 only.
    ///
    /// The signer shares nothing with `self`: it holds its own copy of the key, zeroized when
    /// the last clone of the signer is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::AlgorithmMismatch`] when the algorithm does not fit the key.
    #[cfg_attr(
        not(any(feature = "rs384", feature = "es384")),
        expect(
            unused_variables,
            unreachable_code,
            reason = "without key features no key exists to sign with"
        )
    )]
    pub fn signer(&self, alg: Option<Algorithm>) -> Result<KeySigner, Error> {
        let alg = alg.unwrap_or_else(|| self.default_algorithm());
        let key = match self.inner {
            #[cfg(feature = "rs384")]
            KeyInner::Rsa(ref key) => match alg {
                Algorithm::Rs256 | Algorithm::Rs384 => crate::signer::rsa(key, alg),
                Algorithm::Es384 => {
                    return Err(Error::AlgorithmMismatch {
                        alg,
                        key: "an RSA key",
                    });
                }
            },
            #[cfg(feature = "es384")]
            KeyInner::P384(ref key) => match alg {
                Algorithm::Es384 => crate::signer::es384(key),
                Algorithm::Rs256 | Algorithm::Rs384 => {
                    return Err(Error::AlgorithmMismatch {
                        alg,
                        key: "a P-384 key",
                    });
                }
            },
        };
        Ok(KeySigner::new(key))
    }
}

impl fmt::Debug for PrivateKey {
    #[cfg_attr(
        not(any(feature = "rs384", feature = "es384")),
        expect(unused_variables, reason = "without key features no key exists")
    )]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { inner } = self;
        match *inner {
            #[cfg(feature = "rs384")]
            KeyInner::Rsa(ref key) => f
                .debug_struct("PrivateKey")
                .field("kty", &"RSA")
                .field("bits", &crate::rsa_key::bits(key))
                .field("key", &"[redacted]")
                .finish(),
            #[cfg(feature = "es384")]
            KeyInner::P384(_) => f
                .debug_struct("PrivateKey")
                .field("kty", &"EC")
                .field("crv", &"P-384")
                .field("key", &"[redacted]")
                .finish(),
        }
    }
}

#[cfg(not(feature = "rs384"))]
fn rsa_disabled() -> Error {
    Error::FeatureDisabled {
        feature: "rs384",
        needed_for: "RSA keys",
    }
}

#[cfg(not(feature = "es384"))]
fn p384_disabled() -> Error {
    Error::FeatureDisabled {
        feature: "es384",
        needed_for: "P-384 keys",
    }
}

/// A parsed JWK whose private members are zeroized when it is dropped.
struct ScrubbedObject(Map<String, Value>);

impl Drop for ScrubbedObject {
    fn drop(&mut self) {
        scrub_private_members(&mut self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA2048_PEM: &str = include_str!("../tests/fixtures/rsa2048.pem");
    const RSA2048_JWK: &str = include_str!("../tests/fixtures/rsa2048.private.jwk.json");
    const P384_PEM: &str = include_str!("../tests/fixtures/p384.pem");
    const P384_JWK: &str = include_str!("../tests/fixtures/p384.private.jwk.json");
    const P256_PEM: &str = include_str!("../tests/fixtures/p256-sec1.pem");
    const ED25519_PEM: &str = include_str!("../tests/fixtures/ed25519.pem");

    #[test]
    fn key_kinds_are_named_whatever_the_features() {
        assert!(matches!(
            PrivateKey::from_pem(P256_PEM),
            Err(Error::UnsupportedCurve { curve }) if curve == "P-256"
        ));
        assert!(matches!(
            PrivateKey::from_pem(ED25519_PEM),
            Err(Error::UnsupportedKeyType { kty }) if kty == "Ed25519"
        ));
    }

    #[cfg(not(feature = "rs384"))]
    #[test]
    fn rsa_keys_need_the_rs384_feature() {
        for result in [
            PrivateKey::from_pem(RSA2048_PEM),
            PrivateKey::from_jwk(RSA2048_JWK),
            PrivateKey::generate_rsa(2048),
        ] {
            assert!(
                matches!(
                    result,
                    Err(Error::FeatureDisabled {
                        feature: "rs384",
                        ..
                    })
                ),
                "{result:?}"
            );
        }
    }

    #[cfg(feature = "rs384")]
    #[test]
    fn rsa_keys_load_with_the_rs384_feature() {
        let key = PrivateKey::from_pem(RSA2048_PEM).unwrap();
        assert_eq!(
            key.thumbprint(),
            PrivateKey::from_jwk(RSA2048_JWK).unwrap().thumbprint()
        );
    }

    #[cfg(not(feature = "es384"))]
    #[test]
    fn p384_keys_need_the_es384_feature() {
        for result in [
            PrivateKey::from_pem(P384_PEM),
            PrivateKey::from_jwk(P384_JWK),
            PrivateKey::generate_p384(),
        ] {
            assert!(
                matches!(
                    result,
                    Err(Error::FeatureDisabled {
                        feature: "es384",
                        ..
                    })
                ),
                "{result:?}"
            );
        }
    }

    #[cfg(feature = "es384")]
    #[test]
    fn p384_keys_load_with_the_es384_feature() {
        let key = PrivateKey::from_pem(P384_PEM).unwrap();
        assert_eq!(
            key.thumbprint(),
            PrivateKey::from_jwk(P384_JWK).unwrap().thumbprint()
        );
    }

    #[test]
    fn private_members_are_scrubbed() {
        let mut object: Map<String, Value> = serde_json::from_str(
            r#"{"kty": "RSA", "n": "public", "d": "secret", "oth": [{"r": "secret", "d": "secret"}]}"#,
        )
        .unwrap();
        scrub_private_members(&mut object);
        assert_eq!(object["n"], "public");
        assert_eq!(object["d"], "");
        assert_eq!(object["oth"][0]["r"], "");
    }
}
