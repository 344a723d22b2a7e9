//! Configuration: the sandbox's options and its registered clients.

use core::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use smart_core::{ClientId, Clock, Secret, SystemClock};
use smart_jwt_assertion::JwkSet;
use smart_token::AuthMethod;
use smart_token::ClientSecret;
use smart_token::scope::{Compartment, Scope, ScopeSet};
use url::Url;

use crate::error::{ClientMetadataError, SandboxError};

/// A grant type a client may use (RFC 7591 `grant_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code`: the SMART App Launch code flow.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials`: SMART Backend Services.
    ClientCredentials,
}

impl GrantType {
    /// The name used in metadata and in the `grant_type` parameter.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            _ => None,
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a client's public keys are: inline, or at a URL the sandbox reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientKeys {
    /// An inline JWK Set (`jwks`).
    Jwks(JwkSet),
    /// A JWK Set URL (`jwks_uri`): `http://` on a loopback host (the sandbox fetches from
    /// nowhere else), or a URL inside the sandbox itself, which it answers without HTTP.
    JwksUri(String),
}

/// How a client authenticates, with its credentials.
///
/// `Debug` never shows the secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientKind {
    /// No authentication: `client_id` in the body, PKCE protects the code (`client-public`).
    Public,
    /// `client_secret_basic` (raw or RFC 6749 form-encoded) or `client_secret_post`, whichever
    /// it registered (`client-confidential-symmetric`).
    ConfidentialSymmetric {
        /// The client secret.
        secret: ClientSecret,
    },
    /// `private_key_jwt` for the code flow (`client-confidential-asymmetric`).
    ConfidentialAsymmetric {
        /// The public keys assertions are verified with.
        keys: ClientKeys,
    },
    /// `private_key_jwt` with `client_credentials` (SMART Backend Services).
    BackendService {
        /// The public keys assertions are verified with.
        keys: ClientKeys,
    },
}

impl ClientKind {
    /// The keys of an asymmetric or backend client.
    pub(crate) fn keys(&self) -> Option<&ClientKeys> {
        match self {
            Self::ConfidentialAsymmetric { keys } | Self::BackendService { keys } => Some(keys),
            Self::Public | Self::ConfidentialSymmetric { .. } => None,
        }
    }

    fn default_method(&self) -> AuthMethod {
        match self {
            Self::Public => AuthMethod::None,
            Self::ConfidentialSymmetric { .. } => AuthMethod::ClientSecretBasic,
            Self::ConfidentialAsymmetric { .. } | Self::BackendService { .. } => {
                AuthMethod::PrivateKeyJwt
            }
        }
    }
}

/// A client registered with the sandbox: built here, read from a clients file (serde, the
/// RFC 7591 metadata names), or created by `POST /register`.
///
/// ```
/// use smart_sandbox::{RegisteredClient, GrantType};
///
/// let client: RegisteredClient = serde_json::from_str(r#"{
///     "client_id": "my-app",
///     "token_endpoint_auth_method": "client_secret_basic",
///     "client_secret": "not-a-real-secret",
///     "redirect_uris": ["http://127.0.0.1:8080/callback"],
///     "grant_types": ["authorization_code", "refresh_token"],
///     "scope": "launch/patient openid fhirUser offline_access patient/*.rs"
/// }"#)?;
/// assert_eq!(client.client_id(), "my-app");
/// assert_eq!(client.grant_types(), [GrantType::AuthorizationCode, GrantType::RefreshToken]);
/// assert!(!client.loopback_redirect_any_port()); // exact redirect_uri matching
/// assert!(!format!("{client:?}").contains("not-a-real-secret"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    client_id: String,
    kind: ClientKind,
    method: AuthMethod,
    redirect_uris: Vec<String>,
    scopes: ScopeSet,
    grant_types: Vec<GrantType>,
    client_name: Option<String>,
    /// RFC 8252 §7.3: a loopback `http` redirect URI matches whatever its port.
    loopback_any_port: bool,
}

/// What user-facing clients get when they register no `scope`.
const DEFAULT_USER_SCOPES: &str = crate::demo::CLIENT_SCOPES;
/// What backend clients get when they register no `scope`.
const DEFAULT_SYSTEM_SCOPES: &str = "system/*.cruds";

fn default_scopes(backend: bool) -> ScopeSet {
    let text = if backend {
        DEFAULT_SYSTEM_SCOPES
    } else {
        DEFAULT_USER_SCOPES
    };
    ScopeSet::parse(text).unwrap_or_default()
}

