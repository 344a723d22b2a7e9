//! Pending authorizations: one-time take, maximum age.

use std::sync::Arc;
use std::time::Duration;

use smart_client::AuthorizeOptions;
use smart_client::core::{Clock, FixedClock};
use smart_sandbox::SandboxConfig;
use smart_session::{MemoryStore, PendingError, PendingStore};

use crate::{MockClock, public_client, sandbox};

#[test]
fn a_callback_is_taken_once_and_only_while_young() {
    let clock = MockClock::new();
    let sandbox = sandbox(Some(Arc::clone(&clock)), SandboxConfig::new());
    let client = public_client(&sandbox, Some(Arc::clone(&clock)));
    let store =
        PendingStore::new(Arc::new(MemoryStore::new())).clock(Arc::clone(&clock) as Arc<dyn Clock>);

    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let state = request.pending().state().expose_secret().to_owned();
    store.put_blocking(request.pending()).unwrap();
    assert!(matches!(
        store.put_blocking(request.pending()),
        Err(PendingError::Duplicate)
    ));
    let pending = store.take_blocking(&state).unwrap();
    assert_eq!(pending.state().expose_secret(), state);
    assert!(matches!(
        store.take_blocking(&state),
        Err(PendingError::Replayed)
    ));
    assert!(matches!(
        store.take_blocking("forged"),
        Err(PendingError::Unknown)
    ));

    // Stale: taken 11 minutes after it was issued (the entry is consumed all the same).
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let state = request.pending().state().expose_secret().to_owned();
    store.put_blocking(request.pending()).unwrap();
    let late = PendingStore::new(Arc::new(MemoryStore::new()));
    let _ = late;
    let stale_store = store.clock(Arc::new(FixedClock::new(
        clock.now() + Duration::from_secs(11 * 60),
    )));
    let error = stale_store.take_blocking(&state).unwrap_err();
    assert!(
        matches!(error, PendingError::Stale { max_age, .. } if max_age == Duration::from_secs(600)),
        "{error}"
    );
    assert!(matches!(
        stale_store.take_blocking(&state),
        Err(PendingError::Replayed)
    ));
}

#[tokio::test]
async fn the_async_take_is_one_time_too() {
    let sandbox = sandbox(None, SandboxConfig::new());
    let client = public_client(&sandbox, None);
    let store = PendingStore::new(Arc::new(MemoryStore::new()));
    let request = client.authorize(AuthorizeOptions::new()).unwrap();
    let state = request.pending().state().expose_secret().to_owned();
    store.put(request.pending()).await.unwrap();
    let (first, second) = tokio::join!(store.take(&state), store.take(&state));
    assert!(first.is_ok() != second.is_ok(), "exactly one callback wins");
}
