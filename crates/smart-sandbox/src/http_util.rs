//! Response builders, form parsing and OAuth error responses.

use std::collections::HashSet;

use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, PRAGMA, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use serde_json::{Map, Value, json};
use smart_token::ErrorCode;

/// Every response is built in memory.
pub(crate) type HttpResponse = Response<Vec<u8>>;

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: &Value) -> HttpResponse {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A JSON response that must not be cached: it carries tokens or is about them (RFC 6749
/// §5.1).
pub(crate) fn json_no_store(status: StatusCode, value: &Value) -> HttpResponse {
    let mut response = json(status, value);
    no_store(response.headers_mut());
    response
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A FHIR JSON response.
pub(crate) fn fhir(status: StatusCode, value: &Value) -> HttpResponse {
    let mut response = json(status, value);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    response
}

/// A FHIR `OperationOutcome` with one issue.
pub(crate) fn operation_outcome(status: StatusCode, code: &str, diagnostics: &str) -> HttpResponse {
    fhir(
        status,
        &json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}]
        }),
    )
}

/// `302 Found` to `location`.
pub(crate) fn redirect(location: &str) -> HttpResponse {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    no_store(response.headers_mut());
    response
}

/// An HTML page that may not be framed or run scripts; its forms post to the sandbox.
pub(crate) fn html(status: StatusCode, page: String) -> HttpResponse {
    html_with_form_action(status, page, "")
}

/// As [`html`], for a page whose form answers with a redirect to `targets` (browsers check
/// `form-action` against each redirect of a form submission): space-separated sources such
/// as `http://127.0.0.1:8080`.
pub(crate) fn html_with_form_action(
    status: StatusCode,
    page: String,
    targets: &str,
) -> HttpResponse {
    let mut response = Response::new(page.into_bytes());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'{}{targets}; frame-ancestors 'none'",
        if targets.is_empty() { "" } else { " " }
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert("content-security-policy", value);
    }
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    no_store(headers);
    response
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `404 Not Found` for a path the sandbox does not serve.
pub(crate) fn not_found() -> HttpResponse {
    json(
        StatusCode::NOT_FOUND,
        &json!({"error": "not_found", "error_description": "the sandbox serves nothing at this path"}),
    )
}

/// `405 Method Not Allowed`.
pub(crate) fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = json(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({"error": "invalid_request", "error_description": format!("use {allow}")}),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// `500` for a handler that failed: never the server.
pub(crate) fn server_error() -> HttpResponse {
    json_no_store(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"error": "server_error", "error_description": "the sandbox failed to handle the request"}),
    )
}

/// An OAuth error response (RFC 6749 §5.2, RFC 7009, RFC 7591, RFC 7662).
#[derive(Debug)]
pub(crate) struct OAuthFailure {
    pub(crate) status: StatusCode,
    pub(crate) code: ErrorCode,
    pub(crate) description: String,
    pub(crate) www_authenticate: Option<String>,
}

impl OAuthFailure {
    /// `400` with `code`.
    pub(crate) fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
            www_authenticate: None,
        }
    }

    /// `400 invalid_request`.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `400 invalid_grant`.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `400 invalid_scope`.
    pub(crate) fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// `401 invalid_client`, with `WWW-Authenticate: Basic` when the client tried Basic
    /// (RFC 6749 §5.2).
    pub(crate) fn invalid_client(description: impl Into<String>, basic_tried: bool) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::InvalidClient,
            description: description.into(),
            www_authenticate: basic_tried.then(|| r#"Basic realm="smart-sandbox""#.to_owned()),
        }
    }

    /// `401 invalid_token` for a Bearer-authenticated endpoint (RFC 6750 §3.1).
    pub(crate) fn invalid_token(description: impl Into<String>) -> Self {
        let description = description.into();
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: ErrorCode::InvalidToken,
            www_authenticate: Some(format!(
                r#"Bearer realm="smart-sandbox", error="invalid_token", error_description="{}""#,
                description.replace(['"', '\\'], "'")
            )),
            description,
        }
    }

    /// `500 server_error`.
    pub(crate) fn server_error(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: ErrorCode::ServerError,
            description: description.into(),
            www_authenticate: None,
        }
    }

    /// The JSON response.
    pub(crate) fn into_response(self) -> HttpResponse {
        let mut body = Map::new();
        body.insert("error".into(), Value::from(self.code.as_str()));
        body.insert("error_description".into(), Value::from(self.description));
        let mut response = json_no_store(self.status, &Value::Object(body));
        if let Some(challenge) = self.www_authenticate
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Form or query parameters, each name at most once (RFC 6749 §3.1).
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `input`; a repeated name is an `invalid_request`. Linear in the number of
    /// parameters, so a body of many small ones costs no more than its size.
    pub(crate) fn parse(input: &[u8]) -> Result<Self, OAuthFailure> {
        let pairs = smart_core::form::decode(input);
        let mut seen = HashSet::with_capacity(pairs.len());
        for (name, _) in &pairs {
            if !seen.insert(name.as_str()) {
                return Err(OAuthFailure::invalid_request(format!(
                    "the parameter `{}` appears more than once (RFC 6749 section 3.1); send each parameter once",
                    shown(name)
                )));
            }
        }
        Ok(Self(pairs))
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, value)| n == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }
}

/// The form parameters of a POST, after checking its `Content-Type`.
pub(crate) fn form_body(request: &http::Request<Vec<u8>>) -> Result<Params, OAuthFailure> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthFailure::invalid_request(
            "send the parameters as an application/x-www-form-urlencoded body",
        ));
    }
    Params::parse(request.body())
}

/// The credentials of an `Authorization` header with this scheme (compared without case,
/// RFC 9110 §11.1).
pub(crate) fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Option<&'h str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (found, credentials) = value.split_once(' ')?;
    found
        .eq_ignore_ascii_case(scheme)
        .then(|| credentials.trim())
}

/// At most 100 characters of a value, for error messages.
pub(crate) fn shown(value: &str) -> String {
    let mut shown: String = value.chars().take(100).collect();
    if shown.len() < value.len() {
        shown.push_str("...");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Params::parse(b"a=1&b=2").is_ok());
        let failure = Params::parse(b"a=1&b=2&a=3").unwrap_err();
        assert_eq!(failure.code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn many_distinct_parameters_are_checked_in_linear_time() {
        // 200 000 names: a pairwise check makes 2e10 comparisons (minutes), a set 2e5.
        const COUNT: usize = 200_000;
        let mut body = String::with_capacity(COUNT * 10);
        for index in 0..COUNT {
            body.push('p');
            body.push_str(&index.to_string());
            body.push_str("=&");
        }
        let started = std::time::Instant::now();
        let params = Params::parse(body.as_bytes()).unwrap();
        assert_eq!(params.0.len(), COUNT);
        body.push_str("p0=again");
        let failure = Params::parse(body.as_bytes()).unwrap_err();
        assert!(
            failure.description.contains("`p0`"),
            "{}",
            failure.description
        );
        let elapsed = started.elapsed();
        assert!(
            elapsed < std::time::Duration::from_secs(20),
            "parsing took {elapsed:?}: the duplicate check is not linear"
        );
    }

    #[test]
    fn empty_values_are_absent() {
        let params = Params::parse(b"a=&b=x").unwrap();
        assert_eq!(params.get("a"), None);
        assert_eq!(params.get("b"), Some("x"));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
