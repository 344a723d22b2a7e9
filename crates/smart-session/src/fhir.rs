//! FHIR requests through a session: the access token the session holds (refreshed ahead of
//! expiry), one forced refresh and one retry when the server answers 401, and `Bundle`
//! paging that follows `next` links. The token only goes below the FHIR base: the client
//! shells refuse any other URL, a `next` link on another host included, before sending it.

use std::collections::HashSet;

use serde_json::{Map, Value};
use smart_client::{ClientError, read_fhir_json};
use smart_core::display_url;
use smart_token::AccessToken;

use crate::async_session::AsyncSession;
use crate::error::SessionError;
use crate::session::Session;
use crate::source::{AsyncFhirSource, FhirSource};

/// The pages a search follows at most unless told otherwise ([`BundlePages::max_pages`]).
pub const DEFAULT_MAX_PAGES: usize = 1000;

fn fhir_error(source: ClientError) -> SessionError {
    SessionError::Fhir {
        source: source.into(),
    }
}

/// Whether the server rejected the token itself (so one refresh and one retry may help).
fn rejected(response: &http::Response<Vec<u8>>) -> bool {
    response.status() == http::StatusCode::UNAUTHORIZED
}

/// The `next` link of a search-set `Bundle`, when it has one.
fn next_link(bundle: &Map<String, Value>) -> Option<String> {
    bundle
        .get("link")?
        .as_array()?
        .iter()
        .find(|link| link.get("relation").and_then(Value::as_str) == Some("next"))?
        .get("url")?
        .as_str()
        .map(str::to_owned)
}

/// What the pages of one search share, whichever shell fetches them: the URL of the next
/// page, the pages seen (a `next` link that loops back is an error, not an endless search)
/// and the page limit.
#[derive(Debug)]
struct Paging {
    next: Option<String>,
    seen: HashSet<String>,
    max_pages: usize,
}

impl Paging {
    fn new(path: &str) -> Self {
        Self {
            next: Some(path.to_owned()),
            seen: HashSet::new(),
            max_pages: DEFAULT_MAX_PAGES,
        }
    }

    /// The next URL to fetch, `None` at the end, or the error that ends the search.
    fn take(&mut self) -> Option<Result<String, SessionError>> {
        let url = self.next.take()?;
        if self.seen.len() >= self.max_pages {
            return Some(Err(SessionError::TooManyPages {
                max: self.max_pages,
            }));
        }
        if !self.seen.insert(url.clone()) {
            return Some(Err(SessionError::BundleLoop {
                url: display_url(&url),
            }));
        }
        Some(Ok(url))
    }

    /// Reads a fetched page: a `Bundle`, whose `next` link is kept for the next call.
    fn page(
        &mut self,
        url: &str,
        response: &http::Response<Vec<u8>>,
    ) -> Result<Map<String, Value>, SessionError> {
        let bundle = read_fhir_json(url, response).map_err(fhir_error)?;
        if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err(SessionError::NotABundle {
                url: display_url(url),
            });
        }
        self.next = next_link(&bundle);
        Ok(bundle)
    }
}

impl<C: FhirSource> Session<C> {
    /// A FHIR request with the session's access token: `path` is relative to the FHIR base
    /// (`Observation?patient=123`) or an absolute URL below it; `body` goes as
    /// `application/fhir+json`. On HTTP 401 the session refreshes once (one refresh for all
    /// the requests rejected together) and the request is sent once more. Any other status
    /// is returned as the answer.
    ///
    /// # Errors
    ///
    /// [`SessionError::Fhir`] for a URL outside the FHIR base (the token is never sent there)
    /// or a network error; the session's errors ([`Session::access_token`]).
    pub fn fhir_request(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<http::Response<Vec<u8>>, SessionError> {
        let token = self.access_token()?;
        let response = self.send(&token, method.clone(), path, body)?;
        if !rejected(&response) {
            return Ok(response);
        }
        let token = self.force_refresh(&token)?;
        self.send(&token, method, path, body)
    }

    fn send(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<http::Response<Vec<u8>>, SessionError> {
        self.source()
            .fhir_request(token, method, path, body)
            .map_err(fhir_error)
    }

    /// Reads one resource as JSON (see [`Session::fhir_request`]).
    ///
    /// # Errors
    ///
    /// As [`Session::fhir_request`], and [`SessionError::Fhir`] for a non-2xx status or a body
    /// that is not a JSON object.
    pub fn read(&self, path: &str) -> Result<Map<String, Value>, SessionError> {
        let response = self.fhir_request(http::Method::GET, path, None)?;
        read_fhir_json(path, &response).map_err(fhir_error)
    }

    /// The pages of a search (`Observation?patient=123&_sort=-date`): each item is one
    /// `Bundle`, and the next page is fetched, by its `next` link, when the iterator is
    /// advanced. A `next` link outside the FHIR base ends the search with an error; the
    /// token is not sent to it.
    pub fn search(&self, path: &str) -> BundlePages<'_, C> {
        BundlePages {
            session: self,
            paging: Paging::new(path),
        }
    }
}

/// The pages of a search through a blocking [`Session`] ([`Session::search`]): an iterator
/// of `Bundle`s that ends after the last page or after the first error.
#[derive(Debug)]
pub struct BundlePages<'a, C> {
    session: &'a Session<C>,
    paging: Paging,
}

