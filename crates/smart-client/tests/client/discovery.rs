//! Discovery: lazy, cached, failures not cached, errors with URL and status, fallback,
//! redirects.

use smart_client::token::ClientSecret;
use smart_client::{ClientError, ClientType};
use smart_discovery::DiscoveryError;

use crate::Ehr;
use test_support::both_shells;

both_shells! {
fn discovery_is_lazy_and_cached() {
    let mut ehr = Ehr::new();
    let mock = ehr.serve_discovery(1);
    let client = ehr.client(ehr.config(), ClientType::Public);
    // Building the client made no request.
    let first = client.discover().unwrap();
    let second = client.discover().unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &second));
    assert_eq!(first.token_endpoint().unwrap().as_str(), ehr.token_url());
    mock.assert();
}
}

both_shells! {
fn configured_endpoints_skip_discovery() {
    let mut ehr = Ehr::new();
    let discovery = ehr.serve_discovery(0);
    let token = ehr
        .server
        .mock("POST", "/auth/token")
        .with_status(200)
        .with_body(crate::token_body())
        .create();
    let client = ehr.client(
        ehr.config().token_endpoint(ehr.token_url()),
        ClientType::Public,
    );
    client
        .refresh(&smart_token::RefreshToken::new("rt"), None)
        .unwrap();
    discovery.assert();
    token.assert();
}
}

both_shells! {
fn failures_are_reported_with_url_and_status_and_not_cached() {
    let mut ehr = Ehr::new();
    let not_found = ehr
        .server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(404)
        .with_header("content-type", "text/html")
        .with_body("<html><body>Not Found SECRET-MARKER</body></html>")
        .expect(1)
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let err = client.discover().unwrap_err();
    let ClientError::Discovery(DiscoveryError::Status { url, status }) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(status.as_u16(), 404);
    assert!(
        url.ends_with("/fhir/.well-known/smart-configuration"),
        "{url}"
    );
    let text = err.to_string();
    assert!(
        text.contains("404") && text.contains("/fhir/.well-known/smart-configuration"),
        "{text}"
    );
    assert!(!text.contains("SECRET-MARKER"));
    not_found.assert();
    not_found.remove();

    // The failure was not cached: the next call asks again and succeeds.
    let ok = ehr.serve_discovery(1);
    client.discover().unwrap();
    ok.assert();
}
}

both_shells! {
fn server_errors_and_html_pages() {
    let mut ehr = Ehr::new();
    ehr.server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(500)
        .with_body(r#"{"error": "server_error"}"#)
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    assert!(matches!(
        client.discover().unwrap_err(),
        ClientError::Discovery(DiscoveryError::Status { status, .. }) if status.as_u16() == 500
    ));

    let mut ehr = Ehr::new();
    ehr.server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(200)
        .with_header("content-type", "text/html")
        .with_body("<html><body>Please log in</body></html>")
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let err = client.discover().unwrap_err();
    assert!(
        matches!(err, ClientError::Discovery(DiscoveryError::Body { .. })),
        "{err:?}"
    );
    assert!(!err.to_string().contains("Please log in"));
}
}

both_shells! {
fn an_http_token_endpoint_in_discovery_is_rejected() {
    let mut ehr = Ehr::new();
    let mut document = ehr.document();
    document["token_endpoint"] = "http://evil.example/token".into();
    ehr.server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(200)
        .with_body(document.to_string())
        .create();
    let client = ehr.client(
        ehr.config().client_secret(ClientSecret::new("s3cr3t")),
        ClientType::ConfidentialSymmetric,
    );
    let err = client.discover().unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Discovery(DiscoveryError::UnusableEndpoint { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("token_endpoint"), "{err}");
}
}

both_shells! {
fn capability_statement_fallback_is_opt_in() {
    let mut ehr = Ehr::new();
    ehr.server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(404)
        .create();
    let root = ehr.server.url();
    let metadata = serde_json::json!({
        "resourceType": "CapabilityStatement",
        "rest": [{"mode": "server", "security": {"extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [
                {"url": "authorize", "valueUri": format!("{root}/legacy/authorize")},
                {"url": "token", "valueUri": format!("{root}/legacy/token")}
            ]
        }]}}]
    });
    let capability = ehr
        .server
        .mock("GET", "/fhir/metadata")
        .with_status(200)
        .with_body(metadata.to_string())
        .expect(1)
        .create();

    let strict = ehr.client(ehr.config(), ClientType::Public);
    assert!(strict.discover().is_err(), "no fallback unless asked for");

    let lenient = ehr.client(ehr.config().fallback_to_metadata(true), ClientType::Public);
    let configuration = lenient.discover().unwrap();
    assert_eq!(
        configuration.token_endpoint().unwrap().as_str(),
        format!("{root}/legacy/token")
    );
    capability.assert();
}
}

both_shells! {
fn redirects_on_discovery_follow_the_policy() {
    let mut ehr = Ehr::new();
    // A relative redirect to another path on the same (loopback, opted-in) server is followed.
    ehr.server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(301)
        .with_header("location", "/moved/smart-configuration")
        .create();
    let body = ehr.document().to_string();
    let moved = ehr
        .server
        .mock("GET", "/moved/smart-configuration")
        .match_header("accept", "application/json")
        .with_status(200)
        .with_body(body)
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    client.discover().unwrap();
    moved.assert();

    // A redirect to plain http:// elsewhere is blocked.
    let mut ehr = Ehr::new();
    ehr.server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(302)
        .with_header(
            "location",
            "http://ehr.example/.well-known/smart-configuration",
        )
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let err = client.discover().unwrap_err();
    assert!(
        matches!(err, ClientError::RedirectBlocked { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("http://ehr.example/.well-known/smart-configuration"),
        "{err}"
    );

    // A redirect loop stops after three hops.
    let mut ehr = Ehr::new();
    let root = ehr.server.url();
    let looping = ehr
        .server
        .mock("GET", "/fhir/.well-known/smart-configuration")
        .with_status(307)
        .with_header(
            "location",
            &format!("{root}/fhir/.well-known/smart-configuration"),
        )
        .expect(4)
        .create();
    let client = ehr.client(ehr.config(), ClientType::Public);
    let err = client.discover().unwrap_err();
    assert!(err.to_string().contains("more than 3 redirects"), "{err}");
    looping.assert();
}
}
