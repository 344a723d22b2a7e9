//! The tests' browser for a server that approves at once (the sandbox's auto-approve): one
//! agent that follows no redirect, so a test sees where each one points, and the one step
//! every launch test plays. (`smart_conformance::Browser` is the published one, with a cookie
//! jar and redirects followed to the callback; tests that need only the first redirect use
//! these.)

use std::time::Duration;

use smart_client::ureq;
use smart_client::{AuthorizationRequest, AuthorizeMethod};

/// An agent that follows no redirect, reads statuses as values, ignores proxy settings from
/// the environment, and gives up after 10 s.
#[must_use]
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Sends the authorization request (GET or POST) as the browser would and returns where the
/// server redirects.
///
/// # Errors
///
/// The status of an answer without a redirect.
///
/// # Panics
///
/// When the server cannot be reached or the redirect is not text.
pub fn browse(request: &AuthorizationRequest) -> Result<String, u16> {
    let response = match request.method() {
        AuthorizeMethod::Get => agent().get(request.url().as_str()).call(),
        AuthorizeMethod::Post => agent()
            .post(request.url().as_str())
            .send_form(request.form().iter().map(|(n, v)| (n.as_str(), v.as_str()))),
    }
    .expect("the authorization server answers");
    response
        .headers()
        .get("location")
        .map(|location| location.to_str().expect("the redirect is ASCII").to_owned())
        .ok_or(response.status().as_u16())
}

/// Where a GET of `url` redirects.
///
/// # Panics
///
/// When the server cannot be reached or does not redirect.
#[must_use]
pub fn redirect_of(url: &str) -> String {
    let response = agent().get(url).call().expect("the server answers");
    response
        .headers()
        .get("location")
        .and_then(|location| location.to_str().ok())
        .expect("the server redirects")
        .to_owned()
}
