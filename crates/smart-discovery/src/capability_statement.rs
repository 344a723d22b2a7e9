//! Legacy discovery: the SMART endpoints in a FHIR CapabilityStatement (`{fhir base}/metadata`).
//!
//! Before `.well-known/smart-configuration`, servers listed their OAuth endpoints in the
//! `http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris` extension of
//! `CapabilityStatement.rest[].security`. SMART App Launch 2.2 calls this mechanism deprecated
//! ([conformance.html#using-well-known](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#using-well-known)),
//! but some servers still offer nothing else. Use it only as an opt-in fallback when
//! `.well-known/smart-configuration` fails; the result has endpoints but no capabilities.
//!
//! The same rules apply as for the well-known document: relative URLs are resolved against
//! the FHIR base (with a finding), and every endpoint that receives credentials or tokens
//! must pass the [`TransportPolicy`].
//!
//! ```
//! use smart_core::{FhirBaseUrl, TransportPolicy};
//! use smart_discovery::capability_statement;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let base = FhirBaseUrl::parse("https://ehr.example.com/fhir")?;
//! let request = capability_statement::request(&base)?;
//! assert_eq!(request.uri(), "https://ehr.example.com/fhir/metadata");
//!
//! let body = br#"{
//!   "resourceType": "CapabilityStatement",
//!   "rest": [{
//!     "mode": "server",
//!     "security": {
//!       "extension": [{
//!         "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
//!         "extension": [
//!           {"url": "authorize", "valueUri": "https://ehr.example.com/auth/authorize"},
//!           {"url": "token", "valueUri": "https://ehr.example.com/auth/token"}
//!         ]
//!       }]
//!     }
//!   }]
//! }"#;
//! let response = http::Response::new(body.to_vec());
//! let uris = capability_statement::parse(&base, &response, TransportPolicy::STRICT)?;
//! assert_eq!(uris.token().map(|t| t.as_str()), Some("https://ehr.example.com/auth/token"));
//!
//! // As a fallback configuration: endpoints only, marked as legacy.
//! let configuration = uris.into_smart_configuration();
//! assert!(configuration.capabilities().is_none());
//! assert!(!configuration.compliance().is_compliant());
//! # Ok(())
//! # }
//! ```

use http::{Request, Response};
use serde_json::Value;
use smart_core::json::{JsonObject, kind};
use smart_core::url::Url;
use smart_core::{AuthorizeUrl, EndpointUrl, FhirBaseUrl, TokenUrl, TransportPolicy};

use crate::configuration::{LegacyEndpoints, SmartConfiguration};
use crate::error::DiscoveryError;
use crate::finding::Finding;
use crate::read::{Context, Relative, Stakes, UrlField, get, json_body};

/// The URL of the extension that holds the SMART endpoints.
pub const OAUTH_URIS: &str =
    "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

/// The `Accept` header of [`request`]: FHIR JSON first, plain JSON as a fallback.
pub const ACCEPT: &str = "application/fhir+json, application/json";

/// `{base}/metadata`, appended to the base's path.
#[must_use]
pub fn metadata_url(base: &FhirBaseUrl) -> Url {
    base.append_path("metadata")
}

/// `GET {base}/metadata` with `Accept: application/fhir+json, application/json`.
///
/// # Errors
///
/// [`DiscoveryError::RequestUrl`] when the URL is longer than the `http` crate accepts.
pub fn request(base: &FhirBaseUrl) -> Result<Request<Vec<u8>>, DiscoveryError> {
    get(&metadata_url(base), ACCEPT)
}

/// Reads the `oauth-uris` endpoints from a CapabilityStatement response.
///
/// The first `oauth-uris` extension found under `rest[].security.extension[]` is used (a
/// second one is a [`Finding::Repeated`]). Its sub-extensions `authorize`, `token`,
/// `register`, `manage`, `introspect` and `revoke` are read from `valueUri` (or, leniently,
/// `valueUrl`); other sub-extensions are ignored.
///
/// # Errors
///
/// - [`DiscoveryError::Status`] for a non-2xx response;
/// - [`DiscoveryError::Body`] when the body is not a JSON object;
/// - [`DiscoveryError::NoSmartEndpoints`] when there is no `oauth-uris` extension, or it
///   holds none of the six endpoints;
/// - [`DiscoveryError::UnusableEndpoint`] when `authorize`, `token`, `register`, `introspect`
///   or `revoke` fails the `policy` (an unusable `manage` link is dropped with a finding).
pub fn parse(
    base: &FhirBaseUrl,
    response: &Response<Vec<u8>>,
    policy: TransportPolicy,
) -> Result<OAuthUris, DiscoveryError> {
    let url = metadata_url(base);
    let object = json_body(&url, response)?;
    let context = Context::new(&url, Some(base), policy);
    OAuthUris::from_object(&object, &context)
}

