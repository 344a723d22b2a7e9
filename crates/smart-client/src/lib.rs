#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authorize;
mod client;
mod config;
mod error;
#[cfg(feature = "openid")]
mod id_token;
mod registration;
mod transport;

pub use authorize::{
    AuthorizationRequest, AuthorizeMethod, AuthorizeOptions, PendingAuthorization,
};
pub use client::{ClientType, IntrospectWith, SmartClient};
pub use config::{ClientConfig, ClientConfigBuilder, ConfigError, SecretMethod};
pub use error::ClientError;
#[cfg(feature = "openid")]
pub use id_token::{IdTokenClaims, IdTokenProblem};
pub use registration::Registration;
#[cfg(feature = "ureq")]
pub use transport::UreqClient;
pub use transport::{
    HttpClient, HttpOptions, TransportError, TransportErrorKind, USER_AGENT, reveals_wire_data,
};

/// The crates this one is built on, re-exported so that callers name the same versions.
pub use {
    smart_core as core, smart_discovery as discovery, smart_pkce as pkce, smart_token as token,
};

#[cfg(any(feature = "private-key-jwt", feature = "openid"))]
pub use smart_jwt_assertion as jwt;
#[cfg(feature = "ureq")]
pub use ureq;
