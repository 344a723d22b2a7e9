//! Token, introspection and revocation requests as `http::Request<Vec<u8>>` values (sans-IO).

use http::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use http::{Method, Request};
use smart_core::{EndpointUrl, Redactions, RedirectUri, TokenUrl, display_url};
use smart_pkce::PkceVerifier;

use crate::auth::ClientAuth;
use crate::auth_method::AuthMethod;
use crate::error::TokenError;
use crate::scope::ScopeSet;
use crate::secrets::{AccessToken, AuthorizationCode, RefreshToken};

/// The scope a `client_credentials` request asks for when none is given (as safire does).
pub const DEFAULT_BACKEND_SCOPE: &str = "system/*.rs";

/// Form fields the protocol sets; extra parameters may not replace them.
const RESERVED: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "token",
    "token_type_hint",
];

/// Form fields whose values are secrets: each is recorded in the built request's
/// [`Redactions`].
const SECRET_FIELDS: &[&str] = &[
    "code",
    "code_verifier",
    "refresh_token",
    "client_secret",
    "client_assertion",
    "token",
];

/// A request to the token endpoint, ready to be built into an `http::Request`.
///
/// Building it signs a fresh client assertion when the client uses `private_key_jwt`, so build
/// once per HTTP request and never resend a built request.
///
/// The built request carries the [`Redactions`] of everything secret it holds (see
/// [`request_redactions`]): pass them to [`crate::TokenResponse::from_response_redacting`] so
/// that a server echoing a secret in its error does not get it shown.
///
/// ```
/// use smart_core::{ClientId, RedirectUri, TokenUrl};
/// use smart_pkce::PkceVerifier;
/// use smart_token::{AuthorizationCode, ClientAuth, TokenRequest};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let token_url = TokenUrl::parse("https://ehr.example/token")?;
/// let auth = ClientAuth::public(ClientId::parse("my-app")?);
/// let verifier = PkceVerifier::generate()?;
/// let request = TokenRequest::authorization_code(
///     &AuthorizationCode::new("SplxlOBeZQQYbYS6WxSbIA"),
///     &RedirectUri::parse("https://app.example/callback")?,
///     &verifier,
/// )
/// .build(&token_url, &auth)?;
///
/// assert_eq!(request.method(), "POST");
/// assert_eq!(request.headers()["content-type"], "application/x-www-form-urlencoded");
/// let body = String::from_utf8(request.body().clone())?;
/// assert!(body.starts_with("grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback"));
/// assert!(body.ends_with("&client_id=my-app"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenRequest {
    form: Vec<(String, String)>,
}

