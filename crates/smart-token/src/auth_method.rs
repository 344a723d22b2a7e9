//! The names of the token-endpoint authentication methods.

use core::fmt;

/// The token-endpoint authentication method, as named in `token_endpoint_auth_methods_supported`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// A public client: `client_id` in the body, no authentication.
    None,
    /// `client_secret_basic`: HTTP Basic with the client id and secret.
    ClientSecretBasic,
    /// `client_secret_post`: the client id and secret in the body.
    ClientSecretPost,
    /// `private_key_jwt`: a signed assertion (RFC 7523).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The name used in discovery metadata and registration.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
