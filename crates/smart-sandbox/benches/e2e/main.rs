//! End to end on loopback against the sandbox: the client's own CPU time per request next to
//! the wall time, with a naive client as the reference in the same run.
//!
//! Cases, each "ours" beside a reference in the same run:
//! - a Backend Services token (`client_credentials`, discovery cached, a fresh assertion
//!   signed for every request) with the demo RS384-2048 key and with the ES384 key, and a
//!   refresh by the public demo client (refresh tokens rotate: each answer's token is the
//!   next request's): [`SmartClient`] (ureq transport, every check on) beside a naive client
//!   on the same server ([`naive`]: a plain ureq agent posting the same form and reading the
//!   answer into a `serde_json::Value`, assertions signed with ring);
//! - the async shell ([`AsyncSmartClient`] over reqwest, driven on a current-thread runtime so
//!   that all its work is on the calling thread) beside the blocking shell, for the refresh
//!   and the ES384 token;
//! - the ES384 Backend Services token beside the ES384 signature alone (our signer, an
//!   assertion-sized signing input): what the request costs the client beyond signing;
//! - refresh with `client_secret_basic`, code exchange and the authorization URL with PKCE,
//!   both shells beside oauth2 5 ([`oauth2_cases`]).
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
//! only the CPU ratios are guarded by `cargo xtask bench --check`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark binary reports on stdout"
)]

mod harness;
mod naive;
mod oauth2_cases;

use std::cell::RefCell;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, RsaKeyPair};
use serde_json::{Value, json};
use smart_client::jwt::JwsSigner as _;
use smart_client::token::RefreshToken;
use smart_client::{
    AsyncSmartClient, AuthorizeMethod, AuthorizeOptions, ClientConfig, ClientType, ReqwestClient,
    SmartClient,
};
use smart_sandbox::{Sandbox, demo};

use harness::{CPU_SOURCE, Case, Side, thread_cpu_ns};
use naive::{Reference, agent, backend_reference, pem_der, post_token};

const ES384_PEM: &str = include_str!("../../keys/es384.pem");
const RS384_PEM: &str = include_str!("../../keys/rs384.pem");

/// The async shell over the same flows (configuration, caches) as `client`, on reqwest with
/// the same HTTP options.
fn async_shell(client: &SmartClient) -> AsyncSmartClient {
    let http = ReqwestClient::new(client.config().http_options()).expect("reqwest builds");
    AsyncSmartClient::from_flows(client.flows().clone(), http)
}

/// A runtime on the calling thread: the async shell's work is then the calling thread's, as
/// the blocking shell's is.
fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
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
    let callback = test_support::browser::browse(&request).expect("the sandbox redirects back");
    let pending = request.into_pending();
    let token = client
        .complete_authorization(&callback, &pending)
        .expect("the code exchange succeeds");
    token
        .refresh_token()
        .expect("offline_access was asked for")
        .clone()
}

/// A refresh chain of the public client through one shell: each answer's refresh token is the
/// next request's.
fn refresh_side<'a>(
    chain: &'a RefCell<RefreshToken>,
    refresh: impl Fn(&RefreshToken) -> smart_client::token::TokenResponse + 'a,
) -> Side<'a> {
    Side::new(move || {
        let token = refresh(&chain.borrow());
        let next = token.refresh_token().expect("rotated").clone();
        *chain.borrow_mut() = next;
    })
}

/// An ES384 signing input of an assertion's size: header and claims as ours sends them.
fn es384_signing_input(token_url: &str) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let header = json!({"alg": "ES384", "typ": "JWT", "kid": demo::ES384_KID});
    let claims = json!({
        "iss": demo::BACKEND_CLIENT_ID, "sub": demo::BACKEND_CLIENT_ID, "aud": token_url,
        "iat": 1_800_000_000_u64, "exp": 1_800_000_300_u64,
        "jti": Base64UrlUnpadded::encode_string(&[7u8; 32]),
    });
    let encode = |value: &Value| {
        Base64UrlUnpadded::encode_string(&serde_json::to_vec(value).expect("serialises"))
    };
    format!("{}.{}", encode(&header), encode(&claims))
}

