//! The ureq 3 transport, with a resolver of our own: ureq's default resolver starts a thread
//! for every request whenever a timeout is set (even over a kept-alive connection to an IP
//! literal). Ours answers IP literals without any lookup and keeps a name's addresses for a
//! short while, so a pooled connection costs no thread; the connect timeout still holds.

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::transport::{HttpClient, HttpOptions, TransportError, TransportErrorKind, USER_AGENT};

/// The default transport: a ureq 3 agent with connection pooling (one TCP connection is
/// reused for discovery, token calls and FHIR reads to the same host).
#[derive(Debug, Clone)]
pub struct UreqClient {
    agent: ureq::Agent,
    max_body_bytes: u64,
    /// The whole-call timeout this transport set, named when a call times out.
    timeout: Option<Duration>,
}

impl UreqClient {
    /// An agent with `options`: its timeouts, no redirects, non-2xx answers returned as
    /// answers, `User-Agent: smart-on-fhir/<version>`, no proxy unless configured, and a
    /// resolver that needs no thread per request.
    ///
    /// # Errors
    ///
    /// [`TransportError`] of kind [`TransportErrorKind::Request`] when the proxy URL is
    /// invalid.
    pub fn new(options: &HttpOptions) -> Result<Self, TransportError> {
        let proxy = match options.get_proxy() {
            None => None,
            Some(url) => Some(ureq::Proxy::new(url).map_err(|_| {
                TransportError::with_detail(TransportErrorKind::Request, "the proxy URL is invalid")
            })?),
        };
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(options.get_connect_timeout()))
            .timeout_global(Some(options.get_timeout()))
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(proxy)
            .user_agent(USER_AGENT)
            .build();
        let agent =
            ureq::Agent::with_parts(config, DefaultConnector::new(), CachingResolver::default());
        Ok(Self {
            agent,
            max_body_bytes: options.get_max_body_bytes(),
            timeout: Some(options.get_timeout()),
        })
    }

    /// The caller's own agent (its TLS, proxy, timeouts and resolver). Redirects are still
    /// never followed by ureq, and non-2xx answers are still read, whatever the agent says.
    #[must_use]
    pub fn with_agent(agent: ureq::Agent, max_body_bytes: u64) -> Self {
        Self {
            agent,
            max_body_bytes,
            timeout: None,
        }
    }

    /// ureq's error as ours, naming the configured timeout when one passed.
    fn error(&self, error: ureq::Error) -> TransportError {
        let converted = convert(error);
        match (converted.kind(), self.timeout) {
            (TransportErrorKind::Timeout, Some(timeout)) => TransportError::with_detail(
                TransportErrorKind::Timeout,
                format!("after {} s", timeout.as_secs()),
            ),
            _ => converted,
        }
    }
}

impl HttpClient for UreqClient {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let request = self
            .agent
            .configure_request(request)
            .max_redirects(0)
            .http_status_as_error(false)
            .build();
        let response = self.agent.run(request).map_err(|error| self.error(error))?;
        let (parts, body) = response.into_parts();
        let limit = self.max_body_bytes;
        // Read one byte past the limit to tell "exactly the limit" from "over it", without
        // ever holding more than limit + 1 bytes.
        let mut bytes = Vec::new();
        body.into_with_config()
            .limit(limit.saturating_add(1))
            .reader()
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|error| self.error(ureq::Error::from(error)))?;
        if bytes.len() as u64 > limit {
            return Err(TransportError::with_detail(
                TransportErrorKind::BodyTooLarge,
                format!("limit {limit} bytes"),
            ));
        }
        Ok(http::Response::from_parts(parts, bytes))
    }
}

/// How long a name's addresses are kept.
const NAME_TTL: Duration = Duration::from_secs(30);
/// How many names are kept at most (a client talks to a handful of hosts).
const MAX_NAMES: usize = 64;

/// When a name was looked up, and its addresses.
type Resolved = (Instant, Vec<SocketAddr>);

/// IP literals without a lookup; names looked up (within the timeout) and kept for
/// [`NAME_TTL`].
#[derive(Debug, Default)]
struct CachingResolver {
    names: Arc<Mutex<HashMap<String, Resolved>>>,
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let authority = uri.authority().ok_or(ureq::Error::HostNotFound)?;
        let port = authority
            .port_u16()
            .or_else(|| match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            })
            .ok_or(ureq::Error::HostNotFound)?;
        let host = authority.host();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let addrs = if let Ok(ip) = literal.parse::<IpAddr>() {
            vec![SocketAddr::new(ip, port)]
        } else {
            self.lookup(&format!("{host}:{port}"), timeout)?
        };
        let mut result = self.empty();
        for addr in config.ip_family().keep_wanted(addrs.into_iter()).take(16) {
            result.push(addr);
        }
        if result.is_empty() {
            Err(ureq::Error::HostNotFound)
        } else {
            Ok(result)
        }
    }
}

impl CachingResolver {
    fn lookup(&self, name: &str, timeout: NextTimeout) -> Result<Vec<SocketAddr>, ureq::Error> {
        let now = Instant::now();
        {
            let names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((at, addrs)) = names.get(name)
                && now.duration_since(*at) < NAME_TTL
            {
                return Ok(addrs.clone());
            }
        }
        let addrs = resolve_within(name, timeout)?;
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        if names.len() >= MAX_NAMES {
            names.retain(|_, (at, _)| now.duration_since(*at) < NAME_TTL);
            if names.len() >= MAX_NAMES {
                names.clear();
            }
        }
        names.insert(name.to_owned(), (now, addrs.clone()));
        Ok(addrs)
    }
}

