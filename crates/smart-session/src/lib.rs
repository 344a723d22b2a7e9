#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod async_session;
mod backend;
mod config;
mod error;
mod events;
mod fhir;
mod lifecycle;
mod pending;
mod record;
mod refresher;
mod session;
mod shared;
mod source;
pub mod store;

pub use async_session::AsyncSession;
pub use backend::{AsyncBackendTokenCache, BackendTokenCache};
pub use config::SessionConfig;
pub use error::{PendingError, SessionError, StoreError};
pub use fhir::{AsyncBundlePages, BundlePages, DEFAULT_MAX_PAGES};
pub use pending::PendingStore;
pub use record::ExpiryDeviation;
pub use session::Session;
pub use source::{AsyncFhirSource, AsyncTokenSource, FhirSource, TokenSource};
#[cfg(feature = "redis")]
pub use store::RedisStore;
pub use store::{BlockingStore, MemoryStore, TokenStore};
