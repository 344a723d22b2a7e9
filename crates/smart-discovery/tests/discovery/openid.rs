//! The OpenID provider configuration.

use http::{Method, StatusCode};
use serde_json::{Value, json};
use smart_core::{IssuerUrl, TransportPolicy, UrlProblem};
use smart_discovery::{DiscoveryError, Finding, openid};

use crate::{OPENID_CONFIGURATION, ok, respond};

const ISSUER: &str = "https://ehr.example.com";

fn issuer(value: &str) -> IssuerUrl {
    IssuerUrl::parse(value).expect("test issuers are valid")
}

fn document() -> Value {
    serde_json::from_str(OPENID_CONFIGURATION).expect("the fixture is JSON")
}

fn parse(expected: &str, document: &Value) -> Result<openid::OpenIdConfiguration, DiscoveryError> {
    openid::parse(
        &issuer(expected),
        &ok(document.to_string()),
        TransportPolicy::STRICT,
    )
}

#[test]
fn the_request_appends_to_the_issuer_path() {
    for (issuer_url, expected) in [
        (
            "https://ehr.example.com",
            "https://ehr.example.com/.well-known/openid-configuration",
        ),
        (
            "https://ehr.example.com/",
            "https://ehr.example.com/.well-known/openid-configuration",
        ),
        (
            "https://idp.example.com/realms/smart",
            "https://idp.example.com/realms/smart/.well-known/openid-configuration",
        ),
    ] {
        let issuer = issuer(issuer_url);
        assert_eq!(openid::well_known_url(&issuer).as_str(), expected);
        let request = openid::request(&issuer).unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri(), expected);
        assert_eq!(request.headers()["accept"], "application/json");
    }
}

#[test]
fn a_matching_document_parses() {
    let configuration = parse(ISSUER, &document()).unwrap();
    assert_eq!(configuration.issuer().as_str(), ISSUER);
    assert_eq!(
        configuration.jwks_uri().as_str(),
        "https://ehr.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        configuration.id_token_signing_alg_values_supported(),
        Some(&["RS256".to_owned(), "ES384".to_owned()][..])
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
        configuration.userinfo_endpoint().unwrap().as_str(),
        "https://ehr.example.com/auth/userinfo"
    );
    assert_eq!(configuration.extensions().len(), 2);
    assert_eq!(
        configuration.extensions()["subject_types_supported"],
        json!(["public"])
    );
    assert!(configuration.findings().is_empty());
    assert_eq!(serde_json::to_value(&configuration).unwrap(), document());
}

#[test]
fn the_issuer_must_match_exactly() {
    // The document says `https://ehr.example.com`; we expected a trailing slash.
    let error = parse("https://ehr.example.com/", &document()).unwrap_err();
    assert_eq!(
        error,
        DiscoveryError::IssuerMismatch {
            url: "https://ehr.example.com/.well-known/openid-configuration".into(),
            expected: "https://ehr.example.com/".into(),
            found: "https://ehr.example.com".into(),
        }
    );
    let text = error.to_string();
    assert!(text.contains("\"https://ehr.example.com/\""), "{text}");
    assert!(text.contains("\"https://ehr.example.com\""), "{text}");
    assert!(text.contains("trailing slash"), "{text}");

    // And the other way round.
    let mut with_slash = document();
    with_slash["issuer"] = json!("https://ehr.example.com/");
    let error = parse(ISSUER, &with_slash).unwrap_err();
    assert!(error.to_string().contains("trailing slash"), "{error}");

    // Another issuer: no slash hint.
    let mut other = document();
    other["issuer"] = json!("https://evil.example.com");
    let error = parse(ISSUER, &other).unwrap_err();
    assert!(matches!(error, DiscoveryError::IssuerMismatch { .. }));
    assert!(!error.to_string().contains("trailing slash"), "{error}");

    // Case and default ports matter too: the comparison is on the string.
    let mut case = document();
    case["issuer"] = json!("https://EHR.example.com");
    assert!(matches!(
        parse(ISSUER, &case).unwrap_err(),
        DiscoveryError::IssuerMismatch { .. }
    ));
}

#[test]
fn issuer_and_jwks_uri_are_required() {
    for field in ["issuer", "jwks_uri"] {
        let mut missing = document();
        missing.as_object_mut().unwrap().remove(field);
        assert!(matches!(
            parse(ISSUER, &missing).unwrap_err(),
            DiscoveryError::MissingField { field: f, .. } if f == field
        ));
        let mut wrong = document();
        wrong[field] = json!(["x"]);
        assert!(matches!(
            parse(ISSUER, &wrong).unwrap_err(),
            DiscoveryError::MissingField { field: f, .. } if f == field
        ));
    }
}

#[test]
fn endpoints_must_pass_the_policy() {
    for field in [
        "jwks_uri",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
    ] {
        let mut insecure = document();
        insecure[field] = json!("http://ehr.example.com/x");
        match parse(ISSUER, &insecure).unwrap_err() {
            DiscoveryError::UnusableEndpoint {
                field: refused,
                source,
                ..
            } => {
                assert_eq!(refused, field);
                assert_eq!(source.problem(), &UrlProblem::InsecureHttp);
            }
            other => panic!("{field}: {other:?}"),
        }
        let mut relative = document();
        relative[field] = json!("/x");
        assert!(matches!(
            parse(ISSUER, &relative).unwrap_err(),
            DiscoveryError::UnusableEndpoint { .. }
        ));
    }

    // An http issuer is refused unless it is loopback and the caller opted in.
    let mut local = document();
    local["issuer"] = json!("http://localhost:9000");
    local["jwks_uri"] = json!("http://localhost:9000/jwks");
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
    ] {
        local.as_object_mut().unwrap().remove(field);
    }
    let response = ok(local.to_string());
    let expected = issuer("http://localhost:9000");
    assert!(matches!(
        openid::parse(&expected, &response, TransportPolicy::STRICT).unwrap_err(),
        DiscoveryError::UnusableEndpoint {
            field: "issuer",
            ..
        }
    ));
    let configuration = openid::parse(
        &expected,
        &response,
        TransportPolicy::ALLOW_INSECURE_LOCALHOST,
    )
    .unwrap();
    assert_eq!(
        configuration.jwks_uri().as_str(),
        "http://localhost:9000/jwks"
    );
}

#[test]
fn a_wrong_typed_algorithm_list_is_a_finding() {
    let mut document = document();
    document["id_token_signing_alg_values_supported"] = json!("RS256");
    let configuration = parse(ISSUER, &document).unwrap();
    assert!(
        configuration
            .id_token_signing_alg_values_supported()
            .is_none()
    );
    assert!(matches!(
        configuration.findings(),
        [Finding::WrongType { field, .. }] if field == "id_token_signing_alg_values_supported"
    ));
}

#[test]
fn a_failed_fetch_names_the_url() {
    let response = respond(StatusCode::NOT_FOUND, None, "");
    assert_eq!(
        openid::parse(&issuer(ISSUER), &response, TransportPolicy::STRICT).unwrap_err(),
        DiscoveryError::Status {
            url: "https://ehr.example.com/.well-known/openid-configuration".into(),
            status: StatusCode::NOT_FOUND,
        }
    );
}
