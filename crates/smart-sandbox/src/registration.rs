//! `POST /register`: OAuth 2.0 Dynamic Client Registration (RFC 7591).

use http::{Method, Request, StatusCode};
use serde_json::Value;
use smart_core::ct_eq;
use smart_token::AuthMethod;

use crate::config::Metadata;
use crate::error::ClientMetadataError;
use crate::http_util::{
    HttpResponse, OAuthFailure, authorization, json_no_store, method_not_allowed,
};
use crate::store::{MAX_REGISTERED_CLIENTS, Shared, random_token};

/// `POST /register` with JSON client metadata.
pub(crate) fn register(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    handle(shared, request).unwrap_or_else(OAuthFailure::into_response)
}

fn handle(shared: &Shared, request: &Request<Vec<u8>>) -> Result<HttpResponse, OAuthFailure> {
    if let Some(expected) = &shared.initial_access_token {
        let presented = authorization(request.headers(), "Bearer").unwrap_or_default();
        if !ct_eq(presented.as_bytes(), expected.expose_secret().as_bytes()) {
            return Err(OAuthFailure::invalid_token(
                "registration needs the initial access token as Authorization: Bearer",
            ));
        }
    }
    let refuse = |error: ClientMetadataError| {
        OAuthFailure::new(error.code().clone(), error.description().to_owned())
    };
    let object = smart_core::json::parse_object(request.body()).map_err(|error| {
        refuse(ClientMetadataError::metadata(format!(
            "the body must be a JSON object of client metadata: {error}"
        )))
    })?;
    let metadata = Metadata::parse(&object).map_err(refuse)?;
    let secret = if matches!(
        metadata.method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    ) {
        Some(random_token()?)
    } else {
        None
    };
    let client_id = format!("dyn-{}", random_token()?);
    let client = metadata.into_client(client_id.clone(), secret.clone().unwrap_or_default());
    client.check().map_err(refuse)?;

    let mut body = client.metadata_json();
    let now = shared.now();
    body.insert("client_id_issued_at".into(), Value::from(now));
    if let Some(secret) = secret {
        body.insert("client_secret".into(), Value::from(secret));
        body.insert("client_secret_expires_at".into(), Value::from(0));
    }
    let mut state = shared.state();
    if state.registered >= MAX_REGISTERED_CLIENTS {
        return Err(OAuthFailure::new(
            smart_token::ErrorCode::TemporarilyUnavailable,
            format!("the sandbox registers at most {MAX_REGISTERED_CLIENTS} clients; restart it"),
        ));
    }
    state.registered += 1;
    state.clients.insert(client_id, client);
    drop(state);
    Ok(json_no_store(StatusCode::CREATED, &Value::Object(body)))
}
