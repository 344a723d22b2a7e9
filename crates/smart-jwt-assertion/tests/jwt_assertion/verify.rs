//! Verifying compact JWS against a JWK Set: OpenSSL-made tokens pass; every kind of wrong
//! token fails with its own typed error and never panics.

use serde_json::{Map, Value, json};
use smart_jwt_assertion::{
    Algorithm, Error, Jwk, JwkSet, PrivateKey, decode_unverified, sign_compact, verify_compact,
};

use crate::*;

const ALL: &[Algorithm] = &Algorithm::ALL;

/// The OpenSSL ES384 fixture as a JWS: its DER signature converted to r || s.
fn openssl_es384_token() -> String {
    let der = b64_decode(OPENSSL_ES384_DER_B64.trim());
    format!(
        "{}.{}",
        OPENSSL_ES384_INPUT.trim(),
        b64url(&der_to_raw(&der))
    )
}

/// ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } to the 96-byte r || s.
pub(crate) fn der_to_raw(der: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> (&[u8], &[u8]) {
        assert_eq!(bytes[0], 0x02, "INTEGER");
        let len = usize::from(bytes[1]);
        (&bytes[2..2 + len], &bytes[2 + len..])
    }
    fn fixed(value: &[u8]) -> [u8; 48] {
        let value = &value[value.len().saturating_sub(48)..]; // drop a leading 0x00
        let mut out = [0u8; 48];
        out[48 - value.len()..].copy_from_slice(value);
        out
    }
    assert_eq!(der[0], 0x30, "SEQUENCE");
    let body = if der[1] & 0x80 == 0 {
        &der[2..]
    } else {
        &der[3..]
    };
    let (r, rest) = integer(body);
    let (s, rest) = integer(rest);
    assert!(rest.is_empty());
    [fixed(r), fixed(s)].concat()
}

fn token_with_header(token: &str, header: &Value) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", b64url(header.to_string().as_bytes()))
}

fn token_with_payload(token: &str, payload: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = b64url(payload.to_string().as_bytes());
    parts.join(".")
}

#[test]
fn openssl_tokens_verify() {
    let jwks = fixture_jwks();
    for (token, alg, kid) in [
        (
            OPENSSL_RS384_JWT.trim().to_owned(),
            Algorithm::Rs384,
            "rsa-2048",
        ),
        (
            OPENSSL_RS256_JWT.trim().to_owned(),
            Algorithm::Rs256,
            "rsa-2048",
        ),
        (openssl_es384_token(), Algorithm::Es384, "p384"),
    ] {
        let verified = verify_compact(&token, &jwks, ALL).unwrap();
        assert_eq!(verified.algorithm(), alg);
        assert_eq!(verified.kid(), Some(kid));
        assert_eq!(verified.claims()["iss"], "my-app");
        assert_eq!(verified.header()["typ"], "JWT");
        let (header, claims) = verified.into_parts();
        assert_eq!((header, claims), decode_unverified(&token).unwrap());
    }
}

#[test]
fn der_encoded_es384_signature_is_refused() {
    let token = format!(
        "{}.{}",
        OPENSSL_ES384_INPUT.trim(),
        b64url(&b64_decode(OPENSSL_ES384_DER_B64.trim()))
    );
    let err = verify_compact(&token, &fixture_jwks(), ALL).unwrap_err();
    assert!(
        matches!(&err, Error::MalformedJws { reason, .. } if reason.contains("not DER")),
        "{err:?}"
    );
}

#[test]
fn wrong_key_fails() {
    // The right kid, but another key behind it.
    let other = PrivateKey::generate_p384().unwrap();
    let jwks = JwkSet {
        keys: vec![
            other.public_jwk(Some("p384")),
            Jwk::parse(RSA2048_PUBLIC_JWK).unwrap().with_kid("rsa-2048"),
        ],
    };
    let err = verify_compact(&openssl_es384_token(), &jwks, ALL).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature), "{err:?}");

    let other_rsa = PrivateKey::from_pem(RSA4096_PEM)
        .unwrap()
        .public_jwk(Some("rsa-2048"));
    let err = verify_compact(OPENSSL_RS384_JWT.trim(), &JwkSet::from(other_rsa), ALL).unwrap_err();
    assert!(matches!(err, Error::InvalidSignature), "{err:?}");
}

