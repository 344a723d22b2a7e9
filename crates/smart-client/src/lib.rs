#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "async")]
mod asynchronous;
mod authorize;
mod blocking;
mod config;
mod error;
#[cfg(feature = "openid")]
mod fhir_user;
mod flow;
#[cfg(feature = "openid")]
mod id_token;
mod protocol;
pub mod registry;
#[cfg(feature = "reqwest")]
mod reqwest_client;
mod shell;
mod transport;
#[cfg(feature = "ureq")]
mod ureq_client;

#[cfg(feature = "async")]
pub use asynchronous::{AsyncHttpClient, AsyncSmartClient, HttpFuture};
pub use authorize::{
    AuthorizationRequest, AuthorizeMethod, AuthorizeOptions, Callback, PendingAuthorization,
};
pub use blocking::SmartClient;
pub use config::{ClientConfig, ClientConfigBuilder, ConfigError, SecretMethod};
pub use error::{ClientError, issuer_difference};
#[cfg(feature = "openid")]
pub use fhir_user::{FhirUser, FhirUserError, FhirUserType};
pub use flow::{Flow, Step};
#[cfg(feature = "openid")]
pub use id_token::{IdTokenClaims, IdTokenProblem};
pub use protocol::{ClientType, IntrospectWith, SmartFlows, read_fhir_json};
#[cfg(feature = "reqwest")]
pub use reqwest_client::ReqwestClient;
pub use smart_token::Registration;
pub use transport::{
    HttpClient, HttpOptions, TransportError, TransportErrorKind, USER_AGENT, reveals_wire_data,
};
#[cfg(feature = "ureq")]
pub use ureq_client::UreqClient;

/// The crates this one is built on, re-exported so that callers name the same versions.
pub use {
    smart_core as core, smart_discovery as discovery, smart_pkce as pkce, smart_token as token,
};

#[cfg(feature = "reqwest")]
pub use reqwest;
#[cfg(any(feature = "private-key-jwt", feature = "openid"))]
pub use smart_jwt_assertion as jwt;
#[cfg(feature = "ureq")]
pub use ureq;
