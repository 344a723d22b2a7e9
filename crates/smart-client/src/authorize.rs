//! The authorization request, the state an app keeps until the callback, and the callback.
//! ([app-launch.html#obtain-authorization-code](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#obtain-authorization-code)).

use core::fmt;

use serde::{Deserialize, Serialize};
use smart_core::url::Url;
use smart_core::{ClientId, FhirBaseUrl, RedirectUri, TokenUrl};
use smart_pkce::{PkceVerifier, State};
use smart_token::scope::ScopeSet;
use smart_token::{AuthorizationCode, ErrorCode};

use crate::error::ClientError;

/// Parameters the client sets itself; extra parameters may not replace them.
pub(crate) const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "launch",
    "scope",
    "state",
    "aud",
    "code_challenge",
    "code_challenge_method",
];

/// How the authorization request reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthorizeMethod {
    /// A redirect of the user's browser to a URL with the parameters in its query.
    #[default]
    Get,
    /// An auto-submitted form POST (capability `authorize-post`), better for long scope lists.
    Post,
}

/// What to ask for in one authorization request.
///
/// ```
/// use smart_client::AuthorizeOptions;
///
/// // An EHR launch: the launch token from the EHR, the nonce for an `id_token`.
/// let options = AuthorizeOptions::new()
///     .launch("xyz123")
///     .scopes("launch openid fhirUser patient/*.rs")?
///     .param("nonce", "n-0S6_WzA2Mj")?;
/// # Ok::<(), smart_client::ClientError>(())
/// ```
///
/// `Debug` shows the method, the scopes and the names of the extra parameters; the `launch`
/// value and every parameter value (`nonce`, `login_hint`, ...) are redacted.
#[derive(Clone, Default)]
#[must_use]
pub struct AuthorizeOptions {
    pub(crate) launch: Option<String>,
    pub(crate) launch_iss: Option<String>,
    pub(crate) scopes: Option<ScopeSet>,
    pub(crate) method: AuthorizeMethod,
    pub(crate) params: Vec<(String, String)>,
}

impl fmt::Debug for AuthorizeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            launch,
            launch_iss,
            scopes,
            method,
            params,
        } = self;
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, _)| (name.as_str(), "[redacted]"))
            .collect();
        f.debug_struct("AuthorizeOptions")
            .field("launch", &launch.as_ref().map(|_| "[redacted]"))
            .field("launch_iss", launch_iss)
            .field("scopes", &scopes.as_ref().map(ToString::to_string))
            .field("method", method)
            .field("params", &params)
            .finish()
    }
}

impl AuthorizeOptions {
    /// A standalone launch with the configured scopes, by GET.
    pub fn new() -> Self {
        Self::default()
    }

    /// An EHR launch: the `launch` value the EHR passed to the app. The `launch` scope is
    /// added to the request when the scopes lack it.
    pub fn launch(mut self, launch: impl Into<String>) -> Self {
        self.launch = Some(launch.into());
        self
    }

    /// An EHR launch with the `iss` and `launch` the EHR passed to the app's launch URL: as
    /// [`AuthorizeOptions::launch`], and `iss` must be exactly this client's issuer (its `aud`),
    /// or the request fails with [`ClientError::LaunchIssuer`] before anything is sent. An app
    /// registered at many EHRs picks the client by `iss` first (the issuer registry).
    pub fn ehr_launch(mut self, iss: impl Into<String>, launch: impl Into<String>) -> Self {
        self.launch_iss = Some(iss.into());
        self.launch = Some(launch.into());
        self
    }

    /// Scopes for this request instead of the configured ones.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when the scope string does not parse.
    pub fn scopes(mut self, scopes: &str) -> Result<Self, ClientError> {
        let scopes = ScopeSet::parse(scopes).map_err(crate::ConfigError::from)?;
        self.scopes = Some(scopes);
        Ok(self)
    }

