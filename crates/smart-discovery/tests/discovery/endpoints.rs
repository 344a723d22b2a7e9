//! Endpoints in the discovery document: kept byte for byte, resolved against the base when
//! relative, and held to the HTTPS rule (loopback HTTP only with the opt-in).

use std::error::Error as _;

use serde_json::{Value, json};
use smart_core::{FhirBaseUrl, TransportPolicy, UrlProblem};
use smart_discovery::{DiscoveryError, Finding};

use crate::well_known::configuration_of;
use crate::{BASE, ok, parse_value, parse_value_with, spec_example};

#[test]
fn absolute_endpoints_are_kept_byte_for_byte() {
    let mut document = spec_example();
    document.insert(
        "token_endpoint".into(),
        json!("https://EHR.example.com:443/auth/./token"),
    );
    let configuration = configuration_of(document);
    let token = configuration.token_endpoint().unwrap();
    assert_eq!(token.as_str(), "https://EHR.example.com:443/auth/./token");
    assert_eq!(token.url().as_str(), "https://ehr.example.com/auth/token");
    assert!(configuration.findings().is_empty());
}

#[test]
fn relative_endpoints_are_resolved_against_the_base() {
    let base = FhirBaseUrl::parse("https://ehr.example.com/fhir/r4").unwrap();
    let document = json!({
        "authorization_endpoint": "auth/authorize",
        "token_endpoint": "/auth/token",
        "jwks_uri": "../keys.json",
        "management_endpoint": "//portal.example.com/manage",
        "associated_endpoints": [{"url": "state", "capabilities": ["smart-app-state"]}],
        "capabilities": ["launch-standalone"],
    });
    let configuration =
        smart_discovery::parse(&base, &ok(document.to_string()), TransportPolicy::STRICT).unwrap();
    assert_eq!(
        configuration.authorization_endpoint().unwrap().as_str(),
        "https://ehr.example.com/fhir/r4/auth/authorize"
    );
    assert_eq!(
        configuration.token_endpoint().unwrap().as_str(),
        "https://ehr.example.com/auth/token"
    );
    assert_eq!(
        configuration.jwks_uri().unwrap().as_str(),
        "https://ehr.example.com/fhir/keys.json"
    );
    assert_eq!(
        configuration.management_endpoint().unwrap().as_str(),
        "https://portal.example.com/manage"
    );
    assert_eq!(
        configuration.associated_endpoints().unwrap()[0]
            .url()
            .as_str(),
        "https://ehr.example.com/fhir/r4/state"
    );
    assert_eq!(
        configuration.findings(),
        &[
            Finding::ResolvedRelativeUrl {
                field: "jwks_uri".into(),
                reference: "../keys.json".into(),
                resolved: "https://ehr.example.com/fhir/keys.json".into(),
            },
            Finding::ResolvedRelativeUrl {
                field: "authorization_endpoint".into(),
                reference: "auth/authorize".into(),
                resolved: "https://ehr.example.com/fhir/r4/auth/authorize".into(),
            },
            Finding::ResolvedRelativeUrl {
                field: "token_endpoint".into(),
                reference: "/auth/token".into(),
                resolved: "https://ehr.example.com/auth/token".into(),
            },
            Finding::ResolvedRelativeUrl {
                field: "associated_endpoints[0].url".into(),
                reference: "state".into(),
                resolved: "https://ehr.example.com/fhir/r4/state".into(),
            },
            Finding::ResolvedRelativeUrl {
                field: "management_endpoint".into(),
                reference: "//portal.example.com/manage".into(),
                resolved: "https://portal.example.com/manage".into(),
            },
        ]
    );
    assert!(configuration.supports_standalone_launch());
    let text = configuration.findings()[2].to_string();
    assert!(
        text.contains("token_endpoint") && text.contains("/auth/token"),
        "{text}"
    );
}

#[test]
fn a_relative_endpoint_against_a_loopback_http_base_needs_the_opt_in() {
    let base = FhirBaseUrl::parse("http://localhost:8080/fhir").unwrap();
    let response = ok(json!({"token_endpoint": "auth/token"}).to_string());
    let error = smart_discovery::parse(&base, &response, TransportPolicy::STRICT).unwrap_err();
    assert!(matches!(
        error,
        DiscoveryError::UnusableEndpoint {
            field: "token_endpoint",
            ..
        }
    ));
    let configuration =
        smart_discovery::parse(&base, &response, TransportPolicy::ALLOW_INSECURE_LOCALHOST)
            .unwrap();
    assert_eq!(
        configuration.token_endpoint().unwrap().as_str(),
        "http://localhost:8080/fhir/auth/token"
    );
}

const SENSITIVE: [&str; 6] = [
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "jwks_uri",
];

#[test]
fn an_http_token_endpoint_is_refused() {
    let mut document = spec_example();
    document.insert(
        "token_endpoint".into(),
        json!("http://ehr.example.com/auth/token"),
    );
    let error = parse_value(&Value::Object(document)).unwrap_err();
    let DiscoveryError::UnusableEndpoint {
        url,
        field,
        endpoint,
        source,
    } = &error
    else {
        panic!("expected UnusableEndpoint, got {error:?}");
    };
    assert_eq!(url, &format!("{BASE}/.well-known/smart-configuration"));
    assert_eq!(*field, "token_endpoint");
    assert_eq!(endpoint, "http://ehr.example.com/auth/token");
    assert_eq!(source.problem(), &UrlProblem::InsecureHttp);
    let text = error.to_string();
    assert!(text.contains("token_endpoint"), "{text}");
    assert!(text.contains("http://ehr.example.com/auth/token"), "{text}");
    assert!(text.contains("https://"), "{text}");
    assert!(error.source().unwrap().to_string().contains("https://"));
}

