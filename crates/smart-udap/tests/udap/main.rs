//! smart-udap's integration tests, against a PKI made at test time: every gate of discovery,
//! `signed_metadata` and the chain has a negative case; registration and client assertions are
//! decoded and verified.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::unused_self,
    reason = "test helpers outside #[test] functions: a failing unwrap is a failing test"
)]

mod client;
mod discovery;
mod fixture;
mod registration;
mod server_side;
