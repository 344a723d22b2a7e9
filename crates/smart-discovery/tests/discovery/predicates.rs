//! Capability predicates, each shown true and false (safire `SmartMetadata` semantics,
//! without its substring and nil bugs).

use serde_json::{Value, json};
use smart_discovery::{Capability, Finding, SmartConfiguration};

use crate::{SPEC_EXAMPLE, configuration, ok};

fn with(document: &Value) -> SmartConfiguration {
    configuration(document)
}

const AUTHORIZE: &str = "https://ehr.example.com/auth/authorize";

#[test]
fn the_spec_example() {
    let configuration = smart_discovery::parse(
        &crate::base(),
        &ok(SPEC_EXAMPLE),
        smart_core::TransportPolicy::STRICT,
    )
    .unwrap();
    assert!(configuration.supports_ehr_launch());
    assert!(!configuration.supports_standalone_launch());
    assert!(configuration.supports_public_auth());
    assert!(configuration.supports_symmetric_auth());
    assert!(!configuration.supports_asymmetric_auth());
    assert_eq!(
        configuration.asymmetric_signing_algorithms_supported(),
        ["RS384", "ES384"]
    );
    assert!(!configuration.supports_backend_services());
    assert!(configuration.supports_dynamic_registration());
    assert!(!configuration.supports_post_based_authorization());
    assert!(configuration.supports_openid_connect());
    assert!(configuration.ehr_launch_capability());
    assert!(!configuration.standalone_launch_capability());
    assert!(configuration.openid_connect_capability());
}

#[test]
fn ehr_launch_needs_the_capability_and_an_authorization_endpoint() {
    let both = with(&json!({"capabilities": ["launch-ehr"], "authorization_endpoint": AUTHORIZE}));
    assert!(both.supports_ehr_launch());
    assert!(both.ehr_launch_capability());

    let no_endpoint = with(&json!({"capabilities": ["launch-ehr"]}));
    assert!(!no_endpoint.supports_ehr_launch());
    assert!(
        no_endpoint.ehr_launch_capability(),
        "the flag alone is still set"
    );

    let no_capability =
        with(&json!({"capabilities": ["launch-standalone"], "authorization_endpoint": AUTHORIZE}));
    assert!(!no_capability.supports_ehr_launch());
    assert!(!no_capability.ehr_launch_capability());

    let no_capabilities = with(&json!({"authorization_endpoint": AUTHORIZE}));
    assert!(!no_capabilities.supports_ehr_launch());
    assert!(!no_capabilities.ehr_launch_capability());
}

#[test]
fn standalone_launch_needs_the_capability_and_an_authorization_endpoint() {
    let both =
        with(&json!({"capabilities": ["launch-standalone"], "authorization_endpoint": AUTHORIZE}));
    assert!(both.supports_standalone_launch());
    assert!(both.standalone_launch_capability());

    let no_endpoint = with(&json!({"capabilities": ["launch-standalone"]}));
    assert!(!no_endpoint.supports_standalone_launch());
    assert!(no_endpoint.standalone_launch_capability());

    let no_capability =
        with(&json!({"capabilities": ["launch-ehr"], "authorization_endpoint": AUTHORIZE}));
    assert!(!no_capability.supports_standalone_launch());
    assert!(!no_capability.standalone_launch_capability());
}

#[test]
fn public_auth() {
    assert!(with(&json!({"capabilities": ["client-public"]})).supports_public_auth());
    assert!(
        !with(&json!({"capabilities": ["client-confidential-symmetric"]})).supports_public_auth()
    );
    assert!(!with(&json!({"capabilities": []})).supports_public_auth());
    assert!(
        !with(&json!({})).supports_public_auth(),
        "false, not nil, without capabilities"
    );
}

#[test]
fn symmetric_auth() {
    let cap = json!(["client-confidential-symmetric"]);
    assert!(with(&json!({"capabilities": cap})).supports_symmetric_auth());
    assert!(
        with(&json!({"capabilities": cap, "token_endpoint_auth_methods_supported": []}))
            .supports_symmetric_auth()
    );
    assert!(
        with(&json!({"capabilities": cap, "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"]}))
            .supports_symmetric_auth()
    );
    assert!(
        !with(&json!({"capabilities": cap, "token_endpoint_auth_methods_supported": ["private_key_jwt"]}))
            .supports_symmetric_auth()
    );
    assert!(
        !with(&json!({"capabilities": cap, "token_endpoint_auth_methods_supported": ["client_secret_post"]}))
            .supports_symmetric_auth()
    );
    assert!(
        !with(&json!({"capabilities": ["client-public"], "token_endpoint_auth_methods_supported": ["client_secret_basic"]}))
            .supports_symmetric_auth()
    );
}

