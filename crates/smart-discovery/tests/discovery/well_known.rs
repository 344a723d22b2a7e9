//! The `.well-known/smart-configuration` request, the spec's example, and the parsing rules.

use std::error::Error as _;

use http::{Method, StatusCode};
use serde_json::{Value, json};
use smart_core::{FhirBaseUrl, TransportPolicy};
use smart_discovery::{
    AssociatedEndpoint, Capability, DiscoveryError, Finding, WELL_KNOWN_PATH, request,
    well_known_url,
};

use crate::{BASE, SPEC_EXAMPLE, base, configuration, ok, respond, spec_example};

#[test]
fn the_request_appends_to_the_base_path() {
    for (base, expected) in [
        (
            "https://ehr.example.com/r4",
            "https://ehr.example.com/r4/.well-known/smart-configuration",
        ),
        (
            "https://ehr.example.com/r4/",
            "https://ehr.example.com/r4/.well-known/smart-configuration",
        ),
        (
            "https://fhir.ehr.example.com",
            "https://fhir.ehr.example.com/.well-known/smart-configuration",
        ),
        (
            "https://www.ehr.example.com/apis/fhir",
            "https://www.ehr.example.com/apis/fhir/.well-known/smart-configuration",
        ),
        (
            "https://ehr.example.com/r4?tenant=a#x",
            "https://ehr.example.com/r4/.well-known/smart-configuration",
        ),
    ] {
        let base = FhirBaseUrl::parse(base).unwrap();
        assert_eq!(well_known_url(&base).as_str(), expected);
        let request = request(&base).unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().to_string(), expected);
        assert_eq!(request.headers()["accept"], "application/json");
        assert_eq!(request.headers().len(), 1);
        assert!(request.body().is_empty());
    }
    assert_eq!(WELL_KNOWN_PATH, ".well-known/smart-configuration");
}

#[test]
fn a_base_too_long_for_http_is_an_error_not_a_panic() {
    let base =
        FhirBaseUrl::parse(format!("https://ehr.example.com/{}", "a".repeat(70_000))).unwrap();
    let error = request(&base).unwrap_err();
    assert!(
        matches!(error, DiscoveryError::RequestUrl { .. }),
        "{error:?}"
    );
    assert!(error.to_string().len() < 1_000, "the URL is shortened");
    assert!(error.source().is_some());
}

