//! The running server: a thread with a tokio runtime, an accept loop that counts connections,
//! hyper's HTTP/1.1 (keep-alive) on each, and the routes.

use core::convert::Infallible;
use core::fmt;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use http::header::{CONNECTION, CONTENT_LENGTH};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use smart_jwt_assertion::{Algorithm, JwkSet, KeySigner};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::context::LaunchContext;
use crate::demo;
use crate::error::SandboxError;
use crate::http_util::{HttpResponse, OAuthFailure, method_not_allowed, not_found, server_error};
use crate::sandbox_config::SandboxConfig;
use crate::store::{Shared, State, mint_launch};
use crate::{MAX_BODY_BYTES, MAX_HEAD_BYTES, authorize, fhir, metadata, registration, token};

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to send a request body.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutting down waits for requests in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running SMART authorization server and FHIR endpoint on `127.0.0.1`.
///
/// Dropping it shuts it down (as does [`Sandbox::shutdown`]). See the crate docs for the
/// endpoints and what each enforces.
pub struct Sandbox {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            shared,
            stop: _,
            thread: _,
        } = self;
        f.debug_struct("Sandbox")
            .field("base_url", &shared.base)
            .field("connections", &shared.connections.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox on `127.0.0.1` at a free port, with the demo clients, approving every
    /// valid authorization request at once.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Bind`] or [`SandboxError::Runtime`] when the server cannot start.
    pub fn start() -> Result<Self, SandboxError> {
        Self::start_with(SandboxConfig::default())
    }

    /// Starts a sandbox configured by `config`.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Bind`] or [`SandboxError::Runtime`] when the server cannot start;
    /// [`SandboxError::InvalidClient`] or [`SandboxError::DuplicateClient`] when a client
    /// cannot be registered.
    pub fn start_with(config: SandboxConfig) -> Result<Self, SandboxError> {
        let SandboxConfig {
            port,
            interactive,
            login,
            max_pending,
            demo_clients,
            clients,
            clock,
            initial_access_token,
            udap,
            tokens,
        } = config;
        let listener = StdListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .map_err(|source| SandboxError::Bind { port, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { port, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| SandboxError::Bind { port, source })?;
        let base = format!("http://{address}");

        let mut registered = HashMap::new();
        let demo = if demo_clients {
            demo::clients(&base)
        } else {
            Vec::new()
        };
        for client in demo.into_iter().chain(clients) {
            client
                .check()
                .map_err(|source| SandboxError::InvalidClient {
                    client_id: client.client_id().to_owned(),
                    source,
                })?;
            let client_id = client.client_id().to_owned();
            if registered.insert(client_id.clone(), client).is_some() {
                return Err(SandboxError::DuplicateClient { client_id });
            }
        }

        let (id_token_signer, jwks) = id_token_key();
        let client_jwks = serde_json::to_value(demo::client_jwks()).unwrap_or_default();

        let udap = udap
            .map(|mode| crate::udap_state::UdapServer::start(mode, &base))
            .transpose()
            .map_err(|reason| SandboxError::Runtime {
                source: std::io::Error::other(reason),
            })?;
        let shared = Arc::new(Shared {
            base,
            interactive,
            login,
            max_pending,
            initial_access_token,
            connections: 0.into(),
            id_token_signer,
            jwks,
            client_jwks,
            clock,
            offset: std::sync::Mutex::default(),
            tokens,
            token_counters: crate::token_policy::TokenCounters::default(),
            state: std::sync::Mutex::new(State {
                clients: registered,
                ..State::default()
            }),
            udap,
        });

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(16)
            .thread_name("smart-sandbox-handler")
            .build()
            .map_err(|source| SandboxError::Runtime { source })?;
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener).map_err(|source| SandboxError::Runtime { source })?
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("smart-sandbox".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::spawn(accept_loop(listener, server));
                    // A send or a dropped sender both mean: stop.
                    let _ = stopped.await;
                });
                runtime.shutdown_timeout(SHUTDOWN_GRACE);
            })
            .map_err(|source| SandboxError::Runtime { source })?;
        log::debug!("smart-sandbox listening on {}", shared.base);
        Ok(Self {
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The UDAP mode's PKI (the trust community), when the mode is on: issue client
    /// certificates from it, and trust its root.
    #[must_use]
    pub fn udap_pki(&self) -> Option<&Arc<smart_udap::test_util::TestPki>> {
        self.shared
            .udap
            .as_ref()
            .map(crate::udap_state::UdapServer::pki)
    }

    /// What the server threads share (for the accessors defined in other files).
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The FHIR base URL, which is also the issuer: `http://127.0.0.1:PORT`, without a
    /// trailing slash. The `aud` of authorization requests must be exactly this.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.shared.base
    }

    /// The port the sandbox listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.shared
            .base
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_default()
    }

    /// The token endpoint, exactly as advertised: the `aud` of client assertions.
    #[must_use]
    pub fn token_url(&self) -> String {
        self.shared.token_url()
    }

    /// The authorization endpoint, exactly as advertised.
    #[must_use]
    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.shared.base)
    }

    /// How many TCP connections the sandbox has accepted so far. A client that keeps its
    /// connection alive makes many requests over one.
    #[must_use]
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// A fresh `launch` value for an EHR launch bound to `context`, valid for an hour. An
    /// authorization request that carries it (with the `launch` scope) gets `context` in its
    /// token response.
    #[must_use]
    pub fn launch(&self, context: LaunchContext) -> String {
        mint_launch(&self.shared, context)
    }

    /// The URL an EHR opens to launch an app: `app_launch_url` with `iss` (this sandbox's
    /// base URL) and a fresh `launch` bound to `context` added to its query.
    ///
    /// # Errors
    ///
    /// [`SandboxError::LaunchUrl`] when `app_launch_url` is not an absolute URL.
    pub fn ehr_launch_url(
        &self,
        app_launch_url: &str,
        context: LaunchContext,
    ) -> Result<String, SandboxError> {
        let mut url =
            url::Url::parse(app_launch_url).map_err(|source| SandboxError::LaunchUrl {
                url: app_launch_url.to_owned(),
                source,
            })?;
        let launch = self.launch(context);
        url.query_pairs_mut()
            .append_pair("iss", self.base_url())
            .append_pair("launch", &launch);
        Ok(url.into())
    }

    /// Moves the sandbox's clock forward, so that tests can expire codes (60 s), assertions
    /// and tokens without sleeping. Whole seconds count.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
    }

    /// Blocks until the sandbox stops: for `smart sandbox --port N`, which runs until the
    /// process is interrupted.
    pub fn wait(mut self) {
        let _keep_running = self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops the server and waits (a few seconds at most) for requests in progress.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// The sandbox's RS256 signer for `id_token`s, and its JWK Set.
fn id_token_key() -> (KeySigner, serde_json::Value) {
    let key = demo::id_token_key();
    let signer = key
        .signer(Some(Algorithm::Rs256))
        .expect("an RSA key signs RS256");
    let jwk = key
        .public_jwk(Some(demo::ID_TOKEN_KID))
        .with_alg(Algorithm::Rs256)
        .expect("an RSA key can be published for RS256");
    let jwks = serde_json::to_value(JwkSet::from(jwk)).unwrap_or_default();
    (signer, jwks)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: wait, then keep serving.
                log::warn!("smart-sandbox: accepting a connection failed: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |request| serve(Arc::clone(&shared), request));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_header_size(MAX_HEAD_BYTES)
                .max_buf_size(MAX_HEAD_BYTES + MAX_BODY_BYTES)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = connection {
                log::debug!("smart-sandbox: connection ended: {error}");
            }
        });
    }
}

