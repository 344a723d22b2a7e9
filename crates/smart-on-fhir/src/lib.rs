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

/// A build without `openid` refuses to ask for `openid`, naming the feature (tested by
/// `cargo test -p smart-on-fhir --doc --no-default-features --features client-public`).
///
/// ```rust
/// # #[cfg(all(feature = "client-public", not(feature = "openid")))]
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use smart_on_fhir::client::{ConfigError, SmartFlows};
/// use smart_on_fhir::{AuthorizeOptions, ClientConfig, ClientError, ClientType};
///
/// let config = ClientConfig::builder("https://ehr.example/fhir")
///     .client_id("my-app")
///     .redirect_uri("https://app.example/callback")
///     .scopes("openid fhirUser patient/*.rs")
///     .build()?;
/// let flows = SmartFlows::new(config, ClientType::Public)?;
/// let refused = flows.authorize(AuthorizeOptions::new()).start().unwrap_err();
/// assert!(matches!(refused, ClientError::Config(ConfigError::OpenIdWithoutVerification)));
/// # Ok(())
/// # }
/// # #[cfg(not(all(feature = "client-public", not(feature = "openid"))))]
/// # fn main() {}
/// ```
#[cfg(all(doctest, feature = "client-public", not(feature = "openid")))]
mod openid_needs_its_feature {}

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
