//! Reading a `.well-known/smart-configuration` response with [`smart_discovery::parse`]: the
//! spec's example document and a generated one with 200 capabilities.
//!
//! The reference, measured in the same run, is what a naive client does with the same bytes:
//! `serde_json::from_slice::<serde_json::Value>`. The ratio is the cost of the typed, checked
//! model (strict JSON, endpoint URLs parsed and checked against the transport policy,
//! capabilities typed, findings recorded).
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use smart_core::{FhirBaseUrl, TransportPolicy};

/// The example of SMART App Launch 2.2, conformance.html#example-response.
const SPEC_EXAMPLE: &[u8] = include_bytes!("../tests/fixtures/smart-configuration.json");

/// The spec's example with 200 capabilities: the 20 the spec defines, then 180 vendor
/// extensions named by URL (as the spec asks of capabilities it does not define).
fn two_hundred_capabilities() -> Vec<u8> {
    let mut document: Value =
        serde_json::from_slice(SPEC_EXAMPLE).expect("the spec example is JSON");
    let capabilities: Vec<Value> = smart_discovery::Capability::KNOWN
        .iter()
        .map(smart_discovery::Capability::as_str)
        .map(Value::from)
        .chain((0..180).map(|i| Value::from(format!("https://vendor.example/smart/cap-{i:03}"))))
        .collect();
    assert_eq!(capabilities.len(), 200);
    document["capabilities"] = Value::Array(capabilities);
    serde_json::to_vec_pretty(&document).expect("serialises")
}

fn response(body: Vec<u8>) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .expect("a valid response")
}

fn discovery(c: &mut Criterion) {
    let base = FhirBaseUrl::parse("https://ehr.example.com").expect("a valid base URL");
    for (name, body) in [
        ("spec example", SPEC_EXAMPLE.to_vec()),
        ("200 capabilities", two_hundred_capabilities()),
    ] {
        let response = response(body);
        let parsed = smart_discovery::parse(&base, &response, TransportPolicy::STRICT)
            .expect("the document parses");
        assert!(parsed.token_endpoint().is_some());

        let mut group = c.benchmark_group(format!("discovery/{name}"));
        group.throughput(Throughput::Bytes(response.body().len() as u64));
        group.bench_function("ours", |b| {
            b.iter(|| {
                black_box(
                    smart_discovery::parse(&base, black_box(&response), TransportPolicy::STRICT)
                        .expect("parses"),
                )
            });
        });
        group.bench_function("reference", |b| {
            b.iter(|| {
                black_box(
                    serde_json::from_slice::<Value>(black_box(response.body())).expect("parses"),
                )
            });
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = discovery
}
criterion_main!(benches);
