//! The OpenID provider configuration (`{issuer}/.well-known/openid-configuration`,
//! [OpenID Connect Discovery 1.0 §4](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig)),
//! used to verify `id_token`s when a SMART server advertises `sso-openid-connect`
//! ([scopes-and-launch-context.html#scopes-for-requesting-identity-data](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data)).
//!
//! The document's `issuer` must equal the issuer it was fetched for, as an exact string
//! (OpenID Connect Discovery §4.3): `https://idp.example` and `https://idp.example/` differ.
//!
//! ```
//! use smart_core::{IssuerUrl, TransportPolicy};
//! use smart_discovery::{DiscoveryError, openid};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = IssuerUrl::parse("https://ehr.example.com")?;
//! let request = openid::request(&issuer)?;
//! assert_eq!(request.uri(), "https://ehr.example.com/.well-known/openid-configuration");
//!
//! let body = br#"{
//!   "issuer": "https://ehr.example.com",
//!   "jwks_uri": "https://ehr.example.com/.well-known/jwks.json",
//!   "id_token_signing_alg_values_supported": ["RS256"]
//! }"#;
//! let configuration =
//!     openid::parse(&issuer, &http::Response::new(body.to_vec()), TransportPolicy::STRICT)?;
//! assert_eq!(configuration.jwks_uri().as_str(), "https://ehr.example.com/.well-known/jwks.json");
//!
//! // A trailing slash is a different issuer.
//! let other = IssuerUrl::parse("https://ehr.example.com/")?;
//! let error = openid::parse(&other, &http::Response::new(body.to_vec()), TransportPolicy::STRICT)
//!     .unwrap_err();
//! assert!(matches!(error, DiscoveryError::IssuerMismatch { .. }));
//! assert!(error.to_string().contains("trailing slash"));
//! # Ok(())
//! # }
//! ```

