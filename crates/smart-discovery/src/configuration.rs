//! The `.well-known/smart-configuration` document
//! ([conformance.html#metadata](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#metadata)).

use serde::Serialize;
use serde_json::{Map, Value};
use smart_core::json::{JsonObject, kind};
use smart_core::{AuthorizeUrl, EndpointUrl, IssuerUrl, JwksUrl, TokenUrl};

use crate::capability::Capability;
use crate::error::DiscoveryError;
use crate::finding::Finding;
use crate::read::{Context, Fields, Relative, Stakes, string, strings};

/// The JWS algorithms SMART requires for asymmetric client authentication
/// ([client-confidential-asymmetric.html](https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html#signature-algorithms)).
pub const ASYMMETRIC_SIGNING_ALGORITHMS: [&str; 2] = ["RS384", "ES384"];

/// A SMART server's configuration, from `{fhir base}/.well-known/smart-configuration`
/// ([conformance.html#metadata](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#metadata)).
///
/// Every field of SMART App Launch 2.2 is here, each an `Option` so that a missing field and
/// an empty one differ. URL fields hold the smart-core URL newtypes, which keep the string
/// exactly as the server wrote it. Fields this crate does not know are kept in
/// [`extensions`](Self::extensions). What the parser had to tolerate is listed in
/// [`findings`](Self::findings).
///
/// Serialises (with serde) back to the document's JSON shape: the known fields that are
/// present, then the extensions. Findings are not serialised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmartConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<IssuerUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<JwksUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorization_endpoint: Option<AuthorizeUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_types_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint: Option<TokenUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<EndpointUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    associated_endpoints: Option<Vec<AssociatedEndpoint>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_access_brand_bundle: Option<EndpointUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_access_brand_identifier: Option<BrandIdentifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_types_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    management_endpoint: Option<EndpointUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    introspection_endpoint: Option<EndpointUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_endpoint: Option<EndpointUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capabilities: Option<Vec<Capability>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(flatten)]
    extensions: Map<String, Value>,
    #[serde(skip)]
    findings: Vec<Finding>,
}

/// An endpoint that shares this server's authorization, from `associated_endpoints`
/// (experimental in SMART App Launch 2.2,
/// [conformance.html#metadata](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#metadata)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssociatedEndpoint {
    url: EndpointUrl,
    capabilities: Vec<Capability>,
}

impl AssociatedEndpoint {
    /// The endpoint's URL.
    #[must_use]
    pub fn url(&self) -> &EndpointUrl {
        &self.url
    }

    /// The capabilities the endpoint supports, such as `smart-app-state`.
    #[must_use]
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    /// Whether the endpoint lists `capability`.
    pub fn has_capability(&self, capability: impl Into<Capability>) -> bool {
        let capability = capability.into();
        self.capabilities.contains(&capability)
    }
}

/// The FHIR `Identifier` of the primary brand in the brand bundle, from
/// `user_access_brand_identifier` ([brands.html](https://hl7.org/fhir/smart-app-launch/STU2.2/brands.html#conformance-overview)).
///
/// A server that sends a plain string instead of an `Identifier` object is read leniently:
/// the string becomes the `value` and a [`Finding::ReadLeniently`] is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrandIdentifier {
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    value: String,
}

impl BrandIdentifier {
    /// The identifier's `system`, such as `urn:ietf:rfc:3986`.
    #[must_use]
    pub fn system(&self) -> Option<&str> {
        self.system.as_deref()
    }

    /// The identifier's `value`.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Whether `list` contains `item`.
fn lists(list: Option<&[String]>, item: &str) -> bool {
    list.is_some_and(|list| list.iter().any(|entry| entry == item))
}

/// Whether `list` is missing or empty (Ruby's `blank?`).
fn blank(list: Option<&[String]>) -> bool {
    list.is_none_or(<[String]>::is_empty)
}

impl SmartConfiguration {
    /// `issuer`: the OpenID Connect issuer; required with `sso-openid-connect`.
    ///
    /// It is an identifier, compared as an exact string, so it is never resolved against the
    /// FHIR base. One that is relative or refused by the transport policy is dropped with a
    /// finding.
    #[must_use]
    pub fn issuer(&self) -> Option<&IssuerUrl> {
        self.issuer.as_ref()
    }

