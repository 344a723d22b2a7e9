//! [`KeySigner`]: the signing half of a [`crate::PrivateKey`], one variant per algorithm.

use core::fmt;

use crate::{Algorithm, JwsSigner, SignError};

/// An RS256 or RS384 signer over `key`.
#[cfg(feature = "rs384")]
pub(crate) fn rsa(key: &rsa::PrivateKey, alg: Algorithm) -> SignerKey {
    use std::sync::Arc;
    if alg == Algorithm::Rs256 {
        SignerKey::Rs256(Arc::new(rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(
            key.clone(),
        )))
    } else {
        SignerKey::Rs384(Arc::new(rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(
            key.clone(),
        )))
    }
}

/// An ES384 signer over `key`.
#[cfg(feature = "es384")]
pub(crate) fn es384(key: &p384::ecdsa::SigningKey) -> SignerKey {
    SignerKey::Es384(std::sync::Arc::new(key.clone()))
}

/// A [`JwsSigner`] over a [`PrivateKey`](crate::PrivateKey), made by
/// [`PrivateKey::signer`](crate::PrivateKey::signer).
///
/// RS256 and RS384 signatures are RSASSA-PKCS1-v1_5, blinded with the OS random number
/// generator (the signature value is deterministic all the same). ES384 signatures use
/// RFC 6979 deterministic nonces and come out as the 96-byte JOSE `r || s`, never DER.
///
/// Clones share one copy of the key; it is zeroized when the last clone is dropped. `Debug`
/// shows the algorithm only.
#[derive(Clone)]
pub struct KeySigner {
    key: SignerKey,
}

impl KeySigner {
    pub(crate) fn new(key: SignerKey) -> Self {
        Self { key }
    }
}

#[derive(Clone)]
pub(crate) enum SignerKey {
    #[cfg(feature = "rs384")]
    Rs256(std::sync::Arc<rsa::pkcs1v15::SigningKey<sha2::Sha256>>),
    #[cfg(feature = "rs384")]
    Rs384(std::sync::Arc<rsa::pkcs1v15::SigningKey<sha2::Sha384>>),
    #[cfg(feature = "es384")]
    Es384(std::sync::Arc<p384::ecdsa::SigningKey>),
}

impl JwsSigner for KeySigner {
    fn algorithm(&self) -> Algorithm {
        match self.key {
            #[cfg(feature = "rs384")]
            SignerKey::Rs256(_) => Algorithm::Rs256,
            #[cfg(feature = "rs384")]
            SignerKey::Rs384(_) => Algorithm::Rs384,
            #[cfg(feature = "es384")]
            SignerKey::Es384(_) => Algorithm::Es384,
        }
    }

    #[cfg_attr(
        not(any(feature = "rs384", feature = "es384")),
        expect(unused_variables, reason = "without key features no key exists")
    )]
    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        match self.key {
            #[cfg(feature = "rs384")]
            SignerKey::Rs256(ref key) => crate::rsa_key::sign(&**key, signing_input),
            #[cfg(feature = "rs384")]
            SignerKey::Rs384(ref key) => crate::rsa_key::sign(&**key, signing_input),
            #[cfg(feature = "es384")]
            SignerKey::Es384(ref key) => crate::ec_key::sign(key, signing_input),
        }
    }
}

impl fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { key: _ } = self;
        f.debug_struct("KeySigner")
            .field("alg", &self.algorithm())
            .field("key", &"[redacted]")
            .finish()
    }
}