/// The endpoints of a CapabilityStatement's `oauth-uris` extension.
///
/// ```
/// use http::Response;
/// use smart_core::{FhirBaseUrl, TransportPolicy};
/// use smart_discovery::{Finding, capability_statement};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let base = FhirBaseUrl::parse("https://ehr.example.com/fhir")?;
/// let body = br#"{"resourceType": "CapabilityStatement", "rest": [{"security": {"extension": [{
///   "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
///   "extension": [
///     {"url": "authorize", "valueUri": "https://ehr.example.com/auth/authorize"},
///     {"url": "token", "valueUri": "/auth/token"},
///     {"url": "manage", "valueUri": "http://ehr.example.com/manage"}
///   ]}]}}]}"#;
/// let uris = capability_statement::parse(&base, &Response::new(body.to_vec()), TransportPolicy::STRICT)?;
///
/// assert_eq!(uris.authorize().unwrap().as_str(), "https://ehr.example.com/auth/authorize");
/// // A relative endpoint is resolved against the FHIR base, with a finding.
/// assert_eq!(uris.token().unwrap().as_str(), "https://ehr.example.com/auth/token");
/// // An http:// link that never receives credentials is dropped, with a finding.
/// assert!(uris.manage().is_none());
/// assert_eq!(uris.findings().len(), 2);
///
/// // As a configuration: endpoints only, and it says where they came from.
/// let configuration = uris.into_smart_configuration();
/// assert!(configuration.findings().contains(&Finding::FromCapabilityStatement));
/// assert!(configuration.capabilities().is_none());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthUris {
    authorize: Option<AuthorizeUrl>,
    token: Option<TokenUrl>,
    register: Option<EndpointUrl>,
    manage: Option<EndpointUrl>,
    introspect: Option<EndpointUrl>,
    revoke: Option<EndpointUrl>,
    findings: Vec<Finding>,
}

/// A sub-extension: its name, the field name used in errors and findings, and whether it
/// receives credentials or tokens.
const SLOTS: [(&str, &str, Stakes); 6] = [
    ("authorize", "oauth-uris authorize", Stakes::Sensitive),
    ("token", "oauth-uris token", Stakes::Sensitive),
    ("register", "oauth-uris register", Stakes::Sensitive),
    ("manage", "oauth-uris manage", Stakes::Link),
    ("introspect", "oauth-uris introspect", Stakes::Sensitive),
    ("revoke", "oauth-uris revoke", Stakes::Sensitive),
];

impl OAuthUris {
    /// `authorize`: the authorization endpoint.
    #[must_use]
    pub fn authorize(&self) -> Option<&AuthorizeUrl> {
        self.authorize.as_ref()
    }

    /// `token`: the token endpoint.
    #[must_use]
    pub fn token(&self) -> Option<&TokenUrl> {
        self.token.as_ref()
    }

    /// `register`: the dynamic registration endpoint.
    #[must_use]
    pub fn register(&self) -> Option<&EndpointUrl> {
        self.register.as_ref()
    }

    /// `manage`: where a user manages app authorizations.
    #[must_use]
    pub fn manage(&self) -> Option<&EndpointUrl> {
        self.manage.as_ref()
    }

    /// `introspect`: the token introspection endpoint.
    #[must_use]
    pub fn introspect(&self) -> Option<&EndpointUrl> {
        self.introspect.as_ref()
    }

    /// `revoke`: the token revocation endpoint.
    #[must_use]
    pub fn revoke(&self) -> Option<&EndpointUrl> {
        self.revoke.as_ref()
    }