impl<C> BundlePages<'_, C> {
    /// Follows at most `max` pages ([`DEFAULT_MAX_PAGES`] by default); one more ends the
    /// search with [`SessionError::TooManyPages`].
    #[must_use]
    pub fn max_pages(mut self, max: usize) -> Self {
        self.paging.max_pages = max;
        self
    }
}

impl<C: FhirSource> Iterator for BundlePages<'_, C> {
    type Item = Result<Map<String, Value>, SessionError>;

    fn next(&mut self) -> Option<Self::Item> {
        let url = match self.paging.take()? {
            Ok(url) => url,
            Err(error) => return Some(Err(error)),
        };
        let page = self
            .session
            .fhir_request(http::Method::GET, &url, None)
            .and_then(|response| self.paging.page(&url, &response));
        if page.is_err() {
            self.paging.next = None;
        }
        Some(page)
    }
}

impl<C: AsyncFhirSource> AsyncSession<C> {
    /// As [`Session::fhir_request`].
    ///
    /// # Errors
    ///
    /// As [`Session::fhir_request`].
    pub async fn fhir_request(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<http::Response<Vec<u8>>, SessionError> {
        let token = self.access_token().await?;
        let response = self.send(&token, method.clone(), path, body).await?;
        if !rejected(&response) {
            return Ok(response);
        }
        let token = self.force_refresh(&token).await?;
        self.send(&token, method, path, body).await
    }

    async fn send(
        &self,
        token: &AccessToken,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<http::Response<Vec<u8>>, SessionError> {
        self.source()
            .fhir_request(token, method, path, body)
            .await
            .map_err(fhir_error)
    }

    /// As [`Session::read`].
    ///
    /// # Errors
    ///
    /// As [`Session::read`].
    pub async fn read(&self, path: &str) -> Result<Map<String, Value>, SessionError> {
        let response = self.fhir_request(http::Method::GET, path, None).await?;
        read_fhir_json(path, &response).map_err(fhir_error)
    }

    /// As [`Session::search`]: call [`AsyncBundlePages::next_page`] for each page.
    pub fn search(&self, path: &str) -> AsyncBundlePages<'_, C> {
        AsyncBundlePages {
            session: self,
            paging: Paging::new(path),
        }
    }
}

/// The pages of a search through an [`AsyncSession`] ([`AsyncSession::search`]).
#[derive(Debug)]
pub struct AsyncBundlePages<'a, C> {
    session: &'a AsyncSession<C>,
    paging: Paging,
}

impl<C: AsyncFhirSource> AsyncBundlePages<'_, C> {
    /// As [`BundlePages::max_pages`].
    #[must_use]
    pub fn max_pages(mut self, max: usize) -> Self {
        self.paging.max_pages = max;
        self
    }

    /// The next `Bundle`, `None` after the last page or after an error.
    pub async fn next_page(&mut self) -> Option<Result<Map<String, Value>, SessionError>> {
        let url = match self.paging.take()? {
            Ok(url) => url,
            Err(error) => return Some(Err(error)),
        };
        let page = match self
            .session
            .fhir_request(http::Method::GET, &url, None)
            .await
        {
            Ok(response) => self.paging.page(&url, &response),
            Err(error) => Err(error),
        };
        if page.is_err() {
            self.paging.next = None;
        }
        Some(page)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bundle(next: Option<&str>) -> http::Response<Vec<u8>> {
        let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "link": [
            {"relation": "self", "url": "https://ehr.example/fhir/Observation"}
        ]});
        if let Some(next) = next {
            bundle["link"]
                .as_array_mut()
                .unwrap()
                .push(json!({"relation": "next", "url": next}));
        }
        http::Response::new(serde_json::to_vec(&bundle).unwrap())
    }

    #[test]
    fn paging_follows_next_until_there_is_none() {
        let mut paging = Paging::new("Observation");
        let first = paging.take().unwrap().unwrap();
        assert_eq!(first, "Observation");
        paging
            .page(&first, &bundle(Some("https://ehr.example/fhir/p2")))
            .unwrap();
        let second = paging.take().unwrap().unwrap();
        assert_eq!(second, "https://ehr.example/fhir/p2");
        paging.page(&second, &bundle(None)).unwrap();
        assert!(paging.take().is_none());
    }

    #[test]
    fn a_next_link_back_to_a_seen_page_is_a_loop() {
        let mut paging = Paging::new("https://ehr.example/fhir/p1");
        let url = paging.take().unwrap().unwrap();
        paging
            .page(&url, &bundle(Some("https://ehr.example/fhir/p1")))
            .unwrap();
        assert!(matches!(
            paging.take(),
            Some(Err(SessionError::BundleLoop { .. }))
        ));
    }

    #[test]
    fn the_page_limit_ends_a_search() {
        let mut paging = Paging::new("p0");
        paging.max_pages = 2;
        for n in 1..=2 {
            let url = paging.take().unwrap().unwrap();
            paging.page(&url, &bundle(Some(&format!("p{n}")))).unwrap();
        }
        assert!(matches!(
            paging.take(),
            Some(Err(SessionError::TooManyPages { max: 2 }))
        ));
    }

    #[test]
    fn a_page_that_is_not_a_bundle_is_an_error() {
        let mut paging = Paging::new("Patient/1");
        let url = paging.take().unwrap().unwrap();
        let patient = http::Response::new(br#"{"resourceType":"Patient"}"#.to_vec());
        assert!(matches!(
            paging.page(&url, &patient),
            Err(SessionError::NotABundle { .. })
        ));
    }
}
