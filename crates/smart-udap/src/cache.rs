//! A cache of verified UDAP metadata, keyed by base URL, community and trust policy, that
//! verifies the cached `signed_metadata` again on every hit.

use std::sync::{Mutex, PoisonError};

use smart_core::{Clock, FhirBaseUrl};

use crate::chain::TrustPolicy;
use crate::community::Community;
use crate::discovery::VerifiedUdapMetadata;

/// Entries kept at most; the oldest goes first.
pub const MAX_ENTRIES: usize = 64;

type Key = (String, Option<String>, [u8; 32]);

/// Verified UDAP metadata by base URL, community and [`TrustPolicy::fingerprint`], so a
/// lenient policy's result is never served to a strict call.
///
/// A hit verifies the cached `signed_metadata` again with the current policy and clock
/// (expiry, chain, revocation); if that fails, the entry is dropped and the caller fetches
/// anew.
#[derive(Debug, Default)]
pub struct MetadataCache {
    entries: Mutex<Vec<(Key, VerifiedUdapMetadata)>>,
}

impl MetadataCache {
    /// An empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn key(base: &FhirBaseUrl, community: Option<&Community>, policy: &TrustPolicy) -> Key {
        (
            base.as_str().to_owned(),
            community.map(|c| c.as_str().to_owned()),
            policy.fingerprint(),
        )
    }

    /// The cached metadata, verified again; `None` on a miss or when it no longer verifies.
    pub fn get(
        &self,
        base: &FhirBaseUrl,
        community: Option<&Community>,
        policy: &TrustPolicy,
        clock: &dyn Clock,
    ) -> Option<VerifiedUdapMetadata> {
        let key = Self::key(base, community, policy);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let index = entries.iter().position(|(k, _)| *k == key)?;
        if let Ok(fresh) = entries[index].1.reverify(policy, clock) {
            Some(fresh)
        } else {
            log::info!("[UDAP] cached metadata no longer verifies; dropping it");
            entries.remove(index);
            None
        }
    }

    /// Stores `metadata` (verified under `policy`).
    pub fn insert(&self, policy: &TrustPolicy, metadata: &VerifiedUdapMetadata) {
        let key = Self::key(metadata.base(), metadata.community(), policy);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|(k, _)| *k != key);
        if entries.len() >= MAX_ENTRIES {
            entries.remove(0);
        }
        entries.push((key, metadata.clone()));
    }

    /// The number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the cache is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}
