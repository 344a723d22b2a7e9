//! FHIR requests with the access token: only ever to URLs below the FHIR base, never through
//! a redirect.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value};
use smart_core::display_url;
use smart_core::json::parse_object;
use smart_core::url::Url;
use smart_token::{AccessToken, bearer_header};

use super::SmartFlows;
use crate::error::ClientError;
use crate::flow::{Fetch, Flow, Next};

impl SmartFlows {
    /// A FHIR request with the access token: `path` is relative to the FHIR base
    /// (`Patient/123`, `Observation?patient=123`) or an absolute URL below it (a Bundle's
    /// `next` link). The token is never sent anywhere else, and redirects are not followed.
    /// A `body` is sent as `application/fhir+json`. Any HTTP status is returned as a
    /// response.
    ///
    /// Errors: [`ClientError::ForeignUrl`] for a URL outside the FHIR base, transport errors.
    pub fn fhir_request(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Flow<http::Response<Vec<u8>>> {
        Flow::new(self.fhir_fetch(token, method, path, body))
    }

    /// A GET of [`SmartFlows::fhir_request`].
    pub fn fhir_get(&self, token: &AccessToken, path: &str) -> Flow<http::Response<Vec<u8>>> {
        self.fhir_request(token, http::Method::GET, path, None)
    }

    /// Reads one FHIR resource as JSON (see [`SmartFlows::fhir_request`]).
    ///
    /// Errors: [`ClientError::Fhir`] for a non-2xx status (401 says to refresh or
    /// re-authorize), [`ClientError::FhirBody`] for an answer that is not a JSON object.
    pub fn read_resource(&self, token: &AccessToken, path: &str) -> Flow<Map<String, Value>> {
        let read = self.fhir_url(path).and_then(|url| {
            let next = self.fetch_url(token, http::Method::GET, &url, None)?;
            let url = String::from(url);
            next.map(move |response| read_json(&url, &response))
        });
        Flow::new(read)
    }

    fn fhir_fetch(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Next<http::Response<Vec<u8>>>, ClientError> {
        self.fetch_url(token, method, &self.fhir_url(path)?, body)
    }

    /// The request to `url` (already held below the FHIR base by [`SmartFlows::fhir_url`]).
    fn fetch_url(
        &self,
        token: &AccessToken,
        method: http::Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Next<http::Response<Vec<u8>>>, ClientError> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(ACCEPT, "application/fhir+json, application/json")
            .header(AUTHORIZATION, bearer_header(token)?);
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/fhir+json");
        }
        let body = body.map(|body| serde_json::to_vec(body).unwrap_or_default());
        let request =
            request
                .body(body.unwrap_or_default())
                .map_err(|_| ClientError::ForeignUrl {
                    url: display_url(url.as_str()),
                    base: display_url(self.inner.config.base_url.as_str()),
                })?;
        Ok(Next::fetch(
            Fetch::with_token(request, self.limit()),
            |response| Ok(Next::Done(response)),
        ))
    }

    /// The URL of a FHIR request: `path` relative to the FHIR base, or an absolute URL.
    /// Either way the result must stay below the base (same origin, path under the base's
    /// path), checked after the URL parser has resolved dot segments, percent-encoded ones
    /// included.
    ///
    /// # Errors
    ///
    /// [`ClientError::ForeignUrl`] for a URL outside the FHIR base.
    pub fn fhir_url(&self, path: &str) -> Result<Url, ClientError> {
        let base = &self.inner.config.base_url;
        let foreign = |url: &str| ClientError::ForeignUrl {
            url: display_url(url),
            base: display_url(base.as_str()),
        };
        let candidate = match Url::parse(path) {
            Ok(absolute) => absolute,
            Err(_) if path.starts_with("//") => return Err(foreign(path)),
            Err(_) => {
                let (path_part, query) = match path.split_once('?') {
                    Some((path_part, query)) => (path_part, Some(query)),
                    None => (path, None),
                };
                let mut url = base.append_path(path_part);
                url.set_query(query);
                url
            }
        };
        // The base's path as a directory (`/r4/`), and its origin: compared part by part, as
        // `Url::origin` would, without building either (both are http or https URLs).
        let base_path = base.url().path().trim_end_matches('/');
        let below = candidate.path() == base_path
            || candidate
                .path()
                .strip_prefix(base_path)
                .is_some_and(|rest| rest.starts_with('/'));
        let same_origin = candidate.scheme() == base.url().scheme()
            && candidate.host() == base.url().host()
            && candidate.port_or_known_default() == base.url().port_or_known_default();
        if same_origin && below {
            Ok(candidate)
        } else {
            Err(foreign(candidate.as_str()))
        }
    }
}

/// A FHIR answer as a JSON object, or the typed error of its status or body: what
/// [`SmartFlows::read_resource`] ends with, for code that sent the request itself (a session
/// that retried it after a refresh). `url` names the request in the error, shown through
/// [`display_url`] (worked out only for an error, so pass it as it is).
///
/// # Errors
///
/// [`ClientError::Fhir`] for a non-2xx status, [`ClientError::FhirBody`] for an answer that is
/// not a JSON object.
pub fn read_json(
    url: &str,
    response: &http::Response<Vec<u8>>,
) -> Result<Map<String, Value>, ClientError> {
    if !response.status().is_success() {
        return Err(ClientError::Fhir {
            url: display_url(url),
            status: response.status().as_u16(),
        });
    }
    parse_object(response.body()).map_err(|reason| ClientError::FhirBody {
        url: display_url(url),
        reason,
    })
}
