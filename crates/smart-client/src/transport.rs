//! The HTTP transport: a small trait over `http` types, closures, and ureq.

use core::fmt;
use std::time::Duration;

/// The crate's version, sent in `User-Agent`.
pub const USER_AGENT: &str = concat!("smart-on-fhir/", env!("CARGO_PKG_VERSION"));

/// Whether a log record may show the bytes on the wire, secrets included.
///
/// This crate never logs a secret, but ureq does at [`log::Level::Trace`]: its HTTP/1.1 codec
/// (target `ureq_proto::util`) hex-dumps every byte it writes and reads (the `Authorization`
/// header, form bodies with client secrets and assertions, token answers), and ureq shows the
/// full request path and the `Location` header (an authorization code and `state`) whenever
/// trace is enabled for its own targets. Refuse these records in your logger's
/// [`log::Log::enabled`]: ureq asks before it un-redacts, so its debug lines stay redacted too.
///
/// ```
/// use log::{Log, Metadata, Record};
///
/// struct AppLogger;
///
/// impl Log for AppLogger {
///     fn enabled(&self, metadata: &Metadata<'_>) -> bool {
///         !smart_client::reveals_wire_data(metadata)
///     }
///     fn log(&self, record: &Record<'_>) {
///         if self.enabled(record.metadata()) {
///             eprintln!("{} {}: {}", record.level(), record.target(), record.args());
///         }
///     }
///     fn flush(&self) {}
/// }
///
/// let wire = Metadata::builder().level(log::Level::Trace).target("ureq_proto::util").build();
/// assert!(!AppLogger.enabled(&wire));
/// let ours = Metadata::builder().level(log::Level::Trace).target("smart_client::client").build();
/// assert!(AppLogger.enabled(&ours));
/// ```
#[must_use]
pub fn reveals_wire_data(metadata: &log::Metadata<'_>) -> bool {
    metadata.level() == log::Level::Trace && metadata.target().starts_with("ureq")
}

/// Sends one HTTP request and returns the answer, whatever its status.
///
/// Implementations must not follow redirects: the client applies its own redirect policy
/// (never on POST; on GET discovery at most three hops, HTTPS only). Closures implement it, so
/// tests and custom stacks can plug in without a new type:
///
/// ```
/// use smart_client::{HttpClient, TransportError};
///
/// let canned = |request: http::Request<Vec<u8>>| -> Result<http::Response<Vec<u8>>, TransportError> {
///     assert_eq!(request.method(), "GET");
///     Ok(http::Response::builder().status(200).body(b"{}".to_vec()).expect("static response"))
/// };
/// let response = canned.send(http::Request::get("https://ehr.example/x").body(Vec::new())?)?;
/// assert_eq!(response.status(), 200);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait HttpClient: Send + Sync {
    /// Sends `request` and reads the whole answer.
    ///
    /// Implementations should stop reading a body once it passes their size limit (the client
    /// refuses larger answers anyway, but only after the transport has returned them).
    ///
    /// # Errors
    ///
    /// [`TransportError`] when no complete answer arrives: connection, TLS, timeout, or a body
    /// over the size limit.
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError>;
}

impl<F> HttpClient for F
where
    F: Fn(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, TransportError> + Send + Sync,
{
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        self(request)
    }
}

/// What went wrong on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection could not be made or was refused.
    Connect,
    /// TLS failed (certificate, handshake).
    Tls,
    /// A configured time limit passed.
    Timeout,
    /// The connection broke while sending or reading.
    Io,
    /// The answer was not valid HTTP.
    Protocol,
    /// The answer's body is larger than the configured limit.
    BodyTooLarge,
    /// The request could not be sent as built (an invalid URI, for example).
    Request,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dns => "the host name did not resolve",
            Self::Connect => "the connection failed",
            Self::Tls => "TLS failed",
            Self::Timeout => "the request timed out",
            Self::Io => "the connection broke",
            Self::Protocol => "the answer is not valid HTTP",
            Self::BodyTooLarge => "the answer is larger than the configured limit",
            Self::Request => "the request could not be sent",
        })
    }
}

