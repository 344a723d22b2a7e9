//! The issuer registry: an app registered at many EHRs keeps one entry per EHR (its client id,
//! client type, secret or key *by reference*, scopes, redirect URI), keyed by the issuer, the
//! FHIR base exactly as the EHR sends it as `iss`. An EHR launch picks the entry by `iss`; an
//! unknown `iss` is refused before any request is made (the open-redirect and SSRF defence).
//!
//! Each issuer's client is built once and kept for [`IssuerRegistry::ttl`], with its caches
//! (SMART configuration, OpenID configuration, keys); after the TTL the next call builds a
//! fresh one. Load a registry from a file with [`IssuerRegistry::from_json`] (or
//! `from_toml`, feature `registry-toml`), where secrets must be given by reference.

mod file;
mod secret;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use smart_core::display_text;

use crate::authorize::AuthorizeOptions;
use crate::config::{ClientConfig, ConfigError, SecretMethod};
use crate::error::{ClientError, issuer_difference};
use crate::protocol::{ClientType, SmartFlows};
use smart_token::ClientAuth;

pub use self::file::MAX_REGISTRY_FILE;
pub use self::secret::{MAX_SECRET_FILE, SecretRef};

/// How long an issuer's client and its caches are kept by default: one hour.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// One EHR's settings for this app.
#[derive(Debug, Clone)]
pub struct EhrSettings {
    pub(crate) name: String,
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) client_type: ClientType,
    pub(crate) secret_method: SecretMethod,
    pub(crate) client_secret: Option<SecretRef>,
    pub(crate) private_key: Option<SecretRef>,
    pub(crate) kid: Option<String>,
    pub(crate) scopes: Option<String>,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) authorization_endpoint: Option<String>,
    pub(crate) token_endpoint: Option<String>,
    pub(crate) allow_insecure_localhost: bool,
    /// Authentication built by the caller (UDAP's `x5c` assertions); never read from a file.
    pub(crate) client_auth: Option<ClientAuth>,
}

impl EhrSettings {
    /// The EHR called `name` (for standalone launches and messages), whose FHIR base, as it
    /// sends it as `iss`, is `issuer`; this app is `client_id` there.
    pub fn new(
        name: impl Into<String>,
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_type: ClientType,
    ) -> Self {
        Self {
            name: name.into(),
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_type,
            secret_method: SecretMethod::default(),
            client_secret: None,
            private_key: None,
            kid: None,
            scopes: None,
            redirect_uri: None,
            authorization_endpoint: None,
            token_endpoint: None,
            allow_insecure_localhost: false,
            client_auth: None,
        }
    }