/// A system lookup bounded by the timeout (on a thread, as the system resolver blocks).
fn resolve_within(name: &str, timeout: NextTimeout) -> Result<Vec<SocketAddr>, ureq::Error> {
    if timeout.after.is_not_happening() {
        return Ok(name.to_socket_addrs()?.collect());
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let owned = name.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(owned.to_socket_addrs().map(Iterator::collect::<Vec<_>>));
    });
    match rx.recv_timeout(*timeout.after) {
        Ok(addrs) => Ok(addrs?),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(ureq::Error::Timeout(timeout.reason)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(ureq::Error::HostNotFound),
    }
}

pub(crate) fn convert(error: ureq::Error) -> TransportError {
    if matches!(error, ureq::Error::TlsRequired) {
        return TransportError::with_detail(
            TransportErrorKind::Tls,
            "this build has no TLS provider for https: enable the `rustls` feature, or pass \
             an agent with TLS to `with_agent`",
        );
    }
    let kind = match &error {
        ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
        ureq::Error::HostNotFound => TransportErrorKind::Dns,
        ureq::Error::ConnectionFailed | ureq::Error::ConnectProxyFailed(_) => {
            TransportErrorKind::Connect
        }
        ureq::Error::Tls(_) => TransportErrorKind::Tls,
        #[cfg(feature = "rustls")]
        ureq::Error::Rustls(_) => TransportErrorKind::Tls,
        ureq::Error::Io(io) if is_failed_lookup(io) => TransportErrorKind::Dns,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            TransportErrorKind::Timeout
        }
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            ) =>
        {
            TransportErrorKind::Connect
        }
        ureq::Error::Io(_) => TransportErrorKind::Io,
        ureq::Error::BodyExceedsLimit(_) => TransportErrorKind::BodyTooLarge,
        ureq::Error::Protocol(_) | ureq::Error::LargeResponseHeader(..) => {
            TransportErrorKind::Protocol
        }
        ureq::Error::BadUri(_) | ureq::Error::Http(_) | ureq::Error::InvalidProxyUrl => {
            TransportErrorKind::Request
        }
        _ => TransportErrorKind::Io,
    };
    TransportError::new(kind, error)
}

/// Whether an I/O error is the system resolver's "no such host" (std reports a failed
/// `getaddrinfo` as a plain I/O error, worded by the C library).
fn is_failed_lookup(error: &std::io::Error) -> bool {
    let text = error.to_string();
    [
        "failed to lookup address",
        "Name or service not known",
        "nodename nor servname",
        "No address associated with hostname",
        "Temporary failure in name resolution",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_without_a_tls_provider_says_how_to_get_one() {
        let error = convert(ureq::Error::TlsRequired);
        assert_eq!(error.kind(), TransportErrorKind::Tls);
        let text = error.to_string();
        assert!(
            text.starts_with("TLS failed (this build has no TLS provider"),
            "{text}"
        );
        assert!(text.contains("`rustls` feature"), "{text}");
    }

    #[test]
    fn a_failed_lookup_is_a_dns_error_and_a_timeout_names_its_limit() {
        let lookup = std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        );
        assert_eq!(
            convert(ureq::Error::Io(lookup)).kind(),
            TransportErrorKind::Dns
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            convert(ureq::Error::Io(refused)).kind(),
            TransportErrorKind::Connect
        );
        let options = HttpOptions::new().timeout(Duration::from_secs(7));
        let client = UreqClient::new(&options).unwrap();
        let error = client.error(ureq::Error::Timeout(ureq::Timeout::Global));
        assert_eq!(error.kind(), TransportErrorKind::Timeout);
        assert_eq!(error.to_string(), "the request timed out (after 7 s)");
    }

    fn resolve(resolver: &CachingResolver, uri: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let uri: Uri = uri.parse().expect("test URI");
        let config = ureq::Agent::config_builder().build();
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from_secs(5),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        resolver
            .resolve(&uri, &config, timeout)
            .map(|addrs| addrs.iter().copied().collect())
    }

    #[test]
    fn ip_literals_need_no_lookup_and_names_are_kept() {
        let resolver = CachingResolver::default();
        assert_eq!(
            resolve(&resolver, "http://127.0.0.1:8080/x").unwrap(),
            vec!["127.0.0.1:8080".parse().unwrap()]
        );
        assert_eq!(
            resolve(&resolver, "https://[::1]/x").unwrap(),
            vec!["[::1]:443".parse().unwrap()]
        );
        assert!(
            resolver.names.lock().unwrap().is_empty(),
            "no lookup for IP literals"
        );
        let first = resolve(&resolver, "http://localhost:9/x").unwrap();
        assert!(
            first.iter().all(|addr| addr.ip().is_loopback()),
            "{first:?}"
        );
        assert_eq!(resolver.names.lock().unwrap().len(), 1);
        assert_eq!(resolve(&resolver, "http://localhost:9/x").unwrap(), first);
    }
}
