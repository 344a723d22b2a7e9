//! Why the trust checks refuse: a certificate chain ([`ChainError`]), a software statement or
//! client assertion ([`StatementError`]), `signed_metadata` ([`SignedMetadataProblem`]). They
//! live apart from the checks so that [`crate::UdapError`] can carry them without the checks
//! and the error type depending on each other.

use core::fmt;

use x509_cert::der::asn1::ObjectIdentifier;

/// A boxed error, the cause of a failed revocation check.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A revocation checker's answer. Only [`RevocationStatus::Good`] lets a chain through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStatus {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked,
    /// The checker could not tell (an OCSP responder was down, ...). Treated as a failure.
    Unknown,
}

/// The longest path accepted, leaf and anchor included.
pub const MAX_PATH_LEN: usize = 8;

/// Why a certificate chain was refused. Messages name certificates by subject only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No CRL and no revocation checker while the chain is verified.
    #[error("certificate revocation checking is required when verify_chain is true")]
    RevocationRequired,
    /// No trust anchor was configured.
    #[error("no trust anchor is configured; add the community's root certificates")]
    NoAnchors,
    /// A certificate is outside its validity period.
    #[error("certificate `{subject}` is {state}")]
    Validity {
        /// The subject.
        subject: String,
        /// `expired` or `not yet valid`.
        state: &'static str,
    },
    /// No issuer could be found among the intermediates and anchors.
    #[error(
        "certificate chain validation failed: unable to get issuer certificate for `{subject}`"
    )]
    NoIssuer {
        /// The subject of the certificate whose issuer is missing.
        subject: String,
    },
    /// The path is longer than [`MAX_PATH_LEN`].
    #[error(
        "certificate chain validation failed: the path is longer than {MAX_PATH_LEN} certificates"
    )]
    TooLong,
    /// An issuing certificate is not a CA (basic constraints), or a path length is exceeded.
    #[error("certificate chain validation failed: `{subject}` {reason}")]
    NotCa {
        /// The subject.
        subject: String,
        /// The broken rule.
        reason: &'static str,
    },
    /// A key usage forbids the use.
    #[error(
        "certificate chain validation failed: the key usage of `{subject}` does not allow {usage}"
    )]
    KeyUsage {
        /// The subject.
        subject: String,
        /// `certificate signing`, `CRL signing` or `digital signatures`.
        usage: &'static str,
    },
    /// A certificate carries a critical extension this validator does not process.
    #[error(
        "certificate chain validation failed: `{subject}` has an unsupported critical extension {oid}"
    )]
    UnsupportedCriticalExtension {
        /// The subject.
        subject: String,
        /// The extension's OID.
        oid: ObjectIdentifier,
    },
    /// An extension does not decode.
    #[error(
        "certificate chain validation failed: `{subject}` has a malformed {extension} extension"
    )]
    MalformedExtension {
        /// The subject.
        subject: String,
        /// The extension name.
        extension: &'static str,
    },
    /// No usable CRL from the certificate's issuer (missing, wrongly signed or out of date).
    #[error("certificate chain validation failed: unable to get a current CRL for `{subject}`")]
    NoCrl {
        /// The subject.
        subject: String,
    },
    /// The certificate is listed in its issuer's CRL.
    #[error("certificate chain validation failed: certificate `{subject}` is revoked")]
    Revoked {
        /// The subject.
        subject: String,
    },
    /// The revocation checker did not answer [`RevocationStatus::Good`].
    #[error("certificate revocation check failed{}", status.map(|s| format!(": {s:?}")).unwrap_or_default())]
    CheckerRefused {
        /// Its answer, when it answered.
        status: Option<RevocationStatus>,
        /// Its error, when it failed.
        #[source]
        source: Option<BoxError>,
    },
    /// The client chain is not leaf first and issuer ordered.
    #[error("certificate_chain must be leaf-first and issuer-ordered")]
    Order,
    /// The private key is not the leaf's.
    #[error("private key does not match the leaf certificate public key")]
    KeyMismatch,
    /// The `client_uri` is not a URI SAN of the leaf.
    #[error("client_uri does not match any URI SAN in the leaf certificate")]
    SanMismatch,
}

/// Why a software statement or an assertion was refused (the cause inside
/// [`crate::UdapError::InvalidStatement`]). A server answers `invalid_software_statement` (or
/// `invalid_client`) with the message; it names claims, never their values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// Not a compact JWS, or its header or payload is not a JSON object.
    #[error("the JWT cannot be decoded")]
    Malformed(#[source] smart_jwt_assertion::Error),
    /// No usable `x5c`.
    #[error("the x5c header must be a non-empty array of base64 DER certificates")]
    X5c,
    /// The signature does not verify with the leaf's key, or the algorithm is not allowed.
    #[error("the signature does not verify with the x5c leaf certificate's key")]
    Signature(#[source] smart_jwt_assertion::Error),
    /// The chain does not validate.
    #[error("the certificate chain is not trusted: {0}")]
    Chain(#[source] ChainError),
    /// A claim breaks its rule.
    #[error("the {claim} claim {rule}")]
    Claim {
        /// The claim.
        claim: &'static str,
        /// The rule.
        rule: &'static str,
    },
}

/// One reason `signed_metadata` was refused. `Display` gives the message safire logs after
/// `[UDAP] signed_metadata validation: `.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignedMetadataProblem {
    /// It is absent or not a string.
    NotAString,
    /// It is not a decodable compact JWS.
    Undecodable(smart_jwt_assertion::Error),
    /// Its `alg` is not RS256.
    Algorithm(String),
    /// The header has no `x5c` array of strings.
    NoX5c,
    /// The signature does not verify with the leaf's key.
    Signature(smart_jwt_assertion::Error),
    /// The chain does not validate to a trust anchor.
    Chain(ChainError),
    /// A claim fails its rule.
    Claim(&'static str),
    /// `iss` is not among the leaf's URI SANs.
    IssNotInSan,
    /// `iss` is not the base URL.
    IssNotBase {
        /// The `iss` claim.
        iss: String,
        /// The base URL without a trailing slash.
        base: String,
    },
    /// An endpoint claim is not an absolute HTTPS URL.
    NotHttps(&'static str),
    /// An endpoint claim is missing.
    MissingEndpoint(&'static str),
}

impl fmt::Display for SignedMetadataProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAString => f.write_str("signed_metadata must be a compact-JWS string"),
            Self::Undecodable(error) => write!(f, "could not decode signed_metadata JWT: {error}"),
            Self::Algorithm(alg) => write!(
                f,
                "alg '{alg}' is not permitted; expected RS256 (UDAP Security STU2)"
            ),
            Self::NoX5c => {
                f.write_str("x5c header must be a non-empty array of certificate strings")
            }
            Self::Signature(error) => write!(f, "signature verification failed: {error}"),
            Self::Chain(error) => write!(f, "{error}"),
            Self::Claim(message) => f.write_str(message),
            Self::IssNotInSan => {
                f.write_str("iss claim does not match any URI SAN of the x5c leaf certificate")
            }
            Self::IssNotBase { iss, base } => {
                write!(
                    f,
                    "iss claim \"{iss}\" does not equal the base URL \"{base}\""
                )
            }
            Self::NotHttps(claim) => write!(f, "{claim} claim must be an absolute HTTPS URL"),
            Self::MissingEndpoint(claim) => write!(f, "{claim} claim is missing"),
        }
    }
}