    /// Scopes for this request, already parsed.
    pub fn scope_set(mut self, scopes: ScopeSet) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// GET (default) or POST.
    pub fn method(mut self, method: AuthorizeMethod) -> Self {
        self.method = method;
        self
    }

    /// An extra parameter: `nonce`, `prompt`, `login_hint`, or a vendor's.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when `name` is one the client sets itself (`state`, `aud`,
    /// `code_challenge`, ...).
    pub fn param(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ClientError> {
        let name = name.into();
        if RESERVED_PARAMS.contains(&name.as_str()) {
            return Err(crate::ConfigError::ReservedParameter { name }.into());
        }
        self.params.push((name, value.into()));
        Ok(self)
    }
}

/// What the callback needs from the authorization request, kept by the app between the
/// redirect and the callback.
///
/// It is not trusted on its own: a session store may have been tampered with. When the code
/// is exchanged ([`SmartClient::exchange_code`](crate::SmartClient::exchange_code)), the stored
/// token endpoint must equal the client's own — the configured one, or the discovered one
/// (discovering then if it is not yet cached) — or the exchange fails with
/// [`ClientError::PendingTokenEndpoint`] before the code, the verifier or any credential is
/// sent; the stored `client_id` must match the configured one too.
///
/// It serialises (serde) so that web apps can keep it in any session store and scale out
/// across machines; the serialised form holds the state and the PKCE verifier, so treat it as
/// a secret (server-side storage or an encrypted cookie). `Debug` redacts both.
#[derive(Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub(crate) state: State,
    pub(crate) verifier: PkceVerifier,
    pub(crate) client_id: ClientId,
    pub(crate) redirect_uri: RedirectUri,
    pub(crate) aud: FhirBaseUrl,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token_endpoint: Option<TokenUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) issuer: Option<String>,
    pub(crate) scope: ScopeSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) launch: Option<String>,
    pub(crate) issued_at: u64,
}

impl PendingAuthorization {
    /// The `state` sent; the key apps store this value under.
    #[must_use]
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The PKCE verifier for the code exchange.
    #[must_use]
    pub fn verifier(&self) -> &PkceVerifier {
        &self.verifier
    }

    /// The client id the request was made for.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The redirect URI sent (the code exchange repeats it exactly).
    #[must_use]
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.redirect_uri
    }

    /// The `aud` sent: the FHIR server the token is for.
    #[must_use]
    pub fn aud(&self) -> &FhirBaseUrl {
        &self.aud
    }

    /// The token endpoint known when the request was made. It is only a check: the code is
    /// exchanged at the client's own token endpoint (configured, or discovered — discovering
    /// then if needed), and a stored endpoint that differs from it makes the exchange fail
    /// with [`ClientError::PendingTokenEndpoint`].
    #[must_use]
    pub fn token_endpoint(&self) -> Option<&TokenUrl> {
        self.token_endpoint.as_ref()
    }

    /// The scopes requested.
    #[must_use]
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }

    /// The `nonce` sent (as an extra parameter), to check in the `id_token`.
    #[must_use]
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// When the request was made, in seconds since the Unix epoch.
    #[must_use]
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            state,
            verifier,
            client_id,
            redirect_uri,
            aud,
            token_endpoint,
            issuer,
            scope,
            nonce,
            launch,
            issued_at,
        } = self;
        f.debug_struct("PendingAuthorization")
            .field("state", state)
            .field("verifier", verifier)
            .field("client_id", client_id)
            .field("redirect_uri", redirect_uri)
            .field("aud", aud)
            .field("token_endpoint", token_endpoint)
            .field("issuer", issuer)
            .field("scope", &scope.to_string())
            .field("nonce", &nonce.as_ref().map(|_| "[redacted]"))
            .field("launch", &launch.as_ref().map(|_| "[redacted]"))
            .field("issued_at", issued_at)
            .finish()
    }
}

