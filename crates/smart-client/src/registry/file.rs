//! The registry file: one entry per EHR, in JSON (`{"ehr": [...]}`) or TOML (`[[ehr]]`,
//! feature `registry-toml`). Secrets only by reference (`client_secret_env`,
//! `client_secret_file`, `private_key_env`, `private_key_file`); an inline `client_secret` or
//! `private_key` is refused, so the file can live in version control.

use std::path::Path;

use serde::Deserialize;

use super::secret::{SecretRef, read_bounded};
use super::{EhrSettings, IssuerRegistry, RegistryError};
use crate::config::SecretMethod;
use crate::protocol::ClientType;

/// The largest registry file read: 1 MiB.
pub const MAX_REGISTRY_FILE: u64 = 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    ehr: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    issuer: String,
    client_id: String,
    client_type: FileClientType,
    #[serde(default)]
    secret_method: Option<FileSecretMethod>,
    /// Refused: present only to say why.
    #[serde(default)]
    client_secret: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    client_secret_env: Option<String>,
    #[serde(default)]
    client_secret_file: Option<String>,
    /// Refused: present only to say why.
    #[serde(default)]
    private_key: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    private_key_env: Option<String>,
    #[serde(default)]
    private_key_file: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    scopes: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
    #[serde(default)]
    allow_insecure_localhost: bool,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
enum FileClientType {
    Public,
    ConfidentialSymmetric,
    ConfidentialAsymmetric,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum FileSecretMethod {
    ClientSecretBasic,
    ClientSecretBasicRfc6749,
    ClientSecretPost,
}

impl Entry {
    fn into_settings(self, dir: &Path) -> Result<EhrSettings, RegistryError> {
        let inline = |field| RegistryError::InlineSecret {
            ehr: smart_core::display_text(&self.name, 128),
            field,
        };
        if self.client_secret.is_some() {
            return Err(inline("client_secret"));
        }
        if self.private_key.is_some() {
            return Err(inline("private_key"));
        }
        let reference = |env: Option<String>, file: Option<String>| {
            env.map(SecretRef::Env)
                .or_else(|| file.map(|path| SecretRef::File(path.into()).relative_to(dir)))
        };
        let client_type = match self.client_type {
            FileClientType::Public => ClientType::Public,
            FileClientType::ConfidentialSymmetric => ClientType::ConfidentialSymmetric,
            FileClientType::ConfidentialAsymmetric => ClientType::ConfidentialAsymmetric,
        };
        let mut settings = EhrSettings::new(self.name, self.issuer, self.client_id, client_type)
            .allow_insecure_localhost(self.allow_insecure_localhost);
        settings.secret_method = match self.secret_method {
            None | Some(FileSecretMethod::ClientSecretBasic) => SecretMethod::Basic,
            Some(FileSecretMethod::ClientSecretBasicRfc6749) => SecretMethod::BasicRfc6749,
            Some(FileSecretMethod::ClientSecretPost) => SecretMethod::Post,
        };
        settings.client_secret = reference(self.client_secret_env, self.client_secret_file);
        settings.private_key = reference(self.private_key_env, self.private_key_file);
        settings.kid = self.kid;
        settings.scopes = self.scopes;
        settings.redirect_uri = self.redirect_uri;
        settings.authorization_endpoint = self.authorization_endpoint;
        settings.token_endpoint = self.token_endpoint;
        Ok(settings)
    }
}

fn registry(file: File, dir: &Path) -> Result<IssuerRegistry, RegistryError> {
    let entries = file
        .ehr
        .into_iter()
        .map(|entry| entry.into_settings(dir))
        .collect::<Result<Vec<_>, _>>()?;
    IssuerRegistry::new(entries)
}

fn file_error(path: &str, reason: impl core::fmt::Display) -> RegistryError {
    RegistryError::File {
        path: path.to_owned(),
        reason: smart_core::display_text(&reason.to_string(), 512),
    }
}

impl IssuerRegistry {
    /// A registry from JSON (`{"ehr": [{"name": ..., "issuer": ..., ...}]}`); relative
    /// secret file paths are taken from `dir`.
    ///
    /// # Errors
    ///
    /// [`RegistryError::File`] for text that is not such a document (unknown fields
    /// included), [`RegistryError::InlineSecret`] for a secret written inline, and as
    /// [`IssuerRegistry::new`].
    pub fn from_json(text: &str, dir: &Path) -> Result<Self, RegistryError> {
        let file: File = serde_json::from_str(text).map_err(|error| file_error("(JSON)", error))?;
        registry(file, dir)
    }

    /// A registry from TOML (`[[ehr]]` tables); relative secret file paths are taken from
    /// `dir`.
    ///
    /// # Errors
    ///
    /// As [`IssuerRegistry::from_json`].
    #[cfg(feature = "registry-toml")]
    pub fn from_toml(text: &str, dir: &Path) -> Result<Self, RegistryError> {
        let file: File = toml::from_str(text).map_err(|error| file_error("(TOML)", error))?;
        registry(file, dir)
    }

    /// A registry from the file at `path` (at most [`MAX_REGISTRY_FILE`] bytes): TOML when
    /// its name ends in `.toml` (feature `registry-toml`), JSON otherwise.
    ///
    /// # Errors
    ///
    /// [`RegistryError::File`] naming the path when it cannot be read or parsed; as
    /// [`IssuerRegistry::from_json`].
    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let shown = path.display().to_string();
        let text =
            read_bounded(path, MAX_REGISTRY_FILE).map_err(|reason| file_error(&shown, reason))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let with_path = |error: RegistryError| match error {
            RegistryError::File { reason, .. } => file_error(&shown, reason),
            other => other,
        };
        if path.extension().is_some_and(|ext| ext == "toml") {
            #[cfg(feature = "registry-toml")]
            return Self::from_toml(&text, dir).map_err(with_path);
            #[cfg(not(feature = "registry-toml"))]
            return Err(file_error(
                &shown,
                "TOML registry files need the registry-toml feature of smart-client; enable it or write the file as JSON",
            ));
        }
        Self::from_json(&text, dir).map_err(with_path)
    }
}
