//! The UDAP metadata document (UDAP Security STU2 §2.2) and its profile and capability
//! predicates.

use core::fmt;

use serde_json::Value;
use smart_core::TransportPolicy;
use smart_core::json::{JsonError, JsonObject, parse_object};
use smart_core::url::Url;

/// The fields every UDAP metadata document must have
/// ([STU2 §2.2](https://hl7.org/fhir/us/udap-security/STU2/discovery.html#required-udap-metadata)).
pub const REQUIRED_FIELDS: [&str; 12] = [
    "udap_versions_supported",
    "udap_profiles_supported",
    "udap_authorization_extensions_supported",
    "udap_certifications_supported",
    "grant_types_supported",
    "scopes_supported",
    "token_endpoint",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "registration_endpoint",
    "registration_endpoint_jwt_signing_alg_values_supported",
    "signed_metadata",
];

/// The optional (conditionally required) fields.
pub const OPTIONAL_FIELDS: [&str; 3] = [
    "udap_authorization_extensions_required",
    "udap_certifications_required",
    "authorization_endpoint",
];

/// The fields whose value must be an array of strings.
pub const ARRAY_FIELDS: [&str; 11] = [
    "udap_versions_supported",
    "udap_profiles_supported",
    "udap_authorization_extensions_supported",
    "udap_authorization_extensions_required",
    "udap_certifications_supported",
    "udap_certifications_required",
    "grant_types_supported",
    "scopes_supported",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "registration_endpoint_jwt_signing_alg_values_supported",
];

/// The UDAP profiles of `udap_profiles_supported`.
pub mod profile {
    /// Dynamic Client Registration.
    pub const DCR: &str = "udap_dcr";
    /// JWT-based client authentication.
    pub const AUTHN: &str = "udap_authn";
    /// Client authorization grants using JSON Web Tokens (B2B `client_credentials`).
    pub const AUTHZ: &str = "udap_authz";
    /// Tiered OAuth for user authentication.
    pub const TIERED_OAUTH: &str = "udap_to";
}

/// A UDAP metadata document as the server sent it (or with the signed endpoints merged in, see
/// [`VerifiedUdapMetadata`](crate::VerifiedUdapMetadata)).
///
/// Fields are read on demand from the JSON object; a field of the wrong type reads as absent,
/// and [`UdapMetadata::conformance`] reports it. Nothing here panics on any input.
///
/// ```
/// use smart_core::TransportPolicy;
/// use smart_udap::UdapMetadata;
///
/// let doc = UdapMetadata::parse(
///     br#"{"udap_profiles_supported": ["udap_dcr", "udap_authn"],
///          "registration_endpoint": "https://fhir.example/register",
///          "token_endpoint": "https://fhir.example/token",
///          "grant_types_supported": ["client_credentials"]}"#,
///     TransportPolicy::STRICT,
/// )?;
/// assert!(doc.supports_dynamic_registration());
/// assert!(doc.supports_jwt_client_auth());
/// assert!(!doc.supports_client_authorization()); // udap_authz is missing
/// assert!(!doc.conformance().is_conformant());
/// # Ok::<(), smart_core::json::JsonError>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct UdapMetadata {
    raw: JsonObject,
    transport: TransportPolicy,
}

impl UdapMetadata {
    /// Wraps a JSON object. `transport` decides whether `http://` loopback endpoints count as
    /// usable.
    #[must_use]
    pub fn from_object(raw: JsonObject, transport: TransportPolicy) -> Self {
        Self { raw, transport }
    }

    /// Parses a body strictly (one JSON object, no repeated keys, bounded depth).
    ///
    /// # Errors
    ///
    /// [`JsonError`] when the body is not a usable JSON object.
    pub fn parse(body: &[u8], transport: TransportPolicy) -> Result<Self, JsonError> {
        parse_object(body).map(|raw| Self::from_object(raw, transport))
    }

    /// The whole document.
    #[must_use]
    pub fn as_object(&self) -> &JsonObject {
        &self.raw
    }

    /// The transport policy endpoints are judged by.
    #[must_use]
    pub fn transport(&self) -> TransportPolicy {
        self.transport
    }

    /// The whole document, owned.
    #[must_use]
    pub fn into_object(self) -> JsonObject {
        self.raw
    }

    pub(crate) fn raw_mut(&mut self) -> &mut JsonObject {
        &mut self.raw
    }