#[test]
fn every_credential_endpoint_must_pass_the_policy() {
    for field in SENSITIVE {
        for (url, problem) in [
            ("http://ehr.example.com/x", UrlProblem::InsecureHttp),
            ("http://127.0.0.1/x", UrlProblem::InsecureLocalhost),
            ("ftp://ehr.example.com/x", UrlProblem::UnsupportedScheme),
        ] {
            let mut document = spec_example();
            document.insert(field.into(), json!(url));
            let error = parse_value(&Value::Object(document)).unwrap_err();
            match error {
                DiscoveryError::UnusableEndpoint {
                    field: refused,
                    source,
                    ..
                } => {
                    assert_eq!(refused, field);
                    assert_eq!(source.problem(), &problem, "{field} {url}");
                }
                other => panic!("{field} {url}: {other:?}"),
            }
        }
        // Not a URL at all.
        let mut document = spec_example();
        document.insert(field.into(), json!("https://exa mple.com/x"));
        let error = parse_value(&Value::Object(document)).unwrap_err();
        assert!(
            matches!(&error, DiscoveryError::UnusableEndpoint { source, .. }
                if matches!(source.problem(), UrlProblem::Malformed(_))),
            "{field}: {error:?}"
        );
    }
}

#[test]
fn loopback_http_is_allowed_only_with_the_opt_in() {
    let base = FhirBaseUrl::parse("http://localhost:8080/fhir").unwrap();
    let mut document = spec_example();
    for (field, url) in [
        ("token_endpoint", "http://localhost:8080/auth/token"),
        (
            "authorization_endpoint",
            "http://127.0.0.1:8080/auth/authorize",
        ),
        ("jwks_uri", "http://[::1]:8080/jwks"),
        ("registration_endpoint", "http://localhost:8080/register"),
        ("introspection_endpoint", "http://localhost:8080/introspect"),
        ("revocation_endpoint", "http://localhost:8080/revoke"),
    ] {
        document.insert(field.into(), json!(url));
    }
    let response = ok(Value::Object(document.clone()).to_string());
    let error = smart_discovery::parse(&base, &response, TransportPolicy::STRICT).unwrap_err();
    assert!(
        matches!(&error, DiscoveryError::UnusableEndpoint { source, .. }
            if source.problem() == &UrlProblem::InsecureLocalhost),
        "{error:?}"
    );
    assert!(
        error
            .source()
            .unwrap()
            .to_string()
            .contains("allow_insecure_localhost")
    );

    let configuration =
        smart_discovery::parse(&base, &response, TransportPolicy::ALLOW_INSECURE_LOCALHOST)
            .unwrap();
    assert_eq!(
        configuration.token_endpoint().unwrap().as_str(),
        "http://localhost:8080/auth/token"
    );
    assert_eq!(
        configuration.jwks_uri().unwrap().as_str(),
        "http://[::1]:8080/jwks"
    );

    // The opt-in is for loopback only.
    document.insert(
        "token_endpoint".into(),
        json!("http://ehr.example.com/auth/token"),
    );
    let error = parse_value_with(
        &Value::Object(document),
        TransportPolicy::ALLOW_INSECURE_LOCALHOST,
    )
    .unwrap_err();
    assert!(matches!(
        error,
        DiscoveryError::UnusableEndpoint {
            field: "token_endpoint",
            ..
        }
    ));
}

#[test]
fn insecure_links_are_dropped_with_a_finding() {
    let mut document = spec_example();
    document.insert(
        "management_endpoint".into(),
        json!("http://ehr.example.com/manage"),
    );
    document.insert(
        "user_access_brand_bundle".into(),
        json!("http://ehr.example.com/brands.json"),
    );
    document.insert("issuer".into(), json!("http://ehr.example.com"));
    document.insert(
        "associated_endpoints".into(),
        json!([
            {"url": "http://state.example.com", "capabilities": ["smart-app-state"]},
            {"url": "https://state.example.com", "capabilities": ["smart-app-state"]},
        ]),
    );
    let configuration = configuration_of(document);
    assert!(configuration.management_endpoint().is_none());
    assert!(configuration.user_access_brand_bundle().is_none());
    assert!(configuration.issuer().is_none());
    assert!(!configuration.supports_openid_connect());
    let associated = configuration.associated_endpoints().unwrap();
    assert_eq!(associated.len(), 1);
    assert_eq!(associated[0].url().as_str(), "https://state.example.com");

    let dropped: Vec<(&str, &UrlProblem)> = configuration
        .findings()
        .iter()
        .map(|finding| match finding {
            Finding::DroppedUrl { field, problem, .. } => (field.as_str(), problem),
            other => panic!("unexpected finding {other:?}"),
        })
        .collect();
    assert_eq!(
        dropped,
        [
            ("issuer", &UrlProblem::InsecureHttp),
            ("associated_endpoints[0].url", &UrlProblem::InsecureHttp),
            ("user_access_brand_bundle", &UrlProblem::InsecureHttp),
            ("management_endpoint", &UrlProblem::InsecureHttp),
        ]
    );
    let text = configuration.findings()[3].to_string();
    assert!(
        text.contains("management_endpoint") && text.contains("http://ehr.example.com/manage"),
        "{text}"
    );
}