#[test]
fn the_spec_example_parses_completely() {
    let configuration =
        smart_discovery::parse(&base(), &ok(SPEC_EXAMPLE), TransportPolicy::STRICT).unwrap();
    assert_eq!(
        configuration.issuer().unwrap().as_str(),
        "https://ehr.example.com"
    );
    assert_eq!(
        configuration.jwks_uri().unwrap().as_str(),
        "https://ehr.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        configuration.authorization_endpoint().unwrap().as_str(),
        "https://ehr.example.com/auth/authorize"
    );
    assert_eq!(
        configuration.token_endpoint().unwrap().as_str(),
        "https://ehr.example.com/auth/token"
    );
    assert_eq!(
        configuration.token_endpoint_auth_methods_supported(),
        Some(
            &[
                "client_secret_basic".to_owned(),
                "private_key_jwt".to_owned()
            ][..]
        )
    );
    assert_eq!(
        configuration.grant_types_supported(),
        Some(
            &[
                "authorization_code".to_owned(),
                "client_credentials".to_owned()
            ][..]
        )
    );
    assert_eq!(
        configuration.registration_endpoint().unwrap().as_str(),
        "https://ehr.example.com/auth/register"
    );
    assert_eq!(configuration.scopes_supported().unwrap().len(), 7);
    assert_eq!(configuration.scopes_supported().unwrap()[4], "patient/*.rs");
    assert_eq!(
        configuration.response_types_supported(),
        Some(&["code".to_owned()][..])
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
    assert_eq!(
        configuration.code_challenge_methods_supported(),
        Some(&["S256".to_owned()][..])
    );
    assert_eq!(
        configuration.capabilities().unwrap(),
        &[
            Capability::LaunchEhr,
            Capability::PermissionPatient,
            Capability::PermissionV2,
            Capability::ClientPublic,
            Capability::ClientConfidentialSymmetric,
            Capability::ContextEhrPatient,
            Capability::SsoOpenidConnect,
        ]
    );
    let associated: &[AssociatedEndpoint] = configuration.associated_endpoints().unwrap();
    assert_eq!(associated.len(), 1);
    assert_eq!(associated[0].url().as_str(), "https://state.example.com");
    assert_eq!(associated[0].capabilities(), &[Capability::SmartAppState]);
    assert!(associated[0].has_capability("smart-app-state"));
    assert!(!associated[0].has_capability(Capability::LaunchEhr));
    assert!(configuration.user_access_brand_bundle().is_none());
    assert!(configuration.user_access_brand_identifier().is_none());
    assert!(
        configuration
            .token_endpoint_auth_signing_alg_values_supported()
            .is_none()
    );
    assert!(configuration.extensions().is_empty());
    assert_eq!(configuration.findings(), &[]);
}

#[test]
fn serialising_gives_the_document_back() {
    let configuration = configuration(&Value::Object(spec_example()));
    let value = serde_json::to_value(&configuration).unwrap();
    assert_eq!(value, Value::Object(spec_example()));

    let mut document = spec_example();
    document.insert("x-vendor".into(), json!({"tier": 2}));
    let value = serde_json::to_value(configuration_of(document.clone())).unwrap();
    assert_eq!(value, Value::Object(document));
}

pub(crate) fn configuration_of(
    document: serde_json::Map<String, Value>,
) -> smart_discovery::SmartConfiguration {
    configuration(&Value::Object(document))
}

#[test]
fn any_content_type_is_accepted() {
    for content_type in [
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("text/plain"),
        Some("application/octet-stream"),
        Some("text/html"),
        None,
    ] {
        let response = respond(StatusCode::OK, content_type, SPEC_EXAMPLE);
        let configuration =
            smart_discovery::parse(&base(), &response, TransportPolicy::STRICT).unwrap();
        assert!(configuration.token_endpoint().is_some(), "{content_type:?}");
    }
    // Any 2xx status will do.
    let response = respond(
        StatusCode::NON_AUTHORITATIVE_INFORMATION,
        None,
        SPEC_EXAMPLE,
    );
    assert!(smart_discovery::parse(&base(), &response, TransportPolicy::STRICT).is_ok());
}

#[test]
fn a_non_2xx_status_is_an_error_even_with_a_valid_document() {
    for status in [
        StatusCode::MOVED_PERMANENTLY,
        StatusCode::UNAUTHORIZED,
        StatusCode::NOT_FOUND,
        StatusCode::INTERNAL_SERVER_ERROR,
    ] {
        let response = respond(status, Some("application/json"), SPEC_EXAMPLE);
        let error =
            smart_discovery::parse(&base(), &response, TransportPolicy::STRICT).unwrap_err();
        assert_eq!(
            error,
            DiscoveryError::Status {
                url: format!("{BASE}/.well-known/smart-configuration"),
                status,
            }
        );
        let text = error.to_string();
        assert!(
            text.contains(&format!("{BASE}/.well-known/smart-configuration")),
            "{text}"
        );
        assert!(text.contains(&status.as_u16().to_string()), "{text}");
    }
}

#[test]
fn unknown_capabilities_are_kept() {
    let mut document = spec_example();
    document.insert(
        "capabilities".into(),
        json!([
            "launch-ehr",
            "http://sdo.example.org/example-new-capability",
            "example-new-capability"
        ]),
    );
    let configuration = configuration_of(document);
    let capabilities = configuration.capabilities().unwrap();
    assert_eq!(capabilities.len(), 3);
    assert_eq!(capabilities[0], Capability::LaunchEhr);
    assert_eq!(
        capabilities[1],
        Capability::Unknown("http://sdo.example.org/example-new-capability".into())
    );
    assert!(configuration.has_capability("example-new-capability"));
    assert!(configuration.findings().is_empty());
    let value = serde_json::to_value(&configuration).unwrap();
    assert_eq!(
        value["capabilities"][1],
        "http://sdo.example.org/example-new-capability"
    );
}

#[test]
fn smart_v1_context_capabilities_are_read_as_their_2_x_names_with_a_finding() {
    let mut document = spec_example();
    document.insert(
        "capabilities".into(),
        json!([
            "launch-ehr",
            7,
            "context-banner",
            "context-style",
            "context-passthrough-banner"
        ]),
    );
    let configuration = configuration_of(document);
    assert!(configuration.has_capability(Capability::ContextPassthroughBanner));
    assert!(configuration.has_capability(Capability::ContextPassthroughStyle));
    assert!(configuration.has_capability("context-passthrough-style"));
    assert!(!configuration.has_capability("context-banner"));
    assert_eq!(
        configuration.findings(),
        [
            Finding::WrongType {
                field: "capabilities[1]".into(),
                expected: "a string",
                found: "number",
            },
            // The index is the item's place in the document, past the skipped number.
            Finding::LegacyCapability {
                field: "capabilities[2]".into(),
                written: "context-banner",
                read_as: Capability::ContextPassthroughBanner,
            },
            Finding::LegacyCapability {
                field: "capabilities[3]".into(),
                written: "context-style",
                read_as: Capability::ContextPassthroughStyle,
            },
        ]
    );
    assert!(
        configuration.findings()[1]
            .to_string()
            .contains("context-passthrough-banner")
    );
    let value = serde_json::to_value(&configuration).unwrap();
    assert_eq!(value["capabilities"][1], "context-passthrough-banner");
}

#[test]
fn wrong_types_are_findings_not_errors() {
    let mut document = spec_example();
    document.insert("scopes_supported".into(), json!("openid profile launch"));
    document.insert("registration_endpoint".into(), json!(42));
    document.insert("revocation_endpoint".into(), Value::Null);
    document.insert("response_types_supported".into(), json!({"code": true}));
    document.insert(
        "capabilities".into(),
        json!(["launch-ehr", 7, null, "client-public"]),
    );
    document.insert("management_endpoint".into(), json!("  "));
    document.insert(
        "associated_endpoints".into(),
        json!("https://state.example.com"),
    );
    let configuration = configuration_of(document);

    assert!(configuration.scopes_supported().is_none());
    assert!(configuration.registration_endpoint().is_none());
    assert!(configuration.revocation_endpoint().is_none());
    assert!(configuration.response_types_supported().is_none());
    assert!(configuration.management_endpoint().is_none());
    assert!(configuration.associated_endpoints().is_none());
    assert_eq!(
        configuration.capabilities().unwrap(),
        &[Capability::LaunchEhr, Capability::ClientPublic]
    );
    assert!(
        configuration.extensions().is_empty(),
        "ignored fields do not become extensions"
    );

    let findings = configuration.findings();
    let expect = |field: &str, expected: &str, found: &str| {
        assert!(
            findings.iter().any(|finding| finding
                == &Finding::WrongType {
                    field: field.into(),
                    expected: match expected {
                        "string" => "a string",
                        "strings" => "an array of strings",
                        "objects" => "an array of objects",
                        _ => unreachable!(),
                    },
                    found: match found {
                        "string" => "string",
                        "number" => "number",
                        "null" => "null",
                        "object" => "object",
                        _ => unreachable!(),
                    },
                }),
            "no WrongType finding for {field}: {findings:#?}"
        );
    };
    expect("scopes_supported", "strings", "string");
    expect("registration_endpoint", "string", "number");
    expect("revocation_endpoint", "string", "null");
    expect("response_types_supported", "strings", "object");
    expect("capabilities[1]", "string", "number");
    expect("capabilities[2]", "string", "null");
    expect("associated_endpoints", "objects", "string");
    assert!(findings.contains(&Finding::Empty {
        field: "management_endpoint".into()
    }));
    assert_eq!(findings.len(), 8, "{findings:#?}");
    assert_eq!(
        findings[0].to_string(),
        "ignored 'registration_endpoint': expected a string, found number"
    );
}

#[test]
fn missing_and_empty_differ() {
    let mut document = spec_example();
    document.insert("grant_types_supported".into(), json!([]));
    document.remove("scopes_supported");
    let configuration = configuration_of(document);
    assert_eq!(configuration.grant_types_supported(), Some(&[][..]));
    assert_eq!(configuration.scopes_supported(), None);
}

#[test]
fn extension_fields_are_kept() {
    let mut document = spec_example();
    document.insert(
        "smart_app_state_endpoint".into(),
        json!("https://state.example.com"),
    );
    document.insert(
        "x-vendor-feature".into(),
        json!({"enabled": true, "levels": [1, 2]}),
    );
    let configuration = configuration_of(document);
    assert_eq!(configuration.extensions().len(), 2);
    assert_eq!(
        configuration.extension("smart_app_state_endpoint"),
        Some(&json!("https://state.example.com"))
    );
    assert_eq!(
        configuration.extension("x-vendor-feature").unwrap()["levels"][1],
        2
    );
    assert!(configuration.findings().is_empty());
}

#[test]
fn associated_endpoints_are_read_leniently() {
    let mut document = spec_example();
    document.insert(
        "associated_endpoints".into(),
        json!([
            "https://not-an-object.example.com",
            {"capabilities": ["smart-app-state"]},
            {"url": "https://a.example.com"},
            {"url": "https://b.example.com", "capabilities": ["smart-app-state", 3, "x-other"]},
        ]),
    );
    let configuration = configuration_of(document);
    let associated = configuration.associated_endpoints().unwrap();
    assert_eq!(associated.len(), 2);
    assert_eq!(associated[0].url().as_str(), "https://a.example.com");
    assert!(associated[0].capabilities().is_empty());
    assert_eq!(
        associated[1].capabilities(),
        &[
            Capability::SmartAppState,
            Capability::Unknown("x-other".into())
        ]
    );
    assert_eq!(
        configuration.findings(),
        &[
            Finding::WrongType {
                field: "associated_endpoints[0]".into(),
                expected: "an object",
                found: "string",
            },
            Finding::Missing {
                field: "associated_endpoints[1].url".into()
            },
            Finding::Missing {
                field: "associated_endpoints[2].capabilities".into()
            },
            Finding::WrongType {
                field: "associated_endpoints[3].capabilities[1]".into(),
                expected: "a string",
                found: "number",
            },
        ]
    );
}

#[test]
fn brand_fields() {
    let mut document = spec_example();
    document.insert(
        "user_access_brand_bundle".into(),
        json!("https://ehr.example.com/brands.json"),
    );
    document.insert(
        "user_access_brand_identifier".into(),
        json!({"system": "urn:ietf:rfc:3986", "value": "https://ehr.example.com"}),
    );
    let configuration = configuration_of(document.clone());
    assert_eq!(
        configuration.user_access_brand_bundle().unwrap().as_str(),
        "https://ehr.example.com/brands.json"
    );
    let identifier = configuration.user_access_brand_identifier().unwrap();
    assert_eq!(identifier.system(), Some("urn:ietf:rfc:3986"));
    assert_eq!(identifier.value(), "https://ehr.example.com");
    assert!(configuration.findings().is_empty());
    assert_eq!(
        serde_json::to_value(&configuration).unwrap()["user_access_brand_identifier"],
        document["user_access_brand_identifier"]
    );

    // A plain string is read as the value, with a finding.
    document.insert("user_access_brand_identifier".into(), json!("brand-1"));
    let configuration = configuration_of(document.clone());
    let identifier = configuration.user_access_brand_identifier().unwrap();
    assert_eq!((identifier.system(), identifier.value()), (None, "brand-1"));
    assert!(matches!(
        configuration.findings(),
        [Finding::ReadLeniently { field, .. }] if field == "user_access_brand_identifier"
    ));

    // An Identifier without a value is ignored.
    document.insert(
        "user_access_brand_identifier".into(),
        json!({"system": "urn:x"}),
    );
    let configuration = configuration_of(document.clone());
    assert!(configuration.user_access_brand_identifier().is_none());
    assert_eq!(
        configuration.findings(),
        &[Finding::Missing {
            field: "user_access_brand_identifier.value".into()
        }]
    );

    document.insert("user_access_brand_identifier".into(), json!(17));
    let configuration = configuration_of(document);
    assert!(configuration.user_access_brand_identifier().is_none());
    assert_eq!(configuration.findings().len(), 1);
}
