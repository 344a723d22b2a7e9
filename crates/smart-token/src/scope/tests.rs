//! The scope grammar's unit tests.

use super::*;

fn round_trip(text: &str) {
    let scope = Scope::parse(text).unwrap();
    assert_eq!(scope.to_string(), text);
}

#[test]
fn grammar_round_trips() {
    for text in [
        "patient/Observation.read",
        "patient/Observation.write",
        "user/*.*",
        "system/*.rs",
        "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
        "patient/Condition.rs?category=a|b&code=c|d",
        "user/Patient.cruds",
        "user/Patient.c",
        "launch",
        "launch/patient",
        "launch/encounter",
        "launch/diagnosticreport",
        "launch/patient?role=https://example.org/role",
        "openid",
        "fhirUser",
        "profile",
        "offline_access",
        "online_access",
        "https://vendor.example/scopes/read",
        "email",
    ] {
        round_trip(text);
    }
}

#[test]
fn v1_maps_to_v2() {
    for (v1, v2) in [
        ("patient/Observation.read", "patient/Observation.rs"),
        ("patient/Observation.write", "patient/Observation.cud"),
        ("user/*.*", "user/*.cruds"),
    ] {
        assert_eq!(Scope::parse(v1).unwrap().to_v2().to_string(), v2);
    }
}

#[test]
fn invalid_tokens_name_the_token() {
    for (text, problem) in [
        ("", ScopeProblem::Empty),
        ("patient/Observation", ScopeProblem::MissingPermissions),
        ("patient/observation.rs", ScopeProblem::ResourceType),
        ("patient/.rs", ScopeProblem::ResourceType),
        ("patient/Observation.rx", ScopeProblem::PermissionLetter),
        ("patient/Observation.sr", ScopeProblem::PermissionOrder),
        ("patient/Observation.rrs", ScopeProblem::PermissionOrder),
        ("patient/Observation.", ScopeProblem::EmptyPermissions),
        ("patient/Observation.rs?category", ScopeProblem::Param),
        ("patient/Observation.rs?=x", ScopeProblem::Param),
        (
            "patient/Observation.read?category=x",
            ScopeProblem::ParamsNeedV2,
        ),
        ("launch/Patient", ScopeProblem::LaunchType),
        ("launch/", ScopeProblem::LaunchType),
        ("launch/patient?foo=bar", ScopeProblem::LaunchParam),
        ("launch/patient?role=a&role=b", ScopeProblem::LaunchParam),
        ("pat\"ient", ScopeProblem::Character),
        ("é", ScopeProblem::Character),
    ] {
        let err = Scope::parse(text).unwrap_err();
        assert_eq!(err.problem(), problem, "{text}");
        assert_eq!(err.token(), text);
        assert!(err.to_string().contains(&format!("`{text}`")), "{err}");
    }
}

#[test]
fn long_tokens_are_cut_in_errors() {
    let token = format!("patient/{}.rs", "a".repeat(500));
    let err = Scope::parse(&token).unwrap_err();
    assert!(err.token().len() <= 103);
}

#[test]
fn permits_follows_compartment_type_permissions_and_params() {
    let set =
        ScopeSet::parse("patient/Observation.rs?category=lab user/Patient.r system/*.cud").unwrap();
    let lab = Access::new(Compartment::Patient, "Observation", Permissions::READ)
        .with_param("category", "lab");
    assert!(set.permits(&lab));
    assert!(!set.permits(&Access::new(
        Compartment::Patient,
        "Observation",
        Permissions::READ
    )));
    assert!(
        !set.permits(
            &Access::new(Compartment::User, "Observation", Permissions::READ)
                .with_param("category", "lab")
        )
    );
    assert!(
        !set.permits(
            &Access::new(Compartment::Patient, "Observation", Permissions::UPDATE)
                .with_param("category", "lab")
        )
    );
    assert!(set.permits(&Access::new(
        Compartment::User,
        "Patient",
        Permissions::READ
    )));
    assert!(!set.permits(&Access::new(
        Compartment::User,
        "Patient",
        Permissions::SEARCH
    )));
    assert!(set.permits(&Access::new(
        Compartment::System,
        "Anything",
        Permissions::CREATE
    )));
    assert!(!set.permits(&Access::new(
        Compartment::System,
        "Anything",
        Permissions::READ
    )));
    let v1 = ScopeSet::parse("patient/*.read").unwrap();
    assert!(v1.permits(&Access::new(
        Compartment::Patient,
        "Condition",
        Permissions::SEARCH
    )));
}

#[test]
fn covers_and_compare() {
    let requested = ScopeSet::parse("launch patient/*.rs openid fhirUser").unwrap();
    let granted = ScopeSet::parse("launch patient/Observation.r patient/*.read openid").unwrap();
    assert!(requested.covers_all(&granted));
    let comparison = requested.compare(&granted);
    // patient/*.read grants the same as patient/*.rs, so only fhirUser is missing.
    assert_eq!(comparison.not_granted(), &[Scope::FhirUser]);
    assert!(comparison.beyond_request().is_empty());

    let more = ScopeSet::parse("patient/*.cruds").unwrap();
    let comparison = requested.compare(&more);
    assert_eq!(comparison.beyond_request().len(), 1);
    assert!(!requested.covers_all(&more));
}

#[test]
fn lenient_parsing_keeps_what_it_can() {
    let (set, errors) = ScopeSet::parse_lenient("patient/Observation.rx  openid\tvendor:scope");
    assert_eq!(
        set.to_string(),
        "patient/Observation.rx openid vendor:scope"
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].problem(), ScopeProblem::PermissionLetter);
}

#[test]
fn a_huge_scope_string_parses_in_linear_time() {
    // A hostile server can send megabytes of scopes; de-duplication must not be quadratic
    // (100 000 distinct tokens would take minutes with a linear search per insert).
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str("vendor:scope");
        text.push_str(&i.to_string());
        text.push_str(" openid ");
    }
    let (set, errors) = ScopeSet::parse_lenient(&text);
    assert_eq!(set.len(), 100_001);
    assert!(errors.is_empty());
    assert!(set.contains(&Scope::OpenId));
}

#[test]
fn duplicates_are_dropped() {
    let set = ScopeSet::parse("openid openid launch").unwrap();
    assert_eq!(set.to_string(), "openid launch");
}
