//! Certificate path validation to the caller's trust anchors (RFC 5280 §6, the parts UDAP
//! needs): signatures, validity periods, basic constraints, key usage, critical extensions and
//! revocation through CRLs or a caller-supplied checker.

use core::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use sha2::{Digest as _, Sha256};
use smart_core::TransportPolicy;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use crate::certificate::{Crl, X509Certificate};
use crate::refusals::{BoxError, ChainError, MAX_PATH_LEN, RevocationStatus};

/// The extensions this validator understands; any other extension marked critical makes a
/// certificate unusable (RFC 5280 §4.2).
const KNOWN_EXTENSIONS: [&str; 9] = [
    "2.5.29.19",         // basicConstraints
    "2.5.29.15",         // keyUsage
    "2.5.29.17",         // subjectAltName
    "2.5.29.37",         // extKeyUsage
    "2.5.29.14",         // subjectKeyIdentifier
    "2.5.29.35",         // authorityKeyIdentifier
    "2.5.29.31",         // cRLDistributionPoints
    "2.5.29.32",         // certificatePolicies
    "1.3.6.1.5.5.7.1.1", // authorityInfoAccess
];

/// A caller-supplied revocation check (OCSP, a CRL cache, a trust framework's API), called
/// after the path validates. It must answer [`RevocationStatus::Good`]; anything else,
/// an error included, fails closed.
pub trait RevocationChecker: Send + Sync {
    /// Checks the leaf (the intermediates and anchors are given for context).
    ///
    /// # Errors
    ///
    /// Any error; it fails the validation.
    fn check(
        &self,
        leaf: &X509Certificate,
        intermediates: &[X509Certificate],
        anchors: &[X509Certificate],
    ) -> Result<RevocationStatus, BoxError>;
}

impl<F> RevocationChecker for F
where
    F: Fn(&X509Certificate) -> Result<RevocationStatus, BoxError> + Send + Sync,
{
    fn check(
        &self,
        leaf: &X509Certificate,
        _intermediates: &[X509Certificate],
        _anchors: &[X509Certificate],
    ) -> Result<RevocationStatus, BoxError> {
        self(leaf)
    }
}

/// Which certificates a UDAP client trusts, and how revocation is checked.
///
/// `Debug` lists anchor subjects and counts.
///
/// ```
/// use smart_udap::TrustPolicy;
///
/// // Development only: signatures and claims are still verified; the chain is not.
/// let dev = TrustPolicy::new(Vec::new()).dangerous_skip_chain_validation();
/// assert!(!dev.verifies_chain());
/// ```
#[derive(Clone)]
pub struct TrustPolicy {
    anchors: Vec<X509Certificate>,
    crls: Vec<Crl>,
    checker: Option<Arc<dyn RevocationChecker>>,
    verify_chain: bool,
    transport: TransportPolicy,
}

impl TrustPolicy {
    /// Trust `anchors` (the community's roots), with chain validation on, no CRL and no
    /// checker yet (one of them is required), and the strict transport policy.
    #[must_use]
    pub fn new(anchors: Vec<X509Certificate>) -> Self {
        Self {
            anchors,
            crls: Vec::new(),
            checker: None,
            verify_chain: true,
            transport: TransportPolicy::STRICT,
        }
    }

    /// Adds a CRL. With CRLs, every certificate of the path below the anchor needs a current
    /// CRL signed by its issuer.
    #[must_use]
    pub fn with_crl(mut self, crl: Crl) -> Self {
        self.crls.push(crl);
        self
    }

    /// Adds a revocation checker, called for the leaf after the path validates.
    #[must_use]
    pub fn with_revocation_checker(mut self, checker: Arc<dyn RevocationChecker>) -> Self {
        self.checker = Some(checker);
        self
    }

    /// The transport policy for endpoints (signed ones included) and the `iss == base`
    /// comparison's base.
    #[must_use]
    pub fn with_transport(mut self, transport: TransportPolicy) -> Self {
        self.transport = transport;
        self
    }

    /// **Development and tests only.** Skips the X.509 chain and revocation checks. The
    /// `signed_metadata` signature (with the `x5c` leaf key) and every claim are still
    /// verified; the server's identity is not, so anyone can impersonate it. Logs a warning
    /// each time a chain is skipped.
    #[must_use]
    pub fn dangerous_skip_chain_validation(mut self) -> Self {
        self.verify_chain = false;
        self
    }

    /// Whether the chain is validated.
    #[must_use]
    pub fn verifies_chain(&self) -> bool {
        self.verify_chain
    }

    /// The trust anchors.
    #[must_use]
    pub fn anchors(&self) -> &[X509Certificate] {
        &self.anchors
    }