    /// A field as a list of strings; `None` when absent, `null` or not an array of strings.
    #[must_use]
    pub fn strings(&self, field: &str) -> Option<Vec<&str>> {
        string_array(self.raw.get(field)?)
    }

    /// A field as a string; `None` when absent or not a string.
    #[must_use]
    pub fn string(&self, field: &str) -> Option<&str> {
        self.raw.get(field)?.as_str()
    }

    fn contains(&self, field: &str, value: &str) -> bool {
        self.strings(field)
            .is_some_and(|values| values.contains(&value))
    }

    /// `udap_versions_supported` (STU2 fixes it to `["1"]`).
    #[must_use]
    pub fn udap_versions_supported(&self) -> Option<Vec<&str>> {
        self.strings("udap_versions_supported")
    }

    /// `udap_profiles_supported`.
    #[must_use]
    pub fn udap_profiles_supported(&self) -> Option<Vec<&str>> {
        self.strings("udap_profiles_supported")
    }

    /// `udap_authorization_extensions_supported`.
    #[must_use]
    pub fn udap_authorization_extensions_supported(&self) -> Option<Vec<&str>> {
        self.strings("udap_authorization_extensions_supported")
    }

    /// `udap_authorization_extensions_required` (required when extensions are supported).
    #[must_use]
    pub fn udap_authorization_extensions_required(&self) -> Option<Vec<&str>> {
        self.strings("udap_authorization_extensions_required")
    }

    /// `udap_certifications_supported`.
    #[must_use]
    pub fn udap_certifications_supported(&self) -> Option<Vec<&str>> {
        self.strings("udap_certifications_supported")
    }

    /// `udap_certifications_required` (required when certifications are supported).
    #[must_use]
    pub fn udap_certifications_required(&self) -> Option<Vec<&str>> {
        self.strings("udap_certifications_required")
    }

    /// `grant_types_supported`.
    #[must_use]
    pub fn grant_types_supported(&self) -> Option<Vec<&str>> {
        self.strings("grant_types_supported")
    }

    /// `scopes_supported`.
    #[must_use]
    pub fn scopes_supported(&self) -> Option<Vec<&str>> {
        self.strings("scopes_supported")
    }

    /// `token_endpoint_auth_methods_supported` (STU2 fixes it to `["private_key_jwt"]`).
    #[must_use]
    pub fn token_endpoint_auth_methods_supported(&self) -> Option<Vec<&str>> {
        self.strings("token_endpoint_auth_methods_supported")
    }

    /// `token_endpoint_auth_signing_alg_values_supported`.
    #[must_use]
    pub fn token_endpoint_auth_signing_alg_values_supported(&self) -> Option<Vec<&str>> {
        self.strings("token_endpoint_auth_signing_alg_values_supported")
    }

    /// `registration_endpoint_jwt_signing_alg_values_supported`.
    #[must_use]
    pub fn registration_endpoint_jwt_signing_alg_values_supported(&self) -> Option<Vec<&str>> {
        self.strings("registration_endpoint_jwt_signing_alg_values_supported")
    }

    /// `authorization_endpoint`, as sent.
    #[must_use]
    pub fn authorization_endpoint(&self) -> Option<&str> {
        self.string("authorization_endpoint")
    }

    /// `token_endpoint`, as sent.
    #[must_use]
    pub fn token_endpoint(&self) -> Option<&str> {
        self.string("token_endpoint")
    }

    /// `registration_endpoint`, as sent.
    #[must_use]
    pub fn registration_endpoint(&self) -> Option<&str> {
        self.string("registration_endpoint")
    }

    /// `signed_metadata`, as sent (not verified here).
    #[must_use]
    pub fn signed_metadata(&self) -> Option<&str> {
        self.string("signed_metadata")
    }

    /// Whether `field` holds a URL the transport policy allows (`https://`, or loopback
    /// `http://` with the opt-in).
    #[must_use]
    pub fn endpoint_is_usable(&self, field: &str) -> bool {
        self.string(field)
            .is_some_and(|value| usable_endpoint(value, self.transport))
    }

    /// `udap_dcr` is among the profiles.
    #[must_use]
    pub fn dynamic_registration_profile(&self) -> bool {
        self.contains("udap_profiles_supported", profile::DCR)
    }