    /// The EHR called `name` at `issuer`, where this app authenticates every token request
    /// with `auth`, built by the caller rather than from a secret or key reference: UDAP's
    /// `x5c` assertions right after a UDAP registration, or an assertion source of your own
    /// (an HSM, a cloud KMS). The client id is `auth`'s and the client type
    /// confidential-asymmetric. Such an entry is made in code, never read from a file; set
    /// [`EhrSettings::token_endpoint`] when the token endpoint is not SMART-discovered (UDAP's
    /// comes from the signed metadata).
    ///
    /// ```
    /// use smart_client::registry::{EhrSettings, IssuerRegistry};
    /// use smart_core::ClientId;
    /// use smart_token::{ClientAuth, ClientSecret};
    ///
    /// // After a UDAP registration this is
    /// // `UdapClientAssertion::new(..)?.into_client_auth(registered.client_id().clone())`.
    /// let auth = ClientAuth::client_secret_basic(ClientId::parse("issued-id")?, ClientSecret::new("s"));
    /// let mut registry = IssuerRegistry::new(Vec::new())?;
    /// registry.insert(
    ///     EhrSettings::with_client_auth("partner", "https://partner.example/fhir", auth)
    ///         .token_endpoint("https://partner.example/oauth/token"),
    /// )?;
    /// assert_eq!(registry.settings("https://partner.example/fhir")?.client_id(), "issued-id");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_client_auth(
        name: impl Into<String>,
        issuer: impl Into<String>,
        auth: ClientAuth,
    ) -> Self {
        let mut settings = Self::new(
            name,
            issuer,
            auth.client_id().as_str(),
            ClientType::ConfidentialAsymmetric,
        );
        settings.client_auth = Some(auth);
        settings
    }

    /// The client secret, by reference (confidential-symmetric clients).
    #[must_use]
    pub fn client_secret(mut self, secret: SecretRef) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// How the secret is sent.
    #[must_use]
    pub fn secret_method(mut self, method: SecretMethod) -> Self {
        self.secret_method = method;
        self
    }

    /// The private key (PEM), by reference (confidential-asymmetric clients).
    #[must_use]
    pub fn private_key(mut self, key: SecretRef) -> Self {
        self.private_key = Some(key);
        self
    }

    /// The key id of the registered public key.
    #[must_use]
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The scopes to ask for.
    #[must_use]
    pub fn scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes = Some(scopes.into());
        self
    }

    /// The redirect URI registered at this EHR.
    #[must_use]
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// The authorization endpoint, when it is not to be discovered.
    #[must_use]
    pub fn authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.authorization_endpoint = Some(url.into());
        self
    }

    /// The token endpoint, when it is not to be discovered.
    #[must_use]
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = Some(url.into());
        self
    }

    /// Allows `http://` on loopback hosts (development servers; see
    /// [`crate::ClientConfigBuilder::allow_insecure_localhost`]).
    #[must_use]
    pub fn allow_insecure_localhost(mut self, allow: bool) -> Self {
        self.allow_insecure_localhost = allow;
        self
    }

    /// The name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The issuer.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id at this EHR.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client type.
    #[must_use]
    pub fn client_type(&self) -> ClientType {
        self.client_type
    }

    /// How the secret is sent.
    #[must_use]
    pub fn method(&self) -> SecretMethod {
        self.secret_method
    }

    /// Where the client secret is, if any.
    #[must_use]
    pub fn client_secret_ref(&self) -> Option<&SecretRef> {
        self.client_secret.as_ref()
    }

    /// Where the private key is, if any.
    #[must_use]
    pub fn private_key_ref(&self) -> Option<&SecretRef> {
        self.private_key.as_ref()
    }

    /// The key id, if set.
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The scopes, if set.
    #[must_use]
    pub fn scope_text(&self) -> Option<&str> {
        self.scopes.as_deref()
    }

    /// The redirect URI, if set.
    #[must_use]
    pub fn redirect(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }

    /// The configured token endpoint, if any.
    #[must_use]
    pub fn configured_token_endpoint(&self) -> Option<&str> {
        self.token_endpoint.as_deref()
    }

    /// The configured authorization endpoint, if any.
    #[must_use]
    pub fn configured_authorization_endpoint(&self) -> Option<&str> {
        self.authorization_endpoint.as_deref()
    }

    /// The client configuration, with the secret or key read from where it is referenced.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Secret`] when a referenced secret cannot be read,
    /// [`RegistryError::Config`] for settings the client refuses.
    pub fn config(&self) -> Result<ClientConfig, RegistryError> {
        let config_error = |source: ConfigError| RegistryError::Config {
            ehr: self.name.clone(),
            source: Box::new(source),
        };
        let mut builder = ClientConfig::builder(self.issuer.clone())
            .client_id(self.client_id.clone())
            .secret_method(self.secret_method)
            .allow_insecure_localhost(self.allow_insecure_localhost);
        if let Some(secret) = &self.client_secret {
            let secret = secret.read(&self.name, "client_secret")?;
            builder = builder.client_secret(smart_token::ClientSecret::new(secret.expose_secret()));
        }
        #[cfg(feature = "private-key-jwt")]
        if let Some(key) = &self.private_key {
            let pem = key.read(&self.name, "private_key")?;
            let key = smart_jwt_assertion::PrivateKey::from_pem(pem.expose_secret())
                .map_err(|error| config_error(ConfigError::Assertion(error)))?;
            builder = builder.private_key(key);
        }
        #[cfg(not(feature = "private-key-jwt"))]
        if self.private_key.is_some() {
            return Err(config_error(ConfigError::Missing {
                fields: vec!["private_key (this build has no private-key-jwt feature)"],
                operation: "load the EHR's private key",
            }));
        }
        #[cfg(feature = "private-key-jwt")]
        if let Some(kid) = &self.kid {
            builder = builder.kid(kid.clone());
        }
        for (value, set) in [
            (&self.scopes, ClientConfigSetter::Scopes),
            (&self.redirect_uri, ClientConfigSetter::RedirectUri),
            (
                &self.authorization_endpoint,
                ClientConfigSetter::AuthorizationEndpoint,
            ),
            (&self.token_endpoint, ClientConfigSetter::TokenEndpoint),
        ] {
            if let Some(value) = value {
                builder = set.apply(builder, value.clone());
            }
        }
        builder.build().map_err(config_error)
    }
}

