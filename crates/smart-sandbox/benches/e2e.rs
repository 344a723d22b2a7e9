//! End to end on loopback against the sandbox: the client's own CPU time per request next to
//! the wall time, with a naive client as the reference in the same run.
//!
//! Cases:
//! - a Backend Services token (`client_credentials`, discovery cached, a fresh assertion
//!   signed for every request) with the demo RS384-2048 key and with the ES384 key;
//! - a refresh by the public demo client (refresh tokens rotate: each answer's token is the
//!   next request's).
//!
//! "ours" is [`SmartClient`] (ureq transport, every check on). The reference is what a naive
//! client does on the same server: a plain ureq agent posts the same form and reads the
//! answer into a `serde_json::Value`; for Backend Services it signs the assertion with ring
//! (the fastest signer in the tree).
//!
//! This is not a criterion benchmark, so that wall and CPU time describe the same requests:
//! each round times `--requests N` requests of each side (the side going first alternates
//! between rounds), and the figure is the median over `--rounds R` rounds. The client's CPU
//! time is the calling thread's (the sandbox serves on its own threads), read from Linux's
//! `/proc/thread-self/schedstat` (first field: nanoseconds on CPU) before and after the N
//! requests; elsewhere it is reported as not measured. `--out FILE` (or the environment
//! variable `SMART_BENCH_E2E_JSON`, which `cargo xtask bench` sets) writes the figures as
//! JSON. Without `--bench` (that is, under `cargo test`) it makes a few requests as a smoke
//! test; with the environment variable `SMART_BENCH_QUICK` set (`cargo xtask bench --check
//! --quick`), at most 3 rounds of 20.
//!
//! The wall time includes the server's work and, on a busy machine, the scheduler's delays:
//! only the CPU ratios are guarded by `cargo xtask bench --check`. ureq (with a timeout set,
//! as every client here has) resolves the host on a short-lived thread for each request; that
//! thread's CPU time is not counted, only the creating of it.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark binary reports on stdout"
)]
#![allow(
    clippy::cast_precision_loss,
    reason = "nanosecond counts far below 2^52 become f64 for averages"
)]

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use serde_json::{Value, json};
use smart_client::token::{CLIENT_ASSERTION_TYPE, RefreshToken};
use smart_client::ureq;
use smart_client::{AuthorizeMethod, AuthorizeOptions, ClientConfig, ClientType, SmartClient};
use smart_sandbox::{Sandbox, demo};

const ES384_PEM: &str = include_str!("../keys/es384.pem");
const RS384_PEM: &str = include_str!("../keys/rs384.pem");

/// Where the client's CPU time comes from.
const CPU_SOURCE: &str = "/proc/thread-self/schedstat";

/// Where to write the figures when `--out` is not given.
const OUT_VARIABLE: &str = "SMART_BENCH_E2E_JSON";

/// Set by `cargo xtask bench --check --quick`: short runs (at most 3 rounds of 20 requests).
const QUICK_VARIABLE: &str = "SMART_BENCH_QUICK";

struct Args {
    requests: usize,
    rounds: usize,
    out: Option<PathBuf>,
}

fn args() -> Args {
    let mut parsed = Args {
        requests: 100,
        rounds: 5,
        out: std::env::var_os(OUT_VARIABLE).map(PathBuf::from),
    };
    let mut bench = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> usize {
            match args.next().and_then(|value| value.parse().ok()) {
                Some(value) if value > 0 => value,
                _ => {
                    eprintln!("e2e: {name} takes a positive number");
                    std::process::exit(2);
                }
            }
        };
        match arg.as_str() {
            "--bench" => bench = true,
            "--requests" => parsed.requests = number("--requests"),
            "--rounds" => parsed.rounds = number("--rounds"),
            "--out" => parsed.out = args.next().map(PathBuf::from),
            // cargo's and criterion's flags (filters, `--save-baseline`, ...) do not apply.
            _ => {}
        }
    }
    if !bench {
        parsed.requests = 3;
        parsed.rounds = 1;
    } else if std::env::var_os(QUICK_VARIABLE).is_some() {
        // `cargo xtask bench --check --quick`: the same cases, a fifth of the requests.
        parsed.requests = parsed.requests.min(20);
        parsed.rounds = parsed.rounds.min(3);
    }
    parsed
}

