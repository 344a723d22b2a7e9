//! Dynamic client registration (RFC 7591): where the request goes and what its answer
//! means for the client; the request and answer themselves are smart-token's.

use serde_json::{Map, Value};
use smart_core::EndpointUrl;
use smart_discovery::SmartConfiguration;
use smart_token::{AccessToken, Registration, RegistrationError, RegistrationRequest};

use super::SmartFlows;
use crate::config::ConfigError;
use crate::error::ClientError;
use crate::flow::{Fetch, Flow, Next};

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
        let request =
            RegistrationRequest::new(metadata, initial_access_token).map_err(ClientError::from);
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
        let request =
            RegistrationRequest::new(metadata, initial_access_token).map_err(ClientError::from);
        Flow::new(request.and_then(|request| self.registration(endpoint, request)))
    }

    fn registration(
        &self,
        endpoint: &EndpointUrl,
        request: RegistrationRequest,
    ) -> Result<Next<Registration>, ClientError> {
        self.inner
            .config
            .policy
            .check("registration_endpoint", endpoint.url())
            .map_err(|error| ConfigError::Urls(vec![error]))?;
        log::info!("Registering client via Dynamic Client Registration (RFC 7591)...");
        let http = request.build(endpoint)?;
        Ok(Next::fetch(
            Fetch::post(http, self.limit()),
            move |response| {
                Registration::parse(&response, request.redactions())
                    .map(Next::Done)
                    .map_err(registration_error)
            },
        ))
    }
}

/// smart-token's registration error as the client's (whose variants predate the move).
fn registration_error(error: RegistrationError) -> ClientError {
    match error {
        RegistrationError::Refused(oauth) => ClientError::Registration(oauth),
        RegistrationError::NoClientId { received_fields } => {
            ClientError::RegistrationResponse { received_fields }
        }
        RegistrationError::ClientId { found } => ClientError::RegisteredClientId { found },
        RegistrationError::Body(token) => ClientError::Token(token),
    }
}