    /// `jwks_uri`: the server's JSON Web Key Set; required with `sso-openid-connect`.
    #[must_use]
    pub fn jwks_uri(&self) -> Option<&JwksUrl> {
        self.jwks_uri.as_ref()
    }

    /// `authorization_endpoint`; required with `launch-ehr` or `launch-standalone`.
    #[must_use]
    pub fn authorization_endpoint(&self) -> Option<&AuthorizeUrl> {
        self.authorization_endpoint.as_ref()
    }

    /// `grant_types_supported` (required), such as `authorization_code` and
    /// `client_credentials`.
    #[must_use]
    pub fn grant_types_supported(&self) -> Option<&[String]> {
        self.grant_types_supported.as_deref()
    }

    /// `token_endpoint` (required), kept byte for byte: it is the `aud` of client assertions.
    #[must_use]
    pub fn token_endpoint(&self) -> Option<&TokenUrl> {
        self.token_endpoint.as_ref()
    }

    /// `token_endpoint_auth_methods_supported`, such as `client_secret_basic` and
    /// `private_key_jwt`.
    #[must_use]
    pub fn token_endpoint_auth_methods_supported(&self) -> Option<&[String]> {
        self.token_endpoint_auth_methods_supported.as_deref()
    }

    /// `token_endpoint_auth_signing_alg_values_supported`: the JWS algorithms the token
    /// endpoint accepts for client assertions.
    #[must_use]
    pub fn token_endpoint_auth_signing_alg_values_supported(&self) -> Option<&[String]> {
        self.token_endpoint_auth_signing_alg_values_supported
            .as_deref()
    }

    /// `registration_endpoint`: the OAuth dynamic client registration endpoint.
    #[must_use]
    pub fn registration_endpoint(&self) -> Option<&EndpointUrl> {
        self.registration_endpoint.as_ref()
    }

    /// `associated_endpoints` (experimental): endpoints that share this authorization.
    #[must_use]
    pub fn associated_endpoints(&self) -> Option<&[AssociatedEndpoint]> {
        self.associated_endpoints.as_deref()
    }

    /// `user_access_brand_bundle`: the URL of the server's User Access Brand bundle.
    #[must_use]
    pub fn user_access_brand_bundle(&self) -> Option<&EndpointUrl> {
        self.user_access_brand_bundle.as_ref()
    }

    /// `user_access_brand_identifier`: the primary brand in that bundle.
    #[must_use]
    pub fn user_access_brand_identifier(&self) -> Option<&BrandIdentifier> {
        self.user_access_brand_identifier.as_ref()
    }

    /// `scopes_supported`: scopes a client may request (not an exhaustive list).
    #[must_use]
    pub fn scopes_supported(&self) -> Option<&[String]> {
        self.scopes_supported.as_deref()
    }

    /// `response_types_supported`.
    #[must_use]
    pub fn response_types_supported(&self) -> Option<&[String]> {
        self.response_types_supported.as_deref()
    }

    /// `management_endpoint`: where a user reviews the apps that have access.
    #[must_use]
    pub fn management_endpoint(&self) -> Option<&EndpointUrl> {
        self.management_endpoint.as_ref()
    }

    /// `introspection_endpoint` (RFC 7662).
    #[must_use]
    pub fn introspection_endpoint(&self) -> Option<&EndpointUrl> {
        self.introspection_endpoint.as_ref()
    }

