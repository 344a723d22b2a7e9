//! Client assertions: exact header and claims with a fixed clock and RNG, fresh `jti`s, the
//! rules on `kid`, `jku`, lifetime and algorithm, external signers.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use smart_core::{ClientId, FixedClock, JwksUrl, RandomError, TokenUrl, UrlProblem};
use smart_jwt_assertion::{
    Algorithm, AssertionSigner, CLIENT_ASSERTION_TYPE, Error, JwsSigner, KeySigner, SignError,
    decode_unverified, verify_compact,
};

use crate::*;

const NOW: u64 = 1_700_000_000;

fn client_id() -> ClientId {
    ClientId::parse("my-app").unwrap()
}

fn token_url() -> TokenUrl {
    TokenUrl::parse("https://ehr.example/token").unwrap()
}

fn clock() -> FixedClock {
    FixedClock::from_unix_seconds(NOW)
}

#[test]
fn rs384_assertion_is_byte_identical_to_openssl() {
    // The fixture is header.payload signed by `openssl dgst -sha384 -sign`: same claims, same
    // key, and RSASSA-PKCS1-v1_5 is deterministic, so the whole token must match.
    let signer = AssertionSigner::from_key(&rsa2048(), "rsa-2048", None).unwrap();
    let assertion = signer
        .sign_with(&client_id(), &token_url(), &clock(), &mut counting())
        .unwrap();
    assert_eq!(assertion.expose_secret(), OPENSSL_RS384_JWT.trim());
}

#[test]
fn es384_assertion_has_the_exact_header_and_claims() {
    let signer = AssertionSigner::from_key(&p384(), "p384", None).unwrap();
    assert_eq!(signer.algorithm(), Algorithm::Es384);
    assert_eq!(signer.kid(), "p384");
    let assertion = signer
        .sign_with(&client_id(), &token_url(), &clock(), &mut counting())
        .unwrap();
    let token = assertion.expose_secret();
    let (header, claims) = decode_unverified(token).unwrap();
    assert_eq!(
        Value::Object(header),
        json!({"alg": "ES384", "typ": "JWT", "kid": "p384"})
    );
    assert_eq!(
        Value::Object(claims),
        json!({
            "iss": "my-app",
            "sub": "my-app",
            "aud": "https://ehr.example/token",
            "iat": NOW,
            "exp": NOW + 300,
            "jti": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        })
    );
    // The signing input is the same bytes OpenSSL signed in the ES384 fixture.
    let (input, signature) = token.rsplit_once('.').unwrap();
    assert_eq!(input, OPENSSL_ES384_INPUT.trim());
    assert_eq!(b64url_decode(signature).len(), 96, "r || s, never DER");
    // ES384 with RFC 6979 is deterministic too.
    let again = signer
        .sign_with(&client_id(), &token_url(), &clock(), &mut counting())
        .unwrap();
    assert_eq!(again.expose_secret(), token);

    let verified = verify_compact(token, &fixture_jwks(), &[Algorithm::Es384]).unwrap();
    assert_eq!(verified.claims()["sub"], "my-app");
}

#[test]
fn aud_is_the_token_url_exactly_as_given_and_a_string() {
    let odd = TokenUrl::parse("https://EHR.example:443/oauth2/token?tenant=a").unwrap();
    let signer = AssertionSigner::from_key(&p384(), "k", None).unwrap();
    let assertion = signer
        .sign_with(&client_id(), &odd, &clock(), &mut counting())
        .unwrap();
    let (_, claims) = decode_unverified(assertion.expose_secret()).unwrap();
    assert_eq!(
        claims["aud"],
        Value::from("https://EHR.example:443/oauth2/token?tenant=a")
    );
    assert!(claims["aud"].is_string());
}

#[test]
fn every_assertion_has_a_fresh_jti_of_256_bits() {
    let signer = AssertionSigner::from_key(&p384(), "k", None).unwrap();
    let mut seen = HashSet::new();
    for _ in 0..50 {
        let assertion = signer.sign(&client_id(), &token_url()).unwrap();
        let (_, claims) = decode_unverified(assertion.expose_secret()).unwrap();
        let jti = claims["jti"].as_str().unwrap().to_owned();
        assert_eq!(jti.len(), 43);
        assert_eq!(b64url_decode(&jti).len(), 32);
        assert!(seen.insert(jti), "jti repeated");
        let iat = claims["iat"].as_u64().unwrap();
        assert_eq!(claims["exp"].as_u64().unwrap(), iat + 300);
        assert!(iat > 1_700_000_000);
    }
}

