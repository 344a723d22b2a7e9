// The README's quickstart uses the `url` feature; rustdoc tests it in builds that have it.
#![cfg_attr(any(not(doctest), feature = "url"), doc = include_str!("../README.md"))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "url")]
mod client_id;
mod clock;
#[cfg(feature = "url")]
#[cfg_attr(docsrs, doc(cfg(feature = "url")))]
pub mod form;
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub mod json;
mod random;
#[cfg(feature = "url")]
mod redact;
mod secret;
#[cfg(feature = "url")]
mod transport;
#[cfg(feature = "url")]
mod url_types;

#[cfg(feature = "url")]
#[cfg_attr(docsrs, doc(cfg(feature = "url")))]
pub use client_id::{ClientId, ClientIdError};
pub use clock::{Clock, FixedClock, SystemClock, unix_seconds};
pub use random::{OsRandom, OsRandomBatch, RandomError, RandomSource};
#[cfg(feature = "url")]
#[cfg_attr(docsrs, doc(cfg(feature = "url")))]
pub use redact::{REDACTED, Redactions};
pub use secret::{Secret, ct_eq};
#[cfg(feature = "url")]
#[cfg_attr(docsrs, doc(cfg(feature = "url")))]
pub use transport::{
    MAX_SERVER_TEXT, TransportPolicy, UrlError, UrlProblem, clean_server_text, display_text,
    display_url, error_line, escape_text, is_unsafe_char,
};
#[cfg(feature = "url")]
#[cfg_attr(docsrs, doc(cfg(feature = "url")))]
pub use url_types::{
    AuthorizeUrl, EndpointUrl, FhirBaseUrl, IssuerUrl, JwksUrl, RedirectUri, TokenUrl, append_path,
};

/// The `url` crate, re-exported so that callers name the same version as the URL newtypes.
#[cfg(feature = "url")]
#[cfg_attr(docsrs, doc(cfg(feature = "url")))]
pub use url;