    /// `revocation_endpoint` (RFC 7009).
    #[must_use]
    pub fn revocation_endpoint(&self) -> Option<&EndpointUrl> {
        self.revocation_endpoint.as_ref()
    }

    /// `capabilities` (required). Unknown capabilities are kept as [`Capability::Unknown`].
    #[must_use]
    pub fn capabilities(&self) -> Option<&[Capability]> {
        self.capabilities.as_deref()
    }

    /// `code_challenge_methods_supported` (required; must list `S256` and not `plain`).
    #[must_use]
    pub fn code_challenge_methods_supported(&self) -> Option<&[String]> {
        self.code_challenge_methods_supported.as_deref()
    }

    /// The fields this crate does not model, as the server sent them (for example the
    /// deprecated `smart_app_state_endpoint`, or vendor fields).
    #[must_use]
    pub fn extensions(&self) -> &Map<String, Value> {
        &self.extensions
    }

    /// One extension field.
    #[must_use]
    pub fn extension(&self, name: &str) -> Option<&Value> {
        self.extensions.get(name)
    }

    /// What the parser tolerated: wrong types, relative URLs, dropped links.
    #[must_use]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    // --- Capability predicates (safire `SmartMetadata` semantics, SAFIRE.md §1.9). ---

    /// Whether `capabilities` lists `capability` (exactly; never a substring match). `false`
    /// when `capabilities` is missing.
    pub fn has_capability(&self, capability: impl Into<Capability>) -> bool {
        let capability = capability.into();
        self.capabilities
            .as_ref()
            .is_some_and(|list| list.contains(&capability))
    }

    /// `launch-ehr` is advertised (the flag alone; see [`Self::supports_ehr_launch`]).
    #[must_use]
    pub fn ehr_launch_capability(&self) -> bool {
        self.has_capability(Capability::LaunchEhr)
    }

    /// `launch-standalone` is advertised (the flag alone; see
    /// [`Self::supports_standalone_launch`]).
    #[must_use]
    pub fn standalone_launch_capability(&self) -> bool {
        self.has_capability(Capability::LaunchStandalone)
    }

    /// `sso-openid-connect` is advertised (the flag alone; see
    /// [`Self::supports_openid_connect`]).
    #[must_use]
    pub fn openid_connect_capability(&self) -> bool {
        self.has_capability(Capability::SsoOpenidConnect)
    }

    /// An EHR launch can be done: `launch-ehr` and an `authorization_endpoint`.
    #[must_use]
    pub fn supports_ehr_launch(&self) -> bool {
        self.ehr_launch_capability() && self.authorization_endpoint.is_some()
    }

    /// A standalone launch can be done: `launch-standalone` and an `authorization_endpoint`.
    #[must_use]
    pub fn supports_standalone_launch(&self) -> bool {
        self.standalone_launch_capability() && self.authorization_endpoint.is_some()
    }

    /// Public clients are supported: `client-public`.
    #[must_use]
    pub fn supports_public_auth(&self) -> bool {
        self.has_capability(Capability::ClientPublic)
    }

    /// Client-secret authentication is supported: `client-confidential-symmetric`, and
    /// `token_endpoint_auth_methods_supported` is missing, empty, or lists
    /// `client_secret_basic`.
    #[must_use]
    pub fn supports_symmetric_auth(&self) -> bool {
        let methods = self.token_endpoint_auth_methods_supported();
        self.has_capability(Capability::ClientConfidentialSymmetric)
            && (blank(methods) || lists(methods, "client_secret_basic"))
    }

    /// Private-key JWT authentication is supported: `client-confidential-asymmetric`,
    /// `token_endpoint_auth_methods_supported` missing, empty or listing `private_key_jwt`,
    /// and at least one of RS384 / ES384 usable
    /// ([`Self::asymmetric_signing_algorithms_supported`]).
    #[must_use]
    pub fn supports_asymmetric_auth(&self) -> bool {
        let methods = self.token_endpoint_auth_methods_supported();
        self.has_capability(Capability::ClientConfidentialAsymmetric)
            && (blank(methods) || lists(methods, "private_key_jwt"))
            && !self.asymmetric_signing_algorithms_supported().is_empty()
    }

