//! X.509 certificates and CRLs (RFC 5280), decoded with `RustCrypto` `x509-cert`, and the
//! signature checks the chain and the JWS verification need.

use core::fmt;
use std::time::SystemTime;

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use serde_json::{Map, Value};
use smart_jwt_assertion::Jwk;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use crate::error::UdapError;

/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_BYTES: usize = 256;

/// Largest certificate or CRL accepted, in DER bytes.
pub const MAX_DER_LEN: usize = 64 * 1024;

pub(crate) mod oid {
    use x509_cert::der::asn1::ObjectIdentifier as Oid;

    pub(crate) const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub(crate) const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub(crate) const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    pub(crate) const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    pub(crate) const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub(crate) const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
}

/// An X.509 certificate: its DER bytes and their decoding.
///
/// `Debug` and `Display` show the subject only.
#[derive(Clone, PartialEq, Eq)]
pub struct X509Certificate {
    der: Vec<u8>,
    cert: Certificate,
}

impl X509Certificate {
    /// Decodes one DER certificate (at most [`MAX_DER_LEN`] bytes).
    ///
    /// # Errors
    ///
    /// [`UdapError::MalformedCertificate`] when it is not one DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, UdapError> {
        Self::decode(der, "x509")
    }

    pub(crate) fn decode(der: &[u8], what: &'static str) -> Result<Self, UdapError> {
        if der.len() > MAX_DER_LEN {
            return Err(UdapError::MalformedCertificate {
                what,
                source: x509_cert::der::ErrorKind::Overlength.into(),
            });
        }
        let cert = Certificate::from_der(der)
            .map_err(|source| UdapError::MalformedCertificate { what, source })?;
        Ok(Self {
            der: der.to_vec(),
            cert,
        })
    }

    /// Decodes one PEM `CERTIFICATE`.
    ///
    /// # Errors
    ///
    /// [`UdapError::MalformedCertificate`].
    pub fn from_pem(pem: &str) -> Result<Self, UdapError> {
        let cert = Certificate::from_pem(pem.as_bytes()).map_err(|source| {
            UdapError::MalformedCertificate {
                what: "PEM",
                source,
            }
        })?;
        let der = cert
            .to_der()
            .map_err(|source| UdapError::MalformedCertificate {
                what: "PEM",
                source,
            })?;
        Self::decode(&der, "PEM")
    }

    /// Decodes every PEM `CERTIFICATE` in `pem`, in order (leaf first for a client chain).
    ///
    /// # Errors
    ///
    /// [`UdapError::MalformedCertificate`] when a block does not decode or there is none.
    pub fn chain_from_pem(pem: &str) -> Result<Vec<Self>, UdapError> {
        let certs = Certificate::load_pem_chain(pem.as_bytes()).map_err(|source| {
            UdapError::MalformedCertificate {
                what: "certificate_chain",
                source,
            }
        })?;
        if certs.is_empty() {
            return Err(UdapError::MalformedCertificate {
                what: "certificate_chain",
                source: x509_cert::der::ErrorKind::Incomplete {
                    expected_len: 1u8.into(),
                    actual_len: 0u8.into(),
                }
                .into(),
            });
        }
        certs
            .iter()
            .map(|cert| {
                let der = cert
                    .to_der()
                    .map_err(|source| UdapError::MalformedCertificate {
                        what: "certificate_chain",
                        source,
                    })?;
                Self::decode(&der, "certificate_chain")
            })
            .collect()
    }

    /// Decodes an `x5c` entry: standard base64 (with padding) of DER (RFC 7515 §4.1.6).
    pub(crate) fn from_x5c(entry: &str, what: &'static str) -> Result<Self, UdapError> {
        let der = Base64::decode_vec(entry).map_err(|_| UdapError::MalformedCertificate {
            what,
            source: x509_cert::der::ErrorKind::Failed.into(),
        })?;
        Self::decode(&der, what)
    }

    /// The `x5c` form: standard base64 of the DER.
    #[must_use]
    pub fn to_x5c(&self) -> String {
        Base64::encode_string(&self.der)
    }

    /// The DER bytes.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The subject, as an RFC 4514 string.
    #[must_use]
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    /// `notBefore`.
    #[must_use]
    pub fn not_before(&self) -> SystemTime {
        self.cert
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
    }

    /// `notAfter`.
    #[must_use]
    pub fn not_after(&self) -> SystemTime {
        self.cert
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time()
    }

    /// The URI entries (`GeneralName` tag 6) of the subject alternative name extension, exactly
    /// as encoded (commas inside a URI are part of it). Empty when there is none or it does
    /// not decode.
    #[must_use]
    pub fn uri_sans(&self) -> Vec<String> {
        let Ok(Some((_, san))) = self
            .cert
            .tbs_certificate()
            .get_extension::<SubjectAltName>()
        else {
            return Vec::new();
        };
        san.0
            .iter()
            .filter_map(|name| match name {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                _ => None,
            })
            .collect()
    }

    /// The subject public key as a JWK (`RSA`, or `EC` on P-384), to verify JWS signatures
    /// made with the certificate's key.
    ///
    /// # Errors
    ///
    /// Why the key cannot be used (another key type or curve, a malformed key).
    pub fn public_jwk(&self) -> Result<Jwk, &'static str> {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let der = spki
            .to_der()
            .map_err(|_| "its public key does not encode")?;
        let mut object = Map::new();
        match spki.algorithm.oid {
            oid::RSA_ENCRYPTION => {
                use rsa::pkcs8::DecodePublicKey as _;
                use rsa::traits::PublicKeyParts as _;
                let key = rsa::PublicKey::from_public_key_der(&der)
                    .map_err(|_| "its RSA public key does not decode")?;
                object.insert("kty".into(), Value::from("RSA"));
                object.insert("n".into(), b64(&key.n().to_be_bytes_trimmed_vartime()));
                object.insert("e".into(), b64(&key.e().to_be_bytes_trimmed_vartime()));
            }
            oid::EC_PUBLIC_KEY => {
                use p384::elliptic_curve::sec1::ToSec1Point as _;
                use p384::pkcs8::DecodePublicKey as _;
                let key = p384::PublicKey::from_public_key_der(&der)
                    .map_err(|_| "its EC public key is not a P-384 key")?;
                let point = key.to_sec1_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err("its EC public key is the identity");
                };
                object.insert("kty".into(), Value::from("EC"));
                object.insert("crv".into(), Value::from("P-384"));
                object.insert("x".into(), b64(x));
                object.insert("y".into(), b64(y));
            }
            _ => return Err("its public key is neither RSA nor EC P-384"),
        }
        Jwk::from_object(object).map_err(|_| "its public key cannot be used as a JWK")
    }

    /// The public JWK for verifying a JWS whose header is `header`: the key is the `x5c`
    /// leaf's whatever the header says, so a `kid` in the header is copied onto the JWK (the
    /// verifier would otherwise look for a key with that `kid`).
    pub(crate) fn jwk_for_header(&self, header: &Map<String, Value>) -> Result<Jwk, &'static str> {
        let jwk = self.public_jwk()?;
        let Some(Value::String(kid)) = header.get("kid") else {
            return Ok(jwk);
        };
        let Ok(Value::Object(mut object)) = serde_json::to_value(&jwk) else {
            return Err("its public key cannot be used as a JWK");
        };
        object.insert("kid".into(), Value::from(kid.as_str()));
        Jwk::from_object(object).map_err(|_| "its public key cannot be used as a JWK")
    }

    /// Whether `signature` over `message` (with `algorithm`) verifies under this
    /// certificate's public key.
    pub(crate) fn verifies(
        &self,
        algorithm: ObjectIdentifier,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let spki = self.cert.tbs_certificate().subject_public_key_info();
        let Ok(der) = spki.to_der() else {
            return false;
        };
        verify_signature(&der, algorithm, message, signature)
    }

    /// Whether this certificate was signed by `issuer`'s key (and names the same signature
    /// algorithm inside and outside the signed part, RFC 5280 §4.1.1.2).
    pub(crate) fn signed_by(&self, issuer: &Self) -> bool {
        if self.cert.tbs_certificate().signature() != self.cert.signature_algorithm() {
            return false;
        }
        let Some(tbs) = first_inner_tlv(&self.der) else {
            return false;
        };
        let Some(signature) = self.cert.signature().as_bytes() else {
            return false;
        };
        issuer.verifies(self.cert.signature_algorithm().oid, tbs, signature)
    }
}