/// A request that got no complete answer. It never holds a request or response body.
#[derive(Debug, thiserror::Error)]
#[error("{kind}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
pub struct TransportError {
    kind: TransportErrorKind,
    detail: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransportError {
    /// An error of `kind`, with the underlying cause.
    #[must_use]
    pub fn new(
        kind: TransportErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            detail: None,
            source: Some(source.into()),
        }
    }

    /// An error of `kind` with a short explanation and no underlying cause.
    #[must_use]
    pub fn with_detail(kind: TransportErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
            source: None,
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

/// Limits for every HTTP call.
///
/// ureq sets no timeout by default; these do: 10 s to connect and 30 s for a whole call
/// (connect, send, and read the complete answer), and bodies over 4 MiB are refused while
/// being read, never held whole. Timeouts longer than [`HttpOptions::MAX_TIMEOUT`] (24 hours)
/// are cut to it.
///
/// `Debug` shows the proxy without its credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpOptions {
    connect_timeout: Duration,
    timeout: Duration,
    max_body_bytes: u64,
    proxy: Option<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 4 * 1024 * 1024,
            proxy: None,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            connect_timeout,
            timeout,
            max_body_bytes,
            proxy,
        } = self;
        f.debug_struct("HttpOptions")
            .field("connect_timeout", connect_timeout)
            .field("timeout", timeout)
            .field("max_body_bytes", max_body_bytes)
            .field(
                "proxy",
                // With any `user:password@` part replaced, with or without a scheme.
                &proxy.as_deref().map(smart_core::display_url),
            )
            .finish()
    }
}

impl HttpOptions {
    /// The longest timeout kept: 24 hours. Longer ones (up to `Duration::MAX`) are cut to it,
    /// so that computing a deadline can never overflow.
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

    /// The default limits.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Time allowed to set up a connection (DNS, TCP, TLS); at most
    /// [`HttpOptions::MAX_TIMEOUT`].
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.min(Self::MAX_TIMEOUT);
        self
    }

    /// Time allowed for a whole call, from connecting to the last byte of the answer; at most
    /// [`HttpOptions::MAX_TIMEOUT`].
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(Self::MAX_TIMEOUT);
        self
    }

    /// Largest answer body accepted.
    #[must_use]
    pub fn max_body_bytes(mut self, limit: u64) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// A proxy such as `http://proxy.example:3128`. Proxies are never read from the
    /// environment (`HTTPS_PROXY` and friends); set one here to use one. Credentials in it
    /// (`http://user:password@proxy:3128`) never show in `Debug`.
    #[must_use]
    pub fn proxy(mut self, proxy: impl Into<String>) -> Self {
        self.proxy = Some(proxy.into());
        self
    }

    /// The connect timeout.
    #[must_use]
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The timeout of a whole call.
    #[must_use]
    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// The body limit.
    #[must_use]
    pub fn get_max_body_bytes(&self) -> u64 {
        self.max_body_bytes
    }

    /// The configured proxy, if any (it may hold credentials: do not print it).
    #[must_use]
    pub fn get_proxy(&self) -> Option<&str> {
        self.proxy.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_proxy_credentials() {
        for proxy in [
            "http://user:pa55word@proxy:3128",
            "user:pa55word@proxy:3128",
            "socks5://user:pa55word@proxy:1080/",
            "http://user:pa55/word@proxy:3128",
            "http://user:pa55#word@proxy:3128",
            "user:pa55/word@proxy:3128",
        ] {
            let options = HttpOptions::new().proxy(proxy);
            let text = format!("{options:?} {options:#?}");
            assert!(!text.contains("pa55"), "{text}");
            assert!(text.contains("proxy:"), "{text}");
        }
        let plain = HttpOptions::new().proxy("http://proxy.example:3128");
        assert!(format!("{plain:?}").contains("http://proxy.example:3128"));
    }

    #[test]
    fn huge_timeouts_are_cut_to_the_maximum() {
        let options = HttpOptions::new()
            .timeout(Duration::MAX)
            .connect_timeout(Duration::MAX);
        assert_eq!(options.get_timeout(), HttpOptions::MAX_TIMEOUT);
        assert_eq!(options.get_connect_timeout(), HttpOptions::MAX_TIMEOUT);
        let options = HttpOptions::new().timeout(Duration::from_secs(5));
        assert_eq!(options.get_timeout(), Duration::from_secs(5));
    }
}