    /// The CRLs.
    #[must_use]
    pub fn crls(&self) -> &[Crl] {
        &self.crls
    }

    /// The transport policy.
    #[must_use]
    pub fn transport(&self) -> TransportPolicy {
        self.transport
    }

    /// A digest of the policy, for cache keys: the chain switch, the sorted DER of the
    /// anchors and of the CRLs, the transport policy and the checker's identity.
    #[must_use]
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut anchors: Vec<&[u8]> = self.anchors.iter().map(X509Certificate::der).collect();
        anchors.sort_unstable();
        let mut crls: Vec<&[u8]> = self.crls.iter().map(Crl::der).collect();
        crls.sort_unstable();
        let mut hash = Sha256::new();
        hash.update([
            u8::from(self.verify_chain),
            u8::from(self.transport.allows_insecure_localhost()),
        ]);
        for (label, items) in [(b'a', anchors), (b'c', crls)] {
            for item in items {
                hash.update([label]);
                hash.update((item.len() as u64).to_be_bytes());
                hash.update(item);
            }
        }
        let checker = self
            .checker
            .as_ref()
            .map_or(0, |checker| Arc::as_ptr(checker).cast::<()>() as usize);
        hash.update((checker as u64).to_be_bytes());
        hash.finalize().into()
    }

    /// Validates `leaf` (with `intermediates`, leaf's issuer first or in any order) to one of
    /// the anchors at `now`. Does nothing but log a warning when the chain check is skipped.
    ///
    /// # Errors
    ///
    /// [`ChainError`] for the first rule broken.
    pub fn validate(
        &self,
        leaf: &X509Certificate,
        intermediates: &[X509Certificate],
        now: SystemTime,
    ) -> Result<(), ChainError> {
        if !self.verify_chain {
            log::warn!(
                "[UDAP] certificate chain validation is skipped (development only): the server's identity is not verified"
            );
            return Ok(());
        }
        if self.crls.is_empty() && self.checker.is_none() {
            return Err(ChainError::RevocationRequired);
        }
        if self.anchors.is_empty() {
            return Err(ChainError::NoAnchors);
        }
        let path = self.build_path(leaf, intermediates)?;
        check_path(&path, now)?;
        if !self.crls.is_empty() {
            for pair in path.windows(2) {
                check_crl(pair[0], pair[1], &self.crls, now)?;
            }
        }
        if let Some(checker) = &self.checker {
            match checker.check(leaf, intermediates, &self.anchors) {
                Ok(RevocationStatus::Good) => {}
                Ok(status) => {
                    return Err(ChainError::CheckerRefused {
                        status: Some(status),
                        source: None,
                    });
                }
                Err(source) => {
                    return Err(ChainError::CheckerRefused {
                        status: None,
                        source: Some(source),
                    });
                }
            }
        }
        Ok(())
    }

    /// leaf, intermediates..., anchor.
    fn build_path<'a>(
        &'a self,
        leaf: &'a X509Certificate,
        intermediates: &'a [X509Certificate],
    ) -> Result<Vec<&'a X509Certificate>, ChainError> {
        let mut path = vec![leaf];
        let mut used = vec![false; intermediates.len()];
        loop {
            let current = path[path.len() - 1];
            let issuer_name = current.certificate().tbs_certificate().issuer();
            let is_issuer = |candidate: &X509Certificate| {
                candidate.certificate().tbs_certificate().subject() == issuer_name
                    && current.signed_by(candidate)
            };
            if let Some(anchor) = self.anchors.iter().find(|anchor| is_issuer(anchor)) {
                path.push(anchor);
                return Ok(path);
            }
            if path.len() + 1 >= MAX_PATH_LEN {
                return Err(ChainError::TooLong);
            }
            let next = intermediates
                .iter()
                .enumerate()
                .find(|(index, candidate)| !used[*index] && is_issuer(candidate));
            match next {
                Some((index, candidate)) => {
                    used[index] = true;
                    path.push(candidate);
                }
                None => {
                    return Err(ChainError::NoIssuer {
                        subject: current.subject(),
                    });
                }
            }
        }
    }
}

impl fmt::Debug for TrustPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            anchors,
            crls,
            checker,
            verify_chain,
            transport,
        } = self;
        f.debug_struct("TrustPolicy")
            .field(
                "anchors",
                &anchors
                    .iter()
                    .map(X509Certificate::subject)
                    .collect::<Vec<_>>(),
            )
            .field("crls", &crls.len())
            .field("revocation_checker", &checker.is_some())
            .field("verify_chain", verify_chain)
            .field("transport", transport)
            .finish()
    }
}

