//! Legacy discovery from the CapabilityStatement `oauth-uris` extension.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use smart_core::{AuthorizeUrl, EndpointUrl, FhirBaseUrl, TokenUrl, TransportPolicy, UrlProblem};
use smart_discovery::capability_statement::{self, OAUTH_URIS, OAuthUris};
use smart_discovery::{ComplianceFinding, DiscoveryError, Finding, SmartConfiguration};

use crate::{BASE, CAPABILITY_STATEMENT, base, ok, respond};

const NAMES: [&str; 6] = [
    "authorize",
    "token",
    "register",
    "manage",
    "introspect",
    "revoke",
];

fn statement() -> Value {
    serde_json::from_str(CAPABILITY_STATEMENT).expect("the fixture is JSON")
}

/// The `oauth-uris` sub-extensions of `statement`.
fn entries(statement: &mut Value) -> &mut Vec<Value> {
    statement["rest"][0]["security"]["extension"][0]["extension"]
        .as_array_mut()
        .expect("the fixture has one oauth-uris extension")
}

fn parse(statement: &Value) -> Result<OAuthUris, DiscoveryError> {
    capability_statement::parse(&base(), &ok(statement.to_string()), TransportPolicy::STRICT)
}

fn get<'a>(uris: &'a OAuthUris, name: &str) -> Option<&'a str> {
    match name {
        "authorize" => uris.authorize().map(AuthorizeUrl::as_str),
        "token" => uris.token().map(TokenUrl::as_str),
        "register" => uris.register().map(EndpointUrl::as_str),
        "manage" => uris.manage().map(EndpointUrl::as_str),
        "introspect" => uris.introspect().map(EndpointUrl::as_str),
        "revoke" => uris.revoke().map(EndpointUrl::as_str),
        _ => unreachable!(),
    }
}

#[test]
fn the_request_asks_for_fhir_json_at_metadata() {
    for base in [
        "https://ehr.example.com/fhir",
        "https://ehr.example.com/fhir/",
    ] {
        let base = FhirBaseUrl::parse(base).unwrap();
        let request = capability_statement::request(&base).unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri(), "https://ehr.example.com/fhir/metadata");
        assert_eq!(
            request.headers()["accept"],
            "application/fhir+json, application/json"
        );
        assert!(request.body().is_empty());
    }
}

#[test]
fn all_six_endpoints_are_read() {
    let uris = parse(&statement()).unwrap();
    assert_eq!(
        get(&uris, "authorize"),
        Some("https://ehr.example.com/auth/authorize")
    );
    assert_eq!(
        get(&uris, "token"),
        Some("https://ehr.example.com/auth/token")
    );
    assert_eq!(
        get(&uris, "register"),
        Some("https://ehr.example.com/auth/register")
    );
    assert_eq!(
        get(&uris, "manage"),
        Some("https://ehr.example.com/user/manage")
    );
    assert_eq!(
        get(&uris, "introspect"),
        Some("https://ehr.example.com/user/introspect")
    );
    assert_eq!(
        get(&uris, "revoke"),
        Some("https://ehr.example.com/user/revoke")
    );
    assert!(uris.findings().is_empty());
}

#[test]
fn each_endpoint_may_be_missing() {
    for missing in NAMES {
        let mut statement = statement();
        entries(&mut statement).retain(|entry| entry["url"] != missing);
        let uris = parse(&statement).unwrap();
        for name in NAMES {
            assert_eq!(
                get(&uris, name).is_some(),
                name != missing,
                "{missing} removed, {name}"
            );
        }
    }
}

#[test]
fn each_endpoint_may_be_the_only_one() {
    for only in NAMES {
        let mut statement = statement();
        entries(&mut statement).retain(|entry| entry["url"] == only);
        let uris = parse(&statement).unwrap();
        for name in NAMES {
            assert_eq!(
                get(&uris, name).is_some(),
                name == only,
                "only {only}, {name}"
            );
        }
    }
}

