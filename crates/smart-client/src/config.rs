//! Client configuration: what a SMART app knows before it talks to a server.

use core::fmt;
use std::sync::Once;

use smart_core::{
    AuthorizeUrl, ClientId, ClientIdError, FhirBaseUrl, RedirectUri, TokenUrl, TransportPolicy,
    UrlError,
};
use smart_token::ClientSecret;
use smart_token::scope::{ScopeError, ScopeSet};

use crate::transport::HttpOptions;

/// How a confidential-symmetric client sends its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SecretMethod {
    /// `client_secret_basic` with the raw `client_id:secret` (what SMART servers, safire and
    /// the Inferno test kit expect). The default.
    #[default]
    Basic,
    /// `client_secret_basic` with both parts form-urlencoded first (RFC 6749 §2.3.1).
    BasicRfc6749,
    /// `client_secret_post`: both in the form body.
    Post,
}

/// A configuration that cannot be used. Messages list every problem at once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// One or more URL settings are invalid or break the HTTPS rule.
    #[error("configuration has unusable URLs: {}", join(.0))]
    Urls(Vec<UrlError>),
    /// Settings an operation needs are missing.
    #[error("configuration missing: {} (needed to {operation})", .fields.join(", "))]
    Missing {
        /// The missing settings.
        fields: Vec<&'static str>,
        /// What they are needed for.
        operation: &'static str,
    },
    /// An extra authorization parameter would replace one the client sets itself.
    #[error("the authorization parameter `{name}` is set by the client and cannot be added")]
    ReservedParameter {
        /// The parameter name.
        name: String,
    },
    /// `openid` is requested in a build that cannot verify `id_token`s.
    #[error(
        "the scope openid asks for an id_token, but this build cannot verify one: enable the `openid` feature (of smart-on-fhir, or smart-client), or remove openid from the scopes"
    )]
    OpenIdWithoutVerification,
    /// The configuration's `client_id` is not the one of the client authentication given to
    /// [`SmartFlows::with_client_auth`](crate::SmartFlows::with_client_auth).
    #[error(
        "the configured client_id differs from the client authentication's; leave client_id out of the configuration or use the same one"
    )]
    ClientIdMismatch,
    /// The client id is unusable.
    #[error("invalid client_id: {0}")]
    ClientId(#[from] ClientIdError),
    /// The scopes do not parse.
    #[error("invalid scopes: {0}")]
    Scopes(#[from] ScopeError),
    /// The private key, key id, algorithm or JWKS URL cannot make assertions.
    #[cfg(feature = "private-key-jwt")]
    #[error("invalid assertion settings: {0}")]
    Assertion(#[from] smart_jwt_assertion::Error),
}

fn join(errors: &[UrlError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Everything a [`crate::SmartClient`] knows before it talks to a server. Built with
/// [`ClientConfig::builder`]; validated once, then read-only.
///
/// `base_url` is required; `issuer` (sent as `aud`) defaults to it. Configured endpoints skip
/// discovery. `Debug` masks the secret and the key.
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) base_url: FhirBaseUrl,
    pub(crate) issuer: FhirBaseUrl,
    pub(crate) client_id: Option<ClientId>,
    pub(crate) client_secret: Option<ClientSecret>,
    pub(crate) secret_method: SecretMethod,
    pub(crate) redirect_uri: Option<RedirectUri>,
    pub(crate) scopes: Option<ScopeSet>,
    pub(crate) authorization_endpoint: Option<AuthorizeUrl>,
    pub(crate) token_endpoint: Option<TokenUrl>,
    #[cfg(feature = "private-key-jwt")]
    pub(crate) signer: Option<smart_jwt_assertion::AssertionSigner>,
    pub(crate) policy: TransportPolicy,
    pub(crate) fallback_to_metadata: bool,
    pub(crate) unverified_id_tokens: bool,
    pub(crate) http: HttpOptions,
}

impl ClientConfig {
    /// Starts a configuration for the FHIR server at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> ClientConfigBuilder {
        ClientConfigBuilder {
            base_url: base_url.into(),
            ..ClientConfigBuilder::default()
        }
    }

    /// The FHIR base URL, exactly as configured.
    #[must_use]
    pub fn base_url(&self) -> &FhirBaseUrl {
        &self.base_url
    }

    /// The `aud` sent in authorization requests: `issuer`, or `base_url` by default.
    #[must_use]
    pub fn issuer(&self) -> &FhirBaseUrl {
        &self.issuer
    }

    /// The client id, if configured.
    #[must_use]
    pub fn client_id(&self) -> Option<&ClientId> {
        self.client_id.as_ref()
    }

    /// The redirect URI, if configured.
    #[must_use]
    pub fn redirect_uri(&self) -> Option<&RedirectUri> {
        self.redirect_uri.as_ref()
    }

    /// The default scopes, if configured.
    #[must_use]
    pub fn scopes(&self) -> Option<&ScopeSet> {
        self.scopes.as_ref()
    }

    /// The configured authorization endpoint (skips discovery for authorization).
    #[must_use]
    pub fn authorization_endpoint(&self) -> Option<&AuthorizeUrl> {
        self.authorization_endpoint.as_ref()
    }

    /// The configured token endpoint (skips discovery for token calls).
    #[must_use]
    pub fn token_endpoint(&self) -> Option<&TokenUrl> {
        self.token_endpoint.as_ref()
    }

    /// Whether a client secret is configured.
    #[must_use]
    pub fn has_client_secret(&self) -> bool {
        self.client_secret.is_some()
    }

    /// How the client secret is sent.
    #[must_use]
    pub fn secret_method(&self) -> SecretMethod {
        self.secret_method
    }

    /// The assertion signer made from the private key settings, if any.
    #[cfg(feature = "private-key-jwt")]
    #[must_use]
    pub fn assertion_signer(&self) -> Option<&smart_jwt_assertion::AssertionSigner> {
        self.signer.as_ref()
    }

    /// The HTTPS rule in force.
    #[must_use]
    pub fn transport_policy(&self) -> TransportPolicy {
        self.policy
    }

    /// Whether discovery falls back to the CapabilityStatement (`/metadata`) when
    /// `.well-known/smart-configuration` fails.
    #[must_use]
    pub fn fallback_to_metadata(&self) -> bool {
        self.fallback_to_metadata
    }

    /// Whether `id_token`s are accepted without verification
    /// ([`ClientConfigBuilder::accept_unverified_id_tokens_insecure`]).
    #[must_use]
    pub fn accepts_unverified_id_tokens(&self) -> bool {
        self.unverified_id_tokens
    }

    /// The HTTP limits.
    #[must_use]
    pub fn http_options(&self) -> &HttpOptions {
        &self.http
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            base_url,
            issuer,
            client_id,
            client_secret,
            secret_method,
            redirect_uri,
            scopes,
            authorization_endpoint,
            token_endpoint,
            #[cfg(feature = "private-key-jwt")]
            signer,
            policy,
            fallback_to_metadata,
            unverified_id_tokens,
            http,
        } = self;
        let mut debug = f.debug_struct("ClientConfig");
        debug
            .field("base_url", base_url)
            .field("issuer", issuer)
            .field("client_id", client_id)
            .field(
                "client_secret",
                &client_secret.as_ref().map(|_| "[FILTERED]"),
            )
            .field("secret_method", secret_method)
            .field("redirect_uri", redirect_uri)
            .field("scopes", &scopes.as_ref().map(ToString::to_string))
            .field("authorization_endpoint", authorization_endpoint)
            .field("token_endpoint", token_endpoint);
        #[cfg(feature = "private-key-jwt")]
        debug.field("assertion_signer", signer);
        debug
            .field("transport_policy", policy)
            .field("fallback_to_metadata", fallback_to_metadata)
            .field("unverified_id_tokens", unverified_id_tokens)
            .field("http", http)
            .finish()
    }
}

