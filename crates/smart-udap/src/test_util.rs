//! A test PKI made at run time (feature `test-util`): a P-384 root and intermediate, RSA or
//! P-384 leaves with URI SANs, CRLs, and signed JWTs. For tests and test servers only.
//!
//! The RSA leaf keys are two fixed 2048-bit test keys (RSA key generation is slow in debug
//! builds); every certificate, CA key and CRL is made fresh.

use std::time::{Duration, SystemTime};

use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use serde_json::{Map, Value};
use smart_core::{OsRandom, RandomSource as _};
use smart_jwt_assertion::{Algorithm, PrivateKey, sign_compact};
use x509_cert::Version;
use x509_cert::builder::{Builder as _, CertificateBuilder, Profile};
use x509_cert::certificate::TbsCertificate;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::der::Encode as _;
use x509_cert::der::asn1::{BitString, Ia5String, OctetString};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

use crate::certificate::{Crl, X509Certificate, oid};

/// The server leaf's fixed RSA test key (PKCS#8 PEM).
pub const SERVER_RSA_KEY_PEM: &str = include_str!("test_util/rsa-server.pem");
/// The client leaf's fixed RSA test key (PKCS#8 PEM).
pub const CLIENT_RSA_KEY_PEM: &str = include_str!("test_util/rsa-client.pem");

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Why the test PKI failed (it does not in practice; tests unwrap it).
pub type TestPkiError = Box<dyn std::error::Error + Send + Sync>;

/// The key of a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKey {
    /// [`SERVER_RSA_KEY_PEM`].
    ServerRsa,
    /// [`CLIENT_RSA_KEY_PEM`].
    ClientRsa,
    /// A fresh P-384 key.
    P384,
}

/// How to make a leaf.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// The URI SANs.
    pub uri_sans: Vec<String>,
    /// The key.
    pub key: LeafKey,
    /// `notBefore`.
    pub not_before: SystemTime,
    /// `notAfter`.
    pub not_after: SystemTime,
    /// The key usage (`digitalSignature` by default).
    pub digital_signature: bool,
}

/// A leaf certificate and its private key (PEM and loaded).
#[derive(Debug)]
pub struct Leaf {
    /// The certificate.
    pub certificate: X509Certificate,
    /// The key, PKCS#8 PEM.
    pub key_pem: String,
    /// The key.
    pub key: PrivateKey,
}

struct CaKey {
    key: p384::ecdsa::SigningKey,
    certificate: X509Certificate,
    name: Name,
}

/// A root and an intermediate CA (P-384, ECDSA-SHA384), valid from a day before `now` for a
/// year.
pub struct TestPki {
    root: CaKey,
    intermediate: CaKey,
    now: SystemTime,
    serial: std::sync::atomic::AtomicU32,
}

impl core::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestPki")
            .field("root", &self.root.certificate)
            .field("intermediate", &self.intermediate.certificate)
            .finish_non_exhaustive()
    }
}