    /// What the parser tolerated.
    #[must_use]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// A [`SmartConfiguration`] with these endpoints and nothing else (no capabilities, no
    /// grant types, no PKCE methods), carrying these findings plus
    /// [`Finding::FromCapabilityStatement`]. Its compliance report is never clean, and its
    /// capability predicates are all false, so a client must be told what the server
    /// supports.
    #[must_use]
    pub fn into_smart_configuration(self) -> SmartConfiguration {
        let mut findings = self.findings;
        findings.push(Finding::FromCapabilityStatement);
        SmartConfiguration::from_endpoints(
            LegacyEndpoints {
                authorize: self.authorize,
                token: self.token,
                register: self.register,
                manage: self.manage,
                introspect: self.introspect,
                revoke: self.revoke,
            },
            findings,
        )
    }

    fn from_object(object: &JsonObject, context: &Context<'_>) -> Result<Self, DiscoveryError> {
        let mut findings = Vec::new();
        let no_endpoints = || DiscoveryError::NoSmartEndpoints {
            url: context.document_url.clone(),
        };
        let mut found = oauth_uris_extensions(object);
        let Some(extension) = found.next() else {
            return Err(no_endpoints());
        };
        if found.next().is_some() {
            findings.push(Finding::Repeated {
                field: "oauth-uris".to_owned(),
            });
        }

        let mut raw: [Option<String>; 6] = Default::default();
        let entries = match extension.get("extension") {
            Some(Value::Array(entries)) => entries.as_slice(),
            Some(other) => {
                findings.push(Finding::WrongType {
                    field: "oauth-uris extension".to_owned(),
                    expected: "an array of extensions",
                    found: kind(other),
                });
                &[]
            }
            None => &[],
        };
        for entry in entries {
            let Some(name) = entry.get("url").and_then(Value::as_str) else {
                continue;
            };
            let Some(slot) = SLOTS.iter().position(|(slot, _, _)| *slot == name) else {
                continue;
            };
            let field = SLOTS[slot].1;
            let value = match (entry.get("valueUri"), entry.get("valueUrl")) {
                (Some(value), _) => value.clone(),
                (None, Some(value)) => {
                    findings.push(Finding::ReadLeniently {
                        field: field.to_owned(),
                        expected: "valueUri",
                        found: "valueUrl",
                    });
                    value.clone()
                }
                (None, None) => {
                    findings.push(Finding::Missing {
                        field: format!("{field} valueUri"),
                    });
                    continue;
                }
            };
            if raw[slot].is_some() {
                findings.push(Finding::Repeated {
                    field: field.to_owned(),
                });
                continue;
            }
            raw[slot] = crate::read::string(value, field, &mut findings);
        }
        if raw.iter().all(Option::is_none) {
            return Err(no_endpoints());
        }

        let [authorize, token, register, manage, introspect, revoke] = raw;
        Ok(Self {
            authorize: endpoint(authorize, 0, context, &mut findings)?,
            token: endpoint(token, 1, context, &mut findings)?,
            register: endpoint(register, 2, context, &mut findings)?,
            manage: endpoint(manage, 3, context, &mut findings)?,
            introspect: endpoint(introspect, 4, context, &mut findings)?,
            revoke: endpoint(revoke, 5, context, &mut findings)?,
            findings,
        })
    }
}

impl From<OAuthUris> for SmartConfiguration {
    fn from(uris: OAuthUris) -> Self {
        uris.into_smart_configuration()
    }
}

/// Every `oauth-uris` extension object under `rest[].security.extension[]`, in order.
fn oauth_uris_extensions(object: &JsonObject) -> impl Iterator<Item = &JsonObject> {
    object
        .get("rest")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|rest| rest.get("security")?.get("extension")?.as_array())
        .flatten()
        .filter_map(Value::as_object)
        .filter(|extension| extension.get("url").and_then(Value::as_str) == Some(OAUTH_URIS))
}

fn endpoint<T: UrlField>(
    raw: Option<String>,
    slot: usize,
    context: &Context<'_>,
    findings: &mut Vec<Finding>,
) -> Result<Option<T>, DiscoveryError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let (_, field, stakes) = SLOTS[slot];
    context.url(&raw, field, field, stakes, Relative::Resolve, findings)
}