#[test]
fn asymmetric_auth() {
    let cap = json!(["client-confidential-asymmetric"]);
    assert!(with(&json!({"capabilities": cap})).supports_asymmetric_auth());
    assert!(
        with(&json!({
            "capabilities": cap,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES384"],
        }))
        .supports_asymmetric_auth()
    );
    assert!(
        !with(&json!({
            "capabilities": cap,
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }))
        .supports_asymmetric_auth(),
        "private_key_jwt not among the listed methods"
    );
    assert!(
        !with(&json!({
            "capabilities": cap,
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        }))
        .supports_asymmetric_auth(),
        "no SMART algorithm"
    );
    assert!(
        !with(&json!({
            "capabilities": ["client-confidential-symmetric"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }))
        .supports_asymmetric_auth()
    );
}

#[test]
fn asymmetric_signing_algorithms() {
    let algorithms = |list: Option<Value>| {
        let mut document = json!({});
        if let Some(list) = list {
            document["token_endpoint_auth_signing_alg_values_supported"] = list;
        }
        with(&document).asymmetric_signing_algorithms_supported()
    };
    assert_eq!(algorithms(None), ["RS384", "ES384"]);
    assert_eq!(algorithms(Some(json!([]))), ["RS384", "ES384"]);
    assert_eq!(
        algorithms(Some(json!(["ES384", "RS256", "RS384"]))),
        ["ES384", "RS384"]
    );
    assert_eq!(algorithms(Some(json!(["RS384"]))), ["RS384"]);
    assert_eq!(algorithms(Some(json!(["ES384", "ES384"]))), ["ES384"]);
    assert!(algorithms(Some(json!(["RS256", "es384"]))).is_empty());
    // A wrong type counts as not advertised (and is a finding).
    assert_eq!(algorithms(Some(json!("RS384"))), ["RS384", "ES384"]);
}

#[test]
fn backend_services() {
    let asymmetric = json!(["client-confidential-asymmetric"]);
    assert!(
        with(&json!({"capabilities": asymmetric, "grant_types_supported": ["client_credentials"]}))
            .supports_backend_services()
    );
    assert!(
        !with(
            &json!({"capabilities": asymmetric, "grant_types_supported": ["authorization_code"]})
        )
        .supports_backend_services()
    );
    assert!(!with(&json!({"capabilities": asymmetric})).supports_backend_services());
    assert!(
        !with(&json!({
            "capabilities": ["client-confidential-symmetric"],
            "grant_types_supported": ["client_credentials"],
        }))
        .supports_backend_services()
    );
}

#[test]
fn dynamic_registration() {
    assert!(
        with(&json!({"registration_endpoint": "https://ehr.example.com/register"}))
            .supports_dynamic_registration()
    );
    assert!(!with(&json!({})).supports_dynamic_registration());
    assert!(!with(&json!({"registration_endpoint": ""})).supports_dynamic_registration());
}

#[test]
fn post_based_authorization() {
    assert!(with(&json!({"capabilities": ["authorize-post"]})).supports_post_based_authorization());
    assert!(!with(&json!({"capabilities": ["launch-ehr"]})).supports_post_based_authorization());
}

#[test]
fn openid_connect() {
    let full = json!({
        "capabilities": ["sso-openid-connect"],
        "issuer": "https://ehr.example.com",
        "jwks_uri": "https://ehr.example.com/jwks",
    });
    assert!(with(&full).supports_openid_connect());
    assert!(with(&full).openid_connect_capability());

    for missing in ["issuer", "jwks_uri"] {
        let mut document = full.clone();
        document.as_object_mut().unwrap().remove(missing);
        let configuration = with(&document);
        assert!(
            !configuration.supports_openid_connect(),
            "without {missing}"
        );
        assert!(configuration.openid_connect_capability());
    }

    let mut document = full;
    document["capabilities"] = json!(["launch-ehr"]);
    assert!(!with(&document).supports_openid_connect());
    assert!(!with(&document).openid_connect_capability());
}

#[test]
fn has_capability_takes_typed_or_string_capabilities() {
    let configuration = with(&json!({"capabilities": ["permission-v2", "x-custom"]}));
    assert!(configuration.has_capability(Capability::PermissionV2));
    assert!(configuration.has_capability(&Capability::PermissionV2));
    assert!(configuration.has_capability("permission-v2"));
    assert!(configuration.has_capability("x-custom"));
    assert!(!configuration.has_capability(Capability::PermissionV1));
    assert!(!configuration.has_capability("permission"));
}

#[test]
fn a_string_of_capabilities_is_not_matched_by_substring() {
    // safire bug 11: `"launch-ehr client-public".include?("launch-ehr")` is true in Ruby.
    let configuration = with(&json!({
        "capabilities": "launch-ehr launch-standalone client-public sso-openid-connect authorize-post",
        "authorization_endpoint": AUTHORIZE,
        "issuer": "https://ehr.example.com",
        "jwks_uri": "https://ehr.example.com/jwks",
    }));
    assert!(configuration.capabilities().is_none());
    assert!(!configuration.supports_ehr_launch());
    assert!(!configuration.supports_standalone_launch());
    assert!(!configuration.supports_public_auth());
    assert!(!configuration.supports_openid_connect());
    assert!(!configuration.supports_post_based_authorization());
    assert!(!configuration.has_capability("launch-ehr"));
    assert_eq!(
        configuration.findings(),
        &[Finding::WrongType {
            field: "capabilities".into(),
            expected: "an array of strings",
            found: "string",
        }]
    );
}