#[test]
fn wrong_kid_fails() {
    let token = token_with_header(
        OPENSSL_RS384_JWT.trim(),
        &json!({"alg": "RS384", "kid": "rotated-away", "typ": "JWT"}),
    );
    let err = verify_compact(&token, &fixture_jwks(), ALL).unwrap_err();
    assert!(
        matches!(&err, Error::NoMatchingKey { kid: Some(kid), alg: Algorithm::Rs384 } if kid == "rotated-away"),
        "{err:?}"
    );
    assert!(err.to_string().contains("\"rotated-away\""), "{err}");
}

/// A token whose header is `header`, signed over its exact signing input by `signer`,
/// whatever algorithm the header names.
fn signed_as(header: &Value, signer: &dyn smart_jwt_assertion::JwsSigner) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(br#"{"sub":"x"}"#)
    );
    let signature = signer.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64url(&signature))
}

#[test]
fn the_header_alg_decides_the_hash() {
    let jwks = fixture_jwks();
    let key = rsa2048();
    let rs256 = key.signer(Some(Algorithm::Rs256)).unwrap();
    let rs384 = key.signer(Some(Algorithm::Rs384)).unwrap();
    let header = |alg: &str| json!({"alg": alg, "kid": "rsa-2048", "typ": "JWT"});
    // Control: each signature verifies under the algorithm that made it.
    verify_compact(&signed_as(&header("RS256"), &rs256), &jwks, ALL).unwrap();
    verify_compact(&signed_as(&header("RS384"), &rs384), &jwks, ALL).unwrap();
    // The exact RS256 signing input, signed with RS384 (and the reverse): a verifier that
    // ignored `alg`, or tried every RSA algorithm, would accept these.
    for token in [
        signed_as(&header("RS256"), &rs384),
        signed_as(&header("RS384"), &rs256),
    ] {
        let err = verify_compact(&token, &jwks, ALL).unwrap_err();
        assert!(matches!(err, Error::InvalidSignature), "{err:?}");
    }
}

#[test]
fn wrong_alg_fails() {
    let jwks = fixture_jwks();
    // RS384 signature presented as RS256: the signature does not verify under SHA-256.
    let claimed_rs256 = token_with_header(
        OPENSSL_RS384_JWT.trim(),
        &json!({"alg": "RS256", "kid": "rsa-2048", "typ": "JWT"}),
    );
    assert!(matches!(
        verify_compact(&claimed_rs256, &jwks, ALL),
        Err(Error::InvalidSignature)
    ));
    // ES384 claimed for an RSA key: no EC key with that kid.
    let claimed_ec = token_with_header(
        OPENSSL_RS384_JWT.trim(),
        &json!({"alg": "ES384", "kid": "rsa-2048", "typ": "JWT"}),
    );
    let err = verify_compact(&claimed_ec, &jwks, ALL).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NoMatchingKey { .. } | Error::MalformedJws { .. }
        ),
        "{err:?}"
    );
    // A key that states its algorithm is used for that algorithm only.
    let pinned = JwkSet::from(rsa2048().public_jwk(Some("rsa-2048")).clone());
    assert_eq!(pinned.keys[0].alg(), Some("RS384"));
    let err = verify_compact(OPENSSL_RS256_JWT.trim(), &pinned, ALL).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NoMatchingKey {
                alg: Algorithm::Rs256,
                ..
            }
        ),
        "{err:?}"
    );
    verify_compact(OPENSSL_RS384_JWT.trim(), &pinned, ALL).unwrap();
}

