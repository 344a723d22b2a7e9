//! User sessions: single-flight over many token lifetimes, rotation, narrowing, fallbacks.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use smart_client::core::Clock;
use smart_client::token::TokenRef;
use smart_client::token::scope::ScopeSet;
use smart_sandbox::{SandboxConfig, demo};
use smart_session::{AsyncSession, MemoryStore, Session, SessionConfig, SessionError};

use crate::{MockClock, assert_not_logged, asynchronous, launch, logs, public_client, sandbox};

/// 2 hours of 5-minute tokens, in steps of 5 s of the shared clock.
const SPAN: Duration = Duration::from_secs(2 * 3600);
const STEP: Duration = Duration::from_secs(5);
const CALLERS: usize = 64;

fn config(clock: &Arc<MockClock>) -> SessionConfig {
    SessionConfig::new()
        .clock(Arc::clone(clock) as Arc<dyn Clock>)
        .jitter_seed(16)
}

/// Runs `callers` threads over the span; each asks for the token at every step. Returns the
/// refreshes the sandbox saw.
fn run_threads(callers: usize) -> (u64, u64) {
    let clock = MockClock::new();
    let sandbox = sandbox(
        Some(Arc::clone(&clock)),
        SandboxConfig::new().access_token_lifetime(300),
    );
    let client = public_client(&sandbox, Some(Arc::clone(&clock)));
    let token = launch(&client, None);
    let first = token.access_token().expose_secret().to_owned();
    let session = Arc::new(Session::new(client, token, config(&clock)));
    let barrier = Arc::new(Barrier::new(callers + 1));
    let steps = SPAN.as_secs() / STEP.as_secs();
    let threads: Vec<_> = (0..callers)
        .map(|_| {
            let (session, barrier, clock) = (
                Arc::clone(&session),
                Arc::clone(&barrier),
                Arc::clone(&clock),
            );
            std::thread::spawn(move || {
                for _ in 0..steps {
                    barrier.wait();
                    session.access_token().unwrap();
                    // Never an expired token.
                    assert!(session.expires_at().unwrap() > clock.now());
                    barrier.wait();
                }
            })
        })
        .collect();
    for _ in 0..steps {
        barrier.wait();
        barrier.wait();
        clock.advance(STEP);
    }
    for thread in threads {
        thread.join().unwrap();
    }
    assert_not_logged(&first);
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    (counts.refresh_token, counts.invalid_grant)
}

#[test]
fn sixty_four_threads_refresh_exactly_as_often_as_one() {
    let _ = logs();
    let (alone, alone_invalid) = run_threads(1);
    let (together, invalid) = run_threads(CALLERS);
    eprintln!("threads: one caller {alone} refreshes, {CALLERS} callers {together}");
    // One refresh per token lifetime less the buffer (240-270 s of 300 s).
    assert!((26..=31).contains(&alone), "one caller: {alone} refreshes");
    assert_eq!(
        together, alone,
        "64 threads made {together} refreshes, one made {alone}"
    );
    assert_eq!((alone_invalid, invalid), (0, 0));
    let logs = logs().lock().unwrap();
    assert!(logs.iter().any(|line| line.contains("refresh started")));
    assert!(logs.iter().any(|line| line.contains("refresh done in")));
}