impl fmt::Debug for X509Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { der: _, cert: _ } = self;
        f.debug_struct("X509Certificate")
            .field("subject", &self.subject())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for X509Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.subject())
    }
}

/// A certificate revocation list (RFC 5280 §5).
#[derive(Clone, PartialEq, Eq)]
pub struct Crl {
    der: Vec<u8>,
    crl: CertificateList,
}

impl Crl {
    /// Decodes a DER CRL.
    ///
    /// # Errors
    ///
    /// [`UdapError::MalformedCrl`].
    pub fn from_der(der: &[u8]) -> Result<Self, UdapError> {
        if der.len() > MAX_DER_LEN * 16 {
            return Err(UdapError::MalformedCrl {
                source: x509_cert::der::ErrorKind::Overlength.into(),
            });
        }
        let crl =
            CertificateList::from_der(der).map_err(|source| UdapError::MalformedCrl { source })?;
        Ok(Self {
            der: der.to_vec(),
            crl,
        })
    }

    /// Decodes a PEM `X509 CRL`.
    ///
    /// # Errors
    ///
    /// [`UdapError::MalformedCrl`].
    pub fn from_pem(pem: &str) -> Result<Self, UdapError> {
        let (label, der) = x509_cert::der::pem::decode_vec(pem.as_bytes()).map_err(|source| {
            UdapError::MalformedCrl {
                source: source.into(),
            }
        })?;
        if label != "X509 CRL" {
            return Err(UdapError::MalformedCrl {
                source: x509_cert::der::ErrorKind::Failed.into(),
            });
        }
        Self::from_der(&der)
    }