/// An authorization request, ready to send the user's browser to.
///
/// `Debug` shows the endpoint and the parameter names, not their values (the URL and the form
/// carry the `state`).
pub struct AuthorizationRequest {
    pub(crate) method: AuthorizeMethod,
    pub(crate) url: Url,
    pub(crate) form: Vec<(String, String)>,
    /// Boxed: the request travels through every flow step and async future by value.
    pub(crate) pending: Box<PendingAuthorization>,
}

impl AuthorizationRequest {
    /// GET or POST.
    #[must_use]
    pub fn method(&self) -> AuthorizeMethod {
        self.method
    }

    /// For GET, the full URL to redirect the browser to (any query already on the
    /// authorization endpoint is kept). For POST, the form's action.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// For POST, the form fields, in order; empty for GET.
    #[must_use]
    pub fn form(&self) -> &[(String, String)] {
        &self.form
    }

    /// An HTML page that submits the POST form as soon as it loads (every value escaped).
    /// For GET, a page that links to the URL.
    #[must_use]
    pub fn html(&self) -> String {
        let mut page = String::from(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Signing in</title></head>",
        );
        match self.method {
            AuthorizeMethod::Post => {
                page.push_str(
                    "<body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"",
                );
                page.push_str(&escape_html(self.url.as_str()));
                page.push_str("\">");
                for (name, value) in &self.form {
                    page.push_str("<input type=\"hidden\" name=\"");
                    page.push_str(&escape_html(name));
                    page.push_str("\" value=\"");
                    page.push_str(&escape_html(value));
                    page.push_str("\">");
                }
                page.push_str("<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>");
            }
            AuthorizeMethod::Get => {
                page.push_str("<body><a href=\"");
                page.push_str(&escape_html(self.url.as_str()));
                page.push_str("\">Continue to sign in</a></body></html>");
            }
        }
        page
    }

    /// The pending authorization to keep until the callback.
    #[must_use]
    pub fn pending(&self) -> &PendingAuthorization {
        &self.pending
    }

    /// The pending authorization, taken out to be stored.
    #[must_use]
    pub fn into_pending(self) -> PendingAuthorization {
        *self.pending
    }
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            method,
            url,
            form,
            pending,
        } = self;
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        let names: Vec<String> = match method {
            AuthorizeMethod::Get => url
                .query_pairs()
                .map(|(name, _)| name.into_owned())
                .collect(),
            AuthorizeMethod::Post => form.iter().map(|(name, _)| name.clone()).collect(),
        };
        f.debug_struct("AuthorizationRequest")
            .field("method", method)
            .field("endpoint", &endpoint.as_str())
            .field("parameters", &names)
            .field("pending", pending)
            .finish()
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Whether `text` starts with `scheme://` (RFC 3986 §3.1: a letter, then letters, digits,
/// `+`, `-` or `.`).
fn starts_with_scheme(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once("://") else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The query of an absolute callback URL, checked by the URL parser.
///
/// In visible ASCII (what a browser sends) the query is exactly the text between the first `?`
/// and the `#` after it, so only the part before it goes through the parser (the query is the
/// long part: code, state); its decoded pairs are the same as the parser's. Anything else
/// (spaces, tabs, newlines, non-ASCII) is parsed whole.
fn absolute_query(callback: &str) -> Result<std::borrow::Cow<'_, str>, ClientError> {
    let invalid = || ClientError::Callback {
        reason: "it is neither an absolute URL nor a query string",
    };
    if callback.bytes().all(|byte| byte.is_ascii_graphic()) {
        let before_fragment = callback.split_once('#').map_or(callback, |(url, _)| url);
        let (base, query) = before_fragment
            .split_once('?')
            .unwrap_or((before_fragment, ""));
        Url::parse(base).map_err(|_| invalid())?;
        return Ok(query.into());
    }
    let url = Url::parse(callback).map_err(|_| invalid())?;
    Ok(url.query().unwrap_or_default().to_owned().into())
}

/// What came back on the redirect URI: read it with [`Callback::parse`], then check it
/// against the [`PendingAuthorization`] with [`Callback::into_code`] (the `state` in
/// constant time, the `iss` of RFC 9207, the server's error) to get the code.
///
/// The shells' `complete_authorization` does both and the code exchange; a web app that
/// wants the check apart (to answer the browser before exchanging) uses this.
///
/// ```
/// use smart_client::{Callback, ClientError};
///
/// let callback = Callback::parse("/callback?error=access_denied&state=abc")?;
/// assert_eq!(callback.error(), Some("access_denied"));
/// assert!(Callback::parse("https://app.example/cb?code=a&code=b").is_err());
/// # Ok::<(), ClientError>(())
/// ```
pub struct Callback {
    code: Option<AuthorizationCode>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    error_uri: Option<String>,
    iss: Option<String>,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            code,
            state,
            error,
            error_description: _,
            error_uri: _,
            iss,
        } = self;
        f.debug_struct("Callback")
            .field("code", &code.as_ref().map(|_| "[redacted]"))
            .field("state", &state.as_ref().map(|_| "[redacted]"))
            .field(
                "error",
                &error.as_deref().map(smart_core::clean_server_text),
            )
            .field("iss", &iss.as_deref().map(smart_core::display_url))
            .finish_non_exhaustive()
    }
}

