//! The reqwest 0.13 transport of the async shell: rustls with the ring provider and Mozilla's
//! roots (as the ureq transport), redirects off, connect and total timeouts, no proxy from
//! the environment, and the body limit applied while reading.

use std::sync::Arc;

use crate::asynchronous::{AsyncHttpClient, HttpFuture};
use crate::transport::{HttpOptions, TransportError, TransportErrorKind, USER_AGENT};
use crate::{ClientConfig, ClientError, ClientType};

/// The default async transport: a reqwest client with connection pooling.
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    client: reqwest::Client,
    max_body_bytes: u64,
}

impl ReqwestClient {
    /// A client with `options`: its timeouts, no redirects, `User-Agent:
    /// smart-on-fhir/<version>`, TLS 1.2 or newer with Mozilla's roots, and no proxy unless
    /// configured (never from `HTTPS_PROXY` and friends).
    ///
    /// # Errors
    ///
    /// [`TransportError`] of kind [`TransportErrorKind::Request`] when the proxy URL is
    /// invalid or the client cannot be built.
    pub fn new(options: &HttpOptions) -> Result<Self, TransportError> {
        let client = Self::client_builder(options)?
            .build()
            .map_err(|error| TransportError::new(TransportErrorKind::Request, error))?;
        Ok(Self::with_client(client, options.get_max_body_bytes()))
    }

    /// The `reqwest::ClientBuilder` [`ReqwestClient::new`] starts from, to adjust before
    /// [`ReqwestClient::with_client`]: TLS (rustls with ring and Mozilla's roots, TLS 1.2 or
    /// newer), no redirects, the timeouts of `options`, and no proxy unless configured.
    ///
    /// This crate's reqwest has no TLS provider of its own (so that it brings no second one):
    /// a `reqwest::Client::builder()` without a preconfigured TLS backend cannot make a
    /// client. Start from this builder instead.
    ///
    /// # Errors
    ///
    /// [`TransportError`] of kind [`TransportErrorKind::Request`] when the proxy URL is
    /// invalid.
    pub fn client_builder(options: &HttpOptions) -> Result<reqwest::ClientBuilder, TransportError> {
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.get_connect_timeout())
            .timeout(options.get_timeout())
            .user_agent(USER_AGENT)
            .no_proxy();
        if let Some(proxy) = options.get_proxy() {
            let proxy = reqwest::Proxy::all(proxy).map_err(|_| {
                TransportError::with_detail(TransportErrorKind::Request, "the proxy URL is invalid")
            })?;
            builder = builder.proxy(proxy);
        }
        Ok(builder)
    }

    /// The caller's own reqwest client (its TLS, proxy and timeouts), best made from
    /// [`ReqwestClient::client_builder`]. Keep `redirect(Policy::none())`: the flows apply
    /// their own redirect policy, and a client that follows redirects would bypass it.
    #[must_use]
    pub fn with_client(client: reqwest::Client, max_body_bytes: u64) -> Self {
        Self {
            client,
            max_body_bytes,
        }
    }

    async fn exchange(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let request = reqwest::Request::try_from(request)
            .map_err(|error| TransportError::new(TransportErrorKind::Request, error))?;
        let mut response = self.client.execute(request).await.map_err(convert)?;
        let limit = self.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(too_large(limit));
        }
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = builder.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        // The announced length (already held to the limit) saves the regrowing.
        let announced = response.content_length().unwrap_or(0);
        let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(convert)? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        builder
            .body(body)
            .map_err(|error| TransportError::new(TransportErrorKind::Protocol, error))
    }
}

impl AsyncHttpClient for ReqwestClient {
    fn send(&self, request: http::Request<Vec<u8>>) -> HttpFuture<'_> {
        Box::pin(self.exchange(request))
    }
}

fn too_large(limit: u64) -> TransportError {
    TransportError::with_detail(
        TransportErrorKind::BodyTooLarge,
        format!("limit {limit} bytes"),
    )
}

/// rustls with ring and Mozilla's roots: the same trust and crypto as the ureq transport,
/// TLS 1.2 and 1.3 only.
fn tls_config() -> Result<rustls::ClientConfig, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| TransportError::new(TransportErrorKind::Tls, error))?;
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

fn convert(error: reqwest::Error) -> TransportError {
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if let Some(kind) = cause_kind(&error) {
        kind
    } else if error.is_connect() {
        TransportErrorKind::Connect
    } else if error.is_builder() {
        TransportErrorKind::Request
    } else if error.is_body() || error.is_decode() {
        TransportErrorKind::Io
    } else {
        // hyper's own errors: an answer that is not HTTP, or a connection closed mid-answer.
        TransportErrorKind::Protocol
    };
    TransportError::new(kind, error.without_url())
}

/// The kind named by the first telling cause in the chain: TLS (rustls' errors, which
/// tokio-rustls wraps in an I/O error), then the I/O error kinds the ureq transport maps too.
fn cause_kind(error: &reqwest::Error) -> Option<TransportErrorKind> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.is::<rustls::Error>() {
            return Some(TransportErrorKind::Tls);
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(<dyn std::error::Error + Send + Sync>::is::<rustls::Error>)
            {
                return Some(TransportErrorKind::Tls);
            }
            return Some(match io.kind() {
                std::io::ErrorKind::TimedOut => TransportErrorKind::Timeout,
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable => {
                    TransportErrorKind::Connect
                }
                _ => TransportErrorKind::Io,
            });
        }
        cause = current.source();
    }
    None
}

/// The async shell's constructor with this transport (here, so the shell itself knows no
/// HTTP stack).
impl crate::AsyncSmartClient {
    /// A client with the default async transport: reqwest with the configuration's timeouts
    /// and body limit, no redirects, no proxy from the environment.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when the client type needs a secret or key the configuration
    /// lacks; [`ClientError::Network`] when the HTTP client cannot be built (an invalid
    /// proxy URL).
    pub fn new(config: ClientConfig, client_type: ClientType) -> Result<Self, ClientError> {
        let transport =
            ReqwestClient::new(config.http_options()).map_err(|source| ClientError::Network {
                url: "proxy".to_owned(),
                source,
            })?;
        Self::with_http_client(config, client_type, transport)
    }
}
