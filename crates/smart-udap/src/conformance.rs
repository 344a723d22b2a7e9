//! The structural conformance report of a UDAP metadata document (UDAP Security STU2 §2.2).

use core::fmt;

use serde_json::Value;

use crate::metadata::{ARRAY_FIELDS, REQUIRED_FIELDS, UdapMetadata, is_compact_jws, string_array};

/// One rule of STU2 §2.2 that a metadata document breaks. `Display` gives the message safire
/// logs after `UDAP metadata non-compliance: `; no message contains a value from the document
/// except the offending entries of a `*_required` list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConformanceFinding {
    /// A required field is absent or `null`.
    MissingField(&'static str),
    /// An array field is not an array of strings.
    NotStringArray(&'static str),
    /// `udap_versions_supported` is not exactly `["1"]`.
    Versions,
    /// `udap_dcr` is not among the profiles.
    NoDcrProfile,
    /// `udap_authn` is not among the profiles.
    NoAuthnProfile,
    /// `token_endpoint_auth_methods_supported` is not exactly `["private_key_jwt"]`.
    AuthMethods,
    /// A field that must be a non-empty array is empty.
    EmptyArray(&'static str),
    /// An endpoint is not an absolute HTTPS URL (loopback `http://` with the opt-in).
    NotHttps(&'static str),
    /// `signed_metadata` is not a compact JWS.
    SignedMetadataShape,
    /// `authorization_code` is a grant but there is no `authorization_endpoint`.
    NoAuthorizationEndpoint,
    /// `<x>_supported` is non-empty but `<x>_required` is absent.
    RequiredMissing(&'static str),
    /// `client_credentials` is a grant but `udap_authz` is not a profile.
    NoAuthzProfile,
    /// `refresh_token` is a grant without `authorization_code`.
    RefreshWithoutCode,
    /// `<x>_required` lists values not in `<x>_supported`.
    RequiredNotSupported {
        /// `udap_authorization_extensions` or `udap_certifications`.
        prefix: &'static str,
        /// The values (cleaned for display).
        values: Vec<String>,
    },
}

impl fmt::Display for ConformanceFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingField(field) => write!(f, "required field '{field}' is missing"),
            Self::NotStringArray(field) => write!(f, "field '{field}' must be an array of strings"),
            Self::Versions => f.write_str(
                "udap_versions_supported must be the fixed array ['1'] (UDAP Security STU2 fixed value)",
            ),
            Self::NoDcrProfile => f.write_str(
                "'udap_dcr' is missing from udap_profiles_supported (required by UDAP Security STU2)",
            ),
            Self::NoAuthnProfile => f.write_str(
                "'udap_authn' is missing from udap_profiles_supported (required by UDAP Security STU2)",
            ),
            Self::AuthMethods => f.write_str(
                "token_endpoint_auth_methods_supported must be the fixed array ['private_key_jwt'] (required by UDAP Security STU2)",
            ),
            Self::EmptyArray(field) => write!(
                f,
                "{field} must be a non-empty array (required by UDAP Security STU2)"
            ),
            Self::NotHttps(field) => write!(f, "{field} must be an absolute HTTPS URL"),
            Self::SignedMetadataShape => f.write_str(
                "signed_metadata must be a compact-JWS string (header.payload.signature)",
            ),
            Self::NoAuthorizationEndpoint => f.write_str(
                "authorization_endpoint is required when authorization_code grant type is supported",
            ),
            Self::RequiredMissing(prefix) => write!(
                f,
                "{prefix}_required must be present when {prefix}_supported is non-empty"
            ),
            Self::NoAuthzProfile => f.write_str(
                "'udap_authz' is required in udap_profiles_supported when client_credentials grant type is supported",
            ),
            Self::RefreshWithoutCode => f.write_str(
                "'refresh_token' grant type requires 'authorization_code' to also be in grant_types_supported",
            ),
            Self::RequiredNotSupported { prefix, values } => write!(
                f,
                "{prefix}_required contains values not in {prefix}_supported: {}",
                values.join(", ")
            ),
        }
    }
}

/// Every [`ConformanceFinding`] of one document, in the order of the checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConformanceReport {
    findings: Vec<ConformanceFinding>,
}

