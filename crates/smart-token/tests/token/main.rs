//! Integration tests of smart-token: the exact requests for every client type and grant, and
//! responses in real servers' shapes.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: a failing unwrap is a failing test"
)]

mod properties;
// The request tests sign assertions, so they need `private_key_jwt`.
#[cfg(feature = "private-key-jwt")]
mod redaction;
#[cfg(feature = "private-key-jwt")]
mod requests;
mod responses;
