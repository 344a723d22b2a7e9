//! The small FHIR endpoint: `GET /Patient/{id}` behind a Bearer token.

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Method, Request, StatusCode};

use crate::demo;
use crate::http_util::{HttpResponse, authorization, fhir, method_not_allowed, operation_outcome};
use crate::store::Shared;
use crate::token::may_read_patient;

/// `GET /Patient/{id}`: `401` without an active access token, `403` when its scopes do not
/// allow reading that patient, `404` for an unknown id, else the resource.
pub(crate) fn read_patient(shared: &Shared, request: &Request<Vec<u8>>, id: &str) -> HttpResponse {
    if request.method() != Method::GET {
        return method_not_allowed("GET");
    }
    let Some(token) = authorization(request.headers(), "Bearer") else {
        // RFC 6750 §3.1: no error code when the request had no credentials.
        return unauthorized(
            r#"Bearer realm="smart-sandbox""#,
            "this FHIR server needs Authorization: Bearer with an access token",
        );
    };
    let now = shared.now();
    let grant = shared
        .state()
        .active_access(token, now)
        .map(|entry| entry.grant.clone());
    let Some(grant) = grant else {
        return unauthorized(
            r#"Bearer realm="smart-sandbox", error="invalid_token", error_description="the access token is unknown, expired or revoked""#,
            "the access token is unknown, expired or revoked",
        );
    };
    if !may_read_patient(&grant, id) {
        let mut response = operation_outcome(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the token's scopes do not allow reading this Patient",
        );
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(
                r#"Bearer realm="smart-sandbox", error="insufficient_scope", scope="patient/Patient.r""#,
            ),
        );
        return response;
    }
    match demo::patient_resource(id) {
        Some(resource) => fhir(StatusCode::OK, &resource),
        None => operation_outcome(
            StatusCode::NOT_FOUND,
            "not-found",
            "no Patient with this id",
        ),
    }
}

fn unauthorized(challenge: &'static str, diagnostics: &str) -> HttpResponse {
    let mut response = operation_outcome(StatusCode::UNAUTHORIZED, "login", diagnostics);
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}