impl Callback {
    /// Reads a callback given as a full URL (`https://app/cb?code=...&state=...`), a request
    /// target (`/cb?code=...`), or a query (`?code=...` or `code=...`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Callback`] for text that cannot be read or a parameter that appears
    /// more than once.
    pub fn parse(callback: &str) -> Result<Self, ClientError> {
        let callback = callback.trim();
        // Absolute only when it starts with `scheme://`: a request target or a query may carry
        // unencoded URLs in its values (`?iss=https://ehr/auth`), which are not the start.
        let query = if starts_with_scheme(callback) {
            absolute_query(callback)?
        } else if callback.starts_with(['/', '?']) {
            // A request target as a web server sees it (`/callback?code=...`) or `?code=...`:
            // the query starts after the first `?`.
            callback
                .split_once('?')
                .map_or("", |(_, query)| query)
                .into()
        } else {
            // Anything else is a bare query, whole: its values may hold unencoded URLs with a
            // `?` of their own (`error=access_denied&error_uri=https://x/e?id=1`).
            callback.into()
        };
        let mut parsed = Self {
            code: None,
            state: None,
            error: None,
            error_description: None,
            error_uri: None,
            iss: None,
        };
        for (name, value) in smart_core::form::decode(query.as_bytes()) {
            let slot = match name.as_str() {
                "code" => {
                    if parsed.code.is_some() {
                        return Err(ClientError::Callback {
                            reason: "it has more than one code",
                        });
                    }
                    parsed.code = Some(AuthorizationCode::new(value));
                    continue;
                }
                "state" => &mut parsed.state,
                "error" => &mut parsed.error,
                "error_description" => &mut parsed.error_description,
                "error_uri" => &mut parsed.error_uri,
                "iss" => &mut parsed.iss,
                _ => continue,
            };
            if slot.is_some() {
                return Err(ClientError::Callback {
                    reason: "a parameter appears more than once",
                });
            }
            *slot = Some(value);
        }
        Ok(parsed)
    }

