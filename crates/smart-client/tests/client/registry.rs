//! The issuer registry's per-issuer caches: a client and its discovery are kept for the TTL,
//! then built afresh.

use std::time::Duration;

use smart_client::ClientType;
use smart_client::registry::{EhrSettings, IssuerRegistry};

use crate::{CLIENT_ID, Ehr};

fn one_ehr(ehr: &Ehr, ttl: Duration) -> IssuerRegistry {
    IssuerRegistry::new(vec![
        EhrSettings::new("ehr", ehr.base(), CLIENT_ID, ClientType::Public)
            .allow_insecure_localhost(true),
    ])
    .unwrap()
    .ttl(ttl)
}

#[test]
fn discovery_is_kept_for_the_ttl_per_issuer() {
    let mut ehr = Ehr::new();
    let once = ehr.serve_discovery(1);
    let registry = one_ehr(&ehr, Duration::from_secs(3600));
    for _ in 0..3 {
        let client = registry.client_for(&ehr.base()).unwrap();
        assert_eq!(client.token_endpoint().unwrap().as_str(), ehr.token_url());
    }
    once.assert();

    let mut ehr = Ehr::new();
    let every_time = ehr.serve_discovery(3);
    let fresh = one_ehr(&ehr, Duration::ZERO);
    for _ in 0..3 {
        let client = fresh.client_for(&ehr.base()).unwrap();
        client.token_endpoint().unwrap();
    }
    every_time.assert();
}

#[test]
fn both_shells_share_one_issuer_cache() {
    let mut ehr = Ehr::new();
    let once = ehr.serve_discovery(1);
    let registry = one_ehr(&ehr, Duration::from_secs(3600));
    registry
        .client_for(&ehr.base())
        .unwrap()
        .token_endpoint()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let asynchronous = registry.async_client_for(&ehr.base()).unwrap();
    runtime.block_on(asynchronous.token_endpoint()).unwrap();
    once.assert();
}

#[test]
fn entries_added_at_run_time_are_checked_and_removed_with_their_clients() {
    let mut ehr = Ehr::new();
    let twice = ehr.serve_discovery(2);
    let mut registry = one_ehr(&ehr, Duration::from_secs(3600));
    let again = EhrSettings::new("other-name", ehr.base(), CLIENT_ID, ClientType::Public);
    assert!(matches!(
        registry.insert(again),
        Err(smart_client::registry::RegistryError::Duplicate { .. })
    ));
    registry
        .client_for(&ehr.base())
        .unwrap()
        .token_endpoint()
        .unwrap();
    let removed = registry.remove(&ehr.base()).unwrap();
    assert!(registry.client_for(&ehr.base()).is_err());
    assert!(registry.remove(&ehr.base()).is_none());
    // Put back, it is a fresh client: discovery runs again.
    registry.insert(removed).unwrap();
    registry
        .client_for(&ehr.base())
        .unwrap()
        .token_endpoint()
        .unwrap();
    twice.assert();
}
