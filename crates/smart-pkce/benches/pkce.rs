//! Verifier + challenge pairs per second, next to the raw cost of their parts.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use smart_pkce::{PkceVerifier, State};

fn pkce(c: &mut Criterion) {
    let mut group = c.benchmark_group("pkce");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verifier+challenge (128 chars)", |b| {
        b.iter(|| {
            let verifier = PkceVerifier::generate().expect("OS randomness is available");
            black_box(verifier.challenge());
        });
    });
    group.bench_function("verifier+challenge (43 chars)", |b| {
        b.iter(|| {
            let verifier = PkceVerifier::generate_with_len(43).expect("OS randomness is available");
            black_box(verifier.challenge());
        });
    });
    group.bench_function("state", |b| {
        b.iter(|| black_box(State::generate().expect("OS randomness is available")));
    });
    // The reference: what the pair costs at minimum, one getrandom call and one SHA-256.
    group.bench_function("reference: getrandom(96) + sha256(128)", |b| {
        let mut bytes = [0u8; 96];
        b.iter(|| {
            getrandom_fill(&mut bytes);
            black_box(Sha256::digest(black_box([0u8; 128])));
        });
    });
    group.finish();
}

fn getrandom_fill(bytes: &mut [u8]) {
    use smart_core::RandomSource;
    smart_core::OsRandom
        .fill(bytes)
        .expect("OS randomness is available");
    black_box(bytes);
}

criterion_group!(benches, pkce);
criterion_main!(benches);
