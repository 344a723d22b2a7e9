//! smart-session against the embedded sandbox on loopback (issue 16's figures):
//!
//! - **readers**: 64 threads reading the cached access token (`Session::access_token`) at
//!   once, each read timed alone; the p50 and p99 beside the same 64 threads reading a plain
//!   `RwLock<String>` (and cloning the string, as a read hands out an owned token);
//! - **token requests per expiry** for 1, 8 and 64 callers: a clock shared by the sandbox,
//!   the client and the session moves past each token's expiry, then every caller asks for
//!   the token at once; the sandbox counts the refresh requests (`Sandbox::token_requests`).
//!   The figure is the count: one per expiry, whatever the callers (this binary fails if not);
//! - **async FHIR read**: `AsyncSession::read` of the demo patient beside a raw reqwest GET of
//!   the same URL with a fixed bearer token (its body parsed into the same JSON object), both
//!   on a current-thread runtime so that all the client's work is the calling thread's; client
//!   CPU (Linux's `/proc/thread-self/schedstat`) and wall time per read.
//!
//! Not a criterion benchmark: wall and CPU time must describe the same requests. The figures
//! go to the JSON file named by `SMART_BENCH_SESSION_JSON` (set by `cargo xtask bench`, which
//! shows them in docs/benchmarks.md); `SMART_BENCH_QUICK` makes the runs short. Without
//! `--bench` (under `cargo test`) it makes a few requests as a smoke test.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark binary reports on stdout"
)]
#![allow(
    clippy::cast_precision_loss,
    reason = "nanosecond counts far below 2^52 become f64"
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use smart_client::core::Clock;
use smart_client::token::TokenResponse;
use smart_client::{
    AsyncSmartClient, AuthorizeOptions, ClientConfig, ClientType, HttpOptions, ReqwestClient,
    SmartClient,
};
use smart_sandbox::{Sandbox, SandboxConfig, demo};
use smart_session::{AsyncSession, Session, SessionConfig};

const CPU_SOURCE: &str = "/proc/thread-self/schedstat";
const READERS: usize = 64;
const CALLERS: [usize; 3] = [1, 8, 64];

/// How much to measure: full (`--bench`), quick (`SMART_BENCH_QUICK`) or a smoke test.
#[derive(Clone, Copy)]
struct Size {
    reads_per_reader: usize,
    expiries: u64,
    fhir_reads: usize,
    rounds: usize,
}

fn size() -> Size {
    let bench = std::env::args().any(|arg| arg == "--bench");
    if !bench {
        Size {
            reads_per_reader: 10,
            expiries: 2,
            fhir_reads: 3,
            rounds: 1,
        }
    } else if std::env::var_os("SMART_BENCH_QUICK").is_some() {
        Size {
            reads_per_reader: 200,
            expiries: 3,
            fhir_reads: 20,
            rounds: 3,
        }
    } else {
        Size {
            reads_per_reader: 2000,
            expiries: 10,
            fhir_reads: 100,
            rounds: 5,
        }
    }
}

/// A clock moved by hand, shared by the sandbox, the client and the session.
#[derive(Debug)]
struct MockClock(AtomicU64);

impl Clock for MockClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

fn public_client(sandbox: &Sandbox) -> SmartClient {
    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(demo::PUBLIC_CLIENT_ID)
        .redirect_uri(demo::REDIRECT_URI)
        .scopes("launch/patient offline_access patient/*.rs")
        .allow_insecure_localhost(true)
        .http_options(HttpOptions::new().timeout(Duration::from_secs(10)))
        .build()
        .expect("a valid configuration");
    SmartClient::new(config, ClientType::Public).expect("the default transport builds")
}

/// A standalone launch: authorize, play the browser, exchange the code.
fn launch(client: &SmartClient) -> TokenResponse {
    let request = client.authorize(AuthorizeOptions::new()).expect("builds");
    let callback = test_support::browser::browse(&request).expect("the sandbox redirects back");
    client
        .complete_authorization(&callback, request.pending())
        .expect("the code exchange succeeds")
}

