//! Building requests, checking responses, and reading document fields leniently.

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{Method, Request, Response};
use serde_json::Value;
use smart_core::json::{JsonObject, kind, parse_object};
use smart_core::url::{self, Url};
use smart_core::{
    AuthorizeUrl, EndpointUrl, FhirBaseUrl, IssuerUrl, JwksUrl, TokenUrl, TransportPolicy,
    UrlError, UrlProblem, display_url,
};

use crate::error::{DiscoveryError, InvalidRequestUrl};
use crate::finding::Finding;

/// A body-less GET of `url` with the given `Accept` header.
pub(crate) fn get(url: &Url, accept: &'static str) -> Result<Request<Vec<u8>>, DiscoveryError> {
    Request::builder()
        .method(Method::GET)
        .uri(url.as_str())
        .header(ACCEPT, accept)
        .body(Vec::new())
        .map_err(|error| DiscoveryError::RequestUrl {
            url: display_url(url.as_str()),
            source: InvalidRequestUrl::new(&error, url.as_str().len()),
        })
}

/// The JSON object in a 2xx response, whatever its `Content-Type`.
pub(crate) fn json_body(
    url: &Url,
    response: &Response<Vec<u8>>,
) -> Result<JsonObject, DiscoveryError> {
    if !response.status().is_success() {
        return Err(DiscoveryError::Status {
            url: display_url(url.as_str()),
            status: response.status(),
        });
    }
    smart_core::json::refuse_compressed(
        response
            .headers()
            .get(http::header::CONTENT_ENCODING)
            .map(http::HeaderValue::as_bytes),
    )
    .and_then(|()| parse_object(response.body()))
    .map_err(|reason| DiscoveryError::Body {
        url: display_url(url.as_str()),
        content_type: content_type(response),
        reason,
    })
}

/// The response's `Content-Type`, when it is printable, cut to 64 characters.
fn content_type(response: &Response<Vec<u8>>) -> Option<String> {
    let value = response.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    Some(value.chars().take(64).collect())
}

/// The URL newtypes a document field can hold.
pub(crate) trait UrlField: Sized {
    fn parse_url(value: String) -> Result<Self, UrlError>;
    fn parsed(&self) -> &Url;
}

macro_rules! url_field {
    ($($name:ident),*) => {$(
        impl UrlField for $name {
            fn parse_url(value: String) -> Result<Self, UrlError> {
                Self::parse(value)
            }

            fn parsed(&self) -> &Url {
                self.url()
            }
        }
    )*};
}

url_field!(AuthorizeUrl, EndpointUrl, IssuerUrl, JwksUrl, TokenUrl);

/// What happens to a URL that cannot be used.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stakes {
    /// It would receive credentials or tokens, or supply keys: the document is refused.
    Sensitive,
    /// It is a link: it is dropped with a finding.
    Link,
}

/// Whether a relative reference is resolved against the FHIR base.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Relative {
    /// Resolve it (endpoint URLs).
    Resolve,
    /// Refuse it (identifiers such as `issuer`).
    Refuse,
}

/// What reading a document needs: where it came from and the rules to apply.
pub(crate) struct Context<'a> {
    /// The document's URL, as shown in errors.
    pub(crate) document_url: String,
    /// The base relative endpoints resolve against, if any.
    pub(crate) base: Option<&'a FhirBaseUrl>,
    pub(crate) policy: TransportPolicy,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        document_url: &Url,
        base: Option<&'a FhirBaseUrl>,
        policy: TransportPolicy,
    ) -> Self {
        Self {
            document_url: display_url(document_url.as_str()),
            base,
            policy,
        }
    }

    /// Parses `raw` as a `T`, resolving it if relative, and checks it against the policy.
    ///
    /// An unusable URL is an error for [`Stakes::Sensitive`] and a [`Finding::DroppedUrl`]
    /// otherwise. `error_field` names the field in errors; `path` names it in findings.
    pub(crate) fn url<T: UrlField>(
        &self,
        raw: &str,
        path: &str,
        error_field: &'static str,
        stakes: Stakes,
        relative: Relative,
        findings: &mut Vec<Finding>,
    ) -> Result<Option<T>, DiscoveryError> {
        match self.resolve::<T>(raw, error_field, relative) {
            Ok((value, resolved)) => {
                if resolved {
                    findings.push(Finding::ResolvedRelativeUrl {
                        field: path.to_owned(),
                        reference: display_url(raw),
                        resolved: display_url(value.parsed().as_str()),
                    });
                }
                Ok(Some(value))
            }
            Err(source) if stakes == Stakes::Sensitive => Err(DiscoveryError::UnusableEndpoint {
                url: self.document_url.clone(),
                field: error_field,
                endpoint: source.url().to_owned(),
                source,
            }),
            Err(error) => {
                findings.push(Finding::DroppedUrl {
                    field: path.to_owned(),
                    url: error.url().to_owned(),
                    problem: error.problem().clone(),
                });
                Ok(None)
            }
        }
    }

    /// `raw` as an absolute `T` that passes the policy, and whether it was relative.
    fn resolve<T: UrlField>(
        &self,
        raw: &str,
        field: &'static str,
        relative: Relative,
    ) -> Result<(T, bool), UrlError> {
        let malformed = |error| UrlError::new(field, raw, UrlProblem::Malformed(error));
        // A relative reference is resolved by the `url` crate, which would silently drop a
        // tab or newline inside it; the URL newtypes refuse them in absolute URLs too.
        UrlError::refuse_control_characters(field, raw)?;
        let (candidate, resolved) = match Url::parse(raw) {
            // Keep the string exactly as written: it may become an assertion's `aud`.
            Ok(_) => (raw.to_owned(), false),
            Err(url::ParseError::RelativeUrlWithoutBase) => match (relative, self.base) {
                (Relative::Resolve, Some(base)) => {
                    let absolute = base.resolve(raw).map_err(malformed)?;
                    (String::from(absolute), true)
                }
                _ => return Err(malformed(url::ParseError::RelativeUrlWithoutBase)),
            },
            Err(error) => return Err(malformed(error)),
        };
        let value = T::parse_url(candidate).map_err(|error| error.for_field(field))?;
        self.policy.check(field, value.parsed())?;
        let parsed = value.parsed();
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(UrlError::new(field, parsed.as_str(), UrlProblem::Userinfo));
        }
        Ok((value, resolved))
    }
}