impl RegisteredClient {
    fn new(client_id: impl Into<String>, kind: ClientKind, redirect_uris: Vec<String>) -> Self {
        let backend = matches!(kind, ClientKind::BackendService { .. });
        let grant_types = if backend {
            vec![GrantType::ClientCredentials]
        } else {
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
        };
        Self {
            client_id: client_id.into(),
            method: kind.default_method(),
            kind,
            redirect_uris,
            scopes: default_scopes(backend),
            grant_types,
            client_name: None,
            loopback_any_port: false,
        }
    }

    /// A public client with its redirect URIs. Grant types `authorization_code` and
    /// `refresh_token`; scopes [`demo::CLIENT_SCOPES`](crate::demo::CLIENT_SCOPES) until
    /// [`with_scopes`](Self::with_scopes).
    #[must_use]
    pub fn public(client_id: impl Into<String>, redirect_uris: Vec<String>) -> Self {
        Self::new(client_id, ClientKind::Public, redirect_uris)
    }

    /// A confidential client authenticating with `secret` in `Authorization: Basic`
    /// (`client_secret_basic`); the secret in the body is refused.
    #[must_use]
    pub fn confidential_symmetric(
        client_id: impl Into<String>,
        secret: impl Into<String>,
        redirect_uris: Vec<String>,
    ) -> Self {
        Self::new(
            client_id,
            ClientKind::ConfidentialSymmetric {
                secret: ClientSecret::new(secret),
            },
            redirect_uris,
        )
    }

    /// A confidential client authenticating with `secret` in the form body
    /// (`client_secret_post`); `Authorization: Basic` is refused.
    #[must_use]
    pub fn confidential_symmetric_post(
        client_id: impl Into<String>,
        secret: impl Into<String>,
        redirect_uris: Vec<String>,
    ) -> Self {
        let mut client = Self::confidential_symmetric(client_id, secret, redirect_uris);
        client.method = AuthMethod::ClientSecretPost;
        client
    }

    /// A confidential client authenticating with assertions signed by the keys in `keys`.
    #[must_use]
    pub fn confidential_asymmetric(
        client_id: impl Into<String>,
        keys: ClientKeys,
        redirect_uris: Vec<String>,
    ) -> Self {
        Self::new(
            client_id,
            ClientKind::ConfidentialAsymmetric { keys },
            redirect_uris,
        )
    }

    /// A SMART Backend Services client: `client_credentials` only, assertions signed by the
    /// keys in `keys`, scopes `system/*.cruds` until [`with_scopes`](Self::with_scopes).
    #[must_use]
    pub fn backend_service(client_id: impl Into<String>, keys: ClientKeys) -> Self {
        Self::new(client_id, ClientKind::BackendService { keys }, Vec::new())
    }

    /// Sets the registered scopes: what the client may ask for.
    #[must_use]
    pub fn with_scopes(mut self, scopes: ScopeSet) -> Self {
        self.scopes = scopes;
        self
    }

    /// Sets the grant types the client may use.
    #[must_use]
    pub fn with_grant_types(mut self, grant_types: Vec<GrantType>) -> Self {
        self.grant_types = grant_types;
        self
    }

    /// Sets the client's display name (shown on the approval page).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// `true`: a registered `http://127.0.0.1` or `http://[::1]` redirect URI also matches
    /// the same URI with any other port (or none), as RFC 8252 §7.3 lets native apps use an
    /// ephemeral port. `false` (the default): every redirect URI must match a registered one
    /// string for string. Other hosts (`localhost` included) never vary. In a clients file
    /// or a `POST /register` body: `"loopback_redirect_any_port": true`.
    #[must_use]
    pub fn with_loopback_redirect_any_port(mut self, any_port: bool) -> Self {
        self.loopback_any_port = any_port;
        self
    }

    /// The client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// How it authenticates.
    #[must_use]
    pub fn kind(&self) -> &ClientKind {
        &self.kind
    }

    /// Its registered `token_endpoint_auth_method`, the only method the sandbox accepts from
    /// it: a symmetric client registered for `client_secret_basic` must use
    /// `Authorization: Basic`, one registered for `client_secret_post` the form body; the
    /// other is refused with `401 invalid_client`.
    #[must_use]
    pub fn auth_method(&self) -> AuthMethod {
        self.method
    }

    /// Its registered redirect URIs.
    #[must_use]
    pub fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    /// Whether its loopback redirect URIs match whatever the port (RFC 8252 §7.3); see
    /// [`with_loopback_redirect_any_port`](Self::with_loopback_redirect_any_port).
    #[must_use]
    pub fn loopback_redirect_any_port(&self) -> bool {
        self.loopback_any_port
    }

    /// Its registered scopes.
    #[must_use]
    pub fn scopes(&self) -> &ScopeSet {
        &self.scopes
    }

