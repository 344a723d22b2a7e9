//! One request and its redirect policy: the only place where answers are checked against the
//! body limit and redirects are followed or refused.

use http::header::LOCATION;
use smart_core::url::Url;
use smart_core::{TransportPolicy, display_url};

use crate::error::ClientError;
use crate::transport::{TransportError, TransportErrorKind};

/// How many redirects a discovery GET follows.
const MAX_REDIRECTS: usize = 3;

/// Why a redirect is refused, when it is.
const ON_POST: &str = "redirects are never followed on POST";
const WITH_TOKEN: &str = "redirects are not followed when a token is attached";

/// Whether a request may follow redirects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Redirects {
    /// GET of a public document: up to three hops, each allowed by the HTTPS rule.
    FollowGet(TransportPolicy),
    /// Everything else: a redirect is an error. The reason says why.
    Refuse(&'static str),
}

/// What an answer turned out to be.
pub(crate) enum Outcome {
    /// A redirect to follow: send this request next.
    Redirect(http::Request<Vec<u8>>),
    /// The final answer.
    Response(http::Response<Vec<u8>>),
}

/// A request on its way, with what is needed to judge its answer.
pub(crate) struct Fetch {
    request: Option<http::Request<Vec<u8>>>,
    redirects: Redirects,
    limit: u64,
    hops: usize,
    /// The URL of the request in flight, raw (to resolve a relative `Location`).
    raw_url: String,
    method: http::Method,
    headers: http::HeaderMap,
}

impl Fetch {
    fn new(request: http::Request<Vec<u8>>, redirects: Redirects, limit: u64) -> Self {
        Self {
            raw_url: request.uri().to_string(),
            method: request.method().clone(),
            // Only a followed redirect needs the headers again.
            headers: match redirects {
                Redirects::FollowGet(_) => request.headers().clone(),
                Redirects::Refuse(_) => http::HeaderMap::new(),
            },
            request: Some(request),
            redirects,
            limit,
            hops: 0,
        }
    }

    /// A GET of a public document (discovery, OpenID configuration, JWKS): redirects followed
    /// up to three hops, each target held to `policy`.
    pub(crate) fn public_get(
        request: http::Request<Vec<u8>>,
        policy: TransportPolicy,
        limit: u64,
    ) -> Self {
        Self::new(request, Redirects::FollowGet(policy), limit)
    }

    /// A POST (token, introspection, revocation, registration): a redirect is an error.
    pub(crate) fn post(request: http::Request<Vec<u8>>, limit: u64) -> Self {
        Self::new(request, Redirects::Refuse(ON_POST), limit)
    }

    /// A request carrying an access token: a redirect is an error.
    pub(crate) fn with_token(request: http::Request<Vec<u8>>, limit: u64) -> Self {
        Self::new(request, Redirects::Refuse(WITH_TOKEN), limit)
    }

    /// The request to send first; once only.
    pub(crate) fn take_request(&mut self) -> Result<http::Request<Vec<u8>>, ClientError> {
        self.request.take().ok_or(ClientError::FlowOutOfOrder {
            reason: "the request was already sent",
        })
    }

    /// Judges the answer to the request in flight.
    pub(crate) fn answer(
        &mut self,
        answer: Result<http::Response<Vec<u8>>, TransportError>,
    ) -> Result<Outcome, ClientError> {
        let method = &self.method;
        let limit = self.limit;
        // The URL is shown (redacted) only in an error or a debug line: a successful answer
        // costs no URL parse.
        let response = answer.map_err(|source| {
            let url = display_url(&self.raw_url);
            log::debug!("{method} {url} failed: {source}");
            if source.kind() == TransportErrorKind::BodyTooLarge {
                ClientError::ResponseTooLarge { url, limit }
            } else {
                ClientError::Network { url, source }
            }
        })?;
        if log::log_enabled!(log::Level::Debug) {
            log::debug!(
                "{method} {} -> {}",
                display_url(&self.raw_url),
                response.status().as_u16()
            );
        }
        if response.body().len() as u64 > limit {
            return Err(ClientError::ResponseTooLarge {
                url: display_url(&self.raw_url),
                limit,
            });
        }
        let is_redirect = matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308);
        let Some(location) = response.headers().get(LOCATION).filter(|_| is_redirect) else {
            return Ok(Outcome::Response(response));
        };
        let url = display_url(&self.raw_url);
        let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
        let target = Url::parse(&self.raw_url).and_then(|from| from.join(&location));
        let blocked = |to: String, reason: &'static str| ClientError::RedirectBlocked {
            from: url.clone(),
            to,
            reason,
        };
        let Ok(target) = target else {
            return Err(blocked(
                display_url(&location),
                "the Location header is not a valid URL",
            ));
        };
        let policy = match self.redirects {
            Redirects::Refuse(reason) => return Err(blocked(display_url(target.as_str()), reason)),
            Redirects::FollowGet(policy) => policy,
        };
        if self.hops == MAX_REDIRECTS {
            return Err(blocked(
                display_url(target.as_str()),
                "more than 3 redirects",
            ));
        }
        self.hops += 1;
        if policy.problem(&target).is_some() {
            return Err(blocked(
                display_url(target.as_str()),
                "the target is not https:// (or loopback http:// with allow_insecure_localhost)",
            ));
        }
        log::debug!(
            "following redirect {} to {}",
            response.status().as_u16(),
            display_url(target.as_str())
        );
        let mut next = http::Request::get(target.as_str())
            .body(Vec::new())
            .map_err(|_| {
                blocked(
                    display_url(target.as_str()),
                    "the target cannot be requested",
                )
            })?;
        *next.headers_mut() = self.headers.clone();
        self.raw_url = target.to_string();
        Ok(Outcome::Redirect(next))
    }
}