    /// The SMART assertion algorithms (RS384, ES384) the server accepts, in the server's
    /// order: `token_endpoint_auth_signing_alg_values_supported` intersected with
    /// [`ASYMMETRIC_SIGNING_ALGORITHMS`]. When the server advertises no algorithms (missing
    /// or empty list), both are assumed, as SMART requires servers to support them.
    #[must_use]
    pub fn asymmetric_signing_algorithms_supported(&self) -> Vec<&'static str> {
        let advertised = self.token_endpoint_auth_signing_alg_values_supported();
        match advertised {
            Some(list) if !list.is_empty() => {
                let mut algorithms = Vec::with_capacity(ASYMMETRIC_SIGNING_ALGORITHMS.len());
                for entry in list {
                    let known = ASYMMETRIC_SIGNING_ALGORITHMS
                        .iter()
                        .find(|alg| **alg == entry.as_str());
                    if let Some(alg) = known
                        && !algorithms.contains(alg)
                    {
                        algorithms.push(*alg);
                    }
                }
                algorithms
            }
            _ => ASYMMETRIC_SIGNING_ALGORITHMS.to_vec(),
        }
    }

    /// Whether the server accepts client assertions signed with `alg` (`RS384`, `ES384`):
    /// true when `token_endpoint_auth_signing_alg_values_supported` lists it, or is missing
    /// or empty (SMART requires servers to accept both). A client checks this before it
    /// signs, so that it can say which algorithms the server lists instead of sending an
    /// assertion the server refuses with a bare `invalid_client`.
    ///
    /// ```
    /// let document = br#"{"token_endpoint": "https://ehr.example/token",
    ///     "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384"]}"#;
    /// let base = smart_core::FhirBaseUrl::parse("https://ehr.example/fhir")?;
    /// let response = http::Response::new(document.to_vec());
    /// let config = smart_discovery::parse(&base, &response, smart_core::TransportPolicy::STRICT)?;
    /// assert!(config.accepts_assertion_algorithm("RS384"));
    /// assert!(!config.accepts_assertion_algorithm("ES384"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn accepts_assertion_algorithm(&self, alg: &str) -> bool {
        match self.token_endpoint_auth_signing_alg_values_supported() {
            Some(list) if !list.is_empty() => list.iter().any(|listed| listed == alg),
            _ => true,
        }
    }

    /// SMART Backend Services can be used: `grant_types_supported` lists
    /// `client_credentials` and [`Self::supports_asymmetric_auth`] holds.
    #[must_use]
    pub fn supports_backend_services(&self) -> bool {
        lists(self.grant_types_supported(), "client_credentials") && self.supports_asymmetric_auth()
    }

    /// Dynamic client registration is available: a `registration_endpoint`.
    #[must_use]
    pub fn supports_dynamic_registration(&self) -> bool {
        self.registration_endpoint.is_some()
    }

    /// POST-based authorization is supported: `authorize-post`.
    #[must_use]
    pub fn supports_post_based_authorization(&self) -> bool {
        self.has_capability(Capability::AuthorizePost)
    }

    /// OpenID Connect can be used: `sso-openid-connect`, an `issuer` and a `jwks_uri`.
    #[must_use]
    pub fn supports_openid_connect(&self) -> bool {
        self.openid_connect_capability() && self.issuer.is_some() && self.jwks_uri.is_some()
    }

    // --- Construction. ---

    /// Reads a parsed document (see [`crate::parse`] for the rules).
    pub(crate) fn from_object(
        object: JsonObject,
        context: &Context<'_>,
    ) -> Result<Self, DiscoveryError> {
        use Relative::{Refuse, Resolve};
        use Stakes::{Link, Sensitive};

        let mut fields = Fields::new(object, context);
        let issuer = fields.url("issuer", Link, Refuse)?;
        let jwks_uri = fields.url("jwks_uri", Sensitive, Resolve)?;
        let authorization_endpoint = fields.url("authorization_endpoint", Sensitive, Resolve)?;
        let grant_types_supported = fields.strings("grant_types_supported");
        let token_endpoint = fields.url("token_endpoint", Sensitive, Resolve)?;
        let token_endpoint_auth_methods_supported =
            fields.strings("token_endpoint_auth_methods_supported");
        let token_endpoint_auth_signing_alg_values_supported =
            fields.strings("token_endpoint_auth_signing_alg_values_supported");
        let registration_endpoint = fields.url("registration_endpoint", Sensitive, Resolve)?;
        let associated_endpoints = associated_endpoints(&mut fields)?;
        let user_access_brand_bundle = fields.url("user_access_brand_bundle", Link, Resolve)?;
        let user_access_brand_identifier = brand_identifier(&mut fields);
        let scopes_supported = fields.strings("scopes_supported");
        let response_types_supported = fields.strings("response_types_supported");
        let management_endpoint = fields.url("management_endpoint", Link, Resolve)?;
        let introspection_endpoint = fields.url("introspection_endpoint", Sensitive, Resolve)?;
        let revocation_endpoint = fields.url("revocation_endpoint", Sensitive, Resolve)?;
        let capabilities = fields
            .indexed_strings("capabilities")
            .map(|list| capabilities(list, &mut fields.findings));
        let code_challenge_methods_supported = fields.strings("code_challenge_methods_supported");
        let (extensions, findings) = fields.finish();
        for finding in &findings {
            log::debug!(
                "SMART configuration from {}: {finding}",
                context.document_url
            );
        }
        Ok(Self {
            issuer,
            jwks_uri,
            authorization_endpoint,
            grant_types_supported,
            token_endpoint,
            token_endpoint_auth_methods_supported,
            token_endpoint_auth_signing_alg_values_supported,
            registration_endpoint,
            associated_endpoints,
            user_access_brand_bundle,
            user_access_brand_identifier,
            scopes_supported,
            response_types_supported,
            management_endpoint,
            introspection_endpoint,
            revocation_endpoint,
            capabilities,
            code_challenge_methods_supported,
            extensions,
            findings,
        })
    }

    /// A configuration with only the given endpoints (the legacy CapabilityStatement path).
    pub(crate) fn from_endpoints(endpoints: LegacyEndpoints, findings: Vec<Finding>) -> Self {
        Self {
            issuer: None,
            jwks_uri: None,
            authorization_endpoint: endpoints.authorize,
            grant_types_supported: None,
            token_endpoint: endpoints.token,
            token_endpoint_auth_methods_supported: None,
            token_endpoint_auth_signing_alg_values_supported: None,
            registration_endpoint: endpoints.register,
            associated_endpoints: None,
            user_access_brand_bundle: None,
            user_access_brand_identifier: None,
            scopes_supported: None,
            response_types_supported: None,
            management_endpoint: endpoints.manage,
            introspection_endpoint: endpoints.introspect,
            revocation_endpoint: endpoints.revoke,
            capabilities: None,
            code_challenge_methods_supported: None,
            extensions: Map::new(),
            findings,
        }
    }
}