    /// Refuses `requested` scopes beyond what this client is registered for, naming them.
    pub(crate) fn check_registered(
        &self,
        requested: &ScopeSet,
    ) -> Result<(), crate::http_util::OAuthFailure> {
        let beyond: Vec<String> = requested
            .iter()
            .filter(|wanted| !self.scopes.covers(wanted))
            .map(ToString::to_string)
            .collect();
        if beyond.is_empty() {
            Ok(())
        } else {
            Err(crate::http_util::OAuthFailure::invalid_scope(format!(
                "not registered for this client: {}",
                shown(&beyond.join(" "))
            )))
        }
    }

    /// Its grant types.
    #[must_use]
    pub fn grant_types(&self) -> &[GrantType] {
        &self.grant_types
    }

    /// Its display name.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.client_name.as_deref()
    }

    pub(crate) fn allows(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    /// Whether `uri` is one of the registered redirect URIs: the same string, or, only for
    /// a client registered with `loopback_redirect_any_port`, a `127.0.0.1` or `[::1]` `http`
    /// URI that differs only in its port (RFC 8252 §7.3).
    pub(crate) fn redirect_uri_matches(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|registered| {
            registered == uri || (self.loopback_any_port && loopback_port_variant(registered, uri))
        })
    }

    /// Whether `uri` would match a registered redirect URI with
    /// [`loopback_redirect_any_port`](Self::with_loopback_redirect_any_port): for the hint of
    /// a refusal.
    pub(crate) fn differs_in_loopback_port_only(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| loopback_port_variant(registered, uri))
    }

    /// Checks the whole registration; used for clients built in code or read from a file.
    pub(crate) fn check(&self) -> Result<(), ClientMetadataError> {
        ClientId::parse(self.client_id.as_str()).map_err(|error| {
            ClientMetadataError::metadata(format!("client_id is not usable: {error}"))
        })?;
        let backend = matches!(self.kind, ClientKind::BackendService { .. });
        let has = |grant| self.grant_types.contains(&grant);
        if self.grant_types.is_empty() {
            return Err(ClientMetadataError::metadata(
                "grant_types is empty; register authorization_code or client_credentials",
            ));
        }
        if backend != has(GrantType::ClientCredentials) || (backend && self.grant_types.len() > 1) {
            return Err(ClientMetadataError::metadata(
                "client_credentials is for backend services alone: register it with private_key_jwt and no other grant type",
            ));
        }
        if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
            return Err(ClientMetadataError::metadata(
                "refresh_token needs authorization_code in grant_types",
            ));
        }
        if has(GrantType::AuthorizationCode) {
            if self.redirect_uris.is_empty() {
                return Err(ClientMetadataError::redirect_uri(
                    "redirect_uris is required for the authorization_code grant",
                ));
            }
            for uri in &self.redirect_uris {
                check_redirect_uri(uri)?;
            }
        }
        if self.loopback_any_port && !self.redirect_uris.iter().any(|uri| is_port_variable(uri)) {
            return Err(ClientMetadataError::redirect_uri(
                "loopback_redirect_any_port needs a redirect URI on http://127.0.0.1 or http://[::1]; register one, or leave the option out",
            ));
        }
        if self.scopes.is_empty() {
            return Err(ClientMetadataError::metadata(
                "scope is empty; register the scopes the client may ask for",
            ));
        }
        if backend {
            let system_only = self.scopes.iter().all(|scope| {
                matches!(scope, Scope::Resource(resource) if resource.compartment() == Compartment::System)
            });
            if !system_only {
                return Err(ClientMetadataError::metadata(
                    "a backend service registers system/ scopes only",
                ));
            }
        }
        match &self.kind {
            ClientKind::Public => {}
            ClientKind::ConfidentialSymmetric { secret } => {
                if secret.expose_secret().is_empty() {
                    return Err(ClientMetadataError::metadata("client_secret is empty"));
                }
            }
            ClientKind::ConfidentialAsymmetric { keys } | ClientKind::BackendService { keys } => {
                check_keys(keys)?;
            }
        }
        Ok(())
    }

    /// A client from a clients-file entry: `client_id` and RFC 7591 metadata, with the
    /// `client_secret` of a symmetric client.
    pub(crate) fn from_file_entry(object: &Map<String, Value>) -> Result<Self, SandboxError> {
        let client_id = match object.get("client_id") {
            Some(Value::String(id)) => id.clone(),
            _ => {
                return Err(SandboxError::InvalidClient {
                    client_id: String::new(),
                    source: ClientMetadataError::metadata(
                        "every client needs a `client_id` string",
                    ),
                });
            }
        };
        let invalid = |source| SandboxError::InvalidClient {
            client_id: client_id.clone(),
            source,
        };
        let metadata = Metadata::parse(object).map_err(invalid)?;
        let secret = match object.get("client_secret") {
            None => None,
            Some(Value::String(secret)) => Some(secret.clone()),
            Some(_) => {
                return Err(invalid(ClientMetadataError::metadata(
                    "client_secret must be a string",
                )));
            }
        };
        let needs_secret = matches!(
            metadata.method,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        );
        if needs_secret && secret.is_none() {
            return Err(invalid(ClientMetadataError::metadata(
                "a client_secret_basic or client_secret_post client needs its client_secret",
            )));
        }
        if !needs_secret && secret.is_some() {
            return Err(invalid(ClientMetadataError::metadata(
                "client_secret is only for client_secret_basic and client_secret_post clients",
            )));
        }
        let client = metadata.into_client(client_id.clone(), secret.unwrap_or_default());
        client.check().map_err(invalid)?;
        Ok(client)
    }

    /// The RFC 7591 metadata of this client (never the secret).
    pub(crate) fn metadata_json(&self) -> Map<String, Value> {
        let mut object = Map::new();
        object.insert("client_id".into(), Value::from(self.client_id.as_str()));
        object.insert(
            "token_endpoint_auth_method".into(),
            Value::from(self.method.as_str()),
        );
        object.insert(
            "grant_types".into(),
            self.grant_types.iter().map(|g| g.as_str()).collect(),
        );
        if !self.redirect_uris.is_empty() {
            object.insert(
                "redirect_uris".into(),
                self.redirect_uris.iter().map(String::as_str).collect(),
            );
            object.insert("response_types".into(), Value::from(vec!["code"]));
        }
        object.insert("scope".into(), Value::from(self.scopes.to_string()));
        if let Some(name) = &self.client_name {
            object.insert("client_name".into(), Value::from(name.as_str()));
        }
        if self.loopback_any_port {
            object.insert(LOOPBACK_ANY_PORT.into(), Value::from(true));
        }
        match self.kind.keys() {
            Some(ClientKeys::Jwks(jwks)) => {
                object.insert(
                    "jwks".into(),
                    serde_json::to_value(jwks).unwrap_or(Value::Null),
                );
            }
            Some(ClientKeys::JwksUri(uri)) => {
                object.insert("jwks_uri".into(), Value::from(uri.as_str()));
            }
            None => {}
        }
        object
    }
}

