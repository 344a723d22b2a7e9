#![doc = include_str!("../README.md")]

mod authorize;
mod client_auth;
mod config;
mod context;
mod cors;
pub mod demo;
mod error;
mod fhir;
mod fhir_data;
mod http_util;
mod launcher;
mod login;
mod metadata;
mod registration;
mod sandbox_config;
mod server;
mod store;
mod token;
mod udap;
mod udap_state;

mod token_policy;

pub use config::{ClientKeys, ClientKind, GrantType, RegisteredClient};
pub use context::LaunchContext;
pub use error::{ClientMetadataError, SandboxError};
pub use sandbox_config::{MAX_CLIENTS_FILE, SandboxConfig};
pub use server::Sandbox;
pub use udap::SANDBOX_COMMUNITY;
pub use udap_state::UdapMode;

pub use token_policy::TokenRequestCounts;

/// The largest request body the sandbox reads (64 KiB); a larger one is refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The largest request head (request line and headers) the sandbox reads (16 KiB); a larger
/// one is refused with 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
