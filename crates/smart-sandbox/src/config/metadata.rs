//! Clients as RFC 7591 metadata: read from a clients file or a `POST /register` body, and
//! written back in registration responses.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use smart_jwt_assertion::JwkSet;
use smart_token::scope::ScopeSet;
use smart_token::{AuthMethod, ClientSecret};

use super::{ClientKeys, ClientKind, GrantType, RegisteredClient, default_scopes, shown};
use crate::error::{ClientMetadataError, SandboxError};

impl RegisteredClient {
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
pub(super) const LOOPBACK_ANY_PORT: &str = "loopback_redirect_any_port";

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