impl<'de> Deserialize<'de> for RegisteredClient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = Map::<String, Value>::deserialize(deserializer)?;
        Self::from_file_entry(&object).map_err(serde::de::Error::custom)
    }
}

/// The sandbox's own registration option (not RFC 7591): loopback redirect URIs match
/// whatever the port.
const LOOPBACK_ANY_PORT: &str = "loopback_redirect_any_port";

/// Parsed RFC 7591 metadata, before a client id and secret are attached.
pub(crate) struct Metadata {
    pub(crate) method: AuthMethod,
    grant_types: Vec<GrantType>,
    redirect_uris: Vec<String>,
    scopes: Option<ScopeSet>,
    keys: Option<ClientKeys>,
    client_name: Option<String>,
    loopback_any_port: bool,
}

impl Metadata {
    /// Reads the metadata members the sandbox uses (RFC 7591 §2); others are ignored.
    pub(crate) fn parse(object: &Map<String, Value>) -> Result<Self, ClientMetadataError> {
        let method = match string_member(object, "token_endpoint_auth_method")?.as_deref() {
            None | Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
            Some("client_secret_post") => AuthMethod::ClientSecretPost,
            Some("private_key_jwt") => AuthMethod::PrivateKeyJwt,
            Some("none") => AuthMethod::None,
            Some(_) => {
                return Err(ClientMetadataError::metadata(
                    "token_endpoint_auth_method must be none, client_secret_basic, client_secret_post or private_key_jwt",
                ));
            }
        };
        let grant_types = match strings_member(object, "grant_types")? {
            None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            Some(names) => {
                let mut grants = Vec::new();
                for name in &names {
                    let grant = GrantType::parse(name).ok_or_else(|| {
                        ClientMetadataError::metadata(format!(
                            "grant type `{}` is not supported; use authorization_code, refresh_token or client_credentials",
                            shown(name)
                        ))
                    })?;
                    if !grants.contains(&grant) {
                        grants.push(grant);
                    }
                }
                grants
            }
        };
        if let Some(types) = strings_member(object, "response_types")?
            && types.iter().any(|t| t != "code")
        {
            return Err(ClientMetadataError::metadata(
                "response_types may only be [\"code\"]",
            ));
        }
        let redirect_uris = strings_member(object, "redirect_uris")
            .map_err(|error| ClientMetadataError::redirect_uri(error.description()))?
            .unwrap_or_default();
        let scopes = match string_member(object, "scope")? {
            None => None,
            Some(text) => Some(ScopeSet::parse(&text).map_err(|error| {
                ClientMetadataError::metadata(format!("scope is invalid: {error}"))
            })?),
        };
        let keys = match (object.get("jwks"), string_member(object, "jwks_uri")?) {
            (Some(_), Some(_)) => {
                return Err(ClientMetadataError::metadata(
                    "jwks and jwks_uri are mutually exclusive (RFC 7591 section 2)",
                ));
            }
            (Some(jwks), None) => {
                let jwks = JwkSet::parse(&jwks.to_string()).map_err(|error| {
                    ClientMetadataError::metadata(format!("jwks is not a JWK Set: {error}"))
                })?;
                Some(ClientKeys::Jwks(jwks))
            }
            (None, Some(uri)) => Some(ClientKeys::JwksUri(uri)),
            (None, None) => None,
        };
        if method == AuthMethod::PrivateKeyJwt && keys.is_none() {
            return Err(ClientMetadataError::metadata(
                "a private_key_jwt client needs jwks or jwks_uri",
            ));
        }
        if method != AuthMethod::PrivateKeyJwt && keys.is_some() {
            return Err(ClientMetadataError::metadata(
                "jwks and jwks_uri are only for private_key_jwt clients",
            ));
        }
        let client_name = string_member(object, "client_name")?;
        let loopback_any_port = match object.get(LOOPBACK_ANY_PORT) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(any_port)) => *any_port,
            Some(_) => {
                return Err(ClientMetadataError::metadata(format!(
                    "{LOOPBACK_ANY_PORT} must be true or false"
                )));
            }
        };
        Ok(Self {
            method,
            grant_types,
            redirect_uris,
            scopes,
            keys,
            client_name,
            loopback_any_port,
        })
    }

    /// The client, with `secret` for the secret methods (ignored otherwise).
    pub(crate) fn into_client(self, client_id: String, secret: String) -> RegisteredClient {
        let backend = self.grant_types.contains(&GrantType::ClientCredentials);
        let kind = match (self.method, self.keys) {
            (AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost, _) => {
                ClientKind::ConfidentialSymmetric {
                    secret: ClientSecret::new(secret),
                }
            }
            (_, Some(keys)) if backend => ClientKind::BackendService { keys },
            (_, Some(keys)) => ClientKind::ConfidentialAsymmetric { keys },
            (_, None) => ClientKind::Public,
        };
        RegisteredClient {
            client_id,
            kind,
            method: self.method,
            redirect_uris: self.redirect_uris,
            scopes: self.scopes.unwrap_or_else(|| default_scopes(backend)),
            grant_types: self.grant_types,
            client_name: self.client_name,
            loopback_any_port: self.loopback_any_port,
        }
    }
}