fn percentile(sorted: &[u64], per_cent: usize) -> f64 {
    sorted
        .get((sorted.len() * per_cent / 100).min(sorted.len().saturating_sub(1)))
        .map_or(0.0, |ns| *ns as f64)
}

/// `READERS` threads, each timing `reads` calls of `read` one by one; the p50 and p99 (ns).
fn concurrent_reads(reads: usize, read: impl Fn() + Sync) -> (f64, f64) {
    let barrier = Barrier::new(READERS);
    let mut all: Vec<u64> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..READERS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    (0..reads)
                        .map(|_| {
                            let start = Instant::now();
                            read();
                            u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().expect("a reader"))
            .collect()
    });
    all.sort_unstable();
    (percentile(&all, 50), percentile(&all, 99))
}

fn readers(size: Size) -> Value {
    let sandbox = Sandbox::start().expect("the sandbox starts");
    let client = public_client(&sandbox);
    let token = launch(&client);
    let plain = RwLock::new(token.access_token().expose_secret().to_owned());
    let session = Session::new(client, token, SessionConfig::new());
    session.access_token().expect("a cached token");
    let reads = size.reads_per_reader;
    // Alternate the sides, twice each; keep each side's best p50 (the least disturbed run).
    let mut ours = Vec::new();
    let mut reference = Vec::new();
    for _ in 0..2 {
        ours.push(concurrent_reads(reads, || {
            std::hint::black_box(session.access_token().expect("a cached token"));
        }));
        reference.push(concurrent_reads(reads, || {
            std::hint::black_box(plain.read().expect("not poisoned").clone());
        }));
    }
    let best = |runs: &[(f64, f64)]| {
        runs.iter()
            .copied()
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap_or_default()
    };
    let (ours, reference) = (best(&ours), best(&reference));
    json!({
        "threads": READERS,
        "reads_per_thread": reads,
        "ours": {"p50_ns": ours.0, "p99_ns": ours.1},
        "reference": {"p50_ns": reference.0, "p99_ns": reference.1},
    })
}

/// Refresh requests the sandbox saw over `expiries` expiries with `callers` callers.
fn requests_per_expiry(callers: usize, expiries: u64) -> u64 {
    let clock = Arc::new(MockClock(AtomicU64::new(1_800_000_000_000)));
    let sandbox = Sandbox::start_with(
        SandboxConfig::new()
            .access_token_lifetime(300)
            .clock(Arc::clone(&clock) as Arc<dyn Clock>),
    )
    .expect("the sandbox starts");
    let client = public_client(&sandbox).with_clock(Arc::clone(&clock) as Arc<dyn Clock>);
    let token = launch(&client);
    sandbox.reset_token_requests();
    let config = SessionConfig::new()
        .clock(Arc::clone(&clock) as Arc<dyn Clock>)
        .max_jitter(Duration::ZERO);
    let session = Session::new(client, token, config);
    let barrier = Barrier::new(callers + 1);
    std::thread::scope(|scope| {
        for _ in 0..callers {
            scope.spawn(|| {
                for _ in 0..expiries {
                    barrier.wait();
                    session.access_token().expect("a fresh token");
                    barrier.wait();
                }
            });
        }
        for _ in 0..expiries {
            // Past the expiry: every caller needs a new token at once.
            clock.0.fetch_add(301_000, Ordering::SeqCst);
            barrier.wait();
            barrier.wait();
        }
    });
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!(counts.invalid_grant, 0, "no refresh token was used twice");
    counts.refresh_token
}

