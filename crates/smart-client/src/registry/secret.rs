//! Secrets by reference: an environment variable's name or a file's path, read when the
//! issuer's client is built, never written in the registry itself.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use smart_core::Secret;

use super::RegistryError;

/// The largest secret or key file read: 1 MiB.
pub const MAX_SECRET_FILE: u64 = 1024 * 1024;

/// Where a secret (a client secret, a private key's PEM) is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// The environment variable of this name.
    Env(String),
    /// The file at this path (at most [`MAX_SECRET_FILE`] bytes; one trailing newline is
    /// dropped).
    File(PathBuf),
}

impl SecretRef {
    /// Reads the secret for `field` of the EHR `ehr` (both name it in errors).
    ///
    /// # Errors
    ///
    /// [`RegistryError::Secret`] when the variable is unset or not UTF-8, or the file is
    /// missing, not a regular file, larger than [`MAX_SECRET_FILE`], not UTF-8 or empty.
    pub fn read(&self, ehr: &str, field: &'static str) -> Result<Secret<String>, RegistryError> {
        let failed = |reason: String| RegistryError::Secret {
            ehr: ehr.to_owned(),
            field,
            reason,
        };
        let mut text = match self {
            Self::Env(name) => std::env::var(name).map_err(|error| {
                failed(match error {
                    std::env::VarError::NotPresent => {
                        format!("the environment variable {name} is not set")
                    }
                    std::env::VarError::NotUnicode(_) => {
                        format!("the environment variable {name} is not UTF-8")
                    }
                })
            })?,
            Self::File(path) => {
                read_text(path).map_err(|reason| failed(format!("{}: {reason}", path.display())))?
            }
        };
        if text.ends_with('\n') {
            text.pop();
        }
        if text.trim().is_empty() {
            return Err(failed("it is empty".to_owned()));
        }
        Ok(Secret::new(text))
    }

    /// The same reference with a relative file path taken from `dir` (a registry file's).
    pub(crate) fn relative_to(self, dir: &Path) -> Self {
        match self {
            Self::File(path) if path.is_relative() => Self::File(dir.join(path)),
            other => other,
        }
    }
}

/// A regular file of at most [`MAX_SECRET_FILE`] bytes, as UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    read_bounded(path, MAX_SECRET_FILE)
}

/// A regular file of at most `limit` bytes, as UTF-8. Devices, directories and FIFOs are
/// refused before they are read (`/dev/zero` never ends).
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<String, String> {
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_file() {
        return Err("it is not a regular file".to_owned());
    }
    let file = std::fs::File::open(path).map_err(|error| error.to_string())?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(format!("it is larger than {limit} bytes, the limit"));
    }
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
}