struct TestProfile {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl Profile for TestProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn extension(
    oid: x509_cert::der::asn1::ObjectIdentifier,
    critical: bool,
    value: &impl x509_cert::der::Encode,
) -> Result<Extension, TestPkiError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn new_p384() -> Result<p384::ecdsa::SigningKey, TestPkiError> {
    loop {
        let mut bytes = [0u8; 48];
        OsRandom.fill(&mut bytes)?;
        if let Ok(key) = p384::ecdsa::SigningKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
}

/// The extensions of a CA certificate, or of a leaf.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// The subject, e.g. `CN=Test Root`.
    pub subject: String,
    /// `basicConstraints` CA (absent when `None`).
    pub ca: Option<bool>,
    /// `keyUsage` (absent when `None`).
    pub key_usage: Option<Vec<KeyUsages>>,
    /// URI SANs.
    pub uri_sans: Vec<String>,
    /// `notBefore`, `notAfter`.
    pub validity: (SystemTime, SystemTime),
    /// An extra extension (OID, critical) with an empty value, to test critical handling.
    pub extra_critical: Option<&'static str>,
}

impl TestPki {
    /// A fresh PKI whose certificates are valid from `now` - 1 day to `now` + 365 days.
    ///
    /// # Errors
    ///
    /// When a key or certificate cannot be made.
    pub fn new(now: SystemTime) -> Result<Self, TestPkiError> {
        let validity = (now - DAY, now + 365 * DAY);
        let root_key = new_p384()?;
        let root_name: Name = "CN=smart-udap Test Root,O=smart-on-fhir".parse()?;
        let ca_usage = Some(vec![KeyUsages::KeyCertSign, KeyUsages::CRLSign]);
        let root_spec = CertSpec {
            subject: "CN=smart-udap Test Root,O=smart-on-fhir".into(),
            ca: Some(true),
            key_usage: ca_usage.clone(),
            uri_sans: Vec::new(),
            validity,
            extra_critical: None,
        };
        let root_spki = SubjectPublicKeyInfo::from_key(root_key.verifying_key())?;
        let root_cert = build(&root_spec, root_spki, &root_name, &root_key, 1)?;
        let root = CaKey {
            key: root_key,
            certificate: root_cert,
            name: root_name,
        };
        let intermediate_key = new_p384()?;
        let intermediate_spec = CertSpec {
            subject: "CN=smart-udap Test Intermediate,O=smart-on-fhir".into(),
            ..root_spec
        };
        let spki = SubjectPublicKeyInfo::from_key(intermediate_key.verifying_key())?;
        let certificate = build(&intermediate_spec, spki, &root.name, &root.key, 2)?;
        let intermediate = CaKey {
            key: intermediate_key,
            name: intermediate_spec.subject.parse()?,
            certificate,
        };
        Ok(Self {
            root,
            intermediate,
            now,
            serial: std::sync::atomic::AtomicU32::new(100),
        })
    }

    /// The root certificate (the trust anchor).
    #[must_use]
    pub fn root(&self) -> &X509Certificate {
        &self.root.certificate
    }

    /// The intermediate CA certificate.
    #[must_use]
    pub fn intermediate(&self) -> &X509Certificate {
        &self.intermediate.certificate
    }

    /// A leaf spec valid for the PKI's year, with `digitalSignature` and `uri_san`.
    #[must_use]
    pub fn leaf_spec(&self, uri_san: &str, key: LeafKey) -> LeafSpec {
        LeafSpec {
            uri_sans: vec![uri_san.to_owned()],
            key,
            not_before: self.now - DAY,
            not_after: self.now + 365 * DAY,
            digital_signature: true,
        }
    }

    /// A leaf issued by the intermediate.
    ///
    /// # Errors
    ///
    /// When it cannot be made.
    pub fn leaf(&self, spec: &LeafSpec) -> Result<Leaf, TestPkiError> {
        let (key_pem, spki) = match spec.key {
            LeafKey::ServerRsa | LeafKey::ClientRsa => {
                let pem = if spec.key == LeafKey::ServerRsa {
                    SERVER_RSA_KEY_PEM
                } else {
                    CLIENT_RSA_KEY_PEM
                };
                let key = rsa::PrivateKey::from_pkcs8_pem(pem)?;
                let der = key.to_public_key().to_public_key_der()?;
                (
                    pem.to_owned(),
                    SubjectPublicKeyInfo::try_from(der.as_bytes())?,
                )
            }
            LeafKey::P384 => {
                let key = new_p384()?;
                let pem = PrivateKey::from_pem(&{
                    use p384::pkcs8::EncodePrivateKey as _;
                    key.to_pkcs8_pem(p384::pkcs8::LineEnding::LF)?.to_string()
                })?
                .to_pkcs8_pem()?
                .to_string();
                (pem, SubjectPublicKeyInfo::from_key(key.verifying_key())?)
            }
        };
        let cert_spec = CertSpec {
            subject: "CN=smart-udap Test Leaf,O=smart-on-fhir".into(),
            ca: Some(false),
            key_usage: spec
                .digital_signature
                .then(|| vec![KeyUsages::DigitalSignature])
                .or(Some(vec![KeyUsages::KeyEncipherment])),
            uri_sans: spec.uri_sans.clone(),
            validity: (spec.not_before, spec.not_after),
            extra_critical: None,
        };
        let certificate = self.issue(&cert_spec, spki)?;
        let key = PrivateKey::from_pem(&key_pem)?;
        Ok(Leaf {
            certificate,
            key_pem,
            key,
        })
    }