use http::{Request, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use smart_core::url::Url;
use smart_core::{
    AuthorizeUrl, EndpointUrl, IssuerUrl, JwksUrl, TokenUrl, TransportPolicy, display_url,
};

use crate::error::DiscoveryError;
use crate::finding::Finding;
use crate::read::{Context, Fields, Relative, Stakes, get, json_body};
use smart_core::append_path;

/// The path appended to the issuer.
pub const WELL_KNOWN_PATH: &str = ".well-known/openid-configuration";

/// `{issuer}/.well-known/openid-configuration`, appended to the issuer's path (a trailing
/// slash on the issuer is not doubled).
#[must_use]
pub fn well_known_url(issuer: &IssuerUrl) -> Url {
    append_path(issuer.url(), WELL_KNOWN_PATH)
}

/// `GET {issuer}/.well-known/openid-configuration` with `Accept: application/json`.
///
/// # Errors
///
/// [`DiscoveryError::RequestUrl`] when the URL is longer than the `http` crate accepts.
pub fn request(issuer: &IssuerUrl) -> Result<Request<Vec<u8>>, DiscoveryError> {
    get(&well_known_url(issuer), "application/json")
}

/// Reads an OpenID provider configuration fetched for `expected_issuer`.
///
/// `jwks_uri` and the optional `authorization_endpoint`, `token_endpoint` and
/// `userinfo_endpoint` must be absolute and pass the `policy`. A wrong-typed
/// `id_token_signing_alg_values_supported` is a finding; other fields are kept as
/// [`OpenIdConfiguration::extensions`].
///
/// # Errors
///
/// - [`DiscoveryError::Status`] for a non-2xx response;
/// - [`DiscoveryError::Body`] when the body is not a JSON object;
/// - [`DiscoveryError::MissingField`] when `issuer` or `jwks_uri` is missing, not a string
///   or empty;
/// - [`DiscoveryError::IssuerMismatch`] when `issuer` is not exactly `expected_issuer`;
/// - [`DiscoveryError::UnusableEndpoint`] when the issuer or an endpoint fails the `policy`.
pub fn parse(
    expected_issuer: &IssuerUrl,
    response: &Response<Vec<u8>>,
    policy: TransportPolicy,
) -> Result<OpenIdConfiguration, DiscoveryError> {
    let url = well_known_url(expected_issuer);
    let object = json_body(&url, response)?;
    let context = Context::new(&url, None, policy);
    let mut fields = Fields::new(object, &context);
    let missing = |field| DiscoveryError::MissingField {
        url: context.document_url.clone(),
        field,
    };

    let found = fields.string("issuer").ok_or_else(|| missing("issuer"))?;
    if found != expected_issuer.as_str() {
        return Err(DiscoveryError::IssuerMismatch {
            url: context.document_url.clone(),
            expected: display_url(expected_issuer.as_str()),
            found: display_url(&found),
        });
    }
    policy
        .check("issuer", expected_issuer.url())
        .map_err(|source| DiscoveryError::UnusableEndpoint {
            url: context.document_url.clone(),
            field: "issuer",
            endpoint: source.url().to_owned(),
            source,
        })?;

    let jwks_uri = fields
        .url("jwks_uri", Stakes::Sensitive, Relative::Refuse)?
        .ok_or_else(|| missing("jwks_uri"))?;
    let id_token_signing_alg_values_supported =
        fields.strings("id_token_signing_alg_values_supported");
    let authorization_endpoint = fields.url(
        "authorization_endpoint",
        Stakes::Sensitive,
        Relative::Refuse,
    )?;
    let token_endpoint = fields.url("token_endpoint", Stakes::Sensitive, Relative::Refuse)?;
    let userinfo_endpoint = fields.url("userinfo_endpoint", Stakes::Sensitive, Relative::Refuse)?;
    let (extensions, findings) = fields.finish();
    Ok(OpenIdConfiguration {
        issuer: expected_issuer.clone(),
        jwks_uri,
        id_token_signing_alg_values_supported,
        authorization_endpoint,
        token_endpoint,
        userinfo_endpoint,
        extensions,
        findings,
    })
}

/// An OpenID provider configuration, as far as a SMART client needs it.
///
/// Serialises (with serde) back to the document's JSON shape; findings are not serialised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenIdConfiguration {
    issuer: IssuerUrl,
    jwks_uri: JwksUrl,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_endpoint: Option<AuthorizeUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint: Option<TokenUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    userinfo_endpoint: Option<EndpointUrl>,
    #[serde(flatten)]
    extensions: Map<String, Value>,
    #[serde(skip)]
    findings: Vec<Finding>,
}

impl OpenIdConfiguration {
    /// `issuer`: exactly the issuer the configuration was fetched for.
    #[must_use]
    pub fn issuer(&self) -> &IssuerUrl {
        &self.issuer
    }

    /// `jwks_uri`: where the keys that sign `id_token`s are published.
    #[must_use]
    pub fn jwks_uri(&self) -> &JwksUrl {
        &self.jwks_uri
    }

    /// `id_token_signing_alg_values_supported` (required by OpenID Connect Discovery, but
    /// tolerated when missing).
    #[must_use]
    pub fn id_token_signing_alg_values_supported(&self) -> Option<&[String]> {
        self.id_token_signing_alg_values_supported.as_deref()
    }

    /// `authorization_endpoint`.
    #[must_use]
    pub fn authorization_endpoint(&self) -> Option<&AuthorizeUrl> {
        self.authorization_endpoint.as_ref()
    }

    /// `token_endpoint`.
    #[must_use]
    pub fn token_endpoint(&self) -> Option<&TokenUrl> {
        self.token_endpoint.as_ref()
    }

    /// `userinfo_endpoint`.
    #[must_use]
    pub fn userinfo_endpoint(&self) -> Option<&EndpointUrl> {
        self.userinfo_endpoint.as_ref()
    }

    /// The other fields of the document, as sent.
    #[must_use]
    pub fn extensions(&self) -> &Map<String, Value> {
        &self.extensions
    }

    /// What the parser tolerated.
    #[must_use]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}
