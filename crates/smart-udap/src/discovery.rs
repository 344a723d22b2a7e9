//! `GET {base}/.well-known/udap` (UDAP Security STU2 §2): the request, and the reading of the
//! answer into verified metadata.

use http::header::ACCEPT;
use http::{Method, Request, Response, StatusCode};
use serde_json::Value;
use smart_core::json::parse_object;
use smart_core::url::Url;
use smart_core::{Clock, FhirBaseUrl, display_url};

use crate::chain::TrustPolicy;
use crate::community::Community;
use crate::error::UdapError;
use crate::metadata::UdapMetadata;
use crate::signed_metadata::{SignedEndpoints, verify_signed_metadata};

/// The path appended to the FHIR base URL.
pub const WELL_KNOWN_PATH: &str = ".well-known/udap";

/// `{base}/.well-known/udap`, plus `?community=<percent-encoded>` when a community is given.
///
/// ```
/// use smart_core::FhirBaseUrl;
/// use smart_udap::{Community, well_known_url};
///
/// let base = FhirBaseUrl::parse("https://fhir.example/r4/")?;
/// let community = Community::parse("urn:oid:1.2.3")?;
/// assert_eq!(
///     well_known_url(&base, community.as_ref()).as_str(),
///     "https://fhir.example/r4/.well-known/udap?community=urn%3Aoid%3A1.2.3"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn well_known_url(base: &FhirBaseUrl, community: Option<&Community>) -> Url {
    let mut url = base.append_path(WELL_KNOWN_PATH);
    if let Some(community) = community {
        url.query_pairs_mut()
            .append_pair("community", community.as_str());
    }
    url
}

/// The discovery request: `GET` with `Accept: application/json`.
///
/// # Errors
///
/// [`UdapError::RequestUrl`] when the URL is longer than the `http` crate accepts.
pub fn discovery_request(
    base: &FhirBaseUrl,
    community: Option<&Community>,
) -> Result<Request<Vec<u8>>, UdapError> {
    let url = well_known_url(base, community);
    Request::builder()
        .method(Method::GET)
        .uri(url.as_str())
        .header(ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|_| UdapError::RequestUrl {
            url: display_url(url.as_str()),
        })
}

/// UDAP metadata whose `signed_metadata` verified: the document with the signed endpoints
/// merged over the unsigned ones, and the signed endpoints themselves.
#[derive(Debug, Clone)]
pub struct VerifiedUdapMetadata {
    metadata: UdapMetadata,
    unsigned: serde_json::Map<String, Value>,
    signed: SignedEndpoints,
    base: FhirBaseUrl,
    community: Option<Community>,
}

impl VerifiedUdapMetadata {
    /// Verifies a document (already parsed) for `base` under `policy` at `clock`'s time.
    ///
    /// # Errors
    ///
    /// As [`verify_signed_metadata`], with the community named.
    pub fn verify(
        metadata: UdapMetadata,
        base: &FhirBaseUrl,
        community: Option<&Community>,
        policy: &TrustPolicy,
        clock: &dyn Clock,
    ) -> Result<Self, UdapError> {
        let unsigned = metadata.into_object();
        let signed =
            verify_signed_metadata(&unsigned, base, policy, clock).map_err(
                |error| match error {
                    UdapError::SignedMetadata { problems, .. } => UdapError::SignedMetadata {
                        community: community.map(|c| c.as_str().to_owned()),
                        problems,
                    },
                    other => other,
                },
            )?;
        let mut merged = UdapMetadata::from_object(unsigned.clone(), policy.transport());
        let raw = merged.raw_mut();
        raw.insert(
            "token_endpoint".into(),
            Value::from(signed.token_endpoint().as_str()),
        );
        raw.insert(
            "registration_endpoint".into(),
            Value::from(signed.registration_endpoint().as_str()),
        );
        if let Some(authorize) = signed.authorization_endpoint() {
            raw.insert(
                "authorization_endpoint".into(),
                Value::from(authorize.as_str()),
            );
        }
        Ok(Self {
            metadata: merged,
            unsigned,
            signed,
            base: base.clone(),
            community: community.cloned(),
        })
    }

    /// Verifies the cached document again under `policy` (a cache hit).
    pub(crate) fn reverify(
        &self,
        policy: &TrustPolicy,
        clock: &dyn Clock,
    ) -> Result<Self, UdapError> {
        Self::verify(
            UdapMetadata::from_object(self.unsigned.clone(), policy.transport()),
            &self.base,
            self.community.as_ref(),
            policy,
            clock,
        )
    }

    /// The document, signed endpoints merged in.
    #[must_use]
    pub fn metadata(&self) -> &UdapMetadata {
        &self.metadata
    }

    /// The signed endpoints and the server's certificate.
    #[must_use]
    pub fn signed(&self) -> &SignedEndpoints {
        &self.signed
    }

    /// The FHIR base URL the document was verified for.
    #[must_use]
    pub fn base(&self) -> &FhirBaseUrl {
        &self.base
    }

    /// The community asked for.
    #[must_use]
    pub fn community(&self) -> Option<&Community> {
        self.community.as_ref()
    }

    /// The well-known URL (community included).
    #[must_use]
    pub fn well_known_url(&self) -> Url {
        well_known_url(&self.base, self.community.as_ref())
    }
}

/// Reads the answer to [`discovery_request`]:
///
/// - 204: [`UdapError::NoUdapWorkflows`]; 404: [`UdapError::NotSupported`]; other non-2xx:
///   [`UdapError::Status`] (each logged at `error`);
/// - the body must be one JSON object ([`UdapError::Body`]);
/// - `signed_metadata` is always required and verified, see [`verify_signed_metadata`].
///
/// # Errors
///
/// As listed.
pub fn read_discovery(
    base: &FhirBaseUrl,
    community: Option<&Community>,
    response: &Response<Vec<u8>>,
    policy: &TrustPolicy,
    clock: &dyn Clock,
) -> Result<VerifiedUdapMetadata, UdapError> {
    let url = display_url(well_known_url(base, community).as_str());
    let status = response.status();
    if status == StatusCode::NO_CONTENT {
        return Err(UdapError::NoUdapWorkflows {
            url,
            community: community.map(|c| c.as_str().to_owned()),
        });
    }
    if !status.is_success() {
        log::error!(
            "UDAP discovery failed for `{url}`: HTTP {}",
            status.as_u16()
        );
        if status == StatusCode::NOT_FOUND {
            return Err(UdapError::NotSupported { url });
        }
        return Err(UdapError::Status { url, status });
    }
    let raw = parse_object(response.body()).map_err(|reason| UdapError::Body {
        url: url.clone(),
        reason,
    })?;
    VerifiedUdapMetadata::verify(
        UdapMetadata::from_object(raw, policy.transport()),
        base,
        community,
        policy,
        clock,
    )
}