/// Builds a [`ClientConfig`]. Every setter takes plain values; [`ClientConfigBuilder::build`]
/// checks them all and reports every problem in one error.
///
/// ```
/// use smart_client::ClientConfig;
///
/// let config = ClientConfig::builder("https://ehr.example/fhir")
///     .client_id("growth-chart")
///     .redirect_uri("https://app.example/callback")
///     .scopes("launch/patient patient/Observation.rs openid fhirUser")
///     .build()?;
/// assert_eq!(config.issuer().as_str(), "https://ehr.example/fhir");
///
/// // Every bad URL is named at once.
/// let err = ClientConfig::builder("http://ehr.example/fhir")
///     .redirect_uri("not a url")
///     .build()
///     .unwrap_err();
/// let text = err.to_string();
/// assert!(text.contains("base_url") && text.contains("redirect_uri"), "{text}");
/// # Ok::<(), smart_client::ConfigError>(())
/// ```
#[derive(Default)]
#[must_use]
pub struct ClientConfigBuilder {
    base_url: String,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<ClientSecret>,
    secret_method: SecretMethod,
    redirect_uri: Option<String>,
    scopes: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    #[cfg(feature = "private-key-jwt")]
    private_key: Option<smart_jwt_assertion::PrivateKey>,
    #[cfg(feature = "private-key-jwt")]
    external_signer: Option<smart_jwt_assertion::AssertionSigner>,
    #[cfg(feature = "private-key-jwt")]
    kid: Option<String>,
    #[cfg(feature = "private-key-jwt")]
    algorithm: Option<smart_jwt_assertion::Algorithm>,
    #[cfg(feature = "private-key-jwt")]
    jwks_uri: Option<String>,
    allow_insecure_localhost: bool,
    fallback_to_metadata: bool,
    unverified_id_tokens: bool,
    http: HttpOptions,
}

