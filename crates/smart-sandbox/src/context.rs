//! The launch context an EHR launch is bound to.

use serde_json::{Map, Value};

use crate::demo;

/// The context of an EHR launch: what the app learns in the token response
/// ([scopes-and-launch-context.html#launch-context-arrives-with-your-access_token](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token)).
///
/// [`Sandbox::launch`](crate::Sandbox::launch) binds one to a fresh `launch` value. Every field
/// that is set is returned in the token response of a code exchange that used that `launch`
/// (and in the responses of its refreshes), whatever `launch/...` scopes were asked for.
///
/// ```
/// use smart_sandbox::{LaunchContext, demo};
///
/// let mut context = LaunchContext::for_patient(demo::PATIENT_ID).with_encounter(demo::ENCOUNTER_ID);
/// context.intent = Some("reconcile-medications".to_owned());
/// assert_eq!(context.need_patient_banner, Some(true));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LaunchContext {
    /// `patient`: the id of the Patient in context.
    pub patient: Option<String>,
    /// `encounter`: the id of the Encounter in context.
    pub encounter: Option<String>,
    /// `fhirContext`: further resources in context, each an object with `reference`,
    /// `canonical` or `identifier`, and optionally `type` and `role`.
    pub fhir_context: Vec<Map<String, Value>>,
    /// `need_patient_banner`.
    pub need_patient_banner: Option<bool>,
    /// `smart_style_url`. When `None`, the sandbox's own style document is used.
    pub smart_style_url: Option<String>,
    /// `intent`.
    pub intent: Option<String>,
    /// `tenant`.
    pub tenant: Option<String>,
    /// The signed-in user, as a relative reference (`Practitioner/123`): the `fhirUser` of the
    /// `id_token`. When `None`, the demo practitioner ([`demo::PRACTITIONER_ID`]).
    pub fhir_user: Option<String>,
}

impl LaunchContext {
    /// An empty context.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A context with `patient` set and `need_patient_banner: true`.
    #[must_use]
    pub fn for_patient(patient: impl Into<String>) -> Self {
        Self {
            patient: Some(patient.into()),
            need_patient_banner: Some(true),
            ..Self::default()
        }
    }

    /// The demo context: [`demo::PATIENT_ID`], [`demo::ENCOUNTER_ID`], and a banner.
    #[must_use]
    pub fn demo() -> Self {
        Self::for_patient(demo::PATIENT_ID).with_encounter(demo::ENCOUNTER_ID)
    }

    /// Sets `encounter`.
    #[must_use]
    pub fn with_encounter(mut self, encounter: impl Into<String>) -> Self {
        self.encounter = Some(encounter.into());
        self
    }

    /// Adds a `fhirContext` item, such as `{"reference": "DiagnosticReport/123"}`.
    #[must_use]
    pub fn with_fhir_context(mut self, item: Map<String, Value>) -> Self {
        self.fhir_context.push(item);
        self
    }

    /// Sets `intent`.
    #[must_use]
    pub fn with_intent(mut self, intent: impl Into<String>) -> Self {
        self.intent = Some(intent.into());
        self
    }

    /// Sets the signed-in user (`fhirUser`), a relative reference such as `Practitioner/123`.
    #[must_use]
    pub fn with_fhir_user(mut self, reference: impl Into<String>) -> Self {
        self.fhir_user = Some(reference.into());
        self
    }

    /// The context members of a token or introspection response.
    pub(crate) fn write_to(&self, object: &mut Map<String, Value>) {
        let Self {
            patient,
            encounter,
            fhir_context,
            need_patient_banner,
            smart_style_url,
            intent,
            tenant,
            fhir_user: _,
        } = self;
        let strings = [
            ("patient", patient),
            ("encounter", encounter),
            ("smart_style_url", smart_style_url),
            ("intent", intent),
            ("tenant", tenant),
        ];
        for (name, value) in strings {
            if let Some(value) = value {
                object.insert(name.to_owned(), Value::from(value.as_str()));
            }
        }
        if let Some(banner) = need_patient_banner {
            object.insert("need_patient_banner".to_owned(), Value::Bool(*banner));
        }
        if !fhir_context.is_empty() {
            let items = fhir_context.iter().cloned().map(Value::Object).collect();
            object.insert("fhirContext".to_owned(), Value::Array(items));
        }
    }
}
