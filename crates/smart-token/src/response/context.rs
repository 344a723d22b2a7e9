//! The launch context that arrives with the access token: patient, encounter, `fhirContext`
//! and the other context parameters.

use serde::Serialize;
use serde_json::{Map, Value};
use smart_core::json::kind;

use super::fields::{Deviation, take_bool, take_string};

/// One item of `fhirContext`: a resource relevant to the launch
/// ([scopes-and-launch-context.html#fhircontext-exp](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#fhircontext-exp)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FhirContextItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    canonical: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identifier: Option<Value>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    resource_type: Option<String>,
    role: String,
}

impl FhirContextItem {
    /// A relative reference such as `Appointment/123`.
    #[must_use]
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// A canonical URL such as `https://example.org/Questionnaire/q|1.0`.
    #[must_use]
    pub fn canonical(&self) -> Option<&str> {
        self.canonical.as_deref()
    }

    /// A FHIR Identifier object.
    #[must_use]
    pub fn identifier(&self) -> Option<&Value> {
        self.identifier.as_ref()
    }

    /// The resource type, when given.
    #[must_use]
    pub fn resource_type(&self) -> Option<&str> {
        self.resource_type.as_deref()
    }

    /// The role; `launch` when the server gave none (the spec's default).
    #[must_use]
    pub fn role(&self) -> &str {
        &self.role
    }
}

/// The launch context that arrives with the access token.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LaunchContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    patient: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encounter: Option<String>,
    #[serde(rename = "fhirContext", skip_serializing_if = "Vec::is_empty")]
    fhir_context: Vec<FhirContextItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    need_patient_banner: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    smart_style_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
}

impl LaunchContext {
    /// Removes the context fields from `object`, leaving everything else.
    pub(crate) fn take(object: &mut Map<String, Value>, deviations: &mut Vec<Deviation>) -> Self {
        Self {
            patient: take_string(object, "patient", deviations),
            encounter: take_string(object, "encounter", deviations),
            fhir_context: take_fhir_context(object, deviations),
            need_patient_banner: take_bool(object, "need_patient_banner", deviations),
            smart_style_url: take_string(object, "smart_style_url", deviations),
            intent: take_string(object, "intent", deviations),
            tenant: take_string(object, "tenant", deviations),
        }
    }

    /// The patient in context (a `Patient` id).
    #[must_use]
    pub fn patient(&self) -> Option<&str> {
        self.patient.as_deref()
    }

    /// The encounter in context (an `Encounter` id).
    #[must_use]
    pub fn encounter(&self) -> Option<&str> {
        self.encounter.as_deref()
    }

    /// Other resources relevant to the launch.
    #[must_use]
    pub fn fhir_context(&self) -> &[FhirContextItem] {
        &self.fhir_context
    }

    /// Whether the app should show its own patient banner.
    #[must_use]
    pub fn need_patient_banner(&self) -> Option<bool> {
        self.need_patient_banner
    }

    /// Where the EHR's style hints are.
    #[must_use]
    pub fn smart_style_url(&self) -> Option<&str> {
        self.smart_style_url.as_deref()
    }

    /// The launch intent; apps use their default view for unknown or absent intents.
    #[must_use]
    pub fn intent(&self) -> Option<&str> {
        self.intent.as_deref()
    }

    /// The tenant.
    #[must_use]
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// Whether no context came at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn take_fhir_context(
    object: &mut Map<String, Value>,
    deviations: &mut Vec<Deviation>,
) -> Vec<FhirContextItem> {
    let items = match object.remove("fhirContext") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            deviations.push(Deviation::WrongType {
                field: "fhirContext".to_owned(),
                expected: "array",
                found: kind(&other),
            });
            return Vec::new();
        }
    };
    let mut context = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Value::String(reference) => {
                deviations.push(Deviation::FhirContextString { index });
                context.push(FhirContextItem {
                    reference: Some(reference),
                    canonical: None,
                    identifier: None,
                    resource_type: None,
                    role: "launch".to_owned(),
                });
            }
            Value::Object(mut fields) => {
                let mut local = Vec::new();
                let reference = take_string(&mut fields, "reference", &mut local);
                let canonical = take_string(&mut fields, "canonical", &mut local);
                let resource_type = take_string(&mut fields, "type", &mut local);
                let role = take_string(&mut fields, "role", &mut local)
                    .unwrap_or_else(|| "launch".to_owned());
                deviations.extend(local.into_iter().map(|deviation| match deviation {
                    Deviation::WrongType {
                        field,
                        expected,
                        found,
                    } => Deviation::WrongType {
                        field: format!("fhirContext[{index}].{field}"),
                        expected,
                        found,
                    },
                    other => other,
                }));
                let identifier = match fields.remove("identifier") {
                    None | Some(Value::Null) => None,
                    Some(identifier @ Value::Object(_)) => Some(identifier),
                    Some(other) => {
                        deviations.push(Deviation::WrongType {
                            field: format!("fhirContext[{index}].identifier"),
                            expected: "object",
                            found: kind(&other),
                        });
                        None
                    }
                };
                if reference.is_none() && canonical.is_none() && identifier.is_none() {
                    deviations.push(Deviation::FhirContextItemEmpty { index });
                    continue;
                }
                context.push(FhirContextItem {
                    reference,
                    canonical,
                    identifier,
                    resource_type,
                    role,
                });
            }
            other => deviations.push(Deviation::WrongType {
                field: format!("fhirContext[{index}]"),
                expected: "object",
                found: kind(&other),
            }),
        }
    }
    context
}