/// The endpoints of the CapabilityStatement `oauth-uris` extension.
pub(crate) struct LegacyEndpoints {
    pub(crate) authorize: Option<AuthorizeUrl>,
    pub(crate) token: Option<TokenUrl>,
    pub(crate) register: Option<EndpointUrl>,
    pub(crate) manage: Option<EndpointUrl>,
    pub(crate) introspect: Option<EndpointUrl>,
    pub(crate) revoke: Option<EndpointUrl>,
}

/// The capabilities, with the SMART v1 names of renamed capabilities read as their 2.x names
/// (a [`Finding::LegacyCapability`] naming `capabilities[i]` for each).
fn capabilities(list: Vec<(usize, String)>, findings: &mut Vec<Finding>) -> Vec<Capability> {
    list.into_iter()
        .map(|(i, text)| match Capability::v1_rename(&text) {
            Some((written, read_as)) => {
                findings.push(Finding::LegacyCapability {
                    field: format!("capabilities[{i}]"),
                    written,
                    read_as: read_as.clone(),
                });
                read_as
            }
            None => Capability::from(text),
        })
        .collect()
}

/// `associated_endpoints`: entries that are not objects, or have no usable `url`, are
/// skipped with a finding.
fn associated_endpoints(
    fields: &mut Fields<'_, '_>,
) -> Result<Option<Vec<AssociatedEndpoint>>, DiscoveryError> {
    const FIELD: &str = "associated_endpoints";
    let Some(value) = fields.take(FIELD) else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        fields.findings.push(Finding::WrongType {
            field: FIELD.to_owned(),
            expected: "an array of objects",
            found: kind(&value),
        });
        return Ok(None);
    };
    let mut endpoints = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let path = format!("{FIELD}[{index}]");
        let Value::Object(mut entry) = item else {
            fields.findings.push(Finding::WrongType {
                field: path,
                expected: "an object",
                found: kind(&item),
            });
            continue;
        };
        let url_path = format!("{path}.url");
        let Some(raw) = entry.remove("url") else {
            fields.findings.push(Finding::Missing { field: url_path });
            continue;
        };
        let Some(raw) = string(raw, &url_path, &mut fields.findings) else {
            continue;
        };
        let Some(url) = fields.context.url::<EndpointUrl>(
            &raw,
            &url_path,
            "associated_endpoints.url",
            Stakes::Link,
            Relative::Resolve,
            &mut fields.findings,
        )?
        else {
            continue;
        };
        let capabilities_path = format!("{path}.capabilities");
        let capabilities = match entry.remove("capabilities") {
            None => {
                fields.findings.push(Finding::Missing {
                    field: capabilities_path,
                });
                Vec::new()
            }
            Some(value) => strings(value, &capabilities_path, &mut fields.findings)
                .unwrap_or_default()
                .into_iter()
                .map(Capability::from)
                .collect(),
        };
        endpoints.push(AssociatedEndpoint { url, capabilities });
    }
    Ok(Some(endpoints))
}