fn string_member(
    object: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, ClientMetadataError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ClientMetadataError::metadata(format!(
            "{name} must be a string"
        ))),
    }
}

fn strings_member(
    object: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<Vec<String>>, ClientMetadataError> {
    let not_strings =
        || ClientMetadataError::metadata(format!("{name} must be an array of strings"));
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(not_strings))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(not_strings()),
    }
}

/// At most 100 characters of a value, for error messages.
pub(crate) fn shown(value: &str) -> String {
    let mut shown: String = value.chars().take(100).collect();
    if shown.len() < value.len() {
        shown.push_str("...");
    }
    shown
}

fn is_loopback_host(url: &Url) -> bool {
    matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// A registrable redirect URI: absolute, no fragment; `https`, `http` on a loopback host, or
/// a private-use scheme with a dot (RFC 8252 §7.1).
fn check_redirect_uri(uri: &str) -> Result<(), ClientMetadataError> {
    let bad = |why: &str| {
        ClientMetadataError::redirect_uri(format!("redirect URI `{}` {why}", shown(uri)))
    };
    let url = Url::parse(uri).map_err(|_| bad("is not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment (RFC 6749 section 3.1.2)"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(bad(
            "uses http on a host other than 127.0.0.1, [::1] or localhost; use https",
        )),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(bad(
            "has a scheme that is neither https, loopback http, nor a private-use scheme such as com.example.app",
        )),
    }
}

fn check_keys(keys: &ClientKeys) -> Result<(), ClientMetadataError> {
    match keys {
        ClientKeys::Jwks(jwks) => {
            if jwks.keys.is_empty() {
                return Err(ClientMetadataError::metadata(
                    "jwks has no usable RSA or P-384 key",
                ));
            }
            if jwks
                .keys
                .iter()
                .any(|key| key.kid().is_none_or(str::is_empty))
            {
                return Err(ClientMetadataError::metadata(
                    "every key in jwks needs a kid (SMART client-confidential-asymmetric)",
                ));
            }
            Ok(())
        }
        ClientKeys::JwksUri(uri) => {
            let fetchable =
                Url::parse(uri).is_ok_and(|url| url.scheme() == "http" && is_loopback_host(&url));
            if fetchable {
                Ok(())
            } else {
                Err(ClientMetadataError::metadata(format!(
                    "jwks_uri `{}` must be an http:// URL on 127.0.0.1, [::1] or localhost: the sandbox fetches keys from nowhere else; register the keys inline with jwks instead",
                    shown(uri)
                )))
            }
        }
    }
}

/// Whether `uri` is an `http` URI on `127.0.0.1` or `[::1]`: the redirect URIs whose port
/// may vary (RFC 8252 §7.3; `localhost` is left out, as §8.3 advises against it).
fn is_port_variable(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| {
        url.scheme() == "http" && matches!(url.host_str(), Some("127.0.0.1" | "[::1]"))
    })
}

/// Whether two `http` loopback URIs differ only in their port (RFC 8252 §7.3).
fn loopback_port_variant(registered: &str, presented: &str) -> bool {
    if !is_port_variable(registered) {
        return false;
    }
    let (Ok(registered), Ok(mut presented)) = (Url::parse(registered), Url::parse(presented))
    else {
        return false;
    };
    if presented.set_port(registered.port()).is_err() {
        return false;
    }
    registered == presented
}

/// How to run a [`Sandbox`](crate::Sandbox). Builder style; every option has a default.
///
/// ```
/// use smart_sandbox::{SandboxConfig, RegisteredClient};
///
/// let config = SandboxConfig::new()
///     .port(0) // any free port (the default)
///     .interactive(false) // approve at once (the default)
///     .client(RegisteredClient::public("my-app", vec!["http://127.0.0.1/cb".into()]))
///     .require_initial_access_token(Some("registration-token".into()));
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct SandboxConfig {
    pub(crate) port: u16,
    pub(crate) interactive: bool,
    /// The login page before the consent page (`login_and_consent`).
    pub(crate) login: bool,
    pub(crate) demo_clients: bool,
    pub(crate) clients: Vec<RegisteredClient>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) initial_access_token: Option<Secret<String>>,
    pub(crate) udap: Option<crate::udap::UdapMode>,

    pub(crate) tokens: crate::token_policy::TokenPolicy,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            port: 0,
            interactive: false,
            login: false,
            demo_clients: true,
            clients: Vec::new(),
            clock: Arc::new(SystemClock),
            initial_access_token: None,
            udap: None,

            tokens: crate::token_policy::TokenPolicy::default(),
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            port,
            interactive,
            login,
            demo_clients,
            clients,
            clock: _,
            initial_access_token,
            udap,

            tokens,
        } = self;
        f.debug_struct("SandboxConfig")
            .field("port", port)
            .field("interactive", interactive)
            .field("login", login)
            .field("demo_clients", demo_clients)
            .field("clients", clients)
            .field("initial_access_token", initial_access_token)
            .field("udap", udap)
            .field("tokens", tokens)
            .finish_non_exhaustive()
    }
}