#[test]
fn lifetime_is_one_to_three_hundred_seconds() {
    let signer = AssertionSigner::from_key(&p384(), "k", None).unwrap();
    assert_eq!(signer.lifetime(), Duration::from_secs(300));
    for bad in [
        Duration::ZERO,
        Duration::from_millis(999),
        Duration::from_secs(301),
        Duration::from_secs(3600),
    ] {
        let err = signer.clone().with_lifetime(bad).unwrap_err();
        assert!(
            matches!(err, Error::Lifetime { lifetime } if lifetime == bad),
            "{err:?}"
        );
    }
    let short = signer
        .clone()
        .with_lifetime(Duration::from_millis(60_900))
        .unwrap();
    assert_eq!(short.lifetime(), Duration::from_secs(60));
    let assertion = short
        .sign_with(&client_id(), &token_url(), &clock(), &mut counting())
        .unwrap();
    let (_, claims) = decode_unverified(assertion.expose_secret()).unwrap();
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 60);
    assert!(signer.with_lifetime(Duration::from_secs(300)).is_ok());
    assert!(
        AssertionSigner::from_key(&p384(), "k", None)
            .unwrap()
            .with_lifetime(Duration::from_secs(1))
            .is_ok()
    );
}

#[test]
fn kid_is_required() {
    for kid in ["", " ", "\t\n"] {
        let err = AssertionSigner::from_key(&p384(), kid, None).unwrap_err();
        assert!(matches!(err, Error::MissingKid), "{kid:?}: {err:?}");
    }
    // Kept exactly, spaces included.
    let signer = AssertionSigner::from_key(&p384(), " k ", None).unwrap();
    assert_eq!(signer.kid(), " k ");
}

#[test]
fn only_rs384_and_es384_sign_assertions() {
    let rs256 = rsa2048().signer(Some(Algorithm::Rs256)).unwrap();
    let err = AssertionSigner::new(rs256, "k").unwrap_err();
    assert!(
        matches!(
            err,
            Error::AssertionAlgorithm {
                alg: Algorithm::Rs256
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        AssertionSigner::from_key(&rsa2048(), "k", Some(Algorithm::Rs256)),
        Err(Error::AssertionAlgorithm { .. })
    ));
    // An explicit algorithm that does not fit the key (safire forgets this check).
    assert!(matches!(
        AssertionSigner::from_key(&p384(), "k", Some(Algorithm::Rs384)),
        Err(Error::AlgorithmMismatch { .. })
    ));
    assert!(matches!(
        AssertionSigner::from_key(&rsa2048(), "k", Some(Algorithm::Es384)),
        Err(Error::AlgorithmMismatch { .. })
    ));
    let explicit = AssertionSigner::from_key(&rsa2048(), "k", Some(Algorithm::Rs384)).unwrap();
    assert_eq!(explicit.algorithm(), Algorithm::Rs384);
}

#[test]
fn jku_must_be_https() {
    let signer = AssertionSigner::from_key(&p384(), "k", None).unwrap();
    let jku = JwksUrl::parse("https://app.example/.well-known/jwks.json").unwrap();
    let signer = signer.with_jku(jku.clone()).unwrap();
    assert_eq!(signer.jku(), Some(&jku));
    let assertion = signer
        .sign_with(&client_id(), &token_url(), &clock(), &mut counting())
        .unwrap();
    let (header, _) = decode_unverified(assertion.expose_secret()).unwrap();
    assert_eq!(header["jku"], "https://app.example/.well-known/jwks.json");
    assert_eq!(header["typ"], "JWT");

    for (url, problem) in [
        ("http://app.example/jwks.json", UrlProblem::InsecureHttp),
        (
            "http://localhost:8080/jwks.json",
            UrlProblem::InsecureLocalhost,
        ),
    ] {
        let err = AssertionSigner::from_key(&p384(), "k", None)
            .unwrap()
            .with_jku(JwksUrl::parse(url).unwrap())
            .unwrap_err();
        let Error::Jku(inner) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(inner.problem(), &problem);
    }
}

#[test]
fn clock_before_the_epoch_is_a_typed_error_not_an_expired_assertion() {
    let signer = AssertionSigner::from_key(&p384(), "k", None).unwrap();
    let clock = FixedClock::new(std::time::UNIX_EPOCH - Duration::from_secs(10));
    let error = signer
        .sign_with(&client_id(), &token_url(), &clock, &mut counting())
        .unwrap_err();
    assert!(matches!(error, Error::ClockBeforeEpoch), "{error:?}");
    assert!(
        error.to_string().contains("set the system clock"),
        "{error}"
    );
}

#[test]
fn a_far_future_clock_does_not_panic() {
    let signer = AssertionSigner::from_key(&p384(), "k", None).unwrap();
    let clock = FixedClock::from_unix_seconds(u64::MAX);
    let assertion = signer
        .sign_with(&client_id(), &token_url(), &clock, &mut counting())
        .unwrap();
    let (_, claims) = decode_unverified(assertion.expose_secret()).unwrap();
    assert!(claims["exp"].as_u64().unwrap() >= claims["iat"].as_u64().unwrap());
}

#[test]
fn a_failing_rng_is_an_error() {
    let signer = AssertionSigner::from_key(&p384(), "k", None).unwrap();
    let mut broken = |_: &mut [u8]| -> Result<(), RandomError> { Err(RandomError::unavailable()) };
    let err = signer
        .sign_with(&client_id(), &token_url(), &clock(), &mut broken)
        .unwrap_err();
    assert!(matches!(err, Error::Random(_)), "{err:?}");
}

/// An external signer, as a KMS client would be: here it wraps a key and can misbehave.
struct External {
    inner: KeySigner,
    mode: Mode,
}

enum Mode {
    Honest,
    Der,
    Fails,
}

impl JwsSigner for External {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }

    fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, SignError> {
        match self.mode {
            Mode::Honest => self.inner.sign(signing_input),
            Mode::Der => Ok(vec![0x30; 103]),
            Mode::Fails => Err(SignError::with_source(
                "the KMS refused",
                std::io::Error::other("403"),
            )),
        }
    }
}

