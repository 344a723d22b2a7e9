#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client_id;
mod clock;
pub mod form;
pub mod json;
mod random;
mod redact;
mod secret;
mod transport;
mod url_types;

pub use client_id::{ClientId, ClientIdError};
pub use clock::{Clock, FixedClock, SystemClock, unix_seconds};
pub use random::{OsRandom, RandomError, RandomSource};
pub use redact::{REDACTED, Redactions};
pub use secret::{Secret, ct_eq};
pub use transport::{
    MAX_SERVER_TEXT, TransportPolicy, UrlProblem, clean_server_text, display_text, display_url,
    escape_text, is_unsafe_char,
};
pub use url_types::{
    AuthorizeUrl, EndpointUrl, FhirBaseUrl, IssuerUrl, JwksUrl, RedirectUri, TokenUrl, UrlError,
    append_path,
};

/// The `url` crate, re-exported so that callers name the same version as the URL newtypes.
pub use url;