impl SandboxConfig {
    /// The defaults: any free port, auto-approve, the demo clients, the system clock, open
    /// registration.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns on the UDAP mode: `/.well-known/udap` with signed metadata, `/udap/register` and
    /// `/udap/token` (see [`UdapMode`](crate::UdapMode)).
    #[must_use]
    pub fn udap(mut self, mode: crate::udap::UdapMode) -> Self {
        self.udap = Some(mode);
        self
    }

    /// Listens on `127.0.0.1:port`; 0 (the default) picks a free port.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// `true`: `/authorize` shows an HTML page with Approve and Deny buttons (and a patient
    /// picker for standalone launches). `false` (the default): every valid request is
    /// approved at once.
    #[must_use]
    pub fn interactive(mut self, interactive: bool) -> Self {
        self.interactive = interactive;
        self
    }

    /// Registers these clients, beside the ones already configured.
    #[must_use]
    pub fn clients(mut self, clients: Vec<RegisteredClient>) -> Self {
        self.clients.extend(clients);
        self
    }

    /// Registers one more client.
    #[must_use]
    pub fn client(mut self, client: RegisteredClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Leaves out the built-in [`demo`](crate::demo) clients.
    #[must_use]
    pub fn without_demo_clients(mut self) -> Self {
        self.demo_clients = false;
        self
    }

    /// Registers the clients of a JSON file: `{"clients": [ ... ]}`, each entry a
    /// `client_id` with RFC 7591 metadata (see the crate docs). This is the file of
    /// `smart sandbox --clients`, not the conformance client profile of
    /// `cargo xtask conformance --clients`, which describes clients registered elsewhere.
    ///
    /// # Errors
    ///
    /// [`SandboxError::ReadClients`] when the file cannot be read,
    /// [`SandboxError::ClientsFile`] when it is not of that shape,
    /// [`SandboxError::InvalidClient`] when an entry is refused.
    ///
    /// The file must be a regular file (not a directory, a device or a FIFO) of at most
    /// [`MAX_CLIENTS_FILE`] bytes; it is never read past that.
    pub fn clients_from_file(self, path: impl AsRef<Path>) -> Result<Self, SandboxError> {
        let path = path.as_ref();
        let text =
            read_bounded(path, MAX_CLIENTS_FILE).map_err(|source| SandboxError::ReadClients {
                path: path.to_owned(),
                source,
            })?;
        self.clients_from_bytes(&text, path)
    }

    /// As [`clients_from_file`](Self::clients_from_file), from the file's contents.
    ///
    /// # Errors
    ///
    /// As [`clients_from_file`](Self::clients_from_file), without the read error.
    pub fn clients_from_json(self, json: &str) -> Result<Self, SandboxError> {
        self.clients_from_bytes(json.as_bytes(), Path::new(""))
    }

    fn clients_from_bytes(mut self, bytes: &[u8], path: &Path) -> Result<Self, SandboxError> {
        let file_error = |problem, source| SandboxError::ClientsFile {
            path: path.to_owned(),
            problem,
            source,
        };
        let object = smart_core::json::parse_object(bytes)
            .map_err(|error| file_error("it is not a JSON object", Some(error)))?;
        let Some(Value::Array(entries)) = object.get("clients") else {
            let profile = [
                "public",
                "confidential_symmetric",
                "confidential_asymmetric",
                "backend",
            ]
            .iter()
            .any(|member| object.contains_key(*member));
            return Err(file_error(
                if profile {
                    "it looks like a conformance client profile (for `xtask conformance --clients` and `smart demo --clients`); the sandbox's clients file is {\"clients\": [{\"client_id\": ..., RFC 7591 metadata}]}, see the smart-sandbox README"
                } else {
                    "it needs a `clients` array: {\"clients\": [{\"client_id\": ...}]}"
                },
                None,
            ));
        };
        for entry in entries {
            let Value::Object(entry) = entry else {
                return Err(file_error(
                    "every entry of `clients` must be an object",
                    None,
                ));
            };
            self.clients.push(RegisteredClient::from_file_entry(entry)?);
        }
        Ok(self)
    }

    /// The clock that dates codes, tokens and assertions (tests fix it);
    /// [`Sandbox::advance_clock`](crate::Sandbox::advance_clock) moves it on.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// `Some(token)`: `POST /register` needs `Authorization: Bearer <token>` (an RFC 7591
    /// initial access token). `None` (the default): registration is open.
    #[must_use]
    pub fn require_initial_access_token(mut self, token: Option<String>) -> Self {
        self.initial_access_token = token.map(Secret::new);
        self
    }
}

/// The largest clients file [`SandboxConfig::clients_from_file`] reads: 8 MiB.
pub const MAX_CLIENTS_FILE: u64 = 8 * 1024 * 1024;

/// The bytes of a regular file of at most `limit` bytes. A directory, a device (`/dev/zero`)
/// or a FIFO is refused before it is opened (opening a FIFO would wait for a writer).
fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let not_regular = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file (a directory, a device or a FIFO); give the path of a file",
        )
    };
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB, the limit for a clients file; check the path",
                limit / (1024 * 1024)
            ),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_match_exactly_by_default() {
        let client = RegisteredClient::public(
            "a",
            vec![
                "http://127.0.0.1/callback".into(),
                "http://[::1]:8080/cb".into(),
                "https://app.example/cb".into(),
            ],
        );
        assert!(!client.loopback_redirect_any_port());
        assert!(client.redirect_uri_matches("http://127.0.0.1/callback"));
        assert!(client.redirect_uri_matches("http://[::1]:8080/cb"));
        assert!(client.redirect_uri_matches("https://app.example/cb"));
        for other_port in [
            "http://127.0.0.1:49152/callback",
            "http://127.0.0.1:80/callback",
            "http://[::1]/cb",
            "http://[::1]:8081/cb",
        ] {
            assert!(!client.redirect_uri_matches(other_port), "{other_port}");
        }
    }

    #[test]
    fn loopback_ports_may_differ_with_the_opt_in() {
        let client = RegisteredClient::public(
            "a",
            vec![
                "http://127.0.0.1/callback".into(),
                "http://[::1]:8080/cb".into(),
                "http://localhost/cb".into(),
                "https://app.example/cb".into(),
            ],
        )
        .with_loopback_redirect_any_port(true);
        assert!(client.check().is_ok());
        assert!(client.redirect_uri_matches("http://[::1]:49152/cb"));
        assert!(client.redirect_uri_matches("http://[::1]/cb"));
        assert!(!client.redirect_uri_matches("http://localhost:49152/cb"));
        assert!(client.redirect_uri_matches("http://127.0.0.1/callback"));
        assert!(client.redirect_uri_matches("http://127.0.0.1:49152/callback"));
        assert!(!client.redirect_uri_matches("http://127.0.0.1:49152/callback/x"));
        assert!(!client.redirect_uri_matches("http://127.0.0.1:49152/callback?x=1"));
        assert!(!client.redirect_uri_matches("http://localhost:49152/callback"));
        assert!(client.redirect_uri_matches("https://app.example/cb"));
        assert!(!client.redirect_uri_matches("https://app.example:8443/cb"));
        assert!(!client.redirect_uri_matches("https://app.example/cb/"));
    }

    #[test]
    fn the_port_opt_in_needs_a_loopback_ip_redirect_uri() {
        for uris in [
            vec!["https://app.example/cb".to_owned()],
            vec!["http://localhost:8080/cb".to_owned()],
        ] {
            let client =
                RegisteredClient::public("a", uris.clone()).with_loopback_redirect_any_port(true);
            let error = client.check().unwrap_err();
            assert!(error.description().contains("127.0.0.1"), "{uris:?}");
        }
    }

    #[test]
    fn the_port_opt_in_from_metadata() {
        let entry = |value: Value| {
            let mut object = Map::new();
            object.insert("client_id".into(), "a".into());
            object.insert("token_endpoint_auth_method".into(), "none".into());
            object.insert(
                "redirect_uris".into(),
                Value::from(vec!["http://127.0.0.1/cb"]),
            );
            object.insert(LOOPBACK_ANY_PORT.into(), value);
            RegisteredClient::from_file_entry(&object)
        };
        let client = entry(Value::Bool(true)).unwrap();
        assert!(client.redirect_uri_matches("http://127.0.0.1:5000/cb"));
        assert_eq!(client.metadata_json()[LOOPBACK_ANY_PORT], true);
        let client = entry(Value::Bool(false)).unwrap();
        assert!(!client.redirect_uri_matches("http://127.0.0.1:5000/cb"));
        assert!(client.metadata_json().get(LOOPBACK_ANY_PORT).is_none());
        assert!(entry(Value::from("yes")).is_err());
    }

    #[test]
    fn redirect_uri_rules() {
        for good in [
            "https://app.example/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "com.example.app:/oauth",
        ] {
            assert!(check_redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "/relative",
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "javascript:alert(1)",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grant_type_combinations() {
        let keys = ClientKeys::Jwks(crate::demo::client_jwks());
        let backend = RegisteredClient::backend_service("b", keys.clone())
            .with_scopes(ScopeSet::parse("system/*.rs").unwrap());
        assert!(backend.check().is_ok());
        assert!(
            backend
                .clone()
                .with_scopes(ScopeSet::parse("patient/*.rs").unwrap())
                .check()
                .is_err()
        );
        assert!(
            backend
                .with_grant_types(vec![
                    GrantType::ClientCredentials,
                    GrantType::AuthorizationCode
                ])
                .check()
                .is_err()
        );
        let asymmetric = RegisteredClient::confidential_asymmetric(
            "a",
            keys,
            vec!["https://app.example/cb".into()],
        );
        assert!(asymmetric.check().is_ok());
        assert!(
            asymmetric
                .with_grant_types(vec![GrantType::RefreshToken])
                .check()
                .is_err()
        );
        assert!(RegisteredClient::public("p", Vec::new()).check().is_err());
    }

    #[test]
    fn clients_files_are_read_bounded_and_only_when_regular() {
        let message = |path: &Path| match SandboxConfig::new().clients_from_file(path) {
            Ok(_) => panic!("{} was read", path.display()),
            Err(error) => {
                let mut text = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    if !text.contains(&cause.to_string()) {
                        text.push_str(": ");
                        text.push_str(&cause.to_string());
                    }
                    source = cause.source();
                }
                text
            }
        };
        #[cfg(unix)]
        {
            let started = std::time::Instant::now();
            assert_eq!(
                message(Path::new("/dev/zero")),
                "cannot read the clients file /dev/zero: it is not a regular file (a directory, a device or a FIFO); give the path of a file"
            );
            assert!(started.elapsed() < std::time::Duration::from_secs(1));
        }
        let dir = std::env::temp_dir().join(format!("sandbox-clients-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(message(&dir).ends_with(
            "it is not a regular file (a directory, a device or a FIFO); give the path of a file"
        ));
        let big = dir.join("big.json");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_CLIENTS_FILE + 1).unwrap();
        assert_eq!(
            message(&big),
            format!(
                "cannot read the clients file {}: it is larger than 8 MiB, the limit for a clients file; check the path",
                big.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