impl fmt::Debug for ClientConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfigBuilder")
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ClientConfigBuilder {
    /// The `aud` of authorization requests, when it differs from `base_url`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The client id the server registered.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The client secret of a confidential-symmetric client.
    pub fn client_secret(mut self, secret: ClientSecret) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// How the client secret is sent (raw Basic by default).
    pub fn secret_method(mut self, method: SecretMethod) -> Self {
        self.secret_method = method;
        self
    }

    /// The redirect URI registered for the app: `https://`, a native app's private-use scheme
    /// (`com.example.app:/callback`, RFC 8252 §7.1), or an `http://` loopback URI
    /// (`http://127.0.0.1:PORT/callback`, RFC 8252 §7.3), which needs no opt-in.
    pub fn redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    /// Default scopes, space-separated.
    pub fn scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes = Some(scopes.into());
        self
    }

    /// The authorization endpoint; set it to skip discovery for authorization.
    pub fn authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.authorization_endpoint = Some(url.into());
        self
    }

    /// The token endpoint; set it to skip discovery for token calls.
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = Some(url.into());
        self
    }

    /// The private key of a confidential-asymmetric client or backend service.
    #[cfg(feature = "private-key-jwt")]
    pub fn private_key(mut self, key: smart_jwt_assertion::PrivateKey) -> Self {
        self.private_key = Some(key);
        self
    }

    /// An assertion signer over an external key (a KMS or HSM), instead of a private key.
    #[cfg(feature = "private-key-jwt")]
    pub fn assertion_signer(mut self, signer: smart_jwt_assertion::AssertionSigner) -> Self {
        self.external_signer = Some(signer);
        self
    }

    /// The `kid` the public key is registered under. Defaults to the key's RFC 7638
    /// thumbprint, the `kid` that `smart jwks` prints.
    #[cfg(feature = "private-key-jwt")]
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The assertion algorithm, RS384 or ES384; by default the one the key fits.
    #[cfg(feature = "private-key-jwt")]
    pub fn jwt_algorithm(mut self, algorithm: smart_jwt_assertion::Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// The app's JWKS URL, sent as the `jku` header of assertions (must be `https://`).
    #[cfg(feature = "private-key-jwt")]
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// Allows `http://` to `localhost`, `127.0.0.1` and `[::1]` for development. Off by
    /// default; a warning is logged once when it is on and a loopback URL is used.
    pub fn allow_insecure_localhost(mut self, allow: bool) -> Self {
        self.allow_insecure_localhost = allow;
        self
    }

    /// Falls back to the server's CapabilityStatement (`/metadata`) when
    /// `.well-known/smart-configuration` fails (a deprecated mechanism of SMART v1 servers).
    pub fn fallback_to_metadata(mut self, fallback: bool) -> Self {
        self.fallback_to_metadata = fallback;
        self
    }

    /// **Insecure.** Accepts `id_token`s without verifying them (signature, issuer, audience,
    /// expiry, nonce). Off by default: when `openid` is requested, the code exchange and every
    /// refresh verify the `id_token` they receive, and a build without the `openid` feature
    /// refuses to ask for `openid`. Turn this on only for a server that signs `id_token`s with
    /// something this client cannot verify, and do not trust their claims for identity.
    pub fn accept_unverified_id_tokens_insecure(mut self, accept: bool) -> Self {
        self.unverified_id_tokens = accept;
        self
    }

    /// HTTP limits: timeouts, body size, proxy.
    pub fn http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Checks everything and builds the configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Urls`] listing every invalid or non-HTTPS URL setting at once, or the
    /// first problem with the client id, the scopes or the assertion settings.
    pub fn build(self) -> Result<ClientConfig, ConfigError> {
        let policy = TransportPolicy::new(self.allow_insecure_localhost);
        let mut problems = Vec::new();
        let mut loopback_used = false;
        // Each URL setting in order: parse it, then hold it to the HTTPS rule.
        let mut checked = |url: Option<&smart_core::url::Url>,
                           field: &'static str,
                           problems: &mut Vec<UrlError>| {
            let Some(url) = url else { return true };
            match policy.check(field, url) {
                Ok(()) => {
                    loopback_used |= url.scheme() == "http";
                    true
                }
                Err(error) => {
                    problems.push(error);
                    false
                }
            }
        };

        let base_url = collect(FhirBaseUrl::parse(self.base_url.clone()), &mut problems)
            .filter(|url| checked(Some(url.url()), "base_url", &mut problems));
        let issuer = match &self.issuer {
            Some(issuer) => collect(
                FhirBaseUrl::parse(issuer.clone()).map_err(|error| error.for_field("issuer")),
                &mut problems,
            )
            .filter(|url| checked(Some(url.url()), "issuer", &mut problems)),
            None => base_url.clone(),
        };
        // Native apps (RFC 8252) may use a private-use scheme (§7.1) or an http:// loopback
        // redirect (§7.3): the code arrives from the user's own browser on the same machine and
        // is useless without the PKCE verifier, so neither needs the opt-in. Other web redirect
        // URIs follow the HTTPS rule.
        let redirect_uri = self
            .redirect_uri
            .clone()
            .and_then(|value| collect(RedirectUri::parse(value), &mut problems))
            .filter(|url| {
                let native = !matches!(url.url().scheme(), "http" | "https")
                    || (url.url().scheme() == "http" && is_loopback(url.url()));
                native || checked(Some(url.url()), "redirect_uri", &mut problems)
            });
        let authorization_endpoint = self
            .authorization_endpoint
            .clone()
            .and_then(|value| collect(AuthorizeUrl::parse(value), &mut problems))
            .filter(|url| checked(Some(url.url()), "authorization_endpoint", &mut problems));
        let token_endpoint = self
            .token_endpoint
            .clone()
            .and_then(|value| collect(TokenUrl::parse(value), &mut problems))
            .filter(|url| checked(Some(url.url()), "token_endpoint", &mut problems));

        #[cfg(feature = "private-key-jwt")]
        let jwks_uri = self
            .jwks_uri
            .clone()
            .and_then(|value| collect(smart_core::JwksUrl::parse(value), &mut problems))
            // The server fetches the JWKS itself: plain HTTP only on loopback with the opt-in
            // (a development server on the same machine), like every other URL.
            .filter(|url| checked(Some(url.url()), "jwks_uri", &mut problems));

        let (Some(base_url), Some(issuer), true) = (base_url, issuer, problems.is_empty()) else {
            return Err(ConfigError::Urls(problems));
        };

        if loopback_used {
            warn_insecure_loopback();
        }

        let client_id = self.client_id.map(ClientId::parse).transpose()?;
        let scopes = self.scopes.as_deref().map(ScopeSet::parse).transpose()?;

        #[cfg(feature = "private-key-jwt")]
        let signer = build_signer(
            self.external_signer,
            self.private_key.as_ref(),
            self.kid,
            self.algorithm,
            jwks_uri,
            policy,
        )?;

        Ok(ClientConfig {
            base_url,
            issuer,
            client_id,
            client_secret: self.client_secret,
            secret_method: self.secret_method,
            redirect_uri,
            scopes,
            authorization_endpoint,
            token_endpoint,
            #[cfg(feature = "private-key-jwt")]
            signer,
            policy,
            fallback_to_metadata: self.fallback_to_metadata,
            unverified_id_tokens: self.unverified_id_tokens,
            http: self.http,
        })
    }
}

/// The assertion signer: the external one, or one over the private key (with the `kid`
/// defaulting to the key's thumbprint), with the `jku` header when a JWKS URL is set.
#[cfg(feature = "private-key-jwt")]
fn build_signer(
    external: Option<smart_jwt_assertion::AssertionSigner>,
    key: Option<&smart_jwt_assertion::PrivateKey>,
    kid: Option<String>,
    algorithm: Option<smart_jwt_assertion::Algorithm>,
    jwks_uri: Option<smart_core::JwksUrl>,
    policy: TransportPolicy,
) -> Result<Option<smart_jwt_assertion::AssertionSigner>, ConfigError> {
    let signer = match (external, key) {
        (Some(signer), _) => signer,
        (None, Some(key)) => {
            let kid = kid.unwrap_or_else(|| key.thumbprint());
            smart_jwt_assertion::AssertionSigner::from_key(key, kid, algorithm)?
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(match jwks_uri {
        Some(jwks) => signer.with_jku_under(jwks, policy)?,
        None => signer,
    }))
}

/// Warns, once per process, that an `http://` loopback URL is in use (configured, or
/// advertised by a server and allowed by `allow_insecure_localhost`).
pub(crate) fn warn_insecure_loopback() {
    static WARN_ONCE: Once = Once::new();
    WARN_ONCE.call_once(|| {
        log::warn!(
            "allow_insecure_localhost permits development-only HTTP loopback URLs; SMART App Launch requires HTTPS in production"
        );
    });
}

/// Whether the URL's host is `localhost`, `127.0.0.1` or `[::1]`.
fn is_loopback(url: &smart_core::url::Url) -> bool {
    TransportPolicy::ALLOW_INSECURE_LOCALHOST
        .problem(url)
        .is_none()
        && TransportPolicy::STRICT.problem(url).is_some()
}

fn collect<T>(result: Result<T, UrlError>, problems: &mut Vec<UrlError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            problems.push(error);
            None
        }
    }
}