#[cfg(target_os = "linux")]
fn thread_cpu_ns() -> Option<u64> {
    std::thread::yield_now();
    let text = std::fs::read_to_string(CPU_SOURCE).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    (ns > 0).then_some(ns)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

/// Per-read wall and CPU time (ns) of `n` reads.
fn timed(n: usize, mut read: impl FnMut()) -> (f64, Option<f64>) {
    let cpu = thread_cpu_ns();
    let start = Instant::now();
    for _ in 0..n {
        read();
    }
    let wall = start.elapsed().as_nanos() as f64 / n as f64;
    let cpu = cpu
        .zip(thread_cpu_ns())
        .map(|(start, end)| end.saturating_sub(start) as f64 / n as f64);
    (wall, cpu)
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

fn side(samples: &[(f64, Option<f64>)]) -> Value {
    let cpu: Option<Vec<f64>> = samples.iter().map(|s| s.1).collect();
    json!({
        "wall_ns": median(samples.iter().map(|s| s.0).collect()),
        "cpu_ns": cpu.and_then(median),
        "max_connections_per_run": 0,
    })
}

fn fhir_read(size: Size) -> Value {
    let sandbox = Sandbox::start().expect("the sandbox starts");
    let client = public_client(&sandbox);
    let token = launch(&client);
    let patient = format!("Patient/{}", token.context().patient().expect("a patient"));
    let url = format!("{}/{patient}", sandbox.base_url());
    let bearer = format!("Bearer {}", token.access_token().expose_secret());
    let options = HttpOptions::new().timeout(Duration::from_secs(10));
    let http = ReqwestClient::new(&options).expect("reqwest builds");
    let session = AsyncSession::new(
        AsyncSmartClient::from_flows(client.flows().clone(), http),
        token,
        SessionConfig::new(),
    );
    let raw = ReqwestClient::client_builder(&options)
        .expect("a builder")
        .build()
        .expect("reqwest builds");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut ours = || {
        let resource = runtime
            .block_on(session.read(&patient))
            .expect("the read succeeds");
        assert_eq!(resource["resourceType"], "Patient");
    };
    let mut reference = || {
        let resource: Map<String, Value> = runtime.block_on(async {
            let response = raw
                .get(&url)
                .header("authorization", &bearer)
                .header("accept", "application/fhir+json")
                .send()
                .await
                .expect("the sandbox answers");
            assert!(response.status().is_success());
            let body = response.bytes().await.expect("a body");
            serde_json::from_slice(&body).expect("a JSON object")
        });
        assert_eq!(resource["resourceType"], "Patient");
    };
    let n = size.fhir_reads;
    timed((n / 4).max(1), &mut ours);
    timed((n / 4).max(1), &mut reference);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..size.rounds {
        if round % 2 == 0 {
            a.push(timed(n, &mut ours));
            b.push(timed(n, &mut reference));
        } else {
            b.push(timed(n, &mut reference));
            a.push(timed(n, &mut ours));
        }
    }
    json!({
        "name": "async FHIR read (AsyncSession::read)",
        "reference_name": "raw reqwest GET, fixed token",
        "calls_per_run": n,
        "ours": side(&a),
        "reference": side(&b),
    })
}

fn main() {
    let size = size();
    let readers = readers(size);
    println!(
        "session: {READERS} readers, p50 {} ns (RwLock<String>: {} ns), p99 {} ns ({} ns)",
        readers["ours"]["p50_ns"],
        readers["reference"]["p50_ns"],
        readers["ours"]["p99_ns"],
        readers["reference"]["p99_ns"]
    );
    let expiry: Vec<Value> = CALLERS
        .iter()
        .map(|&callers| {
            let requests = requests_per_expiry(callers, size.expiries);
            println!(
                "session: {callers} callers, {} expiries, {requests} refresh requests",
                size.expiries
            );
            assert_eq!(
                requests, size.expiries,
                "{callers} callers: one refresh per expiry"
            );
            json!({"callers": callers, "expiries": size.expiries, "token_requests": requests})
        })
        .collect();
    let read = fhir_read(size);
    println!(
        "session: async FHIR read, CPU {} ns per read (raw reqwest: {} ns), wall {} ns ({} ns)",
        read["ours"]["cpu_ns"],
        read["reference"]["cpu_ns"],
        read["ours"]["wall_ns"],
        read["reference"]["wall_ns"]
    );
    if let Some(out) = std::env::var_os("SMART_BENCH_SESSION_JSON") {
        let document = json!({"readers": readers, "expiry": expiry, "cases": [read]});
        let text = serde_json::to_string_pretty(&document).expect("serialises");
        if let Err(error) = std::fs::write(&out, text + "\n") {
            eprintln!("session: cannot write {}: {error}", out.display());
            std::process::exit(1);
        }
    }
}