#[test]
fn no_extension_means_no_smart_endpoints() {
    let expected = DiscoveryError::NoSmartEndpoints {
        url: format!("{BASE}/metadata"),
    };

    let mut without = statement();
    without["rest"][0]["security"]
        .as_object_mut()
        .unwrap()
        .remove("extension");
    assert_eq!(parse(&without).unwrap_err(), expected);

    let mut empty = statement();
    entries(&mut empty).clear();
    assert_eq!(parse(&empty).unwrap_err(), expected);

    let mut other_extension = statement();
    other_extension["rest"][0]["security"]["extension"][0]["url"] =
        json!("http://example.org/other");
    assert_eq!(parse(&other_extension).unwrap_err(), expected);

    let mut unknown_names = statement();
    for entry in entries(&mut unknown_names) {
        entry["url"] = json!("something-else");
    }
    assert_eq!(parse(&unknown_names).unwrap_err(), expected);

    assert_eq!(
        parse(&json!({"resourceType": "CapabilityStatement"})).unwrap_err(),
        expected
    );
    assert_eq!(parse(&json!({"rest": "nope"})).unwrap_err(), expected);
    assert_eq!(
        parse(&json!({"resourceType": "OperationOutcome", "issue": []})).unwrap_err(),
        expected
    );

    let text = expected.to_string();
    assert!(text.contains("advertises no SMART endpoints"), "{text}");
    assert!(text.contains(&format!("{BASE}/metadata")), "{text}");
}

#[test]
fn the_extension_may_sit_in_a_later_rest_entry() {
    let mut statement = statement();
    let rest = statement["rest"][0].clone();
    statement["rest"] =
        json!([{"mode": "client"}, {"mode": "server", "security": {"cors": true}}, rest]);
    let uris = parse(&statement).unwrap();
    assert!(uris.token().is_some());
}

#[test]
fn the_https_rule_applies() {
    for (name, field) in [
        ("authorize", "oauth-uris authorize"),
        ("token", "oauth-uris token"),
        ("register", "oauth-uris register"),
        ("introspect", "oauth-uris introspect"),
        ("revoke", "oauth-uris revoke"),
    ] {
        let mut statement = statement();
        for entry in entries(&mut statement) {
            if entry["url"] == name {
                entry["valueUri"] = json!("http://ehr.example.com/x");
            }
        }
        match parse(&statement).unwrap_err() {
            DiscoveryError::UnusableEndpoint {
                field: refused,
                source,
                ..
            } => {
                assert_eq!(refused, field);
                assert_eq!(source.problem(), &UrlProblem::InsecureHttp);
            }
            other => panic!("{name}: {other:?}"),
        }
    }

    // `manage` is a link for people, not a place for credentials: dropped with a finding.
    let mut statement = statement();
    for entry in entries(&mut statement) {
        if entry["url"] == "manage" {
            entry["valueUri"] = json!("http://ehr.example.com/manage");
        }
    }
    let uris = parse(&statement).unwrap();
    assert!(uris.manage().is_none());
    assert!(matches!(
        uris.findings(),
        [Finding::DroppedUrl { field, problem: UrlProblem::InsecureHttp, .. }] if field == "oauth-uris manage"
    ));
}

#[test]
fn loopback_http_needs_the_opt_in() {
    let base = FhirBaseUrl::parse("http://localhost:8080/fhir").unwrap();
    let mut statement = statement();
    for entry in entries(&mut statement) {
        let path = entry["valueUri"]
            .as_str()
            .unwrap()
            .replace("https://ehr.example.com", "http://localhost:8080");
        entry["valueUri"] = json!(path);
    }
    let response = ok(statement.to_string());
    assert!(matches!(
        capability_statement::parse(&base, &response, TransportPolicy::STRICT),
        Err(DiscoveryError::UnusableEndpoint { .. })
    ));
    let uris =
        capability_statement::parse(&base, &response, TransportPolicy::ALLOW_INSECURE_LOCALHOST)
            .unwrap();
    assert_eq!(
        uris.token().unwrap().as_str(),
        "http://localhost:8080/auth/token"
    );
}

#[test]
fn relative_endpoints_are_resolved() {
    let mut statement = statement();
    for entry in entries(&mut statement) {
        if entry["url"] == "token" {
            entry["valueUri"] = json!("auth/token");
        }
    }
    let uris = parse(&statement).unwrap();
    assert_eq!(
        uris.token().unwrap().as_str(),
        "https://ehr.example.com/fhir/auth/token"
    );
    assert_eq!(
        uris.findings(),
        &[Finding::ResolvedRelativeUrl {
            field: "oauth-uris token".into(),
            reference: "auth/token".into(),
            resolved: "https://ehr.example.com/fhir/auth/token".into(),
        }]
    );
}

