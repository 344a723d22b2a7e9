//! Configuration: the sandbox's options and its registered clients.

use core::fmt;

use smart_core::ClientId;
use smart_jwt_assertion::JwkSet;
use smart_token::AuthMethod;
use smart_token::ClientSecret;
use smart_token::scope::{Compartment, Scope, ScopeSet};
use url::Url;

mod metadata;

pub(crate) use metadata::Metadata;

use crate::error::ClientMetadataError;
use crate::http_util::shown;

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
pub(crate) const DEFAULT_USER_SCOPES: &str = "launch launch/patient launch/encounter openid fhirUser profile offline_access online_access patient/*.cruds user/*.cruds";
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

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::metadata::LOOPBACK_ANY_PORT;
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
}