impl TokenRequest {
    /// The code exchange: `grant_type=authorization_code`, `code`, `redirect_uri` (exactly as
    /// sent in the authorization request) and `code_verifier`.
    #[must_use]
    pub fn authorization_code(
        code: &AuthorizationCode,
        redirect_uri: &RedirectUri,
        verifier: &PkceVerifier,
    ) -> Self {
        Self {
            form: vec![
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), code.expose_secret().into()),
                ("redirect_uri".into(), redirect_uri.as_str().into()),
                ("code_verifier".into(), verifier.expose_secret().into()),
            ],
        }
    }

    /// A refresh: `grant_type=refresh_token` and `refresh_token`, plus `scope` only when a
    /// narrower, non-empty scope set is asked for (SMART: a strict subset of the original).
    #[must_use]
    pub fn refresh_token(refresh_token: &RefreshToken, narrower_scope: Option<&ScopeSet>) -> Self {
        let mut form = vec![
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), refresh_token.expose_secret().into()),
        ];
        if let Some(scope) = narrower_scope.filter(|scope| !scope.is_empty()) {
            form.push(("scope".into(), scope.to_string()));
        }
        Self { form }
    }

    /// SMART Backend Services: `grant_type=client_credentials` and `scope`, which defaults to
    /// [`DEFAULT_BACKEND_SCOPE`] when `scope` is `None`.
    ///
    /// Only a confidential client may use it (RFC 6749 §4.4): building it with
    /// [`ClientAuth::public`] fails with [`TokenError::PublicClientCredentials`].
    ///
    /// # Errors
    ///
    /// [`TokenError::EmptyScope`] for an empty set: leave it out to get the default.
    pub fn client_credentials(scope: Option<&ScopeSet>) -> Result<Self, TokenError> {
        let scope = match scope {
            Some(scope) if scope.is_empty() => return Err(TokenError::EmptyScope),
            Some(scope) => scope.to_string(),
            None => DEFAULT_BACKEND_SCOPE.to_owned(),
        };
        Ok(Self {
            form: vec![
                ("grant_type".into(), "client_credentials".into()),
                ("scope".into(), scope),
            ],
        })
    }

    /// Adds a vendor parameter.
    ///
    /// # Errors
    ///
    /// [`TokenError::ReservedParameter`] when `name` is a parameter the protocol sets.
    pub fn with_param(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, TokenError> {
        let name = name.into();
        if RESERVED.contains(&name.as_str()) || self.form.iter().any(|(n, _)| *n == name) {
            return Err(TokenError::ReservedParameter { name });
        }
        self.form.push((name, value.into()));
        Ok(self)
    }

    /// The grant type this request asks for.
    #[must_use]
    pub fn grant_type(&self) -> &str {
        self.form.first().map_or("", |(_, value)| value.as_str())
    }

    /// The HTTP request: POST to `token_url`, form-urlencoded, authenticated by `auth`.
    ///
    /// # Errors
    ///
    /// [`TokenError::Assertion`] when a `private_key_jwt` assertion cannot be signed;
    /// [`TokenError::InvalidEndpoint`] when the URL cannot go into an HTTP request;
    /// [`TokenError::PublicClientCredentials`] for `client_credentials` with a public client;
    /// [`TokenError::EmptyClientSecret`] or [`TokenError::AmbiguousBasicCredentials`] when the
    /// client secret cannot be sent.
    pub fn build(
        &self,
        token_url: &TokenUrl,
        auth: &ClientAuth,
    ) -> Result<Request<Vec<u8>>, TokenError> {
        if self.grant_type() == "client_credentials" && auth.method() == AuthMethod::None {
            return Err(TokenError::PublicClientCredentials);
        }
        let mut form = self.form.clone();
        let mut headers = HeaderMap::new();
        let mut redactions = Redactions::new();
        auth.apply(token_url, &mut form, &mut headers, &mut redactions)?;
        form_post(
            "token endpoint",
            token_url.url(),
            &form,
            headers,
            redactions,
        )
    }
}

impl core::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&str> = self.form.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("TokenRequest")
            .field("fields", &names)
            .finish_non_exhaustive()
    }
}

/// Which token an introspection or revocation request is about.
#[derive(Debug, Clone, Copy)]
pub enum TokenRef<'a> {
    /// An access token (`token_type_hint=access_token`).
    Access(&'a AccessToken),
    /// A refresh token (`token_type_hint=refresh_token`).
    Refresh(&'a RefreshToken),
}

impl TokenRef<'_> {
    fn fields(self) -> [(String, String); 2] {
        let (token, hint) = match self {
            Self::Access(token) => (token.expose_secret(), "access_token"),
            Self::Refresh(token) => (token.expose_secret(), "refresh_token"),
        };
        [
            ("token".into(), token.into()),
            ("token_type_hint".into(), hint.into()),
        ]
    }
}

/// How an introspection request is authenticated: SMART allows the client's own method or a
/// Bearer token ([token-introspection.html](https://hl7.org/fhir/smart-app-launch/STU2.2/token-introspection.html)).
#[derive(Debug, Clone, Copy)]
pub enum IntrospectionAuth<'a> {
    /// The client's token-endpoint authentication; assertions are addressed to `token_url`.
    Client {
        /// The client's authentication.
        auth: &'a ClientAuth,
        /// The token endpoint (the `aud` of a `private_key_jwt` assertion).
        token_url: &'a TokenUrl,
    },
    /// `Authorization: Bearer` with a token authorised to introspect.
    Bearer(&'a AccessToken),
}