#[test]
fn tampered_payload_fails() {
    let tampered = token_with_payload(
        OPENSSL_RS384_JWT.trim(),
        &json!({"iss": "my-app", "sub": "admin", "aud": "https://ehr.example/token", "exp": 9_999_999_999_u64}),
    );
    assert!(matches!(
        verify_compact(&tampered, &fixture_jwks(), ALL),
        Err(Error::InvalidSignature)
    ));
    let tampered = token_with_payload(&openssl_es384_token(), &json!({"iss": "evil"}));
    assert!(matches!(
        verify_compact(&tampered, &fixture_jwks(), ALL),
        Err(Error::InvalidSignature)
    ));
    // One flipped bit in the signature.
    let token = OPENSSL_RS384_JWT.trim();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = b64url_decode(signature);
    signature[10] ^= 1;
    let flipped = format!("{input}.{}", b64url(&signature));
    assert!(matches!(
        verify_compact(&flipped, &fixture_jwks(), ALL),
        Err(Error::InvalidSignature)
    ));
}

#[test]
fn alg_none_is_refused() {
    let (_, payload, _) = {
        let mut parts = OPENSSL_RS384_JWT.trim().split('.');
        (parts.next(), parts.next().unwrap(), parts.next())
    };
    for header in [
        json!({"alg": "none"}),
        json!({"alg": "none", "kid": "rsa-2048"}),
    ] {
        for signature in ["", "c2ln"] {
            let token = format!(
                "{}.{payload}.{signature}",
                b64url(header.to_string().as_bytes())
            );
            let err = verify_compact(&token, &fixture_jwks(), ALL).unwrap_err();
            assert!(matches!(err, Error::UnsecuredJws), "{err:?}");
        }
    }
}

#[test]
fn algorithms_outside_allowed_are_refused() {
    let err = verify_compact(
        OPENSSL_RS256_JWT.trim(),
        &fixture_jwks(),
        &[Algorithm::Rs384],
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::AlgorithmNotAllowed {
                alg: Algorithm::Rs256
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        verify_compact(OPENSSL_RS384_JWT.trim(), &fixture_jwks(), &[]),
        Err(Error::AlgorithmNotAllowed { .. })
    ));
    for alg in ["HS256", "PS384", "ES256", "RS512", "EdDSA"] {
        let token = token_with_header(OPENSSL_RS384_JWT.trim(), &json!({"alg": alg}));
        let err = verify_compact(&token, &fixture_jwks(), ALL).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedAlgorithm { alg: found } if found == alg),
            "{err:?}"
        );
    }
}

#[test]
fn critical_headers_are_refused() {
    let token = token_with_header(
        OPENSSL_RS384_JWT.trim(),
        &json!({"alg": "RS384", "kid": "rsa-2048", "typ": "JWT", "crit": ["exp"], "exp": 1}),
    );
    assert!(matches!(
        verify_compact(&token, &fixture_jwks(), ALL),
        Err(Error::UnsupportedCritical)
    ));
}

