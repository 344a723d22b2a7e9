//! The store contract (run on the memory store here, on a real Redis in `redis.rs`):
//! compare-and-swap on versions, leases, and a stale lease holder's write refused.

use std::time::Duration;

use smart_session::MemoryStore;
use smart_session::store::{CasOutcome, TokenStore};

/// Checks `store` keeps the contract of [`TokenStore`].
pub(crate) async fn contract(store: &dyn TokenStore, key: &str) {
    assert!(store.load(key).await.unwrap().is_none());
    let CasOutcome::Swapped { version: v1 } = store
        .compare_and_swap(key, None, b"one", None, None)
        .await
        .unwrap()
    else {
        panic!("a first write goes in")
    };
    // Create-only again: conflict, naming the stored version.
    assert_eq!(
        store
            .compare_and_swap(key, None, b"two", None, None)
            .await
            .unwrap(),
        CasOutcome::Conflict { current: Some(v1) }
    );
    let CasOutcome::Swapped { version: v2 } = store
        .compare_and_swap(key, Some(v1), b"two", None, None)
        .await
        .unwrap()
    else {
        panic!("a write on the version read goes in")
    };
    assert_ne!(v1, v2);
    // A writer still on the old version loses.
    assert_eq!(
        store
            .compare_and_swap(key, Some(v1), b"three", None, None)
            .await
            .unwrap(),
        CasOutcome::Conflict { current: Some(v2) }
    );
    let loaded = store.load(key).await.unwrap().unwrap();
    assert_eq!(
        (loaded.value.expose_secret().as_slice(), loaded.version),
        (&b"two"[..], v2)
    );
    assert!(!format!("{loaded:?}").contains("two"));

    // Leases: one holder at a time; an expired lease is granted again with a higher fence,
    // and the stale holder's write is refused even on the right version.
    let ttl = Duration::from_millis(300);
    let first = store.acquire_lease(key, ttl).await.unwrap().unwrap();
    assert!(store.acquire_lease(key, ttl).await.unwrap().is_none());
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let second = store.acquire_lease(key, ttl).await.unwrap().unwrap();
    assert!(second.fence > first.fence);
    assert_eq!(
        store
            .compare_and_swap(key, Some(v2), b"stale", Some(first.fence), None)
            .await
            .unwrap(),
        CasOutcome::Fenced
    );
    assert!(
        !store.release_lease(&first).await.unwrap(),
        "no longer held"
    );
    let CasOutcome::Swapped { version: v3 } = store
        .compare_and_swap(key, Some(v2), b"fresh", Some(second.fence), None)
        .await
        .unwrap()
    else {
        panic!("the current holder writes")
    };
    assert!(store.release_lease(&second).await.unwrap());
    assert!(
        store.acquire_lease(key, ttl).await.unwrap().is_some(),
        "released"
    );

    // Delete on a version, then unconditionally; a value written again gets a new version.
    assert!(!store.delete(key, Some(v2)).await.unwrap());
    assert!(store.delete(key, Some(v3)).await.unwrap());
    assert!(store.load(key).await.unwrap().is_none());
    let CasOutcome::Swapped { version: v4 } = store
        .compare_and_swap(key, None, b"again", None, Some(Duration::from_millis(200)))
        .await
        .unwrap()
    else {
        panic!("written again")
    };
    assert!(v4 > v3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(store.load(key).await.unwrap().is_none(), "expired");
    assert!(!store.delete(key, None).await.unwrap());
}

#[tokio::test]
async fn the_memory_store_keeps_the_contract() {
    contract(&MemoryStore::new(), "user-1").await;
}