/// A token introspection request (RFC 7662 §2.1).
///
/// # Errors
///
/// As [`TokenRequest::build`].
pub fn introspection_request(
    endpoint: &EndpointUrl,
    auth: IntrospectionAuth<'_>,
    token: TokenRef<'_>,
) -> Result<Request<Vec<u8>>, TokenError> {
    let mut form = token.fields().to_vec();
    let mut headers = HeaderMap::new();
    let mut redactions = Redactions::new();
    match auth {
        IntrospectionAuth::Client { auth, token_url } => {
            auth.apply(token_url, &mut form, &mut headers, &mut redactions)?;
        }
        IntrospectionAuth::Bearer(bearer) => {
            redactions.secret(bearer.expose_secret());
            headers.insert(http::header::AUTHORIZATION, bearer_header(bearer)?);
        }
    }
    form_post(
        "introspection endpoint",
        endpoint.url(),
        &form,
        headers,
        redactions,
    )
}

/// A token revocation request (RFC 7009 §2.1), authenticated like token requests; assertions
/// are addressed to `token_url`.
///
/// # Errors
///
/// As [`TokenRequest::build`].
pub fn revocation_request(
    endpoint: &EndpointUrl,
    auth: &ClientAuth,
    token_url: &TokenUrl,
    token: TokenRef<'_>,
) -> Result<Request<Vec<u8>>, TokenError> {
    let mut form = token.fields().to_vec();
    let mut headers = HeaderMap::new();
    let mut redactions = Redactions::new();
    auth.apply(token_url, &mut form, &mut headers, &mut redactions)?;
    form_post(
        "revocation endpoint",
        endpoint.url(),
        &form,
        headers,
        redactions,
    )
}

/// `Authorization: Bearer <token>` (RFC 6750 §2.1), marked sensitive so `http`'s `Debug`
/// hides it.
///
/// # Errors
///
/// [`TokenError::UnusableToken`] when the token has characters a header cannot carry.
pub fn bearer_header(token: &AccessToken) -> Result<HeaderValue, TokenError> {
    let text = smart_core::Secret::new(format!("Bearer {}", token.expose_secret()));
    let mut value =
        HeaderValue::from_str(text.expose_secret()).map_err(|_| TokenError::UnusableToken {
            field: "access_token",
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The secrets a request built by this crate carries ([`TokenRequest::build`],
/// [`introspection_request`], [`revocation_request`]): the code, the PKCE verifier, the
/// refresh token, the token introspected or revoked, the client secret (raw, form-urlencoded
/// and inside the Basic header's base64), the client assertion and a Bearer token. They
/// travel in the request's extensions; take them out before the request is sent (sending
/// consumes it) and give them to the `*_redacting` parser of the answer. A request from
/// elsewhere gives an empty set.
///
/// ```
/// use smart_core::{ClientId, TokenUrl};
/// use smart_token::{ClientAuth, ClientSecret, RefreshToken, TokenRequest, request_redactions};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = ClientAuth::client_secret_post(ClientId::parse("app")?, ClientSecret::new("s3cret"));
/// let request = TokenRequest::refresh_token(&RefreshToken::new("rt-123"), None)
///     .build(&TokenUrl::parse("https://ehr.example/token")?, &auth)?;
/// let redactions = request_redactions(&request);
/// assert_eq!(
///     redactions.redact("bad refresh token rt-123 for secret s3cret"),
///     "bad refresh token [redacted] for secret [redacted]"
/// );
/// # Ok(())
/// # }
/// ```
#[must_use]
pub fn request_redactions<B>(request: &Request<B>) -> Redactions {
    request
        .extensions()
        .get::<Redactions>()
        .cloned()
        .unwrap_or_default()
}

/// POSTs `form` to `url`. The request goes to the parsed URL (IDN hosts in punycode, paths
/// percent-encoded); the caller's exact string is what assertions carry as `aud`. The secrets
/// of the form (and those the authentication recorded) go into the request's extensions.
fn form_post(
    endpoint: &'static str,
    url: &smart_core::url::Url,
    form: &[(String, String)],
    headers: HeaderMap,
    mut redactions: Redactions,
) -> Result<Request<Vec<u8>>, TokenError> {
    for (_, value) in form
        .iter()
        .filter(|(name, _)| SECRET_FIELDS.contains(&name.as_str()))
    {
        redactions.secret(value);
    }
    let body = smart_core::form::encode(form.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(url.as_str())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(body.into_bytes())
        .map_err(|_| TokenError::InvalidEndpoint {
            endpoint,
            url: display_url(url.as_str()),
        })?;
    request.headers_mut().extend(headers);
    request.extensions_mut().insert(redactions);
    Ok(request)
}
