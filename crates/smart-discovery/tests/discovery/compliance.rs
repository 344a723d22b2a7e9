//! The compliance report.

use serde_json::json;
use smart_discovery::{Capability, ComplianceFinding, Finding};

use crate::{capture_log, configuration, spec_example};

#[test]
fn the_spec_example_complies() {
    let configuration = configuration(&serde_json::Value::Object(spec_example()));
    let (report, log) = capture_log(|| configuration.compliance());
    assert!(report.is_compliant());
    assert!(report.findings().is_empty());
    assert!(
        log.iter().all(|(level, _)| *level > log::Level::Warn),
        "{log:?}"
    );
    assert_eq!(
        report.to_string(),
        "the SMART configuration complies with SMART App Launch 2.2"
    );
}

#[test]
fn an_empty_document_misses_every_required_field() {
    let configuration = configuration(&json!({}));
    let (report, log) = capture_log(|| configuration.compliance());
    assert!(!report.is_compliant());
    assert_eq!(
        report.findings(),
        &[
            ComplianceFinding::MissingRequired {
                field: "grant_types_supported"
            },
            ComplianceFinding::MissingRequired {
                field: "token_endpoint"
            },
            ComplianceFinding::MissingRequired {
                field: "capabilities"
            },
            ComplianceFinding::MissingRequired {
                field: "code_challenge_methods_supported"
            },
        ]
    );
    let warnings: Vec<&str> = log
        .iter()
        .filter(|(level, _)| *level == log::Level::Warn)
        .map(|(_, line)| line.as_str())
        .collect();
    assert_eq!(
        warnings,
        [
            "SMART metadata non-compliance: required field 'grant_types_supported' is missing",
            "SMART metadata non-compliance: required field 'token_endpoint' is missing",
            "SMART metadata non-compliance: required field 'capabilities' is missing",
            "SMART metadata non-compliance: required field 'code_challenge_methods_supported' is missing",
        ]
    );
    assert_eq!(
        report.to_string(),
        "the SMART configuration has 4 compliance findings:\n\
         - required field 'grant_types_supported' is missing\n\
         - required field 'token_endpoint' is missing\n\
         - required field 'capabilities' is missing\n\
         - required field 'code_challenge_methods_supported' is missing"
    );
}

#[test]
fn empty_arrays_count_as_present() {
    let configuration = configuration(&json!({
        "grant_types_supported": [],
        "token_endpoint": "https://ehr.example.com/token",
        "capabilities": [],
        "code_challenge_methods_supported": ["S256"],
    }));
    assert!(configuration.compliance().is_compliant());
}

#[test]
fn conditional_fields_follow_the_capabilities() {
    let mut document = spec_example();
    for field in ["issuer", "jwks_uri", "authorization_endpoint"] {
        document.remove(field);
    }
    document.insert(
        "capabilities".into(),
        json!(["launch-standalone", "launch-ehr", "sso-openid-connect"]),
    );
    let report = configuration(&serde_json::Value::Object(document.clone())).compliance();
    assert_eq!(
        report.findings(),
        &[
            ComplianceFinding::MissingConditional {
                field: "issuer",
                capability: Capability::SsoOpenidConnect,
            },
            ComplianceFinding::MissingConditional {
                field: "jwks_uri",
                capability: Capability::SsoOpenidConnect,
            },
            ComplianceFinding::MissingConditional {
                field: "authorization_endpoint",
                capability: Capability::LaunchEhr,
            },
        ]
    );
    assert_eq!(
        report.findings()[0].to_string(),
        "required field 'issuer' is missing (capabilities include 'sso-openid-connect', which requires it)"
    );

    // Without those capabilities the fields are optional.
    document.insert(
        "capabilities".into(),
        json!(["client-confidential-asymmetric"]),
    );
    let report = configuration(&serde_json::Value::Object(document)).compliance();
    assert!(report.is_compliant(), "{report}");
}