    /// The DER bytes.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded list.
    #[must_use]
    pub fn list(&self) -> &CertificateList {
        &self.crl
    }

    /// Whether this CRL was signed by `issuer`'s key.
    pub(crate) fn signed_by(&self, issuer: &X509Certificate) -> bool {
        let Some(tbs) = first_inner_tlv(&self.der) else {
            return false;
        };
        let Some(signature) = self.crl.signature.as_bytes() else {
            return false;
        };
        issuer.verifies(self.crl.signature_algorithm.oid, tbs, signature)
    }
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { der: _, crl } = self;
        f.debug_struct("Crl")
            .field("issuer", &crl.tbs_cert_list.issuer.to_string())
            .field(
                "revoked",
                &crl.tbs_cert_list
                    .revoked_certificates
                    .as_ref()
                    .map_or(0, Vec::len),
            )
            .finish()
    }
}

fn b64(bytes: &[u8]) -> Value {
    Value::from(Base64UrlUnpadded::encode_string(bytes))
}

/// The bytes of the first element inside the outer DER SEQUENCE (the signed part of a
/// certificate or a CRL), exactly as received.
fn first_inner_tlv(der: &[u8]) -> Option<&[u8]> {
    let (header, _) = tlv_len(der)?;
    let inner = der.get(header..)?;
    let (inner_header, inner_len) = tlv_len(inner)?;
    inner.get(..inner_header.checked_add(inner_len)?)
}

/// `(header length, content length)` of the DER TLV at the start of `bytes`.
fn tlv_len(bytes: &[u8]) -> Option<(usize, usize)> {
    let first = *bytes.get(1)?;
    if first < 0x80 {
        return Some((2, usize::from(first)));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 {
        return None;
    }
    let mut len = 0usize;
    for byte in bytes.get(2..2 + count)? {
        len = (len << 8) | usize::from(*byte);
    }
    Some((2 + count, len))
}

/// Verifies an X.509 signature (RSA PKCS#1 v1.5 with SHA-256/384/512, ECDSA P-384 with
/// SHA-384, DER-encoded) under a DER `SubjectPublicKeyInfo`.
pub(crate) fn verify_signature(
    spki_der: &[u8],
    algorithm: ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> bool {
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::signature::Verifier as _;
    match algorithm {
        oid::SHA256_WITH_RSA | oid::SHA384_WITH_RSA | oid::SHA512_WITH_RSA => {
            let Ok(key) = rsa::PublicKey::from_public_key_der(spki_der) else {
                return false;
            };
            // RSA keys below 2048 bits are refused, as for JWS (RFC 7518 §3.3).
            if rsa::traits::PublicKeyParts::size(&key) < MIN_RSA_BYTES {
                return false;
            }
            let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature) else {
                return false;
            };
            match algorithm {
                oid::SHA256_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key)
                    .verify(message, &signature)
                    .is_ok(),
                oid::SHA384_WITH_RSA => rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(key)
                    .verify(message, &signature)
                    .is_ok(),
                _ => rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(key)
                    .verify(message, &signature)
                    .is_ok(),
            }
        }
        oid::ECDSA_WITH_SHA384 => {
            let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(spki_der) else {
                return false;
            };
            let Ok(signature) = p384::ecdsa::Signature::from_der(signature) else {
                return false;
            };
            key.verify(message, &signature).is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_lengths() {
        assert_eq!(tlv_len(&[0x30, 0x03]), Some((2, 3)));
        assert_eq!(tlv_len(&[0x30, 0x82, 0x01, 0x00]), Some((4, 256)));
        assert_eq!(tlv_len(&[0x30, 0x80]), None);
        assert_eq!(tlv_len(&[0x30]), None);
        assert_eq!(
            first_inner_tlv(&[0x30, 0x04, 0x30, 0x02, 0x01, 0x00]),
            Some(&[0x30, 0x02, 0x01, 0x00][..])
        );
        assert_eq!(first_inner_tlv(&[0x30, 0x04, 0x30, 0x09]), None);
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(X509Certificate::from_der(b"not a certificate").is_err());
        assert!(X509Certificate::from_x5c("!!!", "x5c leaf").is_err());
        assert!(
            X509Certificate::from_pem(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
        assert!(X509Certificate::chain_from_pem("").is_err());
        assert!(Crl::from_der(&[0x30, 0x00]).is_err());
    }
}
