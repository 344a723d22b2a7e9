#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod certificate;
mod chain;
mod community;
mod conformance;
mod discovery;
mod error;
mod metadata;
mod signed_metadata;

pub use cache::{MAX_ENTRIES, MetadataCache};
pub use certificate::{Crl, MAX_DER_LEN, X509Certificate};
pub use chain::{ChainError, MAX_PATH_LEN, RevocationChecker, RevocationStatus, TrustPolicy};
pub use community::Community;
pub use conformance::{ConformanceFinding, ConformanceReport};
pub use discovery::{
    VerifiedUdapMetadata, WELL_KNOWN_PATH, discovery_request, read_discovery, well_known_url,
};
pub use error::{BoxError, RegistrationErrorCode, UdapError};
pub use metadata::{ARRAY_FIELDS, OPTIONAL_FIELDS, REQUIRED_FIELDS, UdapMetadata, profile};
pub use signed_metadata::{
    ENDPOINT_CLAIMS, MAX_SIGNED_METADATA_LIFETIME, SignedEndpoints, SignedMetadataProblem,
    verify_signed_metadata,
};