impl ConformanceReport {
    /// No finding.
    #[must_use]
    pub fn is_conformant(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings.
    #[must_use]
    pub fn findings(&self) -> &[ConformanceFinding] {
        &self.findings
    }

    /// Logs each finding at `warn`, as `UDAP metadata non-compliance: <finding>`.
    pub fn log(&self) {
        for finding in &self.findings {
            log::warn!("UDAP metadata non-compliance: {finding}");
        }
    }
}

const PAIRS: [&str; 2] = ["udap_authorization_extensions", "udap_certifications"];

impl UdapMetadata {
    /// The structural conformance report: every rule of STU2 §2.2 that can be checked
    /// without verifying `signed_metadata`. Never panics.
    #[must_use]
    pub fn conformance(&self) -> ConformanceReport {
        check(self)
    }
}

pub(crate) fn check(doc: &UdapMetadata) -> ConformanceReport {
    let raw = doc.as_object();
    let mut findings = Vec::new();
    let present = |field: &str| raw.get(field).is_some_and(|v| !v.is_null());
    for field in REQUIRED_FIELDS {
        if !present(field) {
            findings.push(ConformanceFinding::MissingField(field));
        }
    }
    for field in ARRAY_FIELDS {
        if let Some(value) = raw.get(field).filter(|v| !v.is_null())
            && string_array(value).is_none()
        {
            findings.push(ConformanceFinding::NotStringArray(field));
        }
    }
    if !findings.is_empty() {
        return ConformanceReport { findings };
    }
    let list = |field: &str| doc.strings(field).unwrap_or_default();

    if list("udap_versions_supported") != ["1"] {
        findings.push(ConformanceFinding::Versions);
    }
    let profiles = list("udap_profiles_supported");
    if !profiles.contains(&"udap_dcr") {
        findings.push(ConformanceFinding::NoDcrProfile);
    }
    if !profiles.contains(&"udap_authn") {
        findings.push(ConformanceFinding::NoAuthnProfile);
    }
    if list("token_endpoint_auth_methods_supported") != ["private_key_jwt"] {
        findings.push(ConformanceFinding::AuthMethods);
    }
    for field in [
        "scopes_supported",
        "grant_types_supported",
        "token_endpoint_auth_signing_alg_values_supported",
        "registration_endpoint_jwt_signing_alg_values_supported",
    ] {
        if list(field).is_empty() {
            findings.push(ConformanceFinding::EmptyArray(field));
        }
    }
    for field in ["token_endpoint", "registration_endpoint"] {
        if !doc.endpoint_is_usable(field) {
            findings.push(ConformanceFinding::NotHttps(field));
        }
    }
    if present("authorization_endpoint") && !doc.endpoint_is_usable("authorization_endpoint") {
        findings.push(ConformanceFinding::NotHttps("authorization_endpoint"));
    }
    if !raw
        .get("signed_metadata")
        .and_then(Value::as_str)
        .is_some_and(is_compact_jws)
    {
        findings.push(ConformanceFinding::SignedMetadataShape);
    }
    let grants = list("grant_types_supported");
    if grants.contains(&"authorization_code") && !present("authorization_endpoint") {
        findings.push(ConformanceFinding::NoAuthorizationEndpoint);
    }
    for prefix in PAIRS {
        let supported = list(&format!("{prefix}_supported"));
        if !supported.is_empty() && !present(&format!("{prefix}_required")) {
            findings.push(ConformanceFinding::RequiredMissing(prefix));
        }
    }
    if grants.contains(&"client_credentials") && !profiles.contains(&"udap_authz") {
        findings.push(ConformanceFinding::NoAuthzProfile);
    }
    if grants.contains(&"refresh_token") && !grants.contains(&"authorization_code") {
        findings.push(ConformanceFinding::RefreshWithoutCode);
    }
    for prefix in PAIRS {
        let supported = list(&format!("{prefix}_supported"));
        let extra: Vec<String> = list(&format!("{prefix}_required"))
            .into_iter()
            .filter(|value| !supported.contains(value))
            .map(|value| smart_core::display_text(value, 100))
            .collect();
        if !extra.is_empty() {
            findings.push(ConformanceFinding::RequiredNotSupported {
                prefix,
                values: extra,
            });
        }
    }
    ConformanceReport { findings }
}
