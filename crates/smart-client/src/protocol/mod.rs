//! [`SmartFlows`]: the client's settings, its authentication (decided once) and its caches,
//! and a method per operation that returns the operation as a pure [`Flow`](crate::Flow). The two shells
//! (blocking [`crate::SmartClient`], async `AsyncSmartClient`) are thin drivers over it.
//!
//! One file per job: `discovery` (SMART configuration, endpoints), `authorize` (the
//! authorization request, the callback, the code exchange), `token` (refresh, Backend
//! Services, introspection, revocation), `register`, `id_token` and `fhir`.

mod authorize;
mod discovery;
mod fhir;
#[cfg(feature = "openid")]
mod id_token;
mod register;
mod token;

pub use self::fhir::read_json as read_fhir_json;
pub use self::token::IntrospectWith;

use core::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use smart_core::{Clock, SystemClock};
use smart_discovery::SmartConfiguration;
use smart_token::ClientAuth;

use crate::config::{ClientConfig, ConfigError, SecretMethod};
use crate::error::ClientError;

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

/// Every SMART operation of one client at one server, as pure steps.
///
/// It holds the configuration, the client authentication (built once, from the client type:
/// a confidential client without its secret or key is refused here, not at the first token
/// call), the clock, and the caches of the SMART configuration and of the issuer's OpenID
/// configuration and keys. Each method returns a [`Flow`](crate::Flow) that any HTTP stack can drive; the
/// blocking [`crate::SmartClient`] and the async `AsyncSmartClient` are such drivers and share
/// this type's behaviour exactly.
///
/// `Clone` is cheap and clones share the caches.
#[derive(Clone)]
pub struct SmartFlows {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    client_type: ClientType,
    /// The client-type authentication; `None` only for a public client without `client_id`
    /// (it can still discover and register).
    auth: Option<ClientAuth>,
    /// `private_key_jwt` for Backend Services, when a `client_id` and a key are configured.
    backend_auth: Option<ClientAuth>,
    clock: Arc<dyn Clock>,
    /// The configured scopes as the `scope` parameter says them, made once.
    scope_text: Option<String>,
    /// The GET authorization URL's fixed part, and the endpoint it was made for.
    authorize_template: Mutex<Option<authorize::UrlTemplate>>,
    discovered: Mutex<Option<Arc<SmartConfiguration>>>,
    #[cfg(feature = "openid")]
    identity: Mutex<Option<Arc<id_token::Identity>>>,
}

impl Inner {
    /// Flows over these parts, with empty caches.
    fn flows(
        config: ClientConfig,
        client_type: ClientType,
        auth: Option<ClientAuth>,
        backend_auth: Option<ClientAuth>,
        clock: Arc<dyn Clock>,
    ) -> SmartFlows {
        SmartFlows {
            inner: Arc::new(Self {
                scope_text: config.scopes.as_ref().map(ToString::to_string),
                config,
                client_type,
                auth,
                backend_auth,
                clock,
                authorize_template: Mutex::new(None),
                discovered: Mutex::new(None),
                #[cfg(feature = "openid")]
                identity: Mutex::new(None),
            }),
        }
    }
}

impl fmt::Debug for SmartFlows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Inner {
            config,
            client_type,
            auth,
            backend_auth,
            clock: _,
            scope_text: _,
            authorize_template: _,
            discovered,
            #[cfg(feature = "openid")]
                identity: _,
        } = &*self.inner;
        let discovered = discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        f.debug_struct("SmartFlows")
            .field("config", config)
            .field("client_type", client_type)
            .field("auth", &auth.as_ref().map(ClientAuth::method))
            .field(
                "backend_auth",
                &backend_auth.as_ref().map(ClientAuth::method),
            )
            .field("discovered", &discovered)
            .finish_non_exhaustive()
    }
}

impl SmartFlows {
    /// The flows of a `client_type` client with `config`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] when the client type needs what the configuration lacks: a
    /// `client_id` and `client_secret` for [`ClientType::ConfidentialSymmetric`], a
    /// `client_id` and private key for [`ClientType::ConfidentialAsymmetric`] (and a build
    /// with the `private-key-jwt` feature).
    pub fn new(config: ClientConfig, client_type: ClientType) -> Result<Self, ConfigError> {
        Self::with_clock(config, client_type, Arc::new(SystemClock))
    }

