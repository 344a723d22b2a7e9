//! Loading keys from every accepted format, refusing the rest with typed errors that carry no
//! key material, generation, PKCS#8 export, redaction.

use smart_core::RandomError;
use smart_jwt_assertion::{Algorithm, Error, JwsSigner, PrivateKey};

use crate::*;

#[test]
fn rsa_pkcs8_pkcs1_and_jwk_are_the_same_key() {
    let thumbprint = RSA2048_THUMBPRINT.trim();
    for key in [
        PrivateKey::from_pem(RSA2048_PEM).unwrap(),
        PrivateKey::from_pem(RSA2048_PKCS1_PEM).unwrap(),
        PrivateKey::from_jwk(RSA2048_PRIVATE_JWK).unwrap(),
        PrivateKey::parse(RSA2048_PRIVATE_JWK).unwrap(),
        PrivateKey::parse(RSA2048_PEM).unwrap(),
    ] {
        assert_eq!(key.thumbprint(), thumbprint);
        assert_eq!(key.key_type(), "RSA");
        assert_eq!(key.bits(), 2048);
        assert_eq!(key.default_algorithm(), Algorithm::Rs384);
    }
}

#[test]
fn p384_pkcs8_sec1_and_jwk_are_the_same_key() {
    let thumbprint = P384_THUMBPRINT.trim();
    for key in [
        PrivateKey::from_pem(P384_PEM).unwrap(),
        PrivateKey::from_pem(P384_SEC1_PEM).unwrap(),
        PrivateKey::from_pem(P384_SEC1_WITH_PARAMS_PEM).unwrap(),
        PrivateKey::from_pem(&P384_PEM.replace('\n', "\r\n")).unwrap(),
        PrivateKey::from_jwk(P384_PRIVATE_JWK).unwrap(),
    ] {
        assert_eq!(key.thumbprint(), thumbprint);
        assert_eq!(key.key_type(), "EC");
        assert_eq!(key.bits(), 384);
        assert_eq!(key.default_algorithm(), Algorithm::Es384);
    }
}

#[test]
fn pem_with_a_certificate_and_text_takes_the_private_key() {
    let bundle = format!("subject=CN=test\n{RSA2048_PUBLIC_PEM}\nsome text\n{P384_PEM}");
    let key = PrivateKey::from_pem(&bundle).unwrap();
    assert_eq!(key.thumbprint(), P384_THUMBPRINT.trim());
}

#[test]
fn rsa_jwk_without_primes_recovers_them() {
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(RSA2048_PRIVATE_JWK).unwrap();
    for member in ["p", "q", "dp", "dq", "qi"] {
        object.remove(member);
    }
    let json = serde_json::to_string(&object).unwrap();
    let key = PrivateKey::from_jwk(&json).unwrap();
    assert_eq!(key.thumbprint(), RSA2048_THUMBPRINT.trim());
    // Same key, same deterministic signature.
    let input = b"recovered primes";
    assert_eq!(
        key.signer(None).unwrap().sign(input).unwrap(),
        rsa2048().signer(None).unwrap().sign(input).unwrap()
    );

    object.insert("p".into(), serde_json::Value::from("AQAB"));
    let err = PrivateKey::from_jwk(&serde_json::to_string(&object).unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidJwk {
                member: Some("p"),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn public_keys_are_refused() {
    for (input, format) in [
        (RSA2048_PUBLIC_PEM, "the PEM (PUBLIC KEY)"),
        (P384_PUBLIC_PEM, "the PEM (PUBLIC KEY)"),
    ] {
        let err = PrivateKey::from_pem(input).unwrap_err();
        assert!(
            matches!(err, Error::PublicKeyOnly { format: f } if f == format),
            "{err:?}"
        );
    }
    for jwk in [RSA2048_PUBLIC_JWK, P384_PUBLIC_JWK] {
        let err = PrivateKey::from_jwk(jwk).unwrap_err();
        assert!(
            matches!(err, Error::PublicKeyOnly { format: "the JWK" }),
            "{err:?}"
        );
    }
    let rsa_public_pkcs1 = "-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n";
    assert!(matches!(
        PrivateKey::from_pem(rsa_public_pkcs1),
        Err(Error::PublicKeyOnly { .. })
    ));
    let certificate = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        PrivateKey::from_pem(certificate),
        Err(Error::PublicKeyOnly { .. })
    ));
}

#[test]
fn small_rsa_keys_are_refused() {
    let err = PrivateKey::from_pem(RSA1024_PEM).unwrap_err();
    assert!(matches!(err, Error::RsaKeySize { bits: 1024 }), "{err:?}");
    assert!(err.to_string().contains("2048"), "{err}");
}

#[test]
fn other_curves_are_refused_by_name() {
    for pem in [P256_PEM, P256_SEC1_PEM] {
        let err = PrivateKey::from_pem(pem).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedCurve { curve } if curve == "P-256"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "the elliptic curve P-256 is not supported; ES384 needs a P-384 (secp384r1) key"
        );
    }
    let err = PrivateKey::from_jwk(P256_PRIVATE_JWK).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedCurve { curve } if curve == "P-256"),
        "{err:?}"
    );
}

