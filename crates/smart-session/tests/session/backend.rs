//! The Backend Services cache: 64 callers, one token request per expiry per scope set.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use smart_client::core::Clock;
use smart_client::token::scope::ScopeSet;
use smart_sandbox::{SandboxConfig, demo};
use smart_session::{AsyncBackendTokenCache, BackendTokenCache, SessionConfig};

use crate::{MockClock, asynchronous, backend_client, sandbox};

/// 30 minutes of 5-minute tokens, in steps of 5 s.
const STEPS: u64 = 30 * 60 / 5;

fn scope_sets() -> [ScopeSet; 2] {
    [
        ScopeSet::parse("system/Patient.rs").unwrap(),
        ScopeSet::parse("system/Observation.rs system/Patient.rs").unwrap(),
    ]
}

fn run(callers: usize) -> u64 {
    let clock = MockClock::new();
    let sandbox = sandbox(
        Some(Arc::clone(&clock)),
        SandboxConfig::new().backend_token_lifetime(300),
    );
    let config = SessionConfig::new()
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .jitter_seed(5)
        .max_jitter(Duration::ZERO);
    let cache = Arc::new(BackendTokenCache::new(
        backend_client(&sandbox, Arc::clone(&clock)),
        config,
    ));
    let barrier = Arc::new(Barrier::new(callers + 1));
    let threads: Vec<_> = (0..callers)
        .map(|n| {
            let (cache, barrier) = (Arc::clone(&cache), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let sets = scope_sets();
                for _ in 0..STEPS {
                    barrier.wait();
                    // Half the callers ask for the sets in the other order.
                    let (a, b) = if n % 2 == 0 { (0, 1) } else { (1, 0) };
                    cache.access_token(Some(&sets[a])).unwrap();
                    cache.access_token(Some(&sets[b])).unwrap();
                    barrier.wait();
                }
            })
        })
        .collect();
    for _ in 0..STEPS {
        barrier.wait();
        barrier.wait();
        clock.advance(Duration::from_secs(5));
    }
    for thread in threads {
        thread.join().unwrap();
    }
    let counts = sandbox.token_requests(demo::BACKEND_CLIENT_ID);
    assert_eq!(counts.refused, 0);
    counts.client_credentials
}

#[test]
fn sixty_four_callers_make_one_request_per_expiry_per_scope_set() {
    // No jitter: a token of 300 s is renewed 60 s before expiry, every 240 s, so 30 minutes
    // need ceil(1800 / 240) = 8 tokens per scope set.
    assert_eq!(run(1), 16);
    assert_eq!(run(64), 16);
}

#[test]
fn async_callers_share_one_request_too() {
    let clock = MockClock::new();
    let sandbox = sandbox(Some(Arc::clone(&clock)), SandboxConfig::new());
    let cache = Arc::new(AsyncBackendTokenCache::new(
        asynchronous(&backend_client(&sandbox, Arc::clone(&clock))),
        SessionConfig::new().clock(Arc::clone(&clock) as Arc<dyn Clock>),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let cache = Arc::clone(&cache);
                tokio::spawn(async move {
                    let sets = scope_sets();
                    cache.access_token(Some(&sets[1])).await.unwrap();
                    cache.access_token(None).await.unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!(
        sandbox
            .token_requests(demo::BACKEND_CLIENT_ID)
            .client_credentials,
        2
    );
}