    /// The OAuth `error` the server sent the user back with, if any (unchecked: call
    /// [`Callback::into_code`] for the typed error after the state check).
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Checks the state (constant time) and the `iss`, then turns a server error into a typed
    /// error, then returns the code.
    ///
    /// # Errors
    ///
    /// [`ClientError::MissingState`], [`ClientError::StateMismatch`],
    /// [`ClientError::IssuerMismatch`], [`ClientError::Authorization`] or
    /// [`ClientError::MissingCode`].
    pub fn into_code(
        self,
        pending: &PendingAuthorization,
    ) -> Result<AuthorizationCode, ClientError> {
        let state = self.state.ok_or(ClientError::MissingState)?;
        if !pending.state.matches(&state) {
            return Err(ClientError::StateMismatch);
        }
        if let (Some(expected), Some(found)) = (&pending.issuer, &self.iss)
            && expected != found
        {
            return Err(ClientError::IssuerMismatch {
                expected: expected.clone(),
                found: smart_core::display_url(found),
            });
        }
        if let Some(error) = self.error {
            let clean = |text: String| smart_core::clean_server_text(&text);
            return Err(ClientError::Authorization {
                error: ErrorCode::parse(&error),
                description: self.error_description.map(clean),
                uri: self.error_uri.map(clean),
            });
        }
        self.code
            .filter(|code| !code.expose_secret().is_empty())
            .ok_or(ClientError::MissingCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_values() {
        let request = AuthorizationRequest {
            method: AuthorizeMethod::Post,
            url: Url::parse("https://ehr.example/authorize").unwrap(),
            form: vec![(
                "scope".to_owned(),
                "\"><script>alert(1)</script>".to_owned(),
            )],
            pending: Box::new(PendingAuthorization {
                state: State::generate().unwrap(),
                verifier: PkceVerifier::generate().unwrap(),
                client_id: ClientId::parse("app").unwrap(),
                redirect_uri: RedirectUri::parse("https://app.example/cb").unwrap(),
                aud: FhirBaseUrl::parse("https://ehr.example/fhir").unwrap(),
                token_endpoint: None,
                issuer: None,
                scope: ScopeSet::new(),
                nonce: None,
                launch: None,
                issued_at: 0,
            }),
        };
        let page = request.html();
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&quot;&gt;&lt;script&gt;"));
    }

    #[test]
    fn debug_hides_the_state() {
        let state = State::generate().unwrap();
        let secret = state.expose_secret().to_owned();
        let request = AuthorizationRequest {
            method: AuthorizeMethod::Get,
            url: Url::parse(&format!(
                "https://ehr.example/authorize?tenant=t&state={secret}"
            ))
            .unwrap(),
            form: Vec::new(),
            pending: Box::new(PendingAuthorization {
                state,
                verifier: PkceVerifier::generate().unwrap(),
                client_id: ClientId::parse("app").unwrap(),
                redirect_uri: RedirectUri::parse("https://app.example/cb").unwrap(),
                aud: FhirBaseUrl::parse("https://ehr.example/fhir").unwrap(),
                token_endpoint: None,
                issuer: None,
                scope: ScopeSet::new(),
                nonce: None,
                launch: None,
                issued_at: 0,
            }),
        };
        let text = format!("{request:?} {request:#?}");
        assert!(!text.contains(&secret), "{text}");
        assert!(text.contains("\"state\""), "{text}");
        assert!(text.contains("https://ehr.example/authorize"), "{text}");
    }

    #[test]
    fn callback_forms() {
        for text in [
            "https://app.example/cb?code=abc&state=s",
            "/cb?code=abc&state=s",
            "?code=abc&state=s",
            "code=abc&state=s",
        ] {
            let callback = Callback::parse(text).unwrap();
            assert_eq!(callback.code.unwrap().expose_secret(), "abc");
            assert_eq!(callback.state.as_deref(), Some("s"));
        }
        assert!(Callback::parse("https://app.example/cb?code=a&code=b&state=s").is_err());
        assert!(Callback::parse("https://app.example/cb?state=a&state=b").is_err());
        assert!(Callback::parse("http://[broken/cb?code=a").is_err());
        assert!(Callback::parse("http://[broken/cb?code=a b").is_err());
        assert!(Callback::parse("http://exa mple/cb?code=a").is_err());
        // The ASCII shortcut and the whole parse read the same pairs.
        for (text, code, state) in [
            (
                "https://app.example/cb?code=a%2Bb+c&state=s#f?code=x",
                "a+b c",
                "s",
            ),
            ("https://app.example/cb?code=a+b\tc&state=s", "a bc", "s"),
            (
                "https://app.example/cb?code=a b&state=\u{e9}",
                "a b",
                "\u{e9}",
            ),
            (
                "https://app.example/cb?code=<\"'>&state=s%zz",
                "<\"'>",
                "s%zz",
            ),
            ("https://h.example?code=c&state=s", "c", "s"),
        ] {
            let callback = Callback::parse(text).unwrap();
            assert_eq!(callback.code.unwrap().expose_secret(), code, "{text}");
            assert_eq!(callback.state.as_deref(), Some(state), "{text}");
            let whole: Vec<(String, String)> = smart_core::form::decode(
                Url::parse(text)
                    .unwrap()
                    .query()
                    .unwrap_or_default()
                    .as_bytes(),
            );
            assert_eq!(
                whole,
                smart_core::form::decode(absolute_query(text).unwrap().as_bytes()),
                "{text}"
            );
        }
        assert!(
            Callback::parse("https://app.example/cb#code=a&state=s")
                .unwrap()
                .code
                .is_none()
        );
        // Native apps' private-use schemes are absolute URLs too.
        let native = Callback::parse("com.example.app://cb?code=abc&state=s").unwrap();
        assert_eq!(native.code.unwrap().expose_secret(), "abc");
    }

    #[test]
    fn authorize_options_debug_redacts_launch_and_parameter_values() {
        let options = AuthorizeOptions::new()
            .launch("LAUNCH-SECRET-1")
            .param("nonce", "NONCE-SECRET-2")
            .unwrap()
            .param("login_hint", "HINT-SECRET-3")
            .unwrap();
        let text = format!("{options:?} {options:#?}");
        for secret in ["LAUNCH-SECRET-1", "NONCE-SECRET-2", "HINT-SECRET-3"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(
            text.contains("\"nonce\"") && text.contains("\"login_hint\""),
            "{text}"
        );
        assert!(text.contains("[redacted]"), "{text}");
    }

    #[test]
    fn unencoded_urls_in_values_do_not_make_a_request_target_absolute() {
        for text in [
            "/cb?code=a&state=s&iss=https://ehr.example/auth",
            "?code=a&state=s&iss=https://ehr.example/auth",
            "code=a&state=s&error_uri=https://x.example/e",
            "https://app.example/cb?code=a&state=s&iss=https://ehr.example/auth",
        ] {
            let callback = Callback::parse(text).unwrap();
            assert_eq!(callback.code.unwrap().expose_secret(), "a", "{text}");
            assert_eq!(callback.state.as_deref(), Some("s"), "{text}");
        }
        let callback = Callback::parse("/cb?code=a&state=s&iss=https://ehr.example/auth").unwrap();
        assert_eq!(callback.iss.as_deref(), Some("https://ehr.example/auth"));
        let callback = Callback::parse("code=a&state=s&error_uri=https://x.example/e").unwrap();
        assert_eq!(callback.error_uri.as_deref(), Some("https://x.example/e"));
    }

    #[test]
    fn a_bare_query_is_not_cut_at_a_question_mark_inside_a_value() {
        let callback =
            Callback::parse("error=access_denied&state=s&error_uri=https://x/e?id=1").unwrap();
        assert_eq!(callback.error.as_deref(), Some("access_denied"));
        assert_eq!(callback.state.as_deref(), Some("s"));
        assert_eq!(callback.error_uri.as_deref(), Some("https://x/e?id=1"));
        // A request target or a leading `?` is still cut at its first `?`.
        for text in [
            "/cb?error=access_denied&state=s&error_uri=https://x/e?id=1",
            "?error=access_denied&state=s&error_uri=https://x/e?id=1",
        ] {
            let callback = Callback::parse(text).unwrap();
            assert_eq!(callback.error.as_deref(), Some("access_denied"), "{text}");
            assert_eq!(callback.error_uri.as_deref(), Some("https://x/e?id=1"));
        }
        // A request target without a query has no parameters.
        let callback = Callback::parse("/cb").unwrap();
        assert!(callback.code.is_none() && callback.error.is_none());
    }
}