#[test]
fn pkce_methods() {
    let mut document = spec_example();
    document.insert("code_challenge_methods_supported".into(), json!(["plain"]));
    let (report, log) =
        capture_log(|| configuration(&serde_json::Value::Object(document.clone())).compliance());
    assert_eq!(
        report.findings(),
        &[
            ComplianceFinding::S256Missing,
            ComplianceFinding::PlainPresent
        ]
    );
    assert_eq!(
        report.findings()[0].to_string(),
        "'S256' is missing from code_challenge_methods_supported (SMART App Launch 2.2 requires S256)"
    );
    assert_eq!(
        report.findings()[1].to_string(),
        "'plain' is present in code_challenge_methods_supported (SMART App Launch 2.2 prohibits plain)"
    );
    assert_eq!(
        log.iter()
            .filter(|(level, _)| *level == log::Level::Warn)
            .count(),
        2
    );

    document.insert(
        "code_challenge_methods_supported".into(),
        json!(["S256", "plain"]),
    );
    let report = configuration(&serde_json::Value::Object(document.clone())).compliance();
    assert_eq!(report.findings(), &[ComplianceFinding::PlainPresent]);

    document.insert("code_challenge_methods_supported".into(), json!([]));
    let report = configuration(&serde_json::Value::Object(document)).compliance();
    assert_eq!(report.findings(), &[ComplianceFinding::S256Missing]);
}

#[test]
fn parse_findings_are_part_of_the_report() {
    let mut document = spec_example();
    document.insert("token_endpoint".into(), json!("auth/token"));
    document.insert("scopes_supported".into(), json!("openid"));
    let configuration = configuration(&serde_json::Value::Object(document));
    let (report, log) = capture_log(|| configuration.compliance());
    assert_eq!(report.findings().len(), 2);
    assert!(matches!(
        &report.findings()[0],
        ComplianceFinding::Document(Finding::ResolvedRelativeUrl { field, .. }) if field == "token_endpoint"
    ));
    assert!(matches!(
        &report.findings()[1],
        ComplianceFinding::Document(Finding::WrongType { field, .. }) if field == "scopes_supported"
    ));
    let warnings = log
        .iter()
        .filter(|(level, _)| *level == log::Level::Warn)
        .count();
    assert_eq!(warnings, 2);
    let collected: Vec<_> = report.into_iter().collect();
    assert_eq!(collected.len(), 2);
}

#[test]
fn asymmetric_without_rs384_or_es384_is_a_finding_naming_what_is_listed() {
    let mut document = spec_example();
    document.insert(
        "capabilities".into(),
        json!(["launch-standalone", "client-confidential-asymmetric"]),
    );
    document.insert(
        "token_endpoint_auth_signing_alg_values_supported".into(),
        json!(["RS256", "PS256\u{1b}[2J"]),
    );
    let config = configuration(&serde_json::Value::Object(document.clone()));
    assert!(config.has_capability(Capability::ClientConfidentialAsymmetric));
    let report = config.compliance();
    assert_eq!(
        report.findings(),
        &[ComplianceFinding::AsymmetricAlgorithmMissing {
            listed: vec!["RS256".to_owned(), "PS256 [2J".to_owned()]
        }]
    );
    assert_eq!(
        report.findings()[0].to_string(),
        "capabilities include 'client-confidential-asymmetric', but token_endpoint_auth_signing_alg_values_supported lists neither RS384 nor ES384 (it lists RS256, PS256 [2J); SMART requires servers to accept both"
    );
    assert!(!config.accepts_assertion_algorithm("ES384"));
    assert!(!config.accepts_assertion_algorithm("RS384"));

    // One of the two is enough for compliance; the other is then refused locally.
    document.insert(
        "token_endpoint_auth_signing_alg_values_supported".into(),
        json!(["RS256", "RS384"]),
    );
    let config = configuration(&serde_json::Value::Object(document.clone()));
    assert!(config.compliance().is_compliant());
    assert!(config.accepts_assertion_algorithm("RS384"));
    assert!(!config.accepts_assertion_algorithm("ES384"));

    // No list, or an empty one: both are assumed, no finding.
    for list in [json!([]), serde_json::Value::Null] {
        document.insert(
            "token_endpoint_auth_signing_alg_values_supported".into(),
            list,
        );
        let config = configuration(&serde_json::Value::Object(document.clone()));
        assert!(!config.compliance().iter().any(|finding| matches!(
            finding,
            ComplianceFinding::AsymmetricAlgorithmMissing { .. }
        )),);
        assert!(config.accepts_assertion_algorithm("ES384"));
    }

    // Without the capability the list is not SMART's business.
    document.insert(
        "token_endpoint_auth_signing_alg_values_supported".into(),
        json!(["RS256"]),
    );
    document.insert("capabilities".into(), json!(["launch-standalone"]));
    let config = configuration(&serde_json::Value::Object(document));
    assert!(!config.compliance().iter().any(|finding| matches!(
        finding,
        ComplianceFinding::AsymmetricAlgorithmMissing { .. }
    )),);
}