    /// As [`SmartFlows::new`], with the clock for `expires_at`, assertion times and
    /// `issued_at` (tests fix it).
    ///
    /// # Errors
    ///
    /// As [`SmartFlows::new`].
    pub fn with_clock(
        config: ClientConfig,
        client_type: ClientType,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let auth = client_auth(&config, client_type, &clock)?;
        let backend_auth = backend_auth(&config, &clock);
        Ok(Inner::flows(config, client_type, auth, backend_auth, clock))
    }

    /// Flows that authenticate every token request (Backend Services ones included) with
    /// `auth`, built by the caller instead of from the client type: an assertion source of
    /// your own (an HSM, a cloud KMS), or UDAP's `x5c` assertions
    /// (`smart_udap::UdapClientAssertion::into_client_auth`). Set the token endpoint in the
    /// configuration when it does not come from SMART discovery (UDAP's comes from the signed
    /// metadata).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ClientIdMismatch`] when the configuration names another `client_id`
    /// than `auth`.
    pub fn with_client_auth(
        config: ClientConfig,
        client_type: ClientType,
        auth: ClientAuth,
    ) -> Result<Self, ConfigError> {
        if config
            .client_id
            .as_ref()
            .is_some_and(|configured| configured.as_str() != auth.client_id().as_str())
        {
            return Err(ConfigError::ClientIdMismatch);
        }
        Ok(Inner::flows(
            config,
            client_type,
            Some(auth.clone()),
            Some(auth),
            Arc::new(SystemClock),
        ))
    }

    /// The same flows with another clock; the caches start empty. Infallible: the
    /// authentication was checked when these flows were built.
    #[must_use]
    pub fn rebuilt_with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        let inner = &self.inner;
        #[cfg(feature = "private-key-jwt")]
        let with_clock = |auth: &ClientAuth| auth.clone().with_clock(Arc::clone(&clock));
        #[cfg(not(feature = "private-key-jwt"))]
        let with_clock = ClientAuth::clone;
        Inner::flows(
            inner.config.clone(),
            inner.client_type,
            inner.auth.as_ref().map(with_clock),
            inner.backend_auth.as_ref().map(with_clock),
            clock,
        )
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The client type.
    #[must_use]
    pub fn client_type(&self) -> ClientType {
        self.inner.client_type
    }

    /// The clock in use.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Without the `openid` feature there is nothing to verify with: a build that cannot
    /// verify refuses to ask for `openid` ([`ConfigError::OpenIdWithoutVerification`]), so an
    /// `id_token` here came unasked and is passed on as it is.
    #[cfg(not(feature = "openid"))]
    #[expect(
        clippy::unnecessary_wraps,
        clippy::unused_self,
        reason = "the same signature as the verifying version"
    )]
    fn checked_id_token(
        &self,
        token: smart_token::TokenResponse,
        _nonce: Option<&str>,
    ) -> Result<crate::flow::Next<smart_token::TokenResponse>, ClientError> {
        Ok(crate::flow::Next::Done(token))
    }

    /// As `checked_id_token` without the `openid` feature.
    #[cfg(not(feature = "openid"))]
    fn checked_refreshed_id_token(
        &self,
        token: smart_token::TokenResponse,
        _original: Option<()>,
    ) -> Result<crate::flow::Next<smart_token::TokenResponse>, ClientError> {
        self.checked_id_token(token, None)
    }

    /// The body limit of every answer.
    fn limit(&self) -> u64 {
        self.inner.config.http.get_max_body_bytes()
    }

    /// Refuses, before signing, a `private_key_jwt` assertion whose algorithm the discovered
    /// configuration does not list (a configuration that lists none accepts any).
    #[cfg_attr(
        not(feature = "private-key-jwt"),
        allow(clippy::unused_self, clippy::unnecessary_wraps)
    )]
    fn check_assertion_algorithm(&self, auth: &ClientAuth) -> Result<(), ClientError> {
        #[cfg(feature = "private-key-jwt")]
        if auth.method() == smart_token::AuthMethod::PrivateKeyJwt
            && let (Some(signer), Some(configuration)) =
                (&self.inner.config.signer, self.cached_configuration())
        {
            let alg = signer.algorithm().as_str();
            if !configuration.accepts_assertion_algorithm(alg) {
                let listed = configuration
                    .token_endpoint_auth_signing_alg_values_supported()
                    .unwrap_or_default()
                    .iter()
                    .map(|name| smart_core::display_text(name, 32))
                    .collect();
                return Err(ClientError::AssertionAlgorithmNotAccepted { alg, listed });
            }
        }
        #[cfg(not(feature = "private-key-jwt"))]
        let _ = auth;
        Ok(())
    }

    /// The client-type authentication, or the error that names what is missing.
    fn auth(&self) -> Result<&ClientAuth, ClientError> {
        self.inner.auth.as_ref().ok_or_else(|| {
            ConfigError::Missing {
                fields: vec!["client_id"],
                operation: "authenticate to the token endpoint",
            }
            .into()
        })
    }
}