/// `user_access_brand_identifier`: a FHIR `Identifier` (`value` required, `system`
/// optional), or leniently a plain string.
fn brand_identifier(fields: &mut Fields<'_, '_>) -> Option<BrandIdentifier> {
    const FIELD: &str = "user_access_brand_identifier";
    match fields.take(FIELD)? {
        Value::Object(mut identifier) => {
            let value_path = format!("{FIELD}.value");
            let Some(value) = identifier.remove("value") else {
                fields.findings.push(Finding::Missing { field: value_path });
                return None;
            };
            let value = string(value, &value_path, &mut fields.findings)?;
            let system = identifier.remove("system").and_then(|system| {
                string(system, &format!("{FIELD}.system"), &mut fields.findings)
            });
            Some(BrandIdentifier { system, value })
        }
        Value::String(value) if value.trim().is_empty() => {
            fields.findings.push(Finding::Empty {
                field: FIELD.to_owned(),
            });
            None
        }
        Value::String(value) => {
            fields.findings.push(Finding::ReadLeniently {
                field: FIELD.to_owned(),
                expected: "an Identifier object",
                found: "string",
            });
            Some(BrandIdentifier {
                system: None,
                value,
            })
        }
        other => {
            fields.findings.push(Finding::WrongType {
                field: FIELD.to_owned(),
                expected: "an Identifier object",
                found: kind(&other),
            });
            None
        }
    }
}