/// A string value; anything else (or an empty string) is a finding and `None`.
pub(crate) fn string(value: Value, path: &str, findings: &mut Vec<Finding>) -> Option<String> {
    match value {
        Value::String(text) if text.trim().is_empty() => {
            findings.push(Finding::Empty {
                field: path.to_owned(),
            });
            None
        }
        Value::String(text) => Some(text),
        other => {
            findings.push(Finding::WrongType {
                field: path.to_owned(),
                expected: "a string",
                found: kind(&other),
            });
            None
        }
    }
}

/// An array of strings. A non-array is a finding and `None`; a non-string element is a
/// finding and is skipped. An empty array is kept: it differs from a missing field.
pub(crate) fn strings(
    value: Value,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Option<Vec<String>> {
    indexed_strings(value, path, findings)
        .map(|items| items.into_iter().map(|(_, text)| text).collect())
}

/// Like [`strings`], with each string's index in the JSON array (items that are not strings
/// are left out with a finding, so the indexes may skip).
pub(crate) fn indexed_strings(
    value: Value,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Option<Vec<(usize, String)>> {
    let Value::Array(items) = value else {
        findings.push(Finding::WrongType {
            field: path.to_owned(),
            expected: "an array of strings",
            found: kind(&value),
        });
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Value::String(text) => out.push((index, text)),
            other => findings.push(Finding::WrongType {
                field: format!("{path}[{index}]"),
                expected: "a string",
                found: kind(&other),
            }),
        }
    }
    Some(out)
}

/// Reads the fields of one JSON object; what is left over are its extensions.
pub(crate) struct Fields<'c, 'b> {
    object: JsonObject,
    pub(crate) context: &'c Context<'b>,
    pub(crate) findings: Vec<Finding>,
}

impl<'c, 'b> Fields<'c, 'b> {
    pub(crate) fn new(object: JsonObject, context: &'c Context<'b>) -> Self {
        Self {
            object,
            context,
            findings: Vec::new(),
        }
    }

    /// Removes and returns a field.
    pub(crate) fn take(&mut self, field: &str) -> Option<Value> {
        self.object.remove(field)
    }

    pub(crate) fn string(&mut self, field: &str) -> Option<String> {
        let value = self.take(field)?;
        string(value, field, &mut self.findings)
    }

    pub(crate) fn strings(&mut self, field: &str) -> Option<Vec<String>> {
        let value = self.take(field)?;
        strings(value, field, &mut self.findings)
    }

    /// Like [`Fields::strings`], with each string's index in the JSON array.
    pub(crate) fn indexed_strings(&mut self, field: &str) -> Option<Vec<(usize, String)>> {
        let value = self.take(field)?;
        indexed_strings(value, field, &mut self.findings)
    }

    pub(crate) fn url<T: UrlField>(
        &mut self,
        field: &'static str,
        stakes: Stakes,
        relative: Relative,
    ) -> Result<Option<T>, DiscoveryError> {
        let Some(raw) = self.string(field) else {
            return Ok(None);
        };
        self.context
            .url(&raw, field, field, stakes, relative, &mut self.findings)
    }

    /// The fields not taken, and the findings.
    pub(crate) fn finish(self) -> (JsonObject, Vec<Finding>) {
        (self.object, self.findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smart_core::append_path;

    #[test]
    fn append_path_keeps_the_issuer_path() {
        let issuer = Url::parse("https://idp.example/realms/a/?x=1#f").unwrap();
        assert_eq!(
            append_path(&issuer, ".well-known/openid-configuration").as_str(),
            "https://idp.example/realms/a/.well-known/openid-configuration"
        );
    }

    #[test]
    fn absolute_urls_are_kept_byte_for_byte() {
        let base = FhirBaseUrl::parse("https://ehr.example/r4").unwrap();
        let url = Url::parse("https://ehr.example/r4/.well-known/smart-configuration").unwrap();
        let context = Context::new(&url, Some(&base), TransportPolicy::STRICT);
        let mut findings = Vec::new();
        let token: TokenUrl = context
            .url(
                "HTTPS://EHR.example:443/auth/token",
                "token_endpoint",
                "token_endpoint",
                Stakes::Sensitive,
                Relative::Resolve,
                &mut findings,
            )
            .unwrap()
            .unwrap();
        assert_eq!(token.as_str(), "HTTPS://EHR.example:443/auth/token");
        assert!(findings.is_empty());
    }

    #[test]
    fn identifiers_are_not_resolved() {
        let base = FhirBaseUrl::parse("https://ehr.example/r4").unwrap();
        let context = Context::new(base.url(), Some(&base), TransportPolicy::STRICT);
        let mut findings = Vec::new();
        let issuer: Option<IssuerUrl> = context
            .url(
                "/issuer",
                "issuer",
                "issuer",
                Stakes::Link,
                Relative::Refuse,
                &mut findings,
            )
            .unwrap();
        assert!(issuer.is_none());
        assert!(matches!(
            &findings[..],
            [Finding::DroppedUrl {
                problem: UrlProblem::Malformed(url::ParseError::RelativeUrlWithoutBase),
                ..
            }]
        ));
    }
}
