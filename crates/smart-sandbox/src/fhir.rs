//! The small FHIR endpoint behind a Bearer token: `GET /{type}/{id}` for the demo Patients,
//! Encounter, Practitioner and Observations, and `GET /Observation?patient=` (a searchset
//! Bundle).

use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Method, Request, StatusCode};
use serde_json::{Value, json};
use smart_token::scope::{Access, Compartment, Permissions};

use crate::fhir_data;
use crate::http_util::{
    HttpResponse, Params, authorization, fhir, method_not_allowed, operation_outcome,
};
use crate::store::{Grant, Shared};

/// The most entries a search returns.
const MAX_COUNT: usize = 50;

/// A FHIR route: `/{type}/{id}` or `/{type}` for a type of the data set.
pub(crate) fn route(shared: &Shared, request: &Request<Vec<u8>>) -> Option<HttpResponse> {
    let path = request.uri().path().strip_prefix('/')?;
    let (resource_type, id) = match path.split_once('/') {
        Some((resource_type, id)) if !id.is_empty() && !id.contains('/') => {
            (resource_type, Some(id))
        }
        Some(_) => return None,
        None => (path, None),
    };
    if !fhir_data::RESOURCE_TYPES.contains(&resource_type) {
        return None;
    }
    if request.method() != Method::GET {
        return Some(method_not_allowed("GET"));
    }
    let grant = match bearer_grant(shared, request) {
        Ok(grant) => grant,
        Err(response) => return Some(*response),
    };
    Some(match id {
        Some(id) => read(&grant, resource_type, id),
        None => search(shared, &grant, resource_type, request.uri().query()),
    })
}

/// The grant of the request's active access token, or the `401` answer.
fn bearer_grant(shared: &Shared, request: &Request<Vec<u8>>) -> Result<Grant, Box<HttpResponse>> {
    let Some(token) = authorization(request.headers(), "Bearer") else {
        // RFC 6750 §3.1: no error code when the request had no credentials.
        return Err(Box::new(unauthorized(
            r#"Bearer realm="smart-sandbox""#,
            "this FHIR server needs Authorization: Bearer with an access token",
        )));
    };
    let now = shared.now();
    let grant = shared
        .state()
        .active_access(token, now)
        .map(|entry| entry.grant.clone());
    grant.ok_or_else(|| {
        Box::new(unauthorized(
            r#"Bearer realm="smart-sandbox", error="invalid_token", error_description="the access token is unknown, expired or revoked""#,
            "the access token is unknown, expired or revoked",
        ))
    })
}

/// `GET /{type}/{id}`: `403` when the token's scopes do not allow reading it, `404` for an
/// unknown id, else the resource.
fn read(grant: &Grant, resource_type: &str, id: &str) -> HttpResponse {
    let found = fhir_data::read(resource_type, id);
    // The scopes are checked first: a token learns nothing of resources it may not read.
    let owner = found.as_ref().and_then(|(_, owner)| *owner);
    if !may(grant, resource_type, owner, Permissions::READ) {
        return forbidden(resource_type, "r");
    }
    match found {
        Some((resource, _)) => fhir(StatusCode::OK, &resource),
        None => operation_outcome(
            StatusCode::NOT_FOUND,
            "not-found",
            &format!("no {resource_type} with this id"),
        ),
    }
}

/// `GET /Observation?patient=ID` (also `subject=`, with or without `Patient/`), `_count`;
/// newest first. A patient-compartment token searches its own patient only.
fn search(
    shared: &Shared,
    grant: &Grant,
    resource_type: &str,
    query: Option<&str>,
) -> HttpResponse {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(failure) => {
            return operation_outcome(StatusCode::BAD_REQUEST, "invalid", &failure.description);
        }
    };
    if resource_type != "Observation" {
        return operation_outcome(
            StatusCode::BAD_REQUEST,
            "not-supported",
            "the sandbox searches Observation only (GET /Observation?patient=ID)",
        );
    }
    let patient = params
        .get("patient")
        .or_else(|| params.get("subject"))
        .map(|value| value.strip_prefix("Patient/").unwrap_or(value));
    let count = match params.get("_count").map(str::parse::<usize>) {
        None => MAX_COUNT,
        Some(Ok(count)) => count.min(MAX_COUNT),
        Some(Err(_)) => {
            return operation_outcome(
                StatusCode::BAD_REQUEST,
                "invalid",
                "_count must be a whole number",
            );
        }
    };
    let own = grant.context.patient.as_deref();
    let user_level = may(grant, resource_type, None, Permissions::SEARCH);
    if !user_level && (own.is_none() || !may(grant, resource_type, own, Permissions::SEARCH)) {
        return forbidden(resource_type, "s");
    }
    if !user_level && patient.is_some_and(|wanted| Some(wanted) != own) {
        return forbidden(resource_type, "s");
    }
    let patient = if user_level { patient } else { own };
    let matches = fhir_data::observations(patient);
    let total = matches.len();
    let entries: Vec<Value> = matches
        .into_iter()
        .take(count)
        .map(|(resource, _)| {
            let full_url = format!(
                "{}/Observation/{}",
                shared.base,
                resource["id"].as_str().unwrap_or_default()
            );
            json!({"fullUrl": full_url, "resource": resource, "search": {"mode": "match"}})
        })
        .collect();
    fhir(
        StatusCode::OK,
        &json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": [{"relation": "self", "url": format!("{}/Observation?{}", shared.base, query.unwrap_or_default())}],
            "entry": entries
        }),
    )
}

/// Whether `grant` may do `wanted` on `resource_type`: `user/` and `system/` scopes for any
/// resource, `patient/` scopes for the resources of the token's own patient (`owner`).
pub(crate) fn may(
    grant: &Grant,
    resource_type: &str,
    owner: Option<&str>,
    wanted: Permissions,
) -> bool {
    let own_patient = owner.is_some() && grant.context.patient.as_deref() == owner;
    [Compartment::Patient, Compartment::User, Compartment::System]
        .into_iter()
        .filter(|compartment| *compartment != Compartment::Patient || own_patient)
        .any(|compartment| {
            grant
                .scope
                .permits(&Access::new(compartment, resource_type, wanted))
        })
}

fn forbidden(resource_type: &str, permission: &str) -> HttpResponse {
    let mut response = operation_outcome(
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!("the token's scopes do not allow this {resource_type} request"),
    );
    let challenge = format!(
        r#"Bearer realm="smart-sandbox", error="insufficient_scope", scope="patient/{resource_type}.{permission}""#
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

fn unauthorized(challenge: &'static str, diagnostics: &str) -> HttpResponse {
    let mut response = operation_outcome(StatusCode::UNAUTHORIZED, "login", diagnostics);
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}