/// Nanoseconds the calling thread has spent on a CPU, or `None` where that is not available.
///
/// The kernel brings the counter up to date when the thread leaves the CPU, so the thread
/// yields first: the figure then includes everything up to this call.
#[cfg(target_os = "linux")]
fn thread_cpu_ns() -> Option<u64> {
    std::thread::yield_now();
    let text = std::fs::read_to_string(CPU_SOURCE).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    // With scheduler statistics off, the kernel prints zeros.
    (ns > 0).then_some(ns)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_ns() -> Option<u64> {
    None
}

/// One timed run of N requests, per request.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall_ns: f64,
    cpu_ns: Option<f64>,
    connections: u64,
}

fn measure(sandbox: &Sandbox, requests: usize, op: &mut dyn FnMut()) -> Sample {
    let connections = sandbox.connections();
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    for _ in 0..requests {
        op();
    }
    let wall = start.elapsed();
    let cpu_end = thread_cpu_ns();
    let n = requests as f64;
    Sample {
        wall_ns: wall.as_nanos() as f64 / n,
        cpu_ns: cpu_start
            .zip(cpu_end)
            .map(|(start, end)| end.saturating_sub(start) as f64 / n),
        connections: sandbox.connections() - connections,
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => None,
        len if len % 2 == 1 => Some(values[mid]),
        _ => Some(f64::midpoint(values[mid - 1], values[mid])),
    }
}

/// The median wall and CPU time per request of one side, and the most connections one timed
/// run opened.
fn summary(samples: &[Sample]) -> Value {
    let wall = median(samples.iter().map(|s| s.wall_ns).collect());
    let cpu: Option<Vec<f64>> = samples.iter().map(|s| s.cpu_ns).collect();
    json!({
        "wall_ns": wall,
        "cpu_ns": cpu.and_then(median),
        "max_connections_per_run": samples.iter().map(|s| s.connections).max(),
    })
}

struct Case<'a> {
    name: &'static str,
    ours: Box<dyn FnMut() + 'a>,
    reference: Box<dyn FnMut() + 'a>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// The naive client's token request: post the form, read the answer as a JSON value.
fn post_token(agent: &ureq::Agent, url: &str, form: &[(&str, &str)]) -> Value {
    let mut response = agent
        .post(url)
        .header("accept", "application/json")
        .send_form(form.iter().copied())
        .expect("the sandbox answers");
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_vec()
        .expect("the answer has a body");
    let value: Value = serde_json::from_slice(&body).expect("the answer is JSON");
    assert_eq!(status, 200, "token request refused: {}", value["error"]);
    assert!(value["access_token"].is_string());
    value
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    Base64::decode_vec(&body).expect("the demo key is valid PEM")
}

/// A client assertion signed with ring: the same header and claims as ours.
fn ring_assertion(
    alg: &str,
    kid: &str,
    token_url: &str,
    rng: &SystemRandom,
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut jti = [0u8; 32];
    rng.fill(&mut jti).expect("OS randomness is available");
    let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
    let claims = json!({
        "iss": demo::BACKEND_CLIENT_ID,
        "sub": demo::BACKEND_CLIENT_ID,
        "aud": token_url,
        "iat": now,
        "exp": now + 300,
        "jti": Base64UrlUnpadded::encode_string(&jti),
    });
    let encode = |value: &Value| {
        Base64UrlUnpadded::encode_string(&serde_json::to_vec(value).expect("serialises"))
    };
    let mut token = encode(&header);
    token.push('.');
    token.push_str(&encode(&claims));
    let signature = sign(token.as_bytes());
    token.push('.');
    token.push_str(&Base64UrlUnpadded::encode_string(&signature));
    token
}

/// What the naive client needs for its requests.
#[derive(Clone, Copy)]
struct Reference<'a> {
    agent: &'a ureq::Agent,
    token_url: &'a str,
    rng: &'a SystemRandom,
}

