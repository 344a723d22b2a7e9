//! The blocking shell: [`SmartClient`] drives the flows of [`SmartFlows`] over an
//! [`HttpClient`] (ureq by default). It only moves bytes; every decision is in the flows.

use std::sync::Arc;

use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::flow::Flow;
use crate::protocol::{ClientType, SmartFlows};
use crate::transport::HttpClient;

/// A blocking SMART on FHIR client for one server: discovery (lazy and cached), the
/// authorization request and callback, code exchange, refresh, Backend Services,
/// registration, introspection, revocation, `id_token` verification and FHIR requests.
///
/// Each method runs the [`SmartFlows`] method of the same name over an [`HttpClient`]: ureq
/// by default, a caller's `ureq::Agent`, or any closure; see there for what each checks and
/// returns. `Clone` is cheap: clones share the transport and the caches.
///
/// ```no_run
/// use smart_client::{AuthorizeOptions, ClientConfig, ClientType, SmartClient};
///
/// # fn main() -> Result<(), smart_client::ClientError> {
/// let config = ClientConfig::builder("https://ehr.example/fhir")
///     .client_id("growth-chart")
///     .redirect_uri("https://app.example/callback")
///     .scopes("launch/patient patient/Observation.rs openid fhirUser offline_access")
///     .build()?;
/// let client = SmartClient::new(config, ClientType::Public)?;
///
/// // 1. Send the user's browser to the authorization server; keep `pending` in the session.
/// let request = client.authorize(AuthorizeOptions::new())?;
/// let redirect_to = request.url().clone();
/// let pending = request.into_pending();
///
/// // 2. On the callback: check state, exchange the code.
/// let token = client.complete_authorization("https://app.example/callback?code=...&state=...", &pending)?;
/// println!("patient {:?}", token.context().patient());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct SmartClient {
    flows: SmartFlows,
    http: Arc<dyn HttpClient>,
}

impl core::fmt::Debug for SmartClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self { flows, http: _ } = self;
        f.debug_struct("SmartClient")
            .field("flows", flows)
            .finish_non_exhaustive()
    }
}

impl SmartClient {
    /// A client with the default transport: ureq with the configuration's timeouts and body
    /// limit, no redirects, no proxy from the environment.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when the client type needs a secret or key the configuration
    /// lacks; [`ClientError::Network`] when the configured proxy URL is invalid.
    #[cfg(feature = "ureq")]
    pub fn new(config: ClientConfig, client_type: ClientType) -> Result<Self, ClientError> {
        let transport =
            crate::ureq_client::UreqClient::new(config.http_options()).map_err(|source| {
                ClientError::Network {
                    url: "proxy".to_owned(),
                    source,
                }
            })?;
        Self::with_http_client(config, client_type, transport)
    }

    /// A client over the caller's `ureq::Agent` (its TLS, proxy and timeouts). Redirects are
    /// still never followed by the agent, and the body limit of the configuration applies.
    ///
    /// # Errors
    ///
    /// As [`SmartFlows::new`].
    #[cfg(feature = "ureq")]
    pub fn with_agent(
        config: ClientConfig,
        client_type: ClientType,
        agent: ureq::Agent,
    ) -> Result<Self, ClientError> {
        let limit = config.http_options().get_max_body_bytes();
        let transport = crate::ureq_client::UreqClient::with_agent(agent, limit);
        Self::with_http_client(config, client_type, transport)
    }

    /// A client over any [`HttpClient`], closures included.
    ///
    /// # Errors
    ///
    /// As [`SmartFlows::new`].
    pub fn with_http_client(
        config: ClientConfig,
        client_type: ClientType,
        http: impl HttpClient + 'static,
    ) -> Result<Self, ClientError> {
        Ok(Self::from_flows(
            SmartFlows::new(config, client_type)?,
            http,
        ))
    }

    /// A client that drives `flows` over `http`.
    #[must_use]
    pub fn from_flows(flows: SmartFlows, http: impl HttpClient + 'static) -> Self {
        Self {
            flows,
            http: Arc::new(http),
        }
    }

    fn run<T: Send + 'static>(&self, flow: Flow<T>) -> Result<T, ClientError> {
        flow.run_with(|request| self.http.send(request))
    }

    crate::shell::shell_operations!();
}
