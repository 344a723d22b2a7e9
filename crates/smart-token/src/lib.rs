#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod auth_method;
mod error;
mod introspection;
mod registration;
mod request;
mod response;
pub mod scope;
mod secrets;
mod stored;

#[cfg(feature = "private-key-jwt")]
pub use auth::AssertionSource;
pub use auth::ClientAuth;
pub use auth_method::AuthMethod;
pub use error::{ErrorCode, MAX_BODY_EXCERPT, OAuthError, Operation, TokenError};
pub use introspection::{
    IntrospectionResponse, revocation_response, revocation_response_redacting,
};
pub use registration::{Registration, RegistrationError, RegistrationRequest};
pub use request::{
    DEFAULT_BACKEND_SCOPE, IntrospectionAuth, TokenRef, TokenRequest, bearer_header,
    introspection_request, request_redactions, revocation_request,
};
pub use response::{
    Deviation, FhirContextItem, Finding, Flow, LaunchContext, TokenResponse, ValidationReport,
};
pub use secrets::{AccessToken, AuthorizationCode, ClientSecret, IdToken, RefreshToken};
/// The secrets of one request, re-exported from `smart-core` (see [`request_redactions`]).
pub use smart_core::Redactions;
#[cfg(feature = "private-key-jwt")]
pub use smart_jwt_assertion::CLIENT_ASSERTION_TYPE;
pub use stored::StoredTokenResponse;
