//! The async shell: [`AsyncSmartClient`] drives the flows of [`SmartFlows`] over an
//! [`AsyncHttpClient`] (reqwest with feature `reqwest`, or any closure returning a future).
//! It only moves bytes; every decision is in the flows, shared with the blocking shell.

use core::future::Future;
use core::pin::Pin;
use std::sync::Arc;

use crate::config::ClientConfig;
use crate::error::ClientError;
use crate::flow::Flow;
use crate::protocol::{ClientType, SmartFlows};
use crate::transport::TransportError;

/// The future of one HTTP exchange: `Send`, so the client works in axum handlers and
/// `tokio::spawn`ed tasks.
pub type HttpFuture<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Vec<u8>>, TransportError>> + Send + 'a>>;

/// Sends one HTTP request asynchronously and returns the answer, whatever its status.
///
/// As with [`crate::HttpClient`], implementations must not follow redirects (the flows apply
/// their own policy) and should stop reading a body past their size limit. Closures that
/// return a `Send` future implement it:
///
/// ```
/// use smart_client::{AsyncHttpClient, TransportError};
///
/// let canned = |request: http::Request<Vec<u8>>| async move {
///     assert_eq!(request.method(), "GET");
///     Ok::<_, TransportError>(
///         http::Response::builder().status(200).body(b"{}".to_vec()).expect("static response"),
///     )
/// };
/// let _future = canned.send(http::Request::get("https://ehr.example/x").body(Vec::new())?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AsyncHttpClient: Send + Sync {
    /// Sends `request` and reads the whole answer.
    ///
    /// The future fails with a [`TransportError`] when no complete answer arrives:
    /// connection, TLS, timeout, or a body over the size limit.
    fn send(&self, request: http::Request<Vec<u8>>) -> HttpFuture<'_>;
}

impl<F, Fut> AsyncHttpClient for F
where
    F: Fn(http::Request<Vec<u8>>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<http::Response<Vec<u8>>, TransportError>> + Send + 'static,
{
    fn send(&self, request: http::Request<Vec<u8>>) -> HttpFuture<'_> {
        Box::pin(self(request))
    }
}

/// An async SMART on FHIR client for one server: the same operations as the blocking
/// [`crate::SmartClient`], with the same checks, errors, caches and log events, as `async`
/// methods whose futures are `Send`.
///
/// `Clone` is cheap: clones share the transport and the caches.
///
/// ```no_run
/// use smart_client::{AsyncSmartClient, AuthorizeOptions, ClientConfig, ClientType};
///
/// # async fn run() -> Result<(), smart_client::ClientError> {
/// let config = ClientConfig::builder("https://ehr.example/fhir")
///     .client_id("growth-chart")
///     .redirect_uri("https://app.example/callback")
///     .scopes("launch/patient patient/Observation.rs openid fhirUser offline_access")
///     .build()?;
/// let client = AsyncSmartClient::new(config, ClientType::Public)?; // reqwest
///
/// let request = client.authorize(AuthorizeOptions::new()).await?;
/// let pending = request.into_pending(); // keep it in the session
/// let token = client
///     .complete_authorization("https://app.example/callback?code=...&state=...", &pending)
///     .await?;
/// println!("patient {:?}", token.context().patient());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncSmartClient {
    flows: SmartFlows,
    http: Arc<dyn AsyncHttpClient>,
}

impl core::fmt::Debug for AsyncSmartClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self { flows, http: _ } = self;
        f.debug_struct("AsyncSmartClient")
            .field("flows", flows)
            .finish_non_exhaustive()
    }
}

impl AsyncSmartClient {
    /// A client over any [`AsyncHttpClient`], closures included.
    ///
    /// # Errors
    ///
    /// As [`SmartFlows::new`].
    pub fn with_http_client(
        config: ClientConfig,
        client_type: ClientType,
        http: impl AsyncHttpClient + 'static,
    ) -> Result<Self, ClientError> {
        Ok(Self::from_flows(
            SmartFlows::new(config, client_type)?,
            http,
        ))
    }

    /// A client that drives `flows` over `http` (share one [`SmartFlows`], and so its caches,
    /// with a blocking client).
    #[must_use]
    pub fn from_flows(flows: SmartFlows, http: impl AsyncHttpClient + 'static) -> Self {
        Self {
            flows,
            http: Arc::new(http),
        }
    }

    async fn run<T: Send + 'static>(&self, flow: Flow<T>) -> Result<T, ClientError> {
        flow.run_async(|request| self.http.send(request)).await
    }

    crate::shell::shell_operations!(async, .await);
}