    /// A certificate of any shape issued by the intermediate for `spki`.
    ///
    /// # Errors
    ///
    /// When it cannot be made.
    pub fn issue(
        &self,
        spec: &CertSpec,
        spki: SubjectPublicKeyInfo<x509_cert::der::Any, BitString>,
    ) -> Result<X509Certificate, TestPkiError> {
        let serial = self
            .serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        build(
            spec,
            spki,
            &self.intermediate.name,
            &self.intermediate.key,
            serial,
        )
    }

    /// A CRL from the intermediate listing `revoked`, current at the PKI's `now`.
    ///
    /// # Errors
    ///
    /// When it cannot be made.
    pub fn intermediate_crl(&self, revoked: &[&X509Certificate]) -> Result<Crl, TestPkiError> {
        crl(
            &self.intermediate,
            revoked,
            self.now - DAY,
            Some(self.now + 30 * DAY),
        )
    }

    /// A CRL from the intermediate revoking nothing but carrying a critical (unknown)
    /// extension: validators that do not process it must not use the CRL.
    ///
    /// # Errors
    ///
    /// When it cannot be made.
    pub fn intermediate_crl_with_critical_extension(&self) -> Result<Crl, TestPkiError> {
        let extension = Extension {
            extn_id: x509_cert::der::asn1::ObjectIdentifier::new("1.2.3.4.5.6")?,
            critical: true,
            extn_value: OctetString::new(vec![0x05, 0x00])?,
        };
        crl_with(
            &self.intermediate,
            &[],
            self.now - DAY,
            Some(self.now + 30 * DAY),
            Some(vec![extension]),
        )
    }

    /// A CRL from the root listing `revoked` (the intermediate, to revoke it).
    ///
    /// # Errors
    ///
    /// When it cannot be made.
    pub fn root_crl(&self, revoked: &[&X509Certificate]) -> Result<Crl, TestPkiError> {
        crl(
            &self.root,
            revoked,
            self.now - DAY,
            Some(self.now + 30 * DAY),
        )
    }

    /// Both CRLs, revoking nothing: what a policy with CRL checking needs for a good chain.
    ///
    /// # Errors
    ///
    /// When they cannot be made.
    pub fn empty_crls(&self) -> Result<Vec<Crl>, TestPkiError> {
        Ok(vec![self.root_crl(&[])?, self.intermediate_crl(&[])?])
    }