/// One request: read the body (bounded), run the handler off the runtime thread, log method,
/// path and status (never the query, the headers or the body: they carry secrets).
async fn serve(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = match read_body(request).await {
        Ok(request) => tokio::task::spawn_blocking(move || route(&shared, &request))
            .await
            .unwrap_or_else(|_| server_error()),
        Err(response) => response,
    };
    log::debug!("{method} {path} -> {}", response.status().as_u16());
    Ok(response.map(|body| Full::new(Bytes::from(body))))
}

/// The request with its body in memory, or the response refusing it.
async fn read_body(request: Request<Incoming>) -> Result<Request<Vec<u8>>, HttpResponse> {
    let too_large = || {
        let mut response = OAuthFailure::invalid_request(format!(
            "the request body is larger than {MAX_BODY_BYTES} bytes"
        ))
        .into_response();
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        response
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let collected = tokio::time::timeout(
        BODY_READ_TIMEOUT,
        Limited::new(body, MAX_BODY_BYTES).collect(),
    )
    .await;
    match collected {
        Ok(Ok(collected)) => Ok(Request::from_parts(parts, collected.to_bytes().to_vec())),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(_)) => {
            Err(OAuthFailure::invalid_request("the request body could not be read").into_response())
        }
        Err(_) => {
            let mut response =
                OAuthFailure::invalid_request("the request body did not arrive in time")
                    .into_response();
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
    }
}

/// The routes.
fn route(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    let mut response = crate::cors::preflight(request).unwrap_or_else(|| dispatch(shared, request));
    crate::cors::allow(request, &mut response);
    response
}

fn dispatch(shared: &Shared, request: &Request<Vec<u8>>) -> HttpResponse {
    let get_only = |respond: &dyn Fn() -> HttpResponse| {
        if request.method() == http::Method::GET {
            respond()
        } else {
            method_not_allowed("GET")
        }
    };
    match request.uri().path() {
        "/.well-known/smart-configuration" => get_only(&|| metadata::smart_configuration(shared)),
        "/.well-known/openid-configuration" => get_only(&|| metadata::openid_configuration(shared)),
        "/jwks" => get_only(&|| metadata::jwks(&shared.jwks)),
        demo::CLIENT_JWKS_PATH => get_only(&|| metadata::jwks(&shared.client_jwks)),
        "/smart-style.json" => get_only(&metadata::style),
        "/metadata" => get_only(&|| metadata::capability_statement(shared)),
        "/authorize" => authorize::authorize(shared, request),
        "/authorize/decision" => authorize::decision(shared, request),
        "/authorize/login" => crate::login::login(shared, request),
        "/launcher" => crate::launcher::launcher(shared, request),
        "/token" => token::token(shared, request),
        "/introspect" => token::introspect(shared, request),
        "/revoke" => token::revoke(shared, request),
        "/register" => registration::register(shared, request),
        "/.well-known/udap" => crate::udap::well_known(shared, request),
        "/udap/register" => crate::udap::register(shared, request),
        "/udap/token" => crate::udap::token(shared, request),
        _ => fhir::route(shared, request).unwrap_or_else(not_found),
    }
}

// What the token endpoint counted (`token_policy.rs`).
impl Sandbox {
    /// The token requests `client_id` has made since the start (or the last
    /// [`reset_token_requests`](Self::reset_token_requests)), by grant.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sandbox = smart_sandbox::Sandbox::start()?;
    /// let counts = sandbox.token_requests(smart_sandbox::demo::PUBLIC_CLIENT_ID);
    /// assert_eq!(counts.total(), 0);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn token_requests(&self, client_id: &str) -> crate::TokenRequestCounts {
        self.shared().token_counters.get(client_id)
    }

    /// Sets every client's token-request counters back to zero.
    pub fn reset_token_requests(&self) {
        self.shared().token_counters.reset();
    }
}

// The EHR launcher page (`launcher.rs`).
impl Sandbox {
    /// The URL of the launcher page for the app whose launch URL is `app_launch_url`: a page
    /// with a patient picker and a Launch button, which sends the browser to
    /// `app_launch_url?iss=..&launch=..`.
    #[must_use]
    pub fn launcher_url(&self, app_launch_url: &str) -> String {
        let mut url = format!("{}/launcher", self.base_url());
        url.push('?');
        url.push_str(&smart_core::form::encode([("launch_url", app_launch_url)]));
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sandbox_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Sandbox>();
        shareable::<SandboxConfig>();
    }

    #[test]
    fn an_absurd_clock_does_not_panic() {
        let sandbox = Sandbox::start().expect("starts");
        sandbox.advance_clock(Duration::MAX);
        let launch = sandbox.launch(LaunchContext::demo());
        assert!(!launch.is_empty());
        assert!(sandbox.shared.now() > 0);
    }
}