fn run_tasks(callers: usize) -> (u64, u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let clock = MockClock::new();
    let sandbox = sandbox(
        Some(Arc::clone(&clock)),
        SandboxConfig::new().access_token_lifetime(300),
    );
    let client = public_client(&sandbox, Some(Arc::clone(&clock)));
    let token = launch(&client, None);
    let session = Arc::new(AsyncSession::new(
        asynchronous(&client),
        token,
        config(&clock),
    ));
    let steps = SPAN.as_secs() / STEP.as_secs();
    runtime.block_on(async {
        let barrier = Arc::new(tokio::sync::Barrier::new(callers + 1));
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let (session, barrier, clock) = (
                    Arc::clone(&session),
                    Arc::clone(&barrier),
                    Arc::clone(&clock),
                );
                tokio::spawn(async move {
                    for _ in 0..steps {
                        barrier.wait().await;
                        session.access_token().await.unwrap();
                        assert!(session.expires_at().unwrap() > clock.now());
                        barrier.wait().await;
                    }
                })
            })
            .collect();
        for _ in 0..steps {
            barrier.wait().await;
            barrier.wait().await;
            clock.advance(STEP);
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    (counts.refresh_token, counts.invalid_grant)
}

#[test]
fn sixty_four_tasks_refresh_exactly_as_often_as_one() {
    let (alone, alone_invalid) = run_tasks(1);
    let (together, invalid) = run_tasks(CALLERS);
    eprintln!("tasks: one caller {alone} refreshes, {CALLERS} callers {together}");
    assert!((26..=31).contains(&alone), "one task: {alone} refreshes");
    assert_eq!(
        together, alone,
        "64 tasks made {together} refreshes, one made {alone}"
    );
    assert_eq!((alone_invalid, invalid), (0, 0));
}

#[test]
fn without_rotation_the_refresh_token_is_kept_and_a_narrowed_scope_stays_narrowed() {
    let clock = MockClock::new();
    let sandbox = sandbox(
        Some(Arc::clone(&clock)),
        SandboxConfig::new().rotate_refresh_tokens(false),
    );
    let client = public_client(&sandbox, Some(Arc::clone(&clock)));
    let token = launch(&client, None);
    let refresh = token.refresh_token().unwrap().expose_secret().to_owned();
    let session = Session::new(client, token, config(&clock));
    let narrow = ScopeSet::parse("patient/Patient.rs offline_access").unwrap();
    let narrowed = session.narrow_scope(narrow.clone()).unwrap();
    assert_eq!(session.scope(), Some(narrow.clone()));
    let kept = session.token().unwrap();
    assert_eq!(kept.refresh_token().unwrap().expose_secret(), refresh);
    // A 401 on the narrowed token: one more refresh, still narrowed, same refresh token.
    let again = session.force_refresh(&narrowed).unwrap();
    assert_ne!(again.expose_secret(), narrowed.expose_secret());
    assert_eq!(session.scope(), Some(narrow));
    // A second 401 for the old token does not refresh again.
    assert_eq!(
        session.force_refresh(&narrowed).unwrap().expose_secret(),
        again.expose_secret()
    );
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!((counts.refresh_token, counts.refused), (2, 0));
    assert_eq!(
        session
            .token()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        refresh
    );
}

#[test]
fn no_refresh_token_names_offline_access() {
    let clock = MockClock::new();
    let sandbox = sandbox(Some(Arc::clone(&clock)), SandboxConfig::new());
    let client = public_client(&sandbox, Some(Arc::clone(&clock)));
    let token = launch(&client, Some("launch/patient patient/*.rs"));
    assert!(token.refresh_token().is_none());
    let session = Session::new(client, token, config(&clock));
    session.access_token().unwrap();
    clock.advance(Duration::from_secs(3600));
    let error = session.access_token().unwrap_err();
    assert!(matches!(error, SessionError::NoRefreshToken), "{error}");
    let message = error.to_string();
    assert!(message.contains("offline_access") && message.contains("online_access"));
    assert_eq!(
        sandbox.token_requests(demo::PUBLIC_CLIENT_ID).refresh_token,
        0
    );
}

#[test]
fn two_instances_on_one_store_refresh_once_and_a_revoked_grant_ends_the_session() {
    let clock = MockClock::new();
    let sandbox = sandbox(
        Some(Arc::clone(&clock)),
        SandboxConfig::new().access_token_lifetime(300),
    );
    let store = smart_session::BlockingStore::new(Arc::new(MemoryStore::new()));
    let client = Arc::new(public_client(&sandbox, Some(Arc::clone(&clock))));
    let token = launch(&client, None);
    let a = Session::create(
        Arc::clone(&client),
        token,
        store.clone(),
        "user-1",
        config(&clock),
    )
    .unwrap();
    let b = Session::restore(Arc::clone(&client), store.clone(), "user-1", config(&clock)).unwrap();
    clock.advance(Duration::from_secs(280));
    let from_a = a.access_token().unwrap();
    // B still holds the first refresh token; it reads the store under the lease and uses A's.
    let from_b = b.access_token().unwrap();
    assert_eq!(from_a.expose_secret(), from_b.expose_secret());
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!((counts.refresh_token, counts.invalid_grant), (1, 0));

    // The grant is revoked at the server: the next refresh is invalid_grant, no newer token
    // is stored, so the session ends and leaves the store; the other instance learns it
    // from the store without sending the dead refresh token.
    let current = a.token().unwrap();
    client
        .revoke(TokenRef::Refresh(current.refresh_token().unwrap()))
        .unwrap();
    clock.advance(Duration::from_secs(290));
    let error = a.access_token().unwrap_err();
    assert!(
        matches!(error, SessionError::ReauthorizationRequired),
        "{error}"
    );
    assert!(error.requires_reauthorization());
    assert!(store.load("user-1").unwrap().is_none());
    assert!(matches!(b.access_token(), Err(SessionError::Removed)));
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!((counts.refresh_token, counts.invalid_grant), (2, 1));
    // Ended for good.
    assert!(matches!(
        a.access_token(),
        Err(SessionError::ReauthorizationRequired)
    ));
}

#[test]
fn without_expires_in_the_default_lifetime_is_assumed_and_reported() {
    let clock = MockClock::new();
    let sandbox = sandbox(Some(Arc::clone(&clock)), SandboxConfig::new());
    let client = public_client(&sandbox, Some(Arc::clone(&clock)));
    let token = launch(&client, None);
    // Rebuild the answer without expires_in, as some servers send it.
    let mut stored =
        serde_json::to_value(smart_client::token::StoredTokenResponse::from(token)).unwrap();
    stored["response"]
        .as_object_mut()
        .unwrap()
        .remove("expires_in");
    stored.as_object_mut().unwrap().remove("expires_at_ms");
    let token = serde_json::from_value::<smart_client::token::StoredTokenResponse>(stored)
        .unwrap()
        .into_response();
    assert!(token.expires_in().is_none());
    let session = Session::new(
        client,
        token,
        config(&clock).default_lifetime(Duration::from_secs(120)),
    );
    assert_eq!(
        session.expiry_deviation(),
        Some(smart_session::ExpiryDeviation::DefaultLifetime {
            assumed_seconds: 120
        })
    );
    assert_eq!(
        session.expires_at().unwrap(),
        clock.now() + Duration::from_secs(120)
    );
}
