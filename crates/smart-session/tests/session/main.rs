//! smart-session against the embedded sandbox over real HTTP on loopback: single-flight
//! refreshes for threads and tasks over many token lifetimes of a clock shared with the
//! server, the Backend Services cache, stores (CAS, fencing, leases), pending
//! authorizations, and (feature `redis`) a real redis-server shared by several processes.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "test helpers outside #[test] functions: a failing unwrap or panic is a failing test"
)]

mod backend;
mod fhir;
mod pending;
#[cfg(feature = "redis")]
mod redis;
mod sessions;
mod stores;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smart_client::core::Clock;
use smart_client::token::TokenResponse;
use smart_client::{
    AsyncSmartClient, AuthorizeOptions, ClientConfig, ClientType, HttpOptions, ReqwestClient,
    SmartClient,
};
use smart_sandbox::{Sandbox, SandboxConfig, demo};

/// A clock that tests move by hand, shared by the sandbox, the client and the session.
#[derive(Debug)]
pub(crate) struct MockClock(AtomicU64);

impl MockClock {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(1_800_000_000_000)))
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.0
            .fetch_add(u64::try_from(by.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// A sandbox on `clock` (or the system clock) with these access-token lifetimes.
pub(crate) fn sandbox(clock: Option<Arc<MockClock>>, config: SandboxConfig) -> Sandbox {
    let config = match clock {
        Some(clock) => config.clock(clock),
        None => config,
    };
    Sandbox::start_with(config).unwrap()
}

/// smart-client as the sandbox's public demo client.
pub(crate) fn public_client(sandbox: &Sandbox, clock: Option<Arc<MockClock>>) -> SmartClient {
    client_from(sandbox.base_url(), clock)
}

pub(crate) fn client_from(base_url: &str, clock: Option<Arc<MockClock>>) -> SmartClient {
    let config = ClientConfig::builder(base_url)
        .client_id(demo::PUBLIC_CLIENT_ID)
        .redirect_uri(demo::REDIRECT_URI)
        .scopes("launch/patient openid fhirUser offline_access patient/*.rs")
        .allow_insecure_localhost(true)
        .http_options(HttpOptions::new().timeout(Duration::from_secs(10)))
        .build()
        .unwrap();
    let client = SmartClient::new(config, ClientType::Public).unwrap();
    match clock {
        Some(clock) => client.with_clock(clock),
        None => client,
    }
}

/// smart-client as the sandbox's backend demo client.
pub(crate) fn backend_client(sandbox: &Sandbox, clock: Arc<MockClock>) -> SmartClient {
    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(demo::BACKEND_CLIENT_ID)
        .private_key(demo::backend_key())
        .kid(demo::backend_kid())
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    SmartClient::new(config, ClientType::ConfidentialAsymmetric)
        .unwrap()
        .with_clock(clock)
}

/// A standalone launch: authorize, play the browser, exchange the code.
pub(crate) fn launch(client: &SmartClient, scopes: Option<&str>) -> TokenResponse {
    let mut options = AuthorizeOptions::new();
    if let Some(scopes) = scopes {
        options = options.scopes(scopes).unwrap();
    }
    let request = client.authorize(options).unwrap();
    let callback = test_support::browser::browse(&request).unwrap();
    client
        .complete_authorization(&callback, request.pending())
        .unwrap()
}

/// The async shell over the same flows (and clock) as `client`: reqwest, as apps run it.
pub(crate) fn asynchronous(client: &SmartClient) -> Arc<AsyncSmartClient> {
    let http = ReqwestClient::new(&HttpOptions::new().timeout(Duration::from_secs(10))).unwrap();
    Arc::new(AsyncSmartClient::from_flows(client.flows().clone(), http))
}

/// Every log line of this test binary, to check the events and that no token leaks.
pub(crate) fn logs() -> &'static Mutex<Vec<String>> {
    static LOGS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    static LOGGER: Capture = Capture;
    LOGS.get_or_init(|| {
        let _ = log::set_logger(&LOGGER);
        log::set_max_level(log::LevelFilter::Debug);
        Mutex::new(Vec::new())
    })
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("smart")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            logs()
                .lock()
                .unwrap()
                .push(format!("{} {}", record.target(), record.args()));
        }
    }

    fn flush(&self) {}
}

/// Asserts that no log line holds `secret`.
pub(crate) fn assert_not_logged(secret: &str) {
    let logs = logs().lock().unwrap();
    assert!(
        logs.iter().all(|line| !line.contains(secret)),
        "a token was logged"
    );
}
