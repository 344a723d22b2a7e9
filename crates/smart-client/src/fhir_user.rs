//! The `fhirUser` claim, typed: which resource the signed-in user is
//! ([scopes-and-launch-context.html#scopes-for-requesting-identity-data](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#scopes-for-requesting-identity-data)).

use core::fmt;

use smart_core::url::Url;
use smart_core::{FhirBaseUrl, display_text};

use crate::id_token::IdTokenClaims;

/// The resource types SMART allows a `fhirUser` to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FhirUserType {
    /// `Patient`.
    Patient,
    /// `Practitioner`.
    Practitioner,
    /// `PractitionerRole`.
    PractitionerRole,
    /// `RelatedPerson`.
    RelatedPerson,
    /// `Person`.
    Person,
}

impl FhirUserType {
    /// The resource type's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "Patient",
            Self::Practitioner => "Practitioner",
            Self::PractitionerRole => "PractitionerRole",
            Self::RelatedPerson => "RelatedPerson",
            Self::Person => "Person",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            Self::Patient,
            Self::Practitioner,
            Self::PractitionerRole,
            Self::RelatedPerson,
            Self::Person,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for FhirUserType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in user as a FHIR resource: its type, its id and its absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirUser {
    resource_type: FhirUserType,
    id: String,
    url: Url,
}

impl FhirUser {
    /// The resource type.
    #[must_use]
    pub fn resource_type(&self) -> FhirUserType {
        self.resource_type
    }

    /// The resource id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The absolute URL (a relative claim resolved against the FHIR base).
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `Type/id`, the path to read it below the FHIR base.
    #[must_use]
    pub fn reference(&self) -> String {
        format!("{}/{}", self.resource_type, self.id)
    }
}

/// Why the `fhirUser` claim is not a usable user. No variant holds the claim's value beyond a
/// cleaned resource type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirUserError {
    /// The `id_token` has no `fhirUser` (nor `profile`) claim.
    #[error("the id_token has no fhirUser claim; ask for the fhirUser scope")]
    Missing,
    /// The claim is neither an absolute URL nor a path relative to the FHIR base.
    #[error(
        "the id_token's fhirUser is not a FHIR resource URL (absolute, or relative to the FHIR base)"
    )]
    NotAUrl,
    /// The claim names another resource type.
    #[error(
        "the id_token's fhirUser names a {found} resource; SMART allows Patient, Practitioner, PractitionerRole, RelatedPerson or Person"
    )]
    ResourceType {
        /// The resource type found (control characters replaced, cut).
        found: String,
    },
    /// The resource id is missing or is not a FHIR id (1 to 64 of `A-Z a-z 0-9 - .`).
    #[error("the id_token's fhirUser has no valid FHIR resource id after its type")]
    Id,
}

impl IdTokenClaims {
    /// The `fhirUser` claim as a typed user: the resource type (one of the five SMART
    /// allows), the id and the absolute URL, a relative claim resolved against `fhir_base`
    /// (the `aud`). A trailing `_history/{version}` is ignored.
    ///
    /// # Errors
    ///
    /// [`FhirUserError`] for a missing claim, a value that is not a resource URL, another
    /// resource type, or a missing or malformed id.
    pub fn fhir_user_resource(&self, fhir_base: &FhirBaseUrl) -> Result<FhirUser, FhirUserError> {
        let claim = self.fhir_user().ok_or(FhirUserError::Missing)?;
        if claim.is_empty() || claim.chars().any(char::is_control) {
            return Err(FhirUserError::NotAUrl);
        }
        let url = self
            .fhir_user_url(fhir_base)
            .ok_or(FhirUserError::NotAUrl)?;
        let mut segments: Vec<&str> = url.path_segments().ok_or(FhirUserError::NotAUrl)?.collect();
        if segments.len() >= 4 && segments[segments.len() - 2] == "_history" {
            segments.truncate(segments.len() - 2);
        }
        let (Some(id), Some(kind)) = (segments.pop(), segments.pop()) else {
            return Err(FhirUserError::NotAUrl);
        };
        let resource_type =
            FhirUserType::parse(kind).ok_or_else(|| FhirUserError::ResourceType {
                found: display_text(kind, 64),
            })?;
        let valid_id = (1..=64).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid_id {
            return Err(FhirUserError::Id);
        }
        Ok(FhirUser {
            resource_type,
            id: id.to_owned(),
            url,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(claim: &str) -> Result<FhirUser, FhirUserError> {
        let claims = IdTokenClaims::for_tests(json!({ "fhirUser": claim }));
        claims.fhir_user_resource(&FhirBaseUrl::parse("https://ehr.example/fhir/r4").unwrap())
    }

    #[test]
    fn every_allowed_type_absolute_or_relative() {
        for kind in [
            "Patient",
            "Practitioner",
            "PractitionerRole",
            "RelatedPerson",
            "Person",
        ] {
            let relative = user(&format!("{kind}/abc-1.2")).unwrap();
            assert_eq!(relative.resource_type().as_str(), kind);
            assert_eq!(relative.id(), "abc-1.2");
            assert_eq!(
                relative.url().as_str(),
                format!("https://ehr.example/fhir/r4/{kind}/abc-1.2")
            );
            assert_eq!(relative.reference(), format!("{kind}/abc-1.2"));
        }
        let absolute = user("https://other.example/fhir/Practitioner/7/_history/2").unwrap();
        assert_eq!(absolute.resource_type(), FhirUserType::Practitioner);
        assert_eq!(absolute.id(), "7");
    }

    #[test]
    fn other_types_and_malformed_values_are_typed_errors() {
        assert_eq!(
            user("Organization/1"),
            Err(FhirUserError::ResourceType {
                found: "Organization".to_owned()
            })
        );
        assert_eq!(user("Practitioner/"), Err(FhirUserError::Id));
        assert_eq!(user("Practitioner/a_b"), Err(FhirUserError::Id));
        assert_eq!(
            user(&format!("Patient/{}", "x".repeat(65))),
            Err(FhirUserError::Id)
        );
        assert_eq!(user("Patient\n/1"), Err(FhirUserError::NotAUrl));
        let missing = IdTokenClaims::for_tests(json!({ "sub": "u" }));
        assert_eq!(
            missing.fhir_user_resource(&FhirBaseUrl::parse("https://ehr.example/fhir").unwrap()),
            Err(FhirUserError::Missing)
        );
    }
}