    /// The PEM chain leaf, intermediate (what a client configures).
    #[must_use]
    pub fn chain_pem(&self, leaf: &X509Certificate) -> String {
        [leaf, self.intermediate()]
            .iter()
            .map(|cert| pem("CERTIFICATE", cert.der()))
            .collect()
    }
}

/// PEM armour around DER.
#[must_use]
pub fn pem(label: &str, der: &[u8]) -> String {
    x509_cert::der::pem::encode_string(label, x509_cert::der::pem::LineEnding::LF, der)
        .unwrap_or_default()
}

fn build(
    spec: &CertSpec,
    spki: SubjectPublicKeyInfo<x509_cert::der::Any, BitString>,
    issuer: &Name,
    signer: &p384::ecdsa::SigningKey,
    serial: u32,
) -> Result<X509Certificate, TestPkiError> {
    let mut extensions = Vec::new();
    if let Some(ca) = spec.ca {
        extensions.push(extension(
            x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.29.19"),
            true,
            &BasicConstraints {
                ca,
                path_len_constraint: None,
            },
        )?);
    }
    if let Some(usages) = &spec.key_usage {
        let mut flags = x509_cert::der::flagset::FlagSet::<KeyUsages>::default();
        for usage in usages {
            flags |= *usage;
        }
        extensions.push(extension(
            x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.29.15"),
            true,
            &KeyUsage(flags),
        )?);
    }
    if !spec.uri_sans.is_empty() {
        let names = spec
            .uri_sans
            .iter()
            .map(|uri| Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(uri)?)))
            .collect::<Result<Vec<_>, TestPkiError>>()?;
        extensions.push(extension(
            x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.29.17"),
            false,
            &SubjectAltName(names),
        )?);
    }
    if let Some(oid) = spec.extra_critical {
        extensions.push(Extension {
            extn_id: x509_cert::der::asn1::ObjectIdentifier::new(oid)?,
            critical: true,
            extn_value: OctetString::new(vec![0x05, 0x00])?,
        });
    }
    let profile = TestProfile {
        subject: spec.subject.parse()?,
        issuer: issuer.clone(),
        extensions,
    };
    let validity = Validity::new(
        Time::try_from(spec.validity.0)?,
        Time::try_from(spec.validity.1)?,
    );
    let builder = CertificateBuilder::new(profile, SerialNumber::from(serial), validity, spki)?;
    let cert = builder.build::<_, p384::ecdsa::DerSignature>(signer)?;
    Ok(X509Certificate::from_der(&cert.to_der()?)?)
}

fn crl(
    issuer: &CaKey,
    revoked: &[&X509Certificate],
    this_update: SystemTime,
    next_update: Option<SystemTime>,
) -> Result<Crl, TestPkiError> {
    crl_with(issuer, revoked, this_update, next_update, None)
}

fn crl_with(
    issuer: &CaKey,
    revoked: &[&X509Certificate],
    this_update: SystemTime,
    next_update: Option<SystemTime>,
    crl_extensions: Option<Vec<Extension>>,
) -> Result<Crl, TestPkiError> {
    use p384::ecdsa::signature::Signer as _;
    let algorithm = AlgorithmIdentifierOwned {
        oid: oid::ECDSA_WITH_SHA384,
        parameters: None,
    };
    let entries = revoked
        .iter()
        .map(|cert| {
            Ok(RevokedCert {
                serial_number: cert.certificate().tbs_certificate().serial_number().clone(),
                revocation_date: Time::try_from(this_update)?,
                crl_entry_extensions: None,
            })
        })
        .collect::<Result<Vec<_>, TestPkiError>>()?;
    let tbs = TbsCertList {
        version: Version::V2,
        signature: algorithm.clone(),
        issuer: issuer.name.clone(),
        this_update: Time::try_from(this_update)?,
        next_update: next_update.map(Time::try_from).transpose()?,
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions,
    };
    let signature: p384::ecdsa::DerSignature = issuer.key.sign(&tbs.to_der()?);
    let list = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(signature.as_bytes())?,
    };
    Ok(Crl::from_der(&list.to_der()?)?)
}

/// Signs `claims` as a JWS with header `{"alg", "x5c"}` (certificates leaf first), as a UDAP
/// server signs its metadata.
///
/// # Errors
///
/// When signing fails.
pub fn sign_with_x5c(
    claims: &Map<String, Value>,
    key: &PrivateKey,
    alg: Algorithm,
    chain: &[&X509Certificate],
) -> Result<String, TestPkiError> {
    let mut header = Map::new();
    header.insert(
        "x5c".into(),
        Value::from(chain.iter().map(|cert| cert.to_x5c()).collect::<Vec<_>>()),
    );
    Ok(sign_compact(&header, claims, &key.signer(Some(alg))?)?)
}
