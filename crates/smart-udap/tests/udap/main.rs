//! smart-udap's integration tests, against a PKI made at test time.

mod client;
mod discovery;
mod fixture;
mod registration;
