//! Dynamic client registration (RFC 7591).

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value};
use smart_core::json::parse_object;
use smart_core::{EndpointUrl, Redactions, display_url};
use smart_discovery::SmartConfiguration;
use smart_token::{AccessToken, OAuthError, Operation, TokenError, bearer_header};

use super::SmartFlows;
use crate::config::ConfigError;
use crate::error::ClientError;
use crate::flow::{Fetch, Flow, Next};
use crate::registration::Registration;

impl SmartFlows {
    /// Registers a client (RFC 7591) at the discovered `registration_endpoint`: POSTs
    /// `metadata` as JSON, with `initial_access_token` as a Bearer token when given. Needs no
    /// `client_id` (a temporary client can register the real one).
    ///
    /// Errors: [`ClientError::NotAdvertised`], [`ClientError::Registration`] for the server's
    /// error, [`ClientError::RegistrationResponse`] for a 2xx without a `client_id`,
    /// [`ClientError::RegisteredClientId`] for one whose `client_id` is not a non-blank
    /// string.
    pub fn register(
        &self,
        metadata: &Map<String, Value>,
        initial_access_token: Option<&AccessToken>,
    ) -> Flow<Registration> {
        let request = registration_request_parts(metadata, initial_access_token);
        let flows = self.clone();
        Flow::new(
            self.discovered_endpoint(
                "registration_endpoint",
                SmartConfiguration::registration_endpoint,
            )
            .and_then(|endpoint| {
                endpoint.and_then(move |endpoint| flows.registration(&endpoint, request?))
            }),
        )
    }

    /// Registers a client at an explicit registration endpoint.
    ///
    /// Errors: as [`SmartFlows::register`]; [`ClientError::Config`] when `endpoint` breaks
    /// the HTTPS rule.
    pub fn register_at(
        &self,
        endpoint: &EndpointUrl,
        metadata: &Map<String, Value>,
        initial_access_token: Option<&AccessToken>,
    ) -> Flow<Registration> {
        let request = registration_request_parts(metadata, initial_access_token);
        Flow::new(request.and_then(|request| self.registration(endpoint, request)))
    }

    fn registration(
        &self,
        endpoint: &EndpointUrl,
        (body, bearer, redactions): (Vec<u8>, Option<http::HeaderValue>, Redactions),
    ) -> Result<Next<Registration>, ClientError> {
        self.inner
            .config
            .policy
            .check("registration_endpoint", endpoint.url())
            .map_err(|error| ConfigError::Urls(vec![error]))?;
        log::info!("Registering client via Dynamic Client Registration (RFC 7591)...");
        let mut request = http::Request::post(endpoint.url().as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body)
            .map_err(|_| TokenError::InvalidEndpoint {
                endpoint: "registration endpoint",
                url: display_url(endpoint.as_str()),
            })?;
        if let Some(bearer) = bearer {
            request.headers_mut().insert(AUTHORIZATION, bearer);
        }
        Ok(Next::fetch(
            Fetch::post(request, self.limit()),
            move |response| Ok(Next::Done(registration_response(&response, &redactions)?)),
        ))
    }
}

/// The JSON body, the Bearer header and the secrets of a registration request.
fn registration_request_parts(
    metadata: &Map<String, Value>,
    initial_access_token: Option<&AccessToken>,
) -> Result<(Vec<u8>, Option<http::HeaderValue>, Redactions), ClientError> {
    let body = serde_json::to_vec(metadata).unwrap_or_default();
    let bearer = initial_access_token.map(bearer_header).transpose()?;
    let mut redactions = Redactions::new();
    if let Some(token) = initial_access_token {
        redactions.secret(token.expose_secret());
    }
    Ok((body, bearer, redactions))
}

/// Reads a registration answer.
fn registration_response(
    response: &http::Response<Vec<u8>>,
    redactions: &Redactions,
) -> Result<Registration, ClientError> {
    if !response.status().is_success() {
        return Err(ClientError::Registration(
            OAuthError::from_response_redacting(
                Operation::Registration,
                response.status().as_u16(),
                response.body(),
                redactions,
            ),
        ));
    }
    let object = parse_object(response.body()).map_err(|reason| {
        ClientError::Token(TokenError::Body {
            operation: Operation::Registration,
            status: response.status().as_u16(),
            reason,
        })
    })?;
    Registration::from_object(object)
}
