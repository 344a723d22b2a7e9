//! CORS for browser apps (SMART App Launch asks it of servers that serve them): discovery,
//! `/metadata`, the keys, the token, introspection, revocation and registration endpoints and
//! the FHIR API answer any origin, and their preflights are answered. The HTML pages
//! (`/authorize`, the login and consent forms, the launcher) are navigations, not fetches:
//! they get no CORS headers.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};

use crate::http_util::HttpResponse;

/// Whether `path` is fetched by browser apps (as opposed to navigated to).
fn is_api(path: &str) -> bool {
    !matches!(
        path,
        "/authorize" | "/authorize/decision" | "/authorize/login" | "/launcher"
    )
}

/// The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) of an
/// API path; `None` for any other request.
pub(crate) fn preflight(request: &Request<Vec<u8>>) -> Option<HttpResponse> {
    let asks = request.method() == Method::OPTIONS
        && request.headers().contains_key(ORIGIN)
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if !asks || !is_api(request.uri().path()) {
        return None;
    }
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, Accept"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    Some(response)
}

/// Adds the CORS headers to the answer of a request with an `Origin`, on an API path. Any
/// origin may read: the answers carry no cookies, and tokens only go to whoever sent the
/// credentials.
pub(crate) fn allow(request: &Request<Vec<u8>>, response: &mut HttpResponse) {
    if !request.headers().contains_key(ORIGIN) || !is_api(request.uri().path()) {
        return;
    }
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate, Location"),
    );
}