/// The naive Backend Services request: a ring-signed assertion, the form, a JSON value.
fn backend_reference<'a>(
    reference: &Reference<'a>,
    alg: &'static str,
    kid: &'static str,
    sign: &'a dyn Fn(&[u8]) -> Vec<u8>,
) -> impl FnMut() + 'a {
    let Reference {
        agent,
        token_url,
        rng,
    } = *reference;
    move || {
        let assertion = ring_assertion(alg, kid, token_url, rng, sign);
        std::hint::black_box(post_token(
            agent,
            token_url,
            &[
                ("grant_type", "client_credentials"),
                ("scope", demo::BACKEND_SCOPES),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ],
        ));
    }
}

fn backend_client(sandbox: &Sandbox, key: smart_client::jwt::PrivateKey, kid: &str) -> SmartClient {
    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(demo::BACKEND_CLIENT_ID)
        .private_key(key)
        .kid(kid)
        .allow_insecure_localhost(true)
        .build()
        .expect("a valid configuration");
    let client = SmartClient::new(config, ClientType::ConfidentialAsymmetric)
        .expect("the default transport builds");
    // Discovery is cached from here on.
    client.discover().expect("the sandbox serves discovery");
    client
}

/// A refresh token of the public demo client, from a whole standalone launch (the browser's
/// part played by a no-redirect agent).
fn launch(client: &SmartClient) -> RefreshToken {
    let request = client
        .authorize(AuthorizeOptions::new().method(AuthorizeMethod::Get))
        .expect("builds");
    let response = agent()
        .get(request.url().as_str())
        .call()
        .expect("the sandbox answers");
    let callback = response
        .headers()
        .get("location")
        .and_then(|location| location.to_str().ok())
        .expect("the sandbox redirects back")
        .to_owned();
    let pending = request.into_pending();
    let token = client
        .complete_authorization(&callback, &pending)
        .expect("the code exchange succeeds");
    token
        .refresh_token()
        .expect("offline_access was asked for")
        .clone()
}