#[test]
fn external_signers() {
    let key = p384();
    let honest = External {
        inner: key.signer(None).unwrap(),
        mode: Mode::Honest,
    };
    let signer = AssertionSigner::new(honest, "kms-key").unwrap();
    let assertion = signer.sign(&client_id(), &token_url()).unwrap();
    let jwks = key.public_jwk_set(Some("kms-key"));
    verify_compact(assertion.expose_secret(), &jwks, &[Algorithm::Es384]).unwrap();

    let der = External {
        inner: key.signer(None).unwrap(),
        mode: Mode::Der,
    };
    let err = AssertionSigner::new(der, "k")
        .unwrap()
        .sign(&client_id(), &token_url())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SignatureLength {
                alg: Algorithm::Es384,
                actual: 103,
                ..
            }
        ),
        "{err:?}"
    );

    let fails = External {
        inner: key.signer(None).unwrap(),
        mode: Mode::Fails,
    };
    let err = AssertionSigner::new(fails, "k")
        .unwrap()
        .sign(&client_id(), &token_url())
        .unwrap_err();
    assert_eq!(err.to_string(), "the signer failed: the KMS refused");
    assert!(std::error::Error::source(&err).is_some());

    // Shared signers work too.
    let shared: std::sync::Arc<dyn JwsSigner> = std::sync::Arc::new(key.signer(None).unwrap());
    assert!(AssertionSigner::new(shared, "k").is_ok());
}

#[test]
fn assertions_and_signers_are_redacted() {
    let signer = AssertionSigner::from_key(&p384(), "k", None).unwrap();
    let assertion = signer.sign(&client_id(), &token_url()).unwrap();
    assert_eq!(format!("{assertion:?}"), "ClientAssertion([redacted])");
    let shown = format!("{signer:?}");
    assert!(
        shown.starts_with("AssertionSigner { alg: Es384, kid: \"k\""),
        "{shown}"
    );
    assert_no_key_material(&shown, P384_PEM);
    assert_eq!(
        CLIENT_ASSERTION_TYPE,
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
}