fn basic_constraints(cert: &X509Certificate) -> Result<Option<BasicConstraints>, ChainError> {
    cert.certificate()
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .map(|found| found.map(|(_, value)| value))
        .map_err(|_| ChainError::MalformedExtension {
            subject: cert.subject(),
            extension: "basicConstraints",
        })
}

fn key_usage(cert: &X509Certificate) -> Result<Option<KeyUsage>, ChainError> {
    cert.certificate()
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .map(|found| found.map(|(_, value)| value))
        .map_err(|_| ChainError::MalformedExtension {
            subject: cert.subject(),
            extension: "keyUsage",
        })
}

fn check_validity(cert: &X509Certificate, now: SystemTime) -> Result<(), ChainError> {
    if now < cert.not_before() {
        return Err(ChainError::Validity {
            subject: cert.subject(),
            state: "not yet valid",
        });
    }
    if now > cert.not_after() {
        return Err(ChainError::Validity {
            subject: cert.subject(),
            state: "expired",
        });
    }
    Ok(())
}

fn check_critical(cert: &X509Certificate) -> Result<(), ChainError> {
    let extensions = cert.certificate().tbs_certificate().extensions();
    for extension in extensions.into_iter().flatten() {
        if extension.critical && !KNOWN_EXTENSIONS.contains(&extension.extn_id.to_string().as_str())
        {
            return Err(ChainError::UnsupportedCriticalExtension {
                subject: cert.subject(),
                oid: extension.extn_id,
            });
        }
    }
    Ok(())
}

fn check_path(path: &[&X509Certificate], now: SystemTime) -> Result<(), ChainError> {
    for cert in path {
        check_validity(cert, now)?;
        check_critical(cert)?;
    }
    let leaf = path[0];
    if let Some(usage) = key_usage(leaf)?
        && !usage.digital_signature()
    {
        return Err(ChainError::KeyUsage {
            subject: leaf.subject(),
            usage: "digital signatures",
        });
    }
    // Issuers: every certificate after the leaf. `below` counts the intermediate CAs under it.
    for (index, issuer) in path.iter().enumerate().skip(1) {
        let below = index.saturating_sub(1);
        match basic_constraints(issuer)? {
            Some(constraints) if constraints.ca => {
                if let Some(limit) = constraints.path_len_constraint
                    && below > usize::from(limit)
                {
                    return Err(ChainError::NotCa {
                        subject: issuer.subject(),
                        reason: "has a path length constraint the chain exceeds",
                    });
                }
            }
            _ => {
                return Err(ChainError::NotCa {
                    subject: issuer.subject(),
                    reason: "is not a CA certificate (basic constraints) but issued another certificate",
                });
            }
        }
        if let Some(usage) = key_usage(issuer)?
            && !usage.key_cert_sign()
        {
            return Err(ChainError::KeyUsage {
                subject: issuer.subject(),
                usage: "certificate signing",
            });
        }
    }
    Ok(())
}

fn check_crl(
    cert: &X509Certificate,
    issuer: &X509Certificate,
    crls: &[Crl],
    now: SystemTime,
) -> Result<(), ChainError> {
    let issuer_name = issuer.certificate().tbs_certificate().subject();
    let current = crls.iter().find(|crl| {
        let list = &crl.list().tbs_cert_list;
        // A critical CRL or entry extension (an issuing distribution point, say) would change
        // what the list covers; this validator does not process them, so such a CRL is not
        // used (RFC 5280 §5.2, §5.3): fail closed.
        let critical = list.crl_extensions.iter().flatten().any(|e| e.critical)
            || list
                .revoked_certificates
                .iter()
                .flatten()
                .flat_map(|entry| entry.crl_entry_extensions.iter().flatten())
                .any(|e| e.critical);
        !critical
            && &list.issuer == issuer_name
            && list.this_update.to_system_time() <= now
            && list
                .next_update
                .is_none_or(|next| now <= next.to_system_time())
            && crl.signed_by(issuer)
    });
    let Some(crl) = current else {
        return Err(ChainError::NoCrl {
            subject: cert.subject(),
        });
    };
    if let Some(usage) = key_usage(issuer)?
        && !usage.crl_sign()
    {
        return Err(ChainError::KeyUsage {
            subject: issuer.subject(),
            usage: "CRL signing",
        });
    }
    let serial = cert.certificate().tbs_certificate().serial_number();
    let revoked = crl
        .list()
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .any(|entry| entry.serial_number.as_bytes() == serial.as_bytes());
    if revoked {
        return Err(ChainError::Revoked {
            subject: cert.subject(),
        });
    }
    Ok(())
}
