#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache;
mod certificate;
mod chain;
mod client_auth;
mod community;
mod conformance;
mod credentials;
mod discovery;
mod error;
mod metadata;
mod refusals;
mod registration;
mod registration_metadata;
mod server_side;
mod signed_metadata;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;

pub use cache::{MAX_ENTRIES, MetadataCache};
pub use certificate::{Crl, MAX_DER_LEN, X509Certificate};
pub use chain::{RevocationChecker, TrustPolicy};
pub use client_auth::{ASSERTION_LIFETIME, B2bExtension, UdapClientAssertion};
pub use community::Community;
pub use conformance::{ConformanceFinding, ConformanceReport};
pub use credentials::{JTI_BYTES, UdapCredentials};
pub use discovery::{
    VerifiedUdapMetadata, WELL_KNOWN_PATH, discovery_request, read_discovery, well_known_url,
};
pub use error::{BoxError, RegistrationErrorCode, UdapError};
pub use metadata::{ARRAY_FIELDS, OPTIONAL_FIELDS, REQUIRED_FIELDS, UdapMetadata, profile};
pub use refusals::{
    ChainError, MAX_PATH_LEN, RevocationStatus, SignedMetadataProblem, StatementError,
};
pub use registration::{
    RegisteredClient, SOFTWARE_STATEMENT_LIFETIME, SoftwareStatement, UdapRegistration,
    read_cancellation, read_registration, software_statement,
};
pub use registration_metadata::{GRANT_TYPES, Operation, RESERVED_FIELDS, RegistrationMetadata};
pub use server_side::{
    SERVER_ALGORITHMS, VerifiedStatement, verify_client_assertion, verify_software_statement,
};
pub use signed_metadata::{
    ENDPOINT_CLAIMS, MAX_SIGNED_METADATA_LIFETIME, SignedEndpoints, verify_signed_metadata,
};
