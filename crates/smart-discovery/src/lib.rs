#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod capability;
pub mod capability_statement;
mod compliance;
mod configuration;
mod error;
mod finding;
pub mod openid;
mod read;

use http::{Request, Response};
use smart_core::url::Url;
use smart_core::{FhirBaseUrl, TransportPolicy};

pub use capability::Capability;
pub use compliance::{ComplianceFinding, ComplianceReport};
pub use configuration::{
    ASYMMETRIC_SIGNING_ALGORITHMS, AssociatedEndpoint, BrandIdentifier, SmartConfiguration,
};
pub use error::{DiscoveryError, InvalidRequestUrl};
pub use finding::Finding;

/// The path appended to the FHIR base URL
/// ([conformance.html#using-well-known](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#using-well-known)).
pub const WELL_KNOWN_PATH: &str = ".well-known/smart-configuration";

/// `{base}/.well-known/smart-configuration`, appended to the base's *path*: `https://h/r4`
/// gives `https://h/r4/.well-known/smart-configuration` (where `Url::join` would drop `r4`),
/// and a trailing slash is not doubled. The base's query and fragment are dropped.
#[must_use]
pub fn well_known_url(base: &FhirBaseUrl) -> Url {
    base.append_path(WELL_KNOWN_PATH)
}

/// `GET {base}/.well-known/smart-configuration` with `Accept: application/json` and an
/// empty body
/// ([app-launch.html#retrieve-well-knownsmart-configuration](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#retrieve-well-knownsmart-configuration)).
///
/// # Errors
///
/// [`DiscoveryError::RequestUrl`] when the URL is longer than the `http` crate accepts
/// (65534 bytes); no other URL is refused.
pub fn request(base: &FhirBaseUrl) -> Result<Request<Vec<u8>>, DiscoveryError> {
    read::get(&well_known_url(base), "application/json")
}

/// Reads the response to [`request`] into a [`SmartConfiguration`].
///
/// - The status must be 2xx.
/// - The body must be one JSON object, whatever the `Content-Type`; it is read strictly
///   (no repeated keys, bounded depth) by [`smart_core::json::parse_object`].
/// - Fields are read leniently: a field of the wrong type, an empty string, or an unusable
///   link is ignored and recorded as a [`Finding`]. Unknown fields are kept as
///   [extensions](SmartConfiguration::extensions).
/// - Relative endpoint URLs are resolved against `base` (as a directory: `auth/token`
///   against `https://h/r4` gives `https://h/r4/auth/token`), with a finding.
/// - `authorization_endpoint`, `token_endpoint`, `registration_endpoint`,
///   `introspection_endpoint`, `revocation_endpoint` and `jwks_uri` must pass `policy`:
///   `https://`, or `http://` to a loopback host under
///   [`TransportPolicy::ALLOW_INSECURE_LOCALHOST`]. `management_endpoint`,
///   `user_access_brand_bundle`, `associated_endpoints[].url` and `issuer` are links, not
///   places credentials go: when they fail, they are dropped with a finding.
/// - An absolute endpoint is kept byte for byte: the token endpoint string becomes the `aud`
///   of client assertions.
///
/// # Errors
///
/// - [`DiscoveryError::Status`] for a non-2xx response (the body is not read);
/// - [`DiscoveryError::Body`] when the body is not a JSON object;
/// - [`DiscoveryError::UnusableEndpoint`] when a credential endpoint fails the `policy` or
///   is not a URL.
///
/// No error holds the body, and no input makes this panic.
pub fn parse(
    base: &FhirBaseUrl,
    response: &Response<Vec<u8>>,
    policy: TransportPolicy,
) -> Result<SmartConfiguration, DiscoveryError> {
    let url = well_known_url(base);
    let object = read::json_body(&url, response)?;
    let context = read::Context::new(&url, Some(base), policy);
    SmartConfiguration::from_object(object, &context)
}
