//! The client: discovery, the authorization request and callback, and every token flow.

use core::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use serde_json::{Map, Value};
use smart_core::json::parse_object;
use smart_core::url::Url;
use smart_core::{
    AuthorizeUrl, Clock, EndpointUrl, SystemClock, TokenUrl, display_url, unix_seconds,
};
use smart_discovery::{SmartConfiguration, capability_statement};
use smart_pkce::{PkceVerifier, State};
use smart_token::scope::ScopeSet;
use smart_token::{
    AccessToken, AuthorizationCode, ClientAuth, ClientSecret, IntrospectionAuth,
    IntrospectionResponse, OAuthError, Operation, RefreshToken, TokenError, TokenRef, TokenRequest,
    TokenResponse, bearer_header, introspection_request, revocation_request, revocation_response,
};

use crate::authorize::{
    AuthorizationRequest, AuthorizeMethod, AuthorizeOptions, Callback, PendingAuthorization,
};
use crate::config::{ClientConfig, ConfigError, SecretMethod};
use crate::error::ClientError;
use crate::registration::Registration;
use crate::transport::{HttpClient, TransportErrorKind};

/// How many redirects a discovery GET follows.
const MAX_REDIRECTS: usize = 3;

/// The SMART client types ([app-launch.html#support-for-public-and-confidential-apps](https://hl7.org/fhir/smart-app-launch/STU2.2/app-launch.html#support-for-public-and-confidential-apps)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ClientType {
    /// An app that cannot keep a secret: it sends its `client_id` only.
    #[default]
    Public,
    /// An app with a client secret (`client_secret_basic` or `client_secret_post`).
    ConfidentialSymmetric,
    /// An app with a private key (`private_key_jwt`).
    ConfidentialAsymmetric,
}

impl ClientType {
    /// The SMART capability name: `client-public`, `client-confidential-symmetric`,
    /// `client-confidential-asymmetric`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "client-public",
            Self::ConfidentialSymmetric => "client-confidential-symmetric",
            Self::ConfidentialAsymmetric => "client-confidential-asymmetric",
        }
    }
}

impl fmt::Display for ClientType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a request may follow redirects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Redirects {
    /// GET of a public document: up to three hops, each allowed by the HTTPS rule.
    FollowGet,
    /// Everything else: a redirect is an error. The reason says why.
    Refuse(&'static str),
}

/// The token being introspected is checked with the client's own authentication, or with a
/// Bearer token (both are allowed by SMART).
#[derive(Debug, Clone, Copy)]
pub enum IntrospectWith<'a> {
    /// The client's token-endpoint authentication.
    Client,
    /// `Authorization: Bearer` with a token authorised to introspect.
    Bearer(&'a AccessToken),
}

/// A SMART on FHIR client for one server: discovery (lazy and cached), the authorization
/// request and callback, code exchange, refresh, Backend Services, registration,
/// introspection, revocation, and FHIR reads with the token.
///
/// Every call is blocking and does its own HTTP through an [`HttpClient`]: ureq by default,
/// a caller's `ureq::Agent`, or any closure.
///
/// ```no_run
/// use smart_client::{AuthorizeOptions, ClientConfig, ClientType, SmartClient};
///
/// # fn main() -> Result<(), smart_client::ClientError> {
/// let config = ClientConfig::builder("https://ehr.example/fhir")
///     .client_id("growth-chart")
///     .redirect_uri("https://app.example/callback")
///     .scopes("launch/patient patient/Observation.rs openid fhirUser offline_access")
///     .build()?;
/// let client = SmartClient::new(config, ClientType::Public)?;
///
/// // 1. Send the user's browser to the authorization server; keep `pending` in the session.
/// let request = client.authorize(AuthorizeOptions::new())?;
/// let redirect_to = request.url().clone();
/// let pending = request.into_pending();
///
/// // 2. On the callback: check state, exchange the code.
/// let token = client.complete_authorization("https://app.example/callback?code=...&state=...", &pending)?;
/// println!("patient {:?}", token.context().patient());
/// # Ok(())
/// # }
/// ```
pub struct SmartClient {
    config: ClientConfig,
    client_type: ClientType,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    discovered: Mutex<Option<Arc<SmartConfiguration>>>,
    #[cfg(feature = "openid")]
    identity: Mutex<Option<Arc<Identity>>>,
}

/// The issuer's OpenID configuration and its keys, cached for `id_token` verification.
#[cfg(feature = "openid")]
struct Identity {
    issuer: smart_core::IssuerUrl,
    configuration: smart_discovery::openid::OpenIdConfiguration,
    keys: smart_jwt_assertion::JwkSet,
}

impl fmt::Debug for SmartClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            config,
            client_type,
            http: _,
            clock: _,
            discovered,
            #[cfg(feature = "openid")]
                identity: _,
        } = self;
        let discovered = discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        f.debug_struct("SmartClient")
            .field("config", config)
            .field("client_type", client_type)
            .field("discovered", &discovered)
            .finish_non_exhaustive()
    }
}

