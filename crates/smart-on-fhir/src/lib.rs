// The README's quickstarts are whole programs, printed without hidden `#[cfg]` lines, so
// rustdoc tests them only in a build that has every feature they use (`cargo test --doc` with
// `--all-features`, or `--features backend-services,ureq`).
#![cfg_attr(
    any(not(doctest), all(feature = "backend-services", feature = "ureq")),
    doc = include_str!("../README.md")
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use smart_core as core;

/// The workspace README's quickstart, compiled as a doctest (it is not part of the crate).
#[cfg(all(doctest, feature = "client-public", feature = "ureq"))]
#[doc = include_str!("../../../README.md")]
mod workspace_readme {}

#[cfg(feature = "client-public")]
#[cfg_attr(docsrs, doc(cfg(feature = "client-public")))]
pub use smart_client as client;
#[cfg(feature = "client-public")]
#[cfg_attr(docsrs, doc(cfg(feature = "client-public")))]
pub use smart_discovery as discovery;
#[cfg(feature = "client-confidential-asymmetric")]
#[cfg_attr(docsrs, doc(cfg(feature = "client-confidential-asymmetric")))]
pub use smart_jwt_assertion as jwt;
#[cfg(feature = "client-public")]
#[cfg_attr(docsrs, doc(cfg(feature = "client-public")))]
pub use smart_pkce as pkce;
#[cfg(feature = "session")]
#[cfg_attr(docsrs, doc(cfg(feature = "session")))]
pub use smart_session as session;
#[cfg(feature = "client-public")]
#[cfg_attr(docsrs, doc(cfg(feature = "client-public")))]
pub use smart_token as token;

#[cfg(feature = "client-public")]
#[cfg_attr(docsrs, doc(cfg(feature = "client-public")))]
pub use smart_client::{
    AuthorizeMethod, AuthorizeOptions, Callback, ClientConfig, ClientError, ClientType, Flow,
    PendingAuthorization, SmartClient, SmartFlows, Step,
};

#[cfg(all(feature = "client-public", feature = "async"))]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub use smart_client::AsyncSmartClient;