#[test]
fn other_key_types_are_refused() {
    let err = PrivateKey::from_pem(ED25519_PEM).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedKeyType { kty } if kty == "Ed25519"),
        "{err:?}"
    );
    for (jwk, kty) in [
        (
            r#"{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}"#,
            "oct",
        ),
        (
            r#"{"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"}"#,
            "OKP",
        ),
    ] {
        let err = PrivateKey::from_jwk(jwk).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedKeyType { kty: found } if found == kty),
            "{err:?}"
        );
    }
    let multi_prime = r#"{"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB", "oth": []}"#;
    assert!(matches!(
        PrivateKey::from_jwk(multi_prime),
        Err(Error::UnsupportedKeyType { .. })
    ));
}

#[test]
fn encrypted_keys_are_refused() {
    for pem in [P384_ENCRYPTED_PEM, RSA_PKCS1_ENCRYPTED_PEM] {
        let err = PrivateKey::from_pem(pem).unwrap_err();
        assert!(matches!(err, Error::EncryptedKey), "{err:?}");
        assert!(err.to_string().contains("decrypt it first"), "{err}");
    }
}

#[test]
fn malformed_pem_is_refused() {
    let body_only: String = RSA2048_PEM
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let truncated = {
        let lines: Vec<&str> = RSA2048_PEM.lines().collect();
        let mut kept: Vec<&str> = lines[..lines.len() / 2].to_vec();
        kept.push("-----END PRIVATE KEY-----");
        kept.join("\n")
    };
    let garbage_der = "-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcI\n-----END PRIVATE KEY-----\n";
    let garbage_sec1 = "-----BEGIN EC PRIVATE KEY-----\nMAMCAQE=\n-----END EC PRIVATE KEY-----\n";
    let garbage_pkcs1 =
        "-----BEGIN RSA PRIVATE KEY-----\nMAMCAQE=\n-----END RSA PRIVATE KEY-----\n";
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("text", "not a key".into()),
        ("body without armour", body_only),
        ("truncated", truncated),
        ("garbage DER", garbage_der.into()),
        ("garbage SEC1", garbage_sec1.into()),
        ("garbage PKCS#1", garbage_pkcs1.into()),
        ("two keys", format!("{P384_PEM}{RSA2048_PEM}")),
        (
            "unknown label",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n".into(),
        ),
    ];
    for (name, input) in cases {
        let err = PrivateKey::from_pem(&input).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Pem { .. } | Error::MalformedKey { .. } | Error::UnsupportedPemLabel { .. }
            ),
            "{name}: {err:?}"
        );
        assert_no_key_material(&render_error(&err), RSA2048_PEM);
        assert_no_key_material(&render_error(&err), P384_PEM);
    }
}

