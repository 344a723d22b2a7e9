//! Configuration: validation lists every offending URL, the HTTPS rule, masking.

use smart_client::{ClientConfig, ClientError, ConfigError};
use smart_token::ClientSecret;
use test_support::both_shells;

both_shells! {
fn every_offending_url_is_listed_once() {
    let err = ClientConfig::builder("http://ehr.example/fhir")
        .redirect_uri("not-a-url")
        .authorization_endpoint("ftp://ehr.example/authorize")
        .token_endpoint("http://ehr.example/token")
        .build()
        .unwrap_err();
    let ConfigError::Urls(problems) = &err else {
        panic!("{err:?}")
    };
    let fields: Vec<&str> = problems.iter().map(smart_core::UrlError::field).collect();
    assert_eq!(
        fields,
        [
            "base_url",
            "redirect_uri",
            "authorization_endpoint",
            "token_endpoint"
        ]
    );
    let text = err.to_string();
    assert!(text.contains("http://ehr.example/token"), "{text}");
    // The defaulted issuer is not reported twice (safire lists base_url, issuer).
    assert!(!text.contains("issuer"), "{text}");
}
}

both_shells! {
fn loopback_http_needs_the_opt_in() {
    let err = ClientConfig::builder("http://127.0.0.1:8080/fhir")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("allow_insecure_localhost"),
        "{err}"
    );
    for host in ["localhost", "127.0.0.1", "[::1]"] {
        ClientConfig::builder(format!("http://{host}:8080/fhir"))
            .allow_insecure_localhost(true)
            .build()
            .unwrap();
    }
    // The opt-in never covers other hosts.
    let err = ClientConfig::builder("http://10.0.0.7/fhir")
        .allow_insecure_localhost(true)
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::Urls(_)));
}
}

both_shells! {
fn issuer_defaults_to_base_url_exactly() {
    let config = ClientConfig::builder("https://ehr.example/fhir/")
        .build()
        .unwrap();
    assert_eq!(config.issuer().as_str(), "https://ehr.example/fhir/");
    let config = ClientConfig::builder("https://ehr.example/fhir")
        .issuer("https://ehr.example/fhir-aud")
        .build()
        .unwrap();
    assert_eq!(config.issuer().as_str(), "https://ehr.example/fhir-aud");
}
}

both_shells! {
fn jwks_uri_follows_the_https_rule_like_every_url() {
    // Loopback http:// with the opt-in: accepted (a development server on this machine
    // fetches it from there; the message asking for the opt-in must not be a dead end).
    let key = crate::es384_key;
    let config = ClientConfig::builder("http://127.0.0.1/fhir")
        .allow_insecure_localhost(true)
        .private_key(key())
        .jwks_uri("http://127.0.0.1:9/jwks")
        .build();
    assert!(config.is_ok(), "{config:?}");
    // Without the opt-in: refused, naming the setting and the opt-in.
    let err = ClientConfig::builder("https://ehr.example/fhir")
        .private_key(key())
        .jwks_uri("http://127.0.0.1/jwks")
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("jwks_uri"), "{err}");
    assert!(text.contains("allow_insecure_localhost"), "{err}");
    // Another host over http://: refused whatever the opt-in.
    let err = ClientConfig::builder("http://127.0.0.1/fhir")
        .allow_insecure_localhost(true)
        .private_key(key())
        .jwks_uri("http://ehr.example/jwks")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("jwks_uri"), "{err}");
}
}

both_shells! {
fn native_app_redirect_uris_are_accepted() {
    for redirect in [
        "com.example.app:/oauth2redirect",
        "http://127.0.0.1:53117/callback",
        "http://[::1]:8080/cb",
        "http://localhost/cb",
    ] {
        let config = ClientConfig::builder("https://ehr.example/fhir")
            .redirect_uri(redirect)
            .build()
            .unwrap();
        // The loopback redirect does not open the door to http:// endpoints.
        assert_eq!(
            config.transport_policy(),
            smart_core::TransportPolicy::STRICT
        );
    }
    let err = ClientConfig::builder("https://ehr.example/fhir")
        .redirect_uri("http://app.example/callback")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("redirect_uri"), "{err}");
}
}

both_shells! {
fn debug_masks_secrets_and_keys() {
    let key = crate::es384_key();
    let config = ClientConfig::builder("https://ehr.example/fhir")
        .client_id("app")
        .client_secret(ClientSecret::new("TOPSECRET"))
        .private_key(key)
        .kid("k1")
        .build()
        .unwrap();
    let text = format!("{config:?}");
    assert!(!text.contains("TOPSECRET"), "{text}");
    assert!(text.contains("[FILTERED]"), "{text}");
    assert!(text.contains("k1"), "{text}");
    assert!(!text.contains("PRIVATE"), "{text}");
}
}

both_shells! {
fn kid_defaults_to_the_thumbprint() {
    let key = crate::es384_key();
    let thumbprint = key.thumbprint();
    let config = ClientConfig::builder("https://ehr.example/fhir")
        .private_key(key)
        .build()
        .unwrap();
    assert_eq!(config.assertion_signer().unwrap().kid(), thumbprint);
}
}

both_shells! {
fn a_key_that_does_not_fit_the_algorithm_is_refused_at_build() {
    let err = ClientConfig::builder("https://ehr.example/fhir")
        .private_key(crate::es384_key())
        .jwt_algorithm(smart_jwt_assertion::Algorithm::Rs384)
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::Assertion(_)), "{err:?}");
}
}

#[test]
fn missing_settings_are_listed_before_any_network_call() {
    // No server: if the client tried discovery first, this would be a network error.
    let config = ClientConfig::builder("https://ehr.invalid/fhir")
        .build()
        .unwrap();
    let client = smart_client::SmartClient::with_http_client(
        config,
        smart_client::ClientType::Public,
        |_: http::Request<Vec<u8>>| -> Result<http::Response<Vec<u8>>, smart_client::TransportError> {
            panic!("no request may be sent")
        },
    ).unwrap();
    let err = client
        .authorize(smart_client::AuthorizeOptions::new())
        .unwrap_err();
    let ClientError::Config(ConfigError::Missing { fields, .. }) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(fields, &["client_id", "redirect_uri", "scopes"]);
    assert_eq!(
        err.to_string(),
        "configuration missing: client_id, redirect_uri, scopes (needed to build an authorization request)"
    );
}

#[test]
fn debug_hides_proxy_credentials() {
    let config = ClientConfig::builder("https://ehr.example/fhir")
        .http_options(smart_client::HttpOptions::new().proxy("http://user:pa55word@proxy:3128"))
        .build()
        .unwrap();
    let client = smart_client::SmartClient::new(config, smart_client::ClientType::Public).unwrap();
    let text = format!(
        "{:?} {:#?} {client:?} {client:#?}",
        client.config(),
        client.config()
    );
    assert!(!text.contains("pa55word"), "{text}");
    assert!(text.contains("proxy:3128"), "{text}");
}
