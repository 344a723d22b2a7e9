//! How a command fails: the exit code, the one-line message, and the OAuth error fields of a
//! server's refusal.

use serde_json::json;
use smart_client::ClientError;
use smart_client::token::{OAuthError, TokenError};

use crate::messages;
use crate::output::{errln, esc, json_text, outln};

/// How a command failed: the exit code and what to print.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or configuration: exit code 2.
    Usage(String),
    /// The server said no, or answered in a way that cannot be used: exit code 1.
    Server {
        /// The one-line message.
        message: String,
        /// The OAuth error fields, when there are some.
        oauth: Option<OAuthFields>,
    },
    /// The command has already printed its own report (the demo's JSON document); only the
    /// exit code is left.
    Reported(u8),
}

/// The fields of an OAuth error answer, printed below the message.
#[derive(Debug)]
pub(crate) struct OAuthFields {
    status: Option<u16>,
    error: String,
    description: Option<String>,
    uri: Option<String>,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    pub(crate) fn server(message: impl Into<String>) -> Self {
        Self::Server {
            message: message.into(),
            oauth: None,
        }
    }

    /// `usage`, `server` (or `reported`): the `kind` of the JSON error document.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::Server { .. } => "server",
            Self::Reported(_) => "reported",
        }
    }

    /// The one-line message.
    pub(crate) fn message(&self) -> &str {
        match self {
            Self::Usage(message) | Self::Server { message, .. } => message,
            Self::Reported(_) => "",
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::Server { .. } => 1,
            Self::Reported(code) => *code,
        }
    }

    /// Prints the failure on stderr (or as JSON on stdout with `--json`).
    pub(crate) fn report(&self, json: bool) {
        let (kind, message, oauth) = match self {
            Self::Usage(message) => ("usage", message, None),
            Self::Server { message, oauth } => ("server", message, oauth.as_ref()),
            Self::Reported(_) => return,
        };
        // A server may echo what it was sent: no secret this run read is ever printed.
        let message = &messages::redact(message);
        let redacted = oauth.map(|fields| OAuthFields {
            status: fields.status,
            error: messages::redact(&fields.error),
            description: fields.description.as_deref().map(messages::redact),
            uri: fields.uri.as_deref().map(messages::redact),
        });
        let oauth = redacted.as_ref();
        if json {
            let mut object = json!({"ok": false, "kind": kind, "error": message});
            if let Some(fields) = oauth {
                object["oauth"] = json!({
                    "status": fields.status,
                    "error": fields.error,
                    "error_description": fields.description,
                    "error_uri": fields.uri,
                });
            }
            outln!("{}", json_text(&object, false));
            return;
        }
        errln!("error: {}", esc(message));
        if let Some(fields) = oauth {
            if let Some(status) = fields.status {
                errln!("  status: {status}");
            }
            errln!("  error: {}", esc(&fields.error));
            if let Some(description) = &fields.description {
                errln!("  error_description: {}", esc(description));
            }
            if let Some(uri) = &fields.uri {
                errln!("  error_uri: {}", esc(uri));
            }
        }
    }
}

/// An error and its causes on one line (`what failed: why: why`, safe for a terminal).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    smart_core::error_line(error)
}

fn oauth_fields(error: &OAuthError) -> Option<OAuthFields> {
    error.error().map(|code| OAuthFields {
        status: Some(error.status()),
        error: code.to_string(),
        description: error.error_description().map(str::to_owned),
        uri: error.error_uri().map(str::to_owned),
    })
}

impl Failure {
    /// The failure of a library call; `bearer_used` says whether the call carried a Bearer
    /// token of the user's (for the introspection hint).
    pub(crate) fn from_client(error: &ClientError, bearer_used: bool) -> Self {
        let message = messages::client(error).unwrap_or_else(|| error_chain(error));
        match error {
            ClientError::Config(_) => Self::Usage(message),
            ClientError::Token(TokenError::OAuth(oauth)) | ClientError::Registration(oauth) => {
                let fields = oauth_fields(oauth);
                // The description is printed once, on its own line (or in `oauth`).
                let mut message = if fields.is_some() {
                    oauth.summary()
                } else {
                    message
                };
                if let Some(hint) = messages::oauth_hint(oauth, bearer_used) {
                    message.push_str("; ");
                    message.push_str(hint);
                }
                Self::Server {
                    oauth: fields,
                    message,
                }
            }
            ClientError::Authorization {
                error,
                description,
                uri,
            } => Self::Server {
                oauth: Some(OAuthFields {
                    status: None,
                    error: error.to_string(),
                    description: description.clone(),
                    uri: uri.clone(),
                }),
                message,
            },
            _ => Self::server(message),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        Self::from_client(&error, false)
    }
}

impl From<smart_client::ConfigError> for Failure {
    fn from(error: smart_client::ConfigError) -> Self {
        Self::Usage(messages::config(&error).unwrap_or_else(|| error_chain(&error)))
    }
}

impl From<smart_client::jwt::Error> for Failure {
    fn from(error: smart_client::jwt::Error) -> Self {
        Self::Usage(error_chain(&error))
    }
}