#[test]
fn malformed_tokens_are_typed_errors() {
    let good = OPENSSL_RS384_JWT.trim();
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let cases = [
        String::new(),
        "abc".into(),
        "a.b".into(),
        format!("{good}.extra"),
        format!("{good}.x.y"),
        format!(".{payload}.{signature}"),
        format!("{header}=.{payload}.{signature}"),
        format!("{header}.{payload}.{signature}="),
        format!("{header}.{payload}.{signature}!"),
        format!("{}.{payload}.{signature}", b64url(b"[1]")),
        format!("{}.{payload}.{signature}", b64url(b"not json")),
        format!("{}.{payload}.{signature}", b64url(br#"{"alg": 5}"#)),
        format!("{}.{payload}.{signature}", b64url(br#"{"kid": "x"}"#)),
        format!(
            "{}.{payload}.{signature}",
            b64url(br#"{"alg": "RS384", "alg": "RS384"}"#)
        ),
        format!(
            "{}.{payload}.{signature}",
            b64url(br#"{"alg": "RS384", "kid": 7}"#)
        ),
        format!(" {good}"),
        format!("{good}\n"),
    ];
    for token in &cases {
        let err = verify_compact(token, &fixture_jwks(), ALL).unwrap_err();
        assert!(
            matches!(err, Error::MalformedJws { .. }),
            "{token:?}: {err:?}"
        );
    }
    // A payload that is not a JSON object, under a valid signature.
    let key = rsa2048();
    let signer = key.signer(None).unwrap();
    let input = format!(
        "{}.{}",
        b64url(br#"{"alg":"RS384","kid":"rsa-2048"}"#),
        b64url(b"[1,2]")
    );
    let signature = smart_jwt_assertion::JwsSigner::sign(&signer, input.as_bytes()).unwrap();
    let token = format!("{input}.{}", b64url(&signature));
    let err = verify_compact(&token, &fixture_jwks(), ALL).unwrap_err();
    assert!(
        matches!(&err, Error::MalformedJws { reason, .. } if reason.contains("payload")),
        "{err:?}"
    );
}

#[test]
fn no_mutation_of_a_token_panics_or_verifies() {
    let jwks = fixture_jwks();
    for good in [OPENSSL_RS384_JWT.trim().to_owned(), openssl_es384_token()] {
        let bytes = good.as_bytes();
        for at in (0..bytes.len()).step_by(3) {
            for replacement in [b'A', b'.', b'_', b'0'] {
                if bytes[at] == replacement {
                    continue;
                }
                let mut mutated = bytes.to_vec();
                mutated[at] = replacement;
                let mutated = String::from_utf8(mutated).unwrap();
                assert!(
                    verify_compact(&mutated, &jwks, ALL).is_err(),
                    "mutation at {at} verified"
                );
            }
        }
        for cut in (0..bytes.len()).step_by(7) {
            assert!(verify_compact(&good[..cut], &jwks, ALL).is_err());
        }
    }
}

#[test]
fn without_a_kid_every_fitting_key_is_tried() {
    let key = p384();
    let mut header = Map::new();
    header.insert("typ".into(), Value::from("JWT"));
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::from("x"));
    let token = sign_compact(&header, &claims, &key.signer(None).unwrap()).unwrap();
    let jwks = JwkSet {
        keys: vec![
            PrivateKey::generate_p384().unwrap().public_jwk(None),
            rsa2048().public_jwk(None),
            key.public_jwk(None),
        ],
    };
    let verified = verify_compact(&token, &jwks, ALL).unwrap();
    assert_eq!(verified.kid(), None);
    assert_eq!(verified.claims()["sub"], "x");
    let only_others = JwkSet {
        keys: jwks.keys[..2].to_vec(),
    };
    assert!(matches!(
        verify_compact(&token, &only_others, ALL),
        Err(Error::InvalidSignature)
    ));
    assert!(matches!(
        verify_compact(&token, &JwkSet::default(), ALL),
        Err(Error::NoMatchingKey { kid: None, .. })
    ));
}

#[test]
fn keys_for_other_uses_are_not_used() {
    let jwk = serde_json::to_value(p384().public_jwk(Some("p384"))).unwrap();
    for (member, value) in [
        ("use", json!("enc")),
        ("key_ops", json!(["sign"])),
        ("key_ops", json!("verify")),
        ("crv", json!("P-256")),
    ] {
        let mut changed = jwk.clone();
        changed[member] = value;
        let set = JwkSet::from(Jwk::parse(&changed.to_string()).unwrap());
        let err = verify_compact(&openssl_es384_token(), &set, ALL).unwrap_err();
        // A key of another curve under the token's kid is named as such.
        assert!(
            matches!(err, Error::NoMatchingKey { .. })
                || (member == "crv" && matches!(err, Error::KeyDoesNotFit { .. })),
            "{member}: {err:?}"
        );
    }
    let mut ok = jwk;
    ok["key_ops"] = json!(["verify"]);
    let set = JwkSet::from(Jwk::parse(&ok.to_string()).unwrap());
    verify_compact(&openssl_es384_token(), &set, ALL).unwrap();
}

#[test]
fn unusable_keys_are_reported() {
    // A 1024-bit RSA key is never used for verification.
    let small = PrivateKey::from_pem(RSA1024_PEM);
    assert!(small.is_err());
    let small_jwk = Jwk::parse(
        &json!({"kty": "RSA", "kid": "rsa-2048", "e": "AQAB", "n": b64url(&[0xc5; 128])})
            .to_string(),
    )
    .unwrap();
    let err = verify_compact(OPENSSL_RS384_JWT.trim(), &JwkSet::from(small_jwk), ALL).unwrap_err();
    assert!(matches!(err, Error::RsaKeySize { bits: 1024 }), "{err:?}");
    // An EC key whose point is not on the curve.
    let off_curve = Jwk::parse(
        &json!({"kty": "EC", "kid": "p384", "crv": "P-384", "x": b64url(&[1; 48]), "y": b64url(&[2; 48])})
            .to_string(),
    )
    .unwrap();
    let err = verify_compact(&openssl_es384_token(), &JwkSet::from(off_curve), ALL).unwrap_err();
    assert!(matches!(err, Error::InvalidJwk { .. }), "{err:?}");
}

#[test]
fn sign_compact_sets_alg_from_the_signer() {
    let key = rsa2048();
    let signer = key.signer(Some(Algorithm::Rs256)).unwrap();
    let mut header = Map::new();
    header.insert("alg".into(), Value::from("none"));
    header.insert("kid".into(), Value::from("rsa-2048"));
    let claims: Map<String, Value> = serde_json::from_value(
        json!({"iss": "https://ehr.example", "sub": "p1", "nonce": "n", "extra": {"b": 1, "a": [1]}}),
    )
    .unwrap();
    let token = sign_compact(&header, &claims, &signer).unwrap();
    let verified = verify_compact(&token, &fixture_jwks(), &[Algorithm::Rs256]).unwrap();
    assert_eq!(verified.header()["alg"], "RS256");
    assert_eq!(verified.claims(), &claims);
}

#[test]
fn a_key_of_the_wrong_curve_or_a_p256_signature_names_the_real_cause() {
    // The set has a P-256 key under the token's kid: say so, not "rotated" or "signature".
    let mut p256: Value = serde_json::from_str(P256_PRIVATE_JWK).unwrap();
    p256.as_object_mut().unwrap().remove("d");
    p256["kid"] = json!("k1");
    let set = JwkSet::from(Jwk::parse(&p256.to_string()).unwrap());
    let claims = json!({"sub": "x"}).as_object().unwrap().clone();
    let mut header = Map::new();
    header.insert("kid".into(), Value::from("k1"));
    let token = sign_compact(&header, &claims, &p384().signer(None).unwrap()).unwrap();
    let err = verify_compact(&token, &set, ALL).unwrap_err();
    assert!(matches!(err, Error::KeyDoesNotFit { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the key with kid \"k1\" is an EC P-256 key, which cannot verify ES384 (it needs an EC P-384 key); the signer uses another key type or curve than it announces"
    );
    // An ES384 token whose signature has the 64 bytes of P-256.
    let (input, _) = token.rsplit_once('.').unwrap();
    let short = format!("{input}.{}", b64url(&[7u8; 64]));
    let err = verify_compact(&short, &set, ALL).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the ES384 signature is 64 bytes, the size of a P-256 (ES256) signature: the signer uses a P-256 key but announces ES384, which needs P-384"
    );
    // An unknown kid stays "no key has kid".
    let mut header = Map::new();
    header.insert("kid".into(), Value::from("unknown"));
    let token = sign_compact(&header, &claims, &p384().signer(None).unwrap()).unwrap();
    let err = verify_compact(&token, &set, ALL).unwrap_err();
    assert!(matches!(err, Error::NoMatchingKey { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("no key in the JWK Set has kid \"unknown\""),
        "{err}"
    );
}