fn main() {
    let args = args();
    let sandbox = Sandbox::start().expect("the sandbox starts");
    let token_url = sandbox.token_url();
    let rng = SystemRandom::new();
    let reference_agent = agent();

    let rsa = RsaKeyPair::from_pkcs8(&pem_der(RS384_PEM)).expect("ring loads the RS384 key");
    let ecdsa = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        &pem_der(ES384_PEM),
        &rng,
    )
    .expect("ring loads the ES384 key");
    let rsa_sign = |input: &[u8]| {
        let mut signature = vec![0u8; rsa.public().modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA384, &rng, input, &mut signature)
            .expect("ring signs");
        signature
    };
    let ecdsa_sign = |input: &[u8]| {
        ecdsa
            .sign(&rng, input)
            .expect("ring signs")
            .as_ref()
            .to_vec()
    };
    let reference = Reference {
        agent: &reference_agent,
        token_url: &token_url,
        rng: &rng,
    };
    let rs384 = backend_client(&sandbox, demo::rs384_key(), demo::RS384_KID);
    let es384 = backend_client(&sandbox, demo::es384_key(), demo::ES384_KID);

    let public = SmartClient::new(
        ClientConfig::builder(sandbox.base_url())
            .client_id(demo::PUBLIC_CLIENT_ID)
            .redirect_uri(demo::REDIRECT_URI)
            .scopes("launch/patient openid fhirUser offline_access patient/*.rs")
            .allow_insecure_localhost(true)
            .build()
            .expect("a valid configuration"),
        ClientType::Public,
    )
    .expect("the default transport builds");
    let ours_refresh = RefCell::new(launch(&public));
    let reference_refresh = RefCell::new(launch(&public).expose_secret().to_owned());

    let mut cases = [
        Case {
            name: "backend-services token (RS384-2048)",
            ours: Box::new(|| {
                std::hint::black_box(rs384.backend_services_token(None).expect("a token"));
            }),
            reference: Box::new(backend_reference(
                &reference,
                "RS384",
                demo::RS384_KID,
                &rsa_sign,
            )),
        },
        Case {
            name: "backend-services token (ES384)",
            ours: Box::new(|| {
                std::hint::black_box(es384.backend_services_token(None).expect("a token"));
            }),
            reference: Box::new(backend_reference(
                &reference,
                "ES384",
                demo::ES384_KID,
                &ecdsa_sign,
            )),
        },
        Case {
            name: "refresh (public client)",
            ours: Box::new(|| {
                let token = public
                    .refresh(&ours_refresh.borrow(), None)
                    .expect("the refresh succeeds");
                let next = token.refresh_token().expect("rotated").clone();
                *ours_refresh.borrow_mut() = next;
            }),
            reference: Box::new(|| {
                let current = reference_refresh.borrow().clone();
                let value = post_token(
                    &reference_agent,
                    &token_url,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &current),
                        ("client_id", demo::PUBLIC_CLIENT_ID),
                    ],
                );
                let next = value["refresh_token"].as_str().expect("rotated").to_owned();
                *reference_refresh.borrow_mut() = next;
            }),
        },
    ];

    let cpu_measured = thread_cpu_ns().is_some();
    if !cpu_measured {
        println!(
            "e2e: client CPU time is not measured here: it needs Linux's {CPU_SOURCE} (wall time only)"
        );
    }
    // Warm-up: connections open, lazy tables built, caches filled.
    let warm_up = (args.requests / 4).max(1);
    for case in &mut cases {
        measure(&sandbox, warm_up, &mut case.ours);
        measure(&sandbox, warm_up, &mut case.reference);
    }

    let mut samples: Vec<(Vec<Sample>, Vec<Sample>)> = vec![(Vec::new(), Vec::new()); cases.len()];
    for round in 0..args.rounds {
        for (case, (ours, reference)) in cases.iter_mut().zip(&mut samples) {
            if round % 2 == 0 {
                ours.push(measure(&sandbox, args.requests, &mut case.ours));
                reference.push(measure(&sandbox, args.requests, &mut case.reference));
            } else {
                reference.push(measure(&sandbox, args.requests, &mut case.reference));
                ours.push(measure(&sandbox, args.requests, &mut case.ours));
            }
        }
    }

    let results: Vec<Value> = cases
        .iter()
        .zip(&samples)
        .map(|(case, (ours, reference))| {
            json!({
                "name": case.name,
                "ours": summary(ours),
                "reference": summary(reference),
            })
        })
        .collect();

    println!(
        "\ne2e on loopback: {} rounds x {} requests per side, median per request",
        args.rounds, args.requests
    );
    println!(
        "{:<38} {:>10} {:>12} {:>10} {:>12} {:>6}",
        "case", "ours wall", "ours CPU", "ref wall", "ref CPU", "conns"
    );
    let micros = |value: &Value| {
        value
            .as_f64()
            .map_or_else(|| "n/a".to_owned(), |ns| format!("{:.1} µs", ns / 1000.0))
    };
    for result in &results {
        println!(
            "{:<38} {:>10} {:>12} {:>10} {:>12} {:>6}",
            result["name"].as_str().unwrap_or_default(),
            micros(&result["ours"]["wall_ns"]),
            micros(&result["ours"]["cpu_ns"]),
            micros(&result["reference"]["wall_ns"]),
            micros(&result["reference"]["cpu_ns"]),
            result["ours"]["max_connections_per_run"],
        );
        // Keep-alive: one client's requests share one connection. A timed run may open one
        // if the server closed an idle connection between rounds, never one per request.
        let opened = result["ours"]["max_connections_per_run"]
            .as_u64()
            .unwrap_or_default();
        assert!(
            opened <= 1,
            "{}: {opened} connections for {} requests: connection reuse is broken",
            result["name"],
            args.requests
        );
    }

    if let Some(out) = &args.out {
        let document = json!({
            "requests": args.requests,
            "rounds": args.rounds,
            "client_cpu": cpu_measured.then_some(CPU_SOURCE),
            "cases": results,
        });
        let text = serde_json::to_string_pretty(&document).expect("serialises");
        if let Err(error) = std::fs::write(out, text + "\n") {
            eprintln!("e2e: cannot write {}: {error}", out.display());
            std::process::exit(1);
        }
    }
}
