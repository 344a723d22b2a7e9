#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod error;
mod introspection;
mod request;
mod response;
pub mod scope;
mod secrets;

#[cfg(feature = "private-key-jwt")]
pub use auth::AssertionSource;
pub use auth::{AuthMethod, ClientAuth};
pub use error::{ErrorCode, OAuthError, Operation, TokenError};
pub use introspection::{IntrospectionResponse, revocation_response};
pub use request::{
    DEFAULT_BACKEND_SCOPE, IntrospectionAuth, TokenRef, TokenRequest, bearer_header,
    introspection_request, revocation_request,
};
pub use response::{
    Deviation, FhirContextItem, Finding, Flow, LaunchContext, TokenResponse, ValidationReport,
};
pub use secrets::{AccessToken, AuthorizationCode, ClientSecret, IdToken, RefreshToken};
#[cfg(feature = "private-key-jwt")]
pub use smart_jwt_assertion::CLIENT_ASSERTION_TYPE;