impl SmartClient {
    /// A client with the default transport: ureq with the configuration's timeouts and body
    /// limit, no redirects, no proxy from the environment.
    ///
    /// # Errors
    ///
    /// [`ClientError::Network`] when the configured proxy URL is invalid.
    #[cfg(feature = "ureq")]
    pub fn new(config: ClientConfig, client_type: ClientType) -> Result<Self, ClientError> {
        let transport =
            crate::transport::UreqClient::new(config.http_options()).map_err(|source| {
                ClientError::Network {
                    url: "proxy".to_owned(),
                    source,
                }
            })?;
        Ok(Self::with_http_client(config, client_type, transport))
    }

    /// A client over the caller's `ureq::Agent` (its TLS, proxy and timeouts). Redirects are
    /// still never followed by the agent, and the body limit of the configuration applies.
    #[cfg(feature = "ureq")]
    #[must_use]
    pub fn with_agent(config: ClientConfig, client_type: ClientType, agent: ureq::Agent) -> Self {
        let limit = config.http_options().get_max_body_bytes();
        Self::with_http_client(
            config,
            client_type,
            crate::transport::UreqClient::with_agent(agent, limit),
        )
    }

    /// A client over any [`HttpClient`], closures included.
    #[must_use]
    pub fn with_http_client(
        config: ClientConfig,
        client_type: ClientType,
        http: impl HttpClient + 'static,
    ) -> Self {
        Self {
            config,
            client_type,
            http: Arc::new(http),
            clock: Arc::new(SystemClock),
            discovered: Mutex::new(None),
            #[cfg(feature = "openid")]
            identity: Mutex::new(None),
        }
    }

    /// The clock used for `expires_at` and assertion times (tests fix it).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The client type.
    #[must_use]
    pub fn client_type(&self) -> ClientType {
        self.client_type
    }

    /// Switches the client type; the discovered configuration is kept.
    pub fn set_client_type(&mut self, client_type: ClientType) {
        self.client_type = client_type;
    }

    /// The server's SMART configuration: fetched on first use, then cached. A failure is not
    /// cached, so the next call tries again.
    ///
    /// With [`crate::ClientConfigBuilder::fallback_to_metadata`], a well-known document that
    /// is missing or unusable is replaced by the endpoints of the CapabilityStatement.
    ///
    /// # Errors
    ///
    /// [`ClientError::Discovery`] (URL, status, what was wrong), [`ClientError::Network`],
    /// [`ClientError::RedirectBlocked`] or [`ClientError::ResponseTooLarge`].
    pub fn discover(&self) -> Result<Arc<SmartConfiguration>, ClientError> {
        let mut cache = self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(configuration) = cache.as_ref() {
            return Ok(Arc::clone(configuration));
        }
        let configuration = Arc::new(self.fetch_configuration()?);
        *cache = Some(Arc::clone(&configuration));
        Ok(configuration)
    }

    fn fetch_configuration(&self) -> Result<SmartConfiguration, ClientError> {
        let base = &self.config.base_url;
        let policy = self.config.policy;
        let url = smart_discovery::well_known_url(base);
        let outcome = smart_discovery::request(base)
            .map_err(ClientError::from)
            .and_then(|request| self.send(request, Redirects::FollowGet))
            .and_then(|response| {
                smart_discovery::parse(base, &response, policy).map_err(ClientError::from)
            });
        match outcome {
            Ok(configuration) => {
                warn_if_loopback(&configuration);
                Ok(configuration)
            }
            Err(ClientError::Discovery(error)) if self.config.fallback_to_metadata => {
                log::warn!(
                    "SMART discovery failed for `{}` ({error}); trying the CapabilityStatement",
                    display_url(url.as_str())
                );
                let request = capability_statement::request(base)?;
                let response = self.send(request, Redirects::FollowGet)?;
                let uris = capability_statement::parse(base, &response, policy)?;
                let configuration = uris.into_smart_configuration();
                warn_if_loopback(&configuration);
                Ok(configuration)
            }
            Err(error) => {
                // Returned to the caller, who decides how loud to be: debug only here.
                log::debug!(
                    "SMART discovery failed for `{}`: {error}",
                    display_url(url.as_str())
                );
                Err(error)
            }
        }
    }

    /// The token endpoint: configured, or discovered.
    ///
    /// # Errors
    ///
    /// Discovery errors, or [`ClientError::NotAdvertised`].
    pub fn token_endpoint(&self) -> Result<TokenUrl, ClientError> {
        if let Some(url) = &self.config.token_endpoint {
            return Ok(url.clone());
        }
        self.discover()?
            .token_endpoint()
            .cloned()
            .ok_or(ClientError::NotAdvertised {
                endpoint: "token_endpoint",
            })
    }

