//! The crate's errors.

use std::path::PathBuf;

use smart_token::ErrorCode;

/// Why the sandbox could not start, or could not read its configuration.
///
/// No variant holds a client secret, a key or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The listening socket could not be opened.
    #[error(
        "cannot listen on 127.0.0.1:{port}: {source}; pick another port, or 0 for any free port"
    )]
    Bind {
        /// The port asked for (0 = any).
        port: u16,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime or its thread could not be started.
    #[error("cannot start the sandbox's HTTP server: {source}")]
    Runtime {
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A clients file could not be read.
    #[error("cannot read the clients file {}: {source}", path.display())]
    ReadClients {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A clients file is not JSON of the expected shape.
    #[error("the clients file {} is not usable: {problem}", path.display())]
    ClientsFile {
        /// The file (empty when the JSON was given as a string).
        path: PathBuf,
        /// What is wrong.
        problem: &'static str,
        /// The JSON error, if the file is not valid JSON.
        #[source]
        source: Option<smart_core::json::JsonError>,
    },
    /// A client's registration metadata is invalid.
    #[error("the client `{client_id}` cannot be registered: {source}")]
    InvalidClient {
        /// The client.
        client_id: String,
        /// What is wrong with its metadata.
        #[source]
        source: ClientMetadataError,
    },
    /// Two clients have the same `client_id` (the built-in demo clients included).
    #[error(
        "the client_id `{client_id}` is registered twice; client ids must be unique (the built-in demo clients use the `sandbox-` prefix)"
    )]
    DuplicateClient {
        /// The client id.
        client_id: String,
    },
    /// An app launch URL given to [`Sandbox::ehr_launch_url`](crate::Sandbox::ehr_launch_url)
    /// is not an absolute URL.
    #[error("the app launch URL `{url}` is not an absolute URL: {source}")]
    LaunchUrl {
        /// The URL given.
        url: String,
        /// The parser's error.
        #[source]
        source: url::ParseError,
    },
}

/// Client metadata that the sandbox refuses, from `POST /register` or a clients file
/// (RFC 7591 §3.2.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct ClientMetadataError {
    code: ErrorCode,
    description: String,
}

impl ClientMetadataError {
    pub(crate) fn metadata(description: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidClientMetadata,
            description: description.into(),
        }
    }

    pub(crate) fn redirect_uri(description: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidRedirectUri,
            description: description.into(),
        }
    }

    /// The RFC 7591 error code: `invalid_client_metadata` or `invalid_redirect_uri`.
    #[must_use]
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// What is wrong, for `error_description`.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }
}
