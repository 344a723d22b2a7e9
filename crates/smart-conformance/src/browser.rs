//! Plays the user's browser: sends the authorization request, then follows the server's own
//! redirects (login, consent pages that redirect on) with a cookie jar, until the server sends
//! the browser to the app's `redirect_uri`.

use std::collections::BTreeMap;
use std::time::Duration;

use smart_client::core::display_url;
use smart_client::ureq;
use smart_client::{AuthorizationRequest, AuthorizeMethod};

/// How many redirects the browser follows before it gives up.
const MAX_HOPS: usize = 10;
/// How many cookies the jar keeps (a server cannot make it grow without bound).
const MAX_COOKIES: usize = 64;
/// The largest cookie value kept.
const MAX_COOKIE_LEN: usize = 4096;

/// A browser without a user: it follows redirects and keeps cookies, and never submits forms.
pub struct Browser {
    agent: ureq::Agent,
    /// Cookies by (host, name); path and expiry are ignored: one run, one server.
    jar: BTreeMap<(String, String), String>,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Cookie values are session secrets: only their number is shown.
        f.debug_struct("Browser")
            .field("cookies", &self.jar.len())
            .finish_non_exhaustive()
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// An agent that follows no redirect by itself and reads no proxy from the environment.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn host_of(url: &str) -> String {
    url.split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// `location` made absolute against `base` (absolute, root-relative or path-relative).
fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = rest[authority.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or("/");
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    format!("{scheme}://{authority}{dir}/{location}")
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Self {
        Self {
            agent: agent(),
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self, url: &str) -> Option<String> {
        let host = host_of(url);
        let pairs: Vec<String> = self
            .jar
            .iter()
            .filter(|((h, _), _)| *h == host)
            .map(|((_, name), value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn keep_cookies(&mut self, url: &str, response: &ureq::http::Response<ureq::Body>) {
        let host = host_of(url);
        for header in response.headers().get_all("set-cookie") {
            let Ok(text) = header.to_str() else { continue };
            let Some((name, value)) = text.split(';').next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() || value.len() > MAX_COOKIE_LEN {
                continue;
            }
            let key = (host.clone(), name.to_owned());
            if self.jar.len() < MAX_COOKIES || self.jar.contains_key(&key) {
                self.jar.insert(key, value.to_owned());
            }
        }
    }

    /// Sends one request; returns the status and the absolute `Location`, if any.
    fn send(
        &mut self,
        url: &str,
        form: Option<&[(String, String)]>,
    ) -> Result<(u16, Option<String>), String> {
        let cookie = self.cookie_header(url);
        let response = match form {
            None => {
                let mut request = self.agent.get(url);
                if let Some(cookie) = &cookie {
                    request = request.header("cookie", cookie);
                }
                request.call()
            }
            Some(form) => {
                let mut request = self.agent.post(url);
                if let Some(cookie) = &cookie {
                    request = request.header("cookie", cookie);
                }
                request.send_form(form.iter().map(|(n, v)| (n.as_str(), v.as_str())))
            }
        }
        .map_err(|error| format!("the browser could not reach {}: {error}", display_url(url)))?;
        self.keep_cookies(url, &response);
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .map(|location| resolve(url, location));
        Ok((response.status().as_u16(), location))
    }

    /// Sends the authorization request and returns the server's first answer: its status and
    /// where it redirects (made absolute), without following it.
    ///
    /// # Errors
    /// A sentence when the server cannot be reached.
    pub fn first_answer(
        &mut self,
        request: &AuthorizationRequest,
    ) -> Result<(u16, Option<String>), String> {
        match request.method() {
            AuthorizeMethod::Get => self.send(request.url().as_str(), None),
            AuthorizeMethod::Post => self.send(request.url().as_str(), Some(request.form())),
        }
    }

    /// Sends the authorization request and follows the server's redirects (login, consent)
    /// until one goes to `redirect_uri`; returns that callback URL.
    ///
    /// # Errors
    /// A sentence when the server answers without a redirect (a page that needs a user),
    /// redirects more than ten times, or cannot be reached.
    pub fn authorize(
        &mut self,
        request: &AuthorizationRequest,
        redirect_uri: &str,
    ) -> Result<String, String> {
        let (mut status, mut location) = self.first_answer(request)?;
        let mut url = request.url().as_str().to_owned();
        for _ in 0..MAX_HOPS {
            let Some(next) = location else {
                return Err(format!(
                    "{} answered HTTP {status} without a redirect (a page that needs a user); \
                     the server must approve at once for a program to play the browser",
                    display_url(&url)
                ));
            };
            if is_callback(&next, redirect_uri) {
                return Ok(next);
            }
            url = next;
            (status, location) = self.send(&url, None)?;
        }
        Err(format!(
            "the server redirected more than {MAX_HOPS} times without reaching the redirect_uri"
        ))
    }

    /// Opens `url` (an EHR's launcher page) and follows its redirects until one goes to
    /// `launch_uri`, the app's launch URL; returns that URL, unopened.
    ///
    /// # Errors
    /// A sentence when a page answers without a redirect, the launcher redirects more than
    /// ten times, or cannot be reached.
    pub fn open_launcher(&mut self, url: &str, launch_uri: &str) -> Result<String, String> {
        let mut url = url.to_owned();
        for _ in 0..=MAX_HOPS {
            let (status, location) = self.send(&url, None)?;
            let Some(next) = location else {
                return Err(format!(
                    "the launcher {} answered HTTP {status} without a redirect to the app's launch URL",
                    display_url(&url)
                ));
            };
            if is_callback(&next, launch_uri) {
                return Ok(next);
            }
            url = next;
        }
        Err(format!(
            "the launcher redirected more than {MAX_HOPS} times without reaching the launch URL"
        ))
    }
}

/// Whether `url` is the app's callback: the `redirect_uri` itself, then a query or nothing.
fn is_callback(url: &str, redirect_uri: &str) -> bool {
    url.strip_prefix(redirect_uri)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('?') || rest.starts_with('#'))
}

/// POSTs a form to the token endpoint as it is, without the client library (for requests the
/// library would never make, such as a replayed assertion). Returns the status and `error`.
pub(crate) fn raw_token_request(
    url: &str,
    form: &[(&str, &str)],
) -> Result<(u16, Option<String>), String> {
    let mut response = agent()
        .post(url)
        .send_form(form.iter().copied())
        .map_err(|error| format!("the token endpoint could not be reached: {error}"))?;
    let status = response.status().as_u16();
    let error = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .ok()
        .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|body| body.get("error")?.as_str().map(str::to_owned));
    Ok((status, error))
}

/// Shows a callback URL with its code and state hidden.
pub(crate) fn redacted_callback(callback: &str) -> String {
    match callback.split_once('?') {
        Some((base, query)) => {
            let names: Vec<String> = smart_client::core::form::decode(query.as_bytes())
                .into_iter()
                .map(|(name, value)| match name.as_str() {
                    "code" | "state" => format!("{name}=[redacted]"),
                    _ => format!("{name}={value}"),
                })
                .collect();
            format!("{base}?{}", names.join("&"))
        }
        None => callback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = "http://127.0.0.1:9/a/b?x=1";
        assert_eq!(resolve(base, "http://h/c"), "http://h/c");
        assert_eq!(resolve(base, "/login"), "http://127.0.0.1:9/login");
        assert_eq!(resolve(base, "consent?y"), "http://127.0.0.1:9/a/consent?y");
    }

    #[test]
    fn the_callback_is_the_redirect_uri_exactly() {
        let uri = "http://127.0.0.1:9/callback";
        assert!(is_callback("http://127.0.0.1:9/callback?code=1", uri));
        assert!(is_callback(uri, uri));
        assert!(!is_callback("http://127.0.0.1:9/callback/more?code=1", uri));
        assert!(!is_callback("http://127.0.0.1:9/login", uri));
    }
}
