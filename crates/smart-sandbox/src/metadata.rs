//! The discovery documents and key sets: `/.well-known/smart-configuration`,
//! `/.well-known/openid-configuration`, `/jwks`, the demo client JWK Set and the style
//! document.

use http::StatusCode;
use serde_json::{Value, json};

use crate::http_util::{HttpResponse, json};
use crate::store::Shared;

/// Every capability the sandbox supports
/// ([conformance.html#capabilities](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#capabilities)).
pub(crate) const CAPABILITIES: [&str; 19] = [
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "sso-openid-connect",
    "context-passthrough-banner",
    "context-passthrough-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "context-standalone-encounter",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
];

const SCOPES_SUPPORTED: [&str; 17] = [
    "openid",
    "fhirUser",
    "profile",
    "launch",
    "launch/patient",
    "launch/encounter",
    "offline_access",
    "online_access",
    "patient/*.cruds",
    "user/*.cruds",
    "system/*.cruds",
    "patient/*.rs",
    "user/*.rs",
    "system/*.rs",
    "patient/*.read",
    "user/*.read",
    "system/*.read",
];

/// `GET /.well-known/smart-configuration`.
pub(crate) fn smart_configuration(shared: &Shared) -> HttpResponse {
    let base = &shared.base;
    json(
        StatusCode::OK,
        &json!({
            "issuer": base,
            "jwks_uri": format!("{base}/jwks"),
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": shared.token_url(),
            "introspection_endpoint": format!("{base}/introspect"),
            "revocation_endpoint": format!("{base}/revoke"),
            "registration_endpoint": format!("{base}/register"),
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "scopes_supported": SCOPES_SUPPORTED,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": CAPABILITIES,
        }),
    )
}

/// `GET /.well-known/openid-configuration`.
pub(crate) fn openid_configuration(shared: &Shared) -> HttpResponse {
    let base = &shared.base;
    json(
        StatusCode::OK,
        &json!({
            "issuer": base,
            "jwks_uri": format!("{base}/jwks"),
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": shared.token_url(),
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "fhirUser", "profile"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser", "profile"],
        }),
    )
}

/// `GET /metadata`: a minimal CapabilityStatement with the (deprecated) `oauth-uris`
/// extension, for clients that fall back to it
/// ([conformance.html#using-well-known](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#using-well-known)).
pub(crate) fn capability_statement(shared: &Shared) -> HttpResponse {
    let base = &shared.base;
    let uri = |name: &str, path: &str| json!({"url": name, "valueUri": format!("{base}{path}")});
    crate::http_util::fhir(
        StatusCode::OK,
        &json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-01-01",
            "kind": "instance",
            "software": {"name": "smart-sandbox"},
            "implementation": {"description": "smart-sandbox (demo data only)", "url": base},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{
                "mode": "server",
                "security": {
                    "service": [{"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR"
                    }]}],
                    "extension": [{
                        "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                        "extension": [
                            uri("authorize", "/authorize"),
                            uri("token", "/token"),
                            uri("register", "/register"),
                            uri("introspect", "/introspect"),
                            uri("revoke", "/revoke")
                        ]
                    }]
                },
                "resource": [
                    {"type": "Patient", "interaction": [{"code": "read"}]},
                    {"type": "Encounter", "interaction": [{"code": "read"}]},
                    {"type": "Practitioner", "interaction": [{"code": "read"}]},
                    {
                        "type": "Observation",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [
                            {"name": "patient", "type": "reference"},
                            {"name": "subject", "type": "reference"}
                        ]
                    }
                ]
            }]
        }),
    )
}

/// A JWK Set document, cacheable for a few minutes.
pub(crate) fn jwks(set: &Value) -> HttpResponse {
    let mut response = json(StatusCode::OK, set);
    response.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("max-age=300"),
    );
    response
}

/// `GET /smart-style.json`: the style document `smart_style_url` points at
/// ([scopes-and-launch-context.html#styling](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html#styling)).
pub(crate) fn style() -> HttpResponse {
    json(
        StatusCode::OK,
        &json!({
            "color_background": "#edeae3",
            "color_error": "#9e2d2d",
            "color_highlight": "#69b5ce",
            "color_modal_backdrop": "",
            "color_success": "#498e49",
            "color_text": "#303030",
            "dim_border_radius": "6px",
            "dim_font_size": "13px",
            "dim_spacing_size": "20px",
            "font_family_body": "Georgia, Times, 'Times New Roman', serif",
            "font_family_heading": "'HelveticaNeue-Light', Helvetica, Arial, 'Lucida Grande', sans-serif"
        }),
    )
}