#[test]
fn a_pem_with_the_wrong_numbers_is_malformed() {
    // Flip one byte inside the prime q (about 600 bytes from the end, before dp, dq and qi,
    // which are recomputed rather than read): the key no longer adds up.
    let mut der = pem_der(RSA2048_PEM);
    let at = der.len() - 600;
    der[at] ^= 0x01;
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        b64(&der)
    );
    let err = PrivateKey::from_pem(&pem).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MalformedKey {
                format: "PKCS#8",
                ..
            }
        ),
        "{err:?}"
    );
    assert_no_key_material(&render_error(&err), &pem);
}

#[test]
fn malformed_jwks_are_refused() {
    let mut mismatched: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(P384_PRIVATE_JWK).unwrap();
    let other: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&p384_other_jwk()).unwrap();
    mismatched.insert("x".into(), other["x"].clone());
    let mismatched = serde_json::to_string(&mismatched).unwrap();

    let cases = [
        ("not json", "{not json".to_owned()),
        ("array", "[]".to_owned()),
        ("duplicate", r#"{"kty": "EC", "kty": "RSA"}"#.to_owned()),
        ("no kty", r#"{"n": "AQAB"}"#.to_owned()),
        ("kty number", r#"{"kty": 1}"#.to_owned()),
        ("jwk set", format!(r#"{{"keys": [{P384_PRIVATE_JWK}]}}"#)),
        ("pem", P384_PEM.to_owned()),
        ("no crv", r#"{"kty": "EC", "d": "AA"}"#.to_owned()),
        (
            "d not base64url",
            P384_PRIVATE_JWK.replacen("\"d\": \"", "\"d\": \"+/", 1),
        ),
        (
            "d padded",
            P384_PRIVATE_JWK.replacen("\"d\": \"", "\"d\": \"=", 1),
        ),
        ("x mismatch", mismatched),
        (
            "rsa numbers wrong",
            RSA2048_PRIVATE_JWK.replacen("\"d\": \"", "\"d\": \"AB", 1),
        ),
        (
            "rsa too small",
            r#"{"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": "AQAB"}"#.to_owned(),
        ),
    ];
    for (name, input) in cases {
        let err = PrivateKey::from_jwk(&input).unwrap_err();
        assert!(
            matches!(
                err,
                Error::JwkJson(_)
                    | Error::InvalidJwk { .. }
                    | Error::MalformedKey { .. }
                    | Error::RsaKeySize { .. }
            ),
            "{name}: {err:?}"
        );
        assert_no_key_material(&render_error(&err), P384_PRIVATE_JWK);
        assert_no_key_material(&render_error(&err), RSA2048_PRIVATE_JWK);
    }
}

fn p384_other_jwk() -> String {
    let mut zeros_then_one = |buf: &mut [u8]| -> Result<(), RandomError> {
        buf.fill(0);
        if let Some(last) = buf.last_mut() {
            *last = 1;
        }
        Ok(())
    };
    let key = PrivateKey::generate_p384_with(&mut zeros_then_one).unwrap();
    serde_json::to_string(&key.public_jwk(None)).unwrap()
}

#[test]
fn debug_output_is_redacted() {
    for (key, source) in [
        (rsa2048(), RSA2048_PEM),
        (p384(), P384_PEM),
        (
            PrivateKey::from_jwk(P384_PRIVATE_JWK).unwrap(),
            P384_PRIVATE_JWK,
        ),
    ] {
        let shown = format!("{key:?} {key:#?}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert_no_key_material(&shown, source);
        let signer = key.signer(None).unwrap();
        let shown = format!("{signer:?}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert_no_key_material(&shown, source);
    }
    assert_eq!(
        format!("{:?}", rsa2048()),
        r#"PrivateKey { kty: "RSA", bits: 2048, key: "[redacted]" }"#
    );
    assert_eq!(
        format!("{:?}", p384()),
        r#"PrivateKey { kty: "EC", crv: "P-384", key: "[redacted]" }"#
    );
}

#[test]
fn pkcs8_export_round_trips() {
    for key in [
        rsa2048(),
        p384(),
        PrivateKey::from_pem(RSA4096_PEM).unwrap(),
    ] {
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(
            pem.starts_with("-----BEGIN PRIVATE KEY-----\n"),
            "{}",
            &pem[..40]
        );
        let again = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(again.thumbprint(), key.thumbprint());
    }
    // The fixture's PKCS#8 encoding is what we write back.
    assert_eq!(p384().to_pkcs8_pem().unwrap().as_str(), P384_PEM);
}

#[test]
fn p384_generation() {
    let a = PrivateKey::generate_p384().unwrap();
    let b = PrivateKey::generate_p384().unwrap();
    assert_ne!(a.thumbprint(), b.thumbprint());
    assert_eq!(a.default_algorithm(), Algorithm::Es384);
    let pem = a.to_pkcs8_pem().unwrap();
    assert_eq!(
        PrivateKey::from_pem(&pem).unwrap().thumbprint(),
        a.thumbprint()
    );

    // Injected randomness gives the same key twice.
    let one = PrivateKey::generate_p384_with(&mut counting()).unwrap();
    let two = PrivateKey::generate_p384_with(&mut counting()).unwrap();
    assert_eq!(one.thumbprint(), two.thumbprint());

    // A source of zeros never gives a valid scalar; a failing source is reported.
    let mut zeros = |buf: &mut [u8]| -> Result<(), RandomError> {
        buf.fill(0);
        Ok(())
    };
    assert!(matches!(
        PrivateKey::generate_p384_with(&mut zeros),
        Err(Error::KeyGeneration { .. })
    ));
    let mut broken = |_: &mut [u8]| -> Result<(), RandomError> { Err(RandomError::unavailable()) };
    assert!(matches!(
        PrivateKey::generate_p384_with(&mut broken),
        Err(Error::Random(_))
    ));
}

#[test]
fn rsa_generation_sizes() {
    for bits in [0, 1024, 2047, 2049, 8192] {
        assert!(
            matches!(
                PrivateKey::generate_rsa(bits),
                Err(Error::RsaGenerateBits { bits: b }) if b == bits
            ),
            "{bits}"
        );
    }
    let key = PrivateKey::generate_rsa(2048).unwrap();
    assert_eq!(key.bits(), 2048);
    assert_eq!(key.default_algorithm(), Algorithm::Rs384);
    let pem = key.to_pkcs8_pem().unwrap();
    assert_eq!(
        PrivateKey::from_pem(&pem).unwrap().thumbprint(),
        key.thumbprint()
    );
}

#[test]
fn explicit_algorithms_must_fit_the_key() {
    let rsa = rsa2048();
    assert_eq!(rsa.signer(None).unwrap().algorithm(), Algorithm::Rs384);
    assert_eq!(
        rsa.signer(Some(Algorithm::Rs256)).unwrap().algorithm(),
        Algorithm::Rs256
    );
    assert_eq!(
        rsa.signer(Some(Algorithm::Rs384)).unwrap().algorithm(),
        Algorithm::Rs384
    );
    let err = rsa.signer(Some(Algorithm::Es384)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlgorithmMismatch {
                alg: Algorithm::Es384,
                key: "an RSA key"
            }
        ),
        "{err:?}"
    );

    let ec = p384();
    assert_eq!(ec.signer(None).unwrap().algorithm(), Algorithm::Es384);
    for alg in [Algorithm::Rs256, Algorithm::Rs384] {
        let err = ec.signer(Some(alg)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::AlgorithmMismatch {
                    key: "a P-384 key",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn signers_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PrivateKey>();
    assert_send_sync::<smart_jwt_assertion::KeySigner>();
    assert_send_sync::<smart_jwt_assertion::AssertionSigner>();
    assert_send_sync::<Error>();
}
