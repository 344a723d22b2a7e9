//! The demo FHIR data behind the launch contexts: the two patients, the encounter, the
//! practitioner (the signed-in user) and some Observations. Demo data only: no real person.

use serde_json::{Value, json};

use crate::demo::{ENCOUNTER_ID, OTHER_PATIENT_ID, PATIENT_ID, PRACTITIONER_ID};

/// The resource types the sandbox serves.
pub(crate) const RESOURCE_TYPES: [&str; 4] =
    ["Patient", "Encounter", "Practitioner", "Observation"];

/// One Observation of the data set: `(id, patient, LOINC code, display, value, unit, date)`.
type ObservationRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    f64,
    &'static str,
    &'static str,
);

const OBSERVATIONS: [ObservationRow; 5] = [
    (
        "sandbox-observation-1",
        PATIENT_ID,
        "29463-7",
        "Body weight",
        64.2,
        "kg",
        "2026-03-02T09:30:00Z",
    ),
    (
        "sandbox-observation-2",
        PATIENT_ID,
        "8867-4",
        "Heart rate",
        72.0,
        "/min",
        "2026-03-02T09:31:00Z",
    ),
    (
        "sandbox-observation-3",
        PATIENT_ID,
        "8310-5",
        "Body temperature",
        36.8,
        "Cel",
        "2026-01-15T14:05:00Z",
    ),
    (
        "sandbox-observation-4",
        OTHER_PATIENT_ID,
        "29463-7",
        "Body weight",
        81.5,
        "kg",
        "2025-11-20T10:00:00Z",
    ),
    (
        "sandbox-observation-5",
        OTHER_PATIENT_ID,
        "8867-4",
        "Heart rate",
        64.0,
        "/min",
        "2025-11-20T10:02:00Z",
    ),
];

fn demo_tag() -> Value {
    json!({"tag": [{"system": "urn:smart-sandbox", "code": "demo"}]})
}

fn patient(id: &str) -> Option<Value> {
    let (family, given, gender, birth_date) = match id {
        PATIENT_ID => ("Shaw", ["Amy", "V."], "female", "1987-02-20"),
        OTHER_PATIENT_ID => ("Adams", ["Daniel", "X."], "male", "1925-12-23"),
        _ => return None,
    };
    Some(json!({
        "resourceType": "Patient",
        "id": id,
        "meta": demo_tag(),
        "active": true,
        "name": [{"use": "official", "family": family, "given": given}],
        "gender": gender,
        "birthDate": birth_date
    }))
}

fn encounter(id: &str) -> Option<Value> {
    (id == ENCOUNTER_ID).then(|| {
        json!({
            "resourceType": "Encounter",
            "id": ENCOUNTER_ID,
            "meta": demo_tag(),
            "status": "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
                "display": "ambulatory"
            },
            "subject": {"reference": format!("Patient/{PATIENT_ID}")},
            "participant": [{"individual": {"reference": format!("Practitioner/{PRACTITIONER_ID}")}}],
            "period": {"start": "2026-03-02T09:15:00Z"}
        })
    })
}

fn practitioner(id: &str) -> Option<Value> {
    (id == PRACTITIONER_ID).then(|| {
        json!({
            "resourceType": "Practitioner",
            "id": PRACTITIONER_ID,
            "meta": demo_tag(),
            "active": true,
            "name": [{"use": "official", "family": "Rivera", "given": ["Alex"], "prefix": ["Dr."]}]
        })
    })
}

fn observation(row: &ObservationRow) -> Value {
    let (id, patient, code, display, value, unit, date) = *row;
    json!({
        "resourceType": "Observation",
        "id": id,
        "meta": demo_tag(),
        "status": "final",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs"
        }]}],
        "code": {
            "coding": [{"system": "http://loinc.org", "code": code, "display": display}],
            "text": display
        },
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": date,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    })
}

/// The resource `resource_type/id` and the patient whose compartment it is in (`None` for
/// a Practitioner), if the data set has it.
pub(crate) fn read(resource_type: &str, id: &str) -> Option<(Value, Option<&'static str>)> {
    match resource_type {
        "Patient" => {
            let resource = patient(id)?;
            let owner = [PATIENT_ID, OTHER_PATIENT_ID]
                .into_iter()
                .find(|p| *p == id);
            Some((resource, owner))
        }
        "Encounter" => encounter(id).map(|resource| (resource, Some(PATIENT_ID))),
        "Practitioner" => practitioner(id).map(|resource| (resource, None)),
        "Observation" => OBSERVATIONS
            .iter()
            .find(|row| row.0 == id)
            .map(|row| (observation(row), Some(row.1))),
        _ => None,
    }
}

/// The Observations of `patient` (every patient's when `None`), newest first, each with
/// the patient it belongs to.
pub(crate) fn observations(patient: Option<&str>) -> Vec<(Value, &'static str)> {
    let mut rows: Vec<&ObservationRow> = OBSERVATIONS
        .iter()
        .filter(|row| patient.is_none_or(|wanted| row.1 == wanted))
        .collect();
    rows.sort_by(|a, b| b.6.cmp(a.6));
    rows.into_iter()
        .map(|row| (observation(row), row.1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves() {
        for (resource_type, id) in [
            ("Patient", PATIENT_ID),
            ("Patient", OTHER_PATIENT_ID),
            ("Encounter", ENCOUNTER_ID),
            ("Practitioner", PRACTITIONER_ID),
        ] {
            let (resource, _) = read(resource_type, id).unwrap();
            assert_eq!(resource["id"], id);
        }
        for (resource, patient) in observations(None) {
            let reference = resource["subject"]["reference"].as_str().unwrap();
            assert_eq!(reference, format!("Patient/{patient}"));
            assert!(read("Patient", patient).is_some());
        }
        let amy = observations(Some(PATIENT_ID));
        assert_eq!(amy.len(), 3);
        assert_eq!(amy[0].0["effectiveDateTime"], "2026-03-02T09:31:00Z");
        assert!(read("Patient", "nobody").is_none());
        assert!(read("Medication", "x").is_none());
    }
}
