//! RS384-2048, RS384-4096 and ES384: signing a client assertion as a compact JWS and verifying
//! one, with ring (the rustls provider, already in the tree) side by side in the same run.
//!
//! Both sides do the same JWS work: sign = serialise header and claims, base64url, sign,
//! base64url; verify = split, decode the header and claims JSON, decode the signature, verify
//! (ours also picks the key from a JWK Set and builds the public key from its JWK; ring parses
//! its public key bytes on every call too). Keys are the pre-generated test fixtures.
//!
//! The `assertion` group is the whole client assertion as the token client makes it (clock,
//! 32 random bytes of `jti`, claims, then the above), next to ring doing the same.
//!
//! `cargo xtask bench` records the ratios in `docs/benchmarks.md`, and `cargo xtask bench
//! --check` fails when one falls clearly below the recorded one. Anchors: about 0.39x ring's
//! rate for RS384-2048 signing and 1.8x for ES384 on the machine of STACK.md §4, 0.28-0.31x
//! and 1.9-2.1x on the 2-core benchmark VM.
#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented items"
)]

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use criterion::{BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Map, Value, json};
use smart_core::{ClientId, TokenUrl};
use smart_jwt_assertion::{
    Algorithm, AssertionSigner, JwkSet, KeySigner, PrivateKey, sign_compact, verify_compact,
};

const RSA2048_PEM: &str = include_str!("../tests/fixtures/rsa2048.pem");
const RSA4096_PEM: &str = include_str!("../tests/fixtures/rsa4096.pem");
const P384_PEM: &str = include_str!("../tests/fixtures/p384.pem");

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    Base64::decode_vec(&body).expect("the fixture is valid PEM")
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The header (without `alg`) and claims of a SMART client assertion.
fn assertion_parts() -> (Map<String, Value>, Map<String, Value>) {
    let header = object(json!({"typ": "JWT", "kid": "bench-key"}));
    let claims = object(json!({
        "iss": "my-app",
        "sub": "my-app",
        "aud": "https://ehr.example/fhir/auth/token",
        "iat": 1_700_000_000_u64,
        "exp": 1_700_000_300_u64,
        "jti": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    }));
    (header, claims)
}

/// ring's side of signing: the same serialisation, then ring's signature.
fn ring_compact(
    alg: Algorithm,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let mut header = header.clone();
    header.insert("alg".into(), Value::from(alg.as_str()));
    let mut token =
        Base64UrlUnpadded::encode_string(&serde_json::to_vec(&header).unwrap_or_default());
    token.push('.');
    token.push_str(&Base64UrlUnpadded::encode_string(
        &serde_json::to_vec(claims).unwrap_or_default(),
    ));
    let signature = sign(token.as_bytes());
    token.push('.');
    token.push_str(&Base64UrlUnpadded::encode_string(&signature));
    token
}

/// ring's side of verifying: split, decode both JSON parts and the signature, verify.
fn ring_verify(token: &str, verify: impl FnOnce(&[u8], &[u8]) -> bool) -> bool {
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Some((header, payload)) = input.split_once('.') else {
        return false;
    };
    let json = |part: &str| {
        Base64UrlUnpadded::decode_vec(part)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Map<String, Value>>(&bytes).ok())
    };
    let (Some(header), Some(claims)) = (json(header), json(payload)) else {
        return false;
    };
    black_box((header, claims));
    let Ok(signature) = Base64UrlUnpadded::decode_vec(signature) else {
        return false;
    };
    verify(input.as_bytes(), &signature)
}

fn signer_and_jwks(pem: &str) -> (KeySigner, JwkSet) {
    let key = PrivateKey::from_pem(pem).expect("the fixture loads");
    let signer = key.signer(None).expect("the key has a default algorithm");
    (signer, key.public_jwk_set(Some("bench-key")))
}

fn rsa(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, pem: &str) {
    let (header, claims) = assertion_parts();
    let (ours, jwks) = signer_and_jwks(pem);
    let ring_key = RsaKeyPair::from_pkcs8(&pem_der(pem)).expect("ring loads the fixture");
    let rng = SystemRandom::new();
    let components: RsaPublicKeyComponents<Vec<u8>> = ring_key.public().into();

    group.bench_function("sign/ours", |b| {
        b.iter(|| black_box(sign_compact(&header, &claims, &ours).expect("signs")));
    });
    group.bench_function("sign/ring", |b| {
        b.iter(|| {
            black_box(ring_compact(Algorithm::Rs384, &header, &claims, |input| {
                let mut signature = vec![0u8; ring_key.public().modulus_len()];
                ring_key
                    .sign(&signature::RSA_PKCS1_SHA384, &rng, input, &mut signature)
                    .expect("ring signs");
                signature
            }))
        });
    });

    let token = sign_compact(&header, &claims, &ours).expect("signs");
    let ring_token = ring_compact(Algorithm::Rs384, &header, &claims, |input| {
        let mut signature = vec![0u8; ring_key.public().modulus_len()];
        ring_key
            .sign(&signature::RSA_PKCS1_SHA384, &rng, input, &mut signature)
            .expect("ring signs");
        signature
    });
    assert_eq!(
        token, ring_token,
        "RS384 is deterministic: both sides agree"
    );
    group.bench_function("verify/ours", |b| {
        b.iter(|| black_box(verify_compact(&token, &jwks, &[Algorithm::Rs384]).expect("verifies")));
    });
    group.bench_function("verify/ring", |b| {
        b.iter(|| {
            black_box(ring_verify(&token, |input, signature| {
                components
                    .verify(&signature::RSA_PKCS1_2048_8192_SHA384, input, signature)
                    .is_ok()
            }))
        });
    });
}