/// The optional URL and scope settings, applied in one loop.
#[derive(Clone, Copy)]
enum ClientConfigSetter {
    Scopes,
    RedirectUri,
    AuthorizationEndpoint,
    TokenEndpoint,
}

impl ClientConfigSetter {
    fn apply(
        self,
        builder: crate::ClientConfigBuilder,
        value: String,
    ) -> crate::ClientConfigBuilder {
        match self {
            Self::Scopes => builder.scopes(value),
            Self::RedirectUri => builder.redirect_uri(value),
            Self::AuthorizationEndpoint => builder.authorization_endpoint(value),
            Self::TokenEndpoint => builder.token_endpoint(value),
        }
    }
}

/// Why the registry cannot give a client. Messages never hold a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No EHR is registered for the launch's `iss`.
    #[error(
        "no EHR is registered for the issuer \"{iss}\"{closest}; refusing the launch before any request (register the EHR with its FHIR base exactly as it sends iss, or treat the link as forged)"
    )]
    UnknownIssuer {
        /// The `iss` given (control characters replaced, cut).
        iss: String,
        /// `, but "…" is registered, which differs only …`, or nothing.
        closest: String,
    },
    /// No EHR has this name.
    #[error("no EHR is registered under the name \"{name}\"; the registered names are: {known}")]
    UnknownName {
        /// The name given (cleaned).
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// Two entries have the same issuer or the same name.
    #[error(
        "the registry lists {what} \"{value}\" twice; each EHR needs its own issuer and name (to replace an entry, remove it first)"
    )]
    Duplicate {
        /// `the issuer` or `the name`.
        what: &'static str,
        /// The repeated value.
        value: String,
    },
    /// A secret is written inline in a registry file.
    #[error(
        "the registry file gives {field} for the EHR \"{ehr}\" inline; secrets go by reference so that the file holds none: set {field}_env = \"VARIABLE\" or {field}_file = \"PATH\" instead"
    )]
    InlineSecret {
        /// The EHR's name.
        ehr: String,
        /// `client_secret` or `private_key`.
        field: &'static str,
    },
    /// A referenced secret cannot be read.
    #[error("cannot read {field} for the EHR \"{ehr}\": {reason}")]
    Secret {
        /// The EHR's name.
        ehr: String,
        /// `client_secret` or `private_key`.
        field: &'static str,
        /// Why (the variable is unset, the file is missing or too large, ...).
        reason: String,
    },
    /// The registry file cannot be read or parsed.
    #[error("cannot use the registry file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// An entry's settings are refused by the client configuration.
    #[error("the registry entry for the EHR \"{ehr}\" is unusable: {source}")]
    Config {
        /// The EHR's name.
        ehr: String,
        /// The configuration error.
        #[source]
        source: Box<ConfigError>,
    },
    /// The client cannot be built (its transport).
    #[error("the client for the EHR \"{ehr}\" cannot be built: {source}")]
    Client {
        /// The EHR's name.
        ehr: String,
        /// The client error.
        #[source]
        source: Box<ClientError>,
    },
}

struct Kept<T> {
    built: Instant,
    value: T,
}

