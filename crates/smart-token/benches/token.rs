//! Reading a token response with [`TokenResponse::from_response`] and a 50-scope string with
//! [`ScopeSet::parse`].
//!
//! The references, measured in the same run, are what a naive client does with the same
//! input: `serde_json::from_slice::<serde_json::Value>` of the body, and
//! `str::split_whitespace().collect::<Vec<_>>()` of the scope string. The ratios are the cost
//! of the typed, checked model (strict JSON, launch context and deviations typed, every scope
//! checked against the SMART v1/v2 grammar and de-duplicated).
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::Value;
use smart_core::FixedClock;
use smart_token::TokenResponse;
use smart_token::scope::ScopeSet;

/// A token response in the shape of the SMART App Launch 2.2 example
/// (app-launch.html#response-5), with the refresh and id tokens of a launch that asked for
/// `offline_access openid fhirUser`, at the sizes real servers send (JWT access and id
/// tokens).
fn token_body() -> Vec<u8> {
    let jwt = |len: usize| -> String {
        let part = |n: usize| {
            "eyJhbGciOiJSUzM4NCJ9xyz"
                .chars()
                .cycle()
                .take(n)
                .collect::<String>()
        };
        format!("{}.{}.{}", part(40), part(len), part(342))
    };
    let body = serde_json::json!({
        "access_token": jwt(420),
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "launch/patient openid fhirUser offline_access patient/Observation.rs patient/Patient.rs",
        "refresh_token": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "id_token": jwt(520),
        "intent": "client-ui-name",
        "patient": "123",
        "encounter": "456",
        "fhirContext": [
            {"reference": "Appointment/789"},
            {"canonical": "https://example.org/Questionnaire/q|1.0", "role": "questionnaire-render"}
        ],
        "need_patient_banner": true,
        "smart_style_url": "https://ehr.example.com/styles/smart_v1.json",
        "tenant": "t-1"
    });
    serde_json::to_vec_pretty(&body).expect("serialises")
}

/// 50 distinct scopes as a SMART app asks for them: launch and identity scopes, then v2
/// resource scopes (one with a query), then v1 ones.
fn fifty_scopes() -> String {
    const RESOURCES: [&str; 30] = [
        "AllergyIntolerance",
        "CarePlan",
        "CareTeam",
        "Condition",
        "Coverage",
        "Device",
        "DiagnosticReport",
        "DocumentReference",
        "Encounter",
        "Goal",
        "Immunization",
        "Location",
        "Medication",
        "MedicationDispense",
        "MedicationRequest",
        "Observation",
        "Organization",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "Procedure",
        "Provenance",
        "QuestionnaireResponse",
        "RelatedPerson",
        "ServiceRequest",
        "Specimen",
        "Appointment",
        "Claim",
        "ExplanationOfBenefit",
        "FamilyMemberHistory",
    ];
    let mut scopes = String::from("launch launch/patient openid fhirUser offline_access profile");
    for resource in RESOURCES {
        write!(scopes, " patient/{resource}.rs").expect("writing to a String");
    }
    scopes.push_str(" patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory");
    for resource in &RESOURCES[..13] {
        write!(scopes, " user/{resource}.read").expect("writing to a String");
    }
    scopes
}

fn token_response(c: &mut Criterion) {
    let clock = FixedClock::from_unix_seconds(1_700_000_000);
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(token_body())
        .expect("a valid response");
    let parsed = TokenResponse::from_response(&response, &clock).expect("the body parses");
    assert_eq!(parsed.context().patient(), Some("123"));

    let mut group = c.benchmark_group("token response");
    group.bench_function("ours", |b| {
        b.iter(|| {
            black_box(TokenResponse::from_response(black_box(&response), &clock).expect("parses"))
        });
    });
    group.bench_function("reference", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<Value>(black_box(response.body())).expect("parses"))
        });
    });
    group.finish();
}

fn scope_string(c: &mut Criterion) {
    let text = fifty_scopes();
    let set = ScopeSet::parse(&text).expect("the scopes are valid");
    assert_eq!(set.iter().count(), 50, "{text}");

    let mut group = c.benchmark_group("50 scopes");
    group.bench_function("ours", |b| {
        b.iter(|| black_box(ScopeSet::parse(black_box(&text)).expect("parses")));
    });
    group.bench_function("reference", |b| {
        b.iter(|| black_box(black_box(&text).split_whitespace().collect::<Vec<_>>()));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = token_response, scope_string
}
criterion_main!(benches);