    /// The authorization endpoint: configured, or discovered.
    ///
    /// # Errors
    ///
    /// Discovery errors, or [`ClientError::NotAdvertised`].
    pub fn authorization_endpoint(&self) -> Result<AuthorizeUrl, ClientError> {
        if let Some(url) = &self.config.authorization_endpoint {
            return Ok(url.clone());
        }
        self.discover()?
            .authorization_endpoint()
            .cloned()
            .ok_or(ClientError::NotAdvertised {
                endpoint: "authorization_endpoint",
            })
    }

    /// Builds the authorization request: a fresh `state` and PKCE verifier, `aud` = the
    /// issuer, and the [`PendingAuthorization`] the callback needs.
    ///
    /// The configuration is checked before anything goes on the network: a missing
    /// `client_id`, `redirect_uri` or scope is reported at once, all together.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] for missing settings; discovery errors when the authorization
    /// endpoint is not configured.
    pub fn authorize(
        &self,
        options: AuthorizeOptions,
    ) -> Result<AuthorizationRequest, ClientError> {
        let scopes = options
            .scopes
            .or_else(|| self.config.scopes.clone())
            .filter(|s| !s.is_empty());
        let mut missing = Vec::new();
        if self.config.client_id.is_none() {
            missing.push("client_id");
        }
        if self.config.redirect_uri.is_none() {
            missing.push("redirect_uri");
        }
        if scopes.is_none() {
            missing.push("scopes");
        }
        let (Some(client_id), Some(redirect_uri), Some(scope)) = (
            self.config.client_id.clone(),
            self.config.redirect_uri.clone(),
            scopes,
        ) else {
            return Err(ConfigError::Missing {
                fields: missing,
                operation: "build an authorization request",
            }
            .into());
        };
        let endpoint = self.authorization_endpoint()?;
        let discovered = self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if options.method == AuthorizeMethod::Post
            && discovered
                .as_ref()
                .is_some_and(|c| !c.supports_post_based_authorization())
        {
            log::warn!(
                "the server does not advertise authorize-post; sending a POST authorization request anyway"
            );
        }
        log::info!(
            "Generating authorization URL for SMART {} (method: {:?})...",
            self.client_type,
            options.method
        );

        let state = State::generate()?;
        let verifier = PkceVerifier::generate()?;
        let nonce = options
            .params
            .iter()
            .find(|(name, _)| name == "nonce")
            .map(|(_, value)| value.clone());
        let params = self.authorization_params(
            &client_id,
            &redirect_uri,
            &scope,
            &state,
            &verifier,
            options.launch.as_deref(),
            options.params,
        );

        let pending = PendingAuthorization {
            state,
            verifier,
            client_id,
            redirect_uri,
            aud: self.config.issuer.clone(),
            token_endpoint: self.config.token_endpoint.clone().or_else(|| {
                discovered
                    .as_ref()
                    .and_then(|c| c.token_endpoint().cloned())
            }),
            issuer: discovered
                .as_ref()
                .and_then(|c| c.issuer().map(|i| i.as_str().to_owned())),
            scope,
            nonce,
            launch: options.launch,
            issued_at: unix_seconds(self.clock.now()),
        };
        let (url, form) = match options.method {
            AuthorizeMethod::Get => {
                // Keep any query the endpoint already has (safire drops it).
                let mut url = endpoint.url().clone();
                url.query_pairs_mut()
                    .extend_pairs(params.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                (url, Vec::new())
            }
            AuthorizeMethod::Post => (endpoint.url().clone(), params),
        };
        Ok(AuthorizationRequest {
            method: options.method,
            url,
            form,
            pending,
        })
    }

    /// The authorization request's parameters, in the order the spec lists them, then the
    /// caller's extra ones.
    #[expect(
        clippy::too_many_arguments,
        reason = "each argument is one protocol parameter"
    )]
    fn authorization_params(
        &self,
        client_id: &smart_core::ClientId,
        redirect_uri: &smart_core::RedirectUri,
        scope: &ScopeSet,
        state: &State,
        verifier: &PkceVerifier,
        launch: Option<&str>,
        extra: Vec<(String, String)>,
    ) -> Vec<(String, String)> {
        let challenge = verifier.challenge();
        let mut params: Vec<(String, String)> = vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), client_id.as_str().into()),
            ("redirect_uri".into(), redirect_uri.as_str().into()),
        ];
        if let Some(launch) = launch {
            params.push(("launch".into(), launch.into()));
        }
        params.extend([
            ("scope".into(), scope.to_string()),
            ("state".into(), state.expose_secret().into()),
            ("aud".into(), self.config.issuer.as_str().into()),
            ("code_challenge".into(), challenge.as_str().into()),
            ("code_challenge_method".into(), challenge.method().into()),
        ]);
        params.extend(extra);
        params
    }

    /// Finishes an authorization: reads the callback (the full redirect URL, the request target
    /// a web server received such as `/callback?code=...`, or just the query),
    /// checks `state` in constant time, turns a server error into
    /// [`ClientError::Authorization`], and exchanges the code.
    ///
    /// # Errors
    ///
    /// [`ClientError::MissingState`], [`ClientError::StateMismatch`],
    /// [`ClientError::IssuerMismatch`], [`ClientError::Authorization`],
    /// [`ClientError::MissingCode`], then everything [`SmartClient::exchange_code`] returns.
    pub fn complete_authorization(
        &self,
        callback: &str,
        pending: &PendingAuthorization,
    ) -> Result<TokenResponse, ClientError> {
        let code = Callback::parse(callback)?.into_code(pending)?;
        self.exchange_code(&code, pending)
    }

    /// Exchanges an authorization code for tokens, with the `redirect_uri` and PKCE verifier
    /// of `pending`, authenticated by the client type.
    ///
    /// The code goes only to this client's own token endpoint (configured, or discovered):
    /// a `pending` restored from a session store that names another one is refused.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] for missing credentials, [`ClientError::PendingTokenEndpoint`]
    /// when `pending` names another token endpoint, [`ClientError::Token`] for the server's
    /// OAuth error or an unusable answer, and transport errors.
    pub fn exchange_code(
        &self,
        code: &AuthorizationCode,
        pending: &PendingAuthorization,
    ) -> Result<TokenResponse, ClientError> {
        if self
            .config
            .client_id
            .as_ref()
            .is_some_and(|id| id != &pending.client_id)
        {
            return Err(ClientError::Callback {
                reason: "the pending authorization was made for another client_id",
            });
        }
        let auth = self.client_auth(self.client_type)?;
        // A pending authorization comes back from a session store, where it may have been
        // tampered with: the code, the verifier and the credentials only ever go to this
        // client's own token endpoint (configured, or discovered now if not yet cached).
        let token_url = self.token_endpoint()?;
        if let Some(stored) = &pending.token_endpoint {
            stored
                .check_transport(self.config.policy)
                .map_err(|error| ConfigError::Urls(vec![error]))?;
            if stored.as_str() != token_url.as_str() {
                return Err(ClientError::PendingTokenEndpoint {
                    stored: display_url(stored.as_str()),
                    expected: display_url(token_url.as_str()),
                });
            }
        }
        log::info!("Requesting access token using authorization code...");
        let request =
            TokenRequest::authorization_code(code, &pending.redirect_uri, &pending.verifier)
                .build(&token_url, &auth)?;
        self.token_call(request)
    }

    /// Refreshes an access token. `narrower_scope` asks for less than the original grant.
    /// When the server returns no new refresh token, the old one is kept in the answer.
    ///
    /// # Errors
    ///
    /// As [`SmartClient::exchange_code`].
    pub fn refresh(
        &self,
        refresh_token: &RefreshToken,
        narrower_scope: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        let auth = self.client_auth(self.client_type)?;
        let token_url = self.token_endpoint()?;
        log::info!("Refreshing access token...");
        let request =
            TokenRequest::refresh_token(refresh_token, narrower_scope).build(&token_url, &auth)?;
        let mut token = self.token_call(request)?;
        token.keep_refresh_token(Some(refresh_token));
        Ok(token)
    }

    /// SMART Backend Services: a `client_credentials` token with a fresh signed assertion,
    /// whatever the client type. Scopes: `scopes`, else the configured ones, else
    /// `system/*.rs`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] without a `client_id` or private key, and as
    /// [`SmartClient::exchange_code`].
    pub fn backend_services_token(
        &self,
        scopes: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        let auth = self.client_auth(ClientType::ConfidentialAsymmetric)?;
        let token_url = self.token_endpoint()?;
        let scopes = scopes.or(self.config.scopes.as_ref().filter(|s| !s.is_empty()));
        log::info!("Requesting backend services access token (client_credentials grant)...");
        let request = TokenRequest::client_credentials(scopes)?.build(&token_url, &auth)?;
        self.token_call(request)
    }

    /// Asks the introspection endpoint about a token (RFC 7662).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotAdvertised`] when the server has no `introspection_endpoint`, and as
    /// [`SmartClient::exchange_code`].
    pub fn introspect(
        &self,
        token: TokenRef<'_>,
        with: IntrospectWith<'_>,
    ) -> Result<IntrospectionResponse, ClientError> {
        let endpoint = self.discovered_endpoint(
            "introspection_endpoint",
            SmartConfiguration::introspection_endpoint,
        )?;
        let request = match with {
            IntrospectWith::Client => {
                let auth = self.client_auth(self.client_type)?;
                let token_url = self.token_endpoint()?;
                introspection_request(
                    &endpoint,
                    IntrospectionAuth::Client {
                        auth: &auth,
                        token_url: &token_url,
                    },
                    token,
                )?
            }
            IntrospectWith::Bearer(bearer) => {
                introspection_request(&endpoint, IntrospectionAuth::Bearer(bearer), token)?
            }
        };
        let response = self.send(
            request,
            Redirects::Refuse("redirects are never followed on POST"),
        )?;
        Ok(IntrospectionResponse::from_response(&response)?)
    }

    /// Revokes a token (RFC 7009).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotAdvertised`] when the server has no `revocation_endpoint`, and as
    /// [`SmartClient::exchange_code`].
    pub fn revoke(&self, token: TokenRef<'_>) -> Result<(), ClientError> {
        let endpoint = self.discovered_endpoint(
            "revocation_endpoint",
            SmartConfiguration::revocation_endpoint,
        )?;
        let auth = self.client_auth(self.client_type)?;
        let token_url = self.token_endpoint()?;
        let request = revocation_request(&endpoint, &auth, &token_url, token)?;
        let response = self.send(
            request,
            Redirects::Refuse("redirects are never followed on POST"),
        )?;
        Ok(revocation_response(&response)?)
    }

    /// Registers a client (RFC 7591) at the discovered `registration_endpoint`: POSTs
    /// `metadata` as JSON, with `initial_access_token` as a Bearer token when given. Needs no
    /// `client_id` (a temporary client can register the real one).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotAdvertised`], [`ClientError::Registration`] for the server's error,
    /// [`ClientError::RegistrationResponse`] for a 2xx without a `client_id`,
    /// [`ClientError::RegisteredClientId`] for one whose `client_id` is not a non-blank string.
    pub fn register(
        &self,
        metadata: &Map<String, Value>,
        initial_access_token: Option<&AccessToken>,
    ) -> Result<Registration, ClientError> {
        let endpoint = self.discovered_endpoint(
            "registration_endpoint",
            SmartConfiguration::registration_endpoint,
        )?;
        self.register_at(&endpoint, metadata, initial_access_token)
    }

    /// Registers a client at an explicit registration endpoint.
    ///
    /// # Errors
    ///
    /// As [`SmartClient::register`]; [`ClientError::Config`] when `endpoint` breaks the HTTPS
    /// rule.
    pub fn register_at(
        &self,
        endpoint: &EndpointUrl,
        metadata: &Map<String, Value>,
        initial_access_token: Option<&AccessToken>,
    ) -> Result<Registration, ClientError> {
        self.config
            .policy
            .check("registration_endpoint", endpoint.url())
            .map_err(|error| ConfigError::Urls(vec![error]))?;
        log::info!("Registering client via Dynamic Client Registration (RFC 7591)...");
        let body = serde_json::to_vec(metadata).unwrap_or_default();
        let mut request = http::Request::post(endpoint.url().as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body)
            .map_err(|_| TokenError::InvalidEndpoint {
                endpoint: "registration endpoint",
                url: display_url(endpoint.as_str()),
            })?;
        if let Some(token) = initial_access_token {
            request
                .headers_mut()
                .insert(AUTHORIZATION, bearer_header(token)?);
        }
        let response = self.send(
            request,
            Redirects::Refuse("redirects are never followed on POST"),
        )?;
        if !response.status().is_success() {
            return Err(ClientError::Registration(OAuthError::from_response(
                Operation::Registration,
                response.status().as_u16(),
                response.body(),
            )));
        }
        let object = parse_object(response.body()).map_err(|reason| {
            ClientError::Token(TokenError::Body {
                operation: Operation::Registration,
                status: response.status().as_u16(),
                reason,
            })
        })?;
        Registration::from_object(object)
    }

    /// Verifies an `id_token` as SMART requires (OpenID Connect Core §3.1.3.7): the issuer is the
    /// server's SMART `issuer` (exact string), its OpenID configuration and JWK Set are fetched
    /// and cached (the keys are fetched again once when the token names an unknown `kid`, so
    /// key rotation works), the signature must verify with an advertised algorithm (RS256 by
    /// default, RS384 and ES384 too), `aud` must name this client, `exp` and `iat` must fit the
    /// clock (60 s of skew), and the nonce must come back when one was sent.
    ///
    /// ```no_run
    /// # fn run(client: &smart_client::SmartClient, pending: &smart_client::PendingAuthorization,
    /// #        token: &smart_client::token::TokenResponse) -> Result<(), smart_client::ClientError> {
    /// if let Some(id_token) = token.id_token() {
    ///     let claims = client.verify_id_token(id_token, pending.nonce())?;
    ///     println!("signed in as {:?}", claims.fhir_user());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::IdToken`] saying what is wrong; discovery and transport errors.
    #[cfg(feature = "openid")]
    pub fn verify_id_token(
        &self,
        id_token: &smart_token::IdToken,
        expected_nonce: Option<&str>,
    ) -> Result<crate::IdTokenClaims, ClientError> {
        use crate::id_token::{IdTokenProblem, allowed_algorithms, check_claims};

        let client_id = self
            .config
            .client_id
            .clone()
            .ok_or_else(|| ConfigError::Missing {
                fields: vec!["client_id"],
                operation: "verify an id_token",
            })?;
        let mut identity = self.identity(false)?;
        let allowed = allowed_algorithms(
            identity
                .configuration
                .id_token_signing_alg_values_supported(),
        );
        let verified = match smart_jwt_assertion::verify_compact(
            id_token.expose_secret(),
            &identity.keys,
            &allowed,
        ) {
            Err(smart_jwt_assertion::Error::NoMatchingKey { .. }) => {
                identity = self.identity(true)?;
                smart_jwt_assertion::verify_compact(
                    id_token.expose_secret(),
                    &identity.keys,
                    &allowed,
                )
            }
            other => other,
        }
        .map_err(|error| ClientError::IdToken(IdTokenProblem::Signature(error.to_string())))?;
        let (_, claims) = verified.into_parts();
        check_claims(
            claims,
            &identity.issuer,
            client_id.as_str(),
            expected_nonce,
            self.clock.now(),
        )
        .map_err(ClientError::IdToken)
    }

    /// The issuer's OpenID configuration and keys, from the cache unless `refresh`.
    #[cfg(feature = "openid")]
    fn identity(&self, refresh: bool) -> Result<Arc<Identity>, ClientError> {
        use crate::id_token::{IdTokenProblem, parse_keys};

        let mut cache = self.identity.lock().unwrap_or_else(PoisonError::into_inner);
        if let (Some(identity), false) = (cache.as_ref(), refresh) {
            return Ok(Arc::clone(identity));
        }
        let configuration = self.discover()?;
        let issuer = configuration
            .issuer()
            .cloned()
            .ok_or(ClientError::IdToken(IdTokenProblem::NoIssuer))?;
        let policy = self.config.policy;
        let request = smart_discovery::openid::request(&issuer)?;
        let response = self.send(request, Redirects::FollowGet)?;
        let openid = smart_discovery::openid::parse(&issuer, &response, policy)?;
        let request = http::Request::get(openid.jwks_uri().url().as_str())
            .header(ACCEPT, "application/jwk-set+json, application/json")
            .body(Vec::new())
            .map_err(|_| {
                ClientError::IdToken(IdTokenProblem::Keys(
                    "the jwks_uri cannot be requested".to_owned(),
                ))
            })?;
        let response = self.send(request, Redirects::FollowGet)?;
        if !response.status().is_success() {
            return Err(ClientError::IdToken(IdTokenProblem::Keys(format!(
                "GET {} answered HTTP {}",
                display_url(openid.jwks_uri().as_str()),
                response.status().as_u16()
            ))));
        }
        let keys = parse_keys(response.body()).map_err(ClientError::IdToken)?;
        let identity = Arc::new(Identity {
            issuer,
            configuration: openid,
            keys,
        });
        *cache = Some(Arc::clone(&identity));
        Ok(identity)
    }

    /// GETs a FHIR resource with the access token: `path` is relative to the FHIR base
    /// (`Patient/123`, `Observation?patient=123`) or an absolute URL below it. The token is
    /// never sent anywhere else, and redirects are not followed.
    ///
    /// # Errors
    ///
    /// [`ClientError::ForeignUrl`] for a URL outside the FHIR base, transport errors. Any HTTP
    /// status is returned as a response.
    pub fn fhir_get(
        &self,
        token: &AccessToken,
        path: &str,
    ) -> Result<http::Response<Vec<u8>>, ClientError> {
        let url = self.fhir_url(path)?;
        let request = http::Request::get(url.as_str())
            .header(ACCEPT, "application/fhir+json, application/json")
            .header(AUTHORIZATION, bearer_header(token)?)
            .body(Vec::new())
            .map_err(|_| ClientError::ForeignUrl {
                url: display_url(url.as_str()),
                base: display_url(self.config.base_url.as_str()),
            })?;
        self.send(
            request,
            Redirects::Refuse("redirects are not followed when a token is attached"),
        )
    }

    /// Reads one FHIR resource as JSON (see [`SmartClient::fhir_get`]).
    ///
    /// # Errors
    ///
    /// [`ClientError::Fhir`] for a non-2xx status (401 says to refresh or re-authorize),
    /// [`ClientError::FhirBody`] for an answer that is not a JSON object.
    pub fn read_resource(
        &self,
        token: &AccessToken,
        path: &str,
    ) -> Result<Map<String, Value>, ClientError> {
        let response = self.fhir_get(token, path)?;
        let url = display_url(self.fhir_url(path)?.as_str());
        if !response.status().is_success() {
            return Err(ClientError::Fhir {
                url,
                status: response.status().as_u16(),
            });
        }
        parse_object(response.body()).map_err(|reason| ClientError::FhirBody { url, reason })
    }

    /// The URL of a FHIR read: `path` relative to the FHIR base, or an absolute URL. Either way
    /// the result must stay below the base (same origin, path under the base's path), checked
    /// after the URL parser has resolved dot segments, percent-encoded ones included.
    fn fhir_url(&self, path: &str) -> Result<Url, ClientError> {
        let base = &self.config.base_url;
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
        let root = base.append_path("");
        let below = candidate.path().starts_with(root.path())
            || candidate.path() == root.path().trim_end_matches('/');
        if candidate.origin() == base.url().origin() && below {
            Ok(candidate)
        } else {
            Err(foreign(candidate.as_str()))
        }
    }

    fn discovered_endpoint(
        &self,
        name: &'static str,
        get: fn(&SmartConfiguration) -> Option<&EndpointUrl>,
    ) -> Result<EndpointUrl, ClientError> {
        let configuration = self.discover()?;
        get(&configuration)
            .cloned()
            .ok_or(ClientError::NotAdvertised { endpoint: name })
    }

    /// The authentication for `client_type`, from the configuration.
    fn client_auth(&self, client_type: ClientType) -> Result<ClientAuth, ClientError> {
        let missing = |fields: Vec<&'static str>| -> ClientError {
            ConfigError::Missing {
                fields,
                operation: "authenticate to the token endpoint",
            }
            .into()
        };
        let client_id = self.config.client_id.clone();
        match client_type {
            ClientType::Public => Ok(ClientAuth::public(
                client_id.ok_or_else(|| missing(vec!["client_id"]))?,
            )),
            ClientType::ConfidentialSymmetric => {
                let (Some(client_id), Some(secret)) =
                    (client_id, self.config.client_secret.clone())
                else {
                    let mut fields = Vec::new();
                    if self.config.client_id.is_none() {
                        fields.push("client_id");
                    }
                    if self.config.client_secret.is_none() {
                        fields.push("client_secret");
                    }
                    return Err(missing(fields));
                };
                Ok(secret_auth(client_id, secret, self.config.secret_method))
            }
            ClientType::ConfidentialAsymmetric => self.assertion_auth(client_id).map_err(missing),
        }
    }

    #[cfg(feature = "private-key-jwt")]
    fn assertion_auth(
        &self,
        client_id: Option<smart_core::ClientId>,
    ) -> Result<ClientAuth, Vec<&'static str>> {
        match (client_id, self.config.signer.clone()) {
            (Some(client_id), Some(signer)) => {
                Ok(ClientAuth::private_key_jwt(client_id, signer)
                    .with_clock(Arc::clone(&self.clock)))
            }
            (client_id, signer) => {
                let mut fields = Vec::new();
                if client_id.is_none() {
                    fields.push("client_id");
                }
                if signer.is_none() {
                    fields.push("private_key");
                }
                Err(fields)
            }
        }
    }

    #[cfg(not(feature = "private-key-jwt"))]
    #[expect(
        clippy::unused_self,
        reason = "the signature matches the private-key-jwt build"
    )]
    fn assertion_auth(
        &self,
        _client_id: Option<smart_core::ClientId>,
    ) -> Result<ClientAuth, Vec<&'static str>> {
        Err(vec![
            "private_key (this build has no private-key-jwt feature)",
        ])
    }

    /// POSTs a token request and reads the answer.
    fn token_call(&self, request: http::Request<Vec<u8>>) -> Result<TokenResponse, ClientError> {
        let response = self.send(
            request,
            Redirects::Refuse("redirects are never followed on POST"),
        )?;
        Ok(TokenResponse::from_response(
            &response,
            self.clock.as_ref(),
        )?)
    }

    /// Sends a request under the body limit and the redirect policy.
    fn send(
        &self,
        mut request: http::Request<Vec<u8>>,
        redirects: Redirects,
    ) -> Result<http::Response<Vec<u8>>, ClientError> {
        let limit = self.config.http.get_max_body_bytes();
        let mut hops = 0;
        loop {
            let method = request.method().clone();
            let raw_url = request.uri().to_string();
            let url = display_url(&raw_url);
            let headers = request.headers().clone();
            let response = self.http.send(request).map_err(|source| {
                log::debug!("{method} {url} failed: {source}");
                if source.kind() == TransportErrorKind::BodyTooLarge {
                    ClientError::ResponseTooLarge {
                        url: url.clone(),
                        limit,
                    }
                } else {
                    ClientError::Network {
                        url: url.clone(),
                        source,
                    }
                }
            })?;
            log::debug!("{method} {url} -> {}", response.status().as_u16());
            if response.body().len() as u64 > limit {
                return Err(ClientError::ResponseTooLarge { url, limit });
            }
            let is_redirect = matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308);
            let Some(location) = response.headers().get(LOCATION).filter(|_| is_redirect) else {
                return Ok(response);
            };
            let location = String::from_utf8_lossy(location.as_bytes()).into_owned();
            let target = Url::parse(&raw_url).and_then(|from| from.join(&location));
            let blocked = |to: String, reason: &'static str| ClientError::RedirectBlocked {
                from: url.clone(),
                to,
                reason,
            };
            let Ok(target) = target else {
                return Err(blocked(
                    display_url(&location),
                    "the Location header is not a valid URL",
                ));
            };
            if let Redirects::Refuse(reason) = redirects {
                return Err(blocked(display_url(target.as_str()), reason));
            }
            if hops == MAX_REDIRECTS {
                return Err(blocked(
                    display_url(target.as_str()),
                    "more than 3 redirects",
                ));
            }
            hops += 1;
            if self.config.policy.problem(&target).is_some() {
                return Err(blocked(
                    display_url(target.as_str()),
                    "the target is not https:// (or loopback http:// with allow_insecure_localhost)",
                ));
            }
            log::debug!(
                "following redirect {} to {}",
                response.status().as_u16(),
                display_url(target.as_str())
            );
            let mut next = http::Request::get(target.as_str())
                .body(Vec::new())
                .map_err(|_| {
                    blocked(
                        display_url(target.as_str()),
                        "the target cannot be requested",
                    )
                })?;
            *next.headers_mut() = headers;
            request = next;
        }
    }
}

