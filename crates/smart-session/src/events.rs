//! The log events of sessions and token caches (target `smart_session`): refresh started,
//! done or failed, time waited for another caller, lease taken, busy or lost. They name the
//! session by a short hash of its key and never carry a token.

use core::fmt::Write as _;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use smart_client::ClientError;

use crate::error::StoreError;
use crate::record::Record;

const TARGET: &str = "smart_session";

/// The label of one session or cache entry in the log.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    label: String,
}

impl Events {
    /// Events of the session stored under `key` (logged as the first 8 hex digits of its
    /// SHA-256: keys may name users).
    pub(crate) fn for_key(kind: &str, key: &str) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest[..4].iter().fold(String::new(), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        });
        Self {
            label: format!("{kind} {hex}"),
        }
    }

    pub(crate) fn refresh_started(&self) {
        log::info!(target: TARGET, "{}: refresh started", self.label);
    }

    pub(crate) fn refresh_done(&self, took: Duration, record: &Record, now: SystemTime) {
        let lifetime = record.expires_at.duration_since(now).unwrap_or_default();
        log::info!(
            target: TARGET,
            "{}: refresh done in {} ms; the new access token expires in {} s",
            self.label,
            took.as_millis(),
            lifetime.as_secs()
        );
    }

    pub(crate) fn refresh_failed(&self, error: &ClientError) {
        log::warn!(target: TARGET, "{}: refresh failed: {error}", self.label);
    }

    pub(crate) fn token_requested(&self) {
        log::info!(target: TARGET, "{}: token request started", self.label);
    }

    pub(crate) fn token_failed(&self, error: &ClientError) {
        log::warn!(target: TARGET, "{}: token request failed: {error}", self.label);
    }

    pub(crate) fn waited(&self, waited: Duration, ok: bool) {
        log::debug!(
            target: TARGET,
            "{}: waited {} ms for another caller's refresh ({})",
            self.label,
            waited.as_millis(),
            if ok { "it succeeded" } else { "it failed" }
        );
    }

    pub(crate) fn lease_taken(&self, fence: u64) {
        log::debug!(target: TARGET, "{}: lease taken (fence {fence})", self.label);
    }

    pub(crate) fn lease_busy(&self) {
        log::debug!(
            target: TARGET,
            "{}: lease held by another instance; reading the store",
            self.label
        );
    }

    pub(crate) fn lease_lost(&self) {
        log::warn!(
            target: TARGET,
            "{}: lease lost before the new tokens were saved (lease_ttl shorter than the refresh?)",
            self.label
        );
    }

    pub(crate) fn adopted(&self, version: Option<u64>) {
        log::info!(
            target: TARGET,
            "{}: using the tokens another instance saved (version {})",
            self.label,
            version.unwrap_or_default()
        );
    }

    pub(crate) fn save_retry(&self, error: &StoreError) {
        log::warn!(
            target: TARGET,
            "{}: saving the new tokens failed, retrying: {error}",
            self.label
        );
    }

    pub(crate) fn store_error(&self, error: &StoreError) {
        log::warn!(target: TARGET, "{}: token store error: {error}", self.label);
    }
}