    /// `udap_authn` is among the profiles.
    #[must_use]
    pub fn jwt_client_auth_profile(&self) -> bool {
        self.contains("udap_profiles_supported", profile::AUTHN)
    }

    /// `udap_authz` is among the profiles.
    #[must_use]
    pub fn client_authorization_profile(&self) -> bool {
        self.contains("udap_profiles_supported", profile::AUTHZ)
    }

    /// `udap_to` is among the profiles.
    #[must_use]
    pub fn tiered_oauth_profile(&self) -> bool {
        self.contains("udap_profiles_supported", profile::TIERED_OAUTH)
    }

    /// `udap_dcr` and a usable `registration_endpoint`.
    #[must_use]
    pub fn supports_dynamic_registration(&self) -> bool {
        self.dynamic_registration_profile() && self.endpoint_is_usable("registration_endpoint")
    }

    /// `udap_authn` and a usable `token_endpoint`.
    #[must_use]
    pub fn supports_jwt_client_auth(&self) -> bool {
        self.jwt_client_auth_profile() && self.endpoint_is_usable("token_endpoint")
    }

    /// `udap_authz`, the `client_credentials` grant and a usable `token_endpoint`.
    #[must_use]
    pub fn supports_client_authorization(&self) -> bool {
        self.client_authorization_profile()
            && self.contains("grant_types_supported", "client_credentials")
            && self.endpoint_is_usable("token_endpoint")
    }

    /// The `authorization_code` grant is supported.
    #[must_use]
    pub fn supports_authorization_code(&self) -> bool {
        self.contains("grant_types_supported", "authorization_code")
    }

    /// The `refresh_token` grant is supported.
    #[must_use]
    pub fn supports_refresh_token(&self) -> bool {
        self.contains("grant_types_supported", "refresh_token")
    }

    /// `udap_to` is among the profiles.
    #[must_use]
    pub fn supports_tiered_oauth(&self) -> bool {
        self.tiered_oauth_profile()
    }

    /// `signed_metadata` is a compact-JWS string (not verified here).
    #[must_use]
    pub fn supports_signed_metadata(&self) -> bool {
        self.signed_metadata().is_some_and(is_compact_jws)
    }
}

impl fmt::Debug for UdapMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { raw, transport } = self;
        let mut fields: Vec<&str> = raw.keys().map(String::as_str).take(40).collect();
        fields.sort_unstable();
        f.debug_struct("UdapMetadata")
            .field("fields", &fields)
            .field("transport", transport)
            .finish()
    }
}

/// `Some(strings)` when `value` is an array of strings.
pub(crate) fn string_array(value: &Value) -> Option<Vec<&str>> {
    value.as_array()?.iter().map(Value::as_str).collect()
}

/// Whether `value` is an absolute URL the policy allows.
pub(crate) fn usable_endpoint(value: &str, transport: TransportPolicy) -> bool {
    value.trim() == value && Url::parse(value).is_ok_and(|url| transport.problem(&url).is_none())
}

/// Three non-empty base64url segments.
pub(crate) fn is_compact_jws(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_jws_shape() {
        assert!(is_compact_jws("a.b.c"));
        assert!(is_compact_jws("a-_.B9.c"));
        for bad in ["a.b", "a.b.c.d", "a..c", "a.b=.c", "a.b.c ", ""] {
            assert!(!is_compact_jws(bad), "{bad}");
        }
    }

    #[test]
    fn scalar_profile_never_matches() {
        let doc = UdapMetadata::parse(
            br#"{"udap_profiles_supported": "udap_dcr", "registration_endpoint": "https://x/r"}"#,
            TransportPolicy::STRICT,
        )
        .unwrap();
        assert!(!doc.dynamic_registration_profile());
        assert!(!doc.supports_dynamic_registration());
    }

    #[test]
    fn loopback_endpoints_need_the_opt_in() {
        let body = br#"{"udap_profiles_supported": ["udap_authn"], "token_endpoint": "http://127.0.0.1:8080/token"}"#;
        let strict = UdapMetadata::parse(body, TransportPolicy::STRICT).unwrap();
        assert!(!strict.supports_jwt_client_auth());
        let dev = UdapMetadata::parse(body, TransportPolicy::ALLOW_INSECURE_LOCALHOST).unwrap();
        assert!(dev.supports_jwt_client_auth());
    }
}