#[allow(
    clippy::too_many_lines,
    reason = "the list of cases, each a few lines, reads best in one place"
)]
fn main() {
    let args = harness::args();
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
    let es384_async = async_shell(&es384);
    let es384_signer = demo::es384_key().signer(None).expect("an ES384 signer");
    let signing_input = es384_signing_input(&token_url);
    let runtime = current_thread_runtime();

    let public = SmartClient::new(
        ClientConfig::builder(sandbox.base_url())
            .client_id(demo::PUBLIC_CLIENT_ID)
            .redirect_uri(demo::REDIRECT_URI)
            // No `openid`: the naive reference would not verify the refreshed id_token.
            .scopes("launch/patient offline_access patient/*.rs")
            .allow_insecure_localhost(true)
            .build()
            .expect("a valid configuration"),
        ClientType::Public,
    )
    .expect("the default transport builds");
    let public_async = async_shell(&public);
    let ours_refresh = RefCell::new(launch(&public));
    let reference_refresh = RefCell::new(launch(&public).expose_secret().to_owned());
    let blocking_chain = RefCell::new(launch(&public));
    let async_chain = RefCell::new(launch(&public));

    let oauth2 = oauth2_cases::Fixture::new(&sandbox);
    let codes = Default::default();
    let oauth2_codes = Default::default();
    let oauth2_chains = Default::default();

    let mut cases = vec![
        Case {
            name: "backend-services token (RS384-2048)",
            reference_name: "naive ureq + ring",
            scale: 1,
            ours: Side::new(|| {
                std::hint::black_box(rs384.backend_services_token(None).expect("a token"));
            }),
            reference: Side::new(backend_reference(
                &reference,
                "RS384",
                demo::RS384_KID,
                &rsa_sign,
            )),
        },
        Case {
            name: "backend-services token (ES384)",
            reference_name: "naive ureq + ring",
            scale: 1,
            ours: Side::new(|| {
                std::hint::black_box(es384.backend_services_token(None).expect("a token"));
            }),
            reference: Side::new(backend_reference(
                &reference,
                "ES384",
                demo::ES384_KID,
                &ecdsa_sign,
            )),
        },
        Case {
            name: "refresh (public client)",
            reference_name: "naive ureq",
            scale: 1,
            ours: refresh_side(&ours_refresh, |current| {
                public.refresh(current, None).expect("the refresh succeeds")
            }),
            reference: Side::new(|| {
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
        Case {
            name: "async shell: refresh (public client)",
            reference_name: "blocking shell",
            scale: 1,
            ours: refresh_side(&async_chain, |current| {
                runtime
                    .block_on(public_async.refresh(current, None))
                    .expect("the refresh succeeds")
            }),
            reference: refresh_side(&blocking_chain, |current| {
                public.refresh(current, None).expect("the refresh succeeds")
            }),
        },
        Case {
            name: "async shell: backend-services token (ES384)",
            reference_name: "blocking shell",
            scale: 1,
            ours: Side::new(|| {
                let token = runtime.block_on(es384_async.backend_services_token(None));
                std::hint::black_box(token.expect("a token"));
            }),
            reference: Side::new(|| {
                std::hint::black_box(es384.backend_services_token(None).expect("a token"));
            }),
        },
        Case {
            name: "backend-services token (ES384) vs its signature",
            reference_name: "the ES384 signature alone",
            scale: 1,
            ours: Side::new(|| {
                std::hint::black_box(es384.backend_services_token(None).expect("a token"));
            }),
            reference: Side::new(|| {
                let signature = es384_signer.sign(signing_input.as_bytes());
                std::hint::black_box(signature.expect("signs"));
            }),
        },
    ];
    cases.extend(oauth2_cases::cases(
        &oauth2,
        &codes,
        &oauth2_codes,
        &oauth2_chains,
    ));

    let cpu_measured = thread_cpu_ns().is_some();
    if !cpu_measured {
        println!(
            "e2e: client CPU time is not measured here: it needs Linux's {CPU_SOURCE} (wall time only)"
        );
    }
    if let Some(only) = &args.only {
        cases.retain(|case| case.name.contains(only.as_str()));
    }
    let results = harness::run_cases(&sandbox, &args, &mut cases);

    println!(
        "\ne2e on loopback: {} rounds x {} requests per side, median per request",
        args.rounds, args.requests
    );
    println!(
        "{:<48} {:>10} {:>12} {:>10} {:>12} {:>6}  reference",
        "case", "ours wall", "ours CPU", "ref wall", "ref CPU", "conns"
    );
    let micros = |value: &Value| {
        value
            .as_f64()
            .map_or_else(|| "n/a".to_owned(), |ns| format!("{:.1} µs", ns / 1000.0))
    };
    for result in &results {
        println!(
            "{:<48} {:>10} {:>12} {:>10} {:>12} {:>6}  {}",
            result["name"].as_str().unwrap_or_default(),
            micros(&result["ours"]["wall_ns"]),
            micros(&result["ours"]["cpu_ns"]),
            micros(&result["reference"]["wall_ns"]),
            micros(&result["reference"]["cpu_ns"]),
            result["ours"]["max_connections_per_run"],
            result["reference_name"].as_str().unwrap_or_default(),
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