/// Per-EHR settings keyed by issuer, and the clients built from them.
pub struct IssuerRegistry {
    entries: Vec<EhrSettings>,
    ttl: Duration,
    flows: Mutex<HashMap<String, Kept<SmartFlows>>>,
    #[cfg(feature = "ureq")]
    blocking: Mutex<HashMap<String, Kept<crate::SmartClient>>>,
    #[cfg(feature = "reqwest")]
    asynchronous: Mutex<HashMap<String, Kept<crate::AsyncSmartClient>>>,
}

impl core::fmt::Debug for IssuerRegistry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuerRegistry")
            .field("issuers", &self.issuers())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl IssuerRegistry {
    /// A registry of `entries`.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Duplicate`] when two entries share an issuer or a name.
    pub fn new(entries: Vec<EhrSettings>) -> Result<Self, RegistryError> {
        let mut registry = Self {
            entries: Vec::with_capacity(entries.len()),
            ttl: DEFAULT_TTL,
            flows: Mutex::default(),
            #[cfg(feature = "ureq")]
            blocking: Mutex::default(),
            #[cfg(feature = "reqwest")]
            asynchronous: Mutex::default(),
        };
        for entry in entries {
            registry.insert(entry)?;
        }
        Ok(registry)
    }

    /// Adds an EHR, such as one this app has just registered at (UDAP or OAuth dynamic
    /// registration: see [`EhrSettings::with_client_auth`]).
    ///
    /// # Errors
    ///
    /// [`RegistryError::Duplicate`] when an entry has the same issuer or name (take it out
    /// with [`IssuerRegistry::remove`] first to replace it).
    pub fn insert(&mut self, entry: EhrSettings) -> Result<(), RegistryError> {
        if self
            .entries
            .iter()
            .any(|known| known.issuer == entry.issuer)
        {
            return Err(duplicate("the issuer", &entry.issuer));
        }
        if self.entries.iter().any(|known| known.name == entry.name) {
            return Err(duplicate("the name", &entry.name));
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Takes out the EHR for `iss` (a cancelled registration, or one to replace) and drops
    /// the clients kept for it; `None` when none is registered.
    pub fn remove(&mut self, iss: &str) -> Option<EhrSettings> {
        let at = self.entries.iter().position(|entry| entry.issuer == iss)?;
        forget(&self.flows, iss);
        #[cfg(feature = "ureq")]
        forget(&self.blocking, iss);
        #[cfg(feature = "reqwest")]
        forget(&self.asynchronous, iss);
        Some(self.entries.remove(at))
    }

    /// Keeps each issuer's client (and its discovery, OpenID configuration and key caches)
    /// for `ttl`, [`DEFAULT_TTL`] by default; the next call after it builds a fresh one.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The registered names, in order.
    #[must_use]
    pub fn names(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|entry| entry.name.as_str())
            .collect()
    }

    /// The registered issuers, in order.
    #[must_use]
    pub fn issuers(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|entry| entry.issuer.as_str())
            .collect()
    }

    /// The entry for `iss`, compared as an exact string.
    ///
    /// # Errors
    ///
    /// [`RegistryError::UnknownIssuer`], naming a registered issuer that differs only by a
    /// trailing slash or letter case.
    pub fn settings(&self, iss: &str) -> Result<&EhrSettings, RegistryError> {
        if let Some(entry) = self.entries.iter().find(|entry| entry.issuer == iss) {
            return Ok(entry);
        }
        let closest = self
            .entries
            .iter()
            .find_map(|entry| {
                let hint = issuer_difference(iss, &entry.issuer);
                (!hint.is_empty())
                    .then(|| format!(", but \"{}\" is registered{hint}", entry.issuer))
            })
            .unwrap_or_default();
        Err(RegistryError::UnknownIssuer {
            iss: display_text(iss, 256),
            closest,
        })
    }

    /// The entry called `name`.
    ///
    /// # Errors
    ///
    /// [`RegistryError::UnknownName`], listing the registered names.
    pub fn by_name(&self, name: &str) -> Result<&EhrSettings, RegistryError> {
        self.entries
            .iter()
            .find(|entry| entry.name == name)
            .ok_or_else(|| RegistryError::UnknownName {
                name: display_text(name, 128),
                known: self
                    .entries
                    .iter()
                    .map(|entry| entry.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The flows for `iss` (shared by both shells' clients for it), kept for the TTL.
    ///
    /// # Errors
    ///
    /// As [`IssuerRegistry::settings`] and [`EhrSettings::config`].
    pub fn flows_for(&self, iss: &str) -> Result<SmartFlows, RegistryError> {
        let entry = self.settings(iss)?;
        kept(&self.flows, iss, self.ttl, || {
            let config = entry.config()?;
            match &entry.client_auth {
                Some(auth) => SmartFlows::with_client_auth(config, entry.client_type, auth.clone()),
                None => SmartFlows::new(config, entry.client_type),
            }
            .map_err(|source| RegistryError::Config {
                ehr: entry.name.clone(),
                source: Box::new(source),
            })
        })
    }

    /// What an EHR launch needs: the registered client's flows for `iss` and the options of
    /// its authorization request (`launch`, and `iss` checked again as `aud`). An unknown
    /// `iss` fails here, before any request.
    ///
    /// # Errors
    ///
    /// As [`IssuerRegistry::flows_for`].
    pub fn ehr_launch(
        &self,
        iss: &str,
        launch: &str,
    ) -> Result<(SmartFlows, AuthorizeOptions), RegistryError> {
        let flows = self.flows_for(iss)?;
        Ok((flows, AuthorizeOptions::new().ehr_launch(iss, launch)))
    }

    /// The blocking client for `iss` (ureq), kept for the TTL.
    ///
    /// # Errors
    ///
    /// As [`IssuerRegistry::flows_for`]; [`RegistryError::Client`] when the transport cannot
    /// be built.
    #[cfg(feature = "ureq")]
    pub fn client_for(&self, iss: &str) -> Result<crate::SmartClient, RegistryError> {
        let flows = self.flows_for(iss)?;
        kept(&self.blocking, iss, self.ttl, || {
            let http = crate::UreqClient::new(flows.config().http_options()).map_err(|source| {
                RegistryError::Client {
                    ehr: self
                        .settings(iss)
                        .map(|e| e.name.clone())
                        .unwrap_or_default(),
                    source: Box::new(ClientError::Network {
                        url: "proxy".to_owned(),
                        source,
                    }),
                }
            })?;
            Ok(crate::SmartClient::from_flows(flows, http))
        })
    }

    /// The async client for `iss` (reqwest), kept for the TTL.
    ///
    /// # Errors
    ///
    /// As [`IssuerRegistry::client_for`].
    #[cfg(feature = "reqwest")]
    pub fn async_client_for(&self, iss: &str) -> Result<crate::AsyncSmartClient, RegistryError> {
        let flows = self.flows_for(iss)?;
        kept(&self.asynchronous, iss, self.ttl, || {
            let http =
                crate::ReqwestClient::new(flows.config().http_options()).map_err(|source| {
                    RegistryError::Client {
                        ehr: self
                            .settings(iss)
                            .map(|e| e.name.clone())
                            .unwrap_or_default(),
                        source: Box::new(ClientError::Network {
                            url: "proxy".to_owned(),
                            source,
                        }),
                    }
                })?;
            Ok(crate::AsyncSmartClient::from_flows(flows, http))
        })
    }
}

fn duplicate(what: &'static str, value: &str) -> RegistryError {
    RegistryError::Duplicate {
        what,
        value: display_text(value, 256),
    }
}

/// Drops what is kept for `key`.
fn forget<T>(cache: &Mutex<HashMap<String, Kept<T>>>, key: &str) {
    cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(key);
}

/// The value kept for `key` while younger than `ttl`, else a new one from `build`.
fn kept<T: Clone>(
    cache: &Mutex<HashMap<String, Kept<T>>>,
    key: &str,
    ttl: Duration,
    build: impl FnOnce() -> Result<T, RegistryError>,
) -> Result<T, RegistryError> {
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(entry) = cache.get(key)
        && entry.built.elapsed() < ttl
    {
        return Ok(entry.value.clone());
    }
    let value = build()?;
    cache.insert(
        key.to_owned(),
        Kept {
            built: Instant::now(),
            value: value.clone(),
        },
    );
    Ok(value)
}