fn rs384_2048(c: &mut Criterion) {
    let mut group = c.benchmark_group("RS384-2048");
    rsa(&mut group, RSA2048_PEM);
    group.finish();
}

fn rs384_4096(c: &mut Criterion) {
    let mut group = c.benchmark_group("RS384-4096");
    // About 7 ms a signature: flat sampling with fewer samples keeps the run short.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    rsa(&mut group, RSA4096_PEM);
    group.finish();
}

fn es384(c: &mut Criterion) {
    let mut group = c.benchmark_group("ES384");
    let (header, claims) = assertion_parts();
    let (ours, jwks) = signer_and_jwks(P384_PEM);
    let rng = SystemRandom::new();
    let ring_key = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        &pem_der(P384_PEM),
        &rng,
    )
    .expect("ring loads the fixture");
    let point = ring_key.public_key().as_ref().to_vec();

    group.bench_function("sign/ours", |b| {
        b.iter(|| black_box(sign_compact(&header, &claims, &ours).expect("signs")));
    });
    group.bench_function("sign/ring", |b| {
        b.iter(|| {
            black_box(ring_compact(Algorithm::Es384, &header, &claims, |input| {
                ring_key
                    .sign(&rng, input)
                    .expect("ring signs")
                    .as_ref()
                    .to_vec()
            }))
        });
    });

    let token = sign_compact(&header, &claims, &ours).expect("signs");
    group.bench_function("verify/ours", |b| {
        b.iter(|| black_box(verify_compact(&token, &jwks, &[Algorithm::Es384]).expect("verifies")));
    });
    group.bench_function("verify/ring", |b| {
        b.iter(|| {
            black_box(ring_verify(&token, |input, signature| {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, &point)
                    .verify(input, signature)
                    .is_ok()
            }))
        });
    });
    group.finish();
}

/// ring's side of a whole assertion: the same header and claims, with the clock read and 32
/// random bytes of `jti` drawn for each one.
fn ring_assertion(
    alg: Algorithm,
    rng: &SystemRandom,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut jti = [0u8; 32];
    rng.fill(&mut jti).expect("OS randomness is available");
    let header = object(json!({"typ": "JWT", "kid": "bench-key"}));
    let claims = object(json!({
        "iss": "my-app",
        "sub": "my-app",
        "aud": "https://ehr.example/fhir/auth/token",
        "iat": now,
        "exp": now + 300,
        "jti": Base64UrlUnpadded::encode_string(&jti),
    }));
    ring_compact(alg, &header, &claims, sign)
}

/// The whole client assertion as the token client makes it: clock, OS randomness for the
/// `jti`, claims, signature.
fn assertion(c: &mut Criterion) {
    let mut group = c.benchmark_group("assertion");
    let client_id = ClientId::parse("my-app").expect("valid client id");
    let token_url = TokenUrl::parse("https://ehr.example/fhir/auth/token").expect("valid URL");
    let rng = SystemRandom::new();
    for (name, pem) in [("ES384", P384_PEM), ("RS384-2048", RSA2048_PEM)] {
        let key = PrivateKey::from_pem(pem).expect("the fixture loads");
        let signer = AssertionSigner::from_key(&key, "bench-key", None).expect("assertion signer");
        group.bench_function(format!("{name}/ours"), |b| {
            b.iter(|| black_box(signer.sign(&client_id, &token_url).expect("signs")));
        });
    }
    let ecdsa = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        &pem_der(P384_PEM),
        &rng,
    )
    .expect("ring loads the fixture");
    group.bench_function("ES384/ring", |b| {
        b.iter(|| {
            black_box(ring_assertion(Algorithm::Es384, &rng, |input| {
                ecdsa
                    .sign(&rng, input)
                    .expect("ring signs")
                    .as_ref()
                    .to_vec()
            }))
        });
    });
    let rsa = RsaKeyPair::from_pkcs8(&pem_der(RSA2048_PEM)).expect("ring loads the fixture");
    group.bench_function("RS384-2048/ring", |b| {
        b.iter(|| {
            black_box(ring_assertion(Algorithm::Rs384, &rng, |input| {
                let mut signature = vec![0u8; rsa.public().modulus_len()];
                rsa.sign(&signature::RSA_PKCS1_SHA384, &rng, input, &mut signature)
                    .expect("ring signs");
                signature
            }))
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = rs384_2048, rs384_4096, es384, assertion
}
criterion_main!(benches);