/// The authentication of `client_type`, decided once.
fn client_auth(
    config: &ClientConfig,
    client_type: ClientType,
    clock: &Arc<dyn Clock>,
) -> Result<Option<ClientAuth>, ConfigError> {
    let missing = |fields: Vec<&'static str>| ConfigError::Missing {
        fields,
        operation: match client_type {
            ClientType::Public => "authenticate as a public client",
            ClientType::ConfidentialSymmetric => {
                "authenticate as a client-confidential-symmetric client"
            }
            ClientType::ConfidentialAsymmetric => {
                "authenticate as a client-confidential-asymmetric client"
            }
        },
    };
    let client_id = config.client_id.clone();
    match client_type {
        ClientType::Public => Ok(client_id.map(ClientAuth::public)),
        ClientType::ConfidentialSymmetric => {
            let (Some(client_id), Some(secret)) = (client_id, config.client_secret.clone()) else {
                let mut fields = Vec::new();
                if config.client_id.is_none() {
                    fields.push("client_id");
                }
                if config.client_secret.is_none() {
                    fields.push("client_secret");
                }
                return Err(missing(fields));
            };
            Ok(Some(match config.secret_method {
                SecretMethod::Basic => ClientAuth::client_secret_basic(client_id, secret),
                SecretMethod::BasicRfc6749 => {
                    ClientAuth::client_secret_basic(client_id, secret).with_rfc6749_basic_encoding()
                }
                SecretMethod::Post => ClientAuth::client_secret_post(client_id, secret),
            }))
        }
        ClientType::ConfidentialAsymmetric => match backend_auth(config, clock) {
            Some(auth) => Ok(Some(auth)),
            None => Err(missing(assertion_missing(config))),
        },
    }
}

/// `private_key_jwt` when a `client_id` and a key are configured.
#[cfg(feature = "private-key-jwt")]
fn backend_auth(config: &ClientConfig, clock: &Arc<dyn Clock>) -> Option<ClientAuth> {
    match (config.client_id.clone(), config.signer.clone()) {
        (Some(client_id), Some(signer)) => {
            Some(ClientAuth::private_key_jwt(client_id, signer).with_clock(Arc::clone(clock)))
        }
        _ => None,
    }
}

#[cfg(not(feature = "private-key-jwt"))]
fn backend_auth(_config: &ClientConfig, _clock: &Arc<dyn Clock>) -> Option<ClientAuth> {
    None
}

/// What an assertion client lacks, named as the configuration's fields.
fn assertion_missing(config: &ClientConfig) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if config.client_id.is_none() {
        fields.push("client_id");
    }
    #[cfg(feature = "private-key-jwt")]
    if config.signer.is_none() {
        fields.push("private_key");
    }
    #[cfg(not(feature = "private-key-jwt"))]
    fields.push("private_key (this build has no private-key-jwt feature)");
    fields
}