#[test]
fn odd_shapes_are_findings() {
    let mut statement = statement();
    let entries = entries(&mut statement);
    entries[0] = json!({"url": "authorize", "valueUrl": "https://ehr.example.com/auth/authorize"});
    entries[1] = json!({"url": "token"});
    entries[2] = json!({"url": "register", "valueUri": 5});
    entries.push(json!({"url": "manage", "valueUri": "https://other.example.com/manage"}));
    let uris = parse(&statement).unwrap();
    assert_eq!(
        uris.authorize().unwrap().as_str(),
        "https://ehr.example.com/auth/authorize"
    );
    assert!(uris.token().is_none());
    assert!(uris.register().is_none());
    assert_eq!(
        uris.manage().unwrap().as_str(),
        "https://ehr.example.com/user/manage"
    );
    assert_eq!(
        uris.findings(),
        &[
            Finding::ReadLeniently {
                field: "oauth-uris authorize".into(),
                expected: "valueUri",
                found: "valueUrl",
            },
            Finding::Missing {
                field: "oauth-uris token valueUri".into()
            },
            Finding::WrongType {
                field: "oauth-uris register".into(),
                expected: "a string",
                found: "number",
            },
            Finding::Repeated {
                field: "oauth-uris manage".into()
            },
        ]
    );
}

#[test]
fn the_fallback_configuration_has_endpoints_only() {
    let uris = parse(&statement()).unwrap();
    let configuration: SmartConfiguration = uris.clone().into();
    assert_eq!(configuration, uris.into_smart_configuration());
    assert_eq!(
        configuration.authorization_endpoint().unwrap().as_str(),
        "https://ehr.example.com/auth/authorize"
    );
    assert_eq!(
        configuration.token_endpoint().unwrap().as_str(),
        "https://ehr.example.com/auth/token"
    );
    assert_eq!(
        configuration.registration_endpoint().unwrap().as_str(),
        "https://ehr.example.com/auth/register"
    );
    assert_eq!(
        configuration.management_endpoint().unwrap().as_str(),
        "https://ehr.example.com/user/manage"
    );
    assert_eq!(
        configuration.introspection_endpoint().unwrap().as_str(),
        "https://ehr.example.com/user/introspect"
    );
    assert_eq!(
        configuration.revocation_endpoint().unwrap().as_str(),
        "https://ehr.example.com/user/revoke"
    );
    assert!(configuration.capabilities().is_none());
    assert!(configuration.issuer().is_none());
    assert_eq!(
        configuration.findings(),
        &[Finding::FromCapabilityStatement]
    );
    assert!(!configuration.supports_ehr_launch());
    assert!(!configuration.supports_public_auth());
    assert!(configuration.supports_dynamic_registration());

    let report = configuration.compliance();
    assert!(!report.is_compliant());
    assert!(report.findings().contains(&ComplianceFinding::Document(
        Finding::FromCapabilityStatement
    )));
    assert!(
        report
            .findings()
            .contains(&ComplianceFinding::MissingRequired {
                field: "capabilities"
            })
    );
    assert!(
        Finding::FromCapabilityStatement
            .to_string()
            .contains("deprecated")
    );

    let value = serde_json::to_value(&configuration).unwrap();
    assert_eq!(
        value["token_endpoint"],
        "https://ehr.example.com/auth/token"
    );
    assert!(value.get("capabilities").is_none());
}

#[test]
fn errors_name_the_metadata_url() {
    let response = respond(
        StatusCode::NOT_FOUND,
        Some("text/html"),
        "<html>nope</html>",
    );
    assert_eq!(
        capability_statement::parse(&base(), &response, TransportPolicy::STRICT).unwrap_err(),
        DiscoveryError::Status {
            url: format!("{BASE}/metadata"),
            status: StatusCode::NOT_FOUND,
        }
    );
    let response = ok("[]");
    assert!(matches!(
        capability_statement::parse(&base(), &response, TransportPolicy::STRICT).unwrap_err(),
        DiscoveryError::Body { url, .. } if url == format!("{BASE}/metadata")
    ));
    assert_eq!(
        OAUTH_URIS,
        "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
    );
}