/// Warns once when a discovered endpoint is a loopback `http://` URL (which the policy let
/// through only because of `allow_insecure_localhost`), as configured ones do.
fn warn_if_loopback(configuration: &SmartConfiguration) {
    let urls = [
        configuration
            .authorization_endpoint()
            .map(AuthorizeUrl::url),
        configuration.token_endpoint().map(TokenUrl::url),
        configuration.registration_endpoint().map(EndpointUrl::url),
        configuration.introspection_endpoint().map(EndpointUrl::url),
        configuration.revocation_endpoint().map(EndpointUrl::url),
        configuration.management_endpoint().map(EndpointUrl::url),
        configuration.jwks_uri().map(smart_core::JwksUrl::url),
    ];
    if urls.iter().flatten().any(|url| url.scheme() == "http") {
        crate::config::warn_insecure_loopback();
    }
}

fn secret_auth(
    client_id: smart_core::ClientId,
    secret: ClientSecret,
    method: SecretMethod,
) -> ClientAuth {
    match method {
        SecretMethod::Basic => ClientAuth::client_secret_basic(client_id, secret),
        SecretMethod::BasicRfc6749 => {
            ClientAuth::client_secret_basic(client_id, secret).with_rfc6749_basic_encoding()
        }
        SecretMethod::Post => ClientAuth::client_secret_post(client_id, secret),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

    struct Capture;

    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &log::Record<'_>) {
            if record.level() == log::Level::Warn {
                WARNINGS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(record.args().to_string());
            }
        }

        fn flush(&self) {}
    }

    /// The only test of this binary that logs a loopback warning: the configuration is
    /// HTTPS, the server advertises loopback `http://` endpoints.
    #[test]
    fn a_discovered_loopback_endpoint_warns_once() {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Warn);
        let config = ClientConfig::builder("https://ehr.example/fhir")
            .allow_insecure_localhost(true)
            .build()
            .unwrap();
        let answer = |_: http::Request<Vec<u8>>| {
            Ok(http::Response::builder()
                .status(200)
                .body(
                    br#"{"authorization_endpoint": "http://127.0.0.1:8080/authorize",
                         "token_endpoint": "http://127.0.0.1:8080/token",
                         "capabilities": ["client-public"],
                         "code_challenge_methods_supported": ["S256"]}"#
                        .to_vec(),
                )
                .unwrap())
        };
        let warnings = || {
            WARNINGS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .filter(|line| line.contains("allow_insecure_localhost"))
                .count()
        };
        assert_eq!(warnings(), 0, "the HTTPS configuration does not warn");
        for _ in 0..2 {
            let client = SmartClient::with_http_client(config.clone(), ClientType::Public, answer);
            let configuration = client.discover().unwrap();
            assert_eq!(
                configuration.token_endpoint().unwrap().as_str(),
                "http://127.0.0.1:8080/token"
            );
        }
        assert_eq!(warnings(), 1, "{:?}", WARNINGS.lock().unwrap());
    }
}
