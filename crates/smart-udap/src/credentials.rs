//! The client's UDAP credentials: its certificate chain and private key, loaded once from PEM,
//! and the JWTs signed with them (header `{"alg", "x5c"}`).

use core::fmt;
use std::time::SystemTime;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Map, Value};
use smart_core::RandomSource;
use smart_core::json::JsonObject;
use smart_jwt_assertion::{Algorithm, PrivateKey, sign_compact};

use crate::certificate::X509Certificate;
use crate::error::UdapError;
use crate::refusals::ChainError;

/// Bytes of randomness in each `jti`.
pub const JTI_BYTES: usize = 32;

/// A UDAP client's certificate chain (leaf first, issuer ordered) and the leaf's private key.
///
/// The key stays inside: `Debug` shows the chain's subjects and the key type only, and the key
/// is zeroized on drop (by [`PrivateKey`]).
///
/// ```
/// use smart_udap::UdapCredentials;
///
/// let error = UdapCredentials::from_pem("not PEM", "not a key").unwrap_err();
/// assert!(error.to_string().contains("certificate"));
/// ```
pub struct UdapCredentials {
    chain: Vec<X509Certificate>,
    key: PrivateKey,
}

impl UdapCredentials {
    /// Loads a PEM chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1; RSA or
    /// P-384), and checks that the key is the leaf's and that the chain is issuer ordered.
    /// Validity periods and the client URI are checked when a statement is signed.
    ///
    /// # Errors
    ///
    /// [`UdapError::MalformedCertificate`], [`UdapError::Key`] or
    /// [`UdapError::ClientCertificate`].
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, UdapError> {
        let chain = X509Certificate::chain_from_pem(chain_pem)?;
        let key = PrivateKey::from_pem(key_pem).map_err(UdapError::Key)?;
        Self::new(chain, key)
    }

    /// From decoded parts; the same checks as [`UdapCredentials::from_pem`].
    ///
    /// # Errors
    ///
    /// [`UdapError::ClientCertificate`] when the chain is empty or out of order or the key
    /// is not the leaf's.
    pub fn new(chain: Vec<X509Certificate>, key: PrivateKey) -> Result<Self, UdapError> {
        let Some(leaf) = chain.first() else {
            return Err(UdapError::ClientCertificate(ChainError::Order));
        };
        for pair in chain.windows(2) {
            let (child, parent) = (&pair[0], &pair[1]);
            if child.certificate().tbs_certificate().issuer()
                != parent.certificate().tbs_certificate().subject()
                || !child.signed_by(parent)
            {
                return Err(UdapError::ClientCertificate(ChainError::Order));
            }
        }
        let leaf_jwk = leaf
            .public_jwk()
            .map_err(|_| UdapError::ClientCertificate(ChainError::KeyMismatch))?;
        let key_jwk = key.public_jwk(None);
        let same = leaf_jwk.kty() == key_jwk.kty()
            && leaf_jwk.n() == key_jwk.n()
            && leaf_jwk.e() == key_jwk.e()
            && leaf_jwk.x() == key_jwk.x()
            && leaf_jwk.y() == key_jwk.y();
        if !same {
            return Err(UdapError::ClientCertificate(ChainError::KeyMismatch));
        }
        Ok(Self { chain, key })
    }

    /// The chain, leaf first.
    #[must_use]
    pub fn chain(&self) -> &[X509Certificate] {
        &self.chain
    }

    /// The leaf certificate.
    #[must_use]
    pub fn leaf(&self) -> &X509Certificate {
        &self.chain[0]
    }

    /// The algorithms the key can sign with, in preference order: RS256 then RS384 for RSA,
    /// ES384 for P-384.
    #[must_use]
    pub fn compatible_algorithms(&self) -> &'static [Algorithm] {
        match self.key.key_type() {
            "RSA" => &[Algorithm::Rs256, Algorithm::Rs384],
            _ => &[Algorithm::Es384],
        }
    }

    /// Picks the signing algorithm: `explicit` when it fits the key and is advertised,
    /// otherwise the first compatible advertised one (so RS256 before RS384).
    ///
    /// # Errors
    ///
    /// [`UdapError::InvalidSetting`] (`algorithm` or `supported_algorithms`).
    pub fn select_algorithm(
        &self,
        explicit: Option<Algorithm>,
        advertised: &[&str],
    ) -> Result<Algorithm, UdapError> {
        let compatible = self.compatible_algorithms();
        let usable: Vec<Algorithm> = compatible
            .iter()
            .copied()
            .filter(|alg| advertised.contains(&alg.as_str()))
            .collect();
        let names = |algs: &[Algorithm]| {
            algs.iter()
                .map(|alg| alg.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match explicit {
            Some(alg) if usable.contains(&alg) => Ok(alg),
            Some(_) => Err(UdapError::InvalidSetting {
                setting: "algorithm",
                reason: format!(
                    "it must fit the key and be advertised by the server; valid: {}",
                    names(&usable)
                ),
            }),
            None => usable.first().copied().ok_or_else(|| UdapError::InvalidSetting {
                setting: "supported_algorithms",
                reason: format!(
                    "the server advertises no algorithm this key can sign with; the key supports {}",
                    names(compatible)
                ),
            }),
        }
    }

    /// Checks every certificate's validity period at `now`, and that `client_uri` (when
    /// given) is exactly one of the leaf's URI SANs.
    ///
    /// # Errors
    ///
    /// [`UdapError::ClientCertificate`].
    pub fn check(&self, now: SystemTime, client_uri: Option<&str>) -> Result<(), UdapError> {
        for cert in &self.chain {
            let state = if now < cert.not_before() {
                Some("not yet valid")
            } else if now > cert.not_after() {
                Some("expired")
            } else {
                None
            };
            if let Some(state) = state {
                return Err(UdapError::ClientCertificate(ChainError::Validity {
                    subject: cert.subject(),
                    state,
                }));
            }
        }
        if let Some(uri) = client_uri
            && !self.leaf().uri_sans().iter().any(|san| san == uri)
        {
            return Err(UdapError::ClientCertificate(ChainError::SanMismatch));
        }
        Ok(())
    }

    /// Signs `claims` with header exactly `{"alg": alg, "x5c": [chain, leaf first]}`.
    pub(crate) fn sign(&self, claims: &JsonObject, alg: Algorithm) -> Result<String, UdapError> {
        let signer = self.key.signer(Some(alg)).map_err(UdapError::Sign)?;
        let mut header = Map::new();
        header.insert(
            "x5c".into(),
            Value::from(
                self.chain
                    .iter()
                    .map(X509Certificate::to_x5c)
                    .collect::<Vec<_>>(),
            ),
        );
        sign_compact(&header, claims, &signer).map_err(UdapError::Sign)
    }
}

/// A fresh `jti`: 256 random bits, base64url.
pub(crate) fn new_jti(rng: &mut dyn RandomSource) -> Result<String, UdapError> {
    let mut bytes = [0u8; JTI_BYTES];
    rng.fill(&mut bytes).map_err(UdapError::Random)?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

impl fmt::Debug for UdapCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { chain, key } = self;
        f.debug_struct("UdapCredentials")
            .field(
                "chain",
                &chain
                    .iter()
                    .map(X509Certificate::subject)
                    .collect::<Vec<_>>(),
            )
            .field("key", key)
            .finish()
    }
}
